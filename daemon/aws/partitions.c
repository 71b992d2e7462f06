/* SPDX-License-Identifier: MIT */
/*
 * The partition table. botocore's data/partitions.json (1.29.27 on Debian 12)
 * lists for each partition a regionRegex and its outputs, e.g.
 *   "aws":        "^(us|eu|ap|sa|ca|me|af)\\-\\w+\\-\\d+$", dnsSuffix "amazonaws.com",
 *                 dualStackDnsSuffix "api.aws", supportsFIPS, supportsDualStack
 *   "aws-cn":     "^cn\\-\\w+\\-\\d+$", "amazonaws.com.cn", "api.amazonwebservices.com.cn"
 *   "aws-us-gov": "^us\\-gov\\-\\w+\\-\\d+$", "amazonaws.com", "api.aws"
 *   "aws-iso":    "^us\\-iso\\-\\w+\\-\\d+$", "c2s.ic.gov", supportsDualStack false
 *   "aws-iso-b":  "^us\\-isob\\-\\w+\\-\\d+$", "sc2s.sgov.gov", supportsDualStack false
 * Later releases of the same file add "il" and "mx" to aws's regex and the
 * partitions aws-iso-e ("^eu\\-isoe\\-\\w+\\-\\d+$", "cloud.adc-e.uk"),
 * aws-iso-f ("^us\\-isof\\-\\w+\\-\\d+$", "csp.hci.ic.gov") and aws-eusc, the
 * AWS European Sovereign Cloud ("^eusc\\-(de)\\-\\w+\\-\\d+$", "amazonaws.eu").
 * Where we could not confirm a partition's dual-stack suffix we list none, so
 * that asking for dual-stack there is refused rather than sent to a guessed name.
 *
 * Each regex is "PREFIX-\w+-\d+"; aws_region_is_valid() (endpoint.c) narrows
 * \w+ to one or two compass directions, the shape of every region so far.
 */
#include <stddef.h>
#include <string.h>

#include "partitions.h"
#include "base/util.h"

static const char *const aws_prefixes[] = { "us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx", NULL };
static const char *const cn_prefixes[] = { "cn", NULL };
static const char *const gov_prefixes[] = { "us-gov", NULL };
static const char *const iso_prefixes[] = { "us-iso", NULL };
static const char *const isob_prefixes[] = { "us-isob", NULL };
static const char *const isoe_prefixes[] = { "eu-isoe", NULL };
static const char *const isof_prefixes[] = { "us-isof", NULL };
static const char *const eusc_prefixes[] = { "eusc-de", NULL };

static const aws_partition partition_aws = { "aws", "amazonaws.com", "api.aws", true, aws_prefixes };
static const aws_partition partition_cn = {
        "aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn", true, cn_prefixes };
static const aws_partition partition_gov = { "aws-us-gov", "amazonaws.com", "api.aws", true, gov_prefixes };
static const aws_partition partition_iso = { "aws-iso", "c2s.ic.gov", NULL, true, iso_prefixes };
static const aws_partition partition_isob = { "aws-iso-b", "sc2s.sgov.gov", NULL, true, isob_prefixes };
static const aws_partition partition_isoe = { "aws-iso-e", "cloud.adc-e.uk", NULL, true, isoe_prefixes };
static const aws_partition partition_isof = { "aws-iso-f", "csp.hci.ic.gov", NULL, true, isof_prefixes };
static const aws_partition partition_eusc = { "aws-eusc", "amazonaws.eu", NULL, true, eusc_prefixes };

const aws_partition *const aws_partitions[] = {
        &partition_aws, &partition_cn, &partition_gov, &partition_iso, &partition_isob,
        &partition_isoe, &partition_isof, &partition_eusc, NULL,
};

static const char *const region_directions[] = {
        "east", "west", "north", "south", "central", "northeast", "northwest", "southeast", "southwest",
};

/* Matches "-direction" at *p and advances past it. */
static bool match_direction(const char **p) {
        const char *s = *p;

        if (*s != '-')
                return false;
        s++;
        for (size_t i = 0; i < ELEMENTSOF(region_directions); i++) {
                size_t len = strlen(region_directions[i]);

                if (strncmp(s, region_directions[i], len) == 0 && s[len] == '-') {
                        *p = s + len;
                        return true;
                }
        }
        return false;
}

/* "-direction(-direction)?-N" with N 1..99 without a leading zero, and nothing after. */
static bool region_rest_is_valid(const char *p) {
        if (!match_direction(&p))
                return false;
        (void) match_direction(&p);
        if (p[0] != '-' || p[1] < '1' || p[1] > '9')
                return false;
        p += 2;
        if (*p >= '0' && *p <= '9')
                p++;
        return *p == 0;
}

const aws_partition *aws_partition_for_region(const char *region) {
        if (!region)
                return NULL;
        for (size_t i = 0; aws_partitions[i]; i++)
                for (const char *const *p = aws_partitions[i]->prefixes; *p; p++)
                        if (startswith(region, *p) && region_rest_is_valid(region + strlen(*p)))
                                return aws_partitions[i];
        return NULL;
}

const aws_partition *aws_partition_by_id(const char *id) {
        for (size_t i = 0; id && aws_partitions[i]; i++)
                if (streq(aws_partitions[i]->id, id))
                        return aws_partitions[i];
        return NULL;
}
