/* SPDX-License-Identifier: MIT */
/*
 * See ec2-usage.h. Both answers are small (a page holds at most 200 template
 * versions), so each page is parsed whole, not item by item as ec2-calls.c's
 * Describe calls of whole fleets are. Nothing here logs.
 */
#include <stdio.h>

#include "ec2-usage.h"
#include "query.h"

/* DescribeLaunchTemplateVersions: "MaxResults ... Valid range: 1 - 200". */
#define TEMPLATE_VERSIONS_MAX_RESULTS "200"
/* As ec2-calls.c: an account has nowhere near this many templates; a server that goes on is broken. */
#define TEMPLATE_VERSIONS_MAX_PAGES 1000U

typedef enum usage_kind {
        USAGE_TEMPLATES,
        USAGE_LAST_LAUNCHED,
} usage_kind;

struct ec2_usage_op {
        aws_client *client;
        aws_call *call;
        aws_query *query;               /* the first request, copied for each page */
        usage_kind kind;
        unsigned pages;
        char *last_token;
        ec2_template_image_list templates;
        union {
                ec2_template_images_cb templates;
                ec2_last_launched_cb last_launched;
        } cb;
        void *userdata;
};

static void template_image_done(ec2_template_image *t) {
        free(t->template_id);
        free(t->template_name);
        free(t->image_id);
        free(t->description);
}

void ec2_template_image_list_done(ec2_template_image_list *l) {
        for (size_t i = 0; l && i < l->n; i++)
                template_image_done(&l->items[i]);
        if (l)
                *l = (ec2_template_image_list) { .items = mfree(l->items) };
}

static ec2_usage_op *usage_op_free(ec2_usage_op *op) {
        if (!op)
                return NULL;
        if (op->call)
                aws_call_cancel(op->call);
        aws_query_free(op->query);
        free(op->last_token);
        ec2_template_image_list_done(&op->templates);
        return mfree(op);
}

void ec2_usage_op_cancel(ec2_usage_op *op) {
        usage_op_free(op);
}

/* ---- Parsers --------------------------------------------------------------------------- */

static int parse_template_version(xmlNode *item, ec2_template_image *ret) {
        _cleanup_(freep) char *number = NULL, *is_default = NULL;
        unsigned long v;
        char *end;

        *ret = (ec2_template_image) {};
        ret->image_id = xml_child_text_or_null(item, "launchTemplateData/imageId");
        ret->template_id = xml_child_text_or_null(item, "launchTemplateId");
        ret->template_name = xml_child_text_or_null(item, "launchTemplateName");
        number = xml_child_text_or_null(item, "versionNumber");
        is_default = xml_child_text_or_null(item, "defaultVersion");
        if (!ret->template_id || !number)
                return -EBADMSG;
        errno = 0;
        v = strtoul(number, &end, 10);
        if (errno != 0 || *end || end == number || v > UINT_MAX)
                return -EBADMSG;
        ret->version = (unsigned) v;
        ret->is_default = streq_ptr(is_default, "true");
        ret->description = xml_child_text_or_null(item, "versionDescription");
        return 0;
}

int ec2_parse_launch_template_versions(xmlDoc *doc, ec2_template_image_list *list, char **ret_next_token) {
        xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL, *set;
        int r;

        if (!root)
                return -EBADMSG;
        set = xml_child(root, "launchTemplateVersionSet");
        for (xmlNode *i = set ? xml_child(set, "item") : NULL; i; i = xml_next(i, "item")) {
                ec2_template_image t, *items;

                r = parse_template_version(i, &t);
                if (r >= 0 && t.version > list->max_version)
                        list->max_version = t.version;
                if (r < 0 || !t.image_id) {
                        template_image_done(&t);
                        if (r < 0)
                                return r;
                        continue;
                }
                items = reallocarray(list->items, list->n + 1, sizeof(*items));
                if (!items) {
                        template_image_done(&t);
                        return -ENOMEM;
                }
                list->items = items;
                items[list->n++] = t;
        }
        *ret_next_token = xml_child_text_or_null(root, "nextToken");
        if (*ret_next_token && isempty(*ret_next_token))
                *ret_next_token = mfree(*ret_next_token);
        return 0;
}

int ec2_parse_last_launched(xmlDoc *doc, time_t *ret) {
        xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
        _cleanup_(freep) char *value = NULL;
        time_t t;

        if (!root)
                return -EBADMSG;
        value = xml_child_text_or_null(root, "lastLaunchedTime/value");
        if (isempty(value)) {
                *ret = 0;
                return 0;
        }
        if (parse_iso8601(value, &t) < 0)
                return -EBADMSG;
        *ret = t;
        return 0;
}

/* ---- Calls ----------------------------------------------------------------------------- */

static void on_answer(aws_call *call, int r, xmlDoc *doc, const aws_error *err, void *userdata);

static int usage_send(ec2_usage_op *op) {
        aws_query *q = NULL;
        int r;

        r = aws_query_copy(op->query, &q);
        if (r < 0)
                return r;
        return aws_client_call(op->client, q, on_answer, op, &op->call);
}

/* Calls back and frees op; the list is moved to the stack first. */
static void usage_finish(ec2_usage_op *op, int r, const aws_error *err, time_t last_launched) {
        ec2_template_image_list templates = {};
        aws_error fallback = {};
        usage_kind kind = op->kind;
        void *userdata = op->userdata;
        ec2_template_images_cb templates_cb = op->cb.templates;
        ec2_last_launched_cb last_launched_cb = op->cb.last_launched;

        if (r >= 0) {
                templates = op->templates;
                op->templates = (ec2_template_image_list) {};
                err = NULL;
        } else if (!err)
                err = &fallback;
        usage_op_free(op);
        if (kind == USAGE_TEMPLATES)
                templates_cb(r, &templates, err, userdata);
        else
                last_launched_cb(r, r >= 0 ? last_launched : 0, err, userdata);
        ec2_template_image_list_done(&templates);
}

static void bad_answer(aws_error *e, xmlDoc *doc, int r, const char *action) {
        _cleanup_(freep) char *rid = doc ? xml_child_text_or_null(xmlDocGetRootElement(doc), "requestId") : NULL;
        char message[128];

        snprintf(message, sizeof(message), "%s %s answer", r == -EBADMSG ? "malformed" : "cannot read the", action);
        (void) aws_error_set(e, 0, NULL, message, isempty(rid) ? NULL : rid);
}

/* 1 when the next page was sent, 0 on the last, <0 with e filled. */
static int templates_page(ec2_usage_op *op, xmlDoc *doc, aws_error *e) {
        _cleanup_(freep) char *token = NULL;
        int r;

        r = ec2_parse_launch_template_versions(doc, &op->templates, &token);
        if (r < 0) {
                bad_answer(e, doc, r, "DescribeLaunchTemplateVersions");
                return r;
        }
        if (!token)
                return 0;
        if (streq_ptr(token, op->last_token) || op->pages >= TEMPLATE_VERSIONS_MAX_PAGES) {
                (void) aws_error_set(e, 0, NULL, "DescribeLaunchTemplateVersions keeps sending pages", NULL);
                return -EBADMSG;
        }
        r = aws_query_set(op->query, "NextToken", token);
        if (r >= 0) {
                free(op->last_token);
                op->last_token = TAKE_PTR(token);
                r = usage_send(op);
        }
        if (r < 0) {
                (void) aws_error_setf(e, "cannot request the next DescribeLaunchTemplateVersions page: %s",
                                      strerror(-r));
                return r;
        }
        return 1;
}

static void on_answer(aws_call *call, int r, xmlDoc *doc, const aws_error *err, void *userdata) {
        _cleanup_(aws_error_done) aws_error e = {};
        ec2_usage_op *op = userdata;
        time_t t = 0;

        (void) call;
        op->call = NULL;
        op->pages++;
        if (r < 0) {
                usage_finish(op, r, err, 0);
                return;
        }
        if (op->kind == USAGE_TEMPLATES) {
                r = templates_page(op, doc, &e);
                if (r > 0)
                        return;
        } else {
                r = ec2_parse_last_launched(doc, &t);
                if (r < 0)
                        bad_answer(&e, doc, r, "DescribeImageAttribute");
        }
        usage_finish(op, r, &e, t);
}

/* Takes ownership of q, also on failure. */
static int usage_start(aws_client *c, aws_query *q, ec2_usage_op *op, ec2_usage_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *query = q;
        ec2_usage_op *o;
        int r;

        o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        *o = *op;
        o->client = c;
        o->query = TAKE_PTR(query);
        r = usage_send(o);
        if (r < 0) {
                usage_op_free(o);
                return r;
        }
        if (ret_op)
                *ret_op = o;
        return 0;
}

int ec2_describe_template_images(aws_client *c, ec2_template_images_cb cb, void *userdata, ec2_usage_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!c || !cb)
                return -EINVAL;
        r = aws_query_new("DescribeLaunchTemplateVersions", &q);
        if (r < 0)
                return r;
        /* "To describe all launch templates in your account that are defined as the latest
         * version, the valid value is $Latest. ... the default version, ... $Default. You can
         * specify $Latest and $Default in the same request." LaunchTemplateId and Name: "To
         * describe all the latest or default launch template versions in your account, you
         * must omit this parameter." ResolveAlias: "If true, and if a Systems Manager
         * parameter is specified for ImageId, the AMI ID is displayed in the response." */
        if ((r = aws_query_add(q, "LaunchTemplateVersion.1", "$Latest")) < 0 ||
            (r = aws_query_add(q, "LaunchTemplateVersion.2", "$Default")) < 0 ||
            (r = aws_query_add(q, "ResolveAlias", "true")) < 0 ||
            (r = aws_query_add(q, "MaxResults", TEMPLATE_VERSIONS_MAX_RESULTS)) < 0)
                return r;
        return usage_start(c, TAKE_PTR(q), &(ec2_usage_op) {
                                   .kind = USAGE_TEMPLATES, .cb.templates = cb, .userdata = userdata,
                           }, ret_op);
}

int ec2_describe_template_image_versions(aws_client *c, const char *template_id, const char *template_name,
                                         ec2_template_images_cb cb, void *userdata, ec2_usage_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!c || !cb || (isempty(template_id) && isempty(template_name)))
                return -EINVAL;
        r = aws_query_new("DescribeLaunchTemplateVersions", &q);
        if (r < 0)
                return r;
        /* Without LaunchTemplateVersion.N, every version of the template; "You must specify
         * either the launch template ID or the launch template name, but not both." */
        if (!isempty(template_id))
                r = aws_query_add(q, "LaunchTemplateId", template_id);
        else
                r = aws_query_add(q, "LaunchTemplateName", template_name);
        if (r < 0 ||
            (r = aws_query_add(q, "ResolveAlias", "true")) < 0 ||
            (r = aws_query_add(q, "MaxResults", TEMPLATE_VERSIONS_MAX_RESULTS)) < 0)
                return r;
        return usage_start(c, TAKE_PTR(q), &(ec2_usage_op) {
                                   .kind = USAGE_TEMPLATES, .cb.templates = cb, .userdata = userdata,
                           }, ret_op);
}

int ec2_describe_last_launched(aws_client *c, const char *image_id, ec2_last_launched_cb cb, void *userdata,
                               ec2_usage_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!c || !cb || isempty(image_id))
                return -EINVAL;
        r = aws_query_new("DescribeImageAttribute", &q);
        if (r < 0)
                return r;
        if ((r = aws_query_add(q, "ImageId", image_id)) < 0 ||
            (r = aws_query_add(q, "Attribute", "lastLaunchedTime")) < 0)
                return r;
        return usage_start(c, TAKE_PTR(q), &(ec2_usage_op) {
                                   .kind = USAGE_LAST_LAUNCHED, .cb.last_launched = cb, .userdata = userdata,
                           }, ret_op);
}
