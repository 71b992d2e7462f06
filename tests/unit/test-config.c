/* SPDX-License-Identifier: MIT */
/*
 * The configuration loader. Golden cases in OpenBSD's regress style: each
 * tests/data/config/NAME/ holds an amirotd.yaml and a policies.d/, and
 * tests/data/config/NAME.ok the expected output: the diagnostics, then the
 * dump when the configuration loads. Cases named err-* must fail to load, all
 * others must load; AMIROTD_REGENERATE=1 (`make golden`) rewrites the .ok
 * files instead of comparing. Then the pieces: durations, templates, limits.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config-test-helper.h"

#define GOLDEN_DIR "tests/data/config"

DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose);

static char *read_all(const char *path, size_t *ret_size) {
        _cleanup_(fclosep) FILE *f = fopen(path, "re");
        strbuf b = {};
        char buf[4096];
        size_t n;

        if (!f)
                return NULL;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
                assert_int_equal(strbuf_append(&b, buf, n), 0);
        if (ret_size)
                *ret_size = b.len;
        return strbuf_steal(&b);
}

/* What `amirotd check --dump` would show for one case. */
static char *run_case(const char *name, int *ret_r) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        _cleanup_(freep) char *path = NULL;
        char *out = NULL;
        size_t size = 0;
        FILE *f;

        assert_true(asprintf(&path, GOLDEN_DIR "/%s/amirotd.yaml", name) > 0);
        *ret_r = config_load(path, NULL, &c, &d);
        f = open_memstream(&out, &size);
        assert_non_null(f);
        config_diagnostics_print(&d, f);
        if (*ret_r == 0) {
                assert_non_null(c);
                assert_int_equal(d.n_errors, 0);
                assert_int_equal(config_dump(f, c), 0);
        } else {
                assert_null(c);
                assert_true(d.n_errors > 0);
        }
        assert_int_equal(fclose(f), 0);
        return out;
}

static int write_atomic(const char *path, const char *data) {
        _cleanup_(freep) char *tmp = NULL;
        FILE *f;

        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        f = fopen(tmp, "we");
        if (!f)
                return -errno;
        fputs(data, f);
        if (fflush(f) != 0 || fsync(fileno(f)) < 0 || fclose(f) != 0) {
                unlink(tmp);
                return -EIO;
        }
        return rename(tmp, path) < 0 ? -errno : 0;
}

static void report_difference(const char *name, const char *want, const char *got) {
        const char *w = want, *g = got;
        unsigned line = 1;

        for (; *want && *want == *got; want++, got++)
                if (*want == '\n') {
                        line++;
                        w = want + 1;
                        g = got + 1;
                }
        print_error("%s.ok differs at line %u:\n  expected: %.*s\n  got:      %.*s\n", name, line,
                    (int) strcspn(w, "\n"), w, (int) strcspn(g, "\n"), g);
}

static int case_filter(const struct dirent *d) {
        return d->d_name[0] != '.' && !strchr(d->d_name, '.');
}

static int case_cmp(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

static void test_golden(void **state) {
        bool regenerate = !isempty(getenv("AMIROTD_REGENERATE"));
        struct dirent **list = NULL;
        unsigned failed = 0, n_err = 0;
        int n;

        (void) state;
        n = scandir(GOLDEN_DIR, &list, case_filter, case_cmp);
        assert_true(n >= 15);
        for (int i = 0; i < n; i++) {
                const char *name = list[i]->d_name;
                _cleanup_(freep) char *got = NULL, *want = NULL, *ok = NULL;
                bool expect_error = startswith(name, "err-");
                int r;

                got = run_case(name, &r);
                n_err += expect_error;
                if ((r < 0) != expect_error || (r < 0 && r != -EINVAL)) {
                        print_error("%s: config_load() returned %d, expected %s:\n%s", name, r,
                                    expect_error ? "-EINVAL" : "0", got);
                        failed++;
                }
                assert_true(asprintf(&ok, GOLDEN_DIR "/%s.ok", name) > 0);
                if (regenerate) {
                        assert_int_equal(write_atomic(ok, got), 0);
                        continue;
                }
                want = read_all(ok, NULL);
                if (!want) {
                        print_error("%s: missing; run `make golden`\n", ok);
                        failed++;
                } else if (!streq(want, got)) {
                        report_difference(name, want, got);
                        failed++;
                }
        }
        for (int i = 0; i < n; i++)
                free(list[i]);
        free(list);
        assert_true(n_err > 0 && n_err < (unsigned) n);
        assert_int_equal(failed, 0);
}

/* ---- Pieces ---- */

static void test_duration(void **state) {
        char buf[DURATION_MAX];
        uint64_t v;

        (void) state;
        assert_int_equal(config_parse_duration("90s", &v), 0);
        assert_int_equal(v, 90);
        assert_int_equal(config_parse_duration("30m", &v), 0);
        assert_int_equal(v, 1800);
        assert_int_equal(config_parse_duration("6h", &v), 0);
        assert_int_equal(v, 6 * 3600);
        assert_int_equal(config_parse_duration("7d", &v), 0);
        assert_int_equal(v, 7 * 86400);
        assert_int_equal(config_parse_duration("2w", &v), 0);
        assert_int_equal(v, 14 * 86400);
        assert_int_equal(config_parse_duration("1h30m", &v), 0);
        assert_int_equal(v, 5400);
        assert_int_equal(config_parse_duration("1w2d3h4m5s", &v), 0);
        assert_int_equal(v, 7 * 86400 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5);

        assert_int_equal(config_parse_duration("", &v), -EINVAL);
        assert_int_equal(config_parse_duration(NULL, &v), -EINVAL);
        assert_int_equal(config_parse_duration("10", &v), -EINVAL);         /* no unit */
        assert_int_equal(config_parse_duration("h", &v), -EINVAL);
        assert_int_equal(config_parse_duration("5x", &v), -EINVAL);
        assert_int_equal(config_parse_duration("30m1h", &v), -EINVAL);      /* largest first */
        assert_int_equal(config_parse_duration("1h1h", &v), -EINVAL);
        assert_int_equal(config_parse_duration("-5m", &v), -EINVAL);
        assert_int_equal(config_parse_duration("1.5h", &v), -EINVAL);
        assert_int_equal(config_parse_duration(" 5m", &v), -EINVAL);
        assert_int_equal(config_parse_duration("0s", &v), -ERANGE);
        assert_int_equal(config_parse_duration("99999999999999999999999w", &v), -ERANGE);
        assert_int_equal(config_parse_duration("5300w", &v), -ERANGE);      /* past 100 years */

        assert_string_equal(format_duration(86400, buf), "1d");
        assert_string_equal(format_duration(5400, buf), "1h30m");
        assert_string_equal(format_duration(14 * 86400, buf), "2w");
        assert_string_equal(format_duration(90, buf), "1m30s");
        assert_string_equal(format_duration(0, buf), "0s");
        /* formatting and parsing agree */
        for (uint64_t s = 1; s < 200000; s += 997) {
                assert_int_equal(config_parse_duration(format_duration(s, buf), &v), 0);
                assert_int_equal(v, s);
        }
}

static void check_template(const char *t, config_template_kind kind, int want, const char *error_part) {
        _cleanup_(freep) char *msg = NULL;
        int r = config_check_template(t, kind, 3, 9, &msg);

        if (r != want)
                print_error("template '%s': %d, expected %d (%s)\n", t, r, want, msg ?: "");
        assert_int_equal(r, want);
        if (error_part) {
                assert_non_null(msg);
                if (!strstr(msg, error_part))
                        print_error("'%s' lacks '%s'\n", msg, error_part);
                assert_non_null(strstr(msg, error_part));
        } else
                assert_null(msg);
}

static void test_template(void **state) {
        char long_name[200];

        (void) state;
        check_template("{policy}-{instance_id}-{slot}", CONFIG_TEMPLATE_NAME, 0, NULL);
        check_template("golden ({region}) [{slot}] @{instance_id}/x_y.z'", CONFIG_TEMPLATE_NAME, 0, NULL);
        check_template("{policy}-{slot}", CONFIG_TEMPLATE_NAME, -EINVAL, "must contain {slot} and {instance_id}");
        check_template("{instance_id}", CONFIG_TEMPLATE_NAME, -EINVAL, "must contain {slot} and {instance_id}");
        check_template("{polcy}-{instance_id}-{slot}", CONFIG_TEMPLATE_NAME, -EINVAL, "did you mean '{policy}'?");
        check_template("{nonsense}-{instance_id}-{slot}", CONFIG_TEMPLATE_NAME, -EINVAL, "unknown placeholder '{nonsense}'");
        check_template("{instance_name}-{instance_id}-{slot}", CONFIG_TEMPLATE_NAME, -EINVAL, "not allowed in the image name");
        check_template("{instance_id}#{slot}", CONFIG_TEMPLATE_NAME, -EINVAL, "character '#'");
        check_template("{instance_id}:{slot}", CONFIG_TEMPLATE_NAME, -EINVAL, "character ':'");
        check_template("{instance_id}-{slot", CONFIG_TEMPLATE_NAME, -EINVAL, "unterminated placeholder");
        check_template("{instance_id}-{sl{ot}", CONFIG_TEMPLATE_NAME, -EINVAL, "invalid placeholder");
        check_template("{instance_id}-{slot}-\xc3\xa9", CONFIG_TEMPLATE_NAME, -EINVAL, "non-ASCII");

        /* 19 + 16 + 93 = 128 fits; one more does not */
        memset(long_name, 'a', sizeof(long_name));
        memcpy(long_name, "{instance_id}{slot}", 19);
        long_name[19 + 93] = 0;
        check_template(long_name, CONFIG_TEMPLATE_NAME, 0, NULL);
        long_name[19 + 93] = 'a';
        long_name[19 + 94] = 0;
        check_template(long_name, CONFIG_TEMPLATE_NAME, -EINVAL, "129 characters long, EC2 allows 128");
        /* {policy} counts as the policy's own length (3 here), {region} as the longest region (9) */
        memcpy(long_name, "{instance_id}{slot}{policy}{region}", 35);
        long_name[35 + 128 - 19 - 16 - 3 - 9] = 0;
        check_template(long_name, CONFIG_TEMPLATE_NAME, 0, NULL);

        check_template("image of {instance_name} ({instance_id}), #{slot}: ok", CONFIG_TEMPLATE_DESCRIPTION, 0, NULL);
        check_template("{instance_name}", CONFIG_TEMPLATE_DESCRIPTION, 0, NULL);
        check_template("{slott}", CONFIG_TEMPLATE_DESCRIPTION, -EINVAL, "did you mean '{slot}'?");

        /* {instance_tag:KEY}: free text, not counted; in names too (cut there before the slot) */
        check_template("{instance_tag:Service}-{instance_id}-{slot}", CONFIG_TEMPLATE_NAME, 0, NULL);
        check_template("{instance_tag:Team} of {instance_tag:aws:autoscaling:groupName}", CONFIG_TEMPLATE_DESCRIPTION,
                       0, NULL);
        check_template("{instance_tag:}", CONFIG_TEMPLATE_DESCRIPTION, -EINVAL, "empty tag key");
        check_template("{instance_tag:Team", CONFIG_TEMPLATE_TAG, -EINVAL, "unterminated placeholder");
        check_template("{instance_tag:a{b}", CONFIG_TEMPLATE_TAG, -EINVAL, "invalid placeholder");
        check_template("{instance_tags:Team}", CONFIG_TEMPLATE_TAG, -EINVAL, "unknown placeholder");
        check_template("{instance_id}", CONFIG_TEMPLATE_TAG, 0, NULL);
        check_template("{instance_name}", CONFIG_TEMPLATE_TAG, 0, NULL);
        check_template("plain value: no placeholder", CONFIG_TEMPLATE_TAG, 0, NULL);
        check_template("{regoin}", CONFIG_TEMPLATE_TAG, -EINVAL, "did you mean '{region}'?");
        /* KEY: 128 characters (EC2's tag key limit), counted as characters, not bytes */
        memset(long_name, 0, sizeof(long_name));
        memcpy(long_name, "{instance_tag:", 14);
        memset(long_name + 14, 'k', 128);
        memcpy(long_name + 14 + 128, "}", 2);
        check_template(long_name, CONFIG_TEMPLATE_TAG, 0, NULL);
        memcpy(long_name + 14 + 128, "k}", 3);
        check_template(long_name, CONFIG_TEMPLATE_TAG, -EINVAL, "longer than 128 characters");
        /* a tag value is held to EC2's 256, not to the description's 255; free text is not counted */
        char v237[238], long_value[400];

        memset(v237, 'v', 237);
        v237[237] = 0;
        snprintf(long_value, sizeof(long_value), "%s%s", v237, "vvvvvvvvvvvvvvvvvvv");
        check_template(long_value, CONFIG_TEMPLATE_TAG, 0, NULL);
        snprintf(long_value, sizeof(long_value), "%s%s", v237, "{instance_id}");
        check_template(long_value, CONFIG_TEMPLATE_TAG, 0, NULL);
        snprintf(long_value, sizeof(long_value), "%s%s", v237, "vvvvvvvvvvvvvvvvvvv{instance_name}{instance_tag:K}");
        check_template(long_value, CONFIG_TEMPLATE_TAG, 0, NULL);
        snprintf(long_value, sizeof(long_value), "%s%s", v237, "v{instance_id}");
        check_template(long_value, CONFIG_TEMPLATE_TAG, -EINVAL, "at least 257 characters long, EC2 allows 256");
        memset(long_name, 'd', sizeof(long_name));
        long_name[sizeof(long_name) - 1] = 0;
        check_template(long_name, CONFIG_TEMPLATE_DESCRIPTION, 0, NULL);
}

static void test_edit_distance(void **state) {
        (void) state;
        assert_int_equal(config_edit_distance("retain", "retain", 2), 0);
        assert_int_equal(config_edit_distance("retian", "retain", 2), 2);
        assert_int_equal(config_edit_distance("shedule", "schedule", 2), 1);
        assert_int_equal(config_edit_distance("regions", "region", 2), 1);
        assert_int_equal(config_edit_distance("abc", "xyz", 2), 3);
        assert_int_equal(config_edit_distance("", "abcdef", 2), 3);
}

/* ---- Loading from memory ---- */

static const char policy_web[] =
        "name: web\n"
        "regions: [eu-west-1, us-east-2]\n"
        "role_arn: arn:aws:iam::111122223333:role/amirotd\n"
        "external_id: ext-42\n"
        "targets:\n"
        "  tags: {Role: web, Golden: yes}\n"
        "  exclude_tags: {amirotd-skip: \"*\"}\n"
        "  states: [running]\n"
        "schedule: {every: 1d, at: \"03:15\", timezone: Europe/Berlin}\n"
        "image:\n"
        "  name: \"{policy}-{instance_id}-{slot}\"\n"
        "  description: \"golden image of {instance_name}\"\n"
        "  reboot: true\n"
        "  copy_instance_tags: yes\n"
        "  tags: {Team: platform, Empty: }\n"
        "  wait_timeout: 3h\n"
        "retain: {count: 7, max_age: 90d}\n";

static void test_policy_fields(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const policy *p;

        (void) state;
        assert_int_equal(config_load_policy(policy_web, &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_int_equal(c->n_policies, 1);
        p = config_find_policy(c, "web");
        assert_non_null(p);
        assert_null(config_find_policy(c, "db"));
        assert_string_equal(p->pos.file, "policy-1.yaml");
        assert_int_equal(p->pos.line, 1);
        assert_int_equal(p->pos.column, 1);
        assert_int_equal(p->name_pos.column, 7);
        assert_int_equal(strv_length(p->regions), 2);
        assert_string_equal(p->regions[1], "us-east-2");
        assert_string_equal(p->role_arn, "arn:aws:iam::111122223333:role/amirotd");
        assert_string_equal(p->external_id, "ext-42");
        assert_int_equal(p->n_tags, 2);
        assert_string_equal(p->tags[1].key, "Golden");
        assert_string_equal(p->tags[1].value, "yes");        /* a string where a string is expected */
        assert_int_equal(p->tags[1].pos.line, 6);
        assert_int_equal(p->tags[1].pos.column, 21);
        assert_int_equal(p->n_exclude_tags, 1);
        assert_null(p->exclude_tags[0].value);                /* "*": any value */
        assert_int_equal(p->states, 1u << EC2_INSTANCE_RUNNING);
        assert_int_equal(p->schedule.kind, SCHEDULE_EVERY);
        assert_int_equal(p->schedule.every, 86400);
        assert_int_equal(p->schedule.at, 3 * 3600 + 15 * 60);
        assert_string_equal(p->schedule.timezone, "Europe/Berlin");
        assert_true(p->reboot);
        assert_true(p->copy_instance_tags);
        assert_int_equal(p->image_tags.n, 2);
        assert_string_equal(p->image_tags.items[1].key, "Empty");
        assert_string_equal(p->image_tags.items[1].value, "");
        assert_int_equal(p->wait_timeout, 3 * 3600);
        assert_int_equal(p->retain_count, 7);
        assert_int_equal(p->retain_max_age, 90 * 86400);
        /* global defaults */
        assert_string_equal(c->default_region, "us-east-1");
        assert_int_equal(c->max_in_flight, 32);
        assert_int_equal(c->pacing[PACE_MUTATING].capacity, 50);
        assert_null(config_endpoint_for(c, "us-east-1"));
}

static void test_defaults_and_endpoints(void **state) {
        static const char global[] =
                "region: eu-central-1\n"
                "endpoint_url: http://127.0.0.1:5000/\n"
                "endpoints: {eu-west-1: \"https://ec2.example.test\"}\n"
                "pacing: {mutating: {capacity: 10}, describe: {refill: 0.5}}\n";
        static const char pol[] =
                "name: db\ntargets: {tags: {Role: db}}\nschedule: {cron: \"0 3 * * 1-5\"}\nretain: {count: 3}\n";
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const char *texts[] = { pol };
        size_t sizes[] = { strlen(pol) };
        const policy *p;

        (void) state;
        assert_int_equal(config_load_from_memory(global, strlen(global), texts, sizes, 1, &c, &d), 0);
        assert_int_equal(d.n, 0);
        p = config_find_policy(c, "db");
        assert_non_null(p);
        assert_string_equal(p->regions[0], "eu-central-1");
        assert_null(p->regions[1]);
        assert_int_equal(p->states, (1u << EC2_INSTANCE_RUNNING) | (1u << EC2_INSTANCE_STOPPED));
        assert_int_equal(p->schedule.kind, SCHEDULE_CRON);
        assert_string_equal(p->schedule.cron_expr, "0 3 * * 1-5");
        assert_true(p->schedule.cron.hours == (1u << 3));
        assert_null(p->schedule.timezone);
        assert_string_equal(p->name_template, "{policy}-{instance_id}-{slot}");
        assert_false(p->reboot);
        assert_int_equal(p->wait_timeout, 7200);
        assert_int_equal(p->retain_max_age, 0);
        assert_string_equal(config_endpoint_for(c, "eu-west-1"), "https://ec2.example.test");
        assert_string_equal(config_endpoint_for(c, "us-east-1"), "http://127.0.0.1:5000");
        assert_int_equal(c->pacing[PACE_MUTATING].capacity, 10);
        assert_int_equal(c->pacing[PACE_MUTATING].refill_per_sec, 5);
        assert_true(c->pacing[PACE_DESCRIBE].refill_per_sec == 0.5);
}

static void test_every_error_in_one_run(void **state) {
        static const char text[] =
                "- name: a\n"                                   /* 1 */
                "  targets: {tags: {}}\n"                       /* 2: empty selector */
                "  schedule: {every: 10}\n"                     /* 3: no unit */
                "  retain: {count: 0}\n"                        /* 4: range */
                "- name: b\n"                                   /* 5 */
                "  target: {tags: {R: x}}\n"                    /* 6: did you mean */
                "  schedule: {cron: \"61 * * * *\"}\n"          /* 7: cron_parse */
                "  retain: {count: 1}\n";
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_null(c);
        assert_true(config_has_diagnostic(&d, 2, 19, CONFIG_SEVERITY_ERROR, "must select its instances by tag"));
        assert_true(config_has_diagnostic(&d, 3, 21, CONFIG_SEVERITY_ERROR, "needs a unit"));
        assert_true(config_has_diagnostic(&d, 4, 19, CONFIG_SEVERITY_ERROR, "between 1 and 1000"));
        assert_true(config_has_diagnostic(&d, 6, 3, CONFIG_SEVERITY_ERROR, "did you mean 'targets'?"));
        /* the misspelled key is one error, not a second one for 'targets' missing */
        assert_int_equal(d.n, 5);
        assert_true(config_has_diagnostic(&d, 7, 20, CONFIG_SEVERITY_ERROR, "invalid cron expression"));
        assert_int_equal(d.n_errors, d.n);
        /* sorted by position */
        for (size_t i = 1; i < d.n; i++)
                assert_true(d.items[i - 1].line < d.items[i].line ||
                            (d.items[i - 1].line == d.items[i].line && d.items[i - 1].column <= d.items[i].column));
}

static void test_billion_laughs(void **state) {
        strbuf b = {};
        _cleanup_(freep) char *text = NULL;
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(strbuf_puts(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"), 0);
        for (int i = 1; i < 10; i++)
                assert_int_equal(strbuf_printf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
                                               i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1), 0);
        text = strbuf_steal(&b);
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_int_equal(d.n, 1);
        assert_non_null(strstr(d.items[0].message, "aliases expand to more than"));
}

static void test_deep_nesting(void **state) {
        char text[4096];
        size_t k = 0;
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        for (int i = 0; i < 1000; i++)
                text[k++] = '[';
        text[k] = 0;
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_int_equal(d.n, 1);
        assert_int_equal(d.items[0].line, 1);
        assert_int_equal(d.items[0].column, CONFIG_MAX_DEPTH + 1);
        assert_non_null(strstr(d.items[0].message, "nesting deeper than 64"));
}

static void test_too_many_policies(void **state) {
        strbuf b = {};
        _cleanup_(freep) char *text = NULL;
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        for (unsigned i = 0; i <= CONFIG_MAX_POLICIES; i++)
                assert_int_equal(strbuf_printf(&b, "- {name: p%u, targets: {tags: {R: x}}, schedule: {every: 1d}, "
                                                   "retain: {count: 1}}\n", i), 0);
        text = strbuf_steal(&b);
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_int_equal(d.n, 1);
        assert_int_equal(d.items[0].line, CONFIG_MAX_POLICIES + 1);
        assert_non_null(strstr(d.items[0].message, "more than 10000 policies"));
}

static void test_many_errors_capped(void **state) {
        strbuf b = {};
        _cleanup_(freep) char *text = NULL;
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        for (unsigned i = 0; i < 3000; i++)
                assert_int_equal(strbuf_printf(&b, "- {nme: p%u, targets: {tags: {R: x}}, schedule: {every: 1d}, "
                                                   "retain: {count: 1}}\n", i), 0);
        text = strbuf_steal(&b);
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_true(d.n <= CONFIG_MAX_DIAGNOSTICS + 1);
        assert_true(d.n_errors > CONFIG_MAX_DIAGNOSTICS);
}

static void test_files(void **state) {
        char dir[] = "/tmp/test-config-XXXXXX";
        _cleanup_(freep) char *main_path = NULL, *pdir = NULL, *big = NULL, *missing = NULL;
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        FILE *f;

        (void) state;
        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&main_path, "%s/amirotd.yaml", dir) > 0);
        assert_true(asprintf(&pdir, "%s/p", dir) > 0);
        assert_true(asprintf(&big, "%s/p/big.yaml", dir) > 0);
        assert_true(asprintf(&missing, "%s/missing.yaml", dir) > 0);

        /* An explicitly named global file must exist. */
        assert_int_equal(config_load(missing, pdir, &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 0, 0, CONFIG_SEVERITY_ERROR, "cannot open"));
        assert_string_equal(d.items[0].file, missing);
        config_diagnostics_done(&d);

        /* An explicitly named policies directory must exist too. */
        f = fopen(main_path, "we");
        assert_non_null(f);
        fputs("policies_dir: p\n", f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(config_load(main_path, NULL, &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 0, 0, CONFIG_SEVERITY_ERROR, "cannot read the policies directory"));
        config_diagnostics_done(&d);

        /* A file past the size limit is refused without parsing. */
        assert_int_equal(mkdir(pdir, 0755), 0);
        f = fopen(big, "we");
        assert_non_null(f);
        for (unsigned i = 0; i <= CONFIG_MAX_FILE_SIZE / 8; i++)
                fputs("# xxxxx\n", f);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(config_load(main_path, NULL, &c, &d), -EINVAL);
        assert_int_equal(d.n, 1);
        assert_string_equal(d.items[0].file, big);
        assert_non_null(strstr(d.items[0].message, "larger than"));
        config_diagnostics_done(&d);

        /* An empty policy file is an error, not "no policies": a reload keeps its old ones. */
        assert_int_equal(truncate(big, 0), 0);
        assert_int_equal(config_load(main_path, NULL, &c, &d), -EINVAL);
        assert_true(config_has_diagnostic(&d, 1, 1, CONFIG_SEVERITY_ERROR, "empty policy file"));
        assert_string_equal(d.items[0].file, big);
        config_diagnostics_done(&d);
        assert_int_equal(config_load_keep_valid(main_path, NULL, &c, &d), 0);
        assert_int_equal(c->n_policies, 0);
        assert_true(config_diagnostics_file_failed(&d, big));
        c = config_free(c);
        config_diagnostics_done(&d);

        /* relative policies_dir is read beside the global file; an empty one is a warning */
        assert_int_equal(unlink(big), 0);
        assert_int_equal(config_load(main_path, NULL, &c, &d), 0);
        assert_string_equal(c->policies_dir, pdir);
        assert_true(config_has_diagnostic(&d, 0, 0, CONFIG_SEVERITY_WARNING, "no policies"));

        assert_int_equal(rmdir(pdir), 0);
        assert_int_equal(unlink(main_path), 0);
        assert_int_equal(rmdir(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_duration),
                cmocka_unit_test(test_template),
                cmocka_unit_test(test_edit_distance),
                cmocka_unit_test(test_policy_fields),
                cmocka_unit_test(test_defaults_and_endpoints),
                cmocka_unit_test(test_every_error_in_one_run),
                cmocka_unit_test(test_billion_laughs),
                cmocka_unit_test(test_deep_nesting),
                cmocka_unit_test(test_too_many_policies),
                cmocka_unit_test(test_many_errors_capped),
                cmocka_unit_test(test_files),
                cmocka_unit_test(test_golden),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
