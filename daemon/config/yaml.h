/* SPDX-License-Identifier: MIT */
/*
 * YAML text to a tree whose every node knows its line and column, and the
 * entries of a mapping with merge keys resolved. Reports to the loader's
 * diagnostics (diag.h) and knows nothing of the schema. Not for use outside
 * daemon/config/.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/diag.h"

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
