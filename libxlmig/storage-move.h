/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * storage-move.h - what the storage mover (storage-move.c) shares with
 * its crash recovery (storage-recover.c).
 */
#ifndef XLMIG_STORAGE_MOVE_H
#define XLMIG_STORAGE_MOVE_H

#include <stdbool.h>

#include "domcfg.h"
#include "hv.h"
#include "internal.h"
#include "job.h"
#include "journal.h"
#include "smirror.h"
#include "sr.h"

/* Names of what a move creates: tagged so recover finds leftovers. */
#define SMOVE_PART_PREFIX ".xlmig-part-"    /* the copy being made */
#define SMOVE_SAVE_PREFIX ".xlmig-save-"    /* an offline move's image */
#define SMOVE_LV_PART_PREFIX "xlmig_part_"  /* an LV being made */
#define SMOVE_LV_TAG_PREFIX "xlmig_job_"    /* tags an LV we made */
#define SMOVE_CONFIG_SUFFIX ".json"         /* beside the save image */
#define SMOVE_NAME_SUFFIX "--storage"       /* an offline restore */

/* One storage move (storage-move.c; its live part in storage-live.c). */
struct smove {
    struct xlmig_ctx *ctx;
    const struct xlmig_storage_opts *o;
    struct xlmig_storage_result *res;
    struct job job;
    struct hv *hv;
    struct sr *srs;
    size_t n_srs;
    const struct sr *to;        /* the target SR */
    uint32_t domid;             /* HV_INVALID_DOMID: halted */
    char name[128];
    char *json;                 /* the domain's config */
    struct domcfg cfg;
    const struct domcfg_disk *disk;
    uint64_t size, data;        /* virtual size, allocated bytes */
    int cancel[2];              /* read end: scopy's cancel fd */
    uint64_t last_done;
    double last_t;
    bool cancel_sent;           /* a cancel went to the copier */
    bool saved, destroyed, copied, restored;
    /* A live move (storage-live.c): the disk's mover and its mirror. */
    bool live;
    struct hv_disk_live how;
    struct smirror *mirror;
    bool linked;                /* the stable name points at the copy */
};

/* storage-move.c, for storage-live.c */
/* A pre-flight result, told to the caller; an error is logged. */
void smove_check(struct smove *m, bool ok, const char *id,
                 const char *remedy, const char *fmt, ...) PRINTF_LIKE(5, 6);
/* m->size and m->data of the source image src (format fmt). */
MUST_CHECK int smove_sizes(struct smove *m, const char *src,
                           const char *fmt);
/* Room in the target SR for what the move writes (m->data, or m->size
 * for an LV; smove_live raises m->data to m->size for a dm mirror). */
MUST_CHECK int smove_check_room(struct smove *m);
/* Copy progress: recorded, told to the caller, cancel forwarded. */
void smove_progress(void *arg, uint64_t done, uint64_t total);
/* The target LV (jr->part), tagged with the job, active here alone. */
MUST_CHECK int smove_lv_create(struct smove *m);
/* The point of no return: no more cancel, the switchover phase, go
 * journaled (if that fails, go is false again: roll back). */
MUST_CHECK int smove_go(struct smove *m, const char *why);
/* The complete copy takes its name: part -> dst, never over a file. */
MUST_CHECK int smove_name_copy(struct smove *m);

/* storage-live.c: a running domain's disk moved while it runs. */
/* Whether and how the disk moves live: its mover, its stable name
 * (jr->link, a symlink the config names) and the image behind it
 * (jr->src). A disk that cannot is refused in pre-flight, with a remedy. */
MUST_CHECK int smove_live_setup(struct smove *m);
/* The mover's own checks (format, room). */
MUST_CHECK int smove_live_preflight(struct smove *m);
/* Creates the target (jr->part) and mirrors until in sync; cancellable. */
MUST_CHECK int smove_live_copy(struct smove *m);
/* The switch (no cancel): the disk onto the copy, the copy named dst,
 * the stable name re-pointed. */
MUST_CHECK int smove_live_switch(struct smove *m);
/* Before the switch: the mirror cancelled (the disk on its source alone).
 * false if that failed (the journal must stay). */
MUST_CHECK bool smove_live_rollback(struct smove *m);
/* Re-points symlink link at target atomically and durably. */
MUST_CHECK int smove_link_set(struct xlmig_ctx *ctx, const char *link,
                              const char *target);
/* Formats one line and hands it to say (recover's report), if any. */
void smove_sayf(void (*say)(void *arg, const char *line), void *arg,
                const char *fmt, ...) PRINTF_LIKE(3, 4);
/* Recovers an interrupted live move (storage-recover.c calls it). */
MUST_CHECK int smove_live_recover(struct xlmig_ctx *ctx, struct hv *hv,
                                  const struct journal_rec *j,
                                  void (*say)(void *arg, const char *line),
                                  void *arg);

/* Whether path is a block device (an LV) rather than a file. */
bool smove_is_blockdev(const char *path);
/* `lvchange WHAT [ARG] PATH` (an LV's /dev/VG/LV): "-an", "-aey",
 * "--deltag TAG". */
MUST_CHECK int smove_lv_change(struct xlmig_ctx *ctx, const char *path,
                               const char *what, const char *arg);
/* lvrename of LV path from (/dev/VG/LV) to the name of path to. */
MUST_CHECK int smove_lv_rename(struct xlmig_ctx *ctx, const char *from,
                               const char *to);
/* Removes an image: a file, or an LV (lvremove). XLMIG_OK if absent. */
MUST_CHECK int smove_remove_image(struct xlmig_ctx *ctx, const char *path);
/*
 * Makes config file cfg name target (format fmt, NULL: unchanged) for
 * disk vdev, if it does not already: atomically, keeping owner, mode and
 * every other byte. *changed_r says whether it wrote.
 */
MUST_CHECK int smove_cfg_switch(struct xlmig_ctx *ctx, const char *cfg,
                                const char *vdev, const char *target,
                                const char *fmt, bool *changed_r);
/* Whether config file cfg names target for disk vdev. */
MUST_CHECK int smove_cfg_names(struct xlmig_ctx *ctx, const char *cfg,
                               const char *vdev, const char *target,
                               bool *yes_r);
/*
 * Restores the domain saved in save (libxl stream) from config json as
 * name and unpauses it unless it was paused: *domid_r. On failure nothing
 * of it is left.
 */
MUST_CHECK int smove_restore(struct xlmig_ctx *ctx, struct hv *hv,
                             const char *save, const char *json,
                             const char *name, bool paused,
                             uint32_t *domid_r);
/*
 * Recovers one interrupted move from its journal (storage-recover.c):
 * exactly one usable disk, the config never naming a partial copy, the
 * domain (offline moves) running once. say() reports each step.
 */
MUST_CHECK int smove_recover(struct xlmig_ctx *ctx, struct hv *hv,
                             const struct journal_rec *j,
                             void (*say)(void *arg, const char *line),
                             void *arg);
/* Removes the .xlmig-part-/.xlmig-save- files of SR dirs whose job has
 * no journal; says each. */
void smove_recover_orphans(struct xlmig_ctx *ctx,
                           void (*say)(void *arg, const char *line),
                           void *arg);

#endif /* XLMIG_STORAGE_MOVE_H */
