/* SPDX-License-Identifier: MIT */
/*
 * The recorded EC2 answers of tests/data/ec2/, read whole for the unit tests that parse
 * them (test-query, test-ec2, test-ec2-stream). Include after cmocka.h and base/util.h;
 * the tests run from the repository root.
 */
#pragma once

#include <stdio.h>

#define EC2_DATA "tests/data/ec2/"

/* The file's bytes, NUL-terminated (the NUL not counted in *ret_size); free() them. */
static inline char *read_data(const char *name, size_t *ret_size) {
        _cleanup_(freep) char *path = NULL;
        strbuf b = {};
        char chunk[4096];
        FILE *f;
        size_t n;

        assert_true(asprintf(&path, EC2_DATA "%s", name) > 0);
        f = fopen(path, "re");
        if (!f)
                fail_msg("cannot open %s (run from the repository root)", path);
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                assert_int_equal(strbuf_append(&b, chunk, n), 0);
        fclose(f);
        assert_int_equal(strbuf_append(&b, "", 1), 0);
        *ret_size = b.len - 1;
        return strbuf_steal(&b);
}
