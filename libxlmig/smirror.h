/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * smirror.h - live disk mirrors: a running domain's disk copied to a
 * target image while the guest keeps writing, then either switched to
 * the target (a live move) or stopped as a point-in-time copy with the
 * guest left on its source (a move folded into a migration). One
 * interface, one mover per disk backend:
 *  - QMP (smirror-qmp.c): a qdisk disk, served by the domain's QEMU
 *    (xen-block), driven over a QMP monitor of our own (-qmp unix:PATH
 *    in device_model_args_pv/_hvm; never libxl's socket): blockdev-add
 *    of the target, blockdev-mirror sync=full, job-complete or
 *    block-job-cancel, blockdev-del.
 *  - dm (smirror-dm.c): a blkback disk attached through xlmig's block
 *    script (scripts/block-xlmig), which stacks a device-mapper linear
 *    device on the image (its loop device, or the LV); the table is
 *    reloaded to a dm mirror of source and target, then to linear
 *    target (LVM pvmove's technique). blkback holds the dm device for
 *    the domain's life: only its table changes.
 * Knows nothing of domains, SRs, configs or jobs: the caller names the
 * QMP socket or dm device and the images, creates the target image
 * (at least the source's size) and removes it after a cancel.
 * Paths are absolute. Every function logs its failures.
 */
#ifndef XLMIG_SMIRROR_H
#define XLMIG_SMIRROR_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

struct smirror;

struct smirror_status {
    uint64_t done;              /* bytes copied / in sync so far */
    uint64_t total;             /* bytes to mirror (the disk's size) */
    bool ready;                 /* in sync: every guest write now goes to
                                   both; pivot or detach may follow */
};

/* Which image a domain's disk uses, read from the mover's own state
 * (QEMU's block graph, the dm table): what recover trusts. */
enum smirror_where {
    SMIRROR_ON_SOURCE,          /* the source alone (no mirror of ours) */
    SMIRROR_MIRRORING,          /* a mirror of ours runs (source still
                                   authoritative) */
    SMIRROR_ON_TARGET,          /* switched: the target alone */
};

/*
 * QMP mover. sock: the path of the domain's own QMP monitor (a unix
 * socket QEMU listens on). vdev: the disk ("xvdb"); its node is looked up
 * with query-named-block-nodes / query-block, never guessed. target: an
 * existing file or block device at least the source's virtual size, of
 * format fmt ("raw", "qcow2"); it is opened by QEMU as node
 * "xlmig-tgt-<vdev>" (or "xlmig-tgu-<vdev>" when the disk's node already
 * has the first name, after an earlier move; detect-zeroes=unmap), and
 * mirror job
 * "xlmig-<vdev>" (sync=full) starts. bandwidth: bytes/s, 0 none.
 * XLMIG_E_BUSY if a job or node of ours is already there (recover
 * first); XLMIG_E_STORAGE with QEMU's reason otherwise.
 */
MUST_CHECK int smirror_qmp_start(struct xlmig_ctx *ctx, const char *sock,
                                 const char *vdev, const char *target,
                                 const char *fmt, uint64_t bandwidth,
                                 struct smirror **m_r);

/*
 * dm mover. dm: the name of the disk's dm device (block-xlmig made it:
 * a one-target linear table). target: a file (a loop device with direct
 * I/O is set up over it and released when the mirror ends, unless it
 * became the disk) or a block device, at least the table's size. The
 * table is reloaded (suspend, load, resume) to a dm mirror with a core
 * log of the current device and the target; the kernel copies every
 * region. bandwidth: not supported by dm mirror; non-zero is logged as
 * ignored. XLMIG_E_BUSY if dm's table is not a plain linear one.
 */
MUST_CHECK int smirror_dm_start(struct xlmig_ctx *ctx, const char *dm,
                                const char *target, uint64_t bandwidth,
                                struct smirror **m_r);

/*
 * Progress of a started mirror. XLMIG_E_STORAGE if it failed (QEMU's job
 * error, a dm leg marked dead): logged with the reason; the guest's disk
 * is still its source then (cancel, then remove the target).
 */
MUST_CHECK int smirror_poll(struct xlmig_ctx *ctx, struct smirror *m,
                            struct smirror_status *st);

/*
 * The live move's switch: the disk becomes the target alone, the source
 * is no longer used by anyone (its loop device released). Only when
 * ready (XLMIG_E_INVAL otherwise). QMP: job-complete, waiting for the
 * job to conclude without error; dm: suspend, load linear target,
 * resume. On failure smirror_where tells which side the disk is on.
 */
MUST_CHECK int smirror_pivot(struct xlmig_ctx *ctx, struct smirror *m);

/*
 * The migration's stop: the target becomes a point-in-time copy of the
 * source, flushed and closed, and the disk stays on its source. The
 * guest must not be writing (suspended). XLMIG_E_STORAGE if the mirror
 * is not in sync or fails to stop cleanly (then the target is not a
 * copy: the caller fails the migration). QMP: block-job-cancel of the
 * READY job, its conclusion, blockdev-del of the target; dm: suspend,
 * check every region in sync and both legs alive, load linear source,
 * resume, release the target's loop device.
 */
MUST_CHECK int smirror_detach(struct xlmig_ctx *ctx, struct smirror *m);

/*
 * Abandons the mirror in any state: the disk on its source alone, the
 * target closed (its loop released). Idempotent; after pivot or detach
 * it does nothing. Fails only if the source could not be restored as the
 * disk's only image (logged loudly).
 */
MUST_CHECK int smirror_cancel(struct xlmig_ctx *ctx, struct smirror *m);

/* Frees; cancels first if still mirroring. NULL is fine. */
void smirror_free(struct xlmig_ctx *ctx, struct smirror *m);

/*
 * Recover (no struct smirror: the xlmig that started it is gone). Which
 * image the disk uses now, source and target being the image paths
 * (files or devices) the journal names; XLMIG_E_NOTFOUND if the socket
 * or dm device is gone (the domain is gone).
 */
MUST_CHECK int smirror_qmp_where(struct xlmig_ctx *ctx, const char *sock,
                                 const char *vdev, const char *source,
                                 const char *target,
                                 enum smirror_where *where_r);
MUST_CHECK int smirror_dm_where(struct xlmig_ctx *ctx, const char *dm,
                                const char *source, const char *target,
                                enum smirror_where *where_r);
/*
 * Recover: ends what a mirror of ours left (a job "xlmig-<vdev>", a
 * target node "xlmig-tgt-<vdev>" or "xlmig-tgu-<vdev>" that is not the
 * disk's own; a mirror table, a loop over target): the disk on source
 * alone. Nothing to do is XLMIG_OK. Ask smirror_*_where first: a disk on
 * its target is finished forward instead (dm refuses it, XLMIG_E_INVAL;
 * QMP cannot tell it from an earlier move's target, which stays the
 * disk's node).
 */
MUST_CHECK int smirror_qmp_abort(struct xlmig_ctx *ctx, const char *sock,
                                 const char *vdev);
MUST_CHECK int smirror_dm_abort(struct xlmig_ctx *ctx, const char *dm,
                                const char *source, const char *target);

#endif /* XLMIG_SMIRROR_H */
