/* SPDX-License-Identifier: MIT */
/*
 * Loading the configuration: the global file amirotd.yaml and every *.yaml
 * file of the policies directory, parsed with libyaml into the plain structs
 * of policy.h. Every problem found is collected as a diagnostic with file,
 * line and column, so that one `amirotd check` shows them all. config_load()
 * yields no configuration at all on any error; config_load_keep_valid(), the
 * service's, leaves out only the policy files with errors. Pure apart from
 * reading the files: nothing here logs.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "policy.h"

#define CONFIG_DEFAULT_PATH "/etc/amirotd/amirotd.yaml"
#define CONFIG_DEFAULT_POLICIES_DIR "/etc/amirotd/policies.d"

/* Bounds that keep hostile or broken input from costing more than a bad file should. */
#define CONFIG_MAX_FILE_SIZE (1024U * 1024U)    /* bytes per file */
#define CONFIG_MAX_DEPTH 64U                    /* nesting of mappings and sequences */
#define CONFIG_MAX_NODES 1000000U               /* nodes per file, aliases expanded */
#define CONFIG_MAX_POLICIES 10000U
#define CONFIG_MAX_DIAGNOSTICS 1000U            /* then one "too many errors" and stop */

typedef enum config_severity {
        CONFIG_SEVERITY_ERROR,
        CONFIG_SEVERITY_WARNING,
        _CONFIG_SEVERITY_MAX,
        _CONFIG_SEVERITY_INVALID = -EINVAL,
} config_severity;

const char *config_severity_to_string(config_severity s);

typedef struct config_diagnostic {
        char *file;                     /* NULL: not about one file */
        unsigned line;                  /* 1-based; 0: the whole file */
        unsigned column;                /* 1-based */
        config_severity severity;
        char *message;
} config_diagnostic;

typedef struct config_diagnostics {
        config_diagnostic *items;       /* sorted by file (in reading order), line, column */
        size_t n;
        size_t n_errors;
        size_t n_warnings;
} config_diagnostics;

void config_diagnostics_done(config_diagnostics *d);
/* One line each: "FILE:LINE:COL: error: MESSAGE" (or "FILE: error: ..." for a whole file). */
void config_diagnostics_print(const config_diagnostics *d, FILE *f);
/* "FILE:LINE:COL" of the first error, with " and N other file(s)" when more files have one:
 * what the service's status line shows. NULL: no error (or out of memory). Caller frees. */
char *config_diagnostics_where(const config_diagnostics *d);
/* Whether d has an error in file (a policy file config_load_keep_valid() left out). */
bool config_diagnostics_file_failed(const config_diagnostics *d, const char *file);
/* One diagnostic as the logs say it, the severity being the log level: "FILE:LINE:COL: MESSAGE",
 * "FILE: MESSAGE" for a whole file, or "MESSAGE". The command line and the service log
 * each diagnostic with this text, so that a warning reads the same from both. 0 or -ENOMEM. */
int config_diagnostic_format(const config_diagnostic *x, char **ret);

/*
 * Reads main_path (NULL: CONFIG_DEFAULT_PATH, which may be missing: then every
 * global default applies; an explicitly named file must exist) and the policies
 * directory: policies_dir_override if not NULL, else the global `policies_dir`
 * key (relative to the global file's directory), else "policies.d" beside the
 * global file. Its *.yaml files are read in name order; others are ignored.
 *
 * Returns 0 and a configuration (warnings possible), -EINVAL when an error was
 * found (*ret is NULL; the diagnostics say why), or -ENOMEM. ret_diagnostics is
 * always initialised and is the caller's to release with config_diagnostics_done().
 */
int config_load(const char *main_path, const char *policies_dir_override,
                config **ret, config_diagnostics *ret_diagnostics);

/*
 * The service's load: like config_load(), but a policy file with an error is left out
 * (every policy it defines, including those of a duplicate name) and the others are
 * kept: returns 0 with ret_diagnostics->n_errors > 0, the errors naming the files left
 * out. An error in the global file or the policies directory itself, or more problems
 * than CONFIG_MAX_DIAGNOSTICS, still returns -EINVAL and no configuration.
 */
int config_load_keep_valid(const char *main_path, const char *policies_dir_override,
                           config **ret, config_diagnostics *ret_diagnostics);

/*
 * The same from memory, for tests and fuzzers: global_yaml (NULL: none) named
 * "amirotd.yaml", then each of the n policy texts named "policy-N.yaml". The
 * policies directory is not read.
 */
int config_load_from_memory(const char *global_yaml, size_t global_size,
                            const char *const *policy_yaml, const size_t *policy_size, size_t n,
                            config **ret, config_diagnostics *ret_diagnostics);

/*
 * The normalised configuration as YAML, every default filled in and secrets shown
 * as "(set)": what `amirotd check --dump` prints. Deterministic. Returns 0 or -EIO.
 */
int config_dump(FILE *f, const config *c);

/* The spread of a run's creations is cut to the time left until the next slot divided by this,
 * so that every image is created within the slot it is named for; `check` warns where a
 * configured spread is cut by a policy's shortest slot. */
#define CONFIG_SPREAD_SLOT_FRACTION 4

/* The share of a policy's counted images that one run may retire by retention beyond one
 * image per instance, in percent, when neither `max_retire_per_run` key says otherwise:
 * a mistake (retain.count lowered from 30 to 1, a max_age typo) then costs at most about
 * a tenth of a policy's images per run, while a normal rotation is never held back. */
#define CONFIG_DEFAULT_MAX_RETIRE 10U

/* ---- Values (pure; exposed for tests) ------------------------------------------------- */

/* "90s", "30m", "6h", "7d", "2w", "1h30m": whole seconds, > 0, at most 100 years. The
 * shortest such string is format_duration() (base/util.h). */
int config_parse_duration(const char *s, uint64_t *ret);

typedef enum config_template_kind {
        CONFIG_TEMPLATE_NAME,           /* the AMI name: EC2's character set, 3..128, {slot} and {instance_id} */
        CONFIG_TEMPLATE_DESCRIPTION,    /* up to 255 characters (longer renderings are cut by the planner) */
        CONFIG_TEMPLATE_TAG,            /* an image.tags value: up to 256 characters without its free text
                                         * (longer renderings are cut by the planner) */
} config_template_kind;

/*
 * Checks a template: only {policy} {instance_id} {instance_name} {slot} {region}
 * {instance_tag:KEY} ({instance_name} not in names; KEY 1..128 characters, no braces),
 * the literal text, and the longest rendering given the policy name and the longest
 * region name (an instance's tags and name are cut by the planner, not counted). On failure
 * returns -EINVAL and a message in *ret_error (caller frees).
 */
int config_check_template(const char *template, config_template_kind kind,
                          size_t policy_len, size_t region_len, char **ret_error);

/* Levenshtein distance, capped: returns max + 1 as soon as it exceeds max. */
unsigned config_edit_distance(const char *a, const char *b, unsigned max);
