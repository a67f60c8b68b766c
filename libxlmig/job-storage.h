/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * job-storage.h - the disks a live migration moves (--storage VDEV=SR):
 * mirrored while the guest runs, stopped as copies while it is suspended,
 * the destination restoring onto the copies (job-storage.c).
 */
#ifndef XLMIG_JOB_STORAGE_H
#define XLMIG_JOB_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "job.h"

struct job_storage;

/*
 * For each "VDEV=SR" of args: the disk's mover (refused with a remedy if
 * it has none), its copy SR/NAME created (new, empty, the source's size)
 * and named in the job's journal, and *json_io retargeted to the copy.
 * Takes a storage slot (the host's limit of moves). *s_r is set even on
 * failure: job_storage_rollback, then job_storage_free.
 */
MUST_CHECK int job_storage_setup(struct job *job, struct hv *hv,
                                 uint32_t domid, const char *const *args,
                                 size_t n_args, bool keep, bool no_wait,
                                 char **json_io, struct job_storage **s_r);
/* Starts every mirror and waits until all are in sync; cancellable. */
MUST_CHECK int job_storage_mirror(struct job_storage *s);
/*
 * pump_opts.hold: with the guest suspended, every mirror stopped as a
 * point-in-time copy (flushed, synced), the disks left on their sources.
 */
MUST_CHECK int job_storage_hold(void *arg);
/* Seconds the hold took (the guest suspended, the stream held). */
double job_storage_held(const struct job_storage *s);
/* Whether any disk moves. */
bool job_storage_any(const struct job_storage *s);
/* Before GO: mirrors ended, copies removed. false if not all went. */
MUST_CHECK bool job_storage_rollback(struct job_storage *s);
/* The destination runs the domain: sources removed unless kept. */
MUST_CHECK bool job_storage_commit(struct job_storage *s);
/* Frees (cancelling mirrors still running) and releases the slot. */
void job_storage_free(struct job_storage *s);
/* $XLMIG_DISK_LINK_DIR, else /var/lib/xlmig/disk: the disks' stable
 * names (xlmig disk-prepare, live moves). */
const char *job_storage_link_dir(void);
/* What a stable name of the image at path names (allocated; NULL, errno
 * set, if there is none): a block device (an LV) by the name given, a
 * file by its real path. */
char *job_storage_image_of(const char *path);
/*
 * The config another host gets names the images, not this host's stable
 * names of them (symlinks in job_storage_link_dir(), which that host
 * does not have): each such disk of *json_io retargeted to the image.
 */
MUST_CHECK int job_storage_real_paths(struct xlmig_ctx *ctx,
                                      char **json_io);
/* Links a receiver made (job_storage_relink). */
struct job_links {
    char **v;
    size_t n;
};
/*
 * Receiver, once the config passed the incoming policy: each disk that
 * can move live here (script=block-xlmig, or a qdisk) gets its stable
 * name, LINKDIR/NAME-VDEV, made (listed in made) or found naming the same
 * image, and *json_io names it; a disk for which that cannot be keeps
 * its path (logged). The links point only where the policy let the disks
 * be.
 */
void job_storage_relink(struct xlmig_ctx *ctx, const char *name,
                        char **json_io, struct job_links *made);
/* Removes the links made (the domain did not come here) and forgets. */
void job_storage_unlink(struct xlmig_ctx *ctx, struct job_links *made);
/* Forgets them (they stay). */
void job_links_dispose(struct job_links *l);
/*
 * recover: the disks of send journal j. forward: the domain left for
 * good (the sources go unless kept); else it runs here or nowhere (the
 * mirrors ended, the copies removed). say() reports each step.
 */
MUST_CHECK int job_storage_recover(struct xlmig_ctx *ctx,
                                   const struct journal_rec *j, bool forward,
                                   void (*say)(void *arg, const char *line),
                                   void *arg);

#endif /* XLMIG_JOB_STORAGE_H */
