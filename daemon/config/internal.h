/* SPDX-License-Identifier: MIT */
/*
 * Shared by the pieces of the configuration loader (load.c, yaml.c,
 * policy.c, value.c): the position-carrying YAML tree that
 * libyaml's events are turned into, and the diagnostics collector. Not for
 * use outside config*.c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

typedef enum cnode_kind {
        CNODE_SCALAR,
        CNODE_MAPPING,
        CNODE_SEQUENCE,
} cnode_kind;

/* One YAML node. An alias is the anchored node itself, shared: the tree is a DAG. */
typedef struct cnode {
        cnode_kind kind;
        unsigned line, column;          /* 1-based */
        char *value;                    /* CNODE_SCALAR, NUL-terminated */
        size_t length;                  /* strlen(value) unless it holds a NUL */
        bool plain;                     /* plain style without an explicit !!str tag: may be null, bool, int */
        struct cnode **items;           /* mapping: key, value, key, value...; sequence: the elements */
        size_t n_items, cap_items;
        uint64_t weight;                /* nodes in this subtree, aliases expanded */
} cnode;

/* The documents of one file, owning every node. */
typedef struct cdoc_set {
        cnode **roots;                  /* one per document; NULL for an empty document */
        size_t n_roots, cap_roots;
        cnode **nodes;                  /* every node allocated, to free */
        size_t n_nodes, cap_nodes;
} cdoc_set;

typedef struct loader {
        config *config;
        config_diagnostics *diag;
        const char *file;               /* current file, owned by config->files */
        size_t file_index;
        size_t *diag_file_index;        /* parallel to diag->items, for sorting */
        size_t *diag_seq;
        size_t *policy_file;            /* file_index of each policy, CONFIG_MAX_POLICIES of them */
        size_t cap_diag;
        bool truncated;                 /* CONFIG_MAX_DIAGNOSTICS reached */
        int oom;                        /* -ENOMEM once an allocation failed */
} loader;

/* ---- load.c: diagnostics ---- */
void loader_diag_at(loader *l, unsigned line, unsigned column, config_severity s, const char *fmt, ...) _printf_(5, 6);
#define loader_error(l, n, ...) loader_diag_at((l), (n) ? (n)->line : 0, (n) ? (n)->column : 0, CONFIG_SEVERITY_ERROR, __VA_ARGS__)
#define loader_warning(l, n, ...) loader_diag_at((l), (n) ? (n)->line : 0, (n) ? (n)->column : 0, CONFIG_SEVERITY_WARNING, __VA_ARGS__)

/* The names load.c gives to syslog priorities and pacing categories, for the dump. */
const char *config_log_level_to_string(int priority);
const char *config_pacing_key(pace_category c);

/* ---- yaml.c: text → tree ---- */
/* Parses data (already bounded by CONFIG_MAX_FILE_SIZE). Errors are reported to l; returns
 * 0 (possibly with errors reported, and the documents completed before a syntax error) or -ENOMEM. */
int cdoc_parse(loader *l, const char *data, size_t size, cdoc_set *ret);
void cdoc_set_done(cdoc_set *s);

bool cnode_is_null(const cnode *n);
const char *cnode_kind_name(const cnode *n);   /* "a mapping", "a sequence", "null", "a string" */

typedef struct centry {
        const cnode *key;               /* a scalar */
        const cnode *value;
} centry;

/* The entries of a mapping in written order, `<<` merge keys resolved (explicit keys win,
 * then earlier merge sources), duplicate keys reported and dropped, non-scalar keys
 * reported and dropped. Caller frees *ret. */
int cnode_mapping_entries(loader *l, const cnode *map, centry **ret, size_t *ret_n);

/* ---- value.c: scalars ---- */
/* Each reports a typed error for `what` at n and returns -EINVAL, or 0. */
int cvalue_string(loader *l, const cnode *n, const char *what, char **ret);
int cvalue_bool(loader *l, const cnode *n, const char *what, bool *ret);
int cvalue_uint(loader *l, const cnode *n, const char *what, uint64_t min, uint64_t max, uint64_t *ret);
int cvalue_number(loader *l, const cnode *n, const char *what, double min, double max, double *ret);
int cvalue_duration(loader *l, const cnode *n, const char *what, uint64_t min, uint64_t max, uint64_t *ret);
bool cvalue_expect(loader *l, const cnode *n, cnode_kind kind, const char *what);
/* The entries of n, which must be a mapping: -EINVAL once that is reported, or
 * -ENOMEM (also recorded in l->oom). */
int cvalue_mapping(loader *l, const cnode *n, const char *what, centry **ret, size_t *ret_n);
/* "unknown key 'x' in WHERE", with "did you mean 'y'?" when one of known (NULL-terminated) is
 * close; returns that suggestion, or NULL. */
const char *cvalue_unknown(loader *l, const cnode *n, const char *what, const char *where, const char *const *known);
const char *cvalue_closest(const char *s, const char *const *known);
size_t utf8_length(const char *s);

/* ---- policy.c ---- */
/* Reads one policy mapping into l->config; appended even with errors (for the duplicate
 * name check): any error drops the whole configuration anyway. */
int config_policy_parse(loader *l, const cnode *map);
void policy_done(policy *p);
