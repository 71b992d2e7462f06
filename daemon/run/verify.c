/* SPDX-License-Identifier: MIT */
/*
 * See verify.h. Each test instance is one entry of the verifier, allocated on its own so
 * that its request in flight can carry it as userdata; an entry never leaves the list
 * before the verifier is freed, which cancels every request. An entry goes
 *   QUEUED → LAUNCHING → WATCHED ⇄ CONSOLE → TAGGING → TERMINATING → DONE
 * and one recovered with nothing to judge goes straight to TERMINATING. The poll round
 * (DescribeInstanceStatus of every watched instance, 100 ids a call) judges the watched
 * ones; the verdict is written on the image before the instance is terminated, so a
 * crash between leaves an instance whose image has a verdict: the next run terminates it.
 */
#include <stdio.h>

#include "run/exec.h"
#include "run/plan.h"
#include "run/verify-internal.h"

static void test_free(test_instance *t) {
        if (!t)
                return;
        ec2_op_cancel(t->op);
        free(t->image_id);
        free(t->source_id);
        strv_free(t->devices);
        free(t->instance_id);
        free(t->state_reason);
        free(t->error);
        free(t);
}

void verify_images_free(verifier *v) {
        for (size_t i = 0; i < v->n_unverified; i++) {
                free(v->unverified[i].image_id);
                free(v->unverified[i].source_id);
        }
        v->unverified = mfree(v->unverified);
        v->n_unverified = 0;
}

verifier *verifier_free(verifier *v) {
        if (!v)
                return NULL;
        ec2_op_cancel(v->recover);
        ec2_op_cancel(v->poll);
        sd_event_source_disable_unref(v->timer);
        for (size_t i = 0; i < v->n_tests; i++)
                test_free(v->tests[i]);
        free(v->tests);
        verify_images_free(v);
        strv_free(v->poll_ids);
        if (v->match_set)
                regfree(&v->match);
        return mfree(v);
}

int verifier_new(const verify_options *o, verify_callback cb, void *userdata, verifier **ret) {
        _cleanup_(verifier_freep) verifier *v = NULL;
        const policy_verify *pv = &o->policy->verify;

        if (!pv->set)
                return -EINVAL;
        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        *v = (verifier) { .options = *o, .callback = cb, .userdata = userdata,
                          .started = now_usec(CLOCK_MONOTONIC), .rank_old = -1, .pump = verify_pump };
        if (pv->console_match) {
                /* `check` compiled it already: failing here is out of memory. */
                if (regcomp(&v->match, pv->console_match, REG_EXTENDED | REG_NOSUB) != 0)
                        return -EINVAL;
                v->match_set = true;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

static bool test_alive(const test_instance *t) {
        return t->phase != TEST_QUEUED && t->phase != TEST_DONE;
}

unsigned verifier_alive(const verifier *v) {
        unsigned n = 0;

        for (size_t i = 0; v && i < v->n_tests; i++)
                n += test_alive(v->tests[i]);
        return n;
}

bool verifier_busy(const verifier *v) {
        if (!v)
                return false;
        if (v->recover_started && !v->recover_done)
                return true;
        for (size_t i = 0; i < v->n_tests; i++)
                if (test_alive(v->tests[i]) || (v->tests[i]->phase == TEST_QUEUED && !v->launch_stopped))
                        return true;
        return false;
}

test_instance *verify_test_find(const verifier *v, const char *image_id) {
        for (size_t i = 0; i < v->n_tests; i++)
                if (streq(v->tests[i]->image_id, image_id))
                        return v->tests[i];
        return NULL;
}

int verify_test_new(verifier *v, const char *image_id, const char *source_id, test_instance **ret) {
        test_instance **a, *t;

        a = reallocarray(v->tests, v->n_tests + 1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        v->tests = a;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        *t = (test_instance) { .v = v, .image_id = strdup(image_id), .source_id = source_id ? strdup(source_id) : NULL,
                               .state = _EC2_INSTANCE_STATE_INVALID, .console = -1 };
        if (!t->image_id || (source_id && !t->source_id)) {
                test_free(t);
                return -ENOMEM;
        }
        v->tests[v->n_tests++] = t;
        *ret = t;
        return 0;
}

/* The EBS devices of g: each gets DeleteOnTermination, whatever the image says. */
static int test_set_devices(test_instance *t, const ec2_image *g) {
        for (size_t i = 0; i < g->n_devices; i++)
                if (g->devices[i].snapshot_id && g->devices[i].device_name &&
                    strv_extend(&t->devices, g->devices[i].device_name) < 0)
                        return -ENOMEM;
        return 0;
}

static void emit_idle_if(verifier *v) {
        if (!verifier_busy(v))
                verify_emit(v, VERIFY_EVENT_IDLE, 0, NULL, NULL, 0);
}

/* A call about a watched instance failed (not "not visible yet"): no verdict from it. Past
 * the timeout the test ends without one, so that a call that keeps failing (a permission
 * missing, the endpoint down) never holds the run, nor the instance, forever. */
static void test_call_failed(verifier *v, test_instance *t, int r, const aws_error *err, const char *action) {
        if ((uint64_t) verify_age(v, t) < v->options.policy->verify.timeout)
                return;
        verify_test_give_up(v, t, verify_call_failed(v, t, r, err, action, "cannot judge test instance"));
}

/* What verify_judge() makes of what EC2 said last; t moves on when it is a verdict. Right
 * after a console read (console_just_read), a miss waits for the next poll: the console is
 * read at the polls' pace, never back to back. */
static void test_judge(verifier *v, test_instance *t, bool console_just_read) {
        verify_observation o = {
                .state = t->listed ? t->state : _EC2_INSTANCE_STATE_INVALID,
                .system_status = t->listed ? t->system_status : _EC2_STATUS_SUMMARY_INVALID,
                .instance_status = t->listed ? t->instance_status : _EC2_STATUS_SUMMARY_INVALID,
                .state_reason = t->state_reason,
                .console = t->console,
                .launched = t->launched,
                .now = t->launched + verify_age(v, t),
        };
        verify_step s;

        /* Stopped or terminated on its own: DescribeInstanceStatus does not say why, and the
         * reason is what the operator needs ("Client.InstanceInitiatedShutdown: ..."). */
        if (t->listed && !t->state_reason && !t->reason_read && t->state != EC2_INSTANCE_PENDING &&
            t->state != EC2_INSTANCE_RUNNING) {
                t->phase = TEST_REASON;
                return;
        }
        /* Checks ok and the console not read yet: read it before any verdict, also past the
         * timeout (a test instance found after a restart gets its one last look). */
        if (v->match_set && !t->console_read && t->listed && t->state == EC2_INSTANCE_RUNNING &&
            t->system_status == EC2_STATUS_OK && t->instance_status == EC2_STATUS_OK) {
                t->phase = TEST_CONSOLE;
                return;
        }
        s = verify_judge(&v->options.policy->verify, &o, t->reason, sizeof(t->reason));
        if (s == VERIFY_READ_CONSOLE && v->match_set && t->console != 1) {
                if (!console_just_read)
                        t->phase = TEST_CONSOLE;
                return;
        }
        if (s == VERIFY_READ_CONSOLE)
                s = VERIFY_PASS;        /* nothing to read: both checks pass */
        if (s != VERIFY_PASS && s != VERIFY_FAIL && s != VERIFY_ABANDON)
                return;
        t->verdict = s;
        if (s == VERIFY_PASS)
                t->reason[0] = '\0';
        verify_test_conclude(v, t);
}

/* ---- Why it stopped -------------------------------------------------------------------- */

static void on_reason(int r, ec2_instance_list *l, const aws_error *err, void *userdata) {
        test_instance *t = userdata;
        verifier *v = t->v;

        t->op = NULL;
        t->phase = TEST_WATCHED;
        for (size_t i = 0; r >= 0 && l && i < l->n && !t->state_reason; i++)
                if (streq(l->items[i].id, t->instance_id)) {
                        t->reason_read = true;
                        if (l->items[i].state_reason && !(t->state_reason = strdup(l->items[i].state_reason)))
                                r = -ENOMEM;
                }
        if (t->reason_read)
                test_judge(v, t, false);
        else
                /* A failed call, or the instance not listed yet: no verdict on a guess ("the
                 * instance terminated" without EC2's reason fails the image). The next poll
                 * asks again; past the timeout the test ends without a verdict. */
                test_call_failed(v, t, r < 0 ? r : -ENOENT, r < 0 ? err : NULL, "DescribeInstances");
        verify_pump(v);
}

static void test_read_reason(verifier *v, test_instance *t) {
        char *ids[] = { t->instance_id, NULL };
        const ec2_filter filter = { .name = "instance-id", .values = ids };
        int r;

        r = ec2_describe_instances(v->options.ec2, &filter, 1, on_reason, t, &t->op);
        if (r < 0)
                on_reason(r, NULL, NULL, t);
}

/* ---- The console ----------------------------------------------------------------------- */

static void test_read_console(verifier *v, test_instance *t);

static void on_console(int r, const char *output, const aws_error *err, void *userdata) {
        test_instance *t = userdata;
        verifier *v = t->v;

        t->op = NULL;
        t->phase = TEST_WATCHED;
        if (r < 0 && !v->console_latest_refused && ec2_console_latest_unsupported(err)) {
                /* Latest=true is for Nitro instances only: ask as the others are asked. */
                v->console_latest_refused = true;
                test_read_console(v, t);
                return;
        }
        t->console_read = true;
        if (r < 0 && err && aws_error_is(err, "InvalidInstanceID.NotFound") &&
            verify_age(v, t) < VERIFY_INVISIBLE_MAX)
                t->console_read = false;        /* not visible yet: read at the next poll */
        else if (r < 0) {
                log_fields f = verify_fields(v, t);

                f.action = "GetConsoleOutput";
                exec_log_aws(LOG_WARNING, r, err, &f, "cannot read the console of a test instance, will retry");
                test_call_failed(v, t, r, err, "GetConsoleOutput");
        } else {
                t->console = output && regexec(&v->match, output, 0, NULL, 0) == 0 ? 1 : 0;
                /* A match passes at once, a miss past the timeout fails; else the next poll. */
                test_judge(v, t, true);
        }
        verify_pump(v);
}

static void test_read_console(verifier *v, test_instance *t) {
        int r;

        t->phase = TEST_CONSOLE;
        r = ec2_get_console_output(v->options.ec2, t->instance_id, !v->console_latest_refused, on_console, t,
                                   &t->op);
        if (r < 0)
                on_console(r, NULL, NULL, t);
}

/* ---- Launch ---------------------------------------------------------------------------- */

static void on_launched(int r, ec2_instance_list *l, const aws_error *err, void *userdata) {
        test_instance *t = userdata;
        verifier *v = t->v;
        log_fields f;

        t->op = NULL;
        if (r >= 0 && (!l || l->n != 1))
                r = -EBADMSG;
        if (r < 0) {
                _cleanup_(freep) char *why = NULL;

                /* Refused (a bad subnet, capacity, throttled past the retries): no verdict. */
                t->phase = TEST_DONE;
                v->launch_stopped = true;
                why = verify_call_failed(v, t, r, err, "RunInstances", "cannot launch");
                verify_emit(v, VERIFY_EVENT_ERROR, r, t, why ?: "cannot launch a test instance", 0);
                verify_pump(v);
                return;
        }
        t->instance_id = strdup(l->items[0].id);
        if (!t->instance_id) {
                t->phase = TEST_DONE;
                v->launch_stopped = true;       /* an instance runs that it cannot name */
                verify_emit(v, VERIFY_EVENT_ERROR, -ENOMEM, t, "out of memory", 0);
                verify_pump(v);
                return;
        }
        t->launched = l->items[0].launch_time ?: verify_now(v);
        t->launched_mono = now_usec(CLOCK_MONOTONIC);
        t->phase = TEST_WATCHED;
        v->last_launch = now_usec(CLOCK_MONOTONIC);
        f = verify_fields(v, t);
        log_full(LOG_INFO, 0, NULL, &f, "policy '%s' in %s: launched test instance %s of image %s (%s)",
                 f.policy, f.region, t->instance_id, t->image_id, v->options.policy->verify.instance_type);
        verify_pump(v);
}

static int test_launch(verifier *v, test_instance *t) {
        const policy_verify *pv = &v->options.policy->verify;
        const verify_network *net = policy_verify_network(pv, v->options.region);
        _cleanup_(ec2_tags_done) ec2_tags tags = {};
        char token[80];
        int r;

        r = verify_client_token(pv, v->options.region, t->image_id, t->attempt, token, sizeof(token));
        if (r < 0)
                return r;
        r = verify_instance_tags(v->options.policy, t->image_id, &tags);
        if (r < 0)
                return r;
        t->phase = TEST_LAUNCHING;
        return ec2_run_instances(v->options.ec2, &(ec2_run_instances_request) {
                                         .image_id = t->image_id,
                                         .instance_type = pv->instance_type,
                                         .subnet_id = net ? net->subnet_id : NULL,
                                         .security_group_ids = net ? net->security_group_ids : NULL,
                                         .iam_instance_profile = pv->iam_instance_profile,
                                         .client_token = token,
                                         .tags = &tags,
                                         .delete_on_termination = t->devices,
                                 }, on_launched, t, &t->op);
}

/* The queued entry to launch next: the highest rank. */
static test_instance *next_queued(const verifier *v) {
        test_instance *best = NULL;

        for (size_t i = 0; i < v->n_tests; i++)
                if (v->tests[i]->phase == TEST_QUEUED && (!best || v->tests[i]->rank > best->rank))
                        best = v->tests[i];
        return best;
}

/* ---- Polls ----------------------------------------------------------------------------- */

static int schedule_poll(verifier *v);
static int poll_send(verifier *v);

test_instance *verify_test_by_instance(const verifier *v, const char *instance_id) {
        for (size_t i = 0; i < v->n_tests; i++)
                if (v->tests[i]->instance_id && streq(v->tests[i]->instance_id, instance_id))
                        return v->tests[i];
        return NULL;
}

static void poll_note(test_instance *t, const ec2_instance_status *s) {
        t->listed = s != NULL;
        if (!s)
                return;
        t->state = s->state;
        t->system_status = s->system_status;
        t->instance_status = s->instance_status;
}

/* EC2 names the ids it does not know in its message ("The instance ID 'i-1' does not
 * exist", "The instance IDs 'i-1, i-2' do not exist"): right after RunInstances an id may
 * not be visible yet (eventual consistency). Those are noted unlisted and the others asked
 * again; 0 when the message names none of the chunk. */
static size_t poll_drop_unknown(verifier *v, const aws_error *err) {
        size_t n = 0, kept = 0;

        for (size_t i = 0; v->poll_ids && v->poll_ids[i]; i++) {
                test_instance *t = verify_test_by_instance(v, v->poll_ids[i]);

                if (err->message && strstr(err->message, v->poll_ids[i])) {
                        /* Not listed: verify_judge() waits for it until the timeout. */
                        if (t && t->phase == TEST_WATCHED) {
                                poll_note(t, NULL);
                                test_judge(v, t, false);
                        }
                        free(v->poll_ids[i]);
                        n++;
                } else
                        v->poll_ids[kept++] = v->poll_ids[i];
        }
        if (v->poll_ids)
                v->poll_ids[kept] = NULL;
        return n;
}

static void on_status(int r, ec2_instance_status_list *l, const aws_error *err, void *userdata) {
        verifier *v = userdata;
        bool unknown;

        v->poll = NULL;
        if (r < 0 && err && aws_error_is(err, "InvalidInstanceID.NotFound") && poll_drop_unknown(v, err) > 0 &&
            v->poll_ids && v->poll_ids[0]) {
                r = ec2_describe_instance_status(v->options.ec2, v->poll_ids, on_status, v, &v->poll);
                if (r >= 0)
                        return;
        }
        unknown = r < 0 && err && aws_error_is(err, "InvalidInstanceID.NotFound");
        if (r < 0 && !unknown) {
                log_fields f = verify_fields(v, NULL);

                f.action = "DescribeInstanceStatus";
                exec_log_aws(LOG_WARNING, r, err, &f, "cannot poll test instances, will retry");
        }
        for (size_t i = 0; v->poll_ids && v->poll_ids[i]; i++) {
                test_instance *t = verify_test_by_instance(v, v->poll_ids[i]);
                const ec2_instance_status *s = NULL;

                if (!t || t->phase != TEST_WATCHED)
                        continue;
                if (r < 0 && !unknown) {
                        test_call_failed(v, t, r, err, "DescribeInstanceStatus");
                        continue;
                }
                for (size_t j = 0; r >= 0 && l && j < l->n && !s; j++)
                        if (streq(l->items[j].instance_id, t->instance_id))
                                s = &l->items[j];
                poll_note(t, s);
                test_judge(v, t, false);
        }
        v->poll_ids = strv_free(v->poll_ids);
        /* The next chunk of the round, or the consoles and the launches it allows. */
        r = poll_send(v);
        if (r == 0)
                verify_pump(v);
        else if (r < 0)
                verify_emit(v, VERIFY_EVENT_ERROR, r, NULL, "cannot poll test instances", 0);
}

/* The next chunk of watched instances from poll_next: 1 sent, 0 none left. */
static int poll_send(verifier *v) {
        size_t n = 0;
        int r;

        while (v->poll_next < v->n_tests && n < STATUS_IDS_MAX) {
                test_instance *t = v->tests[v->poll_next++];

                if (t->phase != TEST_WATCHED)
                        continue;
                r = strv_extend(&v->poll_ids, t->instance_id);
                if (r < 0)
                        return r;
                n++;
        }
        if (n == 0)
                return 0;
        r = ec2_describe_instance_status(v->options.ec2, v->poll_ids, on_status, v, &v->poll);
        return r < 0 ? r : 1;
}

static int on_poll_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        verifier *v = userdata;
        int r;

        (void) s;
        (void) usec;
        v->timer_armed = false;
        if (v->poll)
                return 0;       /* a round in flight plans the next when it ends */
        v->poll_next = 0;
        /* A TerminateInstances refused is sent again at the polls' pace. */
        for (size_t i = 0; i < v->n_tests; i++)
                if (v->tests[i]->phase == TEST_TERMINATE_AGAIN)
                        verify_test_terminate(v, v->tests[i]);
        r = poll_send(v);
        if (r == 0)
                verify_pump(v);
        else if (r < 0)
                verify_emit(v, VERIFY_EVENT_ERROR, r, NULL, "cannot poll test instances", 0);
        return 0;
}

/* poll_initial after the youngest launch, then an eighth of its age, at most poll_max. */
static usec_t next_poll_delay(const verifier *v) {
        usec_t age = now_usec(CLOCK_MONOTONIC) - v->last_launch;

        if (age < v->options.poll_initial)
                return v->options.poll_initial - age;
        return MIN(MAX(age / 8, v->options.poll_initial), v->options.poll_max);
}

static int schedule_poll(verifier *v) {
        char description[128];
        int r;

        if (v->timer_armed || v->poll)
                return 0;
        v->timer_armed = true;
        if (!v->timer) {
                r = sd_event_add_time_relative(v->options.event, &v->timer, CLOCK_MONOTONIC, next_poll_delay(v), 0,
                                               on_poll_timer, v);
                if (r < 0)
                        return r;
                snprintf(description, sizeof(description), "verify %s/%s", v->options.policy->name,
                         v->options.region);
                (void) sd_event_source_set_description(v->timer, description);
                return 0;
        }
        r = sd_event_source_set_time_relative(v->timer, next_poll_delay(v));
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(v->timer, SD_EVENT_ONESHOT);
}

/* ---- Moving on ------------------------------------------------------------------------- */

/* Reads the consoles asked for, launches what max_concurrent has room for, arms the next
 * poll while anything is watched; says idle once nothing is left. */
static void pump_once(verifier *v) {
        bool watched = false;
        test_instance *t;
        int r;

        for (size_t i = 0; i < v->n_tests; i++) {
                t = v->tests[i];
                if (t->phase == TEST_CONSOLE && !t->op)
                        test_read_console(v, t);
                else if (t->phase == TEST_REASON && !t->op)
                        test_read_reason(v, t);
                watched = watched || t->phase == TEST_WATCHED || t->phase == TEST_TERMINATE_AGAIN;
        }
        /* alive is counted again each time: a call that fails at once changes it. */
        while (v->recover_done && v->images_in && !v->launch_stopped && !v->options.dry_run &&
               verifier_alive(v) < v->options.policy->verify.max_concurrent && (t = next_queued(v))) {
                r = test_launch(v, t);
                if (r < 0) {
                        t->phase = TEST_DONE;
                        verify_emit(v, VERIFY_EVENT_ERROR, r, t, "cannot launch a test instance", 0);
                }
        }
        if (watched && !v->poll) {
                r = schedule_poll(v);
                if (r < 0)
                        verify_emit(v, VERIFY_EVENT_ERROR, r, NULL, "cannot schedule the test instances' polls", 0);
        }
        emit_idle_if(v);
}

/* Once at a time: a callback that returns at once (a call that fails before it is sent)
 * calls in from inside, and is answered by one more pass. */
void verify_pump(verifier *v) {
        if (v->pumping) {
                v->pump_again = true;
                return;
        }
        v->pumping = true;
        do {
                v->pump_again = false;
                pump_once(v);
        } while (v->pump_again);
        v->pumping = false;
}

/* An image to verify, unless it has a test instance already (one found again). */
int verify_test_queue(verifier *v, const ec2_image *image, const char *source_instance_id, long rank) {
        test_instance *t;
        log_fields f;
        int r;

        if (verify_test_find(v, image->id))
                return 0;
        r = verify_test_new(v, image->id, source_instance_id, &t);
        if (r < 0)
                return r;
        t->rank = rank;
        t->attempt = verify_image_attempt(image);
        r = test_set_devices(t, image);
        if (r < 0)
                return r;
        if (v->options.dry_run) {
                f = verify_fields(v, t);
                log_full(LOG_INFO, 0, NULL, &f, "policy '%s' in %s: would verify %s (%s) with a %s test instance",
                         f.policy, f.region, image->id, image->name ?: source_instance_id ?: "?",
                         v->options.policy->verify.instance_type);
                t->phase = TEST_DONE;
        }
        return 0;
}

int verifier_add(verifier *v, const ec2_image *image, const char *source_instance_id) {
        int r;

        /* The slot's image found again may have its verdict already. */
        if (verify_image_verdict(v->options.policy, image) != VERIFY_UNVERIFIED)
                return 0;
        r = verify_test_queue(v, image, source_instance_id, v->rank_new++);
        if (r < 0)
                return r;
        if (v->images_in && v->recover_done)
                verify_pump(v);
        return 0;
}
