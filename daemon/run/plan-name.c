/* SPDX-License-Identifier: MIT */
/*
 * What a new image is called and how it is described: the policy's templates
 * rendered for one instance and slot, and cut to what CreateImage accepts. Part
 * of the pure planner (declared in plan.h): no I/O, no logging, no clock.
 * plan.c calls in here; nothing here calls back.
 */
#include <stdio.h>

#include "run/plan.h"

/* ---- Templates ------------------------------------------------------------------------- */

/* {instance_name}: the Name tag, or the instance id when it has none. */
static const char *instance_display_name(const ec2_instance *i) {
        const char *n;

        if (!i)
                return NULL;
        n = ec2_tags_get(&i->tags, "Name") ?: i->name;
        return isempty(n) ? i->id : n;
}

static int render(const char *template, const policy *p, const char *region, const ec2_instance *i,
                  const char *instance_name, const char *slot, char **ret) {
        const struct {
                const char *placeholder;
                const char *value;
        } vars[] = {
                { "{policy}",        p->name },
                { "{instance_id}",   i ? i->id : NULL },
                { "{instance_name}", instance_name },
                { "{slot}",          slot },
                { "{region}",        region },
        };
        strbuf b = {};
        int r = 0;

        for (const char *s = template; *s && r >= 0;) {
                size_t k;

                for (k = 0; k < ELEMENTSOF(vars); k++)
                        if (startswith(s, vars[k].placeholder))
                                break;
                if (k < ELEMENTSOF(vars)) {
                        r = strbuf_puts(&b, vars[k].value ?: "");
                        s += strlen(vars[k].placeholder);
                } else
                        /* Config validation rejects unknown placeholders; here they stay as written. */
                        r = strbuf_append(&b, s++, 1);
        }
        if (r < 0) {
                strbuf_done(&b);
                return r;
        }
        *ret = strbuf_steal(&b);
        return *ret ? 0 : -ENOMEM;
}

int plan_render_template(const char *template, const policy *p, const char *region,
                         const ec2_instance *i, const char *slot, char **ret) {
        if (!template || !p || !ret)
                return -EINVAL;
        return render(template, p, region, i, instance_display_name(i), slot, ret);
}

/* Replaces each character EC2 rejects in an AMI name by '-', one per character
 * (the continuation bytes of a UTF-8 sequence are dropped), in place. */
static void image_name_sanitize(char *s) {
        bool in_sequence = false;
        char *w = s;

        for (const char *r = s; *r; r++) {
                unsigned char c = (unsigned char) *r;

                if (in_sequence && (c & 0xC0) == 0x80)
                        continue;
                in_sequence = c & 0x80;
                *w++ = ec2_image_name_char(*r) ? *r : '-';
        }
        *w = 0;
}

static size_t count_occurrences(const char *s, const char *needle) {
        size_t n = 0;

        for (const char *p = strstr(s, needle); p; p = strstr(p + strlen(needle), needle))
                n++;
        return n;
}

/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
static void truncate_utf8(char *s, size_t max) {
        size_t n = strlen(s);

        if (n <= max)
                return;
        n = max;
        while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
                n--;
        s[n] = 0;
}

int plan_render_image_name(const policy *p, const char *region, const ec2_instance *i,
                           const char *slot, char **ret) {
        _cleanup_(freep) char *name = NULL, *short_name = NULL;
        const char *template, *display;
        size_t len, n;
        int r;

        if (!p || !ret)
                return -EINVAL;

        template = p->name_template ?: POLICY_DEFAULT_NAME_TEMPLATE;
        display = instance_display_name(i);
        r = render(template, p, region, i, display, slot, &name);
        if (r < 0)
                return r;
        image_name_sanitize(name);

        /* A name cut at its end could lose the slot and so collide with the next slot's
         * name, which CreateImage would answer with InvalidAMIName.Duplicate forever.
         * The free text of a long Name tag gives way first; a hard cut is the last
         * resort, for a template whose fixed text alone is too long. */
        len = strlen(name);
        n = count_occurrences(template, "{instance_name}");
        if (len > EC2_IMAGE_NAME_MAX && n > 0 && display) {
                size_t l, cut;

                short_name = strdup(display);
                if (!short_name)
                        return -ENOMEM;
                image_name_sanitize(short_name);
                l = strlen(short_name);
                cut = (len - EC2_IMAGE_NAME_MAX + n - 1) / n;
                short_name[cut < l ? l - cut : 0] = 0;

                name = mfree(name);
                r = render(template, p, region, i, short_name, slot, &name);
                if (r < 0)
                        return r;
                image_name_sanitize(name);
        }
        truncate_utf8(name, EC2_IMAGE_NAME_MAX);

        *ret = TAKE_PTR(name);
        return 0;
}

int plan_render_description(const policy *p, const char *region, const ec2_instance *i,
                            const char *slot, char **ret) {
        int r;

        if (!p || !ret)
                return -EINVAL;
        if (!p->description_template) {
                *ret = NULL;
                return 0;
        }
        r = plan_render_template(p->description_template, p, region, i, slot, ret);
        if (r < 0)
                return r;
        truncate_utf8(*ret, EC2_IMAGE_DESCRIPTION_MAX);
        return 0;
}
