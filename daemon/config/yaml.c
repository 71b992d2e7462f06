/* SPDX-License-Identifier: MIT */
/*
 * YAML text to a small tree whose every node knows its line and column. Built
 * from libyaml's event API rather than its document API so that the bounds are
 * ours: nesting depth, the number of nodes with aliases expanded (the "billion
 * laughs" document is refused, not expanded), and anchors that are resolved
 * only once their node is complete (no cycles). Anchors are kept in a search
 * tree, so that a file of many anchors costs O(n log n), not a scan of every
 * earlier anchor at each one (a 1 MiB file of anchors took half a minute).
 * Merge keys (`<<: *defaults`) are resolved when a mapping's entries are read.
 */
#include <search.h>
#include <yaml.h>

#include "config/yaml.h"

#define YAML_STR_TAG "tag:yaml.org,2002:str"
#define YAML_MERGE_DEPTH_MAX 64

typedef struct anchor {
        union {
                char *owned;            /* in the tree */
                const char *name;       /* both; a lookup's key borrows it */
        };
        cnode *node;
} anchor;

typedef struct builder {
        loader *loader;
        cdoc_set *set;
        cnode *stack[CONFIG_MAX_DEPTH];
        char *stack_anchor[CONFIG_MAX_DEPTH];
        unsigned depth;
        cnode *root;
        void *anchors;                  /* tsearch() tree of anchor, by name */
        uint64_t expanded;              /* nodes of the file, aliases expanded */
} builder;

bool cnode_is_null(const cnode *n) {
        if (!n)
                return true;
        if (n->kind != CNODE_SCALAR || !n->plain)
                return false;
        return n->length == 0 || streq(n->value, "~") || streq(n->value, "null") ||
               streq(n->value, "Null") || streq(n->value, "NULL");
}

const char *cnode_kind_name(const cnode *n) {
        if (cnode_is_null(n))
                return "null";
        switch (n->kind) {
        case CNODE_MAPPING:
                return "a mapping";
        case CNODE_SEQUENCE:
                return "a sequence";
        default:
                return "a string";
        }
}

static int grow(void **p, size_t *cap, size_t need, size_t size) {
        size_t c;
        void *q;

        if (need <= *cap)
                return 0;
        c = *cap ? *cap : 8;
        while (c < need) {
                if (c > SIZE_MAX / 2 / size)
                        return -ENOMEM;
                c *= 2;
        }
        q = realloc(*p, c * size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *cap = c;
        return 0;
}

static cnode *cnode_new(builder *b, cnode_kind kind, const yaml_mark_t *mark) {
        cnode *n;

        if (grow((void **) &b->set->nodes, &b->set->cap_nodes, b->set->n_nodes + 1, sizeof(cnode *)) < 0)
                return NULL;
        n = calloc(1, sizeof(cnode));
        if (!n)
                return NULL;
        n->kind = kind;
        n->line = (unsigned) mark->line + 1;
        n->column = (unsigned) mark->column + 1;
        n->weight = 1;
        b->set->nodes[b->set->n_nodes++] = n;
        return n;
}

void cdoc_set_done(cdoc_set *s) {
        if (!s)
                return;
        /* A value may be a key (the global file's credentials:). */
        for (size_t i = 0; i < s->n_nodes; i++) {
                if (s->nodes[i]->value)
                        explicit_bzero(s->nodes[i]->value, s->nodes[i]->length);
                free(s->nodes[i]->value);
                free(s->nodes[i]->items);
                free(s->nodes[i]);
        }
        free(s->nodes);
        free(s->roots);
        *s = (cdoc_set) {};
}

static void anchor_free(void *p) {
        anchor *a = p;

        free(a->owned);
        free(a);
}

static int anchor_cmp(const void *x, const void *y) {
        return strcmp(((const anchor *) x)->name, ((const anchor *) y)->name);
}

static void anchors_clear(builder *b) {
        tdestroy(b->anchors, anchor_free);
        b->anchors = NULL;
}

static cnode *anchor_find(builder *b, const char *name) {
        anchor key = { .name = name };
        anchor **found = tfind(&key, &b->anchors, anchor_cmp);

        return found ? (*found)->node : NULL;
}

static int anchor_register(builder *b, const char *name, cnode *n) {
        anchor key = { .name = name }, *a;
        anchor **found = tfind(&key, &b->anchors, anchor_cmp);

        /* A later anchor of the same name hides the earlier one (YAML 1.2, 3.2.2.2). */
        if (found) {
                (*found)->node = n;
                return 0;
        }
        a = calloc(1, sizeof(anchor));
        if (!a)
                return -ENOMEM;
        a->owned = strdup(name);
        a->node = n;
        if (!a->owned || !tsearch(a, &b->anchors, anchor_cmp)) {
                anchor_free(a);
                return -ENOMEM;
        }
        return 0;
}

/* Adds n under the open collection, or makes it the document's root. */
static int attach(builder *b, cnode *n, const yaml_mark_t *mark) {
        cnode *parent;

        if (b->depth == 0) {
                b->root = n;
                return 0;
        }
        parent = b->stack[b->depth - 1];
        if (grow((void **) &parent->items, &parent->cap_items, parent->n_items + 1, sizeof(cnode *)) < 0)
                return -ENOMEM;
        parent->items[parent->n_items++] = n;
        (void) mark;
        return 0;
}

/* libyaml's marks are 0-based. */
#define builder_error(b, mark, ...)                                                             \
        loader_diag_at((b)->loader, (unsigned) (mark)->line + 1, (unsigned) (mark)->column + 1, \
                       CONFIG_SEVERITY_ERROR, __VA_ARGS__)

static int check_tag(builder *b, const yaml_char_t *tag, const yaml_mark_t *mark, bool *ret_str) {
        const char *t = (const char *) tag;

        *ret_str = false;
        if (!t || streq(t, "!"))
                return 0;
        if (streq(t, YAML_STR_TAG)) {
                *ret_str = true;
                return 0;
        }
        if (startswith(t, "tag:yaml.org,2002:"))
                return 0;
        builder_error(b, mark, "YAML tag '%s' is not supported", t);
        return -EINVAL;
}

static int on_document_end(builder *b) {
        cdoc_set *s = b->set;

        if (grow((void **) &s->roots, &s->cap_roots, s->n_roots + 1, sizeof(cnode *)) < 0)
                return -ENOMEM;
        s->roots[s->n_roots++] = b->root;
        b->root = NULL;
        return 0;
}

static int on_scalar(builder *b, const yaml_event_t *e) {
        const yaml_mark_t *m = &e->start_mark;
        bool is_str;
        cnode *n;
        int r;

        r = check_tag(b, e->data.scalar.tag, m, &is_str);
        if (r < 0)
                return r;
        n = cnode_new(b, CNODE_SCALAR, m);
        if (!n)
                return -ENOMEM;
        n->value = malloc(e->data.scalar.length + 1);
        if (!n->value)
                return -ENOMEM;
        memcpy(n->value, e->data.scalar.value, e->data.scalar.length);
        n->value[e->data.scalar.length] = 0;
        n->length = e->data.scalar.length;
        n->plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !is_str;
        b->expanded++;
        if (attach(b, n, m) < 0)
                return -ENOMEM;
        if (e->data.scalar.anchor && anchor_register(b, (const char *) e->data.scalar.anchor, n) < 0)
                return -ENOMEM;
        return 0;
}

static int on_collection_start(builder *b, const yaml_event_t *e) {
        const yaml_mark_t *m = &e->start_mark;
        bool seq = e->type == YAML_SEQUENCE_START_EVENT, is_str;
        const yaml_char_t *tag = seq ? e->data.sequence_start.tag : e->data.mapping_start.tag;
        const yaml_char_t *a = seq ? e->data.sequence_start.anchor : e->data.mapping_start.anchor;
        cnode *n;
        int r;

        if (b->depth >= CONFIG_MAX_DEPTH) {
                builder_error(b, m, "nesting deeper than %u levels", CONFIG_MAX_DEPTH);
                return -EINVAL;
        }
        r = check_tag(b, tag, m, &is_str);
        if (r < 0)
                return r;
        n = cnode_new(b, seq ? CNODE_SEQUENCE : CNODE_MAPPING, m);
        if (!n)
                return -ENOMEM;
        b->expanded++;
        if (attach(b, n, m) < 0)
                return -ENOMEM;
        b->stack_anchor[b->depth] = NULL;
        if (a) {
                b->stack_anchor[b->depth] = strdup((const char *) a);
                if (!b->stack_anchor[b->depth])
                        return -ENOMEM;
        }
        b->stack[b->depth++] = n;
        return 0;
}

static int on_collection_end(builder *b) {
        _cleanup_(freep) char *a = NULL;
        cnode *n;

        if (b->depth == 0)
                return -EINVAL;         /* libyaml never does this */
        n = b->stack[--b->depth];
        a = TAKE_PTR(b->stack_anchor[b->depth]);
        for (size_t i = 0; i < n->n_items; i++)
                n->weight = n->items[i]->weight > UINT64_MAX - n->weight ? UINT64_MAX
                                                                          : n->weight + n->items[i]->weight;
        /* Registered only now: an alias inside its own anchor's node is unknown, so no cycles. */
        if (a && anchor_register(b, a, n) < 0)
                return -ENOMEM;
        return 0;
}

static int on_alias(builder *b, const yaml_event_t *e) {
        const yaml_mark_t *m = &e->start_mark;
        const char *a = (const char *) e->data.alias.anchor;
        cnode *n;

        n = anchor_find(b, a);
        if (!n) {
                builder_error(b, m, "unknown anchor '%s' (anchors must be defined before use)", a);
                return -EINVAL;
        }
        b->expanded = n->weight > UINT64_MAX - b->expanded ? UINT64_MAX : b->expanded + n->weight;
        if (b->expanded > CONFIG_MAX_NODES) {
                builder_error(b, m, "aliases expand to more than %u nodes, refusing the file", CONFIG_MAX_NODES);
                return -EINVAL;
        }
        if (attach(b, n, m) < 0)
                return -ENOMEM;
        return 0;
}

/* Returns 1 to go on, 0 at the end of the stream, -EINVAL to stop at an error, -ENOMEM. */
static int on_event(builder *b, const yaml_event_t *e) {
        int r;

        switch (e->type) {
        case YAML_STREAM_END_EVENT:
                return 0;
        case YAML_DOCUMENT_START_EVENT:
                b->root = NULL;
                anchors_clear(b);
                return 1;
        case YAML_DOCUMENT_END_EVENT:
                r = on_document_end(b);
                return r < 0 ? r : 1;
        case YAML_SCALAR_EVENT:
                r = on_scalar(b, e);
                break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
                r = on_collection_start(b, e);
                break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
                r = on_collection_end(b);
                break;
        case YAML_ALIAS_EVENT:
                r = on_alias(b, e);
                break;
        default:
                return 1;
        }
        if (r < 0)
                return r;
        if (b->expanded > CONFIG_MAX_NODES) {
                builder_error(b, &e->start_mark, "more than %u nodes, refusing the file", CONFIG_MAX_NODES);
                return -EINVAL;
        }
        return 1;
}

/* libyaml's reader (encoding, control characters) gives a byte offset, not a mark: count
 * lines and characters up to it, so that the error points at the offending character. */
static yaml_mark_t offset_mark(const char *data, size_t size, size_t offset) {
        yaml_mark_t m = {};

        for (size_t i = 0; i < offset && i < size; i++)
                if (data[i] == '\n') {
                        m.line++;
                        m.column = 0;
                } else if (((unsigned char) data[i] & 0xC0) != 0x80)
                        m.column++;     /* not a UTF-8 continuation byte */
        m.index = offset;
        return m;
}

/* The reader's problems, said in terms of the file: which byte or character is wrong. */
static void report_reader_error(builder *b, const yaml_parser_t *parser, const char *data, size_t size) {
        const char *problem = parser->problem ?: "invalid input";
        size_t at = parser->problem_offset;
        int value = parser->problem_value;
        yaml_mark_t m;

        if (strstr(problem, "trailing UTF-8")) {
                /* libyaml points at the bad continuation byte; the character starts before it */
                while (at > 0 && at <= size && ((unsigned char) data[at - 1] & 0xC0) == 0x80)
                        at--;
                if (at > 0)
                        at--;
                m = offset_mark(data, size, at);
                builder_error(b, &m, "not UTF-8 text: byte 0x%02x starts a character that the next bytes "
                              "do not complete", at < size ? (unsigned char) data[at] : 0);
        } else if (strstr(problem, "leading UTF-8")) {
                m = offset_mark(data, size, at);
                builder_error(b, &m, "not UTF-8 text: byte 0x%02x cannot start a character", (unsigned) value);
        } else if (value >= 0) {
                m = offset_mark(data, size, at);
                builder_error(b, &m, "not YAML text: %s (U+%04X)", problem, (unsigned) value);
        } else {
                m = offset_mark(data, size, at);
                builder_error(b, &m, "not YAML text: %s", problem);
        }
}

static void report_parse_error(builder *b, const yaml_parser_t *parser, const char *data, size_t size) {
        if (parser->error == YAML_READER_ERROR) {
                report_reader_error(b, parser, data, size);
                return;
        }
        builder_error(b, &parser->problem_mark, "YAML syntax error: %s%s%s", parser->problem ?: "invalid input",
                      parser->context ? " " : "", parser->context ? parser->context : "");
}

int cdoc_parse(loader *l, const char *data, size_t size, cdoc_set *ret) {
        builder b = { .loader = l, .set = ret };
        yaml_parser_t parser;
        int r = 0;

        *ret = (cdoc_set) {};
        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) data, size);

        for (;;) {
                yaml_event_t e;

                if (!yaml_parser_parse(&parser, &e)) {
                        if (parser.error == YAML_MEMORY_ERROR) {
                                r = -ENOMEM;
                                break;
                        }
                        report_parse_error(&b, &parser, data, size);
                        break;
                }
                r = on_event(&b, &e);
                if (e.type == YAML_SCALAR_EVENT)
                        explicit_bzero(e.data.scalar.value, e.data.scalar.length);
                yaml_event_delete(&e);
                if (r <= 0)
                        break;
        }
        if (r == -EINVAL || r > 0)
                r = 0;          /* reported; the completed documents stay for validation */

        for (unsigned i = 0; i < b.depth; i++)
                free(b.stack_anchor[i]);
        anchors_clear(&b);
        /* libyaml's copies of the text, as read and as decoded; its scanner's scratch
         * strings are out of reach. */
        explicit_bzero(parser.raw_buffer.start, (size_t) (parser.raw_buffer.end - parser.raw_buffer.start));
        explicit_bzero(parser.buffer.start, (size_t) (parser.buffer.end - parser.buffer.start));
        yaml_parser_delete(&parser);
        if (r < 0)
                cdoc_set_done(ret);
        return r;
}

/* ---- Mapping entries with merge keys ---- */

typedef struct entry_sort {
        centry e;
        unsigned source;                /* 0: written in the mapping; 1..: merge sources in order */
        size_t index;
        bool drop;
} entry_sort;

typedef struct entry_vec {
        entry_sort *items;
        size_t n, cap;
} entry_vec;

static int key_cmp(const cnode *a, const cnode *b) {
        size_t n = a->length < b->length ? a->length : b->length;
        int c = memcmp(a->value, b->value, n);

        if (c != 0)
                return c;
        return a->length < b->length ? -1 : a->length > b->length;
}

static int entry_cmp_key(const void *x, const void *y) {
        const entry_sort *a = x, *b = y;
        int c = key_cmp(a->e.key, b->e.key);

        if (c != 0)
                return c;
        if (a->source != b->source)
                return a->source < b->source ? -1 : 1;
        return a->index < b->index ? -1 : a->index > b->index;
}

static int entry_cmp_index(const void *x, const void *y) {
        const entry_sort *a = x, *b = y;

        if (a->source != b->source)
                return a->source < b->source ? -1 : 1;
        return a->index < b->index ? -1 : a->index > b->index;
}

static bool is_merge_key(const cnode *k) {
        return k->kind == CNODE_SCALAR && k->plain && streq(k->value, "<<");
}

static int collect(loader *l, const cnode *map, unsigned source, unsigned depth, unsigned *next_source, entry_vec *v);

static int collect_merge(loader *l, const cnode *value, unsigned depth, unsigned *next_source, entry_vec *v) {
        int r;

        if (value->kind == CNODE_MAPPING)
                return collect(l, value, ++*next_source, depth + 1, next_source, v);
        if (value->kind == CNODE_SEQUENCE) {
                for (size_t i = 0; i < value->n_items; i++) {
                        if (value->items[i]->kind != CNODE_MAPPING) {
                                loader_error(l, value->items[i], "merge key '<<' expects mappings, got %s",
                                             cnode_kind_name(value->items[i]));
                                continue;
                        }
                        r = collect(l, value->items[i], ++*next_source, depth + 1, next_source, v);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        loader_error(l, value, "merge key '<<' expects a mapping or a sequence of mappings, got %s",
                     cnode_kind_name(value));
        return 0;
}

static int collect(loader *l, const cnode *map, unsigned source, unsigned depth, unsigned *next_source, entry_vec *v) {
        int r;

        if (depth > YAML_MERGE_DEPTH_MAX) {
                loader_error(l, map, "merge keys nested deeper than %u levels", YAML_MERGE_DEPTH_MAX);
                return 0;
        }
        for (size_t i = 0; i + 1 < map->n_items; i += 2) {
                const cnode *k = map->items[i], *val = map->items[i + 1];

                if (k->kind != CNODE_SCALAR) {
                        loader_error(l, k, "mapping keys must be strings, got %s", cnode_kind_name(k));
                        continue;
                }
                if (is_merge_key(k)) {
                        r = collect_merge(l, val, depth, next_source, v);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (grow((void **) &v->items, &v->cap, v->n + 1, sizeof(entry_sort)) < 0)
                        return -ENOMEM;
                v->items[v->n] = (entry_sort) { .e = { k, val }, .source = source, .index = v->n };
                v->n++;
        }
        return 0;
}

int cnode_mapping_entries(loader *l, const cnode *map, centry **ret, size_t *ret_n) {
        entry_vec v = {};
        unsigned next_source = 0;
        centry *out;
        size_t k = 0;
        int r;

        r = collect(l, map, 0, 0, &next_source, &v);
        if (r < 0) {
                free(v.items);
                return r;
        }

        if (v.n > 1) {
                size_t g = 0;           /* the first entry of the current group of equal keys */

                qsort(v.items, v.n, sizeof(entry_sort), entry_cmp_key);
                for (size_t i = 1; i < v.n; i++) {
                        const entry_sort *first = &v.items[g];
                        entry_sort *e = &v.items[i];

                        if (key_cmp(first->e.key, e->e.key) != 0) {
                                g = i;
                                continue;
                        }
                        /* A merged key under an explicit one is overridden, not a duplicate. */
                        e->drop = true;
                        if (e->source == first->source)
                                loader_error(l, e->e.key, "duplicate key '%s' (first at line %u, column %u)",
                                             e->e.key->value, first->e.key->line, first->e.key->column);
                }
                qsort(v.items, v.n, sizeof(entry_sort), entry_cmp_index);
        }

        out = calloc(v.n ? v.n : 1, sizeof(centry));
        if (!out) {
                free(v.items);
                return -ENOMEM;
        }
        for (size_t i = 0; i < v.n; i++)
                if (!v.items[i].drop)
                        out[k++] = v.items[i].e;
        free(v.items);
        *ret = out;
        *ret_n = k;
        return 0;
}
