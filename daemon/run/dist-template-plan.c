/* SPDX-License-Identifier: MIT */
/*
 * See dist-template-plan.h.
 */
#include <stdio.h>

#include "aws/sigv4.h"
#include "run/dist-template-plan.h"

char *template_description(const char *policy_name, const char *image_id, char buf[static TEMPLATE_DESCRIPTION_MAX]) {
        snprintf(buf, TEMPLATE_DESCRIPTION_MAX, "amirotd %s %s", policy_name, image_id);
        return buf;
}

void template_client_token(const char *policy_name, const char *template_id, const char *image_id, unsigned source,
                           char buf[static TEMPLATE_TOKEN_MAX]) {
        char text[512];
        int n;

        n = snprintf(text, sizeof(text), "amirotd launch_template\n%s\n%s\n%s\n%u", policy_name, template_id,
                     image_id, source);
        sha256_hex(text, n > 0 && (size_t) n < sizeof(text) ? (size_t) n : strlen(text), buf);
}

/* Whether version w was made by amirotd for policy_name (any image). */
static bool made_by_policy(const ec2_template_version *w, const char *policy_name) {
        static const char prefix[] = "amirotd ";
        const char *d = w->description, *rest;
        size_t n = strlen(policy_name);

        if (!d || !startswith(d, prefix) || strncmp(d + strlen(prefix), policy_name, n) != 0)
                return false;
        rest = d + strlen(prefix) + n;
        return rest[0] == ' ' && startswith(rest + 1, "ami-") && !strchr(rest + 1, ' ');
}

/* amirotd's newest version for image_id, or NULL. */
static const ec2_template_version *find_made(const ec2_template_versions *v, const char *policy_name,
                                             const char *image_id) {
        const ec2_template_version *found = NULL;
        char description[TEMPLATE_DESCRIPTION_MAX];

        template_description(policy_name, image_id, description);
        for (size_t i = 0; i < v->n; i++)
                if (streq_ptr(v->items[i].description, description) &&
                    streq_ptr(v->items[i].image_id, image_id) && (!found || v->items[i].number > found->number))
                        found = &v->items[i];
        return found;
}

int template_decide(const ec2_template_versions *v, const launch_template_target *t, const char *policy_name,
                    const char *image_id, template_decision *ret) {
        const ec2_template_version *def = ec2_template_versions_default(v);
        const ec2_template_version *source = t->from_latest ? ec2_template_versions_latest(v) : def;
        const ec2_template_version *made;

        *ret = (template_decision) { .source = source };
        if (!source || !def)
                return -ENOENT;
        if (streq_ptr(source->image_id, image_id)) {
                ret->up_to_date = true;
                /* $Latest names it already: amirotd's own version of it, whose default switch
                 * a crash interrupted. Another's latest version is not made the default. */
                if (t->set_default && source != def && (made = find_made(v, policy_name, image_id)) == source)
                        ret->make_default = source->number;
                return 0;
        }
        /* A version amirotd made for the image after the current default: the crash came
         * between CreateLaunchTemplateVersion and ModifyLaunchTemplate. Only the switch is
         * left to do. An older one is history: the default moved on since, and a new version
         * from the current default follows the image. */
        made = find_made(v, policy_name, image_id);
        if (made && made->number > def->number) {
                ret->found = made;
                ret->up_to_date = true;
                if (t->set_default)
                        ret->make_default = made->number;
                return 0;
        }
        ret->create = true;
        return 0;
}

static int compare_desc(const void *a, const void *b) {
        unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;

        return x < y ? 1 : x > y ? -1 : 0;
}

int template_versions_to_delete(const ec2_template_versions *v, const char *policy_name, unsigned keep,
                                bool pending_new, unsigned default_version, unsigned latest_version,
                                unsigned **ret, size_t *ret_n) {
        _cleanup_(freep) unsigned *mine = NULL;
        size_t n_mine = 0, n = 0, kept = pending_new ? 1 : 0;

        *ret = NULL;
        *ret_n = 0;
        if (keep == 0 || v->n == 0)
                return 0;
        mine = calloc(v->n, sizeof(unsigned));
        if (!mine)
                return -ENOMEM;
        for (size_t i = 0; i < v->n; i++)
                if (made_by_policy(&v->items[i], policy_name))
                        mine[n_mine++] = v->items[i].number;
        qsort(mine, n_mine, sizeof(unsigned), compare_desc);
        /* Newest first: the first keep (the new one included) stay; of the rest, the default
         * and the latest stay too, and what is left goes, oldest first. */
        for (size_t i = 0; i < n_mine; i++) {
                if (kept < keep) {
                        kept++;
                        continue;
                }
                if (mine[i] == default_version || mine[i] == latest_version)
                        continue;
                mine[n++] = mine[i];
        }
        for (size_t i = 0; i < n / 2; i++) {
                unsigned x = mine[i];

                mine[i] = mine[n - 1 - i];
                mine[n - 1 - i] = x;
        }
        *ret_n = n;
        *ret = n > 0 ? TAKE_PTR(mine) : NULL;
        return 0;
}
