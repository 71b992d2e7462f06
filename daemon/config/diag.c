/* SPDX-License-Identifier: MIT */
/*
 * The loader's diagnostics: collected with file, line and column as the pieces
 * above find them, capped at CONFIG_MAX_DIAGNOSTICS, then sorted into reading
 * order once loading is done, so that `amirotd check` lists them as an editor
 * would. Never logged here: the caller prints them (`amirotd check`) or logs
 * them (reload).
 */
#include <stdio.h>

#include "config/diag.h"

static const char *const severity_names[_CONFIG_SEVERITY_MAX] = {
        [CONFIG_SEVERITY_ERROR] = "error",
        [CONFIG_SEVERITY_WARNING] = "warning",
};

const char *config_severity_to_string(config_severity s) {
        return s >= 0 && s < _CONFIG_SEVERITY_MAX ? severity_names[s] : NULL;
}

void config_diagnostics_done(config_diagnostics *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++) {
                free(d->items[i].file);
                free(d->items[i].message);
        }
        free(d->items);
        *d = (config_diagnostics) {};
}

void config_diagnostics_print(const config_diagnostics *d, FILE *f) {
        for (size_t i = 0; i < d->n; i++) {
                const config_diagnostic *x = &d->items[i];
                const char *sev = config_severity_to_string(x->severity);

                if (x->file && x->line > 0)
                        fprintf(f, "%s:%u:%u: %s: %s\n", x->file, x->line, x->column, sev, x->message);
                else if (x->file)
                        fprintf(f, "%s: %s: %s\n", x->file, sev, x->message);
                else
                        fprintf(f, "%s: %s\n", sev, x->message);
        }
}

char *config_diagnostics_where(const config_diagnostics *d) {
        const config_diagnostic *first = NULL;
        size_t others = 0;
        char *s = NULL;
        int r;

        for (size_t i = 0; i < d->n; i++) {
                const config_diagnostic *e = &d->items[i];
                bool seen = false;

                if (e->severity != CONFIG_SEVERITY_ERROR)
                        continue;
                if (!first) {
                        first = e;
                        continue;
                }
                for (size_t j = 0; j < i && !seen; j++)
                        seen = d->items[j].severity == CONFIG_SEVERITY_ERROR && streq_ptr(d->items[j].file, e->file);
                others += !seen;
        }
        if (!first)
                return NULL;
        /* A whole-file error (unreadable, too large) has no line: FILE alone, not FILE:0:0. */
        if (first->line > 0)
                r = asprintf(&s, "%s:%u:%u", first->file ?: "(configuration)", first->line, first->column);
        else
                r = asprintf(&s, "%s", first->file ?: "(configuration)");
        if (r >= 0 && others > 0) {
                char *t = s;

                r = asprintf(&s, "%s and %zu other file%s", t, others, others == 1 ? "" : "s");
                free(t);
        }
        return r < 0 ? NULL : s;
}

bool config_diagnostics_file_failed(const config_diagnostics *d, const char *file) {
        for (size_t i = 0; i < d->n; i++)
                if (d->items[i].severity == CONFIG_SEVERITY_ERROR && streq_ptr(d->items[i].file, file))
                        return true;
        return false;
}

int config_diagnostic_format(const config_diagnostic *x, char **ret) {
        int r;

        if (x->file && x->line > 0)
                r = asprintf(ret, "%s:%u:%u: %s", x->file, x->line, x->column, x->message);
        else if (x->file)
                r = asprintf(ret, "%s: %s", x->file, x->message);
        else
                r = asprintf(ret, "%s", x->message);
        return r < 0 ? -ENOMEM : 0;
}

static void count(config_diagnostics *d, config_severity s) {
        if (s == CONFIG_SEVERITY_ERROR)
                d->n_errors++;
        else
                d->n_warnings++;
}

/* Room for one more diagnostic and its file index. */
static int reserve(loader *l) {
        config_diagnostics *d = l->diag;
        config_diagnostic *items;
        size_t cap, *fi;

        if (d->n < l->cap_diag)
                return 0;
        cap = l->cap_diag ? l->cap_diag * 2 : 16;
        items = reallocarray(d->items, cap, sizeof(config_diagnostic));
        if (!items)
                return -ENOMEM;
        d->items = items;
        fi = reallocarray(l->diag_file_index, cap, sizeof(size_t));
        if (!fi)
                return -ENOMEM;
        l->diag_file_index = fi;
        l->cap_diag = cap;
        return 0;
}

static void diag_add(loader *l, unsigned line, unsigned column, config_severity s, char *message) {
        config_diagnostics *d = l->diag;
        char *file = NULL;

        if (!message || (l->file && !(file = strdup(l->file))) || reserve(l) < 0) {
                free(file);
                free(message);
                l->oom = -ENOMEM;
                return;
        }
        d->items[d->n] = (config_diagnostic) { file, line, column, s, message };
        l->diag_file_index[d->n] = l->file_index;
        d->n++;
        count(d, s);
}

void loader_diag_at(loader *l, unsigned line, unsigned column, config_severity s, const char *fmt, ...) {
        char *m = NULL;
        va_list ap;
        int r;

        if (l->truncated) {
                /* Still counted, so that the result is an error however many there are. */
                if (s == CONFIG_SEVERITY_ERROR)
                        l->diag->n_errors++;
                return;
        }
        if (l->diag->n >= CONFIG_MAX_DIAGNOSTICS) {
                l->truncated = true;
                diag_add(l, line, column, CONFIG_SEVERITY_ERROR, strdup("too many problems, stopping here"));
                return;
        }
        va_start(ap, fmt);
        r = vasprintf(&m, fmt, ap);
        va_end(ap);
        diag_add(l, line, column, s, r < 0 ? NULL : m);
}

static bool diag_before(const loader *l, size_t i, size_t o) {
        const config_diagnostic *x = &l->diag->items[i], *y = &l->diag->items[o];

        if (l->diag_file_index[o] != l->diag_file_index[i])
                return l->diag_file_index[i] < l->diag_file_index[o];
        if (y->line != x->line)
                return x->line < y->line;
        return x->column < y->column;
}

static bool diag_same(const config_diagnostic *a, const config_diagnostic *b) {
        return a->line == b->line && a->column == b->column && a->severity == b->severity &&
               streq_ptr(a->file, b->file) && streq(a->message, b->message);
}

/* A value shared through an alias is reported once. */
void loader_diagnostics_finish(loader *l) {
        config_diagnostics *d = l->diag;
        size_t n = d->n, k = 0;

        /* insertion sort on an index permutation: few items, stable, no global state */
        size_t *order = calloc(n ? n : 1, sizeof(size_t));
        config_diagnostic *sorted = calloc(n ? n : 1, sizeof(config_diagnostic));

        if (!order || !sorted) {
                free(order);
                free(sorted);
                l->oom = -ENOMEM;
                return;
        }
        for (size_t i = 0; i < n; i++) {
                size_t j = i;

                for (; j > 0 && diag_before(l, i, order[j - 1]); j--)
                        order[j] = order[j - 1];
                order[j] = i;
        }
        d->n_errors = d->n_warnings = 0;
        for (size_t i = 0; i < n; i++) {
                config_diagnostic *x = &d->items[order[i]];

                if (k > 0 && diag_same(&sorted[k - 1], x)) {
                        free(x->file);
                        free(x->message);
                        continue;
                }
                sorted[k++] = *x;
                count(d, x->severity);
        }
        if (l->truncated)
                d->n_errors++;          /* errors past the cap were not kept */
        free(d->items);
        free(order);
        d->items = sorted;
        d->n = k;
}

void loader_diagnostics_done(loader *l) {
        l->diag_file_index = mfree(l->diag_file_index);
        l->cap_diag = 0;
}
