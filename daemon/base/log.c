/* SPDX-License-Identifier: MIT */
/*
 * See log.h. Under systemd, stderr is a journal stream and $JOURNAL_STREAM names
 * its device and inode; then messages go through sd_journal_sendv() with their
 * fields. Elsewhere they are printed as one readable line each, the key fields
 * in parentheses, so a terminal, a pipe or a test can read them.
 */
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "base/log.h"

static int max_level = LOG_INFO;
static bool max_level_overridden = false;
static bool to_journal = false;

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg",
        [LOG_ALERT] = "alert",
        [LOG_CRIT] = "crit",
        [LOG_ERR] = "err",
        [LOG_WARNING] = "warning",
        [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info",
        [LOG_DEBUG] = "debug",
};

const char *log_level_to_string(int level) {
        if (level < 0 || (size_t) level >= ELEMENTSOF(level_names))
                return NULL;
        return level_names[level];
}

int log_level_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (streq(level_names[i], s))
                        return (int) i;
        if (streq(s, "error"))
                return LOG_ERR;
        return -EINVAL;
}

log_target log_target_from_string(const char *s) {
        if (streq_ptr(s, "auto"))
                return LOG_TARGET_AUTO;
        if (streq_ptr(s, "journal"))
                return LOG_TARGET_JOURNAL;
        if (streq_ptr(s, "console"))
                return LOG_TARGET_CONSOLE;
        return _LOG_TARGET_INVALID;
}

static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_open(log_target target) {
        to_journal = target == LOG_TARGET_JOURNAL ||
                (target == LOG_TARGET_AUTO && stderr_is_journal());
}

void log_set_max_level(int level) {
        if (!max_level_overridden)
                max_level = level;
}

void log_override_max_level(int level) {
        max_level = level;
        max_level_overridden = true;
}

int log_get_max_level(void) {
        return max_level;
}

typedef struct field_def {
        const char *journal;
        const char *console;
        size_t offset;
} field_def;

static const field_def field_defs[] = {
        { "AMIROTD_POLICY",      "policy",   offsetof(log_fields, policy) },
        { "AMIROTD_REGION",      "region",   offsetof(log_fields, region) },
        { "AMIROTD_INSTANCE_ID", "instance", offsetof(log_fields, instance_id) },
        { "AMIROTD_IMAGE_ID",    "image",    offsetof(log_fields, image_id) },
        { "AMIROTD_SNAPSHOT_ID", "snapshot", offsetof(log_fields, snapshot_id) },
        { "AMIROTD_ACTION",      "action",   offsetof(log_fields, action) },
        { "AMIROTD_SLOT",        "slot",     offsetof(log_fields, slot) },
        { "AWS_ERROR_CODE",      "code",     offsetof(log_fields, error_code) },
        { "AWS_REQUEST_ID",      "request",  offsetof(log_fields, request_id) },
        { "AMIROTD_TEST_INSTANCE_ID", "test-instance", offsetof(log_fields, test_instance_id) },
        { "AMIROTD_VERDICT",     "verdict",  offsetof(log_fields, verdict) },
        { "AMIROTD_REASON",      "reason",   offsetof(log_fields, reason) },
        { "AMIROTD_INSTANCE_SECONDS", "instance-seconds", offsetof(log_fields, instance_seconds) },
};

static const char *field_value(const log_fields *f, const field_def *d) {
        return f ? *(const char *const *) ((const char *) f + d->offset) : NULL;
}

static void send_journal(int level, int error, const char *message_id, const log_fields *f, const char *message) {
        /* MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, MESSAGE_ID, ERRNO and the fields */
        struct iovec iov[5 + ELEMENTSOF(field_defs)];
        char *parts[ELEMENTSOF(iov)] = {};
        size_t n = 0;

        if (asprintf_safe(&parts[n++], "MESSAGE=%s", message) < 0 ||
            asprintf_safe(&parts[n++], "PRIORITY=%d", level) < 0 ||
            asprintf_safe(&parts[n++], "SYSLOG_IDENTIFIER=amirotd") < 0)
                goto fail;
        if (message_id && asprintf_safe(&parts[n++], "MESSAGE_ID=%s", message_id) < 0)
                goto fail;
        if (error != 0 && asprintf_safe(&parts[n++], "ERRNO=%d", abs(error)) < 0)
                goto fail;
        for (size_t i = 0; i < ELEMENTSOF(field_defs); i++) {
                const char *v = field_value(f, &field_defs[i]);

                if (v && asprintf_safe(&parts[n++], "%s=%s", field_defs[i].journal, v) < 0)
                        goto fail;
        }
        for (size_t i = 0; i < n; i++)
                iov[i] = (struct iovec) { .iov_base = parts[i], .iov_len = strlen(parts[i]) };
        if (sd_journal_sendv(iov, (int) n) >= 0)
                goto done;
fail:
        /* The journal is gone or memory is short: the message must not be lost. */
        fprintf(stderr, "amirotd: %s\n", message);
done:
        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                free(parts[i]);
}

static void send_console(int level, int error, const log_fields *f, const char *message) {
        bool open = false;

        flockfile(stderr);
        if (level <= LOG_WARNING)
                fprintf(stderr, "%s: ", level <= LOG_ERR ? "error" : "warning");
        fputs(message, stderr);
        if (error != 0)
                fprintf(stderr, ": %s", strerror(abs(error)));
        for (size_t i = 0; i < ELEMENTSOF(field_defs); i++) {
                const char *v = field_value(f, &field_defs[i]);

                if (!v)
                        continue;
                fprintf(stderr, "%s%s=%s", open ? " " : " (", field_defs[i].console, v);
                open = true;
        }
        fputs(open ? ")\n" : "\n", stderr);
        funlockfile(stderr);
}

int log_full(int level, int error, const char *message_id, const log_fields *f, const char *fmt, ...) {
        char *message;
        va_list ap;
        int r;

        if (level > max_level)
                return error == 0 ? 0 : -abs(error);

        va_start(ap, fmt);
        r = vasprintf(&message, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        if (to_journal)
                send_journal(level, error, message_id, f, message);
        else
                send_console(level, error, f, message);
        free(message);
        return error == 0 ? 0 : -abs(error);
}
