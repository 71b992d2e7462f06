/* SPDX-License-Identifier: MIT */
/*
 * pace.c with a fake clock: which bucket an action draws from, EC2's
 * capacities and refill rates, the waits the pacer asks for, and the line of
 * waiters each bucket keeps (first come, first served, O(1) to leave).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "aws/pace.h"

#define T0 (1000 * USEC_PER_SEC)

static void test_categories(void **state) {
        static const struct {
                const char *action;
                pace_category category;
        } table[] = {
                { "DescribeInstances", PACE_DESCRIBE },
                { "DescribeImages", PACE_DESCRIBE },
                { "DescribeSnapshots", PACE_DESCRIBE },
                { "GetConsoleOutput", PACE_DESCRIBE },
                { "ListImagesInRecycleBin", PACE_DESCRIBE },
                { "SearchTransitGatewayRoutes", PACE_DESCRIBE },
                { "CreateImage", PACE_MUTATING },
                { "RunInstances", PACE_MUTATING },
                { "TerminateInstances", PACE_MUTATING },
                { "DescribeInstanceStatus", PACE_DESCRIBE },
                { "EnableImageDeprecation", PACE_MUTATING },
                { "AssumeRole", PACE_MUTATING },
                { "CreateTags", PACE_CREATE_TAGS },
                { "DeleteTags", PACE_CREATE_TAGS },
                { "DeregisterImage", PACE_DELETE },
                { "DeleteSnapshot", PACE_DELETE },
                { "CopyImage", PACE_COPY_IMAGE },
                { "ModifyImageAttribute", PACE_MODIFY_ATTRIBUTE },
                { "ModifyInstanceAttribute", PACE_MUTATING },
                { "describeImages", PACE_MUTATING },    /* names are case-sensitive */
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (pace_category_of(table[i].action) != table[i].category)
                        fail_msg("%s: got %s", table[i].action, pace_category_to_string(pace_category_of(table[i].action)));
        assert_int_equal(pace_category_of(""), -EINVAL);
        assert_int_equal(pace_category_of(NULL), -EINVAL);

        for (int c = 0; c < _PACE_CATEGORY_MAX; c++)
                assert_int_equal(pace_category_from_string(pace_category_to_string((pace_category) c)), c);
        assert_int_equal(pace_category_from_string("other"), -EINVAL);
        assert_null(pace_category_to_string(_PACE_CATEGORY_MAX));
}

static void test_default_config(void **state) {
        (void) state;
        /* "Request throttling for the Amazon EC2 API". */
        assert_true(pace_default_config[PACE_DESCRIBE].capacity == 100);
        assert_true(pace_default_config[PACE_DESCRIBE].refill_per_sec == 20);
        assert_true(pace_default_config[PACE_MUTATING].capacity == 50);
        assert_true(pace_default_config[PACE_MUTATING].refill_per_sec == 5);
        assert_true(pace_default_config[PACE_DELETE].capacity == 100);
        assert_true(pace_default_config[PACE_DELETE].refill_per_sec == 5);
        assert_true(pace_default_config[PACE_CREATE_TAGS].capacity == 100);
        assert_true(pace_default_config[PACE_CREATE_TAGS].refill_per_sec == 10);
        assert_true(pace_default_config[PACE_COPY_IMAGE].capacity == 100);
        assert_true(pace_default_config[PACE_COPY_IMAGE].refill_per_sec == 1);
        assert_true(pace_default_config[PACE_MODIFY_ATTRIBUTE].capacity == 100);
        assert_true(pace_default_config[PACE_MODIFY_ATTRIBUTE].refill_per_sec == 5);
        assert_true(pace_default_config[PACE_UNFILTERED].capacity == 50);
        assert_true(pace_default_config[PACE_UNFILTERED].refill_per_sec == 10);
}

/* "Unfiltered and unpaginated non-mutating actions": seven Describe*, and only when the
 * request has neither a filter nor pagination; a bucket apart from the action's usual one. */
static void test_unfiltered_requests(void **state) {
        static const char *const seven[] = {
                "DescribeInstances", "DescribeInstanceStatus", "DescribeNetworkInterfaces", "DescribeSecurityGroups",
                "DescribeSnapshots", "DescribeSpotInstanceRequests", "DescribeVolumes",
        };
        _cleanup_(aws_pacer_freep) aws_pacer *p = NULL;
        pace_waiter w = {};

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(seven); i++) {
                assert_int_equal(pace_category_of_request(seven[i], true), PACE_UNFILTERED);
                assert_int_equal(pace_category_of_request(seven[i], false), PACE_DESCRIBE);
        }
        assert_int_equal(pace_category_of_request("DescribeImages", true), PACE_DESCRIBE);
        assert_int_equal(pace_category_of_request("CreateImage", true), PACE_MUTATING);
        assert_int_equal(pace_category_of_request(NULL, true), -EINVAL);

        assert_int_equal(aws_pacer_new(NULL, &p), 0);
        assert_ptr_not_equal(aws_pacer_bucket(p, "DescribeInstances", true), aws_pacer_bucket(p, "DescribeInstances", false));
        assert_ptr_equal(aws_pacer_bucket(p, "DescribeInstances", true), aws_pacer_bucket(p, "DescribeInstances", true));
        /* 50 at once, then one every 100 ms; the paginated bucket is untouched. */
        for (unsigned i = 0; i < 50; i++)
                assert_int_equal(pace_bucket_enter(aws_pacer_bucket(p, "DescribeInstances", true), &w, T0), 0);
        assert_int_equal(pace_bucket_enter(aws_pacer_bucket(p, "DescribeInstances", true), &w, T0), 100 * USEC_PER_MSEC);
        assert_true(aws_pacer_tokens(p, "DescribeInstances", T0) == 100);
        assert_null(aws_pacer_bucket(NULL, "DescribeInstances", true));
}

/* SSM Parameter Store: one throughput of 40 transactions a second shared by its actions, so
 * GetParameter and PutParameter draw from one bucket; EC2's categories do not move. */
static void test_ssm_parameter_bucket(void **state) {
        _cleanup_(aws_pacer_freep) aws_pacer *p = NULL;
        pace_waiter w = {};

        (void) state;
        assert_int_equal(pace_category_of("GetParameter"), PACE_SSM_PARAMETER);
        assert_int_equal(pace_category_of("PutParameter"), PACE_SSM_PARAMETER);
        assert_int_equal(pace_category_of_request("GetParameter", true), PACE_SSM_PARAMETER);
        assert_int_equal(pace_category_of("GetConsoleOutput"), PACE_DESCRIBE);
        assert_true(pace_default_config[PACE_SSM_PARAMETER].capacity == 40);
        assert_true(pace_default_config[PACE_SSM_PARAMETER].refill_per_sec == 40);

        assert_int_equal(aws_pacer_new(NULL, &p), 0);
        assert_ptr_equal(aws_pacer_bucket(p, "GetParameter", false), aws_pacer_bucket(p, "PutParameter", false));
        /* 40 at once, Gets and Puts together; then one every 25 ms. */
        for (unsigned i = 0; i < 40; i++)
                assert_int_equal(pace_bucket_enter(aws_pacer_bucket(p, i % 2 ? "PutParameter" : "GetParameter", false),
                                                   &w, T0), 0);
        assert_int_equal(pace_bucket_enter(aws_pacer_bucket(p, "PutParameter", false), &w, T0), 25 * USEC_PER_MSEC);
        assert_null(pace_waiter_leave(&w));
        assert_int_equal(aws_pacer_take(p, "GetParameter", T0 + 25 * USEC_PER_MSEC), 0);
        /* EC2's buckets are untouched. */
        assert_true(aws_pacer_tokens(p, "DescribeImages", T0) == 100);
}

/* A bucket's line: nobody overtakes it, the head's wait is the token's, leaving is O(1). */
static void test_line_first_come_first_served(void **state) {
        pace_bucket_config cfg[_PACE_CATEGORY_MAX];
        _cleanup_(aws_pacer_freep) aws_pacer *p = NULL;
        pace_waiter w[6] = {}, *next;
        pace_bucket *b;
        usec_t wait;

        (void) state;
        memcpy(cfg, pace_default_config, sizeof(cfg));
        cfg[PACE_MUTATING] = (pace_bucket_config) { .capacity = 1, .refill_per_sec = 10 };
        assert_int_equal(aws_pacer_new(cfg, &p), 0);
        b = aws_pacer_bucket(p, "CreateImage", false);

        assert_int_equal(pace_bucket_enter(b, &w[0], T0), 0);           /* the one token */
        assert_null(w[0].bucket);
        assert_int_equal(pace_bucket_enter(b, &w[1], T0), 100 * USEC_PER_MSEC);        /* the head: arm a timer */
        for (unsigned i = 2; i < 6; i++)
                assert_int_equal(pace_bucket_enter(b, &w[i], T0), USEC_INFINITY);       /* behind: no timer */
        assert_int_equal(pace_bucket_waiting(b), 5);
        assert_ptr_equal(pace_bucket_head(b), &w[1]);

        /* Too early: nobody goes, and the head learns what is left of its wait. */
        assert_null(pace_bucket_next(b, T0 + 40 * USEC_PER_MSEC, &wait));
        assert_int_equal(wait, 60 * USEC_PER_MSEC);

        /* Leaving from the middle and the tail changes no head; the head's leaving names the next. */
        assert_null(pace_waiter_leave(&w[3]));
        assert_null(pace_waiter_leave(&w[5]));
        assert_null(pace_waiter_leave(&w[5]));                          /* not waiting: nothing */
        assert_null(w[3].bucket);
        next = pace_waiter_leave(&w[1]);
        assert_ptr_equal(next, &w[2]);
        assert_int_equal(pace_bucket_waiting(b), 2);

        /* A token refilled while others wait goes to the head, not to a newcomer. */
        assert_int_equal(pace_bucket_enter(b, &w[5], T0 + 200 * USEC_PER_MSEC), USEC_INFINITY);
        /* 250 ms after the last take: 2.5 tokens, capped at 1 by the capacity. */
        assert_ptr_equal(pace_bucket_next(b, T0 + 250 * USEC_PER_MSEC, &wait), &w[2]);
        assert_int_equal(wait, 0);
        assert_null(pace_bucket_next(b, T0 + 250 * USEC_PER_MSEC, &wait));
        assert_int_equal(wait, 100 * USEC_PER_MSEC);
        assert_ptr_equal(pace_bucket_next(b, T0 + 350 * USEC_PER_MSEC, &wait), &w[4]);
        assert_ptr_equal(pace_bucket_next(b, T0 + 450 * USEC_PER_MSEC, &wait), &w[5]);
        assert_null(pace_bucket_next(b, T0 + 10 * USEC_PER_SEC, &wait));
        assert_int_equal(wait, USEC_INFINITY);
        assert_int_equal(pace_bucket_waiting(b), 0);

        /* A pacer freed with waiters lets go of them. */
        assert_int_equal(pace_bucket_enter(b, &w[0], T0 + 10 * USEC_PER_SEC), 0);
        assert_int_equal(pace_bucket_enter(b, &w[1], T0 + 10 * USEC_PER_SEC), 100 * USEC_PER_MSEC);
        p = aws_pacer_free(p);
        assert_null(w[1].bucket);
}

/* Drains action's full bucket at T0; returns how many went through without waiting. */
static unsigned burst(aws_pacer *p, const char *action, usec_t now) {
        unsigned n = 0;

        while (aws_pacer_take(p, action, now) == 0) {
                n++;
                assert_true(n <= 1000);
        }
        return n;
}

static void test_capacity_and_refill(void **state) {
        static const struct {
                const char *action;
                unsigned capacity;
                usec_t wait_one;        /* 1 / refill rate */
        } table[] = {
                { "DescribeImages", 100, USEC_PER_SEC / 20 },
                { "CreateImage", 50, USEC_PER_SEC / 5 },
                { "DeregisterImage", 100, USEC_PER_SEC / 5 },
                { "DeleteSnapshot", 100, USEC_PER_SEC / 5 },
                { "CreateTags", 100, USEC_PER_SEC / 10 },
                { "CopyImage", 100, USEC_PER_SEC },
                { "ModifyImageAttribute", 100, USEC_PER_SEC / 5 },
        };
        _cleanup_(aws_pacer_freep) aws_pacer *p = NULL;

        (void) state;
        assert_int_equal(aws_pacer_new(NULL, &p), 0);
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                usec_t w;

                /* A new bucket is full: capacity requests go at once. */
                assert_int_equal(burst(p, table[i].action, T0), table[i].capacity);
                assert_true(aws_pacer_tokens(p, table[i].action, T0) < 1e-6);

                /* Then one token per 1/rate seconds. */
                w = aws_pacer_take(p, table[i].action, T0);
                assert_int_equal(w, table[i].wait_one);
                assert_int_not_equal(aws_pacer_take(p, table[i].action, T0 + w - 1), 0);
                assert_int_equal(aws_pacer_take(p, table[i].action, T0 + w), 0);
                /* Half way to the next token: half the wait is left. */
                assert_int_equal(aws_pacer_take(p, table[i].action, T0 + w + w / 2), w - w / 2);
                assert_int_equal(aws_pacer_take(p, table[i].action, T0 + 2 * w), 0);

                /* Long idle: full again, never more than capacity. */
                assert_true(aws_pacer_tokens(p, table[i].action, T0 + 3600 * USEC_PER_SEC) == table[i].capacity);
                assert_int_equal(burst(p, table[i].action, T0 + 3600 * USEC_PER_SEC), table[i].capacity);
        }
}

static void test_per_action_buckets(void **state) {
        _cleanup_(aws_pacer_freep) aws_pacer *p = NULL;

        (void) state;
        assert_int_equal(aws_pacer_new(NULL, &p), 0);
        /* EC2 evaluates each API on its own: draining one does not slow another. */
        assert_int_equal(burst(p, "DescribeImages", T0), 100);
        assert_int_equal(aws_pacer_take(p, "DescribeInstances", T0), 0);
        assert_true(aws_pacer_tokens(p, "DescribeInstances", T0) == 99);
        assert_true(aws_pacer_tokens(p, "DescribeImages", T0) < 1);
}

static void test_sustained_rate(void **state) {
        _cleanup_(aws_pacer_freep) aws_pacer *p = NULL;
        usec_t now = T0;
        unsigned sent = 0;

        (void) state;
        assert_int_equal(aws_pacer_new(NULL, &p), 0);
        /* A caller that always waits as told: 50 at once, then 5 per second. */
        while (now <= T0 + 10 * USEC_PER_SEC) {
                usec_t w = aws_pacer_take(p, "CreateImage", now);

                if (w == 0)
                        sent++;
                else
                        now += w;
        }
        assert_int_equal(sent, 50 + 10 * 5);
}

static void test_custom_config_and_clock(void **state) {
        pace_bucket_config cfg[_PACE_CATEGORY_MAX];
        _cleanup_(aws_pacer_freep) aws_pacer *p = NULL;

        (void) state;
        memcpy(cfg, pace_default_config, sizeof(cfg));
        cfg[PACE_MUTATING] = (pace_bucket_config) { .capacity = 2, .refill_per_sec = 0.5 };
        assert_int_equal(aws_pacer_new(cfg, &p), 0);
        assert_int_equal(burst(p, "CreateImage", T0), 2);
        assert_int_equal(aws_pacer_take(p, "CreateImage", T0), 2 * USEC_PER_SEC);
        /* A clock that goes backwards gives nothing. */
        assert_int_equal(aws_pacer_take(p, "CreateImage", T0 - USEC_PER_SEC), 2 * USEC_PER_SEC);
        assert_int_equal(aws_pacer_take(p, "CreateImage", T0 + 2 * USEC_PER_SEC), 0);

        cfg[PACE_MUTATING].refill_per_sec = 0;
        assert_int_equal(aws_pacer_new(cfg, &p), -EINVAL);      /* p unchanged */
        assert_non_null(p);

        /* No pacer: no pacing. */
        assert_int_equal(aws_pacer_take(NULL, "CreateImage", T0), 0);
}

/* Issue 10, item 10: EC2 throttles per account and region; so does the pacer set. */
static void test_pacers_keyed_by_account_region_service(void **state) {
        _cleanup_(aws_pacers_freep) aws_pacers *s = NULL;
        aws_pacer *a = NULL, *a2 = NULL, *b = NULL, *sts = NULL, *other_region = NULL;

        (void) state;
        assert_int_equal(aws_pacers_new(NULL, &s), 0);
        assert_int_equal(aws_pacers_get(s, "111122223333", "us-east-1", "ec2", &a), 0);
        assert_int_equal(aws_pacers_get(s, "111122223333", "us-east-1", "ec2", &a2), 0);
        assert_ptr_equal(a, a2);
        assert_int_equal(aws_pacers_get(s, "444455556666", "us-east-1", "ec2", &b), 0);
        assert_int_equal(aws_pacers_get(s, "111122223333", "us-east-1", "sts", &sts), 0);
        assert_int_equal(aws_pacers_get(s, "111122223333", "eu-west-1", "ec2", &other_region), 0);
        assert_ptr_not_equal(a, b);
        assert_ptr_not_equal(a, sts);
        assert_ptr_not_equal(a, other_region);
        assert_int_equal(aws_pacers_count(s), 4);

        /* Account 1 empties its CreateImage bucket (50): it waits, account 2 does not. */
        for (unsigned i = 0; i < 50; i++)
                assert_int_equal(aws_pacer_take(a, "CreateImage", T0), 0);
        assert_true(aws_pacer_take(a, "CreateImage", T0) > 0);
        assert_int_equal(aws_pacer_take(b, "CreateImage", T0), 0);
        assert_true(aws_pacer_tokens(b, "CreateImage", T0) > 48.5);
        /* Nor does STS in the same account, nor the same account in another region. */
        assert_int_equal(aws_pacer_take(sts, "CreateImage", T0), 0);
        assert_int_equal(aws_pacer_take(other_region, "CreateImage", T0), 0);

        assert_int_equal(aws_pacers_get(s, "", "us-east-1", "ec2", &a), -EINVAL);
        assert_int_equal(aws_pacers_get(s, "111122223333", NULL, "ec2", &a), -EINVAL);
}

static void test_pacers_config(void **state) {
        pace_bucket_config cfg[_PACE_CATEGORY_MAX];
        _cleanup_(aws_pacers_freep) aws_pacers *s = NULL;
        aws_pacer *p = NULL;

        (void) state;
        memcpy(cfg, pace_default_config, sizeof(cfg));
        cfg[PACE_MUTATING] = (pace_bucket_config) { .capacity = 2, .refill_per_sec = 1 };
        assert_int_equal(aws_pacers_new(cfg, &s), 0);
        assert_int_equal(aws_pacers_get(s, "default credentials", "us-east-1", "ec2", &p), 0);
        assert_int_equal(aws_pacer_take(p, "CreateImage", T0), 0);
        assert_int_equal(aws_pacer_take(p, "CreateImage", T0), 0);
        assert_int_equal(aws_pacer_take(p, "CreateImage", T0), USEC_PER_SEC);

        cfg[PACE_MUTATING].capacity = 0;
        assert_int_equal(aws_pacers_new(cfg, &s), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_categories),
                cmocka_unit_test(test_default_config),
                cmocka_unit_test(test_unfiltered_requests),
                cmocka_unit_test(test_line_first_come_first_served),
                cmocka_unit_test(test_capacity_and_refill),
                cmocka_unit_test(test_per_action_buckets),
                cmocka_unit_test(test_ssm_parameter_bucket),
                cmocka_unit_test(test_sustained_rate),
                cmocka_unit_test(test_custom_config_and_clock),
                cmocka_unit_test(test_pacers_keyed_by_account_region_service),
                cmocka_unit_test(test_pacers_config),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
