/* SPDX-License-Identifier: MIT */
/*
 * A policy's `adopt` section: which existing images (made by Packer, the console, an
 * earlier script) `amirotd adopt` tags as the policy's own. It selects by tags (a
 * selector as targets.tags: all must match, "*" any value, read by policy.c's tag
 * reader), by an EC2 name pattern, or both; never by nothing, which would take every
 * image of the account. instance_id names the instance for images EC2 does not say
 * were made from one (sourceInstanceId is only on images of CreateImage).
 * Nothing here adopts anything: the section is inert until the command runs.
 */
#include "config/policy-adopt.h"

/* DescribeImages, Filter.N.Value.N: "Constraints: 255 characters" (design.md, rule 8). */
#define ADOPT_NAME_MAX 255

static const char *const adopt_keys[] = { "tags", "name", "instance_id", NULL };

static config_pos pos_of(loader *l, const cnode *n) {
        return (config_pos) { .file = l->file, .line = n->line, .column = n->column };
}

/* "i-" and 8 or 17 lowercase hex digits, as EC2 writes instance ids. */
static bool instance_id_valid(const char *s) {
        size_t n;

        if (!startswith(s, "i-"))
                return false;
        n = strlen(s + 2);
        if (n != 8 && n != 17)
                return false;
        for (s += 2; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

static void parse_name(loader *l, policy *p, const cnode *n) {
        _cleanup_(freep) char *v = NULL;

        if (cvalue_string(l, n, "name", &v) < 0)
                return;
        if (isempty(v)) {
                loader_error(l, n, "'adopt.name' is empty: give a name pattern (* and ? match any characters)");
                return;
        }
        if (utf8_length(v) > ADOPT_NAME_MAX) {
                loader_error(l, n, "'adopt.name' is longer than %d characters (EC2's limit on a filter value)",
                             ADOPT_NAME_MAX);
                return;
        }
        if (strspn(v, "*?") == strlen(v)) {
                loader_error(l, n, "'adopt.name' '%s' matches every image: give a pattern with some fixed "
                             "characters, or select by 'tags'", v);
                return;
        }
        free(p->adopt.name);
        p->adopt.name = TAKE_PTR(v);
}

static void parse_instance_id(loader *l, policy *p, const cnode *n) {
        _cleanup_(freep) char *v = NULL;

        if (cnode_is_null(n) || cvalue_string(l, n, "instance_id", &v) < 0)
                return;
        if (!instance_id_valid(v)) {
                loader_error(l, n, "'adopt.instance_id' '%s' is not an EC2 instance id (i- and 8 or 17 hex digits)", v);
                return;
        }
        free(p->adopt.instance_id);
        p->adopt.instance_id = TAKE_PTR(v);
}

int config_adopt_parse(loader *l, policy *p, const cnode *n, const cnode **ret_tags) {
        _cleanup_(freep) centry *e = NULL;
        bool selects = false;
        size_t n_e = 0;
        int r;

        *ret_tags = NULL;
        if (cnode_is_null(n))
                return 0;
        r = cvalue_mapping(l, n, "adopt", &e, &n_e);
        if (r < 0)
                return r;
        p->adopt.set = true;
        p->adopt.pos = pos_of(l, n);
        for (size_t i = 0; i < n_e; i++) {
                const char *k = e[i].key->value, *suggestion;
                const cnode *v = e[i].value;

                if (streq(k, "tags")) {
                        selects = true;
                        if (v->kind == CNODE_MAPPING && v->n_items == 0)
                                loader_error(l, v, "'adopt.tags' is empty: give the tags the images carry");
                        else if (!cnode_is_null(v))
                                *ret_tags = v;
                } else if (streq(k, "name")) {
                        selects = true;
                        if (!cnode_is_null(v))
                                parse_name(l, p, v);
                } else if (streq(k, "instance_id"))
                        parse_instance_id(l, p, v);
                else {
                        suggestion = cvalue_unknown(l, e[i].key, "key", "'adopt'", adopt_keys);
                        /* one error for a misspelled key, not a second for the missing selector */
                        selects = selects || streq_ptr(suggestion, "tags") || streq_ptr(suggestion, "name");
                }
        }
        /* Selecting by nothing would take in every image of the account. */
        if (!selects)
                loader_error(l, n, "'adopt' needs 'tags' or 'name' (or both): which images to adopt");
        return 0;
}
