/* SPDX-License-Identifier: MIT */
/*
 * policy-hook.c: the hooks around CreateImage under a policy's `image`: before, after,
 * freeze, freeze_timeout and on_hook_failure. Not for use outside daemon/config/.
 */
#pragma once

#include "config/value.h"

/* A hook's timeout when none is given, and its bounds. The upper one is ours, well below
 * what SSM would run (AWS-RunShellScript's executionTimeout goes up to 172800 s): a
 * before hook holds up its instance's image, and the slot's whole run waits for it. */
#define HOOK_TIMEOUT_DEFAULT (5 * 60)
#define HOOK_TIMEOUT_MIN 1
#define HOOK_TIMEOUT_MAX (2 * 3600)

/* The self-thaw deadline of a freeze. At least the time a thaw needs to arrive by SSM
 * (seconds, as the agent polls), at most what an application on the instance can bear
 * with its writes blocked. */
#define FREEZE_TIMEOUT_DEFAULT 60
#define FREEZE_TIMEOUT_MIN 10
#define FREEZE_TIMEOUT_MAX (15 * 60)

/* Whether k is one of this file's keys of `image`. */
bool config_hook_key(const char *k);
/* Reads image's key k (config_hook_key(k)), whose value is v, into p. */
void config_hook_parse(loader *l, policy *p, const char *k, const cnode *v);
/* The checks across image's keys once all of them are read (e, n_e: image's entries):
 * freeze_timeout without freeze, on_hook_failure without a hook to fail, freeze with
 * reboot; fills freeze_timeout's default. */
void config_hook_check(loader *l, policy *p, const centry *e, size_t n_e);
