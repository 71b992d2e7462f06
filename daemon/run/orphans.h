/* SPDX-License-Identifier: MIT */
/*
 * Orphaned images: images tagged amirotd:policy with the name of a policy that is
 * no longer configured (renamed, or its file removed). amirotd never acts on them
 * (design rule 2: only the policy being run touches what it tagged), so without a
 * word they would stay forever, unseen. `amirotd list --orphaned` lists them, and
 * the service warns once per orphaned policy name and configuration generation (at
 * start and after each reload), with MESSAGE_POLICY_ORPHANED.
 *
 * Where they are looked for: every account a policy works in (the global identity,
 * each role_arn) in every region a policy of that account runs in, and the global
 * identity in the global region; one DescribeImages (Owner=self, tag-key=
 * amirotd:policy) each. A removed policy's images in an account or region that no
 * configured policy uses any more are out of sight.
 */
#pragma once

#include <systemd/sd-event.h>

#include "aws/ec2.h"
#include "run/clients.h"
#include "policy.h"

/* One account and region to look in. */
typedef struct orphan_where {
        const policy *identity;         /* its role_arn and external_id, for aws_pool_ec2() */
        const char *region;             /* borrowed from the configuration */
} orphan_where;

/* The places of c to look in, each once; borrowed pointers into c (and a static empty
 * policy for the global identity). 0 or -ENOMEM. */
int orphan_where_list(const config *c, orphan_where **ret, size_t *ret_n);

/* The filter of the DescribeImages: tag-key = amirotd:policy. */
ec2_filter orphan_filter(void);

/* The orphaned policy name img carries, or NULL: img's amirotd:policy is none of
 * configured (NULL-terminated policy names). */
const char *orphan_policy_of(char *const *configured, const ec2_image *img);

typedef struct orphan_scan orphan_scan;

/*
 * The service's look: DescribeImages in each place of c, one after the other, then one
 * warning per orphaned policy name. A place that cannot be read is logged and tried
 * again after retry (its orphans are warned about once found). configured: the names
 * of the policies the service runs (copied). c and pool must outlive the scan.
 */
int orphan_scan_start(sd_event *event, aws_pool *pool, const config *c, char *const *configured,
                      usec_t retry, orphan_scan **ret);
/* Cancels the request in flight and the retry. */
orphan_scan *orphan_scan_free(orphan_scan *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(orphan_scan *, orphan_scan_free);
