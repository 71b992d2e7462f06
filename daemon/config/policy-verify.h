/* SPDX-License-Identifier: MIT */
/*
 * policy-verify.c: a policy's `verify` section, the test instance each new image boots
 * before retention counts it. Not for use outside daemon/config/.
 */
#pragma once

#include "config/value.h"

/* From a test instance's launch to its verdict. Two minutes is about what a small Linux
 * instance needs to pass both status checks; two hours bounds what a forgotten test
 * instance costs. */
#define VERIFY_TIMEOUT_DEFAULT (15 * 60)
#define VERIFY_TIMEOUT_MIN (2 * 60)
#define VERIFY_TIMEOUT_MAX (2 * 3600)
#define VERIFY_MAX_CONCURRENT_DEFAULT 1
#define VERIFY_MAX_CONCURRENT_MAX 20
/* console_match goes into the amirotd:verify-reason tag of an image that never matched, whose
 * value EC2 bounds at 256 characters. */
#define VERIFY_CONSOLE_MATCH_MAX 256

/* Reads the `verify` mapping n into p->verify (null: no section). */
int config_verify_parse(loader *l, policy *p, const cnode *n);
/* The checks against the policy's final regions, once every key is read: a subnet names one
 * region, and each of the policy's regions has one. */
void config_verify_check(loader *l, const policy *p);
