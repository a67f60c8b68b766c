/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * smirror-dm.c - the dm mover of the live disk mirrors (smirror.h), LVM
 * pvmove's technique: the disk's dm device (scripts/block-xlmig made it)
 * goes from a linear table on the source to a dm mirror of source and
 * target, then to linear target (pivot) or back to linear source
 * (detach, cancel). blkback keeps the dm device open throughout; only its
 * table changes. Tables and formats: smirror-dm.h.
 *
 * Invariant: the guest's disk never stays suspended. Every path that ran
 * dmsetup suspend, even a failed one, ends with dmsetup resume
 * (smirror_dm_swap); only a failing resume itself can leave it so, and
 * that is logged as such.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "smirror-dm.h"
#include "smirror-priv.h"

#define SMDM_REGION 1024                /* sectors: 512 KiB regions */
#define SMDM_NAME_MAX 127               /* DM_NAME_LEN - 1 */

/* What an image path is: a block device, or a file (found by inode). */
struct smirror_dm_image {
    bool known;                         /* stat worked */
    bool blk;
    struct smirror_dm_dev dev;          /* blk: st_rdev; file: st_dev */
    uint64_t ino;
};

/* The mover's state (struct smirror's priv). */
struct smirror_dm {
    char *dm;                           /* dm device name */
    char *target;                       /* path, for messages */
    uint64_t sectors;
    uint64_t region, regions;
    struct smirror_dm_dev src, tgt;
    char *tgt_loop;                     /* our loop over target; NULL: a
                                           block device, or released */
};

static bool smirror_dm_same(const struct smirror_dm_dev *a,
                            const struct smirror_dm_dev *b)
{
    return a->maj == b->maj && a->min == b->min;
}

/* dm names block-xlmig makes, and none that reads as an option. */
static int smirror_dm_check_name(struct xlmig_ctx *ctx, const char *dm)
{
    size_t n = strlen(dm);

    if (!n || n > SMDM_NAME_MAX || dm[0] == '-' ||
        strspn(dm, "abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-") != n) {
        LOG(ctx, ERROR, "%.40s: not a dm device name", dm);
        return XLMIG_E_INVAL;
    }
    return XLMIG_OK;
}

/* ---- images and loop devices --------------------------------------------- */

/* What path is; not known (no error) if it cannot be stat'ed. */
static void smirror_dm_image(struct xlmig_ctx *ctx, const char *path,
                             struct smirror_dm_image *img)
{
    struct stat st;

    memset(img, 0, sizeof(*img));
    if (stat(path, &st)) {
        LOGE(ctx, DEBUG, "stat %s", path);
        return;
    }
    img->known = true;
    img->blk = S_ISBLK(st.st_mode);
    img->dev.maj = major(img->blk ? st.st_rdev : st.st_dev);
    img->dev.min = minor(img->blk ? st.st_rdev : st.st_dev);
    img->ino = (uint64_t)st.st_ino;
}

static bool smirror_dm_loop_over(const struct smirror_dm_loop *l,
                                 const struct smirror_dm_image *img)
{
    return img->known && !img->blk && l->back_ino == img->ino &&
           smirror_dm_same(&l->back_dev, &img->dev);
}

/* Whether dm device number dev is image img (itself, or a loop over it). */
static bool smirror_dm_is(const struct smirror_dm_dev *dev,
                          const struct smirror_dm_image *img,
                          const struct smirror_dm_loop *loops, size_t n)
{
    size_t i;

    if (!img->known) return false;
    if (img->blk) return smirror_dm_same(dev, &img->dev);
    for (i = 0; i < n; i++)
        if (smirror_dm_same(dev, &loops[i].dev) &&
            smirror_dm_loop_over(&loops[i], img))
            return true;
    return false;
}

/*
 * Releases the loop devices over image img (if not NULL) or numbered dev
 * (if not NULL) that no dm table names. Failures are logged.
 */
static int smirror_dm_release(struct xlmig_ctx *ctx,
                              const struct smirror_dm_image *img,
                              const struct smirror_dm_dev *dev)
{
    struct smirror_dm_loop *loops = NULL;
    struct smirror_dm_dev *used = NULL;
    size_t n, n_used, i, j;
    int rc, r;

    rc = smirror_dm_cmd_loops(ctx, &loops, &n);
    if (!rc) rc = smirror_dm_cmd_used(ctx, &used, &n_used);
    for (i = 0; !rc && i < n; i++) {
        if (!(img && smirror_dm_loop_over(&loops[i], img)) &&
            !(dev && smirror_dm_same(&loops[i].dev, dev)))
            continue;
        for (j = 0; j < n_used; j++)
            if (smirror_dm_same(&used[j], &loops[i].dev)) break;
        if (j < n_used) {
            LOG(ctx, INFO, "%s: still in a dm table, kept", loops[i].name);
            continue;
        }
        r = smirror_dm_cmd_detach(ctx, loops[i].name);
        if (r) rc = r;
        else LOG(ctx, INFO, "%s: released", loops[i].name);
    }
    free(used);
    free(loops);
    return rc;
}

/* The loop device we made over the target, if not released yet. */
static int smirror_dm_release_target(struct xlmig_ctx *ctx,
                                     struct smirror_dm *d)
{
    int rc;

    if (!d->tgt_loop) return XLMIG_OK;
    rc = smirror_dm_cmd_detach(ctx, d->tgt_loop);
    if (rc) return rc;
    LOG(ctx, INFO, "%s (over %s): released", d->tgt_loop, d->target);
    free(d->tgt_loop);
    d->tgt_loop = NULL;
    return XLMIG_OK;
}

/* A file target: our loop device over it, and its number in d->tgt. */
static int smirror_dm_target_loop(struct xlmig_ctx *ctx, struct smirror_dm *d,
                                  const struct smirror_dm_image *img)
{
    struct smirror_dm_loop *loops = NULL;
    size_t n, i;
    int rc;

    rc = smirror_dm_cmd_attach(ctx, d->target, &d->tgt_loop);
    if (rc) goto out;
    rc = smirror_dm_cmd_loops(ctx, &loops, &n);
    if (rc) goto out;
    for (i = 0; i < n; i++) {
        if (smirror_dm_same(&loops[i].dev, &d->src) &&
            smirror_dm_loop_over(&loops[i], img)) {
            LOG(ctx, ERROR, "dm device %s: %s is its source", d->dm,
                d->target);
            rc = XLMIG_E_INVAL;
            goto out;
        }
    }
    for (i = 0; i < n; i++)
        if (!strcmp(loops[i].name, d->tgt_loop)) break;
    if (i == n || !smirror_dm_loop_over(&loops[i], img)) {
        LOG(ctx, ERROR, "%s: losetup made %s, which it does not list over "
            "that file", d->target, d->tgt_loop);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    d->tgt = loops[i].dev;
out:
    free(loops);
    return rc;
}

/* A block device target is overwritten: no dm table may use it. */
static int smirror_dm_target_unused(struct xlmig_ctx *ctx,
                                    const struct smirror_dm *d)
{
    struct smirror_dm_dev *used = NULL;
    size_t n, i;
    int rc;

    rc = smirror_dm_cmd_used(ctx, &used, &n);
    for (i = 0; !rc && i < n; i++) {
        if (!smirror_dm_same(&used[i], &d->tgt)) continue;
        LOG(ctx, ERROR, "target %s (%u:%u): a dm table uses it", d->target,
            d->tgt.maj, d->tgt.min);
        rc = XLMIG_E_BUSY;
    }
    free(used);
    return rc;
}

/*
 * The target: a file or block device of at least the disk's size (else
 * XLMIG_E_NOSPACE, nothing made); d->tgt its device (a file's: a loop
 * device of ours, d->tgt_loop).
 */
static int smirror_dm_target(struct xlmig_ctx *ctx, struct smirror_dm *d)
{
    struct smirror_dm_image img;
    struct stat st;
    uint64_t size = 0, need = d->sectors * 512;
    int fd = -1, rc;

    if (stat(d->target, &st)) {
        LOGE(ctx, ERROR, "target %s", d->target);
        rc = err_from_errno(errno);
        goto out;
    }
    if (S_ISREG(st.st_mode)) {
        size = (uint64_t)st.st_size;
    } else if (S_ISBLK(st.st_mode)) {
        fd = open(d->target, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0) {
            LOGE(ctx, ERROR, "size of target %s", d->target);
            rc = err_from_errno(errno);
            goto out;
        }
    } else {
        LOG(ctx, ERROR, "target %s: neither a file nor a block device",
            d->target);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    if (size < need) {
        LOG(ctx, ERROR, "target %s: %" PRIu64 " bytes, the disk has %"
            PRIu64, d->target, size, need);
        rc = XLMIG_E_NOSPACE;
        goto out;
    }
    smirror_dm_image(ctx, d->target, &img);
    if (img.blk) {
        d->tgt = img.dev;
        rc = smirror_dm_target_unused(ctx, d);
    } else {
        rc = smirror_dm_target_loop(ctx, d, &img);
    }
out:
    if (fd >= 0) close(fd);
    return rc;
}

/* ---- switching tables ---------------------------------------------------- */

static char *smirror_dm_linear(uint64_t sectors,
                               const struct smirror_dm_dev *dev)
{
    return xasprintf("0 %" PRIu64 " linear %u:%u 0", sectors, dev->maj,
                     dev->min);
}

static const char *smirror_dm_health(char c)
{
    switch (c) {
    case 'A': return "alive";
    case 'D': return "dead: a write failed";
    case 'S': return "a region failed to sync";
    case 'R': return "a read failed";
    case 'F': return "a flush failed";
    case 'U': return "failed, unclassified";
    default: return "unknown state";
    }
}

/*
 * Reads the mirror's status and checks it is ours (size, legs, regions)
 * with both legs alive: XLMIG_E_STORAGE (logged) if not. *st filled.
 */
static int smirror_dm_status(struct xlmig_ctx *ctx, struct smirror_dm *d,
                             struct smirror_dm_status *st)
{
    char *args[] = { (char *)"dmsetup", (char *)"status", d->dm, NULL };
    char *out = NULL, *esc = NULL;
    int rc;

    rc = smirror_dm_cmd_run(ctx, args, SMDM_OUT_MAX, &out);
    if (rc) goto out;
    rc = smirror_dm_parse_status(out, st);
    if (rc || st->sectors != d->sectors || st->regions != d->regions ||
        !smirror_dm_same(&st->dev[0], &d->src) ||
        !smirror_dm_same(&st->dev[1], &d->tgt)) {
        esc = smirror_dm_cmd_quote(out);
        LOG(ctx, ERROR, "dm device %s: not the status of our mirror of "
            "%u:%u to %u:%u: \"%s\"", d->dm, d->src.maj, d->src.min,
            d->tgt.maj, d->tgt.min, esc);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    if (st->health[0] != 'A' || st->health[1] != 'A') {
        LOG(ctx, ERROR, "dm device %s: mirror failed: source %u:%u %c (%s),"
            " target %u:%u %c (%s)", d->dm, d->src.maj, d->src.min,
            st->health[0], smirror_dm_health(st->health[0]), d->tgt.maj,
            d->tgt.min, st->health[1], smirror_dm_health(st->health[1]));
        rc = XLMIG_E_STORAGE;
    }
out:
    free(esc);
    free(out);
    return rc;
}

/* While suspended: every region in sync, both legs alive. */
static int smirror_dm_check_synced(struct xlmig_ctx *ctx, struct smirror_dm *d)
{
    struct smirror_dm_status st;
    int rc = smirror_dm_status(ctx, d, &st);

    if (rc) return rc;
    if (st.in_sync != st.regions) {
        LOG(ctx, ERROR, "dm device %s: %" PRIu64 " of %" PRIu64 " regions "
            "in sync: the target is no copy", d->dm, st.in_sync, st.regions);
        return XLMIG_E_STORAGE;
    }
    return XLMIG_OK;
}

/*
 * After a failed step with the device maybe suspended: fallback (NULL:
 * none) loaded, else any inactive table dropped, then resume, so that
 * the guest's disk runs again on fallback or on what it had.
 * XLMIG_E_STORAGE (logged) if it could not be resumed.
 */
static int smirror_dm_unsuspend(struct xlmig_ctx *ctx, const char *dm,
                                const char *fallback)
{
    int r = fallback ? smirror_dm_cmd_setup(ctx, "load", dm, fallback) : 1;

    /* No fallback loaded: an inactive table of ours must not be resumed. */
    if (r && smirror_dm_cmd_setup(ctx, "clear", dm, NULL))
        LOG(ctx, ERROR, "dm device %s: its inactive table could not be "
            "dropped", dm);
    if (smirror_dm_cmd_setup(ctx, "resume", dm, NULL) &&
        smirror_dm_cmd_setup(ctx, "resume", dm, NULL)) {
        LOG(ctx, ERROR, "dm device %s: could not be resumed: the guest's "
            "disk stays suspended (dmsetup resume %s)", dm, dm);
        return XLMIG_E_STORAGE;
    }
    if (fallback && !r)
        LOG(ctx, INFO, "dm device %s: back on \"%s\"", dm, fallback);
    return XLMIG_OK;
}

/*
 * suspend, [check,] load table, resume. On any failure (the check's too)
 * smirror_dm_unsuspend with fallback: never left suspended.
 */
static int smirror_dm_swap(struct xlmig_ctx *ctx, struct smirror_dm *d,
                           const char *table, const char *fallback,
                           bool check)
{
    int rc;

    rc = smirror_dm_cmd_setup(ctx, "suspend", d->dm, NULL);
    if (!rc && check) rc = smirror_dm_check_synced(ctx, d);
    if (!rc) rc = smirror_dm_cmd_setup(ctx, "load", d->dm, table);
    /* resume swaps the loaded table in */
    if (!rc) rc = smirror_dm_cmd_setup(ctx, "resume", d->dm, NULL);
    /* The first failure is the one returned; unsuspend logs its own. */
    if (rc) (void)smirror_dm_unsuspend(ctx, d->dm, fallback);
    return rc;
}

/* ---- the mover's operations ---------------------------------------------- */

static int smirror_dm_poll(struct xlmig_ctx *ctx, struct smirror *m,
                           struct smirror_status *st)
{
    struct smirror_dm *d = m->priv;
    struct smirror_dm_status s;
    uint64_t done;
    int rc;

    rc = smirror_dm_status(ctx, d, &s);
    if (rc) return rc;
    st->total = d->sectors * 512;
    done = s.in_sync * d->region * 512;     /* the last region is short */
    st->done = done < st->total ? done : st->total;
    st->ready = s.in_sync == s.regions;
    return XLMIG_OK;
}

static int smirror_dm_pivot(struct xlmig_ctx *ctx, struct smirror *m)
{
    struct smirror_dm *d = m->priv;
    char *table = smirror_dm_linear(d->sectors, &d->tgt);
    int rc;

    /* Checked while suspended: no write can slip between it and the
     * switch. A failure leaves the mirror running. */
    rc = smirror_dm_swap(ctx, d, table, NULL, true);
    if (rc) goto out;
    LOG(ctx, INFO, "dm device %s: on %s (%u:%u) alone", d->dm, d->target,
        d->tgt.maj, d->tgt.min);
    /* Our loop is the disk now: block-xlmig remove releases it. */
    free(d->tgt_loop);
    d->tgt_loop = NULL;
    /* Nobody uses the source's loop device any more (if it is one). */
    if (smirror_dm_release(ctx, NULL, &d->src))
        LOG(ctx, WARN, "dm device %s: the source's loop device %u:%u is "
            "left", d->dm, d->src.maj, d->src.min);
out:
    free(table);
    return rc;
}

static int smirror_dm_detach(struct xlmig_ctx *ctx, struct smirror *m)
{
    struct smirror_dm *d = m->priv;
    char *table = smirror_dm_linear(d->sectors, &d->src);
    int rc;

    /* The check vetoes the copy, not the switch: whatever happens, the
     * disk ends on its source (the fallback is the same table). */
    rc = smirror_dm_swap(ctx, d, table, table, true);
    if (rc) goto out;
    LOG(ctx, INFO, "dm device %s: %s is a copy, the disk on its source",
        d->dm, d->target);
    if (smirror_dm_release_target(ctx, d))
        LOG(ctx, WARN, "%s: loop device %s is left (recover releases it)",
            d->target, d->tgt_loop);
out:
    free(table);
    return rc;
}

static int smirror_dm_cancel(struct xlmig_ctx *ctx, struct smirror *m)
{
    struct smirror_dm *d = m->priv;
    struct smirror_dm_table t;
    char *table = smirror_dm_linear(d->sectors, &d->src), *line = NULL;
    int rc;

    rc = smirror_dm_cmd_table(ctx, d->dm, &t, &line);
    if (rc == XLMIG_E_PROTO) {
        LOG(ctx, ERROR, "dm device %s: not a table of ours: \"%s\"", d->dm,
            line);
        rc = XLMIG_E_STORAGE;
    }
    if (rc) goto out;
    if (t.kind == SMIRROR_DM_LINEAR && smirror_dm_same(&t.dev[0], &d->src)) {
        rc = smirror_dm_unsuspend(ctx, d->dm, NULL);    /* in case */
    } else if (t.kind == SMIRROR_DM_MIRROR &&
               smirror_dm_same(&t.dev[0], &d->src) &&
               smirror_dm_same(&t.dev[1], &d->tgt)) {
        rc = smirror_dm_swap(ctx, d, table, NULL, false);
    } else if (t.kind == SMIRROR_DM_LINEAR &&
               smirror_dm_same(&t.dev[0], &d->tgt)) {
        /* A pivot took effect after all: switching back would lose the
         * guest's writes since. */
        LOG(ctx, ERROR, "dm device %s: already on the target %s, not "
            "switched back", d->dm, d->target);
        rc = XLMIG_E_STORAGE;
        goto out;
    } else {
        LOG(ctx, ERROR, "dm device %s: on %u:%u, not our mirror of %u:%u "
            "to %u:%u", d->dm, t.dev[0].maj, t.dev[0].min, d->src.maj,
            d->src.min, d->tgt.maj, d->tgt.min);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    if (rc) {
        LOG(ctx, ERROR, "dm device %s: its source could not be restored as "
            "its only image", d->dm);
        goto out;
    }
    rc = smirror_dm_release_target(ctx, d);
out:
    free(line);
    free(table);
    return rc;
}

static void smirror_dm_free(struct smirror_dm *d)
{
    if (!d) return;
    free(d->dm);
    free(d->target);
    free(d->tgt_loop);
    free(d);
}

static void smirror_dm_dispose(struct xlmig_ctx *ctx, struct smirror *m)
{
    smirror_dm_free(m->priv);
    m->priv = NULL;
}

static const struct smirror_ops smirror_dm_ops = {
    .name = "dm",
    .poll = smirror_dm_poll,
    .pivot = smirror_dm_pivot,
    .detach = smirror_dm_detach,
    .cancel = smirror_dm_cancel,
    .dispose = smirror_dm_dispose,
};

/* The disk's current table, which must be a plain linear one. */
static int smirror_dm_start_table(struct xlmig_ctx *ctx, struct smirror_dm *d)
{
    struct smirror_dm_table t;
    char *line = NULL;
    int rc;

    rc = smirror_dm_cmd_table(ctx, d->dm, &t, &line);
    if (rc == XLMIG_E_PROTO || (!rc && t.kind != SMIRROR_DM_LINEAR)) {
        LOG(ctx, ERROR, "dm device %s: not a plain linear table (%s): a "
            "mirror of ours may be there, recover first", d->dm,
            line ? line : "a mirror");
        rc = XLMIG_E_BUSY;
    }
    if (rc) goto out;
    d->sectors = t.sectors;
    d->src = t.dev[0];
    d->region = SMDM_REGION;
    while (d->region > d->sectors) d->region >>= 1;
    if (d->region < 2) {
        LOG(ctx, ERROR, "dm device %s: %" PRIu64 " sector: too small to "
            "mirror", d->dm, d->sectors);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    d->regions = (d->sectors + d->region - 1) / d->region;
out:
    free(line);
    return rc;
}

int smirror_dm_start(struct xlmig_ctx *ctx, const char *dm,
                     const char *target, uint64_t bandwidth,
                     struct smirror **m_r)
{
    struct smirror_dm *d = NULL;
    char *table = NULL, *fallback = NULL;
    int rc;

    *m_r = NULL;
    rc = smirror_dm_check_name(ctx, dm);
    if (rc) goto out;
    if (target[0] != '/') {
        LOG(ctx, ERROR, "%s: not an absolute path", target);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    d = xcalloc(1, sizeof(*d));
    d->dm = xstrdup(dm);
    d->target = xstrdup(target);
    rc = smirror_dm_start_table(ctx, d);
    if (rc) goto out;
    rc = smirror_dm_target(ctx, d);
    if (rc) goto out;
    if (smirror_dm_same(&d->src, &d->tgt)) {
        LOG(ctx, ERROR, "dm device %s: %s is its source", dm, target);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    table = xasprintf("0 %" PRIu64 " mirror core 1 %" PRIu64 " 2 %u:%u 0 "
                      "%u:%u 0 1 handle_errors", d->sectors, d->region,
                      d->src.maj, d->src.min, d->tgt.maj, d->tgt.min);
    fallback = smirror_dm_linear(d->sectors, &d->src);
    rc = smirror_dm_swap(ctx, d, table, fallback, false);
    if (rc) goto out;
    if (bandwidth)
        LOG(ctx, WARN, "dm device %s: bandwidth limit ignored: dm mirror "
            "copies at the kernel's pace", dm);
    LOG(ctx, INFO, "dm device %s: mirroring %u:%u to %s (%u:%u), %" PRIu64
        " regions of %" PRIu64 " sectors", dm, d->src.maj, d->src.min,
        target, d->tgt.maj, d->tgt.min, d->regions, d->region);
    *m_r = smirror_new(&smirror_dm_ops, d);
    d = NULL;
out:
    if (d && smirror_dm_release_target(ctx, d))
        LOG(ctx, WARN, "%s: loop device %s is left", target, d->tgt_loop);
    smirror_dm_free(d);
    free(fallback);
    free(table);
    return rc;
}

/* ---- recover ------------------------------------------------------------- */

/* where, and the table it was read from. */
static int smirror_dm_locate(struct xlmig_ctx *ctx, const char *dm,
                             const char *source, const char *target,
                             enum smirror_where *where_r,
                             struct smirror_dm_table *t)
{
    struct smirror_dm_image src, tgt;
    struct smirror_dm_loop *loops = NULL;
    char *line = NULL;
    size_t n;
    int rc;

    rc = smirror_dm_check_name(ctx, dm);
    if (!rc) rc = smirror_dm_cmd_table(ctx, dm, t, &line);
    if (rc == XLMIG_E_PROTO) {
        LOG(ctx, ERROR, "dm device %s: not a table of ours: \"%s\"", dm,
            line);
        rc = XLMIG_E_STORAGE;
    }
    if (rc) goto out;
    if (t->kind == SMIRROR_DM_MIRROR) {
        *where_r = SMIRROR_MIRRORING;
        goto out;
    }
    rc = smirror_dm_cmd_loops(ctx, &loops, &n);
    if (rc) goto out;
    smirror_dm_image(ctx, source, &src);
    smirror_dm_image(ctx, target, &tgt);
    if (smirror_dm_is(&t->dev[0], &src, loops, n)) {
        *where_r = SMIRROR_ON_SOURCE;
    } else if (smirror_dm_is(&t->dev[0], &tgt, loops, n)) {
        *where_r = SMIRROR_ON_TARGET;
    } else {
        LOG(ctx, ERROR, "dm device %s: on %u:%u, which is neither %s nor %s",
            dm, t->dev[0].maj, t->dev[0].min, source, target);
        rc = XLMIG_E_STORAGE;
    }
out:
    free(loops);
    free(line);
    return rc;
}

int smirror_dm_where(struct xlmig_ctx *ctx, const char *dm,
                     const char *source, const char *target,
                     enum smirror_where *where_r)
{
    struct smirror_dm_table t;

    *where_r = SMIRROR_ON_SOURCE;
    return smirror_dm_locate(ctx, dm, source, target, where_r, &t);
}

int smirror_dm_abort(struct xlmig_ctx *ctx, const char *dm,
                     const char *source, const char *target)
{
    struct smirror_dm d = { .dm = (char *)dm };
    struct smirror_dm_image tgt;
    struct smirror_dm_table t;
    enum smirror_where where = SMIRROR_ON_SOURCE;
    char *table = NULL;
    int rc;

    rc = smirror_dm_locate(ctx, dm, source, target, &where, &t);
    /* The device gone with its domain: a loop of ours over the target
     * may still be there. */
    if (rc == XLMIG_E_NOTFOUND) goto release;
    if (rc) goto out;
    switch (where) {
    case SMIRROR_ON_TARGET:
        LOG(ctx, ERROR, "dm device %s: on the target %s already: the move "
            "is to be finished, not undone", dm, target);
        rc = XLMIG_E_INVAL;
        goto out;
    case SMIRROR_MIRRORING:
        d.sectors = t.sectors;
        d.src = t.dev[0];
        table = smirror_dm_linear(t.sectors, &t.dev[0]);
        rc = smirror_dm_swap(ctx, &d, table, NULL, false);
        if (rc) goto out;
        LOG(ctx, INFO, "dm device %s: mirror ended, on %u:%u alone", dm,
            t.dev[0].maj, t.dev[0].min);
        break;
    case SMIRROR_ON_SOURCE:
        /* A dead xlmig may have left it suspended, a mirror loaded. */
        rc = smirror_dm_unsuspend(ctx, dm, NULL);
        if (rc) goto out;
        break;
    }
release:
    smirror_dm_image(ctx, target, &tgt);
    rc = smirror_dm_release(ctx, &tgt, NULL);
out:
    free(table);
    return rc;
}
