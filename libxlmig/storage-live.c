/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * storage-live.c - the live half of `xlmig storage-move`: a running
 * domain's disk is mirrored to the target SR while the guest keeps
 * writing (smirror.h: QMP for a qdisk, dm for a disk attached by
 * block-xlmig), then switched to the copy.
 *
 * The domain's config names the disk by a stable name, a symlink to the
 * image (the mover opened the image through it): libxl keeps that name
 * in its own copy of the config, which no one else may rewrite, so the
 * switch re-points the symlink and libxl's copy stays true.
 *
 * phase       what happens                        a crash here leaves
 * transfer    target SR/.xlmig-part-ID-NAME made; the source in use (the
 *             mirror runs until in sync           mirror's state says so):
 *                                                 recover cancels it and
 *                                                 deletes the copy
 * switchover  (no cancel) pivot: the disk on the  recover asks the mover:
 *             copy; the copy renamed to NAME;     on the copy -> finish
 *             the stable name re-pointed          forward; else back
 * commit      the source removed (unless kept)    recover removes it
 * Before the pivot the guest never notices anything; its source is never
 * written by us.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "fdio.h"
#include "smirror-qmp.h"
#include "storage-copy.h"
#include "storage-move.h"

#define SLIVE_POLL_NS (250 * 1000 * 1000)
#define SLIVE_REMEDY_HOW "give --offline, or make it movable from the " \
    "domain's next boot: xlmig disk-prepare CONFIG VDEV (script=" \
    "block-xlmig for blkback, xlmig's QMP monitor for a qdisk; see " \
    "xlmig-storage(1), LIVE STORAGE MOVES)"
#define SLIVE_REMEDY_LINK "give --offline, or name the image in the " \
    "domain's config by a symlink to it, which a live move re-points " \
    "(xlmig disk-prepare CONFIG VDEV makes it, from the next boot)"

/* The QOM property that names the disk's device in QEMU. */
static const char *slive_prop(const struct journal_rec *j)
{
    return j->prop[0] ? j->prop : SMIRROR_QMP_PROP;
}

static const char *slive_mover_name(enum hv_disk_mover mv)
{
    return mv == HV_DISK_MOVER_QMP ? "qmp" : mv == HV_DISK_MOVER_DM ? "dm"
                                                                    : "";
}

int smove_live_setup(struct smove *m)
{
    struct journal_rec *jr = &m->job.jr;
    const char *path = m->disk->pdev_path;
    struct stat st;
    char *real = NULL;
    int rc;

    m->live = true;
    rc = hv_disk_live(m->hv, m->domid, jr->vdev, &m->how);
    if (rc) return rc;
    snprintf(jr->mover, sizeof(jr->mover), "%s",
             slive_mover_name(m->how.mover));
    snprintf(jr->handle, sizeof(jr->handle), "%s", m->how.handle);
    if (strcmp(m->how.prop, SMIRROR_QMP_PROP))
        snprintf(jr->prop, sizeof(jr->prop), "%s", m->how.prop);
    /* Not a link: pre-flight refuses it, saying why. */
    if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode)) return XLMIG_OK;
    real = realpath(path, NULL);
    if (!real) {
        LOGE(m->ctx, ERROR, "disk %s: %s names no image", jr->vdev, path);
        return XLMIG_E_NOTFOUND;
    }
    if (strlen(real) >= sizeof(jr->src) || strlen(path) >= sizeof(jr->link)) {
        LOG(m->ctx, ERROR, "disk %s: %s is too long for the journal",
            jr->vdev, real);
        free(real);
        return XLMIG_E_TOOBIG;
    }
    strcpy(jr->link, path);
    strcpy(jr->src, real);
    free(real);
    /* The config names the stable name, which stays: never rewritten. */
    jr->cfg[0] = '\0';
    return XLMIG_OK;
}

int smove_live_preflight(struct smove *m)
{
    struct journal_rec *jr = &m->job.jr;

    if (m->how.mover == HV_DISK_MOVER_NONE) {
        smove_check(m, false, "storage-live", SLIVE_REMEDY_HOW, "disk %s of "
                    "%s cannot move while the guest runs: %s", jr->vdev,
                    m->name, m->how.why);
        return XLMIG_E_PREFLIGHT;
    }
    if (!jr->link[0]) {
        smove_check(m, false, "storage-live", SLIVE_REMEDY_LINK, "disk %s of"
                    " %s: the domain's config names %s itself, not a stable"
                    " name the move can re-point", jr->vdev, m->name,
                    m->disk->pdev_path);
        return XLMIG_E_PREFLIGHT;
    }
    /* The config keeps its format with the stable name: so must the
     * image behind it. */
    if (strcmp(jr->src_format, jr->dst_format)) {
        smove_check(m, false, "disk-format", "give --offline to change the "
                    "format, or move it as it is", "disk %s is %s: a live "
                    "move keeps the format (the domain's config says %s)",
                    jr->vdev, jr->src_format, jr->src_format);
        return XLMIG_E_PREFLIGHT;
    }
    if (m->how.mover == HV_DISK_MOVER_DM &&
        (strcmp(jr->src_format, "raw") || strcmp(jr->dst_format, "raw"))) {
        smove_check(m, false, "disk-format", "keep it raw", "disk %s is "
                    "attached by blkback, which takes raw images only",
                    jr->vdev);
        return XLMIG_E_PREFLIGHT;
    }
    smove_check(m, true, "storage-live", NULL, "disk %s (%s) moves live "
                "through %s %s", jr->vdev, jr->src,
                m->how.mover == HV_DISK_MOVER_QMP ? "QEMU's monitor"
                                                  : "device-mapper",
                jr->handle);
    return XLMIG_OK;
}

/* The mirror's target, empty, at least the source's size. */
static int slive_target(struct smove *m)
{
    struct journal_rec *jr = &m->job.jr;

    if (m->to->type == SR_LVM) return smove_lv_create(m);
    return scopy_create(m->ctx, jr->part, jr->dst_format, m->size);
}

static void slive_sleep(void)
{
    struct timespec ts = { 0, SLIVE_POLL_NS };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

int smove_live_copy(struct smove *m)
{
    struct journal_rec *jr = &m->job.jr;
    struct smirror_status st = { 0 };
    double t0 = job_elapsed(&m->job), t_tick = -1;
    int rc;

    if (pipe2(m->cancel, O_CLOEXEC) < 0) {
        LOGE(m->ctx, ERROR, "pipe");
        return XLMIG_E_SYSTEM;
    }
    rc = slive_target(m);
    if (rc) goto out;
    m->copied = false;
    job_info(&m->job, "mirroring %s (%llu MiB) to %s through %s", jr->src,
             (unsigned long long)(m->size >> 20), jr->part, jr->mover);
    if (m->how.mover == HV_DISK_MOVER_QMP)
        rc = smirror_qmp_start_prop(m->ctx, jr->handle, jr->vdev,
                                    slive_prop(jr), jr->part, jr->dst_format,
                                    m->o->bandwidth, &m->mirror);
    else
        rc = smirror_dm_start(m->ctx, jr->handle, jr->part, m->o->bandwidth,
                              &m->mirror);
    if (rc) goto out;
    job_fault(&m->job, "mirror");
    for (;;) {
        rc = smirror_poll(m->ctx, m->mirror, &st);
        if (rc) goto out;
        if (st.ready || job_elapsed(&m->job) - t_tick >= 1.0) {
            t_tick = job_elapsed(&m->job);
            smove_progress(m, st.done, st.total);
        }
        if (m->cancel_sent) {
            job_info(&m->job, "cancelled while mirroring");
            rc = XLMIG_E_CANCELLED;
            goto out;
        }
        if (st.ready) break;
        slive_sleep();
    }
    m->res->size = st.total;
    m->res->written = st.done;
    m->res->copy_s = job_elapsed(&m->job) - t0;
    job_info(&m->job, "in sync after %.1f s: every write now goes to both",
             m->res->copy_s);
out:
    fdio_close_pair(m->cancel);
    return rc;
}

int smove_link_set(struct xlmig_ctx *ctx, const char *link,
                   const char *target)
{
    char *copy = xstrdup(link), *dir = dirname(copy);
    char *tmp = xasprintf("%s/.%s.xlmig-tmp", dir, strrchr(link, '/')
                                                      ? strrchr(link, '/') + 1
                                                      : link);
    int rc = XLMIG_OK;

    if (unlink(tmp) < 0 && errno != ENOENT) {
        LOGE(ctx, ERROR, "remove %s", tmp);
        rc = err_from_errno(errno);
    } else if (symlink(target, tmp) < 0) {
        LOGE(ctx, ERROR, "symlink %s -> %s", tmp, target);
        rc = err_from_errno(errno);
    } else if (rename(tmp, link) < 0) {
        LOGE(ctx, ERROR, "rename %s to %s", tmp, link);
        rc = err_from_errno(errno);
        (void)unlink(tmp);
    } else {
        rc = fdio_sync_dir(ctx, dir);
    }
    free(tmp);
    free(copy);
    return rc;
}

int smove_live_switch(struct smove *m)
{
    struct journal_rec *jr = &m->job.jr;
    int rc;

    rc = smove_go(m, "the disk is switching to the copy");
    if (rc) return rc;
    rc = smirror_pivot(m->ctx, m->mirror);
    if (rc) return rc;
    jr->pivoted = true;
    job_fault(&m->job, "pivoted");
    /* From here the copy is the disk: a failure is finished by recover,
     * which asks the mover where the disk is. */
    rc = job_journal(&m->job);
    if (rc) return rc;
    rc = smove_name_copy(m);
    if (rc) return rc;
    m->copied = true;
    rc = smove_link_set(m->ctx, jr->link, jr->dst);
    if (rc) return rc;
    m->linked = true;
    m->res->switched = true;
    job_info(&m->job, "%s runs on %s (%s names it)", m->name, jr->dst,
             jr->link);
    return XLMIG_OK;
}

bool smove_live_rollback(struct smove *m)
{
    int rc;

    if (!m->mirror) return true;
    rc = smirror_cancel(m->ctx, m->mirror);
    smirror_free(m->ctx, m->mirror);
    m->mirror = NULL;
    if (rc) {
        LOG(m->ctx, ERROR, "the mirror of disk %s could not be cancelled: "
            "run xlmig recover", m->job.jr.vdev);
        return false;
    }
    return true;
}

/* ---- recover ---- */

struct slrec {
    struct xlmig_ctx *ctx;
    const struct journal_rec *j;
    void (*say)(void *arg, const char *line);
    void *arg;
};

#define slrec_say(r, ...) smove_sayf((r)->say, (r)->arg, __VA_ARGS__)

/*
 * Where the disk is, by the mover. The copy is asked for by both its
 * names: QEMU reports the name it opened (part, even once renamed), a
 * loop device the file's current one (dst after the rename). The first
 * answer that is not "on the source" wins; errors count only if no name
 * gives an answer.
 */
static int slrec_where(struct slrec *r, enum smirror_where *w_r)
{
    const struct journal_rec *j = r->j;
    const char *tgt[2] = { j->part, j->dst };
    enum smirror_where w;
    int i, rc, best = XLMIG_E_NOTFOUND;
    bool answered = false;

    *w_r = SMIRROR_ON_SOURCE;
    for (i = 0; i < 2; i++) {
        if (!tgt[i][0]) continue;
        w = SMIRROR_ON_SOURCE;
        rc = !strcmp(j->mover, "qmp")
                 ? smirror_qmp_where_prop(r->ctx, j->handle, j->vdev,
                                          slive_prop(j), j->src, tgt[i], &w)
                 : smirror_dm_where(r->ctx, j->handle, j->src, tgt[i], &w);
        if (rc == XLMIG_E_NOTFOUND) return rc;  /* the domain is gone */
        if (rc) {
            best = rc;
            continue;
        }
        answered = true;
        *w_r = w;
        if (w != SMIRROR_ON_SOURCE) break;
    }
    return answered ? XLMIG_OK : best;
}

static int slrec_remove(struct slrec *r, const char *path)
{
    if (!path[0] || (access(path, F_OK) && errno == ENOENT)) return XLMIG_OK;
    slrec_say(r, "removing %s", path);
    return smove_remove_image(r->ctx, path);
}

/* Back: the disk on its source alone, the copy gone. */
static int slrec_back(struct slrec *r, bool domain_alive)
{
    const struct journal_rec *j = r->j;
    int rc = XLMIG_OK;

    if (domain_alive) {
        rc = !strcmp(j->mover, "qmp")
                 ? smirror_qmp_abort_prop(r->ctx, j->handle, j->vdev,
                                          slive_prop(j))
                 : smirror_dm_abort(r->ctx, j->handle, j->src,
                                    access(j->part, F_OK) == 0 ? j->part
                                                               : j->dst);
        if (rc) return rc;
        slrec_say(r, "disk %s of %s stays on %s; the mirror is gone",
                  j->vdev, j->name, j->src);
    }
    if (j->link[0]) {
        rc = smove_link_set(r->ctx, j->link, j->src);
        if (rc) return rc;
    }
    rc = slrec_remove(r, j->part);
    if (!rc && j->go) rc = slrec_remove(r, j->dst);
    return rc;
}

/* Forward: the copy is the disk; name it, point the link, drop the
 * source. */
static int slrec_forward(struct slrec *r)
{
    const struct journal_rec *j = r->j;
    int rc;

    if (access(j->dst, F_OK) != 0) {
        if (access(j->part, F_OK) != 0) {
            LOG(r->ctx, ERROR, "disk %s of %s is on the copy, but neither %s"
                " nor %s exists", j->vdev, j->name, j->part, j->dst);
            return XLMIG_E_UNSAFE;
        }
        if (smove_is_blockdev(j->part)) {
            rc = smove_lv_rename(r->ctx, j->part, j->dst);
        } else {
            rc = rename(j->part, j->dst) < 0 ? err_from_errno(errno)
                                             : XLMIG_OK;
        }
        if (rc) {
            LOG(r->ctx, ERROR, "cannot name the copy %s %s", j->part, j->dst);
            return rc;
        }
        slrec_say(r, "the copy %s is named %s", j->part, j->dst);
    }
    rc = smove_link_set(r->ctx, j->link, j->dst);
    if (rc) return rc;
    slrec_say(r, "%s names %s", j->link, j->dst);
    if (smove_is_blockdev(j->dst)) {
        char *tag = xasprintf(SMOVE_LV_TAG_PREFIX "%s", j->id);

        if (smove_lv_change(r->ctx, j->dst, "--deltag", tag))
            slrec_say(r, "%s keeps its tag %s", j->dst, tag);
        free(tag);
    }
    if (!j->keep) {
        rc = slrec_remove(r, j->src);
        if (rc) return rc;
    }
    return XLMIG_OK;
}

int smove_live_recover(struct xlmig_ctx *ctx, struct hv *hv,
                       const struct journal_rec *j,
                       void (*say)(void *arg, const char *line), void *arg)
{
    struct slrec r = { .ctx = ctx, .j = j, .say = say, .arg = arg };
    enum smirror_where w = SMIRROR_ON_SOURCE;
    int rc;

    (void)hv;
    rc = slrec_where(&r, &w);
    if (rc && rc != XLMIG_E_NOTFOUND) return rc;
    if (rc == XLMIG_E_NOTFOUND) {
        /* The domain (its QEMU, its dm device) is gone: the journal
         * alone says which copy the guest wrote last. */
        if (j->pivoted) {
            slrec_say(&r, "domain %s is gone; it last wrote %s", j->name,
                      j->dst);
            return slrec_forward(&r);
        }
        if (j->go) {
            LOG(ctx, ERROR, "domain %s is gone during the switch of disk %s:"
                " both %s and the copy %s are kept; check which one the "
                "guest wrote last", j->name, j->vdev, j->src,
                access(j->part, F_OK) == 0 ? j->part : j->dst);
            return XLMIG_E_UNSAFE;
        }
        slrec_say(&r, "domain %s is gone; it never used the copy", j->name);
        return slrec_back(&r, false);
    }
    if (w == SMIRROR_ON_TARGET) return slrec_forward(&r);
    return slrec_back(&r, true);
}
