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

#define INSTANCE_TAG_PREFIX "{instance_tag:"

/* Appends at most max characters of s (UTF-8 sequences whole). */
static int append_cut(strbuf *b, const char *s, size_t max) {
        size_t n = 0, chars = 0;

        for (; s[n]; n++)
                if (((unsigned char) s[n] & 0xC0) != 0x80 && chars++ == max)
                        break;
        return strbuf_append(b, s, n);
}

/* What the placeholder at s stands for, and its length in *ret_len; NULL when s holds
 * none. *ret_free: the value is an instance's free text (its name or one of its tags). */
static const char *placeholder_at(const char *s, const policy *p, const char *region, const ec2_instance *i,
                                  const char *instance_name, const char *slot, size_t *ret_len, bool *ret_free) {
        const struct {
                const char *placeholder;
                const char *value;
                bool free_text;
        } vars[] = {
                { "{policy}",        p->name },
                { "{instance_id}",   i ? i->id : NULL },
                { "{instance_name}", instance_name, true },
                { "{slot}",          slot },
                { "{region}",        region },
        };

        for (size_t k = 0; k < ELEMENTSOF(vars); k++)
                if (startswith(s, vars[k].placeholder)) {
                        *ret_len = strlen(vars[k].placeholder);
                        *ret_free = vars[k].free_text;
                        return vars[k].value ?: "";
                }
        if (startswith(s, INSTANCE_TAG_PREFIX)) {
                const char *key = s + strlen(INSTANCE_TAG_PREFIX), *end = strchr(key, '}');
                char k[EC2_TAG_KEY_MAX * 4 + 1];        /* 128 characters of up to 4 bytes */
                const char *v;

                if (!end || end == key || (size_t) (end - key) >= sizeof(k) ||
                    memchr(key, '{', (size_t) (end - key)))
                        return NULL;
                memcpy(k, key, (size_t) (end - key));
                k[end - key] = 0;
                /* A tag the instance lacks renders empty (documented): one instance without
                 * the tag must not fail the image of its slot. */
                v = i ? ec2_tags_get(&i->tags, k) : NULL;
                *ret_len = (size_t) (end - s) + 1;
                *ret_free = true;
                return v ?: "";
        }
        return NULL;
}

/* Renders template; each free-text value (an instance's name or tag) is cut to free_max
 * characters. */
static int render(const char *template, const policy *p, const char *region, const ec2_instance *i,
                  const char *slot, size_t free_max, char **ret) {
        const char *instance_name = instance_display_name(i);
        strbuf b = {};
        int r = 0;

        for (const char *s = template; *s && r >= 0;) {
                const char *v;
                size_t len;
                bool free_text;

                v = placeholder_at(s, p, region, i, instance_name, slot, &len, &free_text);
                if (v) {
                        r = append_cut(&b, v, free_text ? free_max : SIZE_MAX);
                        s += len;
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
        return render(template, p, region, i, slot, SIZE_MAX, ret);
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

/* The name with each free-text value cut to free_max characters, sanitised. */
static int render_name(const char *template, const policy *p, const char *region, const ec2_instance *i,
                       const char *slot, size_t free_max, char **ret) {
        int r;

        r = render(template, p, region, i, slot, free_max, ret);
        if (r < 0)
                return r;
        image_name_sanitize(*ret);
        return 0;
}

int plan_render_image_name(const policy *p, const char *region, const ec2_instance *i,
                           const char *slot, char **ret) {
        _cleanup_(freep) char *name = NULL;
        const char *template;
        int r;

        if (!p || !ret)
                return -EINVAL;

        template = p->name_template ?: POLICY_DEFAULT_NAME_TEMPLATE;
        r = render_name(template, p, region, i, slot, SIZE_MAX, &name);
        if (r < 0)
                return r;

        /* A name cut at its end could lose the slot and so collide with the next slot's
         * name, which CreateImage would answer with InvalidAMIName.Duplicate forever.
         * The free text of a long Name tag or instance tag gives way first (each cut to
         * the longest length that fits, found by bisection: sanitising makes one
         * character one byte); a hard cut is the last resort, for a template whose fixed
         * text alone is too long. */
        if (strlen(name) > EC2_IMAGE_NAME_MAX) {
                size_t lo = 0, hi = strlen(name);

                while (lo < hi) {
                        _cleanup_(freep) char *t = NULL;
                        size_t mid = lo + (hi - lo + 1) / 2;

                        r = render_name(template, p, region, i, slot, mid, &t);
                        if (r < 0)
                                return r;
                        if (strlen(t) <= EC2_IMAGE_NAME_MAX)
                                lo = mid;
                        else
                                hi = mid - 1;
                }
                name = mfree(name);
                r = render_name(template, p, region, i, slot, lo, &name);
                if (r < 0)
                        return r;
        }
        name[utf8_cut_bytes(name, EC2_IMAGE_NAME_MAX)] = 0;

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
        (*ret)[utf8_cut_bytes(*ret, EC2_IMAGE_DESCRIPTION_MAX)] = 0;
        return 0;
}

int plan_render_tag_value(const char *template, const policy *p, const char *region, const ec2_instance *i,
                          const char *slot, char **ret) {
        int r;

        r = plan_render_template(template, p, region, i, slot, ret);
        if (r < 0)
                return r;
        /* Tag restrictions: "Maximum value length - 256 Unicode characters in UTF-8". */
        (*ret)[utf8_cut_chars(*ret, EC2_TAG_VALUE_MAX)] = 0;
        return 0;
}
