/* SPDX-License-Identifier: MIT */
/*
 * `amirotd list`: the managed images of each selected policy and region, read
 * back from EC2 (DescribeImages by the amirotd:policy tag), as a table or JSON;
 * with --orphaned, the images of policies no longer configured (run/orphans.h).
 * A region that EC2 could not be read for is said to be missing, never shown
 * as empty. Beside each image, its distribution (commands-list-dist.h): its
 * copies and the launch template versions that name it; with verify, its verdict.
 */
#include <stdio.h>

#include "commands-common.h"
#include "commands-list-dist.h"
#include "commands-list-share.h"
#include "base/log.h"
#include "aws/ec2.h"
#include "run/adopt-plan.h"
#include "run/orphans.h"
#include "run/plan.h"
#include "run/verify-plan.h"

static char *format_age(time_t created, time_t now, char buf[static 32]) {
        long long s = created > 0 && now > created ? (long long) (now - created) : 0;

        if (created <= 0)
                snprintf(buf, 32, "-");
        else if (s >= 86400)
                snprintf(buf, 32, "%lldd%lldh", s / 86400, s / 3600 % 24);
        else if (s >= 3600)
                snprintf(buf, 32, "%lldh%lldm", s / 3600, s / 60 % 60);
        else
                snprintf(buf, 32, "%lldm%llds", s / 60, s % 60);
        return buf;
}

static int compare_images(const void *a, const void *b) {
        const ec2_image *x = a, *y = b;
        int r = strcmp(ec2_tags_get(&x->tags, TAG_INSTANCE_ID) ?: "", ec2_tags_get(&y->tags, TAG_INSTANCE_ID) ?: "");

        if (r != 0)
                return r;
        r = strcmp(ec2_tags_get(&y->tags, TAG_SLOT) ?: "", ec2_tags_get(&x->tags, TAG_SLOT) ?: "");
        return r != 0 ? r : strcmp(x->id, y->id);
}

static json_object *image_to_json(const ec2_image *img, const char *policy_name, const char *region, time_t now) {
        json_object *obj = json_object_new_object();
        json_object *snaps = json_object_new_array();

        json_object_object_add(obj, "policy", json_object_new_string(policy_name));
        json_object_object_add(obj, "region", json_object_new_string(region));
        json_object_object_add(obj, "instance_id", json_object_new_string(ec2_tags_get(&img->tags, TAG_INSTANCE_ID) ?: "-"));
        json_object_object_add(obj, "image_id", json_object_new_string(img->id));
        json_object_object_add(obj, "name", json_object_new_string(img->name ?: ""));
        json_object_object_add(obj, "state", json_object_new_string(ec2_image_state_to_string(img->state) ?: "unknown"));
        json_object_object_add(obj, "slot", json_object_new_string(ec2_tags_get(&img->tags, TAG_SLOT) ?: "-"));
        json_object_object_add(obj, "creation_date", json_object_new_int64(img->creation_date));
        json_object_object_add(obj, "age_seconds", json_object_new_int64(img->creation_date > 0 ? now - img->creation_date : 0));
        for (size_t k = 0; k < img->n_devices; k++)
                if (img->devices[k].snapshot_id)
                        json_object_array_add(snaps, json_object_new_string(img->devices[k].snapshot_id));
        json_object_object_add(obj, "snapshot_ids", snaps);
        /* when `amirotd adopt` took the image in; null for an image amirotd made */
        json_object_object_add(obj, "adopted", json_str(ec2_tags_get(&img->tags, TAG_ADOPTED)));
        return obj;
}

/* The output of `list`: a JSON array, or a table whose header comes with its first row. */
typedef struct list_output {
        list_dist *dist;                /* the policy's distribution; NULL for --orphaned */
        json_object *json;              /* --json, else NULL */
        json_object *failures;          /* --json: the regions that could not be read */
        bool header;                    /* the table's header is printed */
        time_t now;
} list_output;

static void list_output_done(list_output *out) {
        json_object_put(out->json);
        json_object_put(out->failures);
}

/* With verify on for the image's policy, its verdict: "passed", "failed" or "unverified"
 * (verify-plan.h); NULL without verify (and for --orphaned: no policy says), and for a
 * copy, which verify never tests (it carries its source's verdict for the places that
 * name it). */
static const char *list_verdict(const list_output *out, const ec2_image *img) {
        if (plan_image_is_copy(img))
                return NULL;
        switch (out->dist ? verify_image_verdict(out->dist->policy, img) : VERIFY_NOT_JUDGED) {
        case VERIFY_PASSED:
                return "passed";
        case VERIFY_FAILED:
                return "failed";
        case VERIFY_UNVERIFIED:
                return "unverified";
        default:
                return NULL;
        }
}

static void list_output_image(list_output *out, const ec2_image *img, const char *policy_name, const char *region) {
        char age[32];

        const char *copy_of = ec2_tags_get(&img->tags, TAG_COPY_OF);
        const char *verdict = list_verdict(out, img);
        const char *reason = verdict && streq(verdict, "failed") ? ec2_tags_get(&img->tags, TAG_VERIFY_REASON) : NULL;

        if (out->json) {
                json_object *obj = image_to_json(img, policy_name, region, out->now);

                if (copy_of)
                        json_object_object_add(obj, "copy_of", json_object_new_string(copy_of));
                if (verdict) {
                        json_object_object_add(obj, "verified", json_object_new_string(verdict));
                        json_object_object_add(obj, "verify_reason", json_str(reason));
                }
                if (out->dist)
                        json_object_object_add(obj, "distribution", list_dist_image_json(out->dist, img, region));
                json_object_array_add(out->json, obj);
                return;
        }
        if (!out->header) {
                printf("%-16s %-14s %-19s %-21s %-9s %-16s %s\n",
                       "POLICY", "REGION", "INSTANCE", "IMAGE", "STATE", "SLOT", "AGE");
                out->header = true;
        }
        printf("%-16s %-14s %-19s %-21s %-9s %-16s %s\n", policy_name, region,
               ec2_tags_get(&img->tags, TAG_INSTANCE_ID) ?: "-", img->id,
               ec2_image_state_to_string(img->state) ?: "unknown", ec2_tags_get(&img->tags, TAG_SLOT) ?: "-",
               format_age(img->creation_date, out->now, age));
        if (copy_of)
                printf("    copy of %s%s\n", copy_of, out->dist ? ", whose source is not listed" : "");
        if (ec2_tags_get(&img->tags, TAG_ADOPTED))
                printf("    adopted %s\n", ec2_tags_get(&img->tags, TAG_ADOPTED));
        if (verdict)
                printf("    verify: %s%s%s\n", verdict, reason ? ": " : "", reason ?: "");
        if (out->dist)
                list_dist_image_text(out->dist, img, region);
}

static void list_output_copy(const ec2_image *copy, const char *region, void *userdata) {
        list_output *out = userdata;

        list_output_image(out, copy, out->dist->policy->name, region);
}

/* Reads the images in one region with filter, with p's identity. Logs a failure ("policy
 * 'web' in us-east-1" or, with policy_name NULL, "us-east-1"), and adds it to out->failures
 * for --json. */
static int read_region(aws_pool *pool, const policy *p, const char *policy_name, const char *region,
                       const ec2_filter *filter, list_output *out, ec2_image_list *ret) {
        _cleanup_(aws_error_done) aws_error err = {};
        _cleanup_(freep) char *why = NULL;
        aws_client *ec2;
        int r;

        r = aws_pool_ec2(pool, p, region, &ec2);
        if (r >= 0)
                r = ec2_describe_images_sync(ec2, filter, 1, NULL, ret, &err);
        if (r >= 0)
                return 0;
        why = aws_failure_text(r, &err);
        log_full(LOG_ERR, 0, NULL,
                 &(log_fields) { .policy = policy_name, .region = region, .action = "DescribeImages",
                                 .error_code = err.code, .request_id = err.request_id },
                 "%s%s%s%s: cannot list images: %s", policy_name ? "policy '" : "", policy_name ?: "",
                 policy_name ? "' in " : "", region, why ?: strerror(-r));
        if (out->failures) {
                json_object *obj = json_object_new_object();

                json_object_object_add(obj, "policy", json_str(policy_name));
                json_object_object_add(obj, "region", json_object_new_string(region));
                json_object_object_add(obj, "error", json_object_new_string(why ?: strerror(-r)));
                json_object_array_add(out->failures, obj);
        }
        return r;
}

/* The images of policy p in one region, by instance and newest slot first, its copies
 * taken out into out->dist. */
static int read_policy_region(aws_pool *pool, const policy *p, const char *region, list_output *out,
                              ec2_image_list *ret) {
        char *values[] = { p->name, NULL };
        ec2_filter filter = { .name = "tag:" TAG_POLICY, .values = values };
        int r;

        r = read_region(pool, p, p->name, region, &filter, out, ret);
        if (r < 0)
                return r;
        for (size_t j = 0; j < ret->n;) {
                r = list_dist_take_copy(out->dist, region, &ret->items[j]);
                if (r < 0)
                        return log_error_errno(r, "out of memory");
                if (r == 0) {
                        j++;
                        continue;
                }
                /* moved out: the last image takes its place */
                ret->items[j] = ret->items[--ret->n];
                ret->items[ret->n] = (ec2_image) {};
        }
        qsort(ret->items, ret->n, sizeof(ec2_image), compare_images);
        return 0;
}

/* Each region of policy p, its images with their distribution beside them: every region is
 * read before any is shown, so that a copy in one of the policy's regions is found beside
 * its source in another. A region that cannot be read counts in *n_failed. -ENOMEM only. */
static int list_policy(aws_pool *pool, const policy *p, list_output *out, size_t *n_slots, size_t *n_failed) {
        _cleanup_(list_dist_done) list_dist dist = {};
        _cleanup_(freep) ec2_image_list *images = NULL;
        size_t n = strv_length(p->regions);
        int r;

        r = list_dist_read(pool, p, &dist);
        if (r < 0)
                return log_error_errno(r, "out of memory");
        images = calloc(n ?: 1, sizeof(ec2_image_list));
        if (!images)
                return log_error_errno(-ENOMEM, "out of memory");
        out->dist = &dist;
        for (size_t i = 0; i < n; i++) {
                (*n_slots)++;
                if (read_policy_region(pool, p, p->regions[i], out, &images[i]) < 0)
                        (*n_failed)++;
        }
        for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < images[i].n; j++) {
                        list_output_image(out, &images[i].items[j], p->name, p->regions[i]);
                        (void) list_share_show(pool, p, p->regions[i], &images[i].items[j], out->json);
                }
                ec2_image_list_done(&images[i]);
        }
        list_dist_unshown(&dist, list_output_copy, out);
        out->dist = NULL;
        return 0;
}

static int compare_orphans(const void *a, const void *b) {
        const ec2_image *x = a, *y = b;
        int r = strcmp(ec2_tags_get(&x->tags, TAG_POLICY), ec2_tags_get(&y->tags, TAG_POLICY));

        return r != 0 ? r : compare_images(a, b);
}

/* --orphaned: in one place, the images of policies that c does not configure (orphans.h),
 * by policy name, instance and newest slot first; with --policy, of that name only. */
static int list_orphans(aws_pool *pool, const cli_options *o, char *const *configured, const orphan_where *w,
                        list_output *out) {
        _cleanup_(ec2_image_list_done) ec2_image_list images = {};
        ec2_filter filter = orphan_filter();
        size_t n = 0;
        int r;

        r = read_region(pool, w->identity, NULL, w->region, &filter, out, &images);
        if (r < 0)
                return r;
        for (size_t j = 0; j < images.n; j++) {
                const char *name = orphan_policy_of(configured, &images.items[j]);

                if (name && (!o->policy || streq(o->policy, name))) {
                        ec2_image t = images.items[n];

                        images.items[n++] = images.items[j];
                        images.items[j] = t;
                }
        }
        qsort(images.items, n, sizeof(ec2_image), compare_orphans);
        for (size_t j = 0; j < n; j++)
                list_output_image(out, &images.items[j], ec2_tags_get(&images.items[j].tags, TAG_POLICY), w->region);
        return 0;
}

/* Like plan --json: the array when every region was read, else an object with "error",
 * "failures" and the "images" that were read. */
static void print_list_json(list_output *out, size_t n_failed, size_t n_slots) {
        _cleanup_(json_object_putp) json_object *top = NULL;
        _cleanup_(freep) char *message = NULL;

        if (n_failed == 0) {
                print_json(out->json);
                return;
        }
        top = json_object_new_object();
        if (asprintf(&message, "EC2 could not be read for %zu of %zu policy %s: the list is incomplete",
                     n_failed, n_slots, plural(n_slots, "region", "regions")) < 0)
                message = NULL;
        json_object_object_add(top, "error", json_object_new_string(message ?: "EC2 could not be read"));
        json_object_object_add(top, "failures", TAKE_PTR(out->failures));
        json_object_object_add(top, "images", TAKE_PTR(out->json));
        print_json(top);
}

static int list_orphaned(aws_pool *pool, const cli_options *o, const config *c, list_output *out,
                         size_t *n_places, size_t *n_failed) {
        _cleanup_(strv_freep) char **configured = NULL;
        _cleanup_(freep) orphan_where *where = NULL;
        size_t n_where;
        int r;

        for (size_t i = 0; i < c->n_policies; i++)
                if (strv_extend(&configured, c->policies[i].name) < 0)
                        return log_error_errno(-ENOMEM, "out of memory");
        r = orphan_where_list(c, &where, &n_where);
        if (r < 0)
                return log_error_errno(r, "out of memory");
        for (size_t k = 0; k < n_where; k++) {
                (*n_places)++;
                if (list_orphans(pool, o, configured, &where[k], out) < 0)
                        (*n_failed)++;
        }
        return 0;
}

int cmd_list(const cli_options *o) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(aws_pool_freep) aws_pool *pool = NULL;
        _cleanup_(list_output_done) list_output out = { .now = cli_now(o) };
        size_t n_slots = 0, n_failed = 0;
        int r;

        r = load_config(o, &c);
        if (r != 0)
                return r;
        r = clients_new(c, &e, &pool);
        if (r < 0)
                return EXIT_PARTIAL;
        if (o->json) {
                out.json = json_object_new_array();
                out.failures = json_object_new_array();
        }

        if (o->orphaned) {
                r = list_orphaned(pool, o, c, &out, &n_slots, &n_failed);
                if (r < 0)
                        return EXIT_PARTIAL;
        } else
                for (size_t i = 0; i < c->n_policies; i++)
                        if (selected(o, &c->policies[i]) && list_policy(pool, &c->policies[i], &out, &n_slots,
                                                                        &n_failed) < 0)
                                return EXIT_PARTIAL;

        if (o->json)
                print_list_json(&out, n_failed, n_slots);
        else if (n_failed == n_slots && n_slots > 0)
                log_error("no list: EC2 could not be read for any selected policy region");
        else if (n_failed > 0)
                log_warning("the list leaves out %zu policy %s that EC2 could not be read for",
                            n_failed, plural(n_failed, "region", "regions"));
        else if (!out.header)
                printf(o->orphaned ? "no images of removed policies\n" : "no managed images\n");
        return n_failed == 0 ? EXIT_OK : n_failed == n_slots ? EXIT_AWS : EXIT_PARTIAL;
}
