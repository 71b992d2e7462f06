/* SPDX-License-Identifier: MIT */
/*
 * The client's pacing table as a filter, for tests/ec2sim/test_pace_table.py,
 * which holds it against ec2sim's own table (ec2simlib/faults.py) action by
 * action: "ec2sim uses the same table". One query a line, the action then the
 * request's parameter names, separated by tabs; one answer a line, tab-separated:
 *
 *   ACTION [NAME ...]  ->  CATEGORY CAPACITY REFILL
 *
 * CATEGORY is pace_category_to_string() of the bucket the client charges
 * (aws_client_pace_category(), the rule client.c applies to every call);
 * CAPACITY and REFILL are EC2's defaults for it (pace_default_config).
 */
#include <stdio.h>
#include <string.h>

#include "aws/client.h"
#include "base/util.h"

int main(void) {
        char line[4096];

        while (fgets(line, sizeof(line), stdin)) {
                _cleanup_(aws_query_freep) aws_query *q = NULL;
                char *save = NULL, *tok;
                pace_category c;

                line[strcspn(line, "\n")] = 0;
                tok = strtok_r(line, "\t", &save);
                if (!tok || aws_query_new(tok, &q) < 0) {
                        printf("error\n");
                        continue;
                }
                while ((tok = strtok_r(NULL, "\t", &save)))
                        if (aws_query_add(q, tok, "x") < 0)
                                return 1;
                c = aws_client_pace_category(q);
                if (c < 0)
                        printf("error\n");
                else
                        printf("%s\t%g\t%g\n", pace_category_to_string(c), pace_default_config[c].capacity,
                               pace_default_config[c].refill_per_sec);
                fflush(stdout);
        }
        return 0;
}
