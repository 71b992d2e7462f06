/* SPDX-License-Identifier: MIT */
/*
 * The calls that change one image's standing, over ec2-calls.c's ops: EnableImage-
 * Deprecation and DisableImage (staged retirement, image.deprecate_after), Enable- and
 * DisableImageDeregistrationProtection (protect.newest). Nothing here logs.
 */
#include "ec2-op.h"

/* An action of one image that answers <return>: DisableImage, EnableImageDeprecation. */
static int image_action(aws_client *c, const char *action, const char *image_id, const char *key,
                        const char *value, bool dry_run, ec2_done_cb cb, void *userdata, ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!c || !cb || isempty(image_id))
                return -EINVAL;
        r = aws_query_new(action, &q);
        if (r < 0)
                return r;
        r = aws_query_add(q, "ImageId", image_id);
        if (r >= 0 && key)
                r = aws_query_add(q, key, value);
        if (r >= 0)
                r = ec2_query_add_dry_run(q, dry_run);
        if (r < 0)
                return r;
        return ec2_op_start(c, TAKE_PTR(q), OP_RETURN, (op_callback) { .done = cb }, userdata, ret_op);
}

int ec2_enable_image_deprecation(aws_client *c, const char *image_id, time_t deprecate_at, bool dry_run,
                                 ec2_done_cb cb, void *userdata, ec2_op **ret_op) {
        char at[21];

        /* "The date and time to deprecate the AMI, in UTC, in the following format:
         * YYYY-MM-DDTHH:MM:SSZ." */
        if (deprecate_at <= 0 || !format_iso8601(deprecate_at, at))
                return -EINVAL;
        return image_action(c, "EnableImageDeprecation", image_id, "DeprecateAt", at, dry_run, cb, userdata, ret_op);
}

int ec2_disable_image(aws_client *c, const char *image_id, bool dry_run, ec2_done_cb cb, void *userdata,
                      ec2_op **ret_op) {
        return image_action(c, "DisableImage", image_id, NULL, NULL, dry_run, cb, userdata, ret_op);
}

/* Enable/DisableImageDeregistrationProtection: ImageId, and for Enable WithCooldown: "If
 * true, enforces deregistration protection for 24 hours after deregistration protection
 * is disabled." Their <return> is the new state as a string ("enabled-with-cooldown"). */
int ec2_set_image_deregistration_protection(aws_client *c, const char *image_id, bool enable, bool with_cooldown,
                                            bool dry_run, ec2_done_cb cb, void *userdata, ec2_op **ret_op) {
        _cleanup_(aws_query_freep) aws_query *q = NULL;
        int r;

        if (!c || !cb || isempty(image_id))
                return -EINVAL;
        r = aws_query_new(enable ? "EnableImageDeregistrationProtection" : "DisableImageDeregistrationProtection", &q);
        if (r < 0)
                return r;
        r = aws_query_add(q, "ImageId", image_id);
        if (r >= 0 && enable && with_cooldown)
                r = aws_query_add(q, "WithCooldown", "true");
        if (r >= 0)
                r = ec2_query_add_dry_run(q, dry_run);
        if (r < 0)
                return r;
        return ec2_op_start(c, TAKE_PTR(q), OP_STATE, (op_callback) { .done = cb }, userdata, ret_op);
}
