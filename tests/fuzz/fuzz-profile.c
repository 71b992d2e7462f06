/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the shared config/credentials file parser (daemon/aws/profile.c):
 * any bytes must parse without a crash or leak, and the lookups must stay in bounds. */
#include <stddef.h>
#include <stdint.h>

#include "aws/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        aws_profile_file *f = NULL;

        if (aws_profile_file_parse((const char *) data, size, &f) < 0)
                return 0;
        (void) aws_profile_get(f, "default", "region", NULL);
        (void) aws_profile_get(f, "profile a", "role_arn", NULL);
        (void) aws_profile_get(f, "services s", "ec2", "endpoint_url");
        (void) aws_profile_has_section(f, "profile a");
        aws_profile_file_free(f);
        return 0;
}
