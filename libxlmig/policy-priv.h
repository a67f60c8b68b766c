/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * policy-priv.h - what policy.c and policy-path.c share: one walk over a
 * config, the refusals it collects, and the path rules.
 */
#ifndef XLMIG_POLICY_PRIV_H
#define XLMIG_POLICY_PRIV_H

#include <yajl/yajl_tree.h>

#include "policy.h"

#define POLICY_WHERE_MAX 160        /* "disks[12].colo_export" */

struct policy_walk {
    struct xlmig_ctx *ctx;
    struct hv *hv;
    const struct policy *p;
    struct policy_report *rep;
    uint64_t max_memkb;         /* the limit in force */
    unsigned vcpus;             /* b_info.max_vcpus */
    const char *name;           /* c_info.name, if it is one */
};

/* Adds "WHERE: message" to the report. */
void policy_refuse(struct policy_walk *w, const char *where, const char *fmt,
                   ...) PRINTF_LIKE(3, 4);
/* Up to 96 bytes of untrusted text, printable (allocated). */
char *policy_quote(const char *s);
/* A word that goes into xenstore paths, QEMU options and interface
 * names: letters, digits, '_', '.', '-', at most max bytes, not starting
 * with '.' or '-'. */
bool policy_word_ok(const char *s, size_t max);
/* A string value, or NULL (refused as "not a string") if v is not one. */
const char *policy_str(struct policy_walk *w, const char *where, yajl_val v);

/* ---- policy-path.c ---- */

/* A disk's pdev_path (with its backend, format and script). */
void policy_disk_path(struct policy_walk *w, const char *where,
                      const char *path, const char *backend,
                      const char *format, const char *script);
/* A kernel, ramdisk or firmware file (firmware: a bare name is one of
 * Xen's own firmware files). */
void policy_boot_path(struct policy_walk *w, const char *where,
                      const char *path, bool firmware);
/* A hotplug script: a name in script_dir, or one listed. */
void policy_script(struct policy_walk *w, const char *where,
                   const char *script);

#endif /* XLMIG_POLICY_PRIV_H */
