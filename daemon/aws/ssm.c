/* SPDX-License-Identifier: MIT */
/*
 * See ssm.h. Shapes from the SSM API reference: GetParameter "Name: The name or Amazon
 * Resource Name (ARN) of the parameter"; its answer "Parameter: Information about a
 * parameter" (Name, Type, Value, Version, DataType, ...). PutParameter "Overwrite:
 * Overwrite an existing parameter. The default value is false", "DataType: ...
 * aws:ec2:image"; its answer "Version: The new version number of a parameter".
 */
#include <strings.h>

#include "ssm.h"

struct ssm_op {
        aws_call *call;
        ssm_get_cb get;
        ssm_put_cb put;
        void *userdata;
};

void ssm_parameter_done(ssm_parameter *p) {
        free(p->name);
        free(p->type);
        free(p->value);
        free(p->data_type);
        *p = (ssm_parameter) {};
}

/*
 * "Parameter names can include only the following symbols and letters: a-zA-Z0-9_.-",
 * "the slash character ( / ) is used to delineate hierarchies", "For parameters in a
 * hierarchy, you must include a leading forward slash character (/)", "A parameter name
 * can't be prefixed with "aws" or "ssm" (case-insensitive)", "Parameter hierarchies are
 * limited to a maximum depth of fifteen levels", and "The maximum length for a parameter
 * name that you specify is 1011 characters. This includes the characters in the ARN that
 * precede the name": arn:aws:ssm:REGION:ACCOUNT:parameter/, with a 12-digit account.
 */
int ssm_parameter_name_check(const char *name, const char *region, const char **ret_why) {
        size_t slashes = 0, arn = strlen("arn:aws-us-gov:ssm:") + strlen(region ?: "") + strlen(":123456789012:parameter");
        const char *first;

        if (isempty(name)) {
                *ret_why = "a parameter name cannot be empty";
                return -EINVAL;
        }
        for (const char *c = name; *c; c++) {
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                      strchr("_.-/", *c))) {
                        *ret_why = "a parameter name holds only letters, digits and _ . - /";
                        return -EINVAL;
                }
                slashes += *c == '/';
        }
        if (slashes > 0 && name[0] != '/') {
                *ret_why = "a parameter name with '/' must start with '/' (a full hierarchy path)";
                return -EINVAL;
        }
        if (strstr(name, "//") || (slashes > 0 && name[strlen(name) - 1] == '/')) {
                *ret_why = "a parameter path has no empty level";
                return -EINVAL;
        }
        first = name[0] == '/' ? name + 1 : name;
        if (strncasecmp(first, "aws", 3) == 0 || strncasecmp(first, "ssm", 3) == 0) {
                *ret_why = "a parameter name cannot begin with 'aws' or 'ssm' (any case): those are reserved";
                return -EINVAL;
        }
        if (slashes > SSM_PARAMETER_MAX_DEPTH) {
                *ret_why = "a parameter path has at most 15 levels";
                return -EINVAL;
        }
        if (arn + (name[0] == '/' ? 0 : 1) + strlen(name) > SSM_PARAMETER_NAME_MAX_WITH_ARN) {
                *ret_why = "a parameter name, with the ARN before it, has at most 1011 characters";
                return -EINVAL;
        }
        return 0;
}

static int json_int64(json_object *o, const char *key, int64_t *ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return -EBADMSG;
        *ret = json_object_get_int64(v);
        return 0;
}

int ssm_parse_get_parameter(json_object *answer, ssm_parameter *ret) {
        ssm_parameter p = {};
        json_object *o;
        const char *name, *value;

        if (!answer || !json_object_object_get_ex(answer, "Parameter", &o) ||
            !json_object_is_type(o, json_type_object))
                return -EBADMSG;
        name = aws_json_string(o, "Name");
        value = aws_json_string(o, "Value");
        if (!name || !value)
                return -EBADMSG;
        if (json_int64(o, "Version", &p.version) < 0)
                p.version = 0;
        if (strdup_or_null(name, &p.name) < 0 || strdup_or_null(value, &p.value) < 0 ||
            strdup_or_null(aws_json_string(o, "Type"), &p.type) < 0 ||
            strdup_or_null(aws_json_string(o, "DataType"), &p.data_type) < 0) {
                ssm_parameter_done(&p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

int ssm_parse_put_parameter(json_object *answer, int64_t *ret_version) {
        int64_t v;

        if (!answer || json_int64(answer, "Version", &v) < 0 || v < 1)
                return -EBADMSG;
        *ret_version = v;
        return 0;
}

static void on_get(aws_call *call, int r, json_object *answer, const aws_error *err, void *userdata) {
        ssm_op *op = userdata;
        _cleanup_(ssm_parameter_done) ssm_parameter p = {};
        aws_error e = {};

        (void) call;
        if (r >= 0) {
                r = ssm_parse_get_parameter(answer, &p);
                if (r < 0)
                        (void) aws_error_setf(&e, "GetParameter: %s", r == -ENOMEM ? "out of memory" :
                                              "answer without a Parameter of Name and Value");
        } else if (err && aws_error_is(err, "ParameterNotFound"))
                r = -ENOENT;
        op->get(r, r >= 0 ? &p : NULL, r >= 0 ? NULL : err ?: &e, op->userdata);
        aws_error_done(&e);
        free(op);
}

static void on_put(aws_call *call, int r, json_object *answer, const aws_error *err, void *userdata) {
        ssm_op *op = userdata;
        int64_t version = 0;
        aws_error e = {};

        (void) call;
        if (r >= 0) {
                r = ssm_parse_put_parameter(answer, &version);
                if (r < 0)
                        (void) aws_error_setf(&e, "PutParameter: answer without a Version");
        }
        op->put(r, version, r >= 0 ? NULL : err ?: &e, op->userdata);
        aws_error_done(&e);
        free(op);
}

static int op_start(aws_client *c, const char *action, json_object *body, ssm_op *op, ssm_op **ret_op) {
        const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        int r;

        if (!text) {
                free(op);
                return -ENOMEM;
        }
        r = aws_client_call_json(c, action, text, op->get ? on_get : on_put, op, &op->call);
        if (r < 0) {
                free(op);
                return r;
        }
        if (ret_op)
                *ret_op = op;
        return 0;
}

int ssm_get_parameter(aws_client *c, const char *name, ssm_get_cb cb, void *userdata, ssm_op **ret_op) {
        _cleanup_(aws_json_freep) json_object *body = NULL;
        ssm_op *op;

        if (!c || isempty(name) || !cb)
                return -EINVAL;
        body = json_object_new_object();
        if (!body || json_object_object_add(body, "Name", json_object_new_string(name)) < 0)
                return -ENOMEM;
        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        *op = (ssm_op) { .get = cb, .userdata = userdata };
        return op_start(c, "GetParameter", body, op, ret_op);
}

static int put_body(const ssm_put_request *req, json_object **ret) {
        _cleanup_(aws_json_freep) json_object *body = json_object_new_object();
        int r;

        if (!body)
                return -ENOMEM;
        r = json_object_object_add(body, "Name", json_object_new_string(req->name));
        if (r >= 0 && req->description)
                r = json_object_object_add(body, "Description", json_object_new_string(req->description));
        if (r >= 0)
                r = json_object_object_add(body, "Value", json_object_new_string(req->value));
        if (r >= 0)
                r = json_object_object_add(body, "Type", json_object_new_string(req->type ?: "String"));
        if (r >= 0 && req->overwrite)
                r = json_object_object_add(body, "Overwrite", json_object_new_boolean(true));
        if (r >= 0 && req->data_type)
                r = json_object_object_add(body, "DataType", json_object_new_string(req->data_type));
        if (r < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(body);
        return 0;
}

int ssm_put_parameter_body(const ssm_put_request *req, char **ret) {
        _cleanup_(aws_json_freep) json_object *body = NULL;
        const char *text;
        int r;

        if (!req || isempty(req->name) || !req->value)
                return -EINVAL;
        r = put_body(req, &body);
        if (r < 0)
                return r;
        text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *ret = text ? strdup(text) : NULL;
        return *ret ? 0 : -ENOMEM;
}

int ssm_put_parameter(aws_client *c, const ssm_put_request *req, ssm_put_cb cb, void *userdata, ssm_op **ret_op) {
        _cleanup_(aws_json_freep) json_object *body = NULL;
        ssm_op *op;
        int r;

        if (!c || !req || isempty(req->name) || !req->value || !cb)
                return -EINVAL;
        r = put_body(req, &body);
        if (r < 0)
                return r;
        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        *op = (ssm_op) { .put = cb, .userdata = userdata };
        return op_start(c, "PutParameter", body, op, ret_op);
}

void ssm_op_cancel(ssm_op *op) {
        if (!op)
                return;
        aws_call_cancel(op->call);
        free(op);
}
