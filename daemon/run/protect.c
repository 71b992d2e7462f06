/* SPDX-License-Identifier: MIT */
/*
 * See protect.h. One op per check: the instances first (they say the most: which
 * instance, in which state), then the launch templates the checker read once for
 * the run, then lastLaunchedTime image by image. Each step decides only the images
 * still undecided; a failed step leaves every undecided image PROTECT_UNKNOWN.
 *
 * The instances of many ops are asked about together: an op joins the checker's
 * line, and one DescribeInstances takes up to 195 images of the ops in line, from
 * the next turn of the event loop on (so that the chains a plan starts at once
 * share a call), and the next call starts when its answer is handed out. Each
 * image is asked about by a call sent after its op began: as fresh as one call
 * per op, at a 195th of the calls for a fleet.
 */
#include <stdarg.h>
#include <stdio.h>

#include "aws/ec2-template-calls.h"
#include "aws/ec2-usage.h"
#include "run/protect.h"

/* Every state but terminated: a stopped instance starts again from its root volume, but a
 * replacement (an Auto Scaling group's, a person's) may be launched from the same image. */
static char *const live_states[] = { "pending", "running", "shutting-down", "stopping", "stopped", NULL };
#define LIVE_STATES 5
/* "FilterLimitExceeded: The maximum number of filter values specified on a single call is
 * 200", counted over all the filters of the call: the images get what the states leave. */
#define FILTER_VALUES_MAX 200
#define IMAGES_PER_CALL (FILTER_VALUES_MAX - LIVE_STATES)

typedef enum templates_state {
        TEMPLATES_UNREAD,
        TEMPLATES_READING,
        TEMPLATES_READ,
        TEMPLATES_FAILED,
} templates_state;

/* An op's images [from, to) in the DescribeInstances in flight. */
typedef struct batch_part {
        protect_op *op;                 /* NULL once the op was cancelled */
        size_t from, to;
} batch_part;

struct protect_checker {
        aws_client *ec2;
        sd_event *event;
        const policy *policy;
        protect_op *line_head, *line_tail;      /* ops waiting for the instances' call */
        sd_event_source *kick;                  /* starts the next call at the loop's next turn */
        ec2_op *instances_op;
        batch_part batch[IMAGES_PER_CALL];      /* whose images that call asks about */
        size_t n_batch;
        templates_state templates_state;
        ec2_template_versions templates;        /* every template's $Default and $Latest */
        ec2_template_op *templates_op;
        protect_verdict templates_failure;      /* TEMPLATES_FAILED: what failed, as a verdict */
        protect_op *waiting;                    /* ops waiting for the templates, in a list */
        bool dispatching;                       /* on_templates() is handing them on */
        bool free_requested;                    /* protect_checker_free() came during that */
};

struct protect_op {
        protect_checker *checker;
        protect_result result;
        time_t now;
        size_t next;                    /* the step's next image */
        ec2_usage_op *usage_op;
        protect_op *line_next;
        bool in_line;
        protect_op *waiting_next;
        bool waiting;
        protect_cb cb;
        void *userdata;
};

static void verdict_done(protect_verdict *v) {
        free(v->image_id);
        free(v->reason);
        free(v->by);
        free(v->error_code);
        free(v->request_id);
        *v = (protect_verdict) {};
}

void protect_result_done(protect_result *r) {
        for (size_t i = 0; r && i < r->n; i++)
                verdict_done(&r->items[i]);
        if (r)
                *r = (protect_result) { .items = mfree(r->items) };
}

const protect_verdict *protect_result_find(const protect_result *r, const char *image_id) {
        for (size_t i = 0; r && i < r->n; i++)
                if (streq_ptr(r->items[i].image_id, image_id))
                        return &r->items[i];
        return NULL;
}

bool protect_applies(const plan_action *a) {
        switch (a->kind) {
        case PLAN_RELEASE:
        case PLAN_DISABLE:
                return true;
        case PLAN_RETIRE:
                return a->image_state == EC2_IMAGE_AVAILABLE || a->image_state == EC2_IMAGE_DISABLED;
        default:
                return false;
        }
}

bool protect_wanted(const policy *p) {
        return p->protect_in_use || p->protect_last_launched_within > 0 || p->n_launch_templates > 0;
}

/* Whether t, one of p's launch_template, lies in region of p's own account: the images its
 * $Default and $Latest name are kept even with protect.in_use false. */
static bool own_template_in(const policy *p, const launch_template_target *t, const char *region) {
        return (!t->role_arn || streq_ptr(t->role_arn, p->role_arn)) && (!t->region || streq_ptr(t->region, region));
}

/* Whether the template of item protects images: any with protect.in_use, else only those the
 * policy's launch_template names (by id or name) in the checker's region. */
static bool template_protects(const protect_checker *pc, const ec2_template_version *item) {
        const policy *p = pc->policy;
        const char *region = aws_client_region(pc->ec2);

        if (p->protect_in_use)
                return true;
        for (size_t i = 0; i < p->n_launch_templates; i++) {
                const launch_template_target *t = &p->launch_templates[i];

                if (own_template_in(p, t, region) &&
                    (streq_ptr(t->id, item->template_id) || streq_ptr(t->name, item->template_name)))
                        return true;
        }
        return false;
}

static bool own_templates_in(const policy *p, const char *region) {
        for (size_t i = 0; i < p->n_launch_templates; i++)
                if (own_template_in(p, &p->launch_templates[i], region))
                        return true;
        return false;
}

/* Sets v's verdict, unless it was decided already; reason is formatted. */
static void decide(protect_verdict *v, protect_kind kind, const char *by, const char *fmt, ...) _printf_(4, 5);
static void decide(protect_verdict *v, protect_kind kind, const char *by, const char *fmt, ...) {
        va_list ap;

        if (v->kind != PROTECT_NONE)
                return;
        v->kind = kind;
        v->by = by ? strdup(by) : NULL;
        va_start(ap, fmt);
        if (vasprintf(&v->reason, fmt, ap) < 0)
                v->reason = NULL;       /* the kind still keeps the image */
        va_end(ap);
}

/* Every undecided image of op: kept, for want of an answer. */
static void fail_undecided(protect_op *op, int r, const char *action, const aws_error *err) {
        for (size_t i = 0; i < op->result.n; i++) {
                protect_verdict *v = &op->result.items[i];

                if (v->kind != PROTECT_NONE)
                        continue;
                decide(v, PROTECT_UNKNOWN, NULL, "cannot tell whether it is in use: %s: %s%s%s", action,
                       err && err->code ? err->code : strerror(-r),
                       err && err->message ? ": " : "", err && err->message ? err->message : "");
                v->error = r;
                v->action = action;
                v->error_code = err && err->code ? strdup(err->code) : NULL;
                v->request_id = err && err->request_id ? strdup(err->request_id) : NULL;
        }
}

/* ---- The op ---------------------------------------------------------------------------- */

static void waiting_remove(protect_op *op) {
        protect_checker *pc = op->checker;

        if (!op->waiting)
                return;
        for (protect_op **i = &pc->waiting; *i; i = &(*i)->waiting_next)
                if (*i == op) {
                        *i = op->waiting_next;
                        break;
                }
        op->waiting = false;
}

static void line_remove(protect_op *op) {
        protect_checker *pc = op->checker;
        protect_op *prev = NULL;

        for (size_t i = 0; i < pc->n_batch; i++)
                if (pc->batch[i].op == op)
                        pc->batch[i].op = NULL;
        if (!op->in_line)
                return;
        for (protect_op *i = pc->line_head; i; prev = i, i = i->line_next)
                if (i == op) {
                        if (prev)
                                prev->line_next = op->line_next;
                        else
                                pc->line_head = op->line_next;
                        if (pc->line_tail == op)
                                pc->line_tail = prev;
                        break;
                }
        op->in_line = false;
        op->line_next = NULL;
}

static protect_op *op_free(protect_op *op) {
        if (!op)
                return NULL;
        waiting_remove(op);
        line_remove(op);
        ec2_usage_op_cancel(op->usage_op);
        protect_result_done(&op->result);
        return mfree(op);
}

void protect_op_cancel(protect_op *op) {
        op_free(op);
}

static void op_finish(protect_op *op) {
        protect_result res = op->result;
        protect_cb cb = op->cb;
        void *userdata = op->userdata;

        op->result = (protect_result) {};
        op_free(op);
        cb(&res, userdata);
        protect_result_done(&res);
}

static void step_launched(protect_op *op);

static void on_last_launched(int r, time_t t, const aws_error *err, void *userdata) {
        protect_op *op = userdata;
        protect_verdict *v = &op->result.items[op->next];
        uint64_t within = op->checker->policy->protect_last_launched_within;
        char when[21], d[DURATION_MAX];

        op->usage_op = NULL;
        if (r < 0) {
                decide(v, PROTECT_UNKNOWN, NULL, "cannot tell when it was last launched: DescribeImageAttribute: %s%s%s",
                       err && err->code ? err->code : strerror(-r),
                       err && err->message ? ": " : "", err && err->message ? err->message : "");
                v->error = r;
                v->action = "DescribeImageAttribute";
                v->error_code = err && err->code ? strdup(err->code) : NULL;
                v->request_id = err && err->request_id ? strdup(err->request_id) : NULL;
        } else if (t > 0 && (t >= op->now || (uint64_t) (op->now - t) <= within))
                decide(v, PROTECT_LAUNCHED, NULL, "last launched %s, within last_launched_within %s",
                       format_iso8601(t, when), format_duration(within, d));
        op->next++;
        step_launched(op);
}

/* lastLaunchedTime, one image at a time (DescribeImageAttribute takes one), for the images
 * nothing else kept. */
static void step_launched(protect_op *op) {
        const policy *p = op->checker->policy;
        int r;

        for (; p->protect_last_launched_within > 0 && op->next < op->result.n; op->next++) {
                protect_verdict *v = &op->result.items[op->next];

                if (v->kind != PROTECT_NONE)
                        continue;
                r = ec2_describe_last_launched(op->checker->ec2, v->image_id, on_last_launched, op, &op->usage_op);
                if (r >= 0)
                        return;
                decide(v, PROTECT_UNKNOWN, NULL, "cannot tell when it was last launched: %s", strerror(-r));
                v->error = r;
                v->action = "DescribeImageAttribute";
        }
        op_finish(op);
}

static void templates_apply(protect_op *op) {
        const ec2_template_versions *l = &op->checker->templates;

        for (size_t i = 0; i < op->result.n; i++)
                for (size_t j = 0; j < l->n; j++)
                        if (l->items[j].image_id && streq(l->items[j].image_id, op->result.items[i].image_id) &&
                            template_protects(op->checker, &l->items[j]))
                                decide(&op->result.items[i], PROTECT_TEMPLATE, l->items[j].template_id,
                                       "named by launch template %s%s%s%s version %u (%s)",
                                       l->items[j].template_id,
                                       l->items[j].template_name ? " '" : "", l->items[j].template_name ?: "",
                                       l->items[j].template_name ? "'" : "",
                                       l->items[j].number, l->items[j].is_default ? "$Default" : "$Latest");
}

static void step_templates(protect_op *op);

static void checker_free_now(protect_checker *pc) {
        ec2_template_op_cancel(pc->templates_op);
        ec2_op_cancel(pc->instances_op);
        sd_event_source_disable_unref(pc->kick);
        sd_event_unref(pc->event);
        ec2_template_versions_done(&pc->templates);
        verdict_done(&pc->templates_failure);
        free(pc);
}

/* Hands the templates on to every op waiting for them. An op's callback may cancel other
 * ops (they leave the line) or free the checker (freed once the line is through). */
static void on_templates(int r, ec2_template_versions *l, const aws_error *err, void *userdata) {
        protect_checker *pc = userdata;
        protect_verdict *f = &pc->templates_failure;
        protect_op *op;

        pc->templates_op = NULL;
        if (r >= 0) {
                pc->templates = *l;
                *l = (ec2_template_versions) {};
                pc->templates_state = TEMPLATES_READ;
        } else {
                pc->templates_state = TEMPLATES_FAILED;
                f->error = r;
                f->action = "DescribeLaunchTemplateVersions";
                f->error_code = err && err->code ? strdup(err->code) : NULL;
                f->request_id = err && err->request_id ? strdup(err->request_id) : NULL;
                f->reason = err && err->message ? strdup(err->message) : NULL;
        }
        pc->dispatching = true;
        while (!pc->free_requested && (op = pc->waiting)) {
                pc->waiting = op->waiting_next;
                op->waiting = false;
                step_templates(op);
        }
        pc->dispatching = false;
        if (pc->free_requested)
                checker_free_now(pc);
}

static void step_templates(protect_op *op) {
        protect_checker *pc = op->checker;
        protect_verdict *f = &pc->templates_failure;
        int r;

        switch (pc->templates_state) {
        case TEMPLATES_UNREAD:
                r = ec2_describe_template_versions(pc->ec2, &(ec2_template_versions_request) {
                                                           .account_wide = true, .resolve_alias = true,
                                                   }, on_templates, pc, &pc->templates_op);
                if (r < 0) {
                        fail_undecided(op, r, "DescribeLaunchTemplateVersions", NULL);
                        break;
                }
                pc->templates_state = TEMPLATES_READING;
                _fallthrough_;
        case TEMPLATES_READING:
                op->waiting_next = pc->waiting;
                pc->waiting = op;
                op->waiting = true;
                return;
        case TEMPLATES_READ:
                templates_apply(op);
                break;
        case TEMPLATES_FAILED:
                fail_undecided(op, f->error, f->action, &(aws_error) {
                                       .code = f->error_code, .message = f->reason, .request_id = f->request_id });
                break;
        }
        op->next = 0;
        step_launched(op);
}

static int instances_kick(protect_checker *pc);

/* Hands the answer out to the ops of the batch: each of them that has asked about all its
 * images goes on to the templates; one with more goes back to the head of the line. An op's
 * step may cancel other ops (their parts are NULLed) or free the checker (freed afterwards). */
static void on_instances(int r, ec2_instance_list *l, const aws_error *err, void *userdata) {
        protect_checker *pc = userdata;

        pc->instances_op = NULL;
        pc->dispatching = true;
        for (size_t b = 0; b < pc->n_batch && !pc->free_requested; b++) {
                protect_op *op = pc->batch[b].op;

                if (!op)
                        continue;
                pc->batch[b].op = NULL;
                for (size_t j = pc->batch[b].from; r >= 0 && j < pc->batch[b].to; j++)
                        for (size_t i = 0; i < l->n; i++)
                                if (streq_ptr(l->items[i].image_id, op->result.items[j].image_id))
                                        decide(&op->result.items[j], PROTECT_INSTANCE, l->items[i].id,
                                               "in use by %s (%s)", l->items[i].id,
                                               ec2_instance_state_to_string(l->items[i].state));
                if (r < 0)
                        fail_undecided(op, r, "DescribeInstances", err);
                op->next = pc->batch[b].to;
                if (r >= 0 && op->next < op->result.n) {
                        op->line_next = pc->line_head;
                        pc->line_head = op;
                        if (!pc->line_tail)
                                pc->line_tail = op;
                        op->in_line = true;
                        continue;
                }
                step_templates(op);
        }
        pc->n_batch = 0;
        pc->dispatching = false;
        if (pc->free_requested) {
                checker_free_now(pc);
                return;
        }
        (void) instances_kick(pc);      /* failing, the ops in line wait for the next op's kick */
}

/*
 * DescribeInstances with filter image-id, up to IMAGES_PER_CALL images of the ops in line,
 * and instance-state-name the live states.
 */
static int instances_send(protect_checker *pc) {
        char *ids[IMAGES_PER_CALL + 1];
        size_t n = 0;
        int r;

        pc->n_batch = 0;
        while (pc->line_head && n < IMAGES_PER_CALL) {
                protect_op *op = pc->line_head;
                batch_part *part = &pc->batch[pc->n_batch++];

                *part = (batch_part) { .op = op, .from = op->next };
                while (op->next < op->result.n && n < IMAGES_PER_CALL)
                        ids[n++] = op->result.items[op->next++].image_id;
                part->to = op->next;
                op->next = part->from;
                pc->line_head = op->line_next;
                if (!pc->line_head)
                        pc->line_tail = NULL;
                op->line_next = NULL;
                op->in_line = false;
        }
        ids[n] = NULL;
        if (n == 0)
                return 0;
        r = ec2_describe_instances(pc->ec2, (ec2_filter[]) {
                                           { .name = "image-id", .values = ids },
                                           { .name = "instance-state-name", .values = live_states },
                                   }, 2, on_instances, pc, &pc->instances_op);
        if (r < 0)
                on_instances(r, NULL, NULL, pc);
        return 0;
}

static int on_kick(sd_event_source *s, void *userdata) {
        protect_checker *pc = userdata;

        (void) s;
        pc->kick = sd_event_source_disable_unref(pc->kick);
        return instances_send(pc);
}

/* The next call, at the loop's next turn, unless one is in flight or already due. */
static int instances_kick(protect_checker *pc) {
        int r;

        if (pc->instances_op || pc->kick || pc->n_batch > 0 || !pc->line_head)
                return 0;
        r = sd_event_add_defer(pc->event, &pc->kick, on_kick, pc);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(pc->kick, "protect-instances");
        return 0;
}

static void step_instances(protect_op *op) {
        protect_checker *pc = op->checker;
        int r;

        op->line_next = NULL;
        if (pc->line_tail)
                pc->line_tail->line_next = op;
        else
                pc->line_head = op;
        pc->line_tail = op;
        op->in_line = true;
        r = instances_kick(pc);
        if (r < 0) {
                line_remove(op);
                fail_undecided(op, r, "DescribeInstances", NULL);
                step_templates(op);
        }
}

/* ---- The checker ----------------------------------------------------------------------- */

int protect_checker_new(sd_event *event, aws_client *ec2, const policy *p, protect_checker **ret) {
        protect_checker *pc;

        if (!event || !ec2 || !p)
                return -EINVAL;
        pc = calloc(1, sizeof(*pc));
        if (!pc)
                return -ENOMEM;
        pc->event = sd_event_ref(event);
        pc->ec2 = ec2;
        pc->policy = p;
        *ret = pc;
        return 0;
}

protect_checker *protect_checker_free(protect_checker *pc) {
        if (!pc)
                return NULL;
        if (pc->dispatching) {
                pc->free_requested = true;
                return NULL;
        }
        checker_free_now(pc);
        return NULL;
}

/* Starts once the caller holds its op: the first step calls back at once only when no
 * request could be started at all, and then through op_finish() like any other end. */
static void op_begin(protect_op *op) {
        const policy *p = op->checker->policy;

        if (p->protect_in_use)
                step_instances(op);
        else if (own_templates_in(p, aws_client_region(op->checker->ec2)))
                step_templates(op);     /* the policy's own templates: kept without in_use too */
        else
                step_launched(op);
}

int protect_check(protect_checker *pc, char *const *image_ids, time_t now, protect_cb cb, void *userdata,
                  protect_op **ret_op) {
        protect_op *op;
        size_t n = 0;

        while (image_ids && image_ids[n])
                n++;
        if (!pc || !cb || n == 0)
                return -EINVAL;
        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        *op = (protect_op) { .checker = pc, .now = now, .cb = cb, .userdata = userdata };
        op->result.items = calloc(n, sizeof(protect_verdict));
        if (!op->result.items)
                return op_free(op), -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                op->result.items[op->result.n].image_id = strdup(image_ids[i]);
                if (!op->result.items[op->result.n++].image_id)
                        return op_free(op), -ENOMEM;
        }
        if (ret_op)
                *ret_op = op;
        op_begin(op);
        return 0;
}
