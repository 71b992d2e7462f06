/* SPDX-License-Identifier: MIT */
/*
 * The distributor "share" (dist.h): on every run, each of the policy's own images in the
 * run's region (not its copies) gets the launch permissions the policy wants, and its
 * snapshots the create-volume permissions (dist-share-plan.c decides which). An image on
 * its way out (released, disabled) is shared with nobody. EC2 is the state: each image's
 * permissions are read (DescribeImageAttribute, DescribeSnapshotAttribute) and only the
 * difference is sent, so a second run sends nothing and a crash loses nothing.
 *
 * A few images at a time; per image, one step after another: read the launch
 * permissions, change them in one ModifyImageAttribute, then each snapshot's (EC2 takes
 * create-volume additions and removals in separate calls, at most 500 at once).
 *
 * Then the same for the policy's copies of this region's images in the destinations of
 * its own account (copy_to without role_arn): found there by their tags (amirotd:copy-of
 * naming this region, among the images tagged amirotd:policy that the run's cache holds
 * for the destination, dist.h). Copies in other accounts belong to those accounts' runs.
 */
#include <assert.h>
#include <stdio.h>

#include "base/log.h"
#include "run/dist-share-plan.h"
#include "run/dist.h"
#include "run/exec.h"
#include "run/plan.h"

/* Images handled at once: few, so that a large policy stays a trickle in the pacer's line. */
#define SHARE_IN_FLIGHT 4

typedef struct share_run share_run;

typedef enum volume_step {
        VOLUME_ADD,
        VOLUME_REMOVE,
        VOLUME_PUBLIC,
        VOLUME_DONE,
} volume_step;

/* Where images are shared: the run's region (its own images), or a destination of
 * copy_to in the policy's own account (the copies of the run's region's images there). */
typedef struct share_place {
        const char *region;
        aws_client *ec2;
        const ec2_image *images;
        size_t n_images;
        bool copies;                    /* only copies of the run's region's images; else no copy */
        dist_images_op *op;             /* a destination's images, from the run's cache (dist.h) */
} share_place;

/* The policy's own images, then a place per destination of copy_to in its own account. */
#define SHARE_PLACES_MAX 64

typedef struct share_task {
        share_run *run;
        const share_place *place;
        const ec2_image *image;
        const char *instance_id;        /* of the image's tag, or NULL */
        bool keep;                      /* available and not released: shared as wanted */
        size_t device;                  /* the snapshot being looked at: image->devices[device] */
        share_change change;            /* its pending changes */
        volume_step step;
        size_t at;                      /* in the list of step: sent so far */
        size_t sent;                    /* in the call in flight */
        ec2_op *op;
} share_task;

struct share_run {
        dist_context ctx;
        share_wants wants;
        dist_done_cb done;
        void *userdata;
        share_place places[SHARE_PLACES_MAX];
        size_t n_places;
        size_t place;                   /* the place whose images are being started */
        size_t next;                    /* the next of its images to look at */
        bool described;                 /* places[place]'s images are known */
        bool describing;                /* a destination's images are being read */
        share_task *tasks[SHARE_IN_FLIGHT];
        unsigned in_flight;
        int error;
        bool ending;                    /* done is being called: start nothing more */
};

static void task_next_snapshot(share_task *t);
static void run_fill(share_run *s);

static log_fields task_fields(const share_task *t, const char *snapshot_id) {
        return (log_fields) {
                .policy = t->run->ctx.policy->name, .region = t->place->region,
                .instance_id = t->instance_id, .image_id = t->image->id, .snapshot_id = snapshot_id,
                .action = "share",
        };
}

static const char *task_snapshot(const share_task *t) {
        return t->device < t->image->n_devices ? t->image->devices[t->device].snapshot_id : NULL;
}

static share_task *task_free(share_task *t) {
        if (!t)
                return NULL;
        ec2_op_cancel(t->op);
        share_change_done(&t->change);
        return mfree(t);
}

/* The task ended (its failure, if any, logged and counted): the next image takes its place. */
static void task_end(share_task *t, int r) {
        share_run *s = t->run;

        if (r < 0 && s->error == 0)
                s->error = r;
        for (size_t i = 0; i < ELEMENTSOF(s->tasks); i++)
                if (s->tasks[i] == t)
                        s->tasks[i] = NULL;
        task_free(t);
        s->in_flight--;
        run_fill(s);
}

static void task_fail(share_task *t, int r, const aws_error *err, const char *snapshot_id, const char *what) {
        log_fields f = task_fields(t, snapshot_id);
        char message[160];

        snprintf(message, sizeof(message), "cannot %s %s", what, snapshot_id ?: t->image->id);
        t->run->ctx.result->errors++;
        (void) exec_log_aws(LOG_ERR, r, err, &f, message);
        task_end(t, r < 0 ? r : -EIO);
}

/* Gone since the run described it (retired, deregistered, not visible yet): nothing to share. */
static bool is_gone(const aws_error *err) {
        return err && (aws_error_is(err, "InvalidAMIID.NotFound") || aws_error_is(err, "InvalidAMIID.Unavailable") ||
                       aws_error_is(err, "InvalidSnapshot.NotFound"));
}

/* "account 444455556666", "organization arn:...", "OU arn:...": one plan row each. */
static int plan_steps(share_task *t, const char *action, const char *what, char *const *l, const char *kind) {
        for (char *const *v = l; v && *v; v++) {
                int r = dist_result_add_step(t->run->ctx.result, action, t->place->region, t->instance_id,
                                             t->image->id, "%s for %s %s", what, kind, *v);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int plan_change(share_task *t, const share_change *c, const char *what) {
        int r;

        if ((r = plan_steps(t, "share", what, c->add_accounts, "account")) < 0 ||
            (r = plan_steps(t, "share", what, c->add_organizations, "organization")) < 0 ||
            (r = plan_steps(t, "share", what, c->add_organizational_units, "OU")) < 0 ||
            (r = plan_steps(t, "unshare", what, c->remove_accounts, "account")) < 0 ||
            (r = plan_steps(t, "unshare", what, c->remove_organizations, "organization")) < 0 ||
            (r = plan_steps(t, "unshare", what, c->remove_organizational_units, "OU")) < 0)
                return r;
        if (c->remove_public)
                r = dist_result_add_step(t->run->ctx.result, "unshare", t->place->region, t->instance_id,
                                         t->image->id, "%s for everyone (public)", what);
        return r;
}

/* "444455556666, arn:..." of the lists (NULL-terminated), for a log line; NULL when out of memory. */
static char *join(char *const *const *lists, size_t n) {
        char *s = strdup(""), *t;

        for (size_t k = 0; s && k < n; k++)
                for (char *const *v = lists[k]; s && v && *v; v++) {
                        if (asprintf(&t, "%s%s%s", s, *s ? ", " : "", *v) < 0)
                                t = NULL;
                        free(s);
                        s = t;
                }
        return s;
}

static void log_launch_change(share_task *t) {
        const share_change *c = &t->change;
        char *const *added[] = { c->add_accounts, c->add_organizations, c->add_organizational_units };
        char *const *removed[] = { c->remove_accounts, c->remove_organizations, c->remove_organizational_units };
        _cleanup_(freep) char *a = join(added, ELEMENTSOF(added)), *rm = join(removed, ELEMENTSOF(removed));
        log_fields f = task_fields(t, NULL);

        if (c->remove_public)
                log_full(LOG_WARNING, 0, MESSAGE_IMAGE_SHARES_CHANGED, &f,
                         "image %s of policy '%s' was public: its public launch permission is removed "
                         "(amirotd never makes an image public)", t->image->id, f.policy);
        if (!isempty(a))
                log_full(LOG_INFO, 0, MESSAGE_IMAGE_SHARES_CHANGED, &f, "image %s of %s: launch permission "
                         "granted to %s", t->image->id, t->instance_id ?: "?", a);
        if (!isempty(rm))
                log_full(LOG_INFO, 0, MESSAGE_IMAGE_SHARES_CHANGED, &f, "image %s of %s: launch permission "
                         "removed from %s%s", t->image->id, t->instance_id ?: "?", rm,
                         t->keep ? "" : " (the image is on its way out)");
}

static void on_launch_modified(int r, const aws_error *err, void *userdata) {
        share_task *t = userdata;
        dist_result *res = t->run->ctx.result;

        t->op = NULL;
        if (r < 0 && !(err && aws_error_is(err, "DryRunOperation"))) {
                if (is_gone(err)) {
                        task_end(t, 0);
                        return;
                }
                task_fail(t, r, err, NULL, "change the launch permissions of image");
                return;
        }
        if (r >= 0) {
                res->shares_added += (unsigned) share_change_added(&t->change);
                res->shares_removed += (unsigned) share_change_removed(&t->change);
                log_launch_change(t);
        }
        share_change_done(&t->change);
        task_next_snapshot(t);
}

static void on_launch_permissions(int r, ec2_permission_list *l, const aws_error *err, void *userdata) {
        share_task *t = userdata;
        share_run *s = t->run;
        const share_change *c = &t->change;

        t->op = NULL;
        if (r < 0) {
                if (is_gone(err))
                        task_end(t, 0);
                else
                        task_fail(t, r, err, NULL, "read the launch permissions of image");
                return;
        }
        r = share_diff_launch(&s->wants, l, t->keep, &t->change);
        if (r >= 0 && s->ctx.plan_only)
                r = plan_change(t, c, "launch permission");
        if (r < 0) {
                task_fail(t, r, NULL, NULL, "plan the launch permissions of image");
                return;
        }
        if (s->ctx.plan_only || share_change_empty(c)) {
                share_change_done(&t->change);
                task_next_snapshot(t);
                return;
        }
        r = ec2_modify_launch_permission(t->place->ec2, t->image->id,
                                         &(ec2_launch_permissions) { c->add_accounts, c->add_organizations,
                                                                     c->add_organizational_units },
                                         &(ec2_launch_permissions) { c->remove_accounts, c->remove_organizations,
                                                                     c->remove_organizational_units,
                                                                     c->remove_public },
                                         s->ctx.dry_run, on_launch_modified, t, &t->op);
        if (r < 0)
                task_fail(t, r, NULL, NULL, "change the launch permissions of image");
}

/* ---- Snapshots ------------------------------------------------------------------------- */

static void volume_send(share_task *t);

static void on_volume_modified(int r, const aws_error *err, void *userdata) {
        share_task *t = userdata;
        dist_result *res = t->run->ctx.result;
        const char *snap = task_snapshot(t);
        log_fields f = task_fields(t, snap);

        t->op = NULL;
        if (r < 0 && !(err && aws_error_is(err, "DryRunOperation"))) {
                if (is_gone(err)) {
                        t->device++;
                        task_next_snapshot(t);
                } else
                        task_fail(t, r, err, snap, "change the create-volume permissions of snapshot");
                return;
        }
        if (r >= 0 && t->step == VOLUME_ADD)
                res->shares_added += (unsigned) t->sent;
        else if (r >= 0)
                res->shares_removed += t->step == VOLUME_PUBLIC ? 1 : (unsigned) t->sent;
        if (r >= 0)
                log_full(t->step == VOLUME_PUBLIC ? LOG_WARNING : LOG_INFO, 0, MESSAGE_IMAGE_SHARES_CHANGED, &f,
                         "snapshot %s of image %s: create-volume permission %s %zu account%s%s", snap, t->image->id,
                         t->step == VOLUME_ADD ? "granted to" : "removed from", t->step == VOLUME_PUBLIC ? 1 : t->sent,
                         t->step != VOLUME_PUBLIC && t->sent == 1 ? "" : "s",
                         t->step == VOLUME_PUBLIC ? " (it was public: everyone)" : "");
        t->at += t->sent;
        volume_send(t);
}

/* The next call of the snapshot's changes: additions, removals (500 at a time), the public group. */
static void volume_send(share_task *t) {
        share_run *s = t->run;
        const char *snap = task_snapshot(t);
        char *const *list;
        _cleanup_(strv_freep) char **chunk = NULL;
        int r = 0;

        for (;;) {
                list = t->step == VOLUME_ADD ? t->change.add_accounts :
                        t->step == VOLUME_REMOVE ? t->change.remove_accounts : NULL;
                if (t->step == VOLUME_DONE) {
                        share_change_done(&t->change);
                        t->device++;
                        task_next_snapshot(t);
                        return;
                }
                if (t->step == VOLUME_PUBLIC ? t->change.remove_public && t->at == 0 : t->at < strv_length(list))
                        break;
                t->step++;
                t->at = 0;
        }
        if (t->step == VOLUME_PUBLIC) {
                t->sent = 1;
                r = ec2_remove_create_volume_public(t->place->ec2, snap, s->ctx.dry_run, on_volume_modified, t, &t->op);
        } else {
                for (t->sent = 0; r >= 0 && t->sent < EC2_SNAPSHOT_PERMISSIONS_MAX && list[t->at + t->sent]; t->sent++)
                        r = strv_extend(&chunk, list[t->at + t->sent]);
                if (r >= 0)
                        r = ec2_modify_create_volume_permission(t->place->ec2, snap,
                                                                t->step == VOLUME_ADD ? chunk : NULL,
                                                                t->step == VOLUME_REMOVE ? chunk : NULL,
                                                                s->ctx.dry_run, on_volume_modified, t, &t->op);
        }
        if (r < 0)
                task_fail(t, r, NULL, snap, "change the create-volume permissions of snapshot");
}

static void on_volume_permissions(int r, ec2_permission_list *l, const aws_error *err, void *userdata) {
        share_task *t = userdata;
        share_run *s = t->run;
        const char *snap = task_snapshot(t);

        t->op = NULL;
        if (r < 0) {
                if (is_gone(err)) {
                        t->device++;
                        task_next_snapshot(t);
                } else
                        task_fail(t, r, err, snap, "read the create-volume permissions of snapshot");
                return;
        }
        r = share_diff_volume(&s->wants, l, t->keep, &t->change);
        if (r >= 0 && s->ctx.plan_only) {
                char what[96];

                snprintf(what, sizeof(what), "create-volume permission of %s", snap);
                r = plan_change(t, &t->change, what);
        }
        if (r < 0) {
                task_fail(t, r, NULL, snap, "plan the create-volume permissions of snapshot");
                return;
        }
        if (s->ctx.plan_only) {
                share_change_done(&t->change);
                t->device++;
                task_next_snapshot(t);
                return;
        }
        t->step = VOLUME_ADD;
        t->at = 0;
        volume_send(t);
}

/* From t->device on, the next snapshot whose permissions the policy manages; the end of the task after the last. */
static void task_next_snapshot(share_task *t) {
        share_run *s = t->run;
        int r;

        if (!share_manages_volumes(&s->wants)) {
                task_end(t, 0);
                return;
        }
        while (t->device < t->image->n_devices && !t->image->devices[t->device].snapshot_id)
                t->device++;
        if (t->device >= t->image->n_devices) {
                task_end(t, 0);
                return;
        }
        r = ec2_describe_create_volume_permission(t->place->ec2, task_snapshot(t), on_volume_permissions, t,
                                                  &t->op);
        if (r < 0)
                task_fail(t, r, NULL, task_snapshot(t), "read the create-volume permissions of snapshot");
}

/* ---- The run --------------------------------------------------------------------------- */

/* Whether the image is one that sharing looks at in place pl, and whether it keeps its shares. */
static bool image_in_scope(const share_run *s, const share_place *pl, const ec2_image *g, bool *ret_keep) {
        const char *source = ec2_tags_get(&g->tags, TAG_COPY_OF);
        size_t n = strlen(s->ctx.region);

        if (pl->copies ? !source || strncmp(source, s->ctx.region, n) != 0 || source[n] != '/' : !!source)
                return false;           /* not this place's business */
        switch (g->state) {
        case EC2_IMAGE_AVAILABLE:
                *ret_keep = !plan_image_released(g, NULL);
                return true;
        case EC2_IMAGE_DISABLED:
                /* Only its snapshots are left to look at (task_start()): none, no task, so that
                 * a run of disabled images never ends tasks inside one another. */
                *ret_keep = false;
                if (!share_manages_volumes(&s->wants))
                        return false;
                for (size_t k = 0; k < g->n_devices; k++)
                        if (g->devices[k].snapshot_id)
                                return true;
                return false;
        default:
                return false;           /* pending: next run; failed: retired by the run */
        }
}

static int task_start(share_run *s, const share_place *pl, const ec2_image *g, bool keep) {
        share_task *t;
        size_t slot;
        int r;

        for (slot = 0; slot < ELEMENTSOF(s->tasks) && s->tasks[slot]; slot++)
                ;
        assert(slot < ELEMENTSOF(s->tasks));
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        *t = (share_task) { .run = s, .place = pl, .image = g, .keep = keep,
                            .instance_id = ec2_tags_get(&g->tags, TAG_INSTANCE_ID) };
        s->tasks[slot] = t;
        s->in_flight++;
        /* DisableImage "removes all launch permissions": only its snapshots are left to look at. */
        if (g->state == EC2_IMAGE_DISABLED) {
                task_next_snapshot(t);
                return 0;
        }
        r = ec2_describe_launch_permission(pl->ec2, g->id, on_launch_permissions, t, &t->op);
        if (r < 0)
                task_fail(t, r, NULL, NULL, "read the launch permissions of image");
        return 0;
}

static void run_failed(share_run *s, const char *region, const char *image_id, int r, const aws_error *err,
                       const char *what) {
        log_fields f = { .policy = s->ctx.policy->name, .region = region, .image_id = image_id,
                         .action = "share" };

        (void) exec_log_aws(LOG_ERR, r, err, &f, what);
        s->ctx.result->errors++;
        if (s->error == 0)
                s->error = r < 0 ? r : -EIO;
}

static void run_fill(share_run *s);

static void on_copies(int r, const ec2_image *images, size_t n, const aws_error *err, void *userdata) {
        share_run *s = userdata;
        share_place *pl = &s->places[s->place];

        s->describing = false;
        if (r < 0)
                run_failed(s, pl->region, NULL, r, err, "cannot read the policy's copies to share them");
        else {
                pl->images = images;
                pl->n_images = n;
        }
        s->described = true;
        run_fill(s);
}

/* The policy's images in the place, from the run's cache (the copies of this region's
 * images among them are image_in_scope()'s to pick): 0 when started. */
static int describe_copies(share_run *s, share_place *pl) {
        const policy *p = s->ctx.policy;
        int r;

        r = aws_pool_ec2(s->ctx.pool, p, pl->region, &pl->ec2);
        if (r < 0)
                return r;
        r = dist_images_get(&s->ctx, &(dist_place) { .region = pl->region, .role_arn = p->role_arn,
                                                      .external_id = p->external_id },
                            on_copies, s, &pl->op);
        if (r >= 0)
                s->describing = true;
        return r;
}

/* The next place with images to look at: 1 when its images are being read (wait), 0 when
 * ready, or past the last place. */
static int next_place(share_run *s) {
        int r;

        while (s->place < s->n_places) {
                share_place *pl = &s->places[s->place];

                if (!s->described) {
                        r = describe_copies(s, pl);
                        if (r >= 0)
                                return 1;
                        run_failed(s, pl->region, NULL, r, NULL, "cannot read the policy's copies to share them");
                        s->described = true;
                }
                if (s->next < pl->n_images)
                        return 0;
                s->place++;
                s->next = 0;
                s->described = false;
        }
        return 0;
}

/* Starts images up to SHARE_IN_FLIGHT, place after place; once none is left nor in flight,
 * calls done. */
static void run_fill(share_run *s) {
        bool keep = false;
        int r;

        while (!s->ending && !s->describing && s->in_flight < SHARE_IN_FLIGHT) {
                const share_place *pl;
                const ec2_image *g;

                /* A destination's images are read once those before it were all started. */
                if (next_place(s) > 0 || s->place >= s->n_places)
                        break;
                pl = &s->places[s->place];
                g = &pl->images[s->next++];
                if (!image_in_scope(s, pl, g, &keep))
                        continue;
                r = task_start(s, pl, g, keep);
                if (r < 0)
                        run_failed(s, pl->region, g->id, r, NULL, "cannot share image");
        }
        if (!s->ending && !s->describing && s->in_flight == 0 && s->place >= s->n_places) {
                s->ending = true;
                s->done(s->error, s->userdata);
        }
}

/* The run's region, then each destination of copy_to in the policy's own account, once. */
static void places_init(share_run *s) {
        const policy *p = s->ctx.policy;

        s->places[s->n_places++] = (share_place) { .region = s->ctx.region, .ec2 = s->ctx.ec2,
                                                   .images = s->ctx.images, .n_images = s->ctx.n_images };
        for (size_t i = 0; i < p->n_copy_to && s->n_places < SHARE_PLACES_MAX; i++) {
                bool seen = false;

                if (p->copy_to[i].role_arn || !p->copy_to[i].region)
                        continue;
                for (size_t k = 1; k < s->n_places; k++)
                        seen = seen || streq(s->places[k].region, p->copy_to[i].region);
                if (!seen)
                        s->places[s->n_places++] = (share_place) { .region = p->copy_to[i].region, .copies = true };
        }
        s->described = true;            /* the run's own images: as the run described them */
}

static void share_free(void *state) {
        share_run *s = state;

        if (!s)
                return;
        for (size_t i = 0; i < ELEMENTSOF(s->tasks); i++)
                task_free(s->tasks[i]);
        for (size_t k = 0; k < s->n_places; k++)
                dist_images_op_free(s->places[k].op);
        share_wants_done(&s->wants);
        free(s);
}

static int share_start(const dist_context *ctx, dist_done_cb done, void *userdata, void **ret_state) {
        share_run *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        *s = (share_run) { .ctx = *ctx, .done = done, .userdata = userdata };
        r = share_wants_of(ctx->policy, &s->wants);
        if (r < 0) {
                free(s);
                return r;
        }
        places_init(s);
        *ret_state = s;
        /* done may come from in here (no image to look at): the state is the caller's already. */
        run_fill(s);
        return 0;
}

const dist_ops dist_share_ops = {
        .name = "share",
        .wanted = share_wanted,
        .start = share_start,
        .free = share_free,
};
