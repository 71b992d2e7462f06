/* SPDX-License-Identifier: MIT */
/*
 * The AWS Query protocol used by EC2 and STS: a request is a list of
 * name=value parameters sent as a form body (Action, Version, then the
 * action's own, lists flattened as Name.N, structures as Name.Member); the
 * answer is an XML document, or an error document. Pure: no I/O.
 */
#pragma once

#include <libxml/tree.h>

#include "base/util.h"
#include "error.h"

typedef struct aws_query aws_query;

int aws_query_new(const char *action, aws_query **ret);
aws_query *aws_query_free(aws_query *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(aws_query *, aws_query_free);

/* A deep copy, e.g. to send the next page of a Describe call. */
int aws_query_copy(const aws_query *q, aws_query **ret);

const char *aws_query_action(const aws_query *q);

/* Appends name=value. Names "Action" and "Version" are aws_query_encode()'s: -EINVAL. */
int aws_query_add(aws_query *q, const char *name, const char *value);
/* Appends a parameter whose name is formatted: aws_query_addf(q, id, "ImageId.%u", n). */
int aws_query_addf(aws_query *q, const char *value, const char *name_fmt, ...) _printf_(3, 4);
/* Sets name to value, replacing an existing one (for NextToken paging); value NULL removes it. */
int aws_query_set(aws_query *q, const char *name, const char *value);
/* The value of name, or NULL. */
const char *aws_query_get(const aws_query *q, const char *name);
/* prefix.1=values[0], prefix.2=values[1], ... for a NULL-terminated vector. */
int aws_query_add_list(aws_query *q, const char *prefix, char *const *values);
/* The next Filter.N.Name=name with Filter.N.Value.M=values[M-1]. */
int aws_query_add_filter(aws_query *q, const char *name, char *const *values);
int aws_query_add_filter1(aws_query *q, const char *name, const char *value);

/* The form body: Action=...&Version=...&name=value..., encoded with aws_uri_encode(). */
int aws_query_encode(const aws_query *q, const char *version, char **ret_body);

/*
 * Parses an answer of HTTP status `status`. A success document is returned in
 * *ret_doc. An error document (EC2: Response/Errors/Error/{Code,Message} and
 * RequestID; STS: ErrorResponse/Error/{Code,Message} and RequestId), also when
 * it comes with HTTP 200, gives -EREMOTEIO and fills *ret_error; a non-2xx
 * status without a readable error document gives -EREMOTEIO with the status and
 * a code derived from it ("InternalError"/"Unavailable"/"HTTP<status>").
 * Malformed, truncated or non-UTF-8 XML, and any document with a DTD (no
 * entity is ever expanded), gives -EBADMSG with a message; a body over 16 MiB
 * gives -EFBIG. header_request_id (x-amzn-RequestId) is used when the body has
 * none. ret_doc may be NULL (only check the answer), ret_error too.
 */
int aws_response_parse(const char *body, size_t size, long status, const char *header_request_id,
                       xmlDoc **ret_doc, aws_error *ret_error);

/*
 * The items of a long answer (a Describe page of 1000 images), read one at a time while
 * the document is parsed, so that the whole tree never stands in memory: as the end tag
 * of an element at path is read, item() gets it, whole, and then it and its siblings
 * before it are freed. The document handed back keeps everything else (requestId,
 * nextToken) and an emptied list. Checks, refusals and messages are aws_response_parse()'s;
 * an error document has another root, so no item of it is ever handed over. start() is
 * called before each body is parsed: items of a body that then failed (and is retried)
 * were already handed over, and are its to forget.
 */
typedef struct aws_xml_items {
        const char *const *path;        /* local names from the root element to an item; NULL-terminated */
        void (*start)(void *userdata);
        void (*item)(xmlNode *item, void *userdata);
        void *userdata;
} aws_xml_items;

int aws_response_parse_items(const char *body, size_t size, long status, const char *header_request_id,
                             const aws_xml_items *items, xmlDoc **ret_doc, aws_error *ret_error);

DEFINE_TRIVIAL_CLEANUP_FUNC(xmlDoc *, xmlFreeDoc);

/* XML helpers for the typed parsers; elements are matched by local name, namespaces ignored. */
xmlNode *xml_child(const xmlNode *parent, const char *name);
xmlNode *xml_next(const xmlNode *sibling, const char *name);  /* next sibling element named name */
/* Text of child `name` (path "a/b" allowed): -ENOENT if missing, *ret newly allocated. */
int xml_child_text(const xmlNode *parent, const char *path, char **ret);
/* Text of child `name` or NULL, borrowing nothing: the caller frees. */
char *xml_child_text_or_null(const xmlNode *parent, const char *path);
