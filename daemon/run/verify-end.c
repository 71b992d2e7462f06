/* SPDX-License-Identifier: MIT */
/*
 * See verify.h: how a test instance ends. The verdict is written on the image first
 * (amirotd:verified, or amirotd:verify-attempt for a test abandoned through no fault of
 * the image), then the instance is terminated, then the verdict is logged and reported
 * with its instance-seconds. A test that ends without a verdict (a call that keeps failing,
 * a verdict that could not be written) terminates its instance all the same and reports
 * an error: the image stays unverified, and the next run tests it again.
 *
 * A TerminateInstances refused keeps the entry alive, so that max_concurrent still counts
 * the instance: InvalidInstanceID.NotFound right after the launch means "not visible yet",
 * and is sent again at each poll; another failure is given up after a few polls, and the
 * next run finds the instance by its tags. Nothing more is launched in this run then.
 */
#include <stdio.h>

#include "run/exec.h"
#include "run/plan.h"
#include "run/verify-internal.h"

void verify_emit(verifier *v, verify_event_kind kind, int error, const test_instance *t, const char *why,
                 uint64_t seconds) {
        v->callback(&(verify_event) { .kind = kind, .error = error, .image_id = t ? t->image_id : NULL,
                                      .instance_id = t ? t->source_id : NULL, .why = why,
                                      .instance_seconds = seconds }, v->userdata);
}

char *verify_call_failed(verifier *v, const test_instance *t, int r, const aws_error *err, const char *action,
                         const char *what) {
        log_fields f = verify_fields(v, t);
        _cleanup_(freep) char *reason = exec_aws_reason(r, err, action);
        char line[512], *why;

        f.action = action;
        snprintf(line, sizeof(line), "%s %s of image %s", what, t->instance_id ?: "a test instance", t->image_id);
        exec_log_aws(LOG_ERR, r, err, &f, line);
        if (asprintf(&why, "%s: %s", line, reason ?: action) < 0)
                return NULL;
        return why;
}

/* One journal line per verdict, once the test instance is terminated. */
static void log_verdict(verifier *v, test_instance *t, uint64_t seconds) {
        log_fields f = verify_fields(v, t);
        bool passed = t->verdict == VERIFY_PASS;
        char secs[32];

        snprintf(secs, sizeof(secs), "%llu", (unsigned long long) seconds);
        f.verdict = passed ? "passed" : "failed";
        f.reason = passed ? NULL : t->reason;
        f.instance_seconds = secs;
        log_full(passed ? LOG_INFO : LOG_ERR, 0, passed ? MESSAGE_IMAGE_VERIFIED : MESSAGE_IMAGE_VERIFY_FAILED, &f,
                 "policy '%s' in %s: image %s of %s %s verification%s%s (test instance %s, %llu instance-seconds)",
                 f.policy, f.region, t->image_id, t->source_id ?: "?", passed ? "passed" : "failed",
                 passed ? "" : ": ", passed ? "" : t->reason, t->instance_id, (unsigned long long) seconds);
}

/* The instance is gone: what the test came to. */
static void test_ended(verifier *v, test_instance *t) {
        uint64_t seconds = (uint64_t) verify_age(v, t);
        log_fields f = verify_fields(v, t);
        _cleanup_(freep) char *why = NULL;
        char secs[32];

        snprintf(secs, sizeof(secs), "%llu", (unsigned long long) seconds);
        f.instance_seconds = secs;
        t->phase = TEST_DONE;
        if (t->stale) {
                log_full(LOG_NOTICE, 0, NULL, &f, "policy '%s' in %s: terminated test instance %s left by an "
                         "earlier run: %s (%llu instance-seconds)", f.policy, f.region, t->instance_id, t->reason,
                         (unsigned long long) seconds);
                verify_emit(v, VERIFY_EVENT_TERMINATED, 0, t, t->reason, seconds);
        } else if (t->error)
                verify_emit(v, VERIFY_EVENT_ERROR, -EIO, t, t->error, seconds);
        else if (t->verdict == VERIFY_ABANDON) {
                if (asprintf(&why, "the test of image %s was abandoned (test instance %s, %llu instance-seconds): "
                             "%s; it is tested again next run", t->image_id, t->instance_id,
                             (unsigned long long) seconds, t->reason) < 0)
                        why = NULL;
                f.reason = t->reason;
                log_full(LOG_ERR, 0, NULL, &f, "policy '%s' in %s: %s", f.policy, f.region, why ?: t->reason);
                verify_emit(v, VERIFY_EVENT_ERROR, -EAGAIN, t, why ?: t->reason, seconds);
        } else {
                log_verdict(v, t, seconds);
                verify_emit(v, t->verdict == VERIFY_PASS ? VERIFY_EVENT_PASSED : VERIFY_EVENT_FAILED, 0, t,
                            t->verdict == VERIFY_PASS ? NULL : t->reason, seconds);
        }
}

static void on_terminated(int r, const aws_error *err, void *userdata) {
        test_instance *t = userdata;
        verifier *v = t->v;
        _cleanup_(freep) char *why = NULL;

        t->op = NULL;
        if (r >= 0)
                test_ended(v, t);
        else if (err && aws_error_is(err, "InvalidInstanceID.NotFound") && verify_age(v, t) < VERIFY_INVISIBLE_MAX)
                t->phase = TEST_TERMINATE_AGAIN;        /* not visible yet */
        else if (++t->terminate_failures < VERIFY_TERMINATE_TRIES) {
                exec_log_aws(LOG_WARNING, r, err, &(log_fields) { .policy = v->options.policy->name,
                                                                  .region = v->options.region,
                                                                  .test_instance_id = t->instance_id,
                                                                  .action = "TerminateInstances" },
                             "cannot terminate a test instance, will retry");
                t->phase = TEST_TERMINATE_AGAIN;
        } else {
                /* Its slot stays taken: nothing more is launched in this run. */
                v->launch_stopped = true;
                why = verify_call_failed(v, t, r, err, "TerminateInstances",
                                         "cannot terminate (the next run does) test instance");
                free(t->error);
                t->error = TAKE_PTR(why);
                if (!t->error)
                        t->error = strdup("cannot terminate a test instance");
                /* A verdict written stands; the error fails the run. */
                if (t->verdict == VERIFY_PASS || t->verdict == VERIFY_FAIL) {
                        log_verdict(v, t, 0);
                        verify_emit(v, t->verdict == VERIFY_PASS ? VERIFY_EVENT_PASSED : VERIFY_EVENT_FAILED, 0,
                                    t, t->verdict == VERIFY_PASS ? NULL : t->reason, 0);
                }
                t->phase = TEST_DONE;
                verify_emit(v, VERIFY_EVENT_ERROR, r, t, t->error ?: "cannot terminate a test instance", 0);
        }
        v->pump(v);
}

void verify_test_terminate(verifier *v, test_instance *t) {
        char *ids[] = { t->instance_id, NULL };
        int r;

        t->phase = TEST_TERMINATING;
        r = ec2_terminate_instances(v->options.ec2, ids, false, on_terminated, t, &t->op);
        if (r < 0)
                on_terminated(r, NULL, t);
}

/* Marked as tried (amirotd:verify-attempt), so that the next run's ClientToken launches a
 * new instance rather than being answered with this one, terminated. */
void verify_test_give_up(verifier *v, test_instance *t, char *why) {
        free(t->error);
        t->error = why ?: strdup("the test ended without a verdict");
        t->verdict = VERIFY_ABANDON;
        verify_test_conclude(v, t);
}

static void on_tagged(int r, const aws_error *err, void *userdata) {
        test_instance *t = userdata;
        verifier *v = t->v;

        t->op = NULL;
        if (r < 0 && t->error)
                verify_test_terminate(v, t);    /* ending without a verdict already */
        else if (r < 0)
                /* No verdict written: the image stays unverified, tested again next run. */
                verify_test_give_up(v, t, verify_call_failed(v, t, r, err, "CreateTags",
                                                             "cannot write the verdict of test instance"));
        else
                verify_test_terminate(v, t);
}

void verify_test_conclude(verifier *v, test_instance *t) {
        _cleanup_(ec2_tags_done) ec2_tags tags = {};
        char *ids[] = { t->image_id, NULL }, attempt[16];
        int r;

        t->phase = TEST_TAGGING;
        if (t->verdict == VERIFY_ABANDON) {
                /* Not the image's fault: the next run tests it on a new instance (a new token). */
                snprintf(attempt, sizeof(attempt), "%u", t->attempt + 1);
                r = ec2_tags_add(&tags, TAG_VERIFY_ATTEMPT, attempt);
        } else {
                r = ec2_tags_add(&tags, TAG_VERIFIED, t->verdict == VERIFY_PASS ? "passed" : "failed");
                if (r >= 0 && t->verdict == VERIFY_FAIL)
                        r = ec2_tags_add(&tags, TAG_VERIFY_REASON, t->reason);
        }
        if (r >= 0)
                r = ec2_create_tags(v->options.ec2, ids, &tags, false, on_tagged, t, &t->op);
        if (r < 0)
                on_tagged(r, NULL, t);
}
