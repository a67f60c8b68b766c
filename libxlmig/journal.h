/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * journal.h - the on-disk record of a job, <dir>/<id>.json, which survives
 * a reboot when xenstore (coord.h) does not: after a crash it tells
 * `xlmig recover` which side may own the domain. One small versioned JSON
 * object per job, replaced atomically (write, fsync, rename, fsync dir).
 */
#ifndef XLMIG_JOURNAL_H
#define XLMIG_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define JOURNAL_VERSION 1
#define JOURNAL_DIR_DEFAULT "/var/lib/xlmig"
#define JOURNAL_FILE_MAX (64 * 1024)    /* a record is far smaller */
#define JOURNAL_DISKS_MAX 8             /* disks of one migration */
#define JOURNAL_SCHED_CAP_MAX 65535     /* Xen's cap is a uint16_t */

/*
 * A disk a migration moves (--storage): its vdev, the source image, the
 * copy in the target SR and its format, the mover that mirrors it and
 * its handle and QOM property (journal_rec's mover, handle, prop).
 */
struct journal_disk {
    char vdev[32];
    char src[1024], dst[1024], fmt[16];
    char mover[8], handle[256], prop[16];
};

struct journal_rec {
    char id[32];            /* a coord job id: [A-Za-z0-9_-] */
    char role[8];           /* "send" or "recv" */
    char kind[16];          /* "migrate" */
    char phase[16];         /* xlmig_phase_name() values, e.g. "transfer" */
    char name[128];         /* the domain's name at the start */
    char uuid[40];
    char peer[256];
    uint32_t domid;         /* on this host */
    bool go;                /* send: GO may have been sent; recv: received */
    bool suspended;         /* send: the guest was suspended */
    bool paused;            /* recv: to be left paused (-p); optional */
    double started, updated;    /* unix seconds */
    char error[256];
    /*
     * A storage move (kind "storage", role "move"; optional, "" or false
     * when absent): the disk, the source image and its format, the copy
     * while it is made (part, tagged by name) and once complete (dst) and
     * its format, the config file that names the disk ("" for none), the
     * save image of an offline move, whether the source stays.
     * go: the switch to the copy began; suspended: the domain is saved.
     */
    char vdev[32];
    char src[1024], src_format[16];
    char part[1024], dst[1024], dst_format[16];
    char cfg[1024], save[1024];
    bool keep, offline;
    /*
     * A live move (a mirror while the guest runs): mover "qmp" or "dm"
     * ("" otherwise), handle its QMP socket or dm device name (prop: the
     * QOM property naming the disk in QEMU, "" for "vdev"), link the
     * domain's stable disk name (a symlink re-pointed at the switch);
     * pivoted: the mirror switched the disk to the copy.
     */
    char mover[8], handle[256], link[1024], prop[16];
    bool pivoted;
    /*
     * A migration that moves disks (role "send", --storage; optional,
     * absent: none): each disk's mirror and copy. keep: the sources
     * stay after the domain left.
     */
    struct journal_disk disks[JOURNAL_DISKS_MAX];
    unsigned n_disks;
    /*
     * A migration whose precopy policy may throttle the guest (role
     * "send", --converge=throttle; optional, absent: false): its
     * scheduler cap before the save (0: none), which recover puts back.
     */
    bool throttle;
    unsigned sched_cap;
};

/* $XLMIG_STATE_DIR if set and not empty, else JOURNAL_DIR_DEFAULT. */
const char *journal_dir(void);

/*
 * Writes r to <dir>/<id>.json, replacing any previous version atomically
 * and durably; creates dir (0700) if missing. Strings
 * that are not valid UTF-8 are stored with '?' for each non-ASCII byte.
 * The directory and its missing parents are made first.
 * XLMIG_E_INVAL for an invalid id or a time that is not finite.
 */
MUST_CHECK int journal_write(struct xlmig_ctx *ctx,
                             const struct journal_rec *r);

/* Makes the state directory (0700) and its missing parents. */
MUST_CHECK int journal_make_dir(struct xlmig_ctx *ctx);
/*
 * Reads the record at path into *r_r (zeroed on failure). Anything but a
 * complete record of JOURNAL_VERSION with every field of the right type
 * and size (unknown fields are ignored) is XLMIG_E_INVAL, logged as one
 * line "PATH: reason"; XLMIG_E_NOTFOUND if there is no such file.
 */
MUST_CHECK int journal_read(struct xlmig_ctx *ctx, const char *path,
                            struct journal_rec *r_r);

/* Removes <dir>/<id>.json durably; XLMIG_OK if it was not there. */
MUST_CHECK int journal_remove(struct xlmig_ctx *ctx, const char *id);

/*
 * The paths of the *.json files in the dir, sorted; the caller frees each
 * and the array (NULL when *n_r is 0). A missing dir has none.
 */
MUST_CHECK int journal_list(struct xlmig_ctx *ctx, char ***paths_r,
                            size_t *n_r);

#endif /* XLMIG_JOURNAL_H */
