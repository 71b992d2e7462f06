/* SPDX-License-Identifier: MIT */
/*
 * See verify.h: the test instances earlier runs left, found by their tags before the run
 * does anything else, and the run's describe of its images, which says of each whether it
 * still waits for a verdict. Either may come first; once both are in, each instance found
 * is watched again or terminated, and the candidates without one are queued.
 */
#include <stdio.h>

#include "run/exec.h"
#include "run/plan.h"
#include "run/verify-internal.h"

/* ---- Recovery -------------------------------------------------------------------------- */

/* Once both the test instances left and the run's images are in: each recovered instance
 * whose image still waits for a verdict is watched, the others are terminated; the
 * candidates without a test instance are queued. */
static void recover_resolve(verifier *v) {
        if (!v->recover_done || !v->images_in)
                return;
        for (size_t i = 0; i < v->n_tests; i++) {
                test_instance *t = v->tests[i];
                const verify_image *g = NULL;

                if (!t->recovered || t->phase != TEST_WATCHED)
                        continue;
                if (t->stale) {
                        verify_test_terminate(v, t);
                        continue;
                }
                for (size_t j = 0; j < v->n_unverified && !g; j++)
                        if (streq(v->unverified[j].image_id, t->image_id))
                                g = &v->unverified[j];
                if (g) {
                        /* Its source instance, for the retirements a pass allows. */
                        if (g->source_id && !t->source_id)
                                t->source_id = strdup(g->source_id);
                        t->attempt = g->attempt;
                        continue;
                }
                t->stale = true;
                snprintf(t->reason, sizeof(t->reason), "its image %s %s", t->image_id,
                         "has a verdict already or is gone");
                verify_test_terminate(v, t);
        }
        verify_images_free(v);
        verify_pump(v);
}

static void on_recovered(int r, ec2_instance_list *l, const aws_error *err, void *userdata) {
        verifier *v = userdata;
        log_fields f = verify_fields(v, NULL);

        v->recover = NULL;
        v->recover_done = true;
        if (r < 0) {
                _cleanup_(freep) char *why = exec_aws_reason(r, err, "DescribeInstances");

                /* Without the instances left, max_concurrent cannot be kept: nothing is launched. */
                f.action = "DescribeInstances";
                exec_log_aws(LOG_ERR, r, err, &f, "cannot find the test instances left by earlier runs");
                v->launch_stopped = true;
                verify_emit(v, VERIFY_EVENT_ERROR, r, NULL, why ?: "cannot find the test instances left", 0);
                verify_pump(v);
                return;
        }
        for (size_t i = 0; l && i < l->n; i++) {
                const ec2_instance *x = &l->items[i];
                const char *image_id = ec2_tags_get(&x->tags, TAG_VERIFY_OF);
                test_instance *t, *queued;

                if (!image_id || verify_test_by_instance(v, x->id))
                        continue;
                /* The run's describe came first and queued the image: this is its test. */
                queued = verify_test_find(v, image_id);
                if (queued && queued->phase == TEST_QUEUED) {
                        t = queued;
                        r = 0;
                } else
                        r = verify_test_new(v, image_id, NULL, &t);
                if (r >= 0 && !(t->instance_id = strdup(x->id)))
                        r = -ENOMEM;
                if (r < 0) {
                        /* An instance that cannot be counted: nothing more is launched. */
                        v->launch_stopped = true;
                        verify_emit(v, VERIFY_EVENT_ERROR, r, NULL, "out of memory", 0);
                        continue;
                }
                t->recovered = true;
                /* Without EC2's launch time, the timeout counts from now. */
                t->launched = x->launch_time ?: verify_now(v);
                /* DescribeInstanceStatus does not say why an instance stopped: this does. */
                if (x->state_reason && !(t->state_reason = strdup(x->state_reason)))
                        verify_emit(v, VERIFY_EVENT_ERROR, -ENOMEM, t, "out of memory", 0);
                v->last_launch = now_usec(CLOCK_MONOTONIC);     /* first polled after poll_initial */
                t->phase = TEST_WATCHED;
                f.image_id = t->image_id;
                f.test_instance_id = t->instance_id;
                log_full(LOG_NOTICE, 0, NULL, &f, "policy '%s' in %s: found test instance %s of image %s (%s) "
                         "left by an earlier run", f.policy, f.region, x->id, image_id,
                         ec2_instance_state_to_string(x->state) ?: "?");
                if (queued && queued != t) {
                        /* A second one of an image that has its test already. */
                        t->stale = true;
                        snprintf(t->reason, sizeof(t->reason), "image %s has another test instance", image_id);
                }
        }
        recover_resolve(v);
}

int verifier_recover(verifier *v) {
        char *policy_values[] = { (char *) v->options.policy->name, NULL };
        char *key_values[] = { (char *) TAG_VERIFY_OF, NULL };
        char *state_values[] = { (char *) "pending", (char *) "running", (char *) "stopping", (char *) "stopped", NULL };
        const ec2_filter filters[] = {
                { .name = "tag:" TAG_POLICY, .values = policy_values },
                { .name = "tag-key", .values = key_values },
                { .name = "instance-state-name", .values = state_values },
        };
        int r;

        if (v->recover_started)
                return -EBUSY;
        v->recover_started = true;
        if (v->options.dry_run) {
                v->recover_done = true;
                return 0;
        }
        r = ec2_describe_instances(v->options.ec2, filters, ELEMENTSOF(filters), on_recovered, v, &v->recover);
        if (r < 0)
                v->recover_done = true;
        return r;
}

/* ---- Images ---------------------------------------------------------------------------- */

int verifier_images(verifier *v, const ec2_image *images, size_t n) {
        const ec2_image **candidates = NULL;
        size_t n_candidates = 0;
        int r;

        if (v->images_in)
                return -EBUSY;
        v->images_in = true;
        if (!v->recover_started)
                v->recover_done = true;
        for (size_t i = 0; i < n; i++) {
                const char *source = ec2_tags_get(&images[i].tags, TAG_INSTANCE_ID);
                verify_image *a;

                if (verify_image_verdict(v->options.policy, &images[i]) != VERIFY_UNVERIFIED)
                        continue;
                a = reallocarray(v->unverified, v->n_unverified + 1, sizeof(*a));
                if (!a)
                        return -ENOMEM;
                v->unverified = a;
                a[v->n_unverified++] = (verify_image) { .image_id = strdup(images[i].id),
                                                        .source_id = source ? strdup(source) : NULL,
                                                        .attempt = verify_image_attempt(&images[i]) };
                if (!a[v->n_unverified - 1].image_id)
                        return -ENOMEM;
        }
        r = verify_plan_candidates(v->options.policy, images, n, v->options.now, &candidates, &n_candidates);
        for (size_t i = 0; r >= 0 && i < n_candidates; i++)
                /* Newest first: each later candidate is older. */
                r = verify_test_queue(v, candidates[i], ec2_tags_get(&candidates[i]->tags, TAG_INSTANCE_ID), v->rank_old--);
        free(candidates);
        if (r < 0)
                return r;
        recover_resolve(v);
        return 0;
}

