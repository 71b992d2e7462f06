/* SPDX-License-Identifier: MIT */
/*
 * The AWS Query protocol, both halves. A request is an ordered list of
 * name=value parameters that becomes a form body "Action=..&Version=..&...";
 * the encoding is SigV4's (sigv4.c), so what we send is exactly what we sign.
 * An answer is an XML document, parsed here with libxml2 under a strict set of
 * rules, because it is input from the network: no DTD is accepted at all (so
 * no entity can expand, no billion laughs, nothing is loaded), libxml2's
 * default depth and size limits stay on (never XML_PARSE_HUGE), bytes must be
 * UTF-8, and errors go to a per-parse callback rather than stderr. Error
 * documents, EC2's and STS's, become aws_error values, also when they come
 * with HTTP 200. Nothing here logs.
 */
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <limits.h>
#include <stdio.h>
#include <sys/types.h>

#include "query.h"
#include "sigv4.h"

/* The largest answer we parse; the transport (http.h) refuses larger bodies first. */
#define AWS_RESPONSE_MAX ((size_t) 16 * 1024 * 1024)

/* The pieces a body is parsed in. */
#define XML_PUSH_CHUNK ((size_t) 64 * 1024)

/*
 * NONET: never fetch anything. NOBLANKS: drop indentation text nodes. COMPACT: a
 * text shorter than two pointers ("available", "true", "/dev/xvda") is kept in its
 * node, not in an allocation of its own; the price, a tree that must not be modified,
 * costs nothing here: answers are only read. Absent on
 * purpose: NOENT (entity substitution), DTDLOAD/DTDATTR/DTDVALID (external DTDs),
 * XINCLUDE, and HUGE, which would lift libxml2's depth and size limits.
 */
#define AWS_XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_COMPACT)
_Static_assert((AWS_XML_OPTIONS & (XML_PARSE_NOENT | XML_PARSE_DTDLOAD | XML_PARSE_DTDATTR |
                                   XML_PARSE_DTDVALID | XML_PARSE_XINCLUDE | XML_PARSE_HUGE)) == 0,
               "unsafe libxml2 parser options");

typedef struct query_param {
        char *name;
        char *value;
} query_param;

struct aws_query {
        char *action;
        query_param *params;
        size_t n, cap;
        unsigned n_filters;
};

int aws_query_new(const char *action, aws_query **ret) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;

        if (isempty(action) || !ret)
                return -EINVAL;
        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->action = strdup(action);
        if (!q->action)
                return -ENOMEM;
        *ret = TAKE_PTR(q);
        return 0;
}

aws_query *aws_query_free(aws_query *q) {
        if (!q)
                return NULL;
        /* A value may be a secret (AssumeRoleWithWebIdentity's WebIdentityToken). */
        for (size_t i = 0; i < q->n; i++) {
                free(q->params[i].name);
                erase_and_free(q->params[i].value);
        }
        free(q->params);
        free(q->action);
        return mfree(q);
}

int aws_query_copy(const aws_query *q, aws_query **ret) {
        _cleanup_(aws_query_freep) aws_query *c = NULL;
        int r;

        if (!q || !ret)
                return -EINVAL;
        r = aws_query_new(q->action, &c);
        if (r < 0)
                return r;
        for (size_t i = 0; i < q->n; i++) {
                r = aws_query_add(c, q->params[i].name, q->params[i].value);
                if (r < 0)
                        return r;
        }
        c->n_filters = q->n_filters;
        *ret = TAKE_PTR(c);
        return 0;
}

const char *aws_query_action(const aws_query *q) {
        return q ? q->action : NULL;
}

/* Action and Version are written by aws_query_encode() and cannot be parameters. */
static bool param_name_is_valid(const char *name) {
        return !isempty(name) && !streq(name, "Action") && !streq(name, "Version");
}

static ssize_t query_find(const aws_query *q, const char *name) {
        for (size_t i = 0; i < q->n; i++)
                if (streq(q->params[i].name, name))
                        return (ssize_t) i;
        return -1;
}

int aws_query_add(aws_query *q, const char *name, const char *value) {
        _cleanup_(freep) char *n = NULL, *v = NULL;

        if (!q || !param_name_is_valid(name) || !value)
                return -EINVAL;
        if (q->n == q->cap) {
                size_t cap = q->cap ? q->cap * 2 : 16;
                query_param *p = reallocarray(q->params, cap, sizeof(*p));

                if (!p)
                        return -ENOMEM;
                q->params = p;
                q->cap = cap;
        }
        n = strdup(name);
        v = strdup(value);
        if (!n || !v)
                return -ENOMEM;
        q->params[q->n++] = (query_param) { .name = TAKE_PTR(n), .value = TAKE_PTR(v) };
        return 0;
}

int aws_query_addf(aws_query *q, const char *value, const char *name_fmt, ...) {
        _cleanup_(freep) char *name = NULL;
        va_list ap;
        int r;

        if (!q || !name_fmt)
                return -EINVAL;
        va_start(ap, name_fmt);
        r = vasprintf(&name, name_fmt, ap);
        va_end(ap);
        if (r < 0) {
                name = NULL;
                return -ENOMEM;
        }
        return aws_query_add(q, name, value);
}

int aws_query_set(aws_query *q, const char *name, const char *value) {
        char *v;
        ssize_t i;

        if (!q || !param_name_is_valid(name))
                return -EINVAL;
        i = query_find(q, name);
        if (i < 0)
                return value ? aws_query_add(q, name, value) : 0;
        if (!value) {
                free(q->params[i].name);
                erase_and_free(q->params[i].value);
                memmove(q->params + i, q->params + i + 1, (q->n - (size_t) i - 1) * sizeof(*q->params));
                q->n--;
                return 0;
        }
        v = strdup(value);
        if (!v)
                return -ENOMEM;
        erase_and_free(q->params[i].value);
        q->params[i].value = v;
        return 0;
}

const char *aws_query_get(const aws_query *q, const char *name) {
        ssize_t i;

        if (!q || !name)
                return NULL;
        i = query_find(q, name);
        return i < 0 ? NULL : q->params[i].value;
}

int aws_query_add_list(aws_query *q, const char *prefix, char *const *values) {
        int r;

        if (!q || isempty(prefix))
                return -EINVAL;
        for (size_t i = 0; values && values[i]; i++) {
                r = aws_query_addf(q, values[i], "%s.%zu", prefix, i + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Filter.N.Name=name, Filter.N.Value.M=...: values, or the single value1. */
static int query_add_filter(aws_query *q, const char *name, char *const *values, const char *value1) {
        unsigned n;
        int r;

        if (!q || isempty(name) || (values ? !values[0] : !value1))
                return -EINVAL;
        n = q->n_filters + 1;
        r = aws_query_addf(q, name, "Filter.%u.Name", n);
        if (r < 0)
                return r;
        if (!values)
                r = aws_query_addf(q, value1, "Filter.%u.Value.1", n);
        for (size_t i = 0; r >= 0 && values && values[i]; i++)
                r = aws_query_addf(q, values[i], "Filter.%u.Value.%zu", n, i + 1);
        if (r < 0)
                return r;
        q->n_filters = n;
        return 0;
}

int aws_query_add_filter(aws_query *q, const char *name, char *const *values) {
        if (!values)
                return -EINVAL;
        return query_add_filter(q, name, values, NULL);
}

int aws_query_add_filter1(aws_query *q, const char *name, const char *value) {
        return query_add_filter(q, name, NULL, value);
}

static int encode_pair(strbuf *b, const char *name, const char *value) {
        int r;

        if (b->len > 0) {
                r = strbuf_puts(b, "&");
                if (r < 0)
                        return r;
        }
        r = aws_uri_encode_append(name, true, b);
        if (r < 0)
                return r;
        r = strbuf_puts(b, "=");
        if (r < 0)
                return r;
        return aws_uri_encode_append(value, true, b);
}

int aws_query_encode(const aws_query *q, const char *version, char **ret_body) {
        strbuf b = { .secret = true };  /* as the values: the caller wipes the body */
        int r;

        if (!q || isempty(version) || !ret_body)
                return -EINVAL;
        r = encode_pair(&b, "Action", q->action);
        if (r >= 0)
                r = encode_pair(&b, "Version", version);
        for (size_t i = 0; r >= 0 && i < q->n; i++)
                r = encode_pair(&b, q->params[i].name, q->params[i].value);
        if (r < 0) {
                strbuf_done(&b);
                return r;
        }
        *ret_body = strbuf_steal(&b);
        return *ret_body ? 0 : -ENOMEM;
}

/* ---- XML helpers ------------------------------------------------------------------------ */

static bool node_is(const xmlNode *n, const char *name) {
        return n->type == XML_ELEMENT_NODE && n->name && streq((const char *) n->name, name);
}

xmlNode *xml_next(const xmlNode *sibling, const char *name) {
        if (!sibling || !name)
                return NULL;
        for (xmlNode *n = sibling->next; n; n = n->next)
                if (node_is(n, name))
                        return n;
        return NULL;
}

xmlNode *xml_child(const xmlNode *parent, const char *name) {
        if (!parent || !name)
                return NULL;
        for (xmlNode *n = parent->children; n; n = n->next)
                if (node_is(n, name))
                        return n;
        return NULL;
}

/* Follows "a/b/c" from parent, each step the first child of that name. */
static xmlNode *xml_path(const xmlNode *parent, const char *path) {
        const xmlNode *cur = parent;
        xmlNode *n = NULL;
        const char *p = path;

        if (!parent || isempty(path))
                return NULL;
        while (cur && *p) {
                size_t len = strcspn(p, "/");
                char step[128];

                if (len == 0 || len >= sizeof(step))
                        return NULL;
                memcpy(step, p, len);
                step[len] = 0;
                cur = n = xml_child(cur, step);
                p += len;
                if (*p == '/')
                        p++;
        }
        return n;
}

int xml_child_text(const xmlNode *parent, const char *path, char **ret) {
        xmlNode *n;
        xmlChar *content;
        char *s;

        if (!ret)
                return -EINVAL;
        n = xml_path(parent, path);
        if (!n)
                return -ENOENT;
        content = xmlNodeGetContent(n);
        s = strdup(content ? (const char *) content : "");
        xmlFree(content);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

char *xml_child_text_or_null(const xmlNode *parent, const char *path) {
        char *s = NULL;

        (void) xml_child_text(parent, path, &s);
        return s;
}

/* ---- Answers ---------------------------------------------------------------------------- */

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_is_valid(const unsigned char *s, size_t size, size_t *ret_bad_offset) {
        size_t i = 0;

        while (i < size) {
                unsigned char c = s[i];
                size_t need;
                uint32_t cp;

                if (c < 0x80) {
                        i++;
                        continue;
                } else if (c >= 0xC2 && c <= 0xDF) {
                        need = 1;
                        cp = c & 0x1F;
                } else if (c >= 0xE0 && c <= 0xEF) {
                        need = 2;
                        cp = c & 0x0F;
                } else if (c >= 0xF0 && c <= 0xF4) {
                        need = 3;
                        cp = c & 0x07;
                } else
                        goto bad;
                if (size - i <= need)
                        goto bad;
                for (size_t k = 1; k <= need; k++) {
                        if ((s[i + k] & 0xC0) != 0x80)
                                goto bad;
                        cp = (cp << 6) | (s[i + k] & 0x3F);
                }
                if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                    (cp >= 0xD800 && cp <= 0xDFFF))
                        goto bad;
                i += need + 1;
        }
        return true;
bad:
        *ret_bad_offset = i;
        return false;
}

typedef struct parse_state {
        bool saw_doctype;
        char *first_error;      /* "line N: message" of libxml2's first complaint */
        const aws_xml_items *items;
} parse_state;

static void parse_error(void *userdata, xmlErrorPtr e) {
        xmlParserCtxt *ctxt = userdata;
        parse_state *s = ctxt ? ctxt->_private : NULL;
        size_t len;

        if (!s || s->first_error || !e || e->level < XML_ERR_ERROR)
                return;
        len = e->message ? strlen(e->message) : 0;
        while (len > 0 && (e->message[len - 1] == '\n' || e->message[len - 1] == ' '))
                len--;
        if (asprintf(&s->first_error, "line %d: %.*s", e->line, (int) len, e->message ? e->message : "") < 0)
                s->first_error = NULL;
}

/*
 * Called by libxml2 at <!DOCTYPE ...>, before any of an internal subset is read:
 * EC2 and STS never send a DTD, so a document with one is refused here, and no
 * entity declaration is ever seen, let alone expanded.
 */
static void refuse_doctype(void *userdata, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id) {
        xmlParserCtxt *ctxt = userdata;
        parse_state *s = ctxt->_private;

        (void) name, (void) external_id, (void) system_id;
        s->saw_doctype = true;
        xmlStopParser(ctxt);
}

/* Whether n stands at path: its names from the root element down, the root's parent being the document. */
static bool node_at(const xmlNode *n, const char *const *path) {
        size_t depth = 0;

        while (path[depth])
                depth++;
        for (; depth > 0; depth--, n = n->parent)
                if (!n || n->type != XML_ELEMENT_NODE || !node_is(n, path[depth - 1]))
                        return false;
        return n && n->type == XML_DOCUMENT_NODE;
}

/*
 * libxml2's own end of element, then: an element at the items' path is handed over and
 * freed with the siblings before it. Its parent is left with no children at all, so that
 * the text libxml2 reads next starts a node of its own rather than growing one it freed.
 */
static void end_element(void *userdata, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri) {
        xmlParserCtxt *ctxt = userdata;
        parse_state *s = ctxt->_private;
        xmlNode *n = ctxt->node, *parent;

        xmlSAX2EndElementNs(ctxt, localname, prefix, uri);
        if (!n || !n->parent || ctxt->node != n->parent || !node_at(n, s->items->path))
                return;
        s->items->item(n, s->items->userdata);
        parent = n->parent;
        xmlFreeNodeList(parent->children);
        parent->children = parent->last = NULL;
}

/*
 * An answer may hold keys (STS's Credentials): everything libxml2 frees, from the copy of
 * the body it parses to the documents' text, is wiped first. Set before libxml2 allocates
 * anything of ours; its blocks all come from malloc either way, so the order is harmless.
 */
static void xml_wipe_on_free(void) {
        static bool done = false;

        if (!done && xmlMemSetup(wipe_free, malloc, wipe_realloc, strdup) == 0)
                done = true;
}

/* Parses size bytes (already known to be UTF-8) into a document, or -EBADMSG with a message. */
static int xml_parse(const char *body, size_t size, const aws_xml_items *items, xmlDoc **ret_doc, char **ret_message) {
        _cleanup_(freep) char *message = NULL;
        parse_state state = { .items = items };
        xmlParserCtxt *ctxt;
        xmlDoc *doc;
        bool ok;

        xml_wipe_on_free();
        xmlInitParser();
        /* A push parser, fed the body a piece at a time: libxml2 keeps a window of it, where
         * xmlCtxtReadMemory() would first copy all of it (a DescribeImages page: megabytes). */
        ctxt = xmlCreatePushParserCtxt(NULL, NULL, NULL, 0, "aws-response.xml");
        if (!ctxt)
                return -ENOMEM;
        /* UTF-8 whatever the document declares, as xmlCtxtReadMemory(..., "UTF-8") reads it;
         * libxml2 skips a byte order mark only in bytes it already holds, so it is skipped here. */
        if (xmlCtxtUseOptions(ctxt, AWS_XML_OPTIONS | XML_PARSE_IGNORE_ENC) != 0 ||
            xmlSwitchToEncoding(ctxt, xmlFindCharEncodingHandler("UTF-8")) != 0) {
                xmlFreeParserCtxt(ctxt);
                return -ENOMEM;
        }
        if (size >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) {
                body += 3;
                size -= 3;
        }
        /* ctxt->sax is this context's own copy: these settings touch no global state. */
        ctxt->_private = &state;
        ctxt->sax->serror = parse_error;
        ctxt->sax->error = NULL;
        ctxt->sax->warning = NULL;
        ctxt->sax->internalSubset = refuse_doctype;
        ctxt->sax->externalSubset = NULL;
        ctxt->sax->initialized = XML_SAX2_MAGIC;
        ctxt->vctxt.error = NULL;
        ctxt->vctxt.warning = NULL;
        if (items)
                ctxt->sax->endElementNs = end_element;

        for (size_t at = 0; ctxt->wellFormed && !state.saw_doctype; at += XML_PUSH_CHUNK) {
                bool last = size - at <= XML_PUSH_CHUNK;

                (void) xmlParseChunk(ctxt, body + at, (int) (last ? size - at : XML_PUSH_CHUNK), last);
                if (last)
                        break;
        }
        doc = TAKE_PTR(ctxt->myDoc);
        ok = doc && ctxt->wellFormed && !state.saw_doctype && xmlDocGetRootElement(doc);
        xmlFreeParserCtxt(ctxt);

        if (ok) {
                free(state.first_error);
                *ret_doc = doc;
                return 0;
        }
        xmlFreeDoc(doc);
        if (state.saw_doctype)
                message = strdup("document type declarations are not accepted");
        else if (state.first_error)
                message = TAKE_PTR(state.first_error);
        else
                message = strdup("no root element");
        free(state.first_error);
        *ret_message = TAKE_PTR(message);
        return -EBADMSG;
}

static bool status_is_success(long status) {
        return status >= 200 && status <= 299;
}

/*
 * EC2:  <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
 * STS:  <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
 * ("Error codes for the Amazon EC2 API", "Example error response"). Returns the
 * Error element, or NULL when root is not an error document.
 */
static xmlNode *error_element(const xmlNode *root, const xmlNode **ret_request_id_parent) {
        *ret_request_id_parent = root;
        if (node_is(root, "Response"))
                return xml_child(xml_child(root, "Errors"), "Error");
        if (node_is(root, "ErrorResponse"))
                return xml_child(root, "Error");
        return NULL;
}

static int set_error(aws_error *e, long status, const char *code, const char *message, const char *request_id) {
        if (!e)
                return 0;
        return aws_error_set(e, status, code, message, request_id);
}

static int set_local_error(aws_error *e, long status, const char *message, const char *request_id) {
        return set_error(e, status, NULL, message, request_id);
}

int aws_response_parse(const char *body, size_t size, long status, const char *header_request_id,
                       xmlDoc **ret_doc, aws_error *ret_error) {
        return aws_response_parse_items(body, size, status, header_request_id, NULL, ret_doc, ret_error);
}

int aws_response_parse_items(const char *body, size_t size, long status, const char *header_request_id,
                             const aws_xml_items *items, xmlDoc **ret_doc, aws_error *ret_error) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(freep) char *message = NULL, *code = NULL, *msg = NULL, *rid = NULL;
        const xmlNode *rid_parent;
        xmlNode *root, *error;
        char buf[16], detail[128];
        size_t bad;
        int r;

        if ((!body && size > 0) || (items && (!items->path || !items->path[0] || !items->item)))
                return -EINVAL;
        if (items && items->start)
                items->start(items->userdata);

        if (size > AWS_RESPONSE_MAX || size > INT_MAX) {
                snprintf(detail, sizeof(detail), "answer of %zu bytes exceeds the limit of %zu", size, AWS_RESPONSE_MAX);
                r = -EFBIG;
        } else if (size == 0) {
                snprintf(detail, sizeof(detail), "empty answer");
                r = -EBADMSG;
        } else if (!utf8_is_valid((const unsigned char *) body, size, &bad)) {
                snprintf(detail, sizeof(detail), "answer is not UTF-8 (byte %zu)", bad);
                r = -EBADMSG;
        } else
                r = xml_parse(body, size, items, &doc, &message);

        if (r < 0) {
                /* A failed answer whose body we cannot read is still a failed answer. */
                if (!status_is_success(status)) {
                        snprintf(detail, sizeof(detail), "HTTP %ld without a readable error document", status);
                        (void) set_error(ret_error, status, aws_error_code_from_status(status, buf), detail,
                                         header_request_id);
                        return -EREMOTEIO;
                }
                if (message && asprintf(&msg, "malformed XML answer: %s", message) < 0)
                        msg = NULL;
                (void) set_local_error(ret_error, status, msg ?: message ?: detail, header_request_id);
                return r;
        }

        root = xmlDocGetRootElement(doc);
        error = error_element(root, &rid_parent);
        if (error) {
                code = xml_child_text_or_null(error, "Code");
                msg = xml_child_text_or_null(error, "Message");
                rid = xml_child_text_or_null(rid_parent, "RequestID");
                if (isempty(rid)) {
                        free(rid);
                        rid = xml_child_text_or_null(rid_parent, "RequestId");
                }
                if (isempty(rid))
                        rid = mfree(rid);
                if (!isempty(code)) {
                        r = set_error(ret_error, status, code, msg, rid ? rid : header_request_id);
                        return r < 0 ? r : -EREMOTEIO;
                }
        }

        if (!status_is_success(status)) {
                snprintf(detail, sizeof(detail), "HTTP %ld without a readable error document", status);
                r = set_error(ret_error, status, aws_error_code_from_status(status, buf), detail,
                              rid ? rid : header_request_id);
                return r < 0 ? r : -EREMOTEIO;
        }
        if (error) {
                (void) set_local_error(ret_error, status, "error document without an error code", rid ? rid : header_request_id);
                return -EBADMSG;
        }

        if (ret_doc)
                *ret_doc = TAKE_PTR(doc);
        return 0;
}
