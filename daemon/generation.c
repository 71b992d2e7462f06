/* SPDX-License-Identifier: MIT */
/* See generation.h. */
#include "base/log.h"
#include "generation.h"

generation *generation_unref(generation *g) {
        if (!g || --g->n_ref > 0)
                return NULL;
        aws_pool_free(g->pool);
        config_free(g->config);
        return mfree(g);
}

generation *generation_ref(generation *g) {
        g->n_ref++;
        return g;
}

int generation_new(sd_event *event, const manager_options *o, aws_stats *stats, generation **ret,
                   config_diagnostics *ret_diag) {
        config_diagnostics *d = ret_diag;
        generation *g;
        int r;

        *d = (config_diagnostics) {};
        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->n_ref = 1;

        r = config_load_keep_valid(o->config_path, o->policies_dir, &g->config, d);
        for (size_t i = 0; i < d->n; i++) {
                const config_diagnostic *e = &d->items[i];

                log_full(e->severity == CONFIG_SEVERITY_ERROR ? LOG_ERR : LOG_WARNING, 0,
                         e->severity == CONFIG_SEVERITY_ERROR ? MESSAGE_RELOAD_FAILED : NULL, NULL,
                         "%s:%u:%u: %s", e->file ?: "(configuration)", e->line, e->column, e->message);
        }
        if (r < 0) {
                free(g);
                return r;
        }
        r = aws_pool_new(event, g->config, &g->pool);
        if (r < 0) {
                generation_unref(g);
                return r;
        }
        aws_pool_set_stats(g->pool, stats);
        *ret = g;
        return 0;
}
