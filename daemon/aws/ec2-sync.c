/* SPDX-License-Identifier: MIT */
/*
 * The synchronous forms of EC2 calls, for the one-shot commands (amirotd list, plan, adopt):
 * each sends the asynchronous call of ec2-calls.c and runs the HTTP client's loop
 * until it completes. The service never uses them.
 */
#include <stdio.h>

#include "ec2.h"
#include "ec2-template-calls.h"
#include "http.h"

/* ---- The synchronous DescribeImages ------------------------------------------------------ */

/* For the one-shot commands (amirotd list); the tests keep the other synchronous forms. */
typedef struct images_sync {
        bool done;
        int r;
        aws_error error;
        ec2_image_list images;
} images_sync;

static void sync_on_images(int r, ec2_image_list *l, const aws_error *err, void *userdata) {
        images_sync *s = userdata;

        s->done = true;
        s->r = r;
        if (r >= 0) {
                s->images = *l;
                *l = (ec2_image_list) {};
        } else if (err)
                (void) aws_error_set(&s->error, err->status, err->code, err->message, err->request_id);
}

int ec2_describe_images_sync(aws_client *c, const ec2_filter *filters, size_t n, char *const *image_ids, ec2_image_list *ret, aws_error *ret_error) {
        images_sync s = {};
        ec2_op *op = NULL;
        int r;

        r = ret ? ec2_describe_images(c, filters, n, image_ids, sync_on_images, &s, &op) : -EINVAL;
        if (r < 0)
                (void) aws_error_setf(&s.error, "cannot send DescribeImages: %s", strerror(-r));
        else {
                r = http_client_run_until(aws_client_http(c), &s.done);
                if (s.done)
                        r = s.r;
                else {
                        ec2_op_cancel(op);
                        r = r < 0 ? r : -ECANCELED;
                        (void) aws_error_setf(&s.error, "the event loop stopped before DescribeImages completed: %s",
                                              strerror(-r));
                }
        }
        if (ret_error)
                aws_error_move(ret_error, &s.error);
        else
                aws_error_done(&s.error);
        if (r < 0) {
                ec2_image_list_done(&s.images);
                return r;
        }
        *ret = s.images;
        return 0;
}

/* ---- The synchronous DescribeSnapshots --------------------------------------------------- */

/* For `amirotd adopt`, which must not tag again a snapshot that a policy holds already. */
typedef struct snapshots_sync {
        bool done;
        int r;
        aws_error error;
        ec2_snapshot_list snapshots;
} snapshots_sync;

static void sync_on_snapshots(int r, ec2_snapshot_list *l, const aws_error *err, void *userdata) {
        snapshots_sync *s = userdata;

        s->done = true;
        s->r = r;
        if (r >= 0) {
                s->snapshots = *l;
                *l = (ec2_snapshot_list) {};
        } else if (err)
                (void) aws_error_set(&s->error, err->status, err->code, err->message, err->request_id);
}

int ec2_describe_snapshots_sync(aws_client *c, const ec2_filter *filters, size_t n, ec2_snapshot_list *ret,
                                aws_error *ret_error) {
        snapshots_sync s = {};
        ec2_op *op = NULL;
        int r;

        r = ret ? ec2_describe_snapshots(c, filters, n, sync_on_snapshots, &s, &op) : -EINVAL;
        if (r < 0)
                (void) aws_error_setf(&s.error, "cannot send DescribeSnapshots: %s", strerror(-r));
        else {
                r = http_client_run_until(aws_client_http(c), &s.done);
                if (s.done)
                        r = s.r;
                else {
                        ec2_op_cancel(op);
                        r = r < 0 ? r : -ECANCELED;
                        (void) aws_error_setf(&s.error, "the event loop stopped before DescribeSnapshots completed: %s",
                                              strerror(-r));
                }
        }
        if (ret_error)
                aws_error_move(ret_error, &s.error);
        else
                aws_error_done(&s.error);
        if (r < 0) {
                ec2_snapshot_list_done(&s.snapshots);
                return r;
        }
        *ret = s.snapshots;
        return 0;
}

/* ---- The synchronous DescribeLaunchTemplateVersions ------------------------------------ */

typedef struct templates_sync {
        bool done;
        int r;
        aws_error error;
        ec2_template_versions versions;
} templates_sync;

static void sync_on_templates(int r, ec2_template_versions *l, const aws_error *err, void *userdata) {
        templates_sync *s = userdata;

        s->done = true;
        s->r = r;
        if (r >= 0) {
                s->versions = *l;
                *l = (ec2_template_versions) {};
        } else if (err)
                (void) aws_error_set(&s->error, err->status, err->code, err->message, err->request_id);
}

int ec2_describe_template_versions_sync(aws_client *c, const ec2_template_versions_request *req,
                                        ec2_template_versions *ret, aws_error *ret_error) {
        templates_sync s = {};
        ec2_template_op *op = NULL;
        int r;

        r = ret ? ec2_describe_template_versions(c, req, sync_on_templates, &s, &op) : -EINVAL;
        if (r < 0)
                (void) aws_error_setf(&s.error, "cannot send DescribeLaunchTemplateVersions: %s", strerror(-r));
        else {
                r = http_client_run_until(aws_client_http(c), &s.done);
                if (s.done)
                        r = s.r;
                else {
                        ec2_template_op_cancel(op);
                        r = r < 0 ? r : -ECANCELED;
                        (void) aws_error_setf(&s.error, "the event loop stopped before DescribeLaunchTemplateVersions "
                                              "completed: %s", strerror(-r));
                }
        }
        if (ret_error)
                aws_error_move(ret_error, &s.error);
        else
                aws_error_done(&s.error);
        if (r < 0) {
                ec2_template_versions_done(&s.versions);
                return r;
        }
        *ret = s.versions;
        return 0;
}

/* ---- The synchronous CreateTags ---------------------------------------------------------- */

/* For `amirotd adopt`, which tags one image (and its snapshots) at a time. */
typedef struct done_sync {
        bool done;
        int r;
        aws_error error;
} done_sync;

static void sync_on_done(int r, const aws_error *err, void *userdata) {
        done_sync *s = userdata;

        s->done = true;
        s->r = r;
        if (r < 0 && err)
                (void) aws_error_set(&s->error, err->status, err->code, err->message, err->request_id);
}

int ec2_tag_resources_sync(aws_client *c, char *const *resource_ids, const ec2_tags *tags, aws_error *ret_error) {
        done_sync s = {};
        ec2_op *op = NULL;
        int r;

        r = ec2_create_tags(c, resource_ids, tags, false, sync_on_done, &s, &op);
        if (r < 0)
                (void) aws_error_setf(&s.error, "cannot send CreateTags: %s", strerror(-r));
        else {
                r = http_client_run_until(aws_client_http(c), &s.done);
                if (s.done)
                        r = s.r;
                else {
                        ec2_op_cancel(op);
                        r = r < 0 ? r : -ECANCELED;
                        (void) aws_error_setf(&s.error, "the event loop stopped before CreateTags completed: %s",
                                              strerror(-r));
                }
        }
        if (ret_error)
                aws_error_move(ret_error, &s.error);
        else
                aws_error_done(&s.error);
        return r;
}
