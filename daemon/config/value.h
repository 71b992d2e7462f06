/* SPDX-License-Identifier: MIT */
/*
 * Typed readers for the scalars of the tree (yaml.h): each reports a typed
 * error for `what` at the node and returns -EINVAL (or -ERANGE), or 0. Used by
 * the two schemas, policy.c and global.c. Not for use outside daemon/config/.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/yaml.h"

/* The longest duration config_parse_duration() takes: 100 years of weeks. */
#define CVALUE_DURATION_MAX (5200ULL * 7 * 86400)

int cvalue_string(loader *l, const cnode *n, const char *what, char **ret);
int cvalue_bool(loader *l, const cnode *n, const char *what, bool *ret);
int cvalue_uint(loader *l, const cnode *n, const char *what, uint64_t min, uint64_t max, uint64_t *ret);
int cvalue_number(loader *l, const cnode *n, const char *what, double min, double max, double *ret);
int cvalue_duration(loader *l, const cnode *n, const char *what, uint64_t min, uint64_t max, uint64_t *ret);
/* "N%", N a whole number from min to max. */
int cvalue_percent(loader *l, const cnode *n, const char *what, unsigned min, unsigned max, unsigned *ret);
bool cvalue_expect(loader *l, const cnode *n, cnode_kind kind, const char *what);
/* The account a policy or a distribution target (copy_to, launch_template, ssm_parameter)
 * works in: an IAM role ARN, and STS AssumeRole's ExternalId. Kept in *ret even when AWS
 * would refuse it (the error is reported; the configuration is dropped anyway). */
int cvalue_role_arn(loader *l, const cnode *n, const char *what, char **ret);
int cvalue_external_id(loader *l, const cnode *n, const char *what, char **ret);
/* The entries of n, which must be a mapping: -EINVAL once that is reported, or
 * -ENOMEM (also recorded in l->oom). */
int cvalue_mapping(loader *l, const cnode *n, const char *what, centry **ret, size_t *ret_n);
/* "unknown key 'x' in WHERE", with "did you mean 'y'?" when one of known (NULL-terminated) is
 * close; returns that suggestion, or NULL. */
const char *cvalue_unknown(loader *l, const cnode *n, const char *what, const char *where, const char *const *known);
const char *cvalue_closest(const char *s, const char *const *known);
size_t utf8_length(const char *s);
