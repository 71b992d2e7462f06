/* SPDX-License-Identifier: MIT */
/*
 * Synchronous forms of the AWS client's calls, for the tests only: each
 * starts the asynchronous call and runs the event loop until it has called
 * back. The daemon never waits like this (its one exception,
 * ec2_describe_images_sync() for `amirotd list`, stays in aws/ec2-calls.c),
 * so these live beside the tests rather than in daemon/aws. Header-only:
 * every test is one .c file linked against libamirotd.a.
 */
#pragma once

#include <libxml/tree.h>
#include <stdio.h>

#include "aws/client.h"
#include "aws/creds.h"
#include "aws/ec2.h"
#include "aws/http.h"
#include "base/util.h"

/* ---- http.c ------------------------------------------------------------------------------ */

typedef struct http_sync {
        http_response *response;
        bool done;
} http_sync;

static inline void http_sync_callback(http_call *call, http_response *r, void *userdata) {
        http_sync *s = userdata;

        (void) call;
        *s->response = *r;
        *r = (http_response) {};
        s->done = true;
}

/* Returns 0 with *ret filled (check ret->error and ret->status), or <0 if the request could not run. */
static inline int http_client_run(http_client *c, const http_request *req, http_response *ret) {
        http_sync s = { .response = ret };
        http_call *call;
        int r;

        if (!ret)
                return -EINVAL;
        *ret = (http_response) {};
        r = http_client_submit(c, req, http_sync_callback, &s, &call);
        if (r < 0)
                return r;
        r = http_client_run_until(c, &s.done);
        if (r < 0) {
                if (!s.done)
                        http_call_cancel(call);
                http_response_done(ret);
                return r;
        }
        return 0;
}

/* ---- client.c ---------------------------------------------------------------------------- */

typedef struct aws_call_sync_state {
        int result;
        xmlDoc *doc;
        aws_error error;
        bool done;
} aws_call_sync_state;

static inline void aws_call_sync_callback(aws_call *call, int r, xmlDoc *doc, const aws_error *err, void *userdata) {
        aws_call_sync_state *s = userdata;

        (void) call;
        s->result = r;
        s->done = true;
        if (r >= 0) {
                /* The client frees its document when the callback returns. */
                s->doc = xmlCopyDoc(doc, 1);
                if (!s->doc) {
                        s->result = -ENOMEM;
                        (void) aws_error_setf(&s->error, "out of memory");
                }
        } else if (err)
                (void) aws_error_set(&s->error, err->status, err->code, err->message, err->request_id);
}

/* Takes ownership of q. */
static inline int aws_client_call_sync(aws_client *c, aws_query *q, xmlDoc **ret_doc, aws_error *ret_error) {
        aws_call_sync_state s = {};
        aws_call *call;
        int r;

        r = aws_client_call(c, q, aws_call_sync_callback, &s, &call);
        if (r < 0) {
                if (ret_error)
                        (void) aws_error_setf(ret_error, "%s", strerror(-r));
                return r;
        }
        r = http_client_run_until(aws_client_http(c), &s.done);
        if (r < 0) {
                if (!s.done)
                        aws_call_cancel(call);
                xmlFreeDoc(s.doc);
                aws_error_done(&s.error);
                if (ret_error)
                        (void) aws_error_setf(ret_error, "event loop failed: %s", strerror(-r));
                return r;
        }
        if (s.result >= 0 && ret_doc)
                *ret_doc = TAKE_PTR(s.doc);
        xmlFreeDoc(s.doc);
        if (s.result < 0 && ret_error)
                aws_error_move(ret_error, &s.error);
        aws_error_done(&s.error);
        return s.result;
}

/* ---- creds.c ----------------------------------------------------------------------------- */

typedef struct creds_sync {
        bool done;
        int r;
        aws_credentials *c;
        aws_error error;
} creds_sync;

static inline void creds_sync_callback(int r, const aws_credentials *c, const aws_error *err, void *userdata) {
        creds_sync *s = userdata;

        s->done = true;
        s->r = r;
        if (r >= 0) {
                s->r = aws_credentials_copy(c, &s->c);
                if (s->r < 0)
                        (void) aws_error_setf(&s->error, "out of memory");
        } else if (err)
                (void) aws_error_set(&s->error, err->status, err->code, err->message, err->request_id);
}

/* *ret is a copy for the caller. ret_error may be NULL. */
static inline int creds_provider_get_sync(creds_provider *p, aws_credentials **ret, aws_error *ret_error) {
        creds_sync s = {};
        creds_wait *w;
        int r;

        if (!p || !ret)
                return -EINVAL;
        r = creds_provider_get(p, creds_sync_callback, &s, &w);
        if (r < 0)
                return r;
        while (!s.done) {
                r = sd_event_run(creds_provider_get_event(p), UINT64_MAX);
                if (r < 0) {
                        if (!s.done)
                                creds_wait_cancel(w);
                        aws_credentials_free(s.c);
                        aws_error_done(&s.error);
                        if (ret_error)
                                (void) aws_error_setf(ret_error, "cannot run the event loop: %s", strerror(-r));
                        return r;
                }
        }
        if (s.r < 0) {
                if (ret_error)
                        aws_error_move(ret_error, &s.error);
                aws_error_done(&s.error);
                return s.r;
        }
        *ret = s.c;
        return 0;
}

/* ---- ec2-calls.c ------------------------------------------------------------------------- */

typedef struct ec2_sync {
        bool done;
        int r;
        aws_error error;
        char *id;
        ec2_instance_list instances;
        char **deleted;
        ec2_instance_status_list statuses;
} ec2_sync;

static inline void ec2_sync_done(ec2_sync *s, int r, const aws_error *err) {
        s->done = true;
        s->r = r;
        if (r < 0 && err)
                (void) aws_error_set(&s->error, err->status, err->code, err->message, err->request_id);
}

static inline void ec2_sync_on_instances(int r, ec2_instance_list *l, const aws_error *err, void *userdata) {
        ec2_sync *s = userdata;

        ec2_sync_done(s, r, err);
        if (r >= 0) {
                s->instances = *l;
                *l = (ec2_instance_list) {};
        }
}

static inline void ec2_sync_on_id(int r, const char *id, const aws_error *err, void *userdata) {
        ec2_sync *s = userdata;

        ec2_sync_done(s, r, err);
        if (r >= 0 && strdup_or_null(id, &s->id) < 0) {
                s->r = -ENOMEM;
                (void) aws_error_setf(&s->error, "out of memory");
        }
}

static inline void ec2_sync_on_done(int r, const aws_error *err, void *userdata) {
        ec2_sync_done(userdata, r, err);
}

static inline void ec2_sync_on_deregistered(int r, char *const *deleted, const aws_error *err, void *userdata) {
        ec2_sync *s = userdata;

        if (r >= 0 && strv_copy(deleted, &s->deleted) < 0)
                r = -ENOMEM;
        ec2_sync_done(s, r, err);
}

/* r and op: what the asynchronous call returned. Runs the loop until the op called back. */
static inline int ec2_sync_wait(aws_client *c, int r, ec2_op *op, ec2_sync *s, const char *action, aws_error *ret_error) {
        if (r < 0)
                (void) aws_error_setf(&s->error, "cannot send %s: %s", action, strerror(-r));
        else {
                r = http_client_run_until(aws_client_http(c), &s->done);
                if (s->done)
                        r = s->r;
                else {
                        ec2_op_cancel(op);
                        r = r < 0 ? r : -ECANCELED;
                        (void) aws_error_setf(&s->error, "the event loop stopped before %s completed: %s",
                                              action, strerror(-r));
                }
        }
        if (r < 0) {
                ec2_instance_list_done(&s->instances);
                ec2_instance_status_list_done(&s->statuses);
                s->id = mfree(s->id);
                s->deleted = strv_free(s->deleted);
        }
        if (ret_error)
                aws_error_move(ret_error, &s->error);
        else
                aws_error_done(&s->error);
        return r;
}

static inline int ec2_describe_instances_sync(aws_client *c, const ec2_filter *filters, size_t n,
                                              ec2_instance_list *ret, aws_error *ret_error) {
        ec2_sync s = {};
        ec2_op *op = NULL;
        int r;

        r = ret ? ec2_describe_instances(c, filters, n, ec2_sync_on_instances, &s, &op) : -EINVAL;
        r = ec2_sync_wait(c, r, op, &s, "DescribeInstances", ret_error);
        if (r >= 0)
                *ret = s.instances;
        return r;
}

static inline int ec2_create_image_sync(aws_client *c, const ec2_create_image_request *req, char **ret_image_id,
                                        aws_error *ret_error) {
        ec2_sync s = {};
        ec2_op *op = NULL;
        int r;

        r = ret_image_id ? ec2_create_image(c, req, ec2_sync_on_id, &s, &op) : -EINVAL;
        r = ec2_sync_wait(c, r, op, &s, "CreateImage", ret_error);
        if (r >= 0)
                *ret_image_id = s.id;
        return r;
}

/* ret_deleted may be NULL. */
static inline int ec2_deregister_image_sync(aws_client *c, const char *image_id, bool delete_snapshots, bool dry_run,
                                            char ***ret_deleted, aws_error *ret_error) {
        ec2_sync s = {};
        ec2_op *op = NULL;
        int r;

        r = ec2_deregister_image(c, image_id, delete_snapshots, dry_run, ec2_sync_on_deregistered, &s, &op);
        r = ec2_sync_wait(c, r, op, &s, "DeregisterImage", ret_error);
        if (r >= 0 && ret_deleted)
                *ret_deleted = TAKE_PTR(s.deleted);
        strv_free(s.deleted);
        return r;
}

static inline int ec2_delete_snapshot_sync(aws_client *c, const char *snapshot_id, bool dry_run, aws_error *ret_error) {
        ec2_sync s = {};
        ec2_op *op = NULL;
        int r;

        r = ec2_delete_snapshot(c, snapshot_id, dry_run, ec2_sync_on_done, &s, &op);
        return ec2_sync_wait(c, r, op, &s, "DeleteSnapshot", ret_error);
}

static inline void ec2_sync_on_statuses(int r, ec2_instance_status_list *l, const aws_error *err, void *userdata) {
        ec2_sync *s = userdata;

        ec2_sync_done(s, r, err);
        if (r >= 0) {
                s->statuses = *l;
                *l = (ec2_instance_status_list) {};
        }
}

/* ---- ec2-instance-calls.c ---------------------------------------------------------------- */

static inline int ec2_run_instances_sync(aws_client *c, const ec2_run_instances_request *req,
                                         ec2_instance_list *ret, aws_error *ret_error) {
        ec2_sync s = {};
        ec2_op *op = NULL;
        int r;

        r = ret ? ec2_run_instances(c, req, ec2_sync_on_instances, &s, &op) : -EINVAL;
        r = ec2_sync_wait(c, r, op, &s, "RunInstances", ret_error);
        if (r >= 0)
                *ret = s.instances;
        return r;
}

static inline int ec2_terminate_instances_sync(aws_client *c, char *const *instance_ids, bool dry_run,
                                               aws_error *ret_error) {
        ec2_sync s = {};
        ec2_op *op = NULL;
        int r;

        r = ec2_terminate_instances(c, instance_ids, dry_run, ec2_sync_on_done, &s, &op);
        return ec2_sync_wait(c, r, op, &s, "TerminateInstances", ret_error);
}

static inline int ec2_describe_instance_status_sync(aws_client *c, char *const *instance_ids,
                                                    ec2_instance_status_list *ret, aws_error *ret_error) {
        ec2_sync s = {};
        ec2_op *op = NULL;
        int r;

        r = ret ? ec2_describe_instance_status(c, instance_ids, ec2_sync_on_statuses, &s, &op) : -EINVAL;
        r = ec2_sync_wait(c, r, op, &s, "DescribeInstanceStatus", ret_error);
        if (r >= 0)
                *ret = s.statuses;
        return r;
}

/* *ret: the decoded output, or NULL when the instance has none yet. */
static inline int ec2_get_console_output_sync(aws_client *c, const char *instance_id, bool latest, char **ret,
                                              aws_error *ret_error) {
        ec2_sync s = {};
        ec2_op *op = NULL;
        int r;

        r = ret ? ec2_get_console_output(c, instance_id, latest, ec2_sync_on_id, &s, &op) : -EINVAL;
        r = ec2_sync_wait(c, r, op, &s, "GetConsoleOutput", ret_error);
        if (r >= 0)
                *ret = s.id;
        return r;
}

static inline int ec2_create_tags_sync(aws_client *c, char *const *resource_ids, const ec2_tags *tags, bool dry_run,
                                       aws_error *ret_error) {
        ec2_sync s = {};
        ec2_op *op = NULL;
        int r;

        r = ec2_create_tags(c, resource_ids, tags, dry_run, ec2_sync_on_done, &s, &op);
        return ec2_sync_wait(c, r, op, &s, "CreateTags", ret_error);
}
