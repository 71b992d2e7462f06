/* SPDX-License-Identifier: MIT */
/*
 * See exec.h. A chain has at most one request in flight, so the request is the
 * chain's own field: freeing the executor cancels every chain's request and
 * timer, and no callback ever reaches a freed executor. Each plan handed in gets
 * its own array of chains (a batch), never moved while the executor lives: the
 * requests and timers in flight point at their chain.
 */
#include <stdio.h>

#include "run/exec.h"

/*
 * Looking again for the slot's image when its name is taken (InvalidAMIName.Duplicate)
 * but DescribeImages shows no image of that name yet: a CreateImage whose answer was
 * lost, or another host's, not propagated. "Run the Describe command repeatedly,
 * starting with a couple of seconds of wait time, and increasing gradually up to a few
 * minutes of wait time" (EC2 Developer Guide, Eventual consistency in the Amazon EC2
 * API). Two seconds, doubling, at most 30 s apart, for two minutes: propagation takes
 * seconds. Past that the action fails; a run that failed is run again before the next
 * slot, and its own describe of the policy's images finds the image then, so stopping
 * loses nothing.
 */
#define LOOKUP_FIRST_DELAY (2 * USEC_PER_SEC)
#define LOOKUP_MAX_DELAY (30 * USEC_PER_SEC)
#define LOOKUP_GIVE_UP (2 * USEC_PER_MINUTE)

/*
 * Chains started at once, per gate (below). Each started chain holds one request: signed,
 * encoded and queued at its bucket (daemon/aws/pace.h) until its token comes. Past a
 * bucket's burst a request waits 1/refill per place in the line, so 10 000 CreateImage
 * queued at once would hold 10 000 requests for half an hour; 256 keep every bucket's
 * line, and every connection, busy (EC2's largest burst is 100) at a fixed cost.
 */
#define CHAINS_STARTED_MAX 256

/* Chains that create and those that only retire draw on separate buckets (CreateImage,
 * DeregisterImage), and retiring must not wait behind the creations. */
typedef enum chain_gate {
        GATE_CREATE,
        GATE_RETIRE,
        _GATE_MAX,
} chain_gate;

/* The actions of one instance run in plan order, one after the other. */
typedef struct chain {
        executor *exec;
        struct chain *waiting_next;     /* in its gate's line, until started */
        bool started;                   /* holds a place of its gate */
        const plan *plan;               /* the plan the chain's actions belong to */
        size_t first, end;              /* [first, end) in the plan being executed */
        size_t next;                    /* next action to start */
        char **snapshots;               /* of the retirement in progress, still to delete */
        size_t snapshot;                /* index into snapshots */
        ec2_op *op;                     /* the chain's request in flight */
        sd_event_source *timer;         /* the spread's start, or the next lookup of the slot's image */
        usec_t lookup_started;          /* CLOCK_MONOTONIC: the first lookup of the slot's image */
        usec_t lookup_delay;            /* the last wait between lookups; 0 before the first */
} chain;

/* The chains of one plan. */
typedef struct chain_batch {
        chain *chains;
        size_t n_chains;
        struct chain_batch *next;
} chain_batch;

struct executor {
        exec_options options;
        exec_callback callback;
        void *userdata;

        chain_batch *batches;           /* one per exec_start(), newest first */
        size_t chains_running;
        struct {
                size_t started;         /* chains holding a place, at most CHAINS_STARTED_MAX */
                chain *head, *tail;     /* chains waiting for a place, in order */
        } gates[_GATE_MAX];
        bool admitting;                 /* gate_admit() is on the stack */
        bool deregister_plain;          /* the endpoint refused DeleteAssociatedSnapshots */
        char **protected;               /* images reported as protected from deregistration */
};

int exec_log_aws(int level, int r, const aws_error *err, const log_fields *f, const char *what) {
        log_fields g = *f;

        g.error_code = err ? err->code : NULL;
        g.request_id = err ? err->request_id : NULL;
        /* A local failure's message says what failed ("no AWS credentials: ...", "the host name
         * '...' could not be resolved"); its errno is a class for retries, not a reason to print. */
        return log_full(level, 0, level <= LOG_ERR ? MESSAGE_POLICY_RUN_FAILED : NULL, &g,
                        "policy '%s' in %s: %s: %s%s%s",
                        g.policy, g.region, what,
                        err && err->code ? err->code : err && err->message ? "" : strerror(-r),
                        err && err->code && err->message ? ": " : "",
                        err && err->message ? err->message : "") ?: r;
}

char *exec_aws_reason(int r, const aws_error *err, const char *action) {
        char *s = NULL;

        if ((err && err->code ? asprintf(&s, "%s: %s%s%s", action, err->code, err->message ? ": " : "",
                                         err->message ?: "") :
                                asprintf(&s, "%s", err && err->message ? err->message : strerror(-r))) < 0)
                return NULL;
        return s;
}

static chain_batch *chain_batch_free(chain_batch *b) {
        chain_batch *next = b->next;

        for (size_t i = 0; i < b->n_chains; i++) {
                ec2_op_cancel(b->chains[i].op);
                strv_free(b->chains[i].snapshots);
                sd_event_source_disable_unref(b->chains[i].timer);
        }
        free(b->chains);
        free(b);
        return next;
}

int exec_new(const exec_options *o, exec_callback cb, void *userdata, executor **ret) {
        executor *x;

        x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        x->options = *o;
        x->callback = cb;
        x->userdata = userdata;
        *ret = x;
        return 0;
}

executor *exec_free(executor *x) {
        if (!x)
                return NULL;
        for (chain_batch *b = x->batches; b; b = chain_batch_free(b))
                ;
        strv_free(x->protected);
        return mfree(x);
}

/* ---- Reporting ------------------------------------------------------------------------- */

static void report(executor *x, exec_event e) {
        x->callback(&e, x->userdata);
}

static void report_failure(executor *x, int r, const log_fields *f) {
        report(x, (exec_event) { .kind = EXEC_FAILED, .error = r, .fields = f });
}

static const char *dry_run_prefix(const executor *x) {
        return x->options.dry_run ? "dry run: would have " : "";
}

static log_fields action_fields(const executor *x, const plan_action *a, const char *aws_action) {
        return (log_fields) {
                .policy = x->options.policy->name,
                .region = x->options.region,
                .instance_id = a->instance_id,
                .image_id = a->image_id,
                .action = aws_action,
        };
}

/* ---- Chains ---------------------------------------------------------------------------- */

static void chain_advance(chain *c);

static const plan_action *chain_action(const chain *c) {
        return &c->plan->actions[c->next];
}

static void chain_done(chain *c) {
        c->snapshots = strv_free(c->snapshots);
        c->next++;
        chain_advance(c);
}

/* The action failed with r (logged where it was decided): count it, go on with the next. */
static void chain_fail(chain *c, int r, const log_fields *f) {
        report_failure(c->exec, r, f);
        chain_done(c);
}

/* Calls cb on c after delay; the timer is the chain's own, named for traces by what. */
static int chain_timer(chain *c, usec_t delay, sd_event_time_handler_t cb, const char *what) {
        executor *x = c->exec;
        char description[128];
        int r;

        r = sd_event_add_time_relative(x->options.event, &c->timer, CLOCK_MONOTONIC, delay, 0, cb, c);
        if (r < 0)
                return r;
        snprintf(description, sizeof(description), "%s %s/%s %s", what, x->options.policy->name,
                 x->options.region, c->plan->actions[c->first].instance_id);
        (void) sd_event_source_set_description(c->timer, description);
        return 0;
}

/* ---- DeleteSnapshot -------------------------------------------------------------------- */

static void delete_next_snapshot(chain *c);

static void on_snapshot_deleted(int r, const aws_error *err, void *userdata) {
        chain *c = userdata;
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        const char *snap = c->snapshots[c->snapshot];
        log_fields f = action_fields(x, a, "DeleteSnapshot");

        c->op = NULL;
        f.snapshot_id = snap;
        if (r >= 0 || (err && aws_error_is(err, "DryRunOperation"))) {
                if (a->kind == PLAN_DELETE_SNAPSHOT)
                        log_full(LOG_INFO, 0, MESSAGE_SNAPSHOT_DELETED, &f, "%sdeleted snapshot %s: %s",
                                 dry_run_prefix(x), snap, a->reason);
                else
                        log_full(LOG_INFO, 0, MESSAGE_SNAPSHOT_DELETED, &f, "%sdeleted snapshot %s of image %s",
                                 dry_run_prefix(x), snap, a->image_id);
                report(x, (exec_event) { .kind = EXEC_SNAPSHOT_DELETED, .fields = &f });
        } else if (err && aws_error_is(err, "InvalidSnapshot.NotFound"))
                /* Done: deleted with its image, by a retry whose first answer was lost, or by another host. */
                log_debug("snapshot %s is already gone", snap);
        else if (err && aws_error_is(err, "InvalidSnapshot.InUse")) {
                f.error_code = err->code;
                f.request_id = err->request_id;
                log_full(LOG_WARNING, 0, NULL, &f,
                         "snapshot %s is still in use; the next run's sweep will delete it, will retry", snap);
                report(x, (exec_event) { .kind = EXEC_SNAPSHOT_LEFT, .fields = &f });
        } else {
                exec_log_aws(LOG_ERR, r, err, &f, "cannot delete snapshot");
                report_failure(x, r, &f);
        }
        c->snapshot++;
        delete_next_snapshot(c);
}

static void delete_next_snapshot(chain *c) {
        executor *x = c->exec;
        int r;

        if (!c->snapshots || !c->snapshots[c->snapshot]) {
                chain_done(c);
                return;
        }
        r = ec2_delete_snapshot(x->options.ec2, c->snapshots[c->snapshot], x->options.dry_run,
                                on_snapshot_deleted, c, &c->op);
        if (r < 0)
                chain_fail(c, r, NULL);
}

/* Deletes each of ids but those in done, in turn, then goes on with the chain (none: at once). */
static int delete_snapshots(chain *c, char *const *ids, char *const *done) {
        int r;

        c->snapshots = strv_free(c->snapshots);
        for (char *const *i = ids; i && *i; i++) {
                if (strv_contains(done, *i))
                        continue;
                r = strv_extend(&c->snapshots, *i);
                if (r < 0)
                        return r;
        }
        c->snapshot = 0;
        delete_next_snapshot(c);
        return 0;
}

/* ---- DeregisterImage ------------------------------------------------------------------- */

static int start_deregister(chain *c);

/*
 * Logs the retirement, and "deleted" for each snapshot EC2 says it deleted with the
 * image (returnCode success): only those. The image's other snapshots (skipped because
 * another image uses them, an error, or no per-snapshot result at all from an endpoint
 * that ignored DeleteAssociatedSnapshots) are the caller's to delete one by one.
 */
static void retired(chain *c, bool with_snapshots, char *const *deleted, log_fields *f) {
        executor *x = c->exec;
        const plan_action *a = chain_action(c);

        log_full(LOG_INFO, 0, MESSAGE_IMAGE_RETIRED, f, "%sretired image %s of %s (slot %s): %s",
                 dry_run_prefix(x), a->image_id, a->instance_id, a->slot ?: "?", a->reason ?: "");
        report(x, (exec_event) { .kind = EXEC_RETIRED, .fields = f });
        if (with_snapshots && !x->options.dry_run && !deleted && strv_length(a->snapshot_ids) > 0)
                log_debug("DeregisterImage of %s named no deleted snapshot; deleting its snapshots one by one",
                          a->image_id);

        for (char *const *i = deleted; i && *i; i++) {
                f->action = "DeleteSnapshot";
                f->snapshot_id = *i;
                log_full(LOG_INFO, 0, MESSAGE_SNAPSHOT_DELETED, f,
                         "deleted snapshot %s of image %s", *i, a->image_id);
                report(x, (exec_event) { .kind = EXEC_SNAPSHOT_DELETED, .fields = f });
        }
}

/*
 * Deregistration protection: "When deregistration protection is enabled, the AMI can't be
 * deregistered" (EnableImageDeregistrationProtection). The API reference names no error
 * code for the refusal; OperationNotPermitted is EC2's code for operations refused on
 * protected resources (termination protection), and ec2sim answers it. The image stays,
 * and so do its snapshots. Said once per run (a second plan of the same run may name it
 * again): not a failure.
 */
static void image_protected(chain *c, const aws_error *err, log_fields *f) {
        executor *x = c->exec;
        const plan_action *a = chain_action(c);

        if (strv_contains(x->protected, a->image_id)) {
                log_debug("image %s is protected from deregistration, keeping it", a->image_id);
                return;
        }
        (void) strv_extend(&x->protected, a->image_id);        /* out of memory: said again, harmless */
        f->error_code = err->code;
        f->request_id = err->request_id;
        log_full(LOG_NOTICE, 0, MESSAGE_IMAGE_PROTECTED, f,
                 "image %s of %s (slot %s) has deregistration protection; keeping it and its snapshots (%s: %s)",
                 a->image_id, a->instance_id, a->slot ?: "?", err->code, err->message ?: "");
}

static void on_deregistered(int r, char *const *deleted, const aws_error *err, void *userdata) {
        chain *c = userdata;
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        bool with_snapshots = !x->deregister_plain;
        bool dry = err && aws_error_is(err, "DryRunOperation");
        log_fields f = action_fields(x, a, "DeregisterImage");

        c->op = NULL;
        if (r < 0 && !dry && with_snapshots && err &&
            (aws_error_is(err, "UnknownParameter") || aws_error_is(err, "InvalidParameter"))) {
                /* An endpoint older than DeleteAssociatedSnapshots: deregister, then delete each. */
                log_debug("endpoint refused DeleteAssociatedSnapshots (%s), deleting snapshots one by one", err->code);
                x->deregister_plain = true;
                r = start_deregister(c);
                if (r < 0)
                        chain_fail(c, r, &f);
                return;
        }

        if (r >= 0 || dry)
                retired(c, with_snapshots, deleted, &f);
        else if (err && (aws_error_is(err, "InvalidAMIID.NotFound") || aws_error_is(err, "InvalidAMIID.Unavailable")))
                log_debug("image %s is already deregistered", a->image_id);
        else if (err && aws_error_is(err, "OperationNotPermitted")) {
                image_protected(c, err, &f);
                chain_done(c);
                return;
        } else {
                exec_log_aws(LOG_ERR, r, err, &f, "cannot deregister image");
                chain_fail(c, r, &f);
                return;
        }

        /* What EC2 did not say it deleted: delete each (none: the chain goes on). */
        r = delete_snapshots(c, a->snapshot_ids, dry ? NULL : deleted);
        if (r < 0)
                chain_fail(c, r, &f);
}

static int start_deregister(chain *c) {
        executor *x = c->exec;

        return ec2_deregister_image(x->options.ec2, chain_action(c)->image_id, !x->deregister_plain,
                                    x->options.dry_run, on_deregistered, c, &c->op);
}

/* ---- CreateImage ----------------------------------------------------------------------- */

static int find_duplicate(chain *c);

static int on_lookup_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        chain *c = userdata;
        int r;

        (void) s;
        (void) usec;
        c->timer = sd_event_source_disable_unref(c->timer);
        r = find_duplicate(c);
        if (r < 0) {
                log_fields f = action_fields(c->exec, chain_action(c), "DescribeImages");

                exec_log_aws(LOG_ERR, r, NULL, &f, "cannot look up the slot's image");
                chain_fail(c, r, &f);
        }
        return 0;
}

/*
 * The name is taken, but EC2 shows no image of that name yet, or shows it without any
 * tag, where amirotd's images carry theirs from their creation on (TagSpecifications):
 * not visible yet is not foreign. Looks again later, within LOOKUP_GIVE_UP.
 */
static int lookup_again(chain *c, const ec2_image *found, const log_fields *f) {
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        usec_t waited = now_usec(CLOCK_MONOTONIC) - c->lookup_started;
        const char *what = found ? "shows no tags" : "is not visible";

        if (waited >= LOOKUP_GIVE_UP) {
                log_full(LOG_ERR, 0, MESSAGE_POLICY_RUN_FAILED, f,
                         "policy '%s' in %s: the image name '%s' is taken, but the image %s after %llus; not touching it",
                         x->options.policy->name, x->options.region, a->image_name, what,
                         (unsigned long long) (waited / USEC_PER_SEC));
                return -ETIMEDOUT;
        }
        if (c->lookup_delay == 0)
                log_full(LOG_INFO, 0, NULL, f,
                         "image name '%s' of %s is taken, but the image %s yet (EC2 is eventually consistent); looking again",
                         a->image_name, a->instance_id, what);
        c->lookup_delay = c->lookup_delay == 0 ? LOOKUP_FIRST_DELAY : MIN(2 * c->lookup_delay, LOOKUP_MAX_DELAY);
        return chain_timer(c, c->lookup_delay, on_lookup_timer, "lookup");
}

static void on_duplicate_found(int r, ec2_image_list *l, const aws_error *err, void *userdata) {
        chain *c = userdata;
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        const char *name = x->options.policy->name;
        log_fields f = action_fields(x, a, "CreateImage");
        const ec2_image *found = NULL;

        c->op = NULL;
        if (r < 0) {
                f.action = "DescribeImages";
                exec_log_aws(LOG_ERR, r, err, &f, "cannot look up the slot's image");
                chain_fail(c, r, &f);
                return;
        }
        for (size_t i = 0; i < l->n; i++)
                if (streq_ptr(l->items[i].name, a->image_name))
                        found = &l->items[i];

        if (!found || found->tags.n == 0) {
                r = lookup_again(c, found, &f);
                if (r < 0)
                        chain_fail(c, r, &f);
                return;
        }
        if (!streq_ptr(ec2_tags_get(&found->tags, TAG_POLICY), name)) {
                /* Rule 2: a same-named image amirotd did not make is not ours to count or touch. */
                log_full(LOG_ERR, 0, MESSAGE_POLICY_RUN_FAILED, &f,
                         "policy '%s' in %s: an image named '%s' exists as %s that is not tagged %s=%s; not touching it",
                         name, x->options.region, a->image_name, found->id, TAG_POLICY, name);
                chain_fail(c, -EEXIST, &f);
                return;
        }

        /* The slot's image, found again: the engine waits for it like for one created now. */
        f.image_id = found->id;
        log_full(LOG_INFO, 0, NULL, &f, "image %s '%s' of %s already exists for slot %s (%s)",
                 found->id, a->image_name, a->instance_id, a->slot, ec2_image_state_to_string(found->state));
        report(x, (exec_event) { .kind = EXEC_EXISTING, .pending = found->state == EC2_IMAGE_PENDING, .fields = &f });
        chain_done(c);
}

/* Rule 3: the slot's image exists (a retry, another host): find it and go on. By name, with
 * disabled images included (ec2_describe_images() always asks for them). */
static int find_duplicate(chain *c) {
        char *values[] = { chain_action(c)->image_name, NULL };
        ec2_filter filter = { .name = "name", .values = values };

        return ec2_describe_images(c->exec->options.ec2, &filter, 1, NULL, on_duplicate_found, c, &c->op);
}

static void on_created(int r, const char *image_id, const aws_error *err, void *userdata) {
        chain *c = userdata;
        executor *x = c->exec;
        const plan_action *a = chain_action(c);
        log_fields f = action_fields(x, a, "CreateImage");

        c->op = NULL;
        if (r >= 0) {
                f.image_id = image_id;
                log_full(LOG_INFO, 0, MESSAGE_IMAGE_CREATED, &f, "creating image %s '%s' of %s for slot %s",
                         image_id, a->image_name, a->instance_id, a->slot);
                report(x, (exec_event) { .kind = EXEC_CREATED, .pending = true, .fields = &f });
                chain_done(c);
                return;
        }
        if (err && aws_error_is(err, "DryRunOperation")) {
                log_full(LOG_INFO, 0, NULL, &f, "dry run: would have created image '%s' of %s for slot %s",
                         a->image_name, a->instance_id, a->slot);
                report(x, (exec_event) { .kind = EXEC_CREATED, .fields = &f });
                chain_done(c);
                return;
        }
        if (err && aws_error_is(err, "InvalidAMIName.Duplicate")) {
                c->lookup_started = now_usec(CLOCK_MONOTONIC);
                c->lookup_delay = 0;
                r = find_duplicate(c);
                if (r >= 0)
                        return;
        }
        exec_log_aws(LOG_ERR, r, err, &f, "cannot create image");
        chain_fail(c, r, &f);
}

static int start_create(chain *c) {
        const plan_action *a = chain_action(c);
        executor *x = c->exec;
        ec2_create_image_request req = {
                .instance_id = a->instance_id,
                .name = a->image_name,
                .description = a->description,
                .no_reboot = a->no_reboot,
                .image_tags = &a->image_tags,
                .snapshot_tags = &a->snapshot_tags,
                .dry_run = x->options.dry_run,
        };

        return ec2_create_image(x->options.ec2, &req, on_created, c, &c->op);
}

/* ---- Starting -------------------------------------------------------------------------- */

/* Whether the chain creates an image: then it is spread, and passes the creations' gate. */
static bool chain_creates(const chain *c) {
        for (size_t i = c->first; i < c->end; i++)
                if (c->plan->actions[i].kind == PLAN_CREATE)
                        return true;
        return false;
}

static chain_gate chain_gate_of(const chain *c) {
        return chain_creates(c) ? GATE_CREATE : GATE_RETIRE;
}

/* Starts the chains waiting at each gate while it has places. A chain that ends at once
 * frees its place from inside chain_advance(): the loop on the stack takes it. */
static void gate_admit(executor *x) {
        if (x->admitting)
                return;
        x->admitting = true;
        for (size_t g = 0; g < _GATE_MAX; g++)
                while (x->gates[g].head && x->gates[g].started < CHAINS_STARTED_MAX) {
                        chain *c = x->gates[g].head;

                        x->gates[g].head = c->waiting_next;
                        if (!x->gates[g].head)
                                x->gates[g].tail = NULL;
                        c->waiting_next = NULL;
                        c->started = true;
                        x->gates[g].started++;
                        chain_advance(c);
                }
        x->admitting = false;
}

/* Queues c at its gate, and starts it if there is a place. */
static void chain_begin(chain *c) {
        executor *x = c->exec;
        chain_gate g = chain_gate_of(c);

        if (x->gates[g].tail)
                x->gates[g].tail->waiting_next = c;
        else
                x->gates[g].head = c;
        x->gates[g].tail = c;
        gate_admit(x);
}

static void chain_advance(chain *c) {
        executor *x = c->exec;

        while (c->next < c->end) {
                const plan_action *a = chain_action(c);
                log_fields f;
                int r;

                switch (a->kind) {
                case PLAN_CREATE:
                        r = start_create(c);
                        break;
                case PLAN_RETIRE:
                        r = start_deregister(c);
                        break;
                case PLAN_DELETE_SNAPSHOT:
                        r = delete_snapshots(c, a->snapshot_ids, NULL);
                        break;
                default:
                        r = -EINVAL;
                }
                if (r >= 0)
                        return;
                f = action_fields(x, a, plan_action_kind_to_string(a->kind));
                exec_log_aws(LOG_ERR, r, NULL, &f, "cannot start request");
                report_failure(x, r, &f);
                c->next++;
        }
        if (c->started) {
                c->started = false;
                x->gates[chain_gate_of(c)].started--;
                gate_admit(x);
        }
        if (--x->chains_running == 0)
                report(x, (exec_event) { .kind = EXEC_DONE });
}

/*
 * The chain's start within the spread window: a fixed offset per instance (FNV-1a
 * of its id), so a large fleet does not send every CreateImage in the same second
 * and each instance's image is taken at the same time of the slot every time.
 */
static usec_t chain_spread(const executor *x, const chain *c) {
        const plan_action *a = &c->plan->actions[c->first];
        uint64_t h = 1469598103934665603ULL;

        if (!chain_creates(c) || x->options.spread == 0 || x->options.dry_run)
                return 0;
        for (const char *p = a->instance_id; *p; p++)
                h = (h ^ (unsigned char) *p) * 1099511628211ULL;
        return h % x->options.spread;
}

static int on_spread_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        chain *c = userdata;

        (void) s;
        (void) usec;
        c->timer = sd_event_source_disable_unref(c->timer);
        chain_begin(c);
        return 0;
}

/* Splits p into per-instance chains: consecutive actions of the same instance. */
static int chains_split(executor *x, const plan *p, chain_batch **ret) {
        chain_batch *b;
        size_t n = 0;

        for (size_t i = 0; i < p->n; i++)
                if (i == 0 || !streq(p->actions[i].instance_id, p->actions[i - 1].instance_id))
                        n++;

        b = calloc(1, sizeof(chain_batch));
        if (!b)
                return -ENOMEM;
        b->chains = calloc(n ?: 1, sizeof(chain));
        if (!b->chains) {
                free(b);
                return -ENOMEM;
        }
        b->n_chains = n;

        n = 0;
        for (size_t i = 0; i < p->n; i++) {
                if (i == 0 || !streq(p->actions[i].instance_id, p->actions[i - 1].instance_id))
                        b->chains[n++] = (chain) { .exec = x, .plan = p, .first = i, .next = i };
                b->chains[n - 1].end = i + 1;
        }
        b->next = x->batches;
        x->batches = b;
        *ret = b;
        return 0;
}

int exec_start(executor *x, const plan *p) {
        chain_batch *b;
        int r;

        r = chains_split(x, p, &b);
        if (r < 0)
                return r;

        /* One extra count, so that chains finishing synchronously cannot end the step early. */
        x->chains_running += b->n_chains + 1;
        for (size_t i = 0; i < b->n_chains; i++) {
                chain *c = &b->chains[i];
                usec_t delay = chain_spread(x, c);

                if (delay > 0 && chain_timer(c, delay, on_spread_timer, "spread") >= 0)
                        continue;
                chain_begin(c);
        }
        if (--x->chains_running == 0)
                report(x, (exec_event) { .kind = EXEC_DONE });
        return 0;
}
