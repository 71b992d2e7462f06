/* SPDX-License-Identifier: MIT */
/*
 * The lowest floor of the configuration loader: the loader's state (which file
 * is being read, where each diagnostic came from) and the diagnostics collector
 * every other piece reports to. Above it: yaml.c (text → tree), value.c
 * (scalars), policy.c and global.c (the two schemas), load.c (files and
 * orchestration). Not for use outside daemon/config/.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

typedef struct loader {
        config *config;
        config_diagnostics *diag;
        const char *file;               /* current file, owned by config->files */
        size_t file_index;
        size_t *diag_file_index;        /* parallel to diag->items, for sorting */
        size_t *policy_file;            /* file_index of each policy, CONFIG_MAX_POLICIES of them */
        size_t cap_diag;
        bool truncated;                 /* CONFIG_MAX_DIAGNOSTICS reached */
        tz_zone **zones;                /* every time zone read by this load, each once */
        size_t n_zones;
        time_t now;                     /* when the load began: slot lengths are measured from it */
        config_pos spread_pos;          /* of the global `spread`; file NULL: the default */
        size_t spread_file_index;
        int oom;                        /* -ENOMEM once an allocation failed */
} loader;

void loader_diag_at(loader *l, unsigned line, unsigned column, config_severity s, const char *fmt, ...) _printf_(5, 6);
/* At a node of the tree (yaml.h): anything with a line and a column, or NULL. */
#define loader_error(l, n, ...) loader_diag_at((l), (n) ? (n)->line : 0, (n) ? (n)->column : 0, CONFIG_SEVERITY_ERROR, __VA_ARGS__)
#define loader_warning(l, n, ...) loader_diag_at((l), (n) ? (n)->line : 0, (n) ? (n)->column : 0, CONFIG_SEVERITY_WARNING, __VA_ARGS__)

/* Sorts by file (reading order), line, column, then the order found; drops exact repeats.
 * Once, after the last file. */
void loader_diagnostics_finish(loader *l);
/* Frees what the collector kept beside l->diag (not the diagnostics themselves). */
void loader_diagnostics_done(loader *l);
