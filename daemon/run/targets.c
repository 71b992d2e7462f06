/* SPDX-License-Identifier: MIT */
/* See targets.h. */
#include <stdio.h>

#include "run/targets.h"

/* EC2 answers FilterLimitExceeded past this: "The maximum length for a filter value is 255
 * characters" (EC2's message; the API reference states no number). */
#define FILTER_VALUE_MAX 255

void target_filters_done(target_filters *f) {
        free(f->filters);
        free(f->values);
        strv_free(f->names);
        strv_free(f->states);
        *f = (target_filters) {};
}

int target_filters_build(const policy *p, target_filters *ret) {
        _cleanup_(target_filters_done) target_filters f = {};
        int r;

        f.filters = calloc(p->n_tags + 1, sizeof(ec2_filter));
        f.values = calloc(2 * p->n_tags + 1, sizeof(char *));
        if (!f.filters || !f.values)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_tags; i++) {
                char *name;

                /* A tag value may be 256 characters, a filter value 255: for a longer
                 * one, narrow by the key only (the planner matches the value). */
                if (p->tags[i].value && strlen(p->tags[i].value) <= FILTER_VALUE_MAX) {
                        if (asprintf(&name, "tag:%s", p->tags[i].key) < 0)
                                return -ENOMEM;
                        f.values[2 * i] = p->tags[i].value;
                } else {
                        name = strdup("tag-key");
                        if (!name)
                                return -ENOMEM;
                        f.values[2 * i] = p->tags[i].key;
                }
                r = strv_push(&f.names, name);
                if (r < 0)
                        return r;
                f.filters[f.n++] = (ec2_filter) { .name = f.names[i], .values = &f.values[2 * i] };
        }
        for (int s = 0; s < _EC2_INSTANCE_STATE_MAX; s++)
                if (p->states & (1u << s)) {
                        r = strv_extend(&f.states, ec2_instance_state_to_string(s));
                        if (r < 0)
                                return r;
                }
        if (f.states)
                f.filters[f.n++] = (ec2_filter) { .name = "instance-state-name", .values = f.states };
        *ret = f;
        f = (target_filters) {};
        return 0;
}

static int describe_tags(strbuf *b, const char *prefix, const tag_selector *t, size_t n) {
        int r = 0;

        for (size_t i = 0; i < n && r >= 0; i++)
                r = strbuf_printf(b, "%s%s=%s", i == 0 ? prefix : ", ", t[i].key, t[i].value ?: "*");
        return r;
}

int target_describe(const policy *p, char **ret) {
        _cleanup_(strbuf_done) strbuf b = {};
        const char *sep = " ";
        int r;

        r = describe_tags(&b, "tags ", p->tags, p->n_tags);
        if (r >= 0)
                r = describe_tags(&b, ", except ", p->exclude_tags, p->n_exclude_tags);
        if (r >= 0)
                r = strbuf_puts(&b, p->n_tags + p->n_exclude_tags > 0 ? ", states" : "states");
        for (int s = 0; r >= 0 && s < _EC2_INSTANCE_STATE_MAX; s++)
                if (p->states & (1u << s)) {
                        r = strbuf_printf(&b, "%s%s", sep, ec2_instance_state_to_string(s));
                        sep = ", ";
                }
        if (r < 0)
                return r;
        *ret = strbuf_steal(&b);
        return 0;
}
