/* SPDX-License-Identifier: MIT */
/*
 * See exec.h. A chain has at most one request in flight, so the request is the
 * chain's own field: freeing the executor cancels every chain's request and
 * timer, and no callback ever reaches a freed executor. Each plan handed in gets
 * its own array of chains (a batch), never moved while the executor lives: the
 * requests and timers in flight point at their chain.
 */
#include <stdio.h>

#include "run/exec-internal.h"

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

static void chain_advance(chain *c);

static chain_batch *chain_batch_free(chain_batch *b) {
        chain_batch *next = b->next;

        for (size_t i = 0; i < b->n_chains; i++) {
                ec2_op_cancel(b->chains[i].op);
                protect_op_cancel(b->chains[i].protect_op);
                protect_result_done(&b->chains[i].protect);
                strv_free(b->chains[i].snapshots);
                sd_event_source_disable_unref(b->chains[i].timer);
                if (b->chains[i].hooks)
                        exec_hooks_free(b->chains[i].exec, b->chains[i].hooks, chain_action(&b->chains[i]));
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
        x->advance = chain_advance;
        x->create = exec_start_create;
        *ret = x;
        return 0;
}

executor *exec_free(executor *x) {
        if (!x)
                return NULL;
        for (chain_batch *b = x->batches; b; b = chain_batch_free(b))
                ;
        strv_free(x->protected);
        protect_checker_free(x->protect);
        strv_free(x->in_use_reported);
        exec_recovery_free(x->recovery);
        return mfree(x);
}

/* ---- CreateImage ----------------------------------------------------------------------- */

static int find_duplicate(chain *c);

static void create_fail(chain *c, int r, const log_fields *f) {
        exec_report_failure(c->exec, r, f);
        exec_create_end(c);
}

static int on_lookup_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        chain *c = userdata;
        int r;

        (void) s;
        (void) usec;
        c->timer = sd_event_source_disable_unref(c->timer);
        r = find_duplicate(c);
        if (r < 0) {
                log_fields f = exec_action_fields(c->exec, chain_action(c), "DescribeImages");

                exec_log_aws(LOG_ERR, r, NULL, &f, "cannot look up the slot's image");
                exec_report_failure(c->exec, r, &f);
                exec_create_end(c);
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
        log_fields f = exec_action_fields(x, a, "CreateImage");
        const ec2_image *found = NULL;

        c->op = NULL;
        if (r < 0) {
                f.action = "DescribeImages";
                exec_log_aws(LOG_ERR, r, err, &f, "cannot look up the slot's image");
                create_fail(c, r, &f);
                return;
        }
        for (size_t i = 0; i < l->n; i++)
                if (streq_ptr(l->items[i].name, a->image_name))
                        found = &l->items[i];

        if (!found || found->tags.n == 0) {
                r = lookup_again(c, found, &f);
                if (r < 0)
                        create_fail(c, r, &f);
                return;
        }
        if (!streq_ptr(ec2_tags_get(&found->tags, TAG_POLICY), name)) {
                /* Rule 2: a same-named image amirotd did not make is not ours to count or touch. */
                log_full(LOG_ERR, 0, MESSAGE_POLICY_RUN_FAILED, &f,
                         "policy '%s' in %s: an image named '%s' exists as %s that is not tagged %s=%s; not touching it",
                         name, x->options.region, a->image_name, found->id, TAG_POLICY, name);
                create_fail(c, -EEXIST, &f);
                return;
        }

        /* The slot's image, found again: the engine waits for it like for one created now. */
        f.image_id = found->id;
        log_full(LOG_INFO, 0, NULL, &f, "image %s '%s' of %s already exists for slot %s (%s)",
                 found->id, a->image_name, a->instance_id, a->slot, ec2_image_state_to_string(found->state));
        exec_report(x, (exec_event) { .kind = EXEC_EXISTING, .pending = found->state == EC2_IMAGE_PENDING, .fields = &f });
        exec_create_end(c);
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
        log_fields f = exec_action_fields(x, a, "CreateImage");

        c->op = NULL;
        /* CreateImage has answered: a frozen instance thaws now, whatever the answer. */
        exec_hooks_answered(c, r >= 0 ? image_id : NULL);
        if (r >= 0) {
                f.image_id = image_id;
                log_full(LOG_INFO, 0, MESSAGE_IMAGE_CREATED, &f, "creating image %s '%s' of %s for slot %s",
                         image_id, a->image_name, a->instance_id, a->slot);
                exec_report(x, (exec_event) { .kind = EXEC_CREATED, .pending = true, .fields = &f });
                exec_create_end(c);
                return;
        }
        if (err && aws_error_is(err, "DryRunOperation")) {
                log_full(LOG_INFO, 0, NULL, &f, "dry run: would have created image '%s' of %s for slot %s",
                         a->image_name, a->instance_id, a->slot);
                exec_report(x, (exec_event) { .kind = EXEC_CREATED, .fields = &f });
                exec_create_end(c);
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
        create_fail(c, r, &f);
}

int exec_start_create(chain *c, bool no_reboot) {
        const plan_action *a = chain_action(c);
        executor *x = c->exec;
        ec2_create_image_request req = {
                .instance_id = a->instance_id,
                .name = a->image_name,
                .description = a->description,
                .no_reboot = no_reboot,
                .image_tags = &a->image_tags,
                .snapshot_tags = &a->snapshot_tags,
                .exclude_devices = a->exclude_devices,
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
                        r = hook_wanted(x->options.policy) ? exec_start_hooked_create(c) :
                                exec_start_create(c, a->no_reboot);
                        break;
                case PLAN_RETIRE:
                case PLAN_RELEASE:
                case PLAN_DISABLE:
                        r = exec_start_checked(c);
                        break;
                case PLAN_DELETE_SNAPSHOT:
                        r = exec_delete_snapshots(c, a->snapshot_ids, NULL);
                        break;
                case PLAN_PROTECT:
                        r = exec_start_protect(c);
                        break;
                case PLAN_UNPROTECT:
                        r = exec_start_unprotect(c);
                        break;
                case PLAN_DEPRECATE:
                case PLAN_RESTORED:
                        r = exec_start_stage(c);
                        break;
                default:
                        r = -EINVAL;
                }
                if (r >= 0)
                        return;
                f = exec_action_fields(x, a, plan_action_kind_to_string(a->kind));
                exec_log_aws(LOG_ERR, r, NULL, &f, "cannot start request");
                exec_report_failure(x, r, &f);
                c->next++;
        }
        if (c->started) {
                c->started = false;
                x->gates[chain_gate_of(c)].started--;
                gate_admit(x);
        }
        if (--x->chains_running == 0)
                exec_report(x, (exec_event) { .kind = EXEC_DONE });
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
                exec_report(x, (exec_event) { .kind = EXEC_DONE });
        return 0;
}
