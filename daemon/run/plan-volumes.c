/* SPDX-License-Identifier: MIT */
/*
 * image.volumes: which of an instance's EBS volumes a new image holds. CreateImage
 * takes every volume of the instance unless a BlockDeviceMapping.N names a device
 * with NoDevice; here each PLAN_CREATE gets the device names to leave out. Two
 * things EC2 refuses are never planned: leaving out the root device (the image would
 * not boot), and a NoDevice for a device the instance does not have (EC2 reads it as
 * a new mapping and answers InvalidBlockDeviceMapping "Either snapshot ID or volume
 * size must be provided"). So only devices of the instance's own block-device
 * mappings are named, under the names DescribeInstances gives them.
 * The snapshots follow by themselves: an image lists only the snapshots it has, and
 * retirement deletes exactly those. Pure, like plan.c.
 */
#include <stdlib.h>

#include "run/plan.h"

/* "/dev/sdf" and "/dev/xvdf" name the same device: EC2's block-device mapping keeps the
 * name it was given, while Linux's Xen drivers show sd* as xvd*, so an operator may
 * write either. */
static const char *device_suffix(const char *name) {
        if (startswith(name, "/dev/xvd"))
                return name + strlen("/dev/xvd");
        if (startswith(name, "/dev/sd"))
                return name + strlen("/dev/sd");
        return NULL;
}

static bool device_same(const char *a, const char *b) {
        const char *sa = device_suffix(a), *sb = device_suffix(b);

        if (streq(a, b))
                return true;
        return sa && sb && streq(sa, sb);
}

static int string_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool volume_tagged(const plan_input *in, const char *volume_id) {
        char *const *l = in->excluded_volume_ids;
        size_t n = strv_length(l);

        return n > 0 && bsearch(&volume_id, l, n, sizeof(char *), string_compare);
}

static bool listed(char *const *devices, const char *name) {
        for (char *const *d = devices; d && *d; d++)
                if (device_same(*d, name))
                        return true;
        return false;
}

/* Whether image.volumes asks to leave out this volume of the instance. */
static bool wants_out(const policy *p, const plan_input *in, const ec2_instance_volume *v) {
        switch (p->volumes) {
        case POLICY_VOLUMES_ROOT:
                return true;    /* every one: the caller keeps the root device */
        case POLICY_VOLUMES_EXCLUDE:
                return listed(p->exclude_devices, v->device_name) || volume_tagged(in, v->volume_id);
        default:
                return false;
        }
}

static bool volume_selected(const policy *p, const ec2_volume *v) {
        for (size_t k = 0; k < p->n_exclude_volume_tags; k++) {
                const tag_selector *t = &p->exclude_volume_tags[k];
                const char *value = ec2_tags_get(&v->tags, t->key);

                if (value && (!t->value || streq(value, t->value)))
                        return true;
        }
        return false;
}

int plan_excluded_volumes(const policy *p, const ec2_volume *volumes, size_t n, char ***ret) {
        _cleanup_(strv_freep) char **out = NULL;

        for (size_t k = 0; k < n; k++)
                if (volume_selected(p, &volumes[k]) && strv_extend(&out, volumes[k].id) < 0)
                        return -ENOMEM;
        if (out)
                qsort(out, strv_length(out), sizeof(char *), string_compare);
        *ret = TAKE_PTR(out);
        return 0;
}

int plan_exclude_devices(const plan_input *in, const ec2_instance *i, char ***ret, bool *ret_root_kept) {
        _cleanup_(strv_freep) char **out = NULL;
        const policy *p = in->policy;
        bool root_kept = false;

        /* EC2 names the root device of every EBS-backed instance (and CreateImage images no
         * other kind); without it the root is not known, and nothing is left out. */
        if (p->volumes == POLICY_VOLUMES_ALL || !i->root_device_name) {
                *ret = NULL;
                *ret_root_kept = false;
                return 0;
        }
        for (size_t k = 0; k < i->n_volumes; k++) {
                const ec2_instance_volume *v = &i->volumes[k];

                if (!wants_out(p, in, v))
                        continue;
                if (device_same(v->device_name, i->root_device_name)) {
                        /* volumes: root keeps it by definition; an exclude rule asked for it */
                        root_kept = root_kept || p->volumes == POLICY_VOLUMES_EXCLUDE;
                        continue;
                }
                if (strv_contains(out, v->device_name))
                        continue;
                if (strv_extend(&out, v->device_name) < 0)
                        return -ENOMEM;
        }
        if (out)
                qsort(out, strv_length(out), sizeof(char *), string_compare);
        *ret = TAKE_PTR(out);
        *ret_root_kept = root_kept;
        return 0;
}
