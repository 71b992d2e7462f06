/* SPDX-License-Identifier: MIT */
/*
 * What the one-shot commands share (commands-common.h): loading the
 * configuration with its diagnostics logged as the service logs them, the
 * selection by --policy, the loop and AWS clients of one command, JSON output.
 */
#include <stdio.h>

#include "commands-common.h"
#include "base/log.h"

json_object *json_str(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

time_t cli_now(const cli_options *o) {
        return o->now != 0 ? o->now : time(NULL);
}

const char *plural(size_t n, const char *one, const char *many) {
        return n == 1 ? one : many;
}

/* Each diagnostic as the service logs it (config_diagnostic_format()): a warning reads the same
 * from `amirotd check` as in the journal. */
static void log_diagnostics(const config_diagnostics *d) {
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_(freep) char *text = NULL;

                if (config_diagnostic_format(&d->items[i], &text) < 0)
                        continue;
                log_full(d->items[i].severity == CONFIG_SEVERITY_ERROR ? LOG_ERR : LOG_WARNING, 0, NULL, NULL,
                         "%s", text);
        }
}

/* 0, or the exit status (already said why). */
int load_config(const cli_options *o, config **ret) {
        _cleanup_(config_diagnostics_done) config_diagnostics d = {};
        int r;

        r = config_load(o->config_path, o->policies_dir, ret, &d);
        log_diagnostics(&d);
        if (r == -ENOMEM) {
                log_error_errno(r, "cannot load the configuration");
                return EXIT_CONFIG;
        }
        if (r < 0) {
                log_error("configuration invalid: %zu %s", d.n_errors, plural(d.n_errors, "error", "errors"));
                return EXIT_CONFIG;
        }
        if (o->policy && !config_find_policy(*ret, o->policy)) {
                log_error("--policy: no policy named '%s'", o->policy);
                *ret = config_free(*ret);
                return EXIT_USAGE;
        }
        log_set_max_level((*ret)->log_level);
        return 0;
}

bool selected(const cli_options *o, const policy *p) {
        return !o->policy || streq(o->policy, p->name);
}

/* The loop and the AWS clients of one command. */
int clients_new(const config *c, sd_event **ret_event, aws_pool **ret_pool) {
        int r;

        r = sd_event_default(ret_event);
        if (r < 0)
                return log_error_errno(r, "cannot create the event loop");
        r = aws_pool_new(*ret_event, c, ret_pool);
        if (r < 0)
                return log_error_errno(r, "cannot set up the AWS client");
        return 0;
}

void print_json(json_object *o) {
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}


char *aws_failure_text(int r, const aws_error *err) {
        char *s = NULL;

        if (asprintf(&s, "%s%s%s", err->code ?: "", err->code && err->message ? ": " : "",
                     err->message ?: err->code ? "" : strerror(-r)) < 0)
                return NULL;
        return s;
}
