/* SPDX-License-Identifier: MIT */
/* What check, plan, once (commands.c) and list (commands-list.c) share. */
#pragma once

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "commands.h"
#include "config/config.h"
#include "run/clients.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(config *, config_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

json_object *json_str(const char *s);           /* NULL for NULL: JSON null */
void print_json(json_object *o);                /* pretty, to stdout */
time_t cli_now(const cli_options *o);
const char *plural(size_t n, const char *one, const char *many);
/* "Code: message" of a failed AWS call, else strerror(-r); NULL when out of memory. */
char *aws_failure_text(int r, const aws_error *err);

/* 0 and *ret, or the exit status (EXIT_CONFIG, EXIT_USAGE), having said why. */
int load_config(const cli_options *o, config **ret);
bool selected(const cli_options *o, const policy *p);
/* The loop and the AWS clients of one command; logs its failure. */
int clients_new(const config *c, sd_event **ret_event, aws_pool **ret_pool);
