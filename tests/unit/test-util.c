/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/util.h"

static void test_strv(void **state) {
        _cleanup_(strv_freep) char **l = NULL;

        (void) state;
        assert_int_equal(strv_length(l), 0);
        assert_int_equal(strv_extend(&l, "a"), 0);
        assert_int_equal(strv_extend(&l, "b"), 0);
        assert_int_equal(strv_length(l), 2);
        assert_true(strv_contains(l, "b"));
        assert_false(strv_contains(l, "c"));
        assert_null(l[2]);
}

static void test_strbuf(void **state) {
        strbuf b = {};
        _cleanup_(freep) char *s = NULL;

        (void) state;
        assert_int_equal(strbuf_puts(&b, "x="), 0);
        assert_int_equal(strbuf_printf(&b, "%d%s", 42, "!"), 0);
        for (int i = 0; i < 1000; i++)
                assert_int_equal(strbuf_append(&b, "y", 1), 0);
        assert_int_equal(b.len, 5 + 1000);
        s = strbuf_steal(&b);
        assert_true(startswith(s, "x=42!yy"));
        assert_null(b.data);
}

static void test_iso8601(void **state) {
        char buf[ISO8601_MAX];
        time_t t;

        (void) state;
        assert_int_equal(parse_iso8601("2026-11-26T14:55:00.000Z", &t), 0);
        assert_int_equal(t, 1795704900);
        assert_string_equal(format_iso8601(t, buf), "2026-11-26T14:55:00Z");
        assert_int_equal(parse_iso8601("2024-02-29T00:00:00Z", &t), 0);
        assert_int_equal(parse_iso8601("2024-02-29T00:00:00+00:00", &t), 0);
        assert_int_equal(parse_iso8601("2024-02-29T00:00:00", &t), -EINVAL);
        assert_int_equal(parse_iso8601("2024-02-29T00:00:00.Z", &t), -EINVAL);
        assert_int_equal(parse_iso8601("garbage", &t), -EINVAL);
        assert_int_equal(parse_iso8601(NULL, &t), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_strv),
                cmocka_unit_test(test_strbuf),
                cmocka_unit_test(test_iso8601),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
