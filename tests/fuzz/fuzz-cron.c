/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for cron_parse(), the parser of a policy's `cron:` string.
 * On success the spec must fire (the parser refuses expressions that never do),
 * and the slot arithmetic must keep its invariant for one time; on failure the
 * error must say something.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "schedule/schedule.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(freep) char *expr = NULL, *error = NULL;
        schedule s = { .kind = SCHEDULE_CRON };
        time_t t = 1795704900, slot, next;
        int r;

        if (size > 256)
                return 0;
        expr = strndup((const char *) data, size);
        if (!expr)
                return 0;

        r = cron_parse(expr, &s.cron, &error);
        if (r < 0) {
                assert(r == -EINVAL || r == -ENOMEM);
                assert(r == -ENOMEM || (error && *error));
                return 0;
        }
        assert(!error);
        if (schedule_slot_at(&s, t, &slot) >= 0 && schedule_next_slot_after(&s, t, &next) >= 0)
                assert(slot <= t && t < next);
        return 0;
}
