/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the configuration loader: arbitrary bytes as a policy
 * file (first byte even) or as the global file plus a fixed valid policy (odd),
 * then the dump of whatever loads. Must never crash, leak or run unbounded.
 */
#include <stdio.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char valid_policy[] =
        "name: p\ntargets: {tags: {R: x}}\nschedule: {every: 1d}\nretain: {count: 1}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        config_diagnostics d = {};
        config *c = NULL;
        const char *text;
        size_t text_size;
        FILE *null;

        if (size < 1)
                return 0;
        text = (const char *) data + 1;
        text_size = size - 1;
        if (data[0] & 1) {
                const char *texts[] = { valid_policy };
                size_t sizes[] = { sizeof(valid_policy) - 1 };

                (void) config_load_from_memory(text, text_size, texts, sizes, 1, &c, &d);
        } else {
                const char *texts[] = { text };
                size_t sizes[] = { text_size };

                (void) config_load_from_memory(NULL, 0, texts, sizes, 1, &c, &d);
        }
        null = fopen("/dev/null", "we");
        if (null) {
                config_diagnostics_print(&d, null);
                if (c)
                        (void) config_dump(null, c);
                fclose(null);
        }
        config_free(c);
        config_diagnostics_done(&d);
        return 0;
}
