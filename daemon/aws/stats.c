/* SPDX-License-Identifier: MIT */
/*
 * See stats.h. A sorted array: a daemon calls a handful of actions and meets a
 * handful of error codes, so a binary search over a few dozen rows is all the
 * structure this needs.
 */
#include <stdio.h>

#include "base/util.h"
#include "retry.h"
#include "stats.h"

struct aws_stats {
        aws_stats_row *rows;
        size_t n;
};

int aws_stats_new(aws_stats **ret) {
        *ret = calloc(1, sizeof(aws_stats));
        return *ret ? 0 : -ENOMEM;
}

aws_stats *aws_stats_free(aws_stats *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n; i++) {
                free(s->rows[i].service);
                free(s->rows[i].action);
                free(s->rows[i].error_code);
        }
        free(s->rows);
        return mfree(s);
}

static int row_cmp(const char *service, const char *action, const char *code, const aws_stats_row *r) {
        int c = strcmp(service, r->service);

        if (c == 0)
                c = strcmp(action, r->action);
        if (c == 0 && !code != !r->error_code)
                c = code ? 1 : -1;      /* the action's own row first */
        if (c == 0 && code)
                c = strcmp(code, r->error_code);
        return c;
}

/* The row of (service, action, code), added if new; NULL when out of memory. */
static aws_stats_row *row_get(aws_stats *s, const char *service, const char *action, const char *code) {
        size_t lo = 0, hi = s->n;
        aws_stats_row *rows, row = {};

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = row_cmp(service, action, code, &s->rows[mid]);

                if (c == 0)
                        return &s->rows[mid];
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        row.service = strdup(service);
        row.action = strdup(action);
        row.error_code = code ? strdup(code) : NULL;
        rows = reallocarray(s->rows, s->n + 1, sizeof(aws_stats_row));
        if (!row.service || !row.action || (code && !row.error_code) || !rows) {
                free(row.service);
                free(row.action);
                free(row.error_code);
                if (rows)
                        s->rows = rows;
                return NULL;
        }
        s->rows = rows;
        memmove(&rows[lo + 1], &rows[lo], (s->n - lo) * sizeof(aws_stats_row));
        rows[lo] = row;
        s->n++;
        return &rows[lo];
}

void aws_stats_record(aws_stats *s, const char *service, const char *action, const char *error_code,
                      long status, bool retry) {
        aws_stats_row *r;
        char code[32];

        if (!s || !service || !action)
                return;
        r = row_get(s, service, action, NULL);
        if (!r)
                return;
        r->attempts++;
        r->retries += retry;
        r->throttles += error_code && retry_code_is_throttling(error_code);
        if (!error_code && status >= 200 && status < 300)
                return;
        if (!error_code) {
                if (status > 0)
                        (void) snprintf(code, sizeof(code), "http_%ld", status);
                else
                        (void) snprintf(code, sizeof(code), "transport");
                error_code = code;
        }
        r = row_get(s, service, action, error_code);
        if (r)
                r->errors++;
}

void aws_stats_record_pace_wakeup(aws_stats *s, const char *service, const char *action) {
        aws_stats_row *r;

        if (!s || !service || !action)
                return;
        r = row_get(s, service, action, NULL);
        if (r)
                r->pace_wakeups++;
}

size_t aws_stats_rows(const aws_stats *s, const aws_stats_row **ret) {
        *ret = s ? s->rows : NULL;
        return s ? s->n : 0;
}
