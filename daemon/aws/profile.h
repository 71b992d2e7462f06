/* SPDX-License-Identifier: MIT */
/*
 * The shared AWS files (~/.aws/config, ~/.aws/credentials) as key/value
 * settings per section, for the settings other than keys: region,
 * use_fips_endpoint, endpoint_url, role_arn, source_profile,
 * credential_process, web_identity_token_file... Reading follows botocore's
 * raw_config_parse (configparser): '=' or ':' separates key and value, keys
 * are case-insensitive, whole-line comments start with '#' or ';', an
 * indented line continues the value before it, and a value that starts on
 * the next line is a nested mapping ("ec2 =\n  endpoint_url = ..."). Junk
 * lines are skipped rather than failing the whole file.
 *
 * Values may be secrets (aws_secret_access_key): they are wiped when freed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct aws_profile_file aws_profile_file;

/* Pure: parses text (need not be NUL-terminated). Returns 0 or -ENOMEM. */
int aws_profile_file_parse(const char *text, size_t size, aws_profile_file **ret);

/* Reads and parses path (at most 1 MiB): -ENOENT, -EFBIG, -errno of open/read, or 0. */
int aws_profile_file_load(const char *path, aws_profile_file **ret);

aws_profile_file *aws_profile_file_free(aws_profile_file *f);   /* accepts NULL; wipes values */
static inline void aws_profile_file_freep(aws_profile_file **f) {
        aws_profile_file_free(*f);
}

/*
 * The value of key in section, the last one winning; NULL if none. A section is
 * named as its header reads after normalisation: "default", "profile NAME"
 * ("[profile   NAME]" and "[profile "NAME"]" alike), "services NAME", or a bare
 * "NAME" (the credentials file). subkey NULL: a plain value; else the nested
 * value "key =\n  subkey = value".
 */
const char *aws_profile_get(const aws_profile_file *f, const char *section, const char *key, const char *subkey);

/* Whether any header names section. */
bool aws_profile_has_section(const aws_profile_file *f, const char *section);

/*
 * The files of one host as the SDKs find them: AWS_CONFIG_FILE (default
 * ~/.aws/config) and AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials), either
 * missing; the active profile is `profile` if not NULL, else $AWS_PROFILE,
 * else "default".
 */
typedef struct aws_shared_files {
        aws_profile_file *config;       /* NULL: missing or unreadable */
        aws_profile_file *credentials;
        char *config_path, *credentials_path;   /* NULL: $HOME unset and no variable */
        char *profile;
        bool profile_explicit;          /* named by the caller or AWS_PROFILE */
} aws_shared_files;

int aws_shared_files_load(const char *profile, aws_shared_files *ret);
void aws_shared_files_done(aws_shared_files *f);

/* A profile's setting from the config file: "[profile NAME]", or "[default]" /
 * "[profile default]" for the default profile. NULL if none. */
const char *aws_shared_config_get(const aws_shared_files *f, const char *profile, const char *key);
/* Whether the config file has the profile's section, or the credentials file a [NAME]. */
bool aws_shared_profile_exists(const aws_shared_files *f, const char *profile);

/* "true"/"false" in any case (botocore's ensure_boolean): 1, 0, or -EINVAL; NULL: -ENOENT. */
int aws_parse_bool_setting(const char *s);

/* getenv() with "" read as unset. */
const char *aws_getenv(const char *name);
