/* SPDX-License-Identifier: MIT */
/*
 * Time zones: which names are valid, how a wall time becomes an instant, and
 * what a zone's clock reads at an instant (for display). All of the module's
 * TZ handling is here, so that a thread-safe conversion can replace it alone.
 * The system's zoneinfo is read through libc (TZ, tzset(), localtime_r()), which
 * knows every zone's history and future rules; TZ is put back as it was after
 * each use. Only tm_gmtoff is used, so the rules for clocks that skip or repeat
 * a wall time are ours, not mktime()'s. Not thread-safe, like the daemon.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schedule/internal.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"

/* Real UTC offsets stay within -12h..+14h; a wider window costs nothing. */
#define ZONE_WINDOW (30 * SEC_PER_HOUR)

/* A relative path of plain components, no "." or ".." or hidden files, no odd characters. */
static bool timezone_name_is_safe(const char *tz) {
        size_t n = strlen(tz);

        if (n == 0 || n > 255 || tz[0] == '/' || tz[n - 1] == '/')
                return false;
        for (const char *p = tz; *p; p++) {
                bool ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                          *p == '_' || *p == '-' || *p == '+' || *p == '.' || *p == '/';

                if (!ok)
                        return false;
                if ((p == tz || p[-1] == '/') && (*p == '.' || *p == '/'))
                        return false;
        }
        return true;
}

bool timezone_is_valid(const char *tz) {
        _cleanup_(freep) char *path = NULL;
        char magic[4];
        struct stat st;
        ssize_t l;
        int fd;

        if (isempty(tz))
                return false;
        if (streq(tz, "UTC"))
                return true;
        if (!timezone_name_is_safe(tz))
                return false;
        /* "localtime" is whatever this host says, so two hosts could disagree on slots; "right/"
         * zones count leap seconds in time_t, which nothing else here does. */
        if (streq(tz, "localtime") || startswith(tz, "right/"))
                return false;
        if (asprintf(&path, ZONEINFO_DIR "/%s", tz) < 0) {
                path = NULL;
                return false;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return false;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return false;
        }
        l = read(fd, magic, sizeof(magic));
        close(fd);
        /* tzfile(5): "The magic four-byte ASCII sequence 'TZif' identifies the file as a time zone information file." */
        return l == (ssize_t) sizeof(magic) && memcmp(magic, "TZif", 4) == 0;
}

void zone_leave(zone *z) {
        if (!z->local)
                return;
        if (z->saved_tz)
                (void) setenv("TZ", z->saved_tz, 1);
        else
                (void) unsetenv("TZ");
        tzset();
        z->saved_tz = mfree(z->saved_tz);
        z->local = false;
}

int zone_enter(zone *z, const char *tz) {
        _cleanup_(freep) char *value = NULL;
        const char *old;

        *z = (zone) {};
        if (!tz || streq(tz, "UTC"))
                return 0;
        if (!timezone_is_valid(tz))
                return -EINVAL;
        /* A path, so that libc reads the very file timezone_is_valid() checked. */
        if (asprintf(&value, ":" ZONEINFO_DIR "/%s", tz) < 0) {
                value = NULL;
                return -ENOMEM;
        }
        old = getenv("TZ");
        if (old) {
                z->saved_tz = strdup(old);
                if (!z->saved_tz)
                        return -ENOMEM;
        }
        if (setenv("TZ", value, 1) < 0) {
                z->saved_tz = mfree(z->saved_tz);
                return -errno;
        }
        tzset();
        z->local = true;
        return 0;
}

int schedule_local_time(time_t t, const char *tz, struct tm *ret) {
        _cleanup_(zone_leave) zone z = {};
        struct tm tm;
        int r;

        r = zone_enter(&z, tz);
        if (r < 0)
                return r;
        if (z.local) {
                /* tm_zone points into glibc's pool of zone abbreviations, which is never freed, so it
                 * stays valid after zone_leave() switches TZ back. */
                if (!localtime_r(&t, &tm))
                        return -ERANGE;
        } else {
                if (!gmtime_r(&t, &tm))
                        return -ERANGE;
                /* gmtime_r() calls its zone "GMT"; the configuration and the rest of the output say UTC. */
                tm.tm_zone = "UTC";
        }
        *ret = tm;
        return 0;
}

/* Seconds east of UTC at instant t. */
static int64_t zone_offset(zone *z, int64_t t) {
        time_t tt = (time_t) t;
        struct tm tm;

        if (!z->local)
                return 0;
        if (!localtime_r(&tt, &tm)) {
                if (z->error == 0)
                        z->error = -ERANGE;
                return 0;
        }
        return tm.tm_gmtoff;
}

/* What the local clock reads at t, in local seconds. */
static int64_t zone_wall(zone *z, int64_t t) {
        return t + zone_offset(z, t);
}

/* The latest wall time the local clock has shown at or before t. It is the wall time at t,
 * except during a repeated hour, when the clock has already been further. */
int64_t zone_max_wall(zone *z, int64_t t) {
        int64_t w = zone_wall(z, t), lo = t - ZONE_WINDOW, hi = t, now = zone_offset(z, t);

        if (!z->local || zone_offset(z, lo) == now)
                return w;
        while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;

                if (zone_offset(z, mid) == now)
                        hi = mid;
                else
                        lo = mid;
        }
        /* hi is the first instant of the current offset: the clock read wall(hi - 1) just before. */
        return MAX(w, zone_wall(z, hi - 1));
}

/* The instants at which the local clock reads w, earliest first: none in a gap, two in an overlap. */
unsigned zone_occurrences(zone *z, int64_t w, int64_t ret[static 3]) {
        int64_t offsets[3];
        unsigned n = 0;

        if (!z->local) {
                ret[0] = w;
                return 1;
        }
        offsets[0] = zone_offset(z, w - ZONE_WINDOW);
        offsets[1] = zone_offset(z, w);
        offsets[2] = zone_offset(z, w + ZONE_WINDOW);
        for (unsigned i = 0; i < 3; i++) {
                int64_t t = w - offsets[i];
                bool dup = false;

                for (unsigned j = 0; j < n; j++)
                        dup = dup || ret[j] == t;
                if (!dup && zone_offset(z, t) == offsets[i])
                        ret[n++] = t;
        }
        for (unsigned i = 1; i < n; i++)
                for (unsigned j = i; j > 0 && ret[j - 1] > ret[j]; j--) {
                        int64_t x = ret[j];

                        ret[j] = ret[j - 1];
                        ret[j - 1] = x;
                }
        return n;
}

/* The first instant at which the local clock reads w or later: the first occurrence of w, or the
 * end of the gap that skips it. */
int zone_first_at_or_after(zone *z, int64_t w, int64_t *ret) {
        int64_t c[3], o[3], lo, hi, a, b;

        if (zone_occurrences(z, w, c) > 0) {
                *ret = c[0];
                return 0;
        }
        /* In a gap the clock jumps from before w (offset a, at w - b) to after it (offset b, at w - a). */
        o[0] = zone_offset(z, w - ZONE_WINDOW);
        o[1] = zone_offset(z, w);
        o[2] = zone_offset(z, w + ZONE_WINDOW);
        a = MIN(o[0], MIN(o[1], o[2]));
        b = MAX(o[0], MAX(o[1], o[2]));
        lo = w - b;
        hi = w - a;
        if (lo >= hi || zone_wall(z, lo) >= w || zone_wall(z, hi) < w)
                return z->error ?: -ERANGE;
        while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;

                if (zone_wall(z, mid) >= w)
                        hi = mid;
                else
                        lo = mid;
        }
        *ret = hi;
        return 0;
}
