/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sr.h - storage repositories (sr.c): shared storage that several hosts
 * see, declared per host in xlmig.conf and proven the same on every host
 * by an identity written into the SR itself.
 */
#ifndef XLMIG_SR_H
#define XLMIG_SR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define SR_NAME_MAX 64              /* with the NUL */
#define SR_LOC_MAX 1024             /* with the NUL */
#define SR_UUID_MAX 40              /* with the NUL; LVM's uuids are 38 */
#define SR_ID_FILE ".xlmig-sr"      /* a dir SR's identity, in the SR */
#define SR_LVM_TAG "xlmig_sr"       /* a VG made an SR carries it */
#define SR_ID_MAGIC "xlmig-sr 1"    /* the first line of SR_ID_FILE */
#define SR_LVM_TIMEOUT_S 30         /* for vgs, vgchange */
#define SR_LVM_OUT_MAX (64u << 10)
/* What xlmig creates in an SR, while it is not yet in use, starts so. */
#define SR_PART_PREFIX ".xlmig-part-"

enum sr_type { SR_DIR, SR_LVM };

struct sr {
    char name[SR_NAME_MAX];
    enum sr_type type;
    char loc[SR_LOC_MAX];           /* dir: absolute path; lvm: VG name */
};

/* "dir" or "lvm". */
const char *sr_type_name(enum sr_type t);
/* Whether name is an SR name: 1..63 of A-Z a-z 0-9 _ . -, not starting
 * with '.' or '-'. */
bool sr_name_ok(const char *name);
/*
 * Parses one declaration "NAME:TYPE:LOCATION" (TYPE dir: an absolute
 * path, normalised without a trailing '/'; lvm: a VG name). XLMIG_E_INVAL
 * and *cause_r (one line, allocated) if it is not one.
 */
MUST_CHECK int sr_parse(const char *decl, struct sr *s, char **cause_r);
/*
 * The SRs this host declares (key "sr" of xlmig.conf, a list of
 * declarations); none when the key is absent. A broken file, a bad
 * declaration or a name given twice is XLMIG_E_INVAL with *cause_r.
 */
MUST_CHECK int sr_load(struct xlmig_ctx *ctx, struct sr **list_r,
                       size_t *n_r, char **cause_r);
/* The SR named name, or NULL. */
const struct sr *sr_find(const struct sr *list, size_t n, const char *name);
/*
 * The SR holding path (a file below a dir SR's directory, after symlinks
 * of the directories are resolved; /dev/VG/LV or /dev/mapper/VG-LV of an
 * LVM SR), or NULL.
 */
const struct sr *sr_of_path(const struct sr *list, size_t n,
                            const char *path);
/*
 * The SR's identity as this host sees it, into uuid (SR_UUID_MAX). An
 * SR that is not there, not made by sr-create, or whose identity cannot
 * be read is XLMIG_E_NOTFOUND or XLMIG_E_INVAL with *why_r (one line,
 * allocated, not logged).
 */
MUST_CHECK int sr_identity(struct xlmig_ctx *ctx, const struct sr *s,
                           char uuid[SR_UUID_MAX], char **why_r);
/* Size and free bytes of the SR (statvfs; vgs for LVM). */
MUST_CHECK int sr_space(struct xlmig_ctx *ctx, const struct sr *s,
                        uint64_t *size_r, uint64_t *free_r);
/* Whether xlmig may write the SR (a dir writable by us, an LVM VG
 * writeable); *why_r if not. */
MUST_CHECK int sr_writable(struct xlmig_ctx *ctx, const struct sr *s,
                           char **why_r);
/* sr-admin.c:
 * Makes s an SR: writes its identity (a new uuid) into the directory,
 * which must exist and hold none yet, or tags the VG (whose uuid is the
 * identity). XLMIG_E_EXISTS if it is one already.
 */
MUST_CHECK int sr_create(struct xlmig_ctx *ctx, const struct sr *s,
                         char uuid_r[SR_UUID_MAX]);
/*
 * `vgs` of an LVM SR's VG: its uuid (SR_UUID_MAX), size, free bytes and
 * whether it carries SR_LVM_TAG (each out-parameter may be NULL).
 * XLMIG_E_NOTFOUND or XLMIG_E_INVAL with *why_r (allocated) if not.
 */
MUST_CHECK int sr_vg_facts(struct xlmig_ctx *ctx, const struct sr *s,
                           char *uuid, uint64_t *size_r, uint64_t *free_r,
                           bool *tagged_r, char **why_r);
/* Path of an LV of an LVM SR: /dev/VG/LV (allocated). */
char *sr_lv_path(const struct sr *s, const char *lv);

#endif /* XLMIG_SR_H */
