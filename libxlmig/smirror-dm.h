/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * smirror-dm.h - what the dm mover (smirror-dm.c) shares with its parsers
 * of dmsetup's and losetup's output (smirror-dm-parse.c: pure, fuzzed)
 * and its runner of those tools (smirror-dm-cmd.c).
 *
 * Formats (Linux drivers/md/dm-raid1.c mirror_ctr and mirror_status,
 * dm-log.c core_ctr and core_status, dm-linear.c):
 *   linear table   0 SECTORS linear MAJ:MIN 0
 *   mirror table   0 SECTORS mirror core 1 REGION 2 SRC 0 TGT 0 1 handle_errors
 *   mirror status  0 SECTORS mirror 2 SRC TGT IN_SYNC/REGIONS 1 HEALTH 1 core
 * REGION is a power of two, 2..SECTORS (dm-log.c _check_region_size);
 * HEALTH has a letter a leg (device_status_char): A alive, D a write
 * failed, S a sync failed, R a read failed, F a flush failed, U other.
 */
#ifndef XLMIG_SMIRROR_DM_H
#define XLMIG_SMIRROR_DM_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

#define SMDM_OUT_MAX (64u << 10)        /* a table, a status */
#define SMDM_LIST_MAX (1u << 20)        /* every loop device, every table */
#define SMDM_SECTORS_MAX (1ull << 47)   /* 64 PiB: bytes fit in 64 bits */
#define SMDM_LOOP_NAME_MAX 63

struct smirror_dm_dev {
    unsigned maj, min;
};

enum smirror_dm_kind {
    SMIRROR_DM_LINEAR,
    SMIRROR_DM_MIRROR,
};

struct smirror_dm_table {
    enum smirror_dm_kind kind;
    uint64_t sectors;
    uint64_t region;                    /* mirror */
    struct smirror_dm_dev dev[2];       /* linear: dev[0] */
};

struct smirror_dm_status {
    uint64_t sectors, in_sync, regions; /* in_sync <= regions */
    struct smirror_dm_dev dev[2];
    char health[3];                     /* two upper-case letters */
};

struct smirror_dm_loop {
    char name[SMDM_LOOP_NAME_MAX + 1];  /* /dev/loopN */
    struct smirror_dm_dev dev;          /* the loop device's */
    struct smirror_dm_dev back_dev;     /* its backing file's filesystem */
    uint64_t back_ino;
};

/* smirror-dm-parse.c: bytes in, struct out; XLMIG_E_PROTO if malformed. */

/* One table line of ours (see above): linear, or a two-leg core mirror. */
MUST_CHECK int smirror_dm_parse_table(const char *text,
                                      struct smirror_dm_table *t);
/* One mirror status line (see above). */
MUST_CHECK int smirror_dm_parse_status(const char *text,
                                       struct smirror_dm_status *st);
/* Whether s is a loop device name: /dev/ and a plain word. */
bool smirror_dm_parse_loop_name(const char *s);
/*
 * losetup --list --raw --noheadings --output
 * NAME,MAJ:MIN,BACK-MAJ:MIN,BACK-INO: *loops_r (allocated) has every
 * loop device with a backing file.
 */
MUST_CHECK int smirror_dm_parse_loops(const char *text,
                                      struct smirror_dm_loop **loops_r,
                                      size_t *n_r);
/*
 * dmsetup table (every device, "NAME: TABLE" lines, or "No devices
 * found"): *devs_r (allocated) has every MAJ:MIN word of the tables.
 */
MUST_CHECK int smirror_dm_parse_all(const char *text,
                                    struct smirror_dm_dev **devs_r,
                                    size_t *n_r);

/*
 * smirror-dm-cmd.c: dmsetup and losetup, found in PATH, each within a
 * deadline. Failures are logged (with the tool's stderr) and are
 * XLMIG_E_STORAGE unless said otherwise.
 */

/* A tool's output for a message: escaped, its final newline dropped. */
char *smirror_dm_cmd_quote(const char *out);
/* Runs args; its stdout (at most max bytes) in *out_r unless NULL. */
MUST_CHECK int smirror_dm_cmd_run(struct xlmig_ctx *ctx, char *const args[],
                                  size_t max, char **out_r);
/* dmsetup VERB NAME [--table TABLE] (suspend, resume, clear, load). */
MUST_CHECK int smirror_dm_cmd_setup(struct xlmig_ctx *ctx, const char *verb,
                                    const char *dm, const char *table);
/*
 * The dm device's active table. XLMIG_E_NOTFOUND (logged) if there is no
 * such device; XLMIG_E_PROTO (not logged: *line_r, allocated, has it) if
 * it is not a table of ours.
 */
MUST_CHECK int smirror_dm_cmd_table(struct xlmig_ctx *ctx, const char *dm,
                                    struct smirror_dm_table *t,
                                    char **line_r);
/* Every loop device with a backing file (*loops_r allocated). */
MUST_CHECK int smirror_dm_cmd_loops(struct xlmig_ctx *ctx,
                                    struct smirror_dm_loop **loops_r,
                                    size_t *n_r);
/* Every device any dm table names (*devs_r allocated). */
MUST_CHECK int smirror_dm_cmd_used(struct xlmig_ctx *ctx,
                                   struct smirror_dm_dev **devs_r,
                                   size_t *n_r);
/* losetup -d loop. */
MUST_CHECK int smirror_dm_cmd_detach(struct xlmig_ctx *ctx,
                                     const char *loop);
/* A new loop device over path, with direct I/O (*loop_r allocated). */
MUST_CHECK int smirror_dm_cmd_attach(struct xlmig_ctx *ctx, const char *path,
                                     char **loop_r);

#endif /* XLMIG_SMIRROR_DM_H */
