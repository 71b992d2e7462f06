/* SPDX-License-Identifier: MIT */
/*
 * See ec2-template-calls.h. Each answer is small (a page holds at most 200
 * versions), so each page is parsed whole, not item by item as ec2-calls.c's
 * Describe calls of whole fleets are. One op type carries each of the four calls;
 * only the listing has pages.
 */
#include <limits.h>
#include <stdio.h>

#include "ec2-template-calls.h"
#include "query.h"

/* DescribeLaunchTemplateVersions: "MaxResults ... Valid range: 1 - 200". */
#define VERSIONS_MAX_RESULTS "200"
/* "Launch template versions per launch template: 10,000" (EC2 quotas) at 200 a page is 50
 * pages, and an account has nowhere near 1000 pages of templates: a server that goes on
 * past that is broken. */
#define VERSIONS_MAX_PAGES 1000U

typedef enum template_call {
        CALL_VERSIONS,
        CALL_CREATE,
        CALL_DEFAULT,
        CALL_DELETE,
} template_call;

struct ec2_template_op {
        aws_client *client;
        aws_call *call;
        aws_query *query;               /* the first request, copied for each page */
        template_call kind;
        unsigned pages;
        unsigned number;                /* CALL_DEFAULT: the version asked for */
        char *last_token;
        ec2_template_versions versions;
        union {
                ec2_template_versions_cb versions;
                ec2_template_number_cb number;
                ec2_template_delete_cb deleted;
        } cb;
        void *userdata;
};

static const char *const call_actions[] = {
        [CALL_VERSIONS] = "DescribeLaunchTemplateVersions",
        [CALL_CREATE] = "CreateLaunchTemplateVersion",
        [CALL_DEFAULT] = "ModifyLaunchTemplate",
        [CALL_DELETE] = "DeleteLaunchTemplateVersions",
};

static void template_version_done(ec2_template_version *t) {
        free(t->template_id);
        free(t->template_name);
        free(t->image_id);
        free(t->description);
}

void ec2_template_versions_done(ec2_template_versions *v) {
        for (size_t i = 0; v && i < v->n; i++)
                template_version_done(&v->items[i]);
        if (v)
                *v = (ec2_template_versions) { .items = mfree(v->items) };
}

const ec2_template_version *ec2_template_versions_default(const ec2_template_versions *v) {
        for (size_t i = 0; i < v->n; i++)
                if (v->items[i].is_default)
                        return &v->items[i];
        return NULL;
}

const ec2_template_version *ec2_template_versions_latest(const ec2_template_versions *v) {
        const ec2_template_version *latest = NULL;

        for (size_t i = 0; i < v->n; i++)
                if (!latest || v->items[i].number > latest->number)
                        latest = &v->items[i];
        return latest;
}

void ec2_template_delete_result_done(ec2_template_delete_result *r) {
        for (size_t i = 0; r && i < r->n_failed; i++) {
                free(r->failed[i].code);
                free(r->failed[i].message);
        }
        if (r) {
                free(r->deleted);
                free(r->failed);
                *r = (ec2_template_delete_result) {};
        }
}

/* ---- Parsers --------------------------------------------------------------------------- */

/* A version number: EC2's Long, here 1 .. UINT_MAX. */
static int parse_number(xmlNode *n, const char *path, unsigned *ret) {
        _cleanup_(freep) char *text = xml_child_text_or_null(n, path);
        unsigned long v;
        char *end;

        if (isempty(text))
                return -EBADMSG;
        errno = 0;
        v = strtoul(text, &end, 10);
        if (errno != 0 || *end || text[0] == '-' || v == 0 || v > UINT_MAX)
                return -EBADMSG;
        *ret = (unsigned) v;
        return 0;
}

static int parse_version(xmlNode *item, ec2_template_version *ret) {
        _cleanup_(freep) char *is_default = NULL;
        int r;

        *ret = (ec2_template_version) {};
        r = parse_number(item, "versionNumber", &ret->number);
        if (r < 0)
                return r;
        ret->template_id = xml_child_text_or_null(item, "launchTemplateId");
        if (!ret->template_id)
                return -EBADMSG;
        ret->template_name = xml_child_text_or_null(item, "launchTemplateName");
        is_default = xml_child_text_or_null(item, "defaultVersion");
        ret->is_default = streq_ptr(is_default, "true");
        ret->image_id = xml_child_text_or_null(item, "launchTemplateData/imageId");
        ret->description = xml_child_text_or_null(item, "versionDescription");
        return 0;
}

int ec2_parse_template_versions_page(xmlDoc *doc, ec2_template_versions *v, char **ret_next_token) {
        xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL, *set;
        int r;

        *ret_next_token = NULL;
        if (!root)
                return -EBADMSG;
        set = xml_child(root, "launchTemplateVersionSet");
        for (xmlNode *i = set ? xml_child(set, "item") : NULL; i; i = xml_next(i, "item")) {
                ec2_template_version t, *items;

                r = parse_version(i, &t);
                if (r < 0) {
                        template_version_done(&t);
                        return r;
                }
                items = reallocarray(v->items, v->n + 1, sizeof(*items));
                if (!items) {
                        template_version_done(&t);
                        return -ENOMEM;
                }
                v->items = items;
                items[v->n++] = t;
        }
        *ret_next_token = xml_child_text_or_null(root, "nextToken");
        if (*ret_next_token && isempty(*ret_next_token))
                *ret_next_token = mfree(*ret_next_token);
        return 0;
}

int ec2_parse_create_template_version(xmlDoc *doc, unsigned *ret_number) {
        xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL, *version;

        if (!root || !(version = xml_child(root, "launchTemplateVersion")))
                return -EBADMSG;
        return parse_number(version, "versionNumber", ret_number);
}

static int parse_deleted(xmlNode *set, ec2_template_delete_result *res) {
        for (xmlNode *i = set ? xml_child(set, "item") : NULL; i; i = xml_next(i, "item")) {
                unsigned *deleted, number;
                int r;

                r = parse_number(i, "versionNumber", &number);
                if (r < 0)
                        return r;
                deleted = reallocarray(res->deleted, res->n_deleted + 1, sizeof(*deleted));
                if (!deleted)
                        return -ENOMEM;
                res->deleted = deleted;
                deleted[res->n_deleted++] = number;
        }
        return 0;
}

static int parse_failed(xmlNode *set, ec2_template_delete_result *res) {
        for (xmlNode *i = set ? xml_child(set, "item") : NULL; i; i = xml_next(i, "item")) {
                ec2_template_delete_failure *failed, f = {};
                int r;

                r = parse_number(i, "versionNumber", &f.number);
                if (r < 0)
                        return r;
                failed = reallocarray(res->failed, res->n_failed + 1, sizeof(*failed));
                if (!failed)
                        return -ENOMEM;
                res->failed = failed;
                f.code = xml_child_text_or_null(i, "responseError/code");
                f.message = xml_child_text_or_null(i, "responseError/message");
                failed[res->n_failed++] = f;
        }
        return 0;
}

int ec2_parse_delete_template_versions(xmlDoc *doc, ec2_template_delete_result *ret) {
        xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
        int r;

        *ret = (ec2_template_delete_result) {};
        if (!root)
                return -EBADMSG;
        r = parse_deleted(xml_child(root, "successfullyDeletedLaunchTemplateVersionSet"), ret);
        if (r >= 0)
                r = parse_failed(xml_child(root, "unsuccessfullyDeletedLaunchTemplateVersionSet"), ret);
        if (r < 0)
                ec2_template_delete_result_done(ret);
        return r;
}

/* ---- Calls ----------------------------------------------------------------------------- */

static ec2_template_op *op_free(ec2_template_op *op) {
        if (!op)
                return NULL;
        if (op->call)
                aws_call_cancel(op->call);
        aws_query_free(op->query);
        free(op->last_token);
        ec2_template_versions_done(&op->versions);
        return mfree(op);
}

void ec2_template_op_cancel(ec2_template_op *op) {
        op_free(op);
}

static void on_answer(aws_call *call, int r, xmlDoc *doc, const aws_error *err, void *userdata);

static int op_send(ec2_template_op *op) {
        aws_query *q = NULL;
        int r;

        r = aws_query_copy(op->query, &q);
        if (r < 0)
                return r;
        return aws_client_call(op->client, q, on_answer, op, &op->call);
}

static void bad_answer(aws_error *e, xmlDoc *doc, int r, const char *action) {
        _cleanup_(freep) char *rid = doc ? xml_child_text_or_null(xmlDocGetRootElement(doc), "requestId") : NULL;
        char message[128];

        snprintf(message, sizeof(message), "%s %s answer", r == -EBADMSG ? "malformed" : "cannot read the", action);
        (void) aws_error_set(e, 0, NULL, message, isempty(rid) ? NULL : rid);
}

/* 1 when the next page was sent, 0 on the last, <0 with e filled. */
static int versions_page(ec2_template_op *op, xmlDoc *doc, aws_error *e) {
        _cleanup_(freep) char *token = NULL;
        int r;

        r = ec2_parse_template_versions_page(doc, &op->versions, &token);
        if (r < 0) {
                bad_answer(e, doc, r, "DescribeLaunchTemplateVersions");
                return r;
        }
        if (!token)
                return 0;
        if (streq_ptr(token, op->last_token) || op->pages >= VERSIONS_MAX_PAGES) {
                (void) aws_error_set(e, 0, NULL, "DescribeLaunchTemplateVersions keeps sending pages", NULL);
                return -EBADMSG;
        }
        r = aws_query_set(op->query, "NextToken", token);
        if (r >= 0) {
                free(op->last_token);
                op->last_token = TAKE_PTR(token);
                r = op_send(op);
        }
        if (r < 0) {
                (void) aws_error_setf(e, "cannot request the next DescribeLaunchTemplateVersions page: %s",
                                      strerror(-r));
                return r;
        }
        return 1;
}

/* Calls back and frees op; what the callback gets is moved to the stack first. */
static void op_finish(ec2_template_op *op, int r, const aws_error *err, unsigned number,
                      ec2_template_delete_result *deleted) {
        ec2_template_versions versions = {};
        aws_error fallback = {};
        template_call kind = op->kind;
        void *userdata = op->userdata;
        typeof(op->cb) cb = op->cb;

        if (r >= 0) {
                versions = op->versions;
                op->versions = (ec2_template_versions) {};
                err = NULL;
        } else if (!err)
                err = &fallback;
        op_free(op);
        if (kind == CALL_VERSIONS)
                cb.versions(r, &versions, err, userdata);
        else if (kind == CALL_DELETE)
                cb.deleted(r, deleted, err, userdata);
        else
                cb.number(r, r >= 0 ? number : 0, err, userdata);
        ec2_template_versions_done(&versions);
}

static void on_answer(aws_call *call, int r, xmlDoc *doc, const aws_error *err, void *userdata) {
        _cleanup_(ec2_template_delete_result_done) ec2_template_delete_result deleted = {};
        _cleanup_(aws_error_done) aws_error e = {};
        ec2_template_op *op = userdata;
        unsigned number = op->number;

        (void) call;
        op->call = NULL;
        op->pages++;
        if (r < 0) {
                op_finish(op, r, err, 0, &deleted);
                return;
        }
        switch (op->kind) {
        case CALL_VERSIONS:
                r = versions_page(op, doc, &e);
                if (r > 0)
                        return;
                break;
        case CALL_CREATE:
                r = ec2_parse_create_template_version(doc, &number);
                break;
        case CALL_DEFAULT:
                break;
        case CALL_DELETE:
                r = ec2_parse_delete_template_versions(doc, &deleted);
                break;
        }
        if (r < 0 && !e.message)
                bad_answer(&e, doc, r, call_actions[op->kind]);
        op_finish(op, r, &e, number, &deleted);
}

/* Takes ownership of q, also on failure. */
static int op_start(aws_client *c, aws_query *q, const ec2_template_op *proto, ec2_template_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *query = q;
        ec2_template_op *o;
        int r;

        o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        *o = *proto;
        o->client = c;
        o->query = TAKE_PTR(query);
        r = op_send(o);
        if (r < 0) {
                op_free(o);
                return r;
        }
        if (ret_op)
                *ret_op = o;
        return 0;
}

/* A new query for action on template t (exactly one of its id and name). */
static int template_query(const char *action, ec2_template_ref t, aws_query **ret) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (isempty(t.id) == isempty(t.name))
                return -EINVAL;
        r = aws_query_new(action, &q);
        if (r < 0)
                return r;
        r = t.id ? aws_query_add(q, "LaunchTemplateId", t.id) : aws_query_add(q, "LaunchTemplateName", t.name);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}

static int add_number(aws_query *q, const char *name, unsigned n) {
        char buf[16];

        snprintf(buf, sizeof(buf), "%u", n);
        return aws_query_add(q, name, buf);
}

static int add_dry_run(aws_query *q, bool dry_run) {
        return dry_run ? aws_query_add(q, "DryRun", "true") : 0;
}

/* "To describe all launch templates in your account that are defined as the latest version,
 * the valid value is $Latest. ... the default version, ... $Default. You can specify $Latest
 * and $Default in the same request." LaunchTemplateId and Name: "To describe all the latest
 * or default launch template versions in your account, you must omit this parameter." */
static int account_wide_query(aws_query **ret) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        r = aws_query_new("DescribeLaunchTemplateVersions", &q);
        if (r >= 0)
                r = aws_query_add(q, "LaunchTemplateVersion.1", "$Latest");
        if (r >= 0)
                r = aws_query_add(q, "LaunchTemplateVersion.2", "$Default");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}

int ec2_describe_template_versions(aws_client *c, const ec2_template_versions_request *req,
                                   ec2_template_versions_cb cb, void *userdata, ec2_template_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!c || !cb || !req || (req->account_wide && (req->template.id || req->template.name)))
                return -EINVAL;
        /* Without LaunchTemplateVersion.N, every version of the template. */
        r = req->account_wide ? account_wide_query(&q) :
                template_query("DescribeLaunchTemplateVersions", req->template, &q);
        /* ResolveAlias: "If true, and if a Systems Manager parameter is specified for ImageId,
         * the AMI ID is displayed in the response." */
        if (r >= 0 && req->resolve_alias)
                r = aws_query_add(q, "ResolveAlias", "true");
        if (r >= 0)
                r = aws_query_add(q, "MaxResults", VERSIONS_MAX_RESULTS);
        if (r < 0)
                return r;
        return op_start(c, TAKE_PTR(q), &(ec2_template_op) {
                                .kind = CALL_VERSIONS, .cb.versions = cb, .userdata = userdata,
                        }, ret_op);
}

int ec2_create_template_version(aws_client *c, const ec2_template_version_request *req, ec2_template_number_cb cb,
                                void *userdata, ec2_template_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!c || !cb || !req || isempty(req->image_id) || req->source_version == 0)
                return -EINVAL;
        r = template_query("CreateLaunchTemplateVersion", req->template, &q);
        if (r >= 0)
                r = add_number(q, "SourceVersion", req->source_version);
        if (r >= 0)
                r = aws_query_add(q, "LaunchTemplateData.ImageId", req->image_id);
        if (r >= 0 && req->description)
                r = aws_query_add(q, "VersionDescription", req->description);
        if (r >= 0 && req->client_token)
                r = aws_query_add(q, "ClientToken", req->client_token);
        if (r >= 0)
                r = add_dry_run(q, req->dry_run);
        if (r < 0)
                return r;
        return op_start(c, TAKE_PTR(q), &(ec2_template_op) {
                                .kind = CALL_CREATE, .cb.number = cb, .userdata = userdata,
                        }, ret_op);
}

int ec2_set_template_default(aws_client *c, ec2_template_ref t, unsigned version, bool dry_run,
                             ec2_template_number_cb cb, void *userdata, ec2_template_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!c || !cb || version == 0)
                return -EINVAL;
        r = template_query("ModifyLaunchTemplate", t, &q);
        /* The model's DefaultVersion goes on the wire as SetDefaultVersion. */
        if (r >= 0)
                r = add_number(q, "SetDefaultVersion", version);
        if (r >= 0)
                r = add_dry_run(q, dry_run);
        if (r < 0)
                return r;
        return op_start(c, TAKE_PTR(q), &(ec2_template_op) {
                                .kind = CALL_DEFAULT, .number = version, .cb.number = cb, .userdata = userdata,
                        }, ret_op);
}

int ec2_delete_template_versions(aws_client *c, ec2_template_ref t, const unsigned *versions, size_t n,
                                 bool dry_run, ec2_template_delete_cb cb, void *userdata,
                                 ec2_template_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        char name[48];                  /* "LaunchTemplateVersion." and a size_t */
        int r;

        if (!c || !cb || n == 0 || n > EC2_TEMPLATE_DELETE_MAX)
                return -EINVAL;
        r = template_query("DeleteLaunchTemplateVersions", t, &q);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                snprintf(name, sizeof(name), "LaunchTemplateVersion.%zu", i + 1);
                r = add_number(q, name, versions[i]);
        }
        if (r >= 0)
                r = add_dry_run(q, dry_run);
        if (r < 0)
                return r;
        return op_start(c, TAKE_PTR(q), &(ec2_template_op) {
                                .kind = CALL_DELETE, .cb.deleted = cb, .userdata = userdata,
                        }, ret_op);
}
