/* SPDX-License-Identifier: MIT */
/*
 * image.volumes and enabled in the configuration (config/policy-image.c): what each
 * form loads to, and a message at file:line:col for every bad input: an unknown value
 * (with a suggestion), device names EC2 would not take, NVMe names, empty lists, a
 * device listed twice and a root device (warnings), an enabled that is no boolean.
 * The dumps are in the golden cases tests/data/config/volumes and err-volumes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "config-test-helper.h"


#define HEAD "name: web\ntargets: {tags: {Role: web}}\nschedule: {every: 24h}\nretain: {count: 3}\n"

static void test_defaults(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(HEAD, &c, &d), 0);
        assert_int_equal(c->policies[0].volumes, POLICY_VOLUMES_ALL);
        assert_false(c->policies[0].disabled);
        assert_null(c->policies[0].exclude_devices);
}

static void test_root_and_enabled(void **state) {
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(HEAD "enabled: false\nimage: {volumes: root}\n", &c, &d), 0);
        assert_int_equal(d.n, 0);
        assert_int_equal(c->policies[0].volumes, POLICY_VOLUMES_ROOT);
        assert_true(c->policies[0].disabled);
}

static void test_exclusions(void **state) {
        static const char text[] = HEAD
                "image:\n"
                "  volumes:\n"
                "    exclude_devices: [/dev/sdf, /dev/xvdg, xvdh, /dev/sdf, /dev/xvda]\n"     /* 7 */
                "    exclude_tags: {Scratch: \"true\", Ephemeral: \"*\"}\n";
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        const policy *p;

        (void) state;
        assert_int_equal(config_load_policy(text, &c, &d), 0);
        p = &c->policies[0];
        assert_int_equal(p->volumes, POLICY_VOLUMES_EXCLUDE);
        assert_int_equal(strv_length(p->exclude_devices), 4);
        assert_string_equal(p->exclude_devices[2], "xvdh");
        assert_int_equal(p->n_exclude_volume_tags, 2);
        assert_string_equal(p->exclude_volume_tags[0].value, "true");
        assert_null(p->exclude_volume_tags[1].value);
        /* two warnings, no error */
        assert_int_equal(d.n, 2);
        assert_int_equal(d.n_errors, 0);
        assert_true(config_has_diagnostic(&d, 7, 50, CONFIG_SEVERITY_WARNING, "'/dev/sdf' is listed twice"));
        assert_true(config_has_diagnostic(&d, 7, 60, CONFIG_SEVERITY_WARNING, "never left out"));
}

static void test_errors(void **state) {
        static const char text[] =
                "- " "name: a\n"
                "  targets: {tags: {Role: a}}\n"
                "  schedule: {every: 24h}\n"
                "  retain: {count: 1}\n"
                "  enabled: nope\n"                                                     /* 5 */
                "  image: {volumes: roots}\n"                                           /* 6 */
                "- name: b\n"
                "  targets: {tags: {Role: b}}\n"
                "  schedule: {every: 24h}\n"
                "  retain: {count: 1}\n"
                "  image:\n"
                "    volumes:\n"
                "      exclude_devices: [/dev/nvme1n1, /dev/hdb, /dev/sdf12x, sdf]\n"   /* 13 */
                "      exclude_tags: {}\n"                                              /* 14 */
                "      exclude_device: [/dev/sdf]\n"                                    /* 15 */
                "- name: c\n"
                "  targets: {tags: {Role: c}}\n"
                "  schedule: {every: 24h}\n"
                "  retain: {count: 1}\n"
                "  image: {volumes: {exclude_devices: []}}\n"                           /* 20 */
                "- name: d\n"
                "  targets: {tags: {Role: d}}\n"
                "  schedule: {every: 24h}\n"
                "  retain: {count: 1}\n"
                "  image: {volumes: {}}\n";                                             /* 25 */
        _cleanup_(config_freep) config *c = NULL;
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};

        (void) state;
        assert_int_equal(config_load_policy(text, &c, &d), -EINVAL);
        assert_null(c);
        assert_true(config_has_diagnostic(&d, 5, 12, CONFIG_SEVERITY_ERROR, "enabled"));
        assert_true(config_has_diagnostic(&d, 6, 20, CONFIG_SEVERITY_ERROR, "did you mean 'root'?"));
        assert_true(config_has_diagnostic(&d, 13, 25, CONFIG_SEVERITY_ERROR, "the name Linux gives an NVMe device"));
        assert_true(config_has_diagnostic(&d, 13, 39, CONFIG_SEVERITY_ERROR, "'/dev/hdb' is not an EC2 device name"));
        assert_true(config_has_diagnostic(&d, 13, 49, CONFIG_SEVERITY_ERROR, "'/dev/sdf12x' is not an EC2 device name"));
        assert_true(config_has_diagnostic(&d, 13, 62, CONFIG_SEVERITY_ERROR, "'sdf' is not an EC2 device name"));
        assert_true(config_has_diagnostic(&d, 14, 21, CONFIG_SEVERITY_ERROR, "'exclude_tags' is empty"));
        assert_true(config_has_diagnostic(&d, 15, 7, CONFIG_SEVERITY_ERROR, "did you mean 'exclude_devices'?"));
        assert_true(config_has_diagnostic(&d, 20, 38, CONFIG_SEVERITY_ERROR, "'exclude_devices' is empty"));
        assert_true(config_has_diagnostic(&d, 25, 20, CONFIG_SEVERITY_ERROR, "needs 'exclude_devices' or 'exclude_tags'"));
        assert_int_equal(d.n, 10);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_root_and_enabled),
                cmocka_unit_test(test_exclusions),
                cmocka_unit_test(test_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
