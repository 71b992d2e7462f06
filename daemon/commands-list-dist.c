/* SPDX-License-Identifier: MIT */
/*
 * See commands-list-dist.h. Reads with the synchronous calls of the one-shot commands;
 * logs once per place that cannot be read, where it is read.
 */
#include <stdio.h>

#include "base/log.h"
#include "aws/ec2.h"
#include "commands-common.h"
#include "commands-list-dist.h"
#include "run/plan.h"

/* ---- Reading ----------------------------------------------------------------------------- */

/* "arn:PARTITION:iam::ACCOUNT:role/NAME": the account, or NULL when role_arn is NULL. */
static int role_account(const char *role_arn, char **ret) {
        const char *p = role_arn;

        *ret = NULL;
        if (!role_arn)
                return 0;
        for (int field = 0; field < 4 && p; field++)
                p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL;
        if (!p || !strchr(p, ':'))
                return 0;               /* check validates role_arn; here it only labels */
        *ret = strndup(p, strcspn(p, ":"));
        return *ret ? 0 : -ENOMEM;
}

/* Logs why what (a destination's copies, a template's versions) could not be read. */
static void note_unreadable(const policy *p, const char *region, const char *action, const char *what,
                            const aws_error *err, const char *why) {
        log_full(LOG_WARNING, 0, NULL,
                 &(log_fields) { .policy = p->name, .region = region, .action = action,
                                 .error_code = err->code, .request_id = err->request_id },
                 "policy '%s': cannot list %s in %s: %s; listed without them", p->name, what, region, why);
}

static int copies_push(list_copies *c, ec2_image *img) {
        ec2_image *items;
        bool *shown;

        items = reallocarray(c->images.items, c->images.n + 1, sizeof(ec2_image));
        if (!items)
                return -ENOMEM;
        c->images.items = items;
        shown = reallocarray(c->shown, c->images.n + 1, sizeof(bool));
        if (!shown)
                return -ENOMEM;
        c->shown = shown;
        shown[c->images.n] = false;
        items[c->images.n++] = *img;
        c->images.cap = c->images.n;
        *img = (ec2_image) {};
        return 0;
}

/* The copies among the policy's images in a destination. */
static int read_destination(aws_pool *pool, const policy *p, const copy_destination *dest, list_copies *ret) {
        _cleanup_(ec2_image_list_done) ec2_image_list images = {};
        _cleanup_(aws_error_done) aws_error err = {};
        char *values[] = { p->name, NULL };
        ec2_filter filter = { .name = "tag:" TAG_POLICY, .values = values };
        aws_client *ec2;
        int r;

        ret->region = strdup(dest->region);
        if (!ret->region || role_account(dest->role_arn, &ret->account) < 0)
                return -ENOMEM;
        r = aws_pool_ec2_as(pool, dest->region, dest->role_arn, dest->external_id, &ec2);
        if (r >= 0)
                r = ec2_describe_images_sync(ec2, &filter, 1, NULL, &images, &err);
        if (r < 0) {
                ret->error = aws_failure_text(r, &err);
                if (!ret->error)
                        return -ENOMEM;
                note_unreadable(p, dest->region, "DescribeImages", "the copies", &err, ret->error);
                return 0;
        }
        for (size_t i = 0; i < images.n; i++)
                if (ec2_tags_get(&images.items[i].tags, TAG_COPY_OF) && copies_push(ret, &images.items[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static int read_template(aws_pool *pool, const policy *p, const launch_template_target *t, const char *region,
                         list_template *ret) {
        _cleanup_(aws_error_done) aws_error err = {};
        _cleanup_(freep) char *what = NULL;
        aws_client *ec2;
        int r;

        ret->target = t;
        ret->region = strdup(region);
        if (!ret->region || role_account(t->role_arn, &ret->account) < 0)
                return -ENOMEM;
        r = t->role_arn ? aws_pool_ec2_as(pool, region, t->role_arn, t->external_id, &ec2) :
                aws_pool_ec2(pool, p, region, &ec2);
        if (r >= 0)
                r = ec2_describe_template_versions_sync(ec2, &(ec2_template_versions_request) {
                                                           .template = { .id = t->id, .name = t->name },
                                                           .resolve_alias = true,
                                                   }, &ret->versions, &err);
        if (r >= 0)
                return 0;
        ret->error = aws_failure_text(r, &err);
        if (!ret->error || asprintf(&what, "the versions of launch template '%s'", t->id ?: t->name) < 0)
                return -ENOMEM;
        note_unreadable(p, region, "DescribeLaunchTemplateVersions", what, &err, ret->error);
        return 0;
}

static int read_templates(aws_pool *pool, const policy *p, list_dist *d) {
        for (size_t i = 0; i < p->n_launch_templates; i++) {
                const launch_template_target *t = &p->launch_templates[i];
                char *only[] = { t->region, NULL };

                for (char **region = t->region ? only : p->regions; region && *region; region++) {
                        list_template *items = reallocarray(d->templates, d->n_templates + 1, sizeof(list_template));

                        if (!items)
                                return -ENOMEM;
                        d->templates = items;
                        items[d->n_templates] = (list_template) {};
                        if (read_template(pool, p, t, *region, &items[d->n_templates++]) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

int list_dist_read(aws_pool *pool, const policy *p, list_dist *ret) {
        *ret = (list_dist) { .policy = p };
        if (p->n_copy_to > 0) {
                ret->copies = calloc(p->n_copy_to, sizeof(list_copies));
                if (!ret->copies)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < p->n_copy_to; i++) {
                ret->n_copies++;
                if (read_destination(pool, p, &p->copy_to[i], &ret->copies[i]) < 0)
                        return -ENOMEM;
        }
        return read_templates(pool, p, ret);
}

void list_dist_done(list_dist *d) {
        for (size_t i = 0; i < d->n_copies; i++) {
                free(d->copies[i].region);
                free(d->copies[i].account);
                ec2_image_list_done(&d->copies[i].images);
                free(d->copies[i].shown);
                free(d->copies[i].error);
        }
        free(d->copies);
        for (size_t i = 0; i < d->n_templates; i++) {
                free(d->templates[i].region);
                free(d->templates[i].account);
                ec2_template_versions_done(&d->templates[i].versions);
                free(d->templates[i].error);
        }
        free(d->templates);
        *d = (list_dist) {};
}

static bool copies_hold(const list_copies *c, const char *image_id) {
        for (size_t i = 0; i < c->images.n; i++)
                if (streq(c->images.items[i].id, image_id))
                        return true;
        return false;
}

int list_dist_take_copy(list_dist *d, const char *region, ec2_image *img) {
        list_copies *c = NULL, *items;

        if (!ec2_tags_get(&img->tags, TAG_COPY_OF))
                return 0;
        /* A destination of the policy's own account read it already; else keep it under its
         * region, a copy of a destination no longer configured. */
        for (size_t i = 0; i < d->n_copies; i++)
                if (streq(d->copies[i].region, region) && !d->copies[i].account) {
                        if (copies_hold(&d->copies[i], img->id))
                                return 1;
                        c = c ?: &d->copies[i];
                }
        if (!c) {
                items = reallocarray(d->copies, d->n_copies + 1, sizeof(list_copies));
                if (!items)
                        return -ENOMEM;
                d->copies = items;
                c = &items[d->n_copies++];
                *c = (list_copies) { .region = strdup(region) };
                if (!c->region)
                        return -ENOMEM;
        }
        return copies_push(c, img) < 0 ? -ENOMEM : 1;
}

/* ---- What is shown beside an image --------------------------------------------------------- */

/* Whether copy is a copy of the image id in region: its amirotd:copy-of is "REGION/ID". */
static bool copy_of(const ec2_image *copy, const char *region, const char *id) {
        const char *v = ec2_tags_get(&copy->tags, TAG_COPY_OF), *slash = v ? strchr(v, '/') : NULL;

        return slash && (size_t) (slash - v) == strlen(region) && strncmp(v, region, slash - v) == 0 &&
                streq(slash + 1, id);
}

static json_object *copy_json(const list_copies *c, const ec2_image *copy) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "region", json_object_new_string(c->region));
        json_object_object_add(o, "account", json_str(c->account));
        json_object_object_add(o, "image_id", json_object_new_string(copy->id));
        json_object_object_add(o, "name", json_object_new_string(copy->name ?: ""));
        json_object_object_add(o, "state", json_object_new_string(ec2_image_state_to_string(copy->state) ?: "unknown"));
        return o;
}

static json_object *unreadable_json(const char *what, const char *region, const char *account, const char *error) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "what", json_object_new_string(what));
        json_object_object_add(o, "region", json_object_new_string(region));
        json_object_object_add(o, "account", json_str(account));
        json_object_object_add(o, "error", json_object_new_string(error));
        return o;
}

/* The copies of img, in each place read; each one shown is marked. */
static void copies_json(list_dist *d, const ec2_image *img, const char *region, json_object *dist,
                        json_object *unreadable) {
        json_object *arr = json_object_new_array();

        for (size_t i = 0; i < d->n_copies; i++) {
                list_copies *c = &d->copies[i];

                if (c->error)
                        json_object_array_add(unreadable, unreadable_json("copies", c->region, c->account, c->error));
                for (size_t k = 0; k < c->images.n; k++)
                        if (copy_of(&c->images.items[k], region, img->id)) {
                                json_object_array_add(arr, copy_json(c, &c->images.items[k]));
                                c->shown[k] = true;
                        }
        }
        json_object_object_add(dist, "copies", arr);
}

static void copies_text(list_dist *d, const ec2_image *img, const char *region) {
        for (size_t i = 0; i < d->n_copies; i++) {
                list_copies *c = &d->copies[i];

                if (c->error)
                        printf("    copies in %s%s%s: cannot be read (%s)\n", c->region, c->account ? " account " : "",
                               c->account ?: "", c->error);
                for (size_t k = 0; k < c->images.n; k++)
                        if (copy_of(&c->images.items[k], region, img->id)) {
                                printf("    copy %s%s%s %s %s\n", c->region, c->account ? " account " : "",
                                       c->account ?: "", c->images.items[k].id,
                                       ec2_image_state_to_string(c->images.items[k].state) ?: "unknown");
                                c->shown[k] = true;
                        }
        }
}

/* The image a template version names, when it is img or one of its copies: NULL if neither. */
static const char *names_image(const list_dist *d, const list_template *t, const ec2_template_version *v,
                               const ec2_image *img, const char *region) {
        if (!v->image_id)
                return NULL;
        if (streq(t->region, region) && !t->account && streq(v->image_id, img->id))
                return img->id;
        for (size_t i = 0; i < d->n_copies; i++) {
                const list_copies *c = &d->copies[i];

                if (!streq(c->region, t->region) || !streq_ptr(c->account, t->account))
                        continue;
                for (size_t k = 0; k < c->images.n; k++)
                        if (streq(v->image_id, c->images.items[k].id) && copy_of(&c->images.items[k], region, img->id))
                                return c->images.items[k].id;
        }
        return NULL;
}

/* C's launch template versions say "amirotd {policy} {image-id}". */
static bool made_by_amirotd(const list_dist *d, const ec2_template_version *v) {
        _cleanup_(freep) char *want = NULL;

        if (!v->description || asprintf(&want, "amirotd %s %s", d->policy->name, v->image_id) < 0)
                return false;
        return streq(v->description, want);
}

/* Whether v is its template's $Latest: the highest version number answered, with an image or not. */
static bool is_latest(const list_template *t, const ec2_template_version *v) {
        return v == ec2_template_versions_latest(&t->versions);
}

static json_object *version_json(const list_dist *d, const list_template *t, const ec2_template_version *v,
                                 const char *image_id) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "template_id", json_str(v->template_id));
        json_object_object_add(o, "template_name", json_str(v->template_name));
        json_object_object_add(o, "region", json_object_new_string(t->region));
        json_object_object_add(o, "account", json_str(t->account));
        json_object_object_add(o, "version", json_object_new_int64(v->number));
        json_object_object_add(o, "default", json_object_new_boolean(v->is_default));
        json_object_object_add(o, "latest", json_object_new_boolean(is_latest(t, v)));
        json_object_object_add(o, "image_id", json_object_new_string(image_id));
        json_object_object_add(o, "made_by_amirotd", json_object_new_boolean(made_by_amirotd(d, v)));
        return o;
}

static void templates_json(list_dist *d, const ec2_image *img, const char *region, json_object *dist,
                           json_object *unreadable) {
        json_object *arr = json_object_new_array();

        for (size_t i = 0; i < d->n_templates; i++) {
                const list_template *t = &d->templates[i];

                if (t->error)
                        json_object_array_add(unreadable, unreadable_json("launch_template", t->region, t->account,
                                                                          t->error));
                for (size_t k = 0; k < t->versions.n; k++) {
                        const char *named = names_image(d, t, &t->versions.items[k], img, region);

                        if (named)
                                json_object_array_add(arr, version_json(d, t, &t->versions.items[k], named));
                }
        }
        json_object_object_add(dist, "launch_template_versions", arr);
}

static void templates_text(list_dist *d, const ec2_image *img, const char *region) {
        for (size_t i = 0; i < d->n_templates; i++) {
                const list_template *t = &d->templates[i];
                const char *label = t->target->id ?: t->target->name;

                if (t->error)
                        printf("    launch template %s in %s: cannot be read (%s)\n", label, t->region, t->error);
                for (size_t k = 0; k < t->versions.n; k++) {
                        const ec2_template_version *v = &t->versions.items[k];
                        const char *named = names_image(d, t, v, img, region);

                        if (!named)
                                continue;
                        printf("    launch template %s (%s) in %s%s%s version %u%s%s%s%s%s\n",
                               v->template_name ?: "-", v->template_id, t->region, t->account ? " account " : "",
                               t->account ?: "", v->number, v->is_default ? " default" : "",
                               is_latest(t, v) ? " latest" : "",
                               streq(named, img->id) ? "" : " (names copy ", streq(named, img->id) ? "" : named,
                               streq(named, img->id) ? "" : ")");
                }
        }
}

/* The parts of an image's distribution, in order: each adds its member to the "distribution"
 * object (and what it could not read to "unreadable"), and prints its lines under the row
 * ("    WHAT ..."). The image's shares (launch permissions, snapshots' create-volume
 * permissions) are one more entry here, "shares", read in list_dist_read() and shown by
 * functions of their own file. */
static const struct {
        void (*json)(list_dist *d, const ec2_image *img, const char *region, json_object *dist,
                     json_object *unreadable);
        void (*text)(list_dist *d, const ec2_image *img, const char *region);
} parts[] = {
        { copies_json, copies_text },
        { templates_json, templates_text },
};

json_object *list_dist_image_json(list_dist *d, const ec2_image *img, const char *region) {
        json_object *dist = json_object_new_object(), *unreadable = json_object_new_array();

        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                parts[i].json(d, img, region, dist, unreadable);
        json_object_object_add(dist, "unreadable", unreadable);
        return dist;
}

void list_dist_image_text(list_dist *d, const ec2_image *img, const char *region) {
        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                parts[i].text(d, img, region);
}

void list_dist_unshown(list_dist *d, list_dist_copy_cb cb, void *userdata) {
        for (size_t i = 0; i < d->n_copies; i++)
                for (size_t k = 0; k < d->copies[i].images.n; k++)
                        if (!d->copies[i].shown[k])
                                cb(&d->copies[i].images.items[k], d->copies[i].region, userdata);
}
