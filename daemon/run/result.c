/* SPDX-License-Identifier: MIT */
/* What a run did (engine.h's run_result): its counters, one per kind of executor event. */
#include <stdio.h>

#include "run/engine.h"

void run_result_done(run_result *r) {
        plan_done(&r->plan);
        dist_result_done(&r->dist);
        free(r->error);
        *r = (run_result) {};
}

void run_result_count(run_result *r, exec_event_kind k) {
        switch (k) {
        case EXEC_CREATED:
                r->created++;
                break;
        case EXEC_EXISTING:
                r->existing++;
                break;
        case EXEC_RETIRED:
                r->retired++;
                break;
        case EXEC_SNAPSHOT_DELETED:
                r->snapshots_deleted++;
                break;
        case EXEC_SNAPSHOT_LEFT:
                r->snapshots_left++;
                break;
        case EXEC_PROTECTED:
                r->protected++;
                break;
        case EXEC_UNPROTECTED:
                r->unprotected++;
                break;
        case EXEC_KEPT_IN_USE:
                r->kept_in_use++;
                break;
        case EXEC_RELEASED:
                r->released++;
                break;
        case EXEC_DEPRECATED:
                r->deprecated++;
                break;
        case EXEC_DISABLED:
                r->disabled++;
                break;
        case EXEC_RESTORED:
                r->restored++;
                break;
        case EXEC_FAILED:               /* the engine's: with the run's error */
        case EXEC_DONE:                 /* the engine's: its next step */
                break;
        }
}

/* Distribution's part of the extras, each only when it did any of it. */
static const char *dist_extras(const dist_result *d, char buf[static RUN_RESULT_EXTRAS_MAX], size_t n) {
        if (d->shares_added + d->shares_removed > 0 && n < RUN_RESULT_EXTRAS_MAX)
                n += snprintf(buf + n, RUN_RESULT_EXTRAS_MAX - n, ", %u shared, %u unshared",
                              d->shares_added, d->shares_removed);
        if (d->copies_started + d->copies_retired > 0 && n < RUN_RESULT_EXTRAS_MAX)
                n += snprintf(buf + n, RUN_RESULT_EXTRAS_MAX - n, ", %u copies started, %u copies retired",
                              d->copies_started, d->copies_retired);
        if (d->template_versions + d->template_versions_deleted > 0 && n < RUN_RESULT_EXTRAS_MAX)
                n += snprintf(buf + n, RUN_RESULT_EXTRAS_MAX - n, ", %u template versions, %u deleted",
                              d->template_versions, d->template_versions_deleted);
        if (d->ssm_published > 0 && n < RUN_RESULT_EXTRAS_MAX)
                n += snprintf(buf + n, RUN_RESULT_EXTRAS_MAX - n, ", %u SSM parameters written", d->ssm_published);
        if (d->errors > 0 && n < RUN_RESULT_EXTRAS_MAX)
                (void) snprintf(buf + n, RUN_RESULT_EXTRAS_MAX - n, ", %u distribution errors", d->errors);
        return buf;
}

const char *run_result_extras(const run_result *r, char buf[static RUN_RESULT_EXTRAS_MAX]) {
        size_t n = 0;

        buf[0] = '\0';
        if (r->protected + r->unprotected > 0)
                n += snprintf(buf + n, RUN_RESULT_EXTRAS_MAX - n, ", %u protected, %u unprotected",
                              r->protected, r->unprotected);
        if (r->released + r->deprecated + r->disabled + r->restored > 0 && n < RUN_RESULT_EXTRAS_MAX)
                n += snprintf(buf + n, RUN_RESULT_EXTRAS_MAX - n,
                              ", %u released, %u deprecated, %u disabled, %u found restored",
                              r->released, r->deprecated, r->disabled, r->restored);
        if (r->verified + r->verify_failed + r->verify_seconds > 0 && n < RUN_RESULT_EXTRAS_MAX)
                n += snprintf(buf + n, RUN_RESULT_EXTRAS_MAX - n, ", %u verified, %u failed verification, "
                              "%llu test instance-seconds", r->verified, r->verify_failed,
                              (unsigned long long) r->verify_seconds);
        if (r->kept_in_use > 0 && n < RUN_RESULT_EXTRAS_MAX)
                n += snprintf(buf + n, RUN_RESULT_EXTRAS_MAX - n, ", %u kept in use (protect)", r->kept_in_use);
        return dist_extras(&r->dist, buf, n);
}
