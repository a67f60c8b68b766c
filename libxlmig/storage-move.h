/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * storage-move.h - what the storage mover (storage-move.c) shares with
 * its crash recovery (storage-recover.c).
 */
#ifndef XLMIG_STORAGE_MOVE_H
#define XLMIG_STORAGE_MOVE_H

#include <stdbool.h>

#include "hv.h"
#include "internal.h"
#include "journal.h"

/* Names of what a move creates: tagged so recover finds leftovers. */
#define SMOVE_PART_PREFIX ".xlmig-part-"    /* the copy being made */
#define SMOVE_SAVE_PREFIX ".xlmig-save-"    /* an offline move's image */
#define SMOVE_LV_PART_PREFIX "xlmig_part_"  /* an LV being made */
#define SMOVE_LV_TAG_PREFIX "xlmig_job_"    /* tags an LV we made */
#define SMOVE_CONFIG_SUFFIX ".json"         /* beside the save image */
#define SMOVE_NAME_SUFFIX "--storage"       /* an offline restore */

/* Whether path is a block device (an LV) rather than a file. */
bool smove_is_blockdev(const char *path);
/* `lvchange WHAT [ARG] PATH` (an LV's /dev/VG/LV): "-an", "-aey",
 * "--deltag TAG". */
MUST_CHECK int smove_lv_change(struct xlmig_ctx *ctx, const char *path,
                               const char *what, const char *arg);
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
