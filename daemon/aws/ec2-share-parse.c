/* SPDX-License-Identifier: MIT */
/*
 * The parser of DescribeImageAttribute's launch permissions and DescribeSnapshotAttribute's
 * create-volume permissions (ec2-share-calls.c sends them), pure and apart from the calls
 * so that the op machinery (ec2-calls.c) and the fuzzer reach it without the calls.
 */
#include "ec2.h"
#include "query.h"

void ec2_permission_list_done(ec2_permission_list *l) {
        strv_free(l->user_ids);
        strv_free(l->organization_arns);
        strv_free(l->organizational_unit_arns);
        *l = (ec2_permission_list) {};
}

/* One <item>: LaunchPermission "Group ... Valid Values: all", "UserId", "OrganizationArn",
 * "OrganizationalUnitArn" (CreateVolumePermission: Group and UserId). */
static int parse_permission(xmlNode *item, ec2_permission_list *l) {
        static const char *const kinds[] = { "userId", "organizationArn", "organizationalUnitArn" };
        char ***const lists[] = { &l->user_ids, &l->organization_arns, &l->organizational_unit_arns };
        _cleanup_(freep) char *group = xml_child_text_or_null(item, "group");

        if (streq_ptr(group, "all")) {
                l->public = true;
                return 0;
        }
        for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                char *v = xml_child_text_or_null(item, kinds[k]);

                if (!isempty(v))
                        return strv_push(lists[k], v);
                free(v);
        }
        return -EBADMSG;
}

int ec2_parse_permissions(xmlDoc *doc, const char *attribute, ec2_permission_list *ret) {
        _cleanup_(ec2_permission_list_done) ec2_permission_list l = {};
        xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
        size_t len = root && root->name ? strlen((const char *) root->name) : 0;
        int r;

        if (!ret || !attribute)
                return -EINVAL;
        if (len < 8 || !streq((const char *) root->name + len - 8, "Response"))
                return -EBADMSG;
        for (xmlNode *it = xml_child(xml_child(root, attribute), "item"); it; it = xml_next(it, "item")) {
                r = parse_permission(it, &l);
                if (r < 0)
                        return r;
        }
        *ret = l;
        l = (ec2_permission_list) {};
        return 0;
}
