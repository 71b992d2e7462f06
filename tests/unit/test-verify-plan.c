/* SPDX-License-Identifier: MIT */
/*
 * verify's pure decisions (run/verify-plan.c): an image's verdict, which images wait for
 * one and in what order, the test instance's ClientToken and tags, and the judge on every
 * state EC2 reports, with the timeout's edges (one second before, at).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "run/plan.h"
#include "run/verify-plan.h"

#define DAY 86400
/* 2026-11-26T03:00:00Z */
#define SLOT0 ((time_t) 1795662000)
#define LAUNCHED (SLOT0 + 3600)
#define TIMEOUT (15 * 60)

static policy web_policy(bool verify) {
        return (policy) {
                .name = (char *) "web",
                .schedule = { .kind = SCHEDULE_EVERY, .every = DAY, .at = 3 * 3600 },
                .retain_count = 3,
                .verify = { .set = verify, .instance_type = (char *) "t3.micro", .timeout = TIMEOUT,
                            .max_concurrent = 1 },
        };
}

/* ---- Verdicts -------------------------------------------------------------------------- */

static void image_init(ec2_image *g, char *id, const char *verified) {
        *g = (ec2_image) { .id = id, .state = EC2_IMAGE_AVAILABLE };
        if (verified)
                assert_int_equal(ec2_tags_add(&g->tags, TAG_VERIFIED, verified), 0);
}

static void test_verdict_reads_the_tag_only_with_verify_on(void **state) {
        policy on = web_policy(true), off = web_policy(false);
        ec2_image passed, failed, none, odd;

        (void) state;
        image_init(&passed, "ami-1", "passed");
        image_init(&failed, "ami-2", "failed");
        image_init(&none, "ami-3", NULL);
        image_init(&odd, "ami-4", "Passed");
        assert_int_equal(verify_image_verdict(&on, &passed), VERIFY_PASSED);
        assert_int_equal(verify_image_verdict(&on, &failed), VERIFY_FAILED);
        assert_int_equal(verify_image_verdict(&on, &none), VERIFY_UNVERIFIED);
        /* A value amirotd never writes is no verdict: set aside, never retired on a guess. */
        assert_int_equal(verify_image_verdict(&on, &odd), VERIFY_UNVERIFIED);
        assert_int_equal(verify_image_verdict(&off, &passed), VERIFY_NOT_JUDGED);
        assert_int_equal(verify_image_verdict(&off, &failed), VERIFY_NOT_JUDGED);
        assert_int_equal(verify_image_verdict(&off, &none), VERIFY_NOT_JUDGED);
        ec2_tags_done(&passed.tags);
        ec2_tags_done(&failed.tags);
        ec2_tags_done(&odd.tags);
}

/* ---- Candidates ------------------------------------------------------------------------ */

#define N_IMAGES 16

typedef struct fleet {
        ec2_image images[N_IMAGES];
        size_t n;
} fleet;

static ec2_image *add(fleet *f, char *id, const char *owner, int day, ec2_image_state state) {
        ec2_image *g = &f->images[f->n++];
        char slot[SLOT_ID_MAX];

        assert_true(f->n <= N_IMAGES);
        assert_non_null(slot_id_format(SLOT0 + (time_t) day * DAY, slot));
        *g = (ec2_image) { .id = id, .state = state, .creation_date = SLOT0 + (time_t) day * DAY + 60 };
        assert_int_equal(ec2_tags_add(&g->tags, TAG_POLICY, owner), 0);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_INSTANCE_ID, "i-1"), 0);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_SLOT, slot), 0);
        return g;
}

static void fleet_done(fleet *f) {
        for (size_t i = 0; i < f->n; i++)
                ec2_tags_done(&f->images[i].tags);
}

static void test_candidates_are_own_unjudged_available_images_newest_first(void **state) {
        policy p = web_policy(true);
        const ec2_image **c = NULL;
        fleet f = {};
        size_t n = 99;
        ec2_image *g;

        (void) state;
        add(&f, "ami-old", "web", -3, EC2_IMAGE_AVAILABLE);
        add(&f, "ami-new", "web", -1, EC2_IMAGE_AVAILABLE);
        add(&f, "ami-mid", "web", -2, EC2_IMAGE_AVAILABLE);
        /* Two of the same slot: the later creation first. */
        g = add(&f, "ami-mid2", "web", -2, EC2_IMAGE_AVAILABLE);
        g->creation_date += 60;
        /* Each of these is excluded for one reason. */
        g = add(&f, "ami-copy", "web", -1, EC2_IMAGE_AVAILABLE);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_COPY_OF, "us-east-1/ami-new"), 0);
        add(&f, "ami-other", "db", -1, EC2_IMAGE_AVAILABLE);
        g = add(&f, "ami-released", "web", -4, EC2_IMAGE_AVAILABLE);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_RETIRED_AT, "2026-11-25T03:00:00Z"), 0);
        add(&f, "ami-pending", "web", 0, EC2_IMAGE_PENDING);
        add(&f, "ami-failed", "web", -5, EC2_IMAGE_FAILED);
        add(&f, "ami-disabled", "web", -6, EC2_IMAGE_DISABLED);
        add(&f, "ami-future", "web", 2, EC2_IMAGE_AVAILABLE);
        g = add(&f, "ami-passed", "web", -7, EC2_IMAGE_AVAILABLE);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_VERIFIED, "passed"), 0);
        g = add(&f, "ami-judged-failed", "web", -8, EC2_IMAGE_AVAILABLE);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_VERIFIED, "failed"), 0);
        g = add(&f, "ami-no-instance", "web", -1, EC2_IMAGE_AVAILABLE);
        ec2_tags_done(&g->tags);
        assert_int_equal(ec2_tags_add(&g->tags, TAG_POLICY, "web"), 0);
        /* Listed twice by a page boundary that moved: judged once. */
        f.images[f.n++] = (ec2_image) { .id = (char *) "ami-old", .state = EC2_IMAGE_AVAILABLE,
                                        .creation_date = f.images[0].creation_date };
        assert_int_equal(ec2_tags_copy(&f.images[0].tags, &f.images[f.n - 1].tags), 0);

        assert_int_equal(verify_plan_candidates(&p, f.images, f.n, SLOT0, &c, &n), 0);
        assert_int_equal(n, 4);
        assert_string_equal(c[0]->id, "ami-new");
        assert_string_equal(c[1]->id, "ami-mid2");
        assert_string_equal(c[2]->id, "ami-mid");
        assert_string_equal(c[3]->id, "ami-old");
        free(c);

        /* Once the clock reaches the future slot, its image waits too, first. */
        assert_int_equal(verify_plan_candidates(&p, f.images, f.n, SLOT0 + 2 * DAY, &c, &n), 0);
        assert_int_equal(n, 5);
        assert_string_equal(c[0]->id, "ami-future");
        free(c);
        fleet_done(&f);
}

static void test_candidates_none_without_verify(void **state) {
        policy p = web_policy(false);
        const ec2_image **c = (const ec2_image **) &c;
        fleet f = {};
        size_t n = 99;

        (void) state;
        add(&f, "ami-1", "web", -1, EC2_IMAGE_AVAILABLE);
        assert_int_equal(verify_plan_candidates(&p, f.images, f.n, SLOT0, &c, &n), 0);
        assert_null(c);
        assert_int_equal(n, 0);
        p = web_policy(true);
        assert_int_equal(verify_plan_candidates(&p, f.images, 0, SLOT0, &c, &n), 0);
        assert_null(c);
        assert_int_equal(n, 0);
        fleet_done(&f);
}

/* ---- ClientToken and tags -------------------------------------------------------------- */

static void test_client_token_is_stable_and_fits(void **state) {
        char *groups[] = { (char *) "sg-1", (char *) "sg-2", NULL }, *groups2[] = { (char *) "sg-1", NULL };
        verify_network nets[] = { { .region = (char *) "us-east-1", .subnet_id = (char *) "subnet-a",
                                    .security_group_ids = groups },
                                  { .region = (char *) "eu-west-1", .subnet_id = (char *) "subnet-b" } };
        policy p = web_policy(true);
        char a[65], b[65], small[16], big[128];
        const char *id = "ami-0123456789abcdef0";

        (void) state;
        p.verify.networks = nets;
        p.verify.n_networks = 2;
        assert_int_equal(verify_client_token(&p.verify, "us-east-1", id, 0, a, sizeof(a)), 0);
        assert_int_equal(verify_client_token(&p.verify, "us-east-1", id, 0, b, sizeof(b)), 0);
        assert_string_equal(a, b);
        /* "amirotd-verify-" IMAGE "-" and 16 hex digits. */
        assert_int_equal(strncmp(a, "amirotd-verify-ami-0123456789abcdef0-", 37), 0);
        assert_int_equal(strlen(a), 37 + 16);
        assert_int_equal(strspn(a + 37, "0123456789abcdef"), 16);
        assert_true(strlen(a) <= 64);

        /* Another image, attempt, region's network, type, group list or profile: another token. */
        assert_int_equal(verify_client_token(&p.verify, "us-east-1", "ami-1", 0, b, sizeof(b)), 0);
        assert_string_not_equal(a, b);
        assert_int_equal(verify_client_token(&p.verify, "us-east-1", id, 1, b, sizeof(b)), 0);
        assert_string_not_equal(a, b);
        assert_int_equal(verify_client_token(&p.verify, "eu-west-1", id, 0, b, sizeof(b)), 0);
        assert_string_not_equal(a, b);
        p.verify.instance_type = (char *) "t3.small";
        assert_int_equal(verify_client_token(&p.verify, "us-east-1", id, 0, b, sizeof(b)), 0);
        assert_string_not_equal(a, b);
        p.verify.instance_type = (char *) "t3.micro";
        nets[0].security_group_ids = groups2;
        assert_int_equal(verify_client_token(&p.verify, "us-east-1", id, 0, b, sizeof(b)), 0);
        assert_string_not_equal(a, b);
        nets[0].security_group_ids = groups;
        p.verify.iam_instance_profile = (char *) "verify";
        assert_int_equal(verify_client_token(&p.verify, "us-east-1", id, 0, b, sizeof(b)), 0);
        assert_string_not_equal(a, b);
        p.verify.iam_instance_profile = NULL;
        assert_int_equal(verify_client_token(&p.verify, "us-east-1", id, 0, b, sizeof(b)), 0);
        assert_string_equal(a, b);
        /* A field's end is not confused with the next one's start. */
        p.verify.instance_type = (char *) "t3.microsubnet-a";
        nets[0].subnet_id = (char *) "";
        assert_int_equal(verify_client_token(&p.verify, "us-east-1", id, 0, b, sizeof(b)), 0);
        assert_string_not_equal(a, b);
        p.verify.instance_type = (char *) "t3.micro";
        nets[0].subnet_id = (char *) "subnet-a";

        assert_int_equal(verify_client_token(&p.verify, "us-east-1", id, 0, small, sizeof(small)), -EINVAL);
        assert_int_equal(verify_client_token(&p.verify, "us-east-1", "", 0, a, sizeof(a)), -EINVAL);
        assert_int_equal(verify_client_token(&p.verify, "us-east-1", "ami-\xc3\xa9", 0, a, sizeof(a)), -EINVAL);
        /* Longer than RunInstances' 64 characters even in a big buffer. */
        assert_int_equal(verify_client_token(&p.verify, "us-east-1", "ami-01234567890123456789012345678901", 0, big,
                                             sizeof(big)), -EINVAL);
}

static void test_image_attempt(void **state) {
        ec2_image g;

        (void) state;
        image_init(&g, "ami-1", NULL);
        assert_int_equal(verify_image_attempt(&g), 0);
        assert_int_equal(ec2_tags_add(&g.tags, TAG_VERIFY_ATTEMPT, "3"), 0);
        assert_int_equal(verify_image_attempt(&g), 3);
        ec2_tags_done(&g.tags);
        const char *bad[] = { "", "-1", "+2", "2x", " 2", "0x10", "99999999999999999999", "1.5" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                image_init(&g, "ami-1", NULL);
                assert_int_equal(ec2_tags_add(&g.tags, TAG_VERIFY_ATTEMPT, bad[i]), 0);
                assert_int_equal(verify_image_attempt(&g), 0);
                ec2_tags_done(&g.tags);
        }
}

static void test_instance_tags(void **state) {
        policy p = web_policy(true);
        ec2_tags t = {};

        (void) state;
        assert_int_equal(verify_instance_tags(&p, "ami-0abc", &t), 0);
        assert_int_equal(t.n, 3);
        assert_string_equal(ec2_tags_get(&t, TAG_POLICY), "web");
        assert_string_equal(ec2_tags_get(&t, TAG_VERIFY_OF), "ami-0abc");
        assert_string_equal(ec2_tags_get(&t, "Name"), "amirotd-verify web ami-0abc");
        ec2_tags_done(&t);
        assert_int_equal(verify_instance_tags(&p, "", &t), -EINVAL);
}

/* ---- The judge ------------------------------------------------------------------------- */

static verify_observation seen(ec2_instance_state st, ec2_status_summary sys, ec2_status_summary ins, time_t age) {
        return (verify_observation) { .state = st, .system_status = sys, .instance_status = ins, .console = -1,
                                      .launched = LAUNCHED, .now = LAUNCHED + age };
}

static verify_step judge(const policy_verify *v, verify_observation o, char *reason) {
        memset(reason, 'x', 300);
        return verify_judge(v, &o, reason, 300);
}

static void test_judge_passes_when_running_and_both_ok(void **state) {
        policy p = web_policy(true);
        char reason[300];

        (void) state;
        assert_int_equal(judge(&p.verify, seen(EC2_INSTANCE_RUNNING, EC2_STATUS_OK, EC2_STATUS_OK, 60), reason),
                         VERIFY_PASS);
        assert_string_equal(reason, "");
        /* Past the timeout, a pass is still a pass: the one last look it is owed. */
        assert_int_equal(judge(&p.verify, seen(EC2_INSTANCE_RUNNING, EC2_STATUS_OK, EC2_STATUS_OK, 10 * DAY),
                               reason), VERIFY_PASS);
}

static void test_judge_reads_console_before_passing(void **state) {
        policy p = web_policy(true);
        verify_observation o = seen(EC2_INSTANCE_RUNNING, EC2_STATUS_OK, EC2_STATUS_OK, 60);
        char reason[300];

        (void) state;
        p.verify.console_match = (char *) "login:";
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_READ_CONSOLE);
        o.console = 0;
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_READ_CONSOLE);
        o.console = 1;
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_PASS);
        /* At the timeout, a console that never matched fails. */
        o.console = 0;
        o.now = LAUNCHED + TIMEOUT;
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_FAIL);
        assert_string_equal(reason, "console output did not match 'login:' within 15m");
        o.console = -1;
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_FAIL);
        o.console = 1;
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_PASS);
}

static void test_judge_fails_on_impaired_checks_at_once(void **state) {
        policy p = web_policy(true);
        char reason[300];

        (void) state;
        assert_int_equal(judge(&p.verify, seen(EC2_INSTANCE_RUNNING, EC2_STATUS_OK, EC2_STATUS_IMPAIRED, 60),
                               reason), VERIFY_FAIL);
        assert_string_equal(reason, "status check impaired: instance");
        assert_int_equal(judge(&p.verify, seen(EC2_INSTANCE_RUNNING, EC2_STATUS_INITIALIZING, EC2_STATUS_IMPAIRED,
                                               60), reason), VERIFY_FAIL);
        assert_string_equal(reason, "status check impaired: instance");
}

/* The system status check is EC2's host (API_InstanceStatus): no verdict on the image. */
static void test_judge_abandons_on_an_impaired_host(void **state) {
        policy p = web_policy(true);
        char reason[300];

        (void) state;
        assert_int_equal(judge(&p.verify, seen(EC2_INSTANCE_RUNNING, EC2_STATUS_IMPAIRED, EC2_STATUS_OK, 60),
                               reason), VERIFY_ABANDON);
        assert_string_equal(reason, "status check impaired: system");
        assert_int_equal(judge(&p.verify, seen(EC2_INSTANCE_RUNNING, EC2_STATUS_IMPAIRED, EC2_STATUS_IMPAIRED, 60),
                               reason), VERIFY_ABANDON);
        assert_string_equal(reason, "status check impaired: system and instance");
        assert_int_equal(judge(&p.verify, seen(EC2_INSTANCE_RUNNING, EC2_STATUS_IMPAIRED, EC2_STATUS_OK, 10 * DAY),
                               reason), VERIFY_ABANDON);
}

/* EC2's state reasons (API_StateReason): EC2's own failures and a person's shutdown are
 * no verdict on the image; the image's own shutdown and a missing snapshot are. */
static void test_judge_abandons_when_ec2_or_a_person_ended_it(void **state) {
        static const char *const abandon[] = {
                "Server.InsufficientInstanceCapacity: There was insufficient capacity available",
                "Server.InternalError: Internal error on launch",
                "Server.ScheduledStop: Stopped due to scheduled retirement",
                "Server.SpotInstanceTermination",
                "Client.UserInitiatedShutdown: User initiated shutdown",
                "Client.VolumeLimitExceeded: The limit on the number of EBS volumes was exceeded",
                "Client.InternalError: Client error on launch",
        };
        static const char *const fail[] = {
                "Client.InstanceInitiatedShutdown: Instance initiated shutdown",
                "Client.InvalidSnapshot.NotFound: The specified snapshot was not found",
                "Client.UserInitiatedShutdownX",
                "Server",
                "Something.Else: unknown",
        };
        policy p = web_policy(true);
        verify_observation o;
        char reason[300];

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(abandon); i++)
                for (int stopped = 0; stopped < 2; stopped++) {
                        o = seen(stopped ? EC2_INSTANCE_STOPPED : EC2_INSTANCE_TERMINATED, EC2_STATUS_NOT_APPLICABLE,
                                 EC2_STATUS_NOT_APPLICABLE, 60);
                        o.state_reason = abandon[i];
                        assert_int_equal(judge(&p.verify, o, reason), VERIFY_ABANDON);
                        assert_non_null(strstr(reason, abandon[i]));
                }
        for (size_t i = 0; i < ELEMENTSOF(fail); i++) {
                o = seen(EC2_INSTANCE_TERMINATED, EC2_STATUS_NOT_APPLICABLE, EC2_STATUS_NOT_APPLICABLE, 60);
                o.state_reason = fail[i];
                assert_int_equal(judge(&p.verify, o, reason), VERIFY_FAIL);
                assert_non_null(strstr(reason, fail[i]));
        }
}

static void test_judge_fails_when_the_instance_stops_or_terminates(void **state) {
        policy p = web_policy(true);
        verify_observation o;
        char reason[300];

        (void) state;
        o = seen(EC2_INSTANCE_STOPPED, EC2_STATUS_NOT_APPLICABLE, EC2_STATUS_NOT_APPLICABLE, 60);
        o.state_reason = "Client.InstanceInitiatedShutdown: Instance initiated shutdown";
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_FAIL);
        assert_string_equal(reason, "the instance stopped: Client.InstanceInitiatedShutdown: Instance initiated shutdown");
        o.state = EC2_INSTANCE_STOPPING;
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_FAIL);
        assert_string_equal(reason, "the instance stopped: Client.InstanceInitiatedShutdown: Instance initiated shutdown");
        o.state = EC2_INSTANCE_TERMINATED;
        o.state_reason = "Client.InvalidSnapshot.NotFound: The specified snapshot was not found";
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_FAIL);
        assert_string_equal(reason, "the instance terminated: Client.InvalidSnapshot.NotFound: The specified snapshot was not found");
        o.state = EC2_INSTANCE_SHUTTING_DOWN;
        o.state_reason = NULL;
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_FAIL);
        assert_string_equal(reason, "the instance terminated");
}

static void test_judge_waits_while_booting(void **state) {
        policy p = web_policy(true);
        verify_observation o;
        char reason[300];

        (void) state;
        o = seen(_EC2_INSTANCE_STATE_INVALID, _EC2_STATUS_SUMMARY_INVALID, _EC2_STATUS_SUMMARY_INVALID, 5);
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_WAIT);
        o = seen(EC2_INSTANCE_PENDING, EC2_STATUS_NOT_APPLICABLE, EC2_STATUS_NOT_APPLICABLE, 30);
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_WAIT);
        o = seen(EC2_INSTANCE_RUNNING, EC2_STATUS_INITIALIZING, EC2_STATUS_INITIALIZING, 60);
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_WAIT);
        o = seen(EC2_INSTANCE_RUNNING, EC2_STATUS_OK, EC2_STATUS_INSUFFICIENT_DATA, 60);
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_WAIT);
        /* A clock behind the launch time waits too. */
        o.now = LAUNCHED - 100;
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_WAIT);
}

/* launched 0: the launch time is not known, so the timeout cannot have passed; a final
 * state is still judged. */
static void test_judge_unknown_launch_time_waits(void **state) {
        policy p = web_policy(true);
        verify_observation o;
        char reason[300];

        (void) state;
        o = seen(_EC2_INSTANCE_STATE_INVALID, _EC2_STATUS_SUMMARY_INVALID, _EC2_STATUS_SUMMARY_INVALID, 10 * DAY);
        o.launched = 0;
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_WAIT);
        o = seen(EC2_INSTANCE_PENDING, EC2_STATUS_NOT_APPLICABLE, EC2_STATUS_NOT_APPLICABLE, 10 * DAY);
        o.launched = 0;
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_WAIT);
        o = seen(EC2_INSTANCE_RUNNING, EC2_STATUS_OK, EC2_STATUS_OK, 10 * DAY);
        o.launched = 0;
        p.verify.console_match = (char *) "login:";
        o.console = 0;
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_READ_CONSOLE);
        p.verify.console_match = NULL;
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_PASS);
        o = seen(EC2_INSTANCE_TERMINATED, EC2_STATUS_NOT_APPLICABLE, EC2_STATUS_NOT_APPLICABLE, 10 * DAY);
        o.launched = 0;
        o.state_reason = "Client.InstanceInitiatedShutdown: Instance initiated shutdown";
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_FAIL);
        o.state_reason = "Server.InternalError: Internal error on launch";
        assert_int_equal(judge(&p.verify, o, reason), VERIFY_ABANDON);
}

static void test_judge_timeout_edges(void **state) {
        policy p = web_policy(true);
        char reason[300];

        (void) state;
        assert_int_equal(judge(&p.verify, seen(EC2_INSTANCE_PENDING, EC2_STATUS_NOT_APPLICABLE,
                                               EC2_STATUS_NOT_APPLICABLE, TIMEOUT - 1), reason), VERIFY_WAIT);
        assert_int_equal(judge(&p.verify, seen(EC2_INSTANCE_PENDING, EC2_STATUS_NOT_APPLICABLE,
                                               EC2_STATUS_NOT_APPLICABLE, TIMEOUT), reason), VERIFY_FAIL);
        assert_string_equal(reason, "never left pending within 15m");

        assert_int_equal(judge(&p.verify, seen(EC2_INSTANCE_RUNNING, EC2_STATUS_OK, EC2_STATUS_INITIALIZING,
                                               TIMEOUT - 1), reason), VERIFY_WAIT);
        assert_int_equal(judge(&p.verify, seen(EC2_INSTANCE_RUNNING, EC2_STATUS_OK, EC2_STATUS_INITIALIZING,
                                               TIMEOUT), reason), VERIFY_FAIL);
        assert_string_equal(reason, "status checks not ok within 15m (instance: initializing)");
        /* EC2's host, not the image: no verdict. */
        assert_int_equal(judge(&p.verify, seen(EC2_INSTANCE_RUNNING, EC2_STATUS_INSUFFICIENT_DATA, EC2_STATUS_OK,
                                               TIMEOUT + 1), reason), VERIFY_ABANDON);
        assert_string_equal(reason, "the system status check (EC2's host) not ok within 15m: insufficient-data");
        assert_int_equal(judge(&p.verify, seen(EC2_INSTANCE_RUNNING, EC2_STATUS_INITIALIZING,
                                               EC2_STATUS_INSUFFICIENT_DATA, TIMEOUT), reason), VERIFY_FAIL);
        assert_string_equal(reason, "status checks not ok within 15m (system: initializing, instance: insufficient-data)");
        assert_int_equal(judge(&p.verify, seen(_EC2_INSTANCE_STATE_INVALID, _EC2_STATUS_SUMMARY_INVALID,
                                               _EC2_STATUS_SUMMARY_INVALID, TIMEOUT), reason), VERIFY_ABANDON);
        assert_string_equal(reason, "EC2 did not list the instance within 15m");

        /* The project's duration form: "1h30m". */
        p.verify.timeout = 90 * 60;
        assert_int_equal(judge(&p.verify, seen(EC2_INSTANCE_PENDING, EC2_STATUS_NOT_APPLICABLE,
                                               EC2_STATUS_NOT_APPLICABLE, 90 * 60), reason), VERIFY_FAIL);
        assert_string_equal(reason, "never left pending within 1h30m");
}

/* A reason holds at most 256 characters, cut on a whole UTF-8 sequence, and the buffer. */
static void test_judge_reason_fits_a_tag(void **state) {
        policy p = web_policy(true);
        verify_observation o = seen(EC2_INSTANCE_RUNNING, EC2_STATUS_OK, EC2_STATUS_OK, TIMEOUT);
        char regex[1024], reason[1024], small[24];
        size_t chars = 0;

        (void) state;
        /* 500 two-byte characters "é". */
        for (size_t i = 0; i < 500; i++)
                memcpy(regex + 2 * i, "\xc3\xa9", 2);
        regex[1000] = 0;
        p.verify.console_match = regex;
        o.console = 0;
        assert_int_equal(verify_judge(&p.verify, &o, reason, sizeof(reason)), VERIFY_FAIL);
        for (const char *c = reason; *c; c++)
                chars += ((unsigned char) *c & 0xC0) != 0x80;
        assert_true(chars <= 256);
        assert_non_null(strstr(reason, "' within 15m"));
        assert_int_equal(strncmp(reason, "console output did not match '\xc3\xa9", 32), 0);

        assert_int_equal(verify_judge(&p.verify, &o, small, 20), VERIFY_FAIL);
        assert_string_equal(small, "console output did ");

        /* A cut inside a two-byte sequence drops the whole character. */
        o = seen(EC2_INSTANCE_STOPPED, EC2_STATUS_NOT_APPLICABLE, EC2_STATUS_NOT_APPLICABLE, 60);
        o.state_reason = "\xc3\xa9\xc3\xa9\xc3\xa9";
        assert_int_equal(verify_judge(&p.verify, &o, small, 24), VERIFY_FAIL);
        assert_string_equal(small, "the instance stopped: ");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_verdict_reads_the_tag_only_with_verify_on),
                cmocka_unit_test(test_candidates_are_own_unjudged_available_images_newest_first),
                cmocka_unit_test(test_candidates_none_without_verify),
                cmocka_unit_test(test_client_token_is_stable_and_fits),
                cmocka_unit_test(test_image_attempt),
                cmocka_unit_test(test_instance_tags),
                cmocka_unit_test(test_judge_passes_when_running_and_both_ok),
                cmocka_unit_test(test_judge_reads_console_before_passing),
                cmocka_unit_test(test_judge_fails_on_impaired_checks_at_once),
                cmocka_unit_test(test_judge_abandons_on_an_impaired_host),
                cmocka_unit_test(test_judge_abandons_when_ec2_or_a_person_ended_it),
                cmocka_unit_test(test_judge_fails_when_the_instance_stops_or_terminates),
                cmocka_unit_test(test_judge_waits_while_booting),
                cmocka_unit_test(test_judge_unknown_launch_time_waits),
                cmocka_unit_test(test_judge_timeout_edges),
                cmocka_unit_test(test_judge_reason_fits_a_tag),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
