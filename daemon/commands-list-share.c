/* SPDX-License-Identifier: MIT */
/*
 * `amirotd list`: beside each image of a policy that shares, the accounts, organizations
 * and OUs that may launch it (DescribeImageAttribute launchPermission), read when the
 * list is made, one call per image. Policies that do not share are not asked about: their
 * images are not amirotd's to share, and a list of thousands stays one call per region.
 */
#include <stdio.h>

#include "aws/http.h"
#include "base/log.h"
#include "commands-list-share.h"
#include "run/dist-share-plan.h"

typedef struct permissions_sync {
        bool done;
        int r;
        aws_error error;
        ec2_permission_list list;
} permissions_sync;

static void permissions_sync_done(permissions_sync *s) {
        ec2_permission_list_done(&s->list);
        aws_error_done(&s->error);
}

static void on_permissions(int r, ec2_permission_list *l, const aws_error *err, void *userdata) {
        permissions_sync *s = userdata;

        s->done = true;
        s->r = r;
        if (r >= 0) {
                s->list = *l;
                *l = (ec2_permission_list) {};
        } else if (err)
                (void) aws_error_set(&s->error, err->status, err->code, err->message, err->request_id);
}

static int read_permissions(aws_client *ec2, const char *image_id, permissions_sync *s) {
        ec2_op *op = NULL;
        int r;

        r = ec2_describe_launch_permission(ec2, image_id, on_permissions, s, &op);
        if (r < 0)
                return r;
        r = http_client_run_until(aws_client_http(ec2), &s->done);
        if (!s->done) {
                ec2_op_cancel(op);
                return r < 0 ? r : -ECANCELED;
        }
        return s->r;
}

static json_object *strv_to_json(char *const *l) {
        json_object *a = json_object_new_array();

        for (char *const *v = l; v && *v; v++)
                json_object_array_add(a, json_object_new_string(*v));
        return a;
}

static void print_shares(const ec2_permission_list *l) {
        char *const *lists[] = { l->user_ids, l->organization_arns, l->organizational_unit_arns };
        const char *sep = "";

        printf("  shared with: ");
        for (size_t k = 0; k < ELEMENTSOF(lists); k++)
                for (char *const *v = lists[k]; v && *v; v++, sep = ", ")
                        printf("%s%s", sep, *v);
        if (l->public)
                printf("%severyone (public)", sep);
        printf("\n");
}

int list_share_show(aws_pool *pool, const policy *p, const char *region, const ec2_image *img, json_object *json) {
        _cleanup_(permissions_sync_done) permissions_sync s = {};
        const ec2_permission_list *l = &s.list;
        aws_client *ec2;
        json_object *o;
        int r;

        if (!share_wanted(p) || (img->state != EC2_IMAGE_AVAILABLE && img->state != EC2_IMAGE_DISABLED))
                return 0;
        r = aws_pool_ec2(pool, p, region, &ec2);
        if (r >= 0)
                r = read_permissions(ec2, img->id, &s);
        if (r < 0) {
                log_full(LOG_WARNING, 0, NULL,
                         &(log_fields) { .policy = p->name, .region = region, .image_id = img->id,
                                         .action = "DescribeImageAttribute", .error_code = s.error.code,
                                         .request_id = s.error.request_id },
                         "policy '%s' in %s: cannot read who image %s is shared with: %s, ignoring", p->name,
                         region, img->id, s.error.message ?: s.error.code ?: strerror(-r));
                return r;
        }
        if (!json) {
                if (l->user_ids || l->organization_arns || l->organizational_unit_arns || l->public)
                        print_shares(l);
                return 0;
        }
        o = json_object_new_object();
        json_object_object_add(o, "accounts", strv_to_json(l->user_ids));
        json_object_object_add(o, "organizations", strv_to_json(l->organization_arns));
        json_object_object_add(o, "organizational_units", strv_to_json(l->organizational_unit_arns));
        json_object_object_add(o, "public", json_object_new_boolean(l->public));
        json_object_object_add(json_object_array_get_idx(json, json_object_array_length(json) - 1), "shared_with", o);
        return 0;
}
