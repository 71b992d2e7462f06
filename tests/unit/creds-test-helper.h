/* SPDX-License-Identifier: MIT */
/*
 * What the credential-source tests (test-creds-{process,container,webid,role}.c)
 * share: a scratch folder removed whole, who a provider's keys are according to
 * ec2sim's STS, and a clock the test moves to force a refresh. Include after
 * cmocka.h and ec2sim-helper.h.
 */
#pragma once

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

#include "aws/client.h"
#include "aws/creds.h"
#include "aws/query.h"

static inline int test_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st, (void) flag, (void) ftw;
        return remove(path);
}

static inline void test_remove_tree(const char *dir) {
        (void) nftw(dir, test_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The ARN GetCallerIdentity answers for p's keys at the simulator's STS (caller frees). */
static inline char *test_caller_arn(http_client *http, const char *sim_url, creds_provider *p) {
        _cleanup_(aws_client_freep) aws_client *sts = NULL;
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        aws_client_options co = { .service = "sts", .region = "us-east-1", .endpoint_url = sim_url };
        aws_query *q = NULL;
        aws_error err = {};
        char *arn = NULL;

        assert_int_equal(aws_client_new(http, p, &co, &sts), 0);
        assert_int_equal(aws_query_new("GetCallerIdentity", &q), 0);
        assert_int_equal(aws_client_call_sync(sts, q, &doc, &err), 0);
        assert_int_equal(xml_child_text(xmlDocGetRootElement(doc), "GetCallerIdentityResult/Arn", &arn), 0);
        return arn;
}

/* A provider's clock that the test sets: fake_now moves time past an expiration. */
static time_t fake_now;
static inline time_t fake_clock(void *userdata) {
        (void) userdata;
        return fake_now;
}
