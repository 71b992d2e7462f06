/* SPDX-License-Identifier: MIT */
/*
 * The AssumeRole provider: temporary credentials for another role (usually in
 * another account) from STS, asked for with the credentials of the STS client
 * it is given. creds.c caches them and asks again 5 minutes before their
 * Expiration, so a policy with role_arn keeps working for days on keys that
 * live an hour. The answer's shape is STS API reference, "AssumeRole":
 * AssumeRoleResponse/AssumeRoleResult/Credentials/{AccessKeyId, SecretAccessKey,
 * SessionToken, Expiration}.
 */
#include <stdio.h>
#include <unistd.h>

#include "client.h"
#include "creds-internal.h"
#include "query.h"

int creds_sts_parse(const xmlDoc *doc, const char *action, aws_credentials **ret, aws_error *err) {
        static const char *const fields[] = { "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration" };
        _cleanup_(erase_and_freep) char *id = NULL, *secret = NULL, *token = NULL, *expiration = NULL;
        char **values[] = { &id, &secret, &token, &expiration };
        xmlNode *root = xmlDocGetRootElement(doc), *credentials;
        char name[64];
        time_t t;
        int r;

        snprintf(name, sizeof(name), "%sResponse", action);
        if (!root || !xmlStrEqual(root->name, (const xmlChar *) name)) {
                aws_error_setf(err, "STS answered %s with an unexpected document", action);
                return -EBADMSG;
        }
        snprintf(name, sizeof(name), "%sResult", action);
        credentials = xml_child(xml_child(root, name), "Credentials");
        if (!credentials) {
                aws_error_setf(err, "STS answered %s without %s/Credentials", action, name);
                return -EBADMSG;
        }
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                r = xml_child_text(credentials, fields[i], values[i]);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 || isempty(*values[i])) {
                        aws_error_setf(err, "STS answered %s without Credentials/%s", action, fields[i]);
                        return -EBADMSG;
                }
        }
        if (creds_expiration_parse(expiration, &t) < 0) {
                aws_error_setf(err, "STS answered %s with an unreadable Expiration", action);
                return -EBADMSG;
        }
        return creds_new(id, secret, token, t, ret);
}

static void on_assume_role(aws_call *call, int r, xmlDoc *doc, const aws_error *err, void *userdata) {
        _cleanup_(aws_error_done) aws_error e = {};
        creds_provider *p = userdata;
        aws_credentials *c = NULL;
        char *m = NULL;

        (void) call;
        p->sts.call = NULL;

        if (r < 0) {
                /* Keep STS's code, status and request id for the log; say which role. */
                if (asprintf(&m, "cannot assume role '%s': %s", p->sts.role_arn,
                             err && err->message ? err->message : strerror(-r)) < 0)
                        m = NULL;
                if (aws_error_set(&e, err ? err->status : 0, err ? err->code : NULL, m ?: "out of memory",
                                  err ? err->request_id : NULL) < 0)
                        aws_error_setf(&e, "out of memory");
                free(m);
                creds_provider_resolved(p, r, NULL, NULL, &e);
                return;
        }

        r = creds_sts_parse(doc, "AssumeRole", &c, &e);
        if (r < 0) {
                if (!e.message)
                        aws_error_setf(&e, "cannot read AssumeRole's answer: %s", strerror(-r));
                creds_provider_resolved(p, r, NULL, NULL, &e);
                return;
        }
        creds_provider_resolved(p, 0, c, "assume-role", NULL);
}

static void sts_resolve(creds_provider *p) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        _cleanup_(aws_error_done) aws_error e = {};
        char duration[16];
        int r;

        r = aws_query_new("AssumeRole", &q);
        if (r >= 0)
                r = aws_query_add(q, "RoleArn", p->sts.role_arn);
        if (r >= 0)
                r = aws_query_add(q, "RoleSessionName", p->sts.session_name);
        if (r >= 0 && p->sts.external_id)
                r = aws_query_add(q, "ExternalId", p->sts.external_id);
        if (r >= 0 && p->sts.duration > 0) {
                snprintf(duration, sizeof(duration), "%u", p->sts.duration);
                r = aws_query_add(q, "DurationSeconds", duration);
        }
        if (r >= 0)
                r = aws_client_call(p->sts.client, TAKE_PTR(q), on_assume_role, p, &p->sts.call);
        if (r < 0) {
                aws_error_setf(&e, "cannot ask STS to assume role '%s': %s", p->sts.role_arn, strerror(-r));
                creds_provider_resolved(p, r, NULL, NULL, &e);
        }
}

static void sts_cancel(creds_provider *p) {
        if (p->sts.call)
                aws_call_cancel(TAKE_PTR(p->sts.call));
}

static void sts_done(creds_provider *p) {
        sts_cancel(p);
        free(p->sts.role_arn);
        free(p->sts.session_name);
        free(p->sts.external_id);
}

static const creds_provider_vtable sts_vtable = {
        .resolve = sts_resolve,
        .cancel = sts_cancel,
        .done = sts_done,
};

int creds_provider_new_assume_role(aws_client *sts, const char *role_arn, const char *session_name,
                                   const char *external_id, unsigned duration_seconds, creds_provider **ret) {
        _cleanup_(creds_provider_freep) creds_provider *p = NULL;
        http_client *http;
        int r;

        if (!sts || !ret)
                return -EINVAL;
        if (creds_assume_role_check(role_arn, session_name, external_id, duration_seconds))
                return -EINVAL;
        http = aws_client_http(sts);
        if (!http)
                return -EINVAL;

        r = creds_provider_alloc(http_client_get_event(http), &sts_vtable, &p);
        if (r < 0)
                return r;
        p->sts.client = sts;
        p->sts.duration = duration_seconds;
        if (session_name)
                p->sts.session_name = strdup(session_name);
        else if (asprintf(&p->sts.session_name, "amirotd-%d", (int) getpid()) < 0)
                p->sts.session_name = NULL;
        p->sts.role_arn = strdup(role_arn);
        if (!p->sts.session_name || !p->sts.role_arn ||
            strdup_or_null(external_id, &p->sts.external_id) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(p);
        return 0;
}
