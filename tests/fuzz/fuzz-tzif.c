/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for tz_zone_parse(), the reader of TZif zone files
 * (RFC 8536) and their POSIX TZ footers. On failure the reason must be given;
 * on success every instant of years 0..9999 must have a clock reading within
 * the RFC's offset bounds and an abbreviation, and a schedule in the zone must
 * come back from its searches (an answer or an error, never a crash or a hang).
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "schedule/schedule.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const int64_t instants[] = {
                TZ_TIME_MIN, -2208988800, -1, 0, 1774746000, 2147483648, 4102444800, TZ_TIME_MAX,
        };
        const char *why = NULL;
        tz_zone *z = NULL;
        tz_info info;
        schedule s = { .kind = SCHEDULE_EVERY, .every = 86400, .at = 9000 };
        time_t slot, next;
        int64_t t = 0;
        int r;

        r = tz_zone_parse(data, size, "fuzz", &z, &why);
        if (r < 0) {
                assert(r == -EINVAL || r == -EBADMSG || r == -ENOMEM);
                assert(r == -ENOMEM || (why && *why));
                return 0;
        }
        /* Instants from the input too, so that its own transitions are hit. */
        if (size >= 8)
                memcpy(&t, data + size - 8, 8);
        for (size_t i = 0; i <= ELEMENTSOF(instants); i++) {
                int64_t x = i < ELEMENTSOF(instants) ? instants[i] : t;

                r = tz_zone_lookup(z, x, &info);
                if (x < TZ_TIME_MIN || x > TZ_TIME_MAX) {
                        assert(r == -ERANGE);
                        continue;
                }
                assert(r == 0);
                assert(info.offset >= -89999 && info.offset <= 93599);
                assert(info.abbr);
                (void) strlen(info.abbr);
        }
        s.zone = z;
        if (schedule_slot_at(&s, 1795704900, &slot) >= 0 && schedule_next_slot_after(&s, slot, &next) >= 0)
                (void) next;
        tz_zone_unref(z);
        return 0;
}
