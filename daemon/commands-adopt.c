/* SPDX-License-Identifier: MIT */
/*
 * `amirotd adopt --policy NAME [--dry-run] [--region R]`: existing images that the
 * policy's adopt section selects become the policy's own (run/adopt-plan.h holds the
 * rules). Per region: DescribeImages Owners=self with adopt's filters, and of the
 * policy's own images (the slots they hold); DescribeSnapshots of the snapshots of
 * those found that carry amirotd:policy; the pure decision; then CreateTags, per
 * image, on its snapshots first and on the image last, paced as every call.
 *
 * The image's amirotd:policy tag is the commit point: an image is adopted once its
 * own tags are written. A crash (or a failed call) between the two calls leaves the
 * snapshots tagged and the image not: the next `adopt` takes the image again and
 * tags the image only (the IAM policy lets it tag no snapshot that carries
 * amirotd:policy), and until then nothing deletes those snapshots (EC2 refuses to
 * delete a snapshot a registered image uses: InvalidSnapshot.InUse, which the sweep
 * retries later). The other order would leave an adopted image whose snapshots the
 * IAM policy does not let retirement delete, and that no later adopt would see.
 * One image's failure does not stop the others. --dry-run reads EC2 and changes
 * nothing, not even with DryRun calls.
 */
#include <stdio.h>

#include "commands-common.h"
#include "base/log.h"
#include "aws/ec2.h"
#include "run/adopt-plan.h"
#include "run/plan.h"

typedef struct adopt_counts {
        size_t taken, skipped, failed;
        size_t regions_failed;
} adopt_counts;

/* "policy 'web' in us-east-1: cannot ACTION: CODE: message" with the error's fields. */
static void log_aws_failure(const policy *p, const char *region, const char *image_id, const char *action,
                            int r, const aws_error *err, char **ret_why) {
        _cleanup_(freep) char *why = aws_failure_text(r, err);

        log_full(LOG_ERR, 0, NULL,
                 &(log_fields) { .policy = p->name, .region = region, .image_id = image_id, .action = action,
                                 .error_code = err->code, .request_id = err->request_id },
                 "policy '%s' in %s: %s%s%s failed: %s", p->name, region, action, image_id ? " of " : "",
                 image_id ?: "", why ?: strerror(-r));
        if (ret_why)
                *ret_why = TAKE_PTR(why);
}

/* DescribeImages' filters of an adopt section: tag:KEY=VALUE for each tag ("*" for any value:
 * EC2's wildcard), and name. */
typedef struct adopt_filters {
        ec2_filter *items;
        size_t n;
        char **names;                   /* "tag:KEY", one per tag */
        char **values;                  /* each filter's value and its NULL, two per filter */
        size_t n_tags;
} adopt_filters;

static void adopt_filters_done(adopt_filters *f) {
        for (size_t k = 0; f->names && k < f->n_tags; k++)
                free(f->names[k]);
        free(f->names);
        free(f->values);
        free(f->items);
        *f = (adopt_filters) {};
}

static int adopt_filters_build(const policy_adopt *a, adopt_filters *f) {
        size_t max = a->n_tags + 1;

        f->n_tags = a->n_tags;
        f->items = calloc(max, sizeof(ec2_filter));
        f->names = calloc(max, sizeof(char *));
        f->values = calloc(2 * max, sizeof(char *));
        if (!f->items || !f->names || !f->values)
                return -ENOMEM;
        for (size_t k = 0; k < a->n_tags; k++) {
                if (asprintf(&f->names[k], "tag:%s", a->tags[k].key) < 0) {
                        f->names[k] = NULL;
                        return -ENOMEM;
                }
                f->values[2 * f->n] = a->tags[k].value ?: (char *) "*";
                f->items[f->n] = (ec2_filter) { .name = f->names[k], .values = &f->values[2 * f->n] };
                f->n++;
        }
        if (a->name) {
                f->values[2 * f->n] = a->name;
                f->items[f->n] = (ec2_filter) { .name = "name", .values = &f->values[2 * f->n] };
                f->n++;
        }
        return 0;
}

/* What adopt selects (found) and the policy's own images (managed), in one region. */
static int read_images(aws_client *ec2, const policy *p, const char *region, ec2_image_list *found,
                       ec2_image_list *managed) {
        _cleanup_(aws_error_done) aws_error err = {};
        _cleanup_(adopt_filters_done) adopt_filters filters = {};
        char *own[] = { p->name, NULL };
        ec2_filter by_policy = { .name = "tag:" TAG_POLICY, .values = own };
        int r;

        r = adopt_filters_build(&p->adopt, &filters);
        if (r < 0)
                return log_error_errno(r, "out of memory");
        r = ec2_describe_images_sync(ec2, filters.items, filters.n, NULL, found, &err);
        if (r >= 0)
                r = ec2_describe_images_sync(ec2, &by_policy, 1, NULL, managed, &err);
        if (r < 0)
                log_aws_failure(p, region, NULL, "DescribeImages", r, &err, NULL);
        return r;
}

/* EC2: "The maximum number of filter values specified on a single call is 200": the
 * tag-key filter's one value, and as many snapshot ids as are left. */
#define SNAPSHOT_IDS_PER_CALL 199

/* Of the n snapshot ids, those that carry amirotd:policy, added to ret. */
static int read_snapshots_of(aws_client *ec2, const policy *p, const char *region, char *const *ids, size_t n,
                             ec2_snapshot_list *ret) {
        _cleanup_(aws_error_done) aws_error err = {};
        _cleanup_(ec2_snapshot_list_done) ec2_snapshot_list got = {};
        _cleanup_(freep) char **values = NULL;
        char *policy_key[] = { (char *) TAG_POLICY, NULL };
        ec2_snapshot *items;
        int r;

        values = calloc(n + 1, sizeof(char *));
        if (!values)
                return log_error_errno(-ENOMEM, "out of memory");
        memcpy(values, ids, n * sizeof(char *));
        r = ec2_describe_snapshots_sync(ec2, (const ec2_filter[]) { { .name = "snapshot-id", .values = values },
                                                                   { .name = "tag-key", .values = policy_key } },
                                        2, &got, &err);
        if (r < 0) {
                log_aws_failure(p, region, NULL, "DescribeSnapshots", r, &err, NULL);
                return r;
        }
        items = reallocarray(ret->items, ret->n + got.n ?: 1, sizeof(ec2_snapshot));
        if (!items)
                return log_error_errno(-ENOMEM, "out of memory");
        ret->items = items;
        memcpy(ret->items + ret->n, got.items, got.n * sizeof(ec2_snapshot));
        ret->n += got.n;
        ret->cap = ret->n;
        got.n = 0;                      /* moved out: got frees only its array */
        return 0;
}

/* The snapshots of the images found that a policy holds already (amirotd:policy): adopt
 * takes no image from another policy through its snapshot, and tags none of this
 * policy's again (the IAM policy lets it tag only snapshots of no policy). */
static int read_snapshots(aws_client *ec2, const policy *p, const char *region, const ec2_image_list *found,
                          ec2_snapshot_list *ret) {
        _cleanup_(strv_freep) char **ids = NULL;
        size_t n;
        int r = 0;

        for (size_t k = 0; k < found->n; k++)
                for (size_t d = 0; d < found->items[k].n_devices; d++) {
                        const char *id = found->items[k].devices[d].snapshot_id;

                        if (id && !strv_contains(ids, id) && strv_extend(&ids, id) < 0)
                                return log_error_errno(-ENOMEM, "out of memory");
                }
        n = strv_length(ids);
        for (size_t at = 0; at < n && r >= 0; at += SNAPSHOT_IDS_PER_CALL)
                r = read_snapshots_of(ec2, p, region, ids + at, MIN(n - at, (size_t) SNAPSHOT_IDS_PER_CALL), ret);
        return r;
}

/* The image's snapshots, then the image: the image's tags last, as the commit. */
static int tag_image(aws_client *ec2, const policy *p, const char *region, const adopt_decision *d, char **ret_why) {
        _cleanup_(aws_error_done) aws_error err = {};
        char *image[] = { d->image->id, NULL };
        int r = 0;

        if (d->snapshot_ids) {
                r = ec2_tag_resources_sync(ec2, d->snapshot_ids, &d->tags, &err);
                if (r < 0) {
                        log_aws_failure(p, region, d->image->id, "CreateTags (snapshots)", r, &err, ret_why);
                        return r;
                }
        }
        r = ec2_tag_resources_sync(ec2, image, &d->tags, &err);
        if (r < 0)
                log_aws_failure(p, region, d->image->id, "CreateTags", r, &err, ret_why);
        return r;
}

static void print_decision(const char *region, const adopt_decision *d, const char *what) {
        size_t n = strv_length(d->snapshot_ids);

        printf("%s %s '%s': %s", region, d->image->id, d->image->name ?: "", what);
        if (d->verdict == ADOPT_TAKE) {
                printf(" as %s, slot %s, %zu %s", d->instance_id, d->slot, n, plural(n, "snapshot", "snapshots"));
                if (d->n_snapshots_own > 0)
                        printf(" (%zu the policy's already)", d->n_snapshots_own);
        } else
                printf(": %s", d->reason);
        putchar('\n');
}

static void adopt_one(aws_client *ec2, const policy *p, const char *region, bool dry_run, const adopt_decision *d,
                      adopt_counts *counts) {
        _cleanup_(freep) char *why = NULL;

        if (d->verdict != ADOPT_TAKE) {
                print_decision(region, d, "skipped");
                counts->skipped++;
                return;
        }
        if (dry_run) {
                print_decision(region, d, "would adopt");
                counts->taken++;
                return;
        }
        if (tag_image(ec2, p, region, d, &why) < 0) {
                printf("%s %s '%s': failed: %s\n", region, d->image->id, d->image->name ?: "", why ?: "error");
                counts->failed++;
                return;
        }
        print_decision(region, d, "adopted");
        log_full(LOG_INFO, 0, MESSAGE_IMAGE_ADOPTED,
                 &(log_fields) { .policy = p->name, .region = region, .instance_id = d->instance_id,
                                 .image_id = d->image->id, .slot = d->slot, .action = "CreateTags" },
                 "policy '%s' in %s: adopted image %s as %s, slot %s, with %zu %s",
                 p->name, region, d->image->id, d->instance_id, d->slot, strv_length(d->snapshot_ids),
                 plural(strv_length(d->snapshot_ids), "snapshot", "snapshots"));
        counts->taken++;
}

/* One region: read, decide, tag. <0 when EC2 could not be read (said why). */
static int adopt_region(aws_pool *pool, const policy *p, const char *region, bool dry_run, time_t now,
                        adopt_counts *counts) {
        _cleanup_(ec2_image_list_done) ec2_image_list found = {}, managed = {};
        _cleanup_(ec2_snapshot_list_done) ec2_snapshot_list snapshots = {};
        _cleanup_(adopt_plan_done) adopt_plan decided = {};
        aws_client *ec2;
        int r;

        r = aws_pool_ec2(pool, p, region, &ec2);
        if (r < 0)
                return log_full(LOG_ERR, r, NULL, &(log_fields) { .policy = p->name, .region = region },
                                "policy '%s' in %s: no EC2 client", p->name, region);
        r = read_images(ec2, p, region, &found, &managed);
        if (r >= 0)
                r = read_snapshots(ec2, p, region, &found, &snapshots);
        if (r < 0)
                return r;
        r = adopt_plan_build(&(adopt_input) { .policy = p, .now = now, .found = found.items, .n_found = found.n,
                                              .managed = managed.items, .n_managed = managed.n,
                                              .snapshots = snapshots.items, .n_snapshots = snapshots.n }, &decided);
        if (r < 0)
                return log_error_errno(r, "policy '%s' in %s: cannot decide what to adopt", p->name, region);
        for (size_t k = 0; k < decided.n; k++)
                adopt_one(ec2, p, region, dry_run, &decided.items[k], counts);
        return 0;
}

/* The policy to adopt for, said why when there is none: 0 or the exit status. */
static int adopt_policy(const cli_options *o, const config *c, const policy **ret) {
        const policy *p;

        if (!o->policy) {
                log_error("adopt needs --policy NAME: images are adopted by one policy at a time");
                return EXIT_USAGE;
        }
        p = config_find_policy(c, o->policy);   /* load_config() refused an unknown name */
        if (!p->adopt.set) {
                log_error("policy '%s' has no 'adopt' section: nothing selects the images to adopt "
                          "(amirotd.yaml(5), adopt)", p->name);
                return EXIT_USAGE;
        }
        if (o->region && !strv_contains(p->regions, o->region)) {
                log_error("--region: policy '%s' has no region '%s'", p->name, o->region);
                return EXIT_USAGE;
        }
        *ret = p;
        return 0;
}

int cmd_adopt(const cli_options *o) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(aws_pool_freep) aws_pool *pool = NULL;
        adopt_counts counts = {};
        const policy *p = NULL;
        size_t n_regions = 0;
        int r;

        r = load_config(o, &c);
        if (r != 0)
                return r;
        r = adopt_policy(o, c, &p);
        if (r != 0)
                return r;
        r = clients_new(c, &e, &pool);
        if (r < 0)
                return EXIT_PARTIAL;
        for (char **region = p->regions; *region; region++) {
                if (o->region && !streq(o->region, *region))
                        continue;
                n_regions++;
                if (adopt_region(pool, p, *region, o->dry_run, cli_now(o), &counts) < 0)
                        counts.regions_failed++;
        }
        if (o->dry_run)
                printf("policy '%s' (dry run): %zu would be adopted, %zu skipped; nothing was changed\n",
                       p->name, counts.taken, counts.skipped);
        else
                printf("policy '%s': %zu adopted, %zu skipped, %zu failed\n", p->name, counts.taken, counts.skipped,
                       counts.failed);
        if (counts.regions_failed > 0)
                printf("EC2 could not be read in %zu of %zu %s\n", counts.regions_failed, n_regions,
                       plural(n_regions, "region", "regions"));
        if (counts.regions_failed == n_regions)
                return EXIT_AWS;
        return counts.failed > 0 || counts.regions_failed > 0 ? EXIT_PARTIAL : EXIT_OK;
}
