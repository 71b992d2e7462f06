/* SPDX-License-Identifier: MIT */
/*
 * Logging: to the systemd journal with structured fields when stderr is the
 * journal (or when asked), else readable lines on stderr with the same key
 * fields. Every message may carry a MESSAGE_ID from the catalog in
 * systemd/amirotd.catalog, so that `journalctl -x` explains it.
 */
#pragma once

#include <syslog.h>

#include "base/util.h"

/* MESSAGE_IDs of the key events (systemd/amirotd.catalog explains each). */
#define MESSAGE_IMAGE_CREATED        "39f5e59160f140cb8ae0b31876fb403d"
#define MESSAGE_IMAGE_AVAILABLE      "b4ed38032b474d49aabcf894517737ea"
#define MESSAGE_IMAGE_RETIRED        "3c2936156b354175bed4908ab4e0444c"
#define MESSAGE_SNAPSHOT_DELETED     "c30010e1c5cc4ca2be4bf434166ea8c7"
#define MESSAGE_POLICY_RUN_FAILED    "13e3e963733140bebc2afd86bc27ad6a"
#define MESSAGE_RELOAD_FAILED        "0050a776a8c949faa5ec9445d1a1a7ec"
#define MESSAGE_IMAGE_FAILED         "19cf97129ba245de8fb8776f36cc278c"
#define MESSAGE_IMAGE_FUTURE_SLOT    "b534bda9173f4724aafcda365cd8a940"
#define MESSAGE_IMAGE_PROTECTED      "d13b28eddfb34a85b065381cb087f642"
#define MESSAGE_NO_TARGETS           "5329304a4946492db448b2b4eb35c54c"
#define MESSAGE_CLOCK_STEPPED        "6f7998ab43e04061a8fba041a494d264"
#define MESSAGE_RETIRE_HELD          "4aa0441e4bd1435d84f1f54a19ae0bea"
#define MESSAGE_POLICY_ORPHANED      "be44814c11c54dc59d3ae96f78c7ed07"
#define MESSAGE_DEPARTED_PILE_UP     "5b23f4399c0a4a4ab671519f8458b55f"
#define MESSAGE_IMAGE_DEREG_PROTECTED   "b7698e51dcfc443ea09bf550dcc7a9fe"
#define MESSAGE_IMAGE_DEREG_UNPROTECTED "61e0f363e73c4b48ba27347684cfd344"
#define MESSAGE_IMAGE_RELEASED       "27b9bab4a99a43fe9ec6d608e78e4c4b"
#define MESSAGE_IMAGE_DEPRECATED     "0f9cf9b25df940c6a74ddca23c155a1b"
#define MESSAGE_IMAGE_DISABLED       "7050a0401240458cb35ad33410d4d514"
#define MESSAGE_IMAGE_RESTORED       "715bc4758f4b4872aaa5a644862baccd"
#define MESSAGE_IMAGE_IN_USE         "f4b40e50188a48d796ee59e29b675e43"
#define MESSAGE_TEMPLATE_VERSION     "6b555fcbab854da3b0998dc8fa796dd6"
#define MESSAGE_TEMPLATE_FAILED      "4d9633dc03f14464a0c7c93b20b088da"
#define MESSAGE_SSM_PUBLISHED        "782d7f6fb4914beaaf7b90ee1ed5fea4"
#define MESSAGE_SSM_NO_IMAGE         "df797dc90c5141eda80c341c2fcdf8cb"
/* copy_to (run/dist-copy*.c) */
#define MESSAGE_COPY_STARTED         "8e692055c73b4834a3a38318e1436995"
#define MESSAGE_COPY_RETIRED         "5b1f5b48d4fb41719b7908449c0a217c"
#define MESSAGE_COPY_DEFERRED        "da2f6a01a4294dd0834522ed2383e7c4"
#define MESSAGE_IMAGE_SHARES_CHANGED "98c04ed2f57b414883591e3923193b7f"
/* amirotd adopt (commands-adopt.c) */
#define MESSAGE_IMAGE_ADOPTED        "a894573e22084f61b6d9ac1b738a22a1"
/* image.before/after and the freeze around CreateImage (run/exec-hook.c) */
#define MESSAGE_HOOK_RESULT          "4a16329d342d4587be8f7c1a2bc95c23"
#define MESSAGE_HOOK_THAW_RECOVERED  "8db9a1a136ab4f6eb7cf1fc5bf0438dc"
/* verify: a test instance's verdict on an image (run/verify.c) */
#define MESSAGE_IMAGE_VERIFIED       "cd216e3ee36347d6b8e6aae984490edc"
#define MESSAGE_IMAGE_VERIFY_FAILED  "b87673fd37df4511bcb279993f8b1009"

/* The structured fields of a message; any may be NULL. */
typedef struct log_fields {
        const char *policy;             /* AMIROTD_POLICY */
        const char *region;             /* AMIROTD_REGION */
        const char *instance_id;        /* AMIROTD_INSTANCE_ID */
        const char *image_id;           /* AMIROTD_IMAGE_ID */
        const char *snapshot_id;        /* AMIROTD_SNAPSHOT_ID */
        const char *action;             /* AMIROTD_ACTION */
        const char *slot;               /* AMIROTD_SLOT: a slot id, "20261126T030000Z" */
        const char *request_id;         /* AWS_REQUEST_ID */
        const char *error_code;         /* AWS_ERROR_CODE */
        /* verify's verdicts (run/verify.c) */
        const char *test_instance_id;   /* AMIROTD_TEST_INSTANCE_ID */
        const char *verdict;            /* AMIROTD_VERDICT: passed, failed */
        const char *reason;             /* AMIROTD_REASON */
        const char *instance_seconds;   /* AMIROTD_INSTANCE_SECONDS */
} log_fields;

typedef enum log_target {
        LOG_TARGET_AUTO,                /* the journal when stderr is connected to it ($JOURNAL_STREAM) */
        LOG_TARGET_JOURNAL,
        LOG_TARGET_CONSOLE,
        _LOG_TARGET_MAX,
        _LOG_TARGET_INVALID = -EINVAL,
} log_target;

log_target log_target_from_string(const char *s);
const char *log_level_to_string(int level);
int log_level_from_string(const char *s);      /* "debug".."emerg" → LOG_*; -EINVAL */

void log_open(log_target target);
/* The configuration's level: ignored once the command line chose one. */
void log_set_max_level(int level);
/* The command line's level (--log-level), which wins over the configuration. */
void log_override_max_level(int level);
int log_get_max_level(void);

/*
 * Logs at `level` with MESSAGE_ID message_id (may be NULL) and fields f (may be
 * NULL). Returns -abs(error) when error is nonzero, else 0, so a caller can
 * `return log_error_errno(r, ...)`. %m is not supported: pass errors explicitly.
 */
int log_full(int level, int error, const char *message_id, const log_fields *f,
             const char *fmt, ...) _printf_(5, 6);

#define log_debug(...)   log_full(LOG_DEBUG, 0, NULL, NULL, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, 0, NULL, NULL, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, 0, NULL, NULL, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, 0, NULL, NULL, __VA_ARGS__)
#define log_error(...)   log_full(LOG_ERR, 0, NULL, NULL, __VA_ARGS__)
#define log_error_errno(error, ...) log_full(LOG_ERR, (error), NULL, NULL, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full(LOG_WARNING, (error), NULL, NULL, __VA_ARGS__)
