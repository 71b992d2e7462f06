/* SPDX-License-Identifier: MIT */
/*
 * One permission check's verdict (probe.h), shared by the run's probes (probe.c) and
 * distribution's (probe-dist.c): what an answer of AWS says about the caller's permission.
 */
#pragma once

#include "aws/client.h"
#include "run/probe.h"

/* Replaces k's verdict and detail. */
void probe_check_set(probe_check *k, probe_verdict v, const char *fmt, ...) _printf_(3, 4);
/* The verdict of a call's answer: success or DryRunOperation is permission (detail: on), a
 * refusal of the caller (UnauthorizedOperation, AccessDeniedException, ...) is denial,
 * anything else leaves the permission unknown. */
void probe_check_judge(probe_check *k, int r, const aws_error *err, const char *on);
