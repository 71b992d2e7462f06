/* SPDX-License-Identifier: MIT */
/*
 * See ec2-usage.h. The answer is one small document, parsed whole. Nothing here
 * logs.
 */
#include <stdio.h>

#include "ec2-usage.h"
#include "query.h"

struct ec2_usage_op {
        aws_call *call;
        ec2_last_launched_cb cb;
        void *userdata;
};

static ec2_usage_op *usage_op_free(ec2_usage_op *op) {
        if (!op)
                return NULL;
        if (op->call)
                aws_call_cancel(op->call);
        return mfree(op);
}

void ec2_usage_op_cancel(ec2_usage_op *op) {
        usage_op_free(op);
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

static void bad_answer(aws_error *e, xmlDoc *doc, int r) {
        _cleanup_(freep) char *rid = doc ? xml_child_text_or_null(xmlDocGetRootElement(doc), "requestId") : NULL;

        (void) aws_error_set(e, 0, NULL, r == -EBADMSG ? "malformed DescribeImageAttribute answer" :
                             "cannot read the DescribeImageAttribute answer", isempty(rid) ? NULL : rid);
}

/* Calls back and frees op. */
static void on_answer(aws_call *call, int r, xmlDoc *doc, const aws_error *err, void *userdata) {
        _cleanup_(aws_error_done) aws_error e = {};
        ec2_usage_op *op = userdata;
        ec2_last_launched_cb cb = op->cb;
        void *op_userdata = op->userdata;
        aws_error fallback = {};
        time_t t = 0;

        (void) call;
        op->call = NULL;
        usage_op_free(op);
        if (r >= 0) {
                r = ec2_parse_last_launched(doc, &t);
                if (r < 0)
                        bad_answer(&e, doc, r);
                err = r < 0 ? &e : NULL;
        } else if (!err)
                err = &fallback;
        cb(r, r >= 0 ? t : 0, err, op_userdata);
}

int ec2_describe_last_launched(aws_client *c, const char *image_id, ec2_last_launched_cb cb, void *userdata,
                               ec2_usage_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        ec2_usage_op *op;
        int r;

        if (!c || !cb || isempty(image_id))
                return -EINVAL;
        r = aws_query_new("DescribeImageAttribute", &q);
        if (r < 0)
                return r;
        if ((r = aws_query_add(q, "ImageId", image_id)) < 0 ||
            (r = aws_query_add(q, "Attribute", "lastLaunchedTime")) < 0)
                return r;
        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        *op = (ec2_usage_op) { .cb = cb, .userdata = userdata };
        r = aws_client_call(c, TAKE_PTR(q), on_answer, op, &op->call);
        if (r < 0) {
                usage_op_free(op);
                return r;
        }
        if (ret_op)
                *ret_op = op;
        return 0;
}
