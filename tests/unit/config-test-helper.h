/* SPDX-License-Identifier: MIT */
/*
 * What the configuration's unit tests share (test-config, test-config-retain,
 * test-config-protect, test-config-volumes): loading one policy text from memory, and
 * finding a diagnostic by position, severity and a part of its message. Include after
 * cmocka.h.
 */
#pragma once

#include <stdio.h>
#include <string.h>

#include "config/config.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(config *, config_free);

/* One policy file "policy-1.yaml" holding yaml, and no global file. */
static inline int config_load_policy(const char *yaml, config **ret, config_diagnostics *d) {
        const char *texts[] = { yaml };
        size_t sizes[] = { strlen(yaml) };

        return config_load_from_memory(NULL, 0, texts, sizes, 1, ret, d);
}

/* Whether d has a diagnostic at line:column of severity s whose message contains part;
 * when not, prints them all, for the failing test's output. */
static inline bool config_has_diagnostic(const config_diagnostics *d, unsigned line, unsigned column,
                                         config_severity s, const char *part) {
        for (size_t i = 0; i < d->n; i++)
                if (d->items[i].line == line && d->items[i].column == column && d->items[i].severity == s &&
                    strstr(d->items[i].message, part))
                        return true;
        config_diagnostics_print(d, stderr);
        return false;
}
