/* SPDX-License-Identifier: MIT */
/*
 * verify's decisions (verify-plan.h), pure: no call, no log, no clock of its own, so that
 * the verdict on every state EC2 can report, and the edges of the timeout, are tested in
 * tests/unit/test-verify-plan.c without a network. run/verify.c asks, then acts.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "run/plan.h"
#include "run/verify-plan.h"

verify_verdict verify_image_verdict(const policy *p, const ec2_image *g) {
        const char *v;

        if (!p->verify.set)
                return VERIFY_NOT_JUDGED;
        v = ec2_tags_get(&g->tags, TAG_VERIFIED);
        if (streq_ptr(v, "passed"))
                return VERIFY_PASSED;
        if (streq_ptr(v, "failed"))
                return VERIFY_FAILED;
        return VERIFY_UNVERIFIED;
}

verify_verdict verify_plan_verdict(const policy *p, const ec2_image *g, const char *const *passed, size_t n) {
        verify_verdict v = verify_image_verdict(p, g);

        if (v != VERIFY_NOT_JUDGED && g->id && n > 0 && bsearch(&g->id, passed, n, sizeof(char *), str_ptr_compare))
                return VERIFY_PASSED;
        return v;
}

/* ---- Candidates ------------------------------------------------------------------------ */

typedef struct candidate {
        const ec2_image *image;
        time_t age_key;                 /* its slot's start, else its creation date */
} candidate;

/* Newest first: slot, creation date, then image id, so that the order is total. */
static int candidate_compare(const void *a, const void *b) {
        const candidate *x = a, *y = b;

        if (x->age_key != y->age_key)
                return x->age_key > y->age_key ? -1 : 1;
        if (x->image->creation_date != y->image->creation_date)
                return x->image->creation_date > y->image->creation_date ? -1 : 1;
        return -strcmp(x->image->id, y->image->id);
}

/* Whether g is one of p's images that verify must still judge at now. The planner manages
 * only images tagged with an instance id (plan.c), so only those are worth a test instance. */
static bool candidate_of(const policy *p, const ec2_image *g, time_t now, time_t *ret_age_key) {
        const char *slot = ec2_tags_get(&g->tags, TAG_SLOT);
        time_t t;

        if (!g->id || !streq_ptr(ec2_tags_get(&g->tags, TAG_POLICY), p->name) ||
            isempty(ec2_tags_get(&g->tags, TAG_INSTANCE_ID)) || plan_image_is_copy(g) ||
            g->state != EC2_IMAGE_AVAILABLE || plan_image_released(g, NULL) ||
            verify_image_verdict(p, g) != VERIFY_UNVERIFIED)
                return false;
        if (!slot || slot_id_parse(slot, &t) < 0)
                t = g->creation_date;
        else if (t > now)
                return false;           /* a future slot (plan.h): set aside until the clock reaches it */
        *ret_age_key = t;
        return true;
}

int verify_plan_candidates(const policy *p, const ec2_image *images, size_t n, time_t now, const ec2_image ***ret,
                           size_t *ret_n) {
        _cleanup_(freep) candidate *c = NULL;
        const ec2_image **found;
        size_t k = 0;

        *ret = NULL;
        *ret_n = 0;
        if (!p->verify.set || n == 0)
                return 0;
        c = calloc(n, sizeof(candidate));
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (candidate_of(p, &images[i], now, &c[k].age_key))
                        c[k++].image = &images[i];
        if (k == 0)
                return 0;
        qsort(c, k, sizeof(candidate), candidate_compare);

        /* An image listed twice (a page boundary that moved) is judged once. */
        found = calloc(k, sizeof(ec2_image *));
        if (!found)
                return -ENOMEM;
        for (size_t i = 0; i < k; i++)
                if (*ret_n == 0 || !streq(found[*ret_n - 1]->id, c[i].image->id))
                        found[(*ret_n)++] = c[i].image;
        *ret = found;
        return 0;
}

/* ---- The test instance ----------------------------------------------------------------- */

/* RunInstances, ClientToken: "Constraints: Maximum 64 ASCII characters". */
#define VERIFY_CLIENT_TOKEN_MAX 64

/* At most 6 digits: a count of tests with no verdict, not a number anyone computes with. */
#define VERIFY_ATTEMPT_DIGITS 6

unsigned verify_image_attempt(const ec2_image *g) {
        const char *s = ec2_tags_get(&g->tags, TAG_VERIFY_ATTEMPT);
        unsigned n = 0;
        size_t len;

        if (!s)
                return 0;
        len = strlen(s);
        if (len == 0 || len > VERIFY_ATTEMPT_DIGITS || strspn(s, "0123456789") != len)
                return 0;
        for (; *s; s++)
                n = n * 10 + (unsigned) (*s - '0');
        return n;
}

/* 64-bit FNV-1a: a fixed, portable hash with no library, so that every host and every
 * build derives the same token. */
#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

static uint64_t fnv1a(uint64_t h, const char *s) {
        for (; s && *s; s++)
                h = (h ^ (unsigned char) *s) * FNV_PRIME;
        return h;
}

/* Ends a field with a byte no field can hold (a C string cannot hold NUL), and a list
 * element with another control character that no id, type or profile holds. */
static uint64_t fnv1a_byte(uint64_t h, unsigned char c) {
        return (h ^ c) * FNV_PRIME;
}

static uint64_t launch_hash(const policy_verify *v, const char *region, unsigned attempt) {
        const verify_network *net = policy_verify_network(v, region);
        char number[16];
        uint64_t h = FNV_OFFSET;

        h = fnv1a_byte(fnv1a(h, v->instance_type), 0);
        h = fnv1a_byte(fnv1a(h, net ? net->subnet_id : NULL), 0);
        for (char **g = net ? net->security_group_ids : NULL; g && *g; g++)
                h = fnv1a_byte(fnv1a(h, *g), 0x1f);
        h = fnv1a_byte(h, 0);
        h = fnv1a_byte(fnv1a(h, v->iam_instance_profile), 0);
        snprintf(number, sizeof(number), "%u", attempt);
        return fnv1a(h, number);
}

int verify_client_token(const policy_verify *v, const char *region, const char *image_id, unsigned attempt,
                        char *buf, size_t size) {
        int n;

        if (isempty(image_id))
                return -EINVAL;
        for (const char *s = image_id; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
                        return -EINVAL;
        n = snprintf(buf, size, "amirotd-verify-%s-%016" PRIx64, image_id, launch_hash(v, region, attempt));
        if (n < 0 || (size_t) n >= size || n > VERIFY_CLIENT_TOKEN_MAX)
                return -EINVAL;
        return 0;
}

int verify_instance_tags(const policy *p, const char *image_id, ec2_tags *ret) {
        _cleanup_(ec2_tags_done) ec2_tags t = {};
        _cleanup_(freep) char *name = NULL;
        int r;

        if (!p->name || isempty(image_id))
                return -EINVAL;
        if (asprintf(&name, "amirotd-verify %s %s", p->name, image_id) < 0)
                return -ENOMEM;
        r = ec2_tags_add(&t, TAG_POLICY, p->name);
        if (r >= 0)
                r = ec2_tags_add(&t, TAG_VERIFY_OF, image_id);
        if (r >= 0)
                r = ec2_tags_add(&t, "Name", name);
        if (r < 0)
                return r;
        *ret = t;
        t = (ec2_tags) {};
        return 0;
}

/* ---- The judge ------------------------------------------------------------------------- */

/* Operator text inside a reason (the regex, EC2's state reason) is cut to this many bytes,
 * so that the words around it still fit a tag's 256 characters. */
#define VERIFY_QUOTED_MAX 180

/* Drops a UTF-8 sequence that vsnprintf() cut short at the end of s. */
static void utf8_drop_partial(char *s) {
        size_t n = strlen(s), start = n, want;
        unsigned char lead;

        while (start > 0 && ((unsigned char) s[start - 1] & 0xC0) == 0x80)
                start--;
        if (start == 0)
                return;
        lead = (unsigned char) s[--start];
        want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (n - start < want)
                s[start] = 0;
}

/* The reason into buf (size bytes), at most EC2_TAG_VALUE_MAX characters, ending on a
 * whole UTF-8 sequence. */
_printf_(3, 4) static void set_reason(char *buf, size_t size, const char *format, ...) {
        va_list ap;
        int n;

        if (!buf || size == 0)
                return;
        va_start(ap, format);
        n = vsnprintf(buf, size, format, ap);
        va_end(ap);
        if (n < 0)
                buf[0] = 0;
        else if ((size_t) n >= size)
                utf8_drop_partial(buf);
        buf[utf8_cut_chars(buf, EC2_TAG_VALUE_MAX)] = 0;
}

static bool instance_gone(ec2_instance_state s) {
        return s == EC2_INSTANCE_SHUTTING_DOWN || s == EC2_INSTANCE_TERMINATED;
}

static bool instance_stopped(ec2_instance_state s) {
        return s == EC2_INSTANCE_STOPPING || s == EC2_INSTANCE_STOPPED;
}

static const char *summary_string(ec2_status_summary s) {
        return ec2_status_summary_to_string(s) ?: "not reported";
}

/* Whether EC2's state reason ("CODE: message") names a cause that is EC2's, a person's or
 * the account's, not the image's (API_StateReason): no verdict. */
static bool reason_not_the_images(const char *state_reason) {
        static const char *const codes[] = { "Client.UserInitiatedShutdown", "Client.VolumeLimitExceeded",
                                             "Client.InternalError" };
        size_t n;

        if (isempty(state_reason))
                return false;
        if (startswith(state_reason, "Server."))
                return true;
        n = strcspn(state_reason, ":");
        for (size_t i = 0; i < ELEMENTSOF(codes); i++)
                if (n == strlen(codes[i]) && strncmp(state_reason, codes[i], n) == 0)
                        return true;
        return false;
}

/* What the instance says now, before the timeout is looked at. */
static verify_step judge_now(const policy_verify *v, const verify_observation *o, char *reason, size_t size) {
        bool system_bad = o->system_status == EC2_STATUS_IMPAIRED,
             instance_bad = o->instance_status == EC2_STATUS_IMPAIRED;

        if (instance_gone(o->state) || instance_stopped(o->state)) {
                const char *what = instance_gone(o->state) ? "terminated" : "stopped";

                if (isempty(o->state_reason))
                        set_reason(reason, size, "the instance %s", what);
                else
                        set_reason(reason, size, "the instance %s: %.*s", what,
                                   (int) utf8_cut_bytes(o->state_reason, VERIFY_QUOTED_MAX), o->state_reason);
                return reason_not_the_images(o->state_reason) ? VERIFY_ABANDON : VERIFY_FAIL;
        }
        if (system_bad || instance_bad) {
                set_reason(reason, size, "status check impaired: %s",
                           system_bad && instance_bad ? "system and instance" : system_bad ? "system" : "instance");
                /* The system check is EC2's host (API_InstanceStatus), not the image. */
                return system_bad ? VERIFY_ABANDON : VERIFY_FAIL;
        }
        if (o->state != EC2_INSTANCE_RUNNING || o->system_status != EC2_STATUS_OK ||
            o->instance_status != EC2_STATUS_OK)
                return VERIFY_WAIT;
        if (v->console_match && o->console != 1)
                return VERIFY_READ_CONSOLE;
        return VERIFY_PASS;
}

/* At the timeout: what the instance was still waiting for, and whose fault that is. An
 * instance EC2 does not list (terminated and left out of DescribeInstanceStatus, or not
 * visible yet) and a system check not ok say nothing of the image: no verdict. */
static verify_step timed_out(const policy_verify *v, const verify_observation *o, char *reason, size_t size) {
        char within[DURATION_MAX];

        format_duration(v->timeout, within);
        if (o->state < 0 || o->state >= _EC2_INSTANCE_STATE_MAX) {
                set_reason(reason, size, "EC2 did not list the instance within %s", within);
                return VERIFY_ABANDON;
        }
        if (o->state == EC2_INSTANCE_RUNNING && o->instance_status == EC2_STATUS_OK &&
            o->system_status != EC2_STATUS_OK) {
                set_reason(reason, size, "the system status check (EC2's host) not ok within %s: %s", within,
                           summary_string(o->system_status));
                return VERIFY_ABANDON;
        }
        if (o->state != EC2_INSTANCE_RUNNING)
                set_reason(reason, size, "never left %s within %s", ec2_instance_state_to_string(o->state), within);
        else if (o->system_status != EC2_STATUS_OK && o->instance_status != EC2_STATUS_OK)
                set_reason(reason, size, "status checks not ok within %s (system: %s, instance: %s)", within,
                           summary_string(o->system_status), summary_string(o->instance_status));
        else if (o->instance_status != EC2_STATUS_OK)
                set_reason(reason, size, "status checks not ok within %s (instance: %s)", within,
                           summary_string(o->instance_status));
        else
                set_reason(reason, size, "console output did not match '%.*s' within %s",
                           (int) utf8_cut_bytes(v->console_match, VERIFY_QUOTED_MAX), v->console_match, within);
        return VERIFY_FAIL;
}

verify_step verify_judge(const policy_verify *v, const verify_observation *o, char *reason, size_t size) {
        verify_step step;

        if (reason && size > 0)
                reason[0] = 0;
        step = judge_now(v, o, reason, size);
        if (step == VERIFY_PASS || step == VERIFY_FAIL || step == VERIFY_ABANDON)
                return step;
        /* "within 15m" counts from the launch: a test instance found after a restart is
         * judged once on what EC2 says now, and fails unless that passes (or is no verdict). A launch time not
         * known (0) is no timeout: a missing field never fails an image. */
        if (o->launched == 0 || (uint64_t) MAX(o->now - o->launched, (time_t) 0) < v->timeout)
                return step;
        return timed_out(v, o, reason, size);
}
