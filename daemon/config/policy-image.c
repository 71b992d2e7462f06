/* SPDX-License-Identifier: MIT */
/*
 * image.volumes: all (CreateImage's default), root, or a mapping of devices and
 * volume tags to leave out. The device names are checked as EC2 names devices in a
 * block-device mapping ("Device names on Linux instances", EC2 user guide: /dev/sd[a-z]
 * and /dev/xvd[a-z] with an optional second letter, /dev/sda1 for a root; Windows
 * instances use xvd[a-z] without /dev/), so that a typo is an error at `amirotd check`
 * rather than a volume silently kept. /dev/nvme* are the names Linux gives NVMe
 * devices, never the mapping's: they are refused with the way to find the right one.
 */
#include "config/policy-parse.h"

static const char *const volumes_values[] = { "all", "root", NULL };
static const char *const volumes_keys[] = { "exclude_devices", "exclude_tags", NULL };

static bool lower(char c) {
        return c >= 'a' && c <= 'z';
}

/* sd or xvd, then one or two letters, or one letter and a partition number 1..15 (/dev/sda1). */
static bool device_name_valid(const char *s) {
        const char *t = startswith(s, "/dev/") ? s + 5 : s;

        if (t == s && !startswith(s, "xvd"))
                return false;           /* without /dev/: Windows' xvdX only */
        if (startswith(t, "xvd"))
                t += 3;
        else if (startswith(t, "sd"))
                t += 2;
        else
                return false;
        if (!lower(t[0]))
                return false;
        if (t[1] == '\0' || (lower(t[1]) && t[2] == '\0'))
                return true;
        if (t[1] >= '1' && t[1] <= '9' && t[2] == '\0')
                return true;
        return t[1] == '1' && t[2] >= '0' && t[2] <= '5' && t[3] == '\0';
}

/* The root device names EC2's AMIs use: a rule naming one never applies. */
static bool device_is_root(const char *s) {
        return streq(s, "/dev/xvda") || streq(s, "/dev/sda1");
}

static int parse_devices(loader *l, policy *p, const cnode *n) {
        if (!cvalue_expect(l, n, CNODE_SEQUENCE, "exclude_devices"))
                return -EINVAL;
        if (n->n_items == 0) {
                loader_error(l, n, "'exclude_devices' is empty: name devices such as /dev/sdf, or leave it out");
                return -EINVAL;
        }
        for (size_t i = 0; i < n->n_items; i++) {
                _cleanup_(freep) char *d = NULL;

                if (cvalue_string(l, n->items[i], "exclude_devices", &d) < 0)
                        continue;
                if (startswith(d, "/dev/nvme")) {
                        loader_error(l, n->items[i], "'%s' is the name Linux gives an NVMe device; EC2's "
                                     "block-device mapping names it /dev/sdX or /dev/xvdX (the volume's "
                                     "'ebsnvme-id' or 'nvme id-ctrl -v' tells which)", d);
                        continue;
                }
                if (!device_name_valid(d)) {
                        loader_error(l, n->items[i], "'%s' is not an EC2 device name "
                                     "(/dev/sdf to /dev/sdp, /dev/xvdb ... /dev/xvdz, xvdf on Windows)", d);
                        continue;
                }
                if (strv_contains(p->exclude_devices, d)) {
                        loader_warning(l, n->items[i], "device '%s' is listed twice, ignoring", d);
                        continue;
                }
                if (device_is_root(d))
                        loader_warning(l, n->items[i], "'%s' is a root device name: an image always holds "
                                       "its instance's root volume, so it is never left out", d);
                if (strv_push(&p->exclude_devices, TAKE_PTR(d)) < 0)
                        return (l->oom = -ENOMEM);
        }
        return 0;
}

static int parse_exclusions(loader *l, policy *p, const cnode *n, const cnode **ret_tags) {
        _cleanup_(freep) centry *e = NULL;
        size_t n_e = 0;
        int r;

        r = cvalue_mapping(l, n, "volumes", &e, &n_e);
        if (r < 0)
                return r;
        if (n_e == 0) {
                loader_error(l, n, "'volumes' needs 'exclude_devices' or 'exclude_tags' (or write all or root)");
                return -EINVAL;
        }
        p->volumes = POLICY_VOLUMES_EXCLUDE;
        for (size_t i = 0; i < n_e; i++) {
                const char *k = e[i].key->value;
                const cnode *v = e[i].value;

                if (streq(k, "exclude_devices"))
                        (void) parse_devices(l, p, v);
                else if (streq(k, "exclude_tags")) {
                        if (v->kind == CNODE_MAPPING && v->n_items == 0)
                                loader_error(l, v, "'exclude_tags' is empty: name tags such as {Scratch: \"true\"}, "
                                             "or leave it out");
                        else
                                *ret_tags = v;
                } else
                        cvalue_unknown(l, e[i].key, "key", "'volumes'", volumes_keys);
                if (l->oom)
                        return l->oom;
        }
        return 0;
}

int config_image_volumes_parse(loader *l, policy *p, const cnode *n, const cnode **ret_exclude_tags) {
        *ret_exclude_tags = NULL;
        if (n->kind != CNODE_SCALAR)
                return parse_exclusions(l, p, n, ret_exclude_tags);
        if (streq(n->value, "all"))
                p->volumes = POLICY_VOLUMES_ALL;
        else if (streq(n->value, "root"))
                p->volumes = POLICY_VOLUMES_ROOT;
        else {
                cvalue_unknown(l, n, "value", "'volumes' (all, root, or a mapping with exclude_devices "
                               "or exclude_tags)", volumes_values);
                return -EINVAL;
        }
        return 0;
}
