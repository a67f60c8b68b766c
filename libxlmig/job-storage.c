/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * job-storage.c - the disks of a live migration that moves them
 * (`xlmig migrate --storage VDEV=SR`), as XAPI's Storage XenMotion does:
 * each disk is mirrored into its target SR (smirror.h) while the guest
 * runs here; once every mirror is in sync the memory goes; when libxc
 * has suspended the guest the pump holds the rest of the stream (libxl's
 * END with it) until every mirror has stopped as a point-in-time copy,
 * the disk left on its source; the destination restores from a config
 * that names the copies.
 *
 *   setup     targets SR/NAME made (empty, the source's size), the
 *             config retargeted, the journal lists the disks
 *   mirror    every mirror in sync (cancellable; the guest never knows)
 *   hold      (pump thread, guest suspended) every mirror detached
 *   commit    after the destination runs the domain: sources removed
 *             (unless kept)
 *   rollback  before GO: mirrors cancelled, targets removed; the guest
 *             resumes on the disks it never stopped using
 * After GO the destination owns the copies; recover (job_storage_recover)
 * reads from the journal which copy is authoritative.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfgfile.h"
#include "domcfg.h"
#include "job-storage.h"
#include "smirror-qmp.h"
#include "storage-copy.h"
#include "storage-move.h"

#define JSTO_LINK_DIR "/var/lib/xlmig/disk"
#define JSTO_POLL_MS 250
#define JSTO_SAY_S 5.0              /* a progress line at most this often */

struct job_sdisk {
    struct journal_disk *jd;        /* in job->jr.disks */
    struct smirror *m;
    bool created;                   /* the copy is ours to remove */
};

struct job_storage {
    struct job *job;
    struct hv *hv;
    uint32_t domid;
    bool slotted;                   /* holds a storage slot */
    double hold_s;                  /* how long the hold took */
    struct job_sdisk d[JOURNAL_DISKS_MAX];
    unsigned n;
};

static const char *jsto_prop(const struct journal_disk *jd)
{
    return jd->prop[0] ? jd->prop : SMIRROR_QMP_PROP;
}

/* Copies s into dst (size bytes) or says it is too long for the journal. */
static int jsto_set(struct xlmig_ctx *ctx, char *dst, size_t size,
                    const char *s, const char *what)
{
    if (strlen(s) >= size) {
        LOG(ctx, ERROR, "%s %.64s... is too long for the journal", what, s);
        return XLMIG_E_TOOBIG;
    }
    strcpy(dst, s);
    return XLMIG_OK;
}

/* One "VDEV=SR" into its vdev and SR name (allocated, *sr_r into it). */
static int jsto_parse(struct xlmig_ctx *ctx, const char *arg, char **vdev_r,
                      const char **sr_r)
{
    char *vdev = xstrdup(arg), *sr = strchr(vdev, '=');

    if (!sr || sr == vdev || !sr[1]) {
        LOG(ctx, ERROR, "--storage %s: expected VDEV=SR", arg);
        free(vdev);
        return XLMIG_E_INVAL;
    }
    *sr++ = '\0';
    *vdev_r = vdev;
    *sr_r = sr;
    return XLMIG_OK;
}

static const struct domcfg_disk *jsto_disk(const struct domcfg *c,
                                           const char *vdev)
{
    size_t i;

    for (i = 0; i < c->n_disks; i++)
        if (c->disks[i].vdev && !strcmp(c->disks[i].vdev, vdev))
            return &c->disks[i];
    return NULL;
}

/* The mover of disk d and what the journal keeps of it. */
static int jsto_mover(struct job_storage *s, const struct domcfg_disk *d,
                      struct journal_disk *jd)
{
    struct xlmig_ctx *ctx = s->job->ctx;
    struct hv_disk_live how;
    const char *fmt = d->format ? d->format : "raw";
    int rc;

    rc = hv_disk_live(s->hv, s->domid, d->vdev, &how);
    if (rc) return rc;
    if (how.mover == HV_DISK_MOVER_NONE) {
        LOG(ctx, ERROR, "disk %s cannot move while the guest runs: %s; "
            "make it movable from the domain's next boot (xlmig "
            "disk-prepare CONFIG %s: script=block-xlmig for blkback, "
            "xlmig's QMP monitor for a qdisk), or stop the domain and "
            "migrate it cold with --config", d->vdev, how.why, d->vdev);
        return XLMIG_E_PREFLIGHT;
    }
    if (how.mover == HV_DISK_MOVER_DM && strcmp(fmt, "raw")) {
        LOG(ctx, ERROR, "disk %s is %s: blkback takes raw images only",
            d->vdev, fmt);
        return XLMIG_E_PREFLIGHT;
    }
    snprintf(jd->mover, sizeof(jd->mover), "%s",
             how.mover == HV_DISK_MOVER_QMP ? "qmp" : "dm");
    snprintf(jd->fmt, sizeof(jd->fmt), "%s", fmt);
    if (strcmp(how.prop, SMIRROR_QMP_PROP))
        snprintf(jd->prop, sizeof(jd->prop), "%s", how.prop);
    return jsto_set(ctx, jd->handle, sizeof(jd->handle), how.handle,
                    "the mover's handle");
}

/* Where the copy of src goes in SR sr: SR/basename, new, with room. */
static int jsto_target(struct job_storage *s, const struct sr *sr,
                       const char *src, uint64_t size,
                       struct journal_disk *jd)
{
    struct xlmig_ctx *ctx = s->job->ctx;
    const char *base = strrchr(src, '/');
    uint64_t total, avail;
    char *dst;
    int rc;

    if (sr->type != SR_DIR) {
        LOG(ctx, ERROR, "disk %s: SR %s is an LVM SR; a migration moves "
            "disks into file SRs (move it with xlmig storage-move first)",
            jd->vdev, sr->name);
        return XLMIG_E_INVAL;
    }
    dst = xasprintf("%s/%s", sr->loc, base ? base + 1 : src);
    rc = jsto_set(ctx, jd->dst, sizeof(jd->dst), dst, "the target path");
    free(dst);
    if (rc) return rc;
    if (access(jd->dst, F_OK) == 0 || errno != ENOENT) {
        LOG(ctx, ERROR, "disk %s: %s is there already in SR %s: not "
            "overwritten", jd->vdev, jd->dst, sr->name);
        return XLMIG_E_EXISTS;
    }
    rc = sr_space(ctx, sr, &total, &avail);
    if (rc) return rc;
    if (avail < size) {
        LOG(ctx, ERROR, "disk %s: SR %s has %llu MiB free, the copy needs "
            "%llu MiB", jd->vdev, sr->name,
            (unsigned long long)(avail >> 20),
            (unsigned long long)(size >> 20));
        return XLMIG_E_NOSPACE;
    }
    return XLMIG_OK;
}

/* The virtual size of the image src of format fmt. */
static int jsto_size(struct xlmig_ctx *ctx, const char *src, const char *fmt,
                     uint64_t *size_r)
{
    struct scopy_image img;
    uint64_t data;
    int rc;

    if (!strcmp(fmt, "raw")) return scopy_raw_size(ctx, src, size_r, &data);
    rc = scopy_image_info(ctx, src, fmt, &img);
    if (rc) return rc;
    *size_r = img.virtual_size;
    scopy_image_dispose(&img);
    return XLMIG_OK;
}

/* *json_io with disk vdev's target made path; *cause_r (allocated) says
 * why not. */
static int jsto_retarget(char **json_io, const char *vdev, const char *path,
                         char **cause_r)
{
    char *out = NULL;
    size_t n;
    int rc;

    rc = cfgfile_disk_retarget(*json_io, strlen(*json_io), vdev, path, NULL,
                               &out, &n, cause_r);
    if (rc) return rc;
    free(*json_io);
    *json_io = out;
    return XLMIG_OK;
}

/* One --storage argument: the disk found, its copy planned and made, the
 * config retargeted. A disk in that SR already stays where it is. */
static int jsto_one(struct job_storage *s, const struct sr *list, size_t n,
                    const struct domcfg *c, const char *arg, char **json_io)
{
    struct xlmig_ctx *ctx = s->job->ctx;
    struct journal_disk *jd = &s->job->jr.disks[s->n];
    const struct domcfg_disk *d;
    const struct sr *sr;
    const char *srname;
    char *vdev = NULL, *real = NULL, *cause = NULL;
    uint64_t size = 0;
    unsigned i;
    int rc;

    memset(jd, 0, sizeof(*jd));
    rc = jsto_parse(ctx, arg, &vdev, &srname);
    if (rc) return rc;
    for (i = 0; i < s->n; i++)
        if (!strcmp(s->d[i].jd->vdev, vdev)) {
            LOG(ctx, ERROR, "--storage: disk %s given twice", vdev);
            rc = XLMIG_E_INVAL;
            goto out;
        }
    d = jsto_disk(c, vdev);
    sr = sr_find(list, n, srname);
    if (!d || !d->pdev_path || !*d->pdev_path) {
        LOG(ctx, ERROR, "--storage %s: %s has no disk %s with an image",
            arg, c->name, vdev);
        rc = XLMIG_E_NOTFOUND;
        goto out;
    }
    if (!sr) {
        LOG(ctx, ERROR, "--storage %s: no SR %s on this host (xlmig "
            "sr-list)", arg, srname);
        rc = XLMIG_E_NOTFOUND;
        goto out;
    }
    real = realpath(d->pdev_path, NULL);
    if (!real) {
        LOGE(ctx, ERROR, "disk %s: %s", vdev, d->pdev_path);
        rc = err_from_errno(errno);
        goto out;
    }
    if (sr_of_path(list, n, real) == sr) {
        LOG(ctx, INFO, "disk %s is in SR %s already", vdev, sr->name);
        goto out;
    }
    snprintf(jd->vdev, sizeof(jd->vdev), "%s", vdev);
    rc = jsto_set(ctx, jd->src, sizeof(jd->src), real, "the image path");
    if (!rc) rc = jsto_mover(s, d, jd);
    if (!rc) rc = jsto_size(ctx, real, jd->fmt, &size);
    if (!rc) rc = jsto_target(s, sr, real, size, jd);
    if (!rc) rc = jsto_retarget(json_io, vdev, jd->dst, &cause);
    if (cause) LOG(ctx, ERROR, "disk %s: the config: %s", vdev, cause);
    if (rc) goto out;
    /* The journal names the target before it exists: a crash between
     * leaves nothing recover does not know of. */
    s->d[s->n].jd = jd;
    s->n++;
    s->job->jr.n_disks = s->n;
    rc = job_journal(s->job);
    if (!rc) rc = scopy_create(ctx, jd->dst, jd->fmt, size);
    if (rc) goto out;
    s->d[s->n - 1].created = true;
    job_info(s->job, "disk %s: %s -> %s (%llu MiB, %s mover)", vdev,
             jd->src, jd->dst, (unsigned long long)(size >> 20), jd->mover);
out:
    free(vdev);
    free(real);
    free(cause);
    return rc;
}

int job_storage_setup(struct job *job, struct hv *hv, uint32_t domid,
                      const char *const *args, size_t n_args, bool keep,
                      bool no_wait, char **json_io, struct job_storage **s_r)
{
    struct xlmig_ctx *ctx = job->ctx;
    struct job_storage *s;
    struct domcfg c;
    struct sr *list = NULL;
    char *why = NULL;
    struct fdio_wait qwait;
    size_t n = 0, i;
    int rc;

    *s_r = NULL;
    if (n_args > JOURNAL_DISKS_MAX) {
        LOG(ctx, ERROR, "--storage: at most %d disks", JOURNAL_DISKS_MAX);
        return XLMIG_E_INVAL;
    }
    s = xcalloc(1, sizeof(*s));
    s->job = job;
    s->hv = hv;
    s->domid = domid;
    job->jr.keep = keep;
    *s_r = s;
    memset(&c, 0, sizeof(c));
    rc = domcfg_parse(*json_io, &c, &why);
    if (rc) {
        LOG(ctx, ERROR, "the domain's config: %s", why);
        goto out;
    }
    rc = sr_load(ctx, &list, &n, &why);
    if (rc) {
        LOG(ctx, ERROR, "%s", why);
        goto out;
    }
    /* A move is a move: it counts against the host's storage limit. */
    qwait = job->wait;
    qwait.timeout_s = 0;
    rc = coord_slot_take(job->coord, job->id, COORD_STORAGE, !no_wait,
                         &qwait, -1, NULL, NULL);
    if (rc == XLMIG_E_BUSY)
        LOG(ctx, ERROR, "this host is at its limit of storage moves (xlmig "
            "jobs; xlmig set-limit)");
    if (rc) goto out;
    s->slotted = true;
    for (i = 0; i < n_args && !rc; i++)
        rc = jsto_one(s, list, n, &c, args[i], json_io);
out:
    free(why);
    free(list);
    domcfg_dispose(&c);
    return rc;
}

/* Starts disk i's mirror. */
static int jsto_start(struct job_storage *s, struct job_sdisk *sd)
{
    struct journal_disk *jd = sd->jd;

    if (!strcmp(jd->mover, "qmp"))
        return smirror_qmp_start_prop(s->job->ctx, jd->handle, jd->vdev,
                                      jsto_prop(jd), jd->dst, jd->fmt, 0,
                                      &sd->m);
    return smirror_dm_start(s->job->ctx, jd->handle, jd->dst, 0, &sd->m);
}

int job_storage_mirror(struct job_storage *s)
{
    struct job *job = s->job;
    struct smirror_status st;
    uint64_t done, total;
    double t0 = job_elapsed(job), t_say = t0;
    unsigned i, ready;
    int rc = XLMIG_OK;

    for (i = 0; i < s->n && !rc; i++) rc = jsto_start(s, &s->d[i]);
    if (rc) return rc;
    job_fault(job, "mirror");
    for (;;) {
        ready = 0;
        done = total = 0;
        for (i = 0; i < s->n; i++) {
            rc = smirror_poll(job->ctx, s->d[i].m, &st);
            if (rc) return rc;
            ready += st.ready;
            done += st.done;
            total += st.total;
        }
        if (ready == s->n) break;
        if (job_elapsed(job) - t_say >= JSTO_SAY_S) {
            t_say = job_elapsed(job);
            job_info(job, "disks: %llu of %llu MiB in sync",
                     (unsigned long long)(done >> 20),
                     (unsigned long long)(total >> 20));
        }
        if (job_cancel_within(job, JSTO_POLL_MS)) {
            job_info(job, "cancelled while mirroring the disks");
            return XLMIG_E_CANCELLED;
        }
    }
    if (s->n)
        job_info(job, "%u disk%s in sync after %.1f s (%llu MiB): every "
                 "write now goes to both", s->n, s->n == 1 ? "" : "s",
                 job_elapsed(job) - t0, (unsigned long long)(total >> 20));
    return XLMIG_OK;
}

int job_storage_hold(void *arg)
{
    struct job_storage *s = arg;
    double t0 = ctx_now(s->job->ctx);
    unsigned i;
    int rc;

    for (i = 0; i < s->n; i++) {
        rc = smirror_detach(s->job->ctx, s->d[i].m);
        if (rc) {
            LOG(s->job->ctx, ERROR, "disk %s: the copy could not be "
                "stopped in sync; the migration stops", s->d[i].jd->vdev);
            return rc;
        }
    }
    /* A copy whose last writes sit in this host's cache is not one the
     * destination can read: each goes to stable storage. */
    for (i = 0; i < s->n; i++) {
        rc = fdio_sync_file(s->job->ctx, s->d[i].jd->dst);
        if (rc) return rc;
    }
    /* The pump's thread: told later, from the job's (job_storage_held). */
    s->hold_s = ctx_now(s->job->ctx) - t0;
    return XLMIG_OK;
}

double job_storage_held(const struct job_storage *s)
{
    return s ? s->hold_s : 0;
}

bool job_storage_any(const struct job_storage *s)
{
    return s && s->n;
}

/* Ends the mirrors and removes the copies: before GO, or when the domain
 * came back. false if a disk could not be put back on its source alone. */
static bool jsto_back(struct xlmig_ctx *ctx, const struct journal_rec *j, struct job_sdisk *sd,
                      void (*say)(void *arg, const char *line), void *arg)
{
    const struct journal_disk *jd;
    bool ok = true;
    unsigned i;
    int rc;

    for (i = 0; i < j->n_disks; i++) {
        jd = &j->disks[i];
        if (sd && sd[i].m) rc = smirror_cancel(ctx, sd[i].m);
        else if (!strcmp(jd->mover, "qmp"))
            rc = smirror_qmp_abort_prop(ctx, jd->handle, jd->vdev,
                                        jsto_prop(jd));
        else
            rc = smirror_dm_abort(ctx, jd->handle, jd->src, jd->dst);
        /* The domain gone, its QEMU or dm device with it: nothing left. */
        if (rc == XLMIG_E_NOTFOUND) rc = XLMIG_OK;
        if (rc) {
            smove_sayf(say, arg, "disk %s: the mirror could not be ended; "
                       "%s kept", jd->vdev, jd->dst);
            ok = false;
            continue;
        }
        /* Not made (recover, without sd, removes what the journal names:
         * it was named before it was made). */
        if (sd && !sd[i].created) continue;
        rc = smove_remove_image(ctx, jd->dst);
        if (rc) ok = false;
        else smove_sayf(say, arg, "disk %s stays on %s; copy %s removed",
                        jd->vdev, jd->src, jd->dst);
    }
    return ok;
}

/* The domain runs on the copies elsewhere: the sources go (unless kept). */
static bool jsto_forward(struct xlmig_ctx *ctx, const struct journal_rec *j,
                         void (*say)(void *arg, const char *line), void *arg)
{
    const struct journal_disk *jd;
    bool ok = true;
    unsigned i;

    for (i = 0; i < j->n_disks; i++) {
        jd = &j->disks[i];
        if (j->keep) {
            smove_sayf(say, arg, "disk %s: the source %s is kept", jd->vdev,
                       jd->src);
        } else if (smove_remove_image(ctx, jd->src)) {
            ok = false;
        } else {
            smove_sayf(say, arg, "disk %s: runs from %s; source %s removed",
                       jd->vdev, jd->dst, jd->src);
        }
    }
    return ok;
}

static void jsto_say_info(void *arg, const char *line)
{
    job_info(arg, "%s", line);
}

bool job_storage_rollback(struct job_storage *s)
{
    bool ok;

    if (!job_storage_any(s)) return true;
    ok = jsto_back(s->job->ctx, &s->job->jr, s->d, jsto_say_info,
                   s->job);
    if (!ok)
        LOG(s->job->ctx, ERROR, "the disks' copies are not all gone: xlmig "
            "recover finishes it (the journal stays)");
    return ok;
}

bool job_storage_commit(struct job_storage *s)
{
    if (!job_storage_any(s)) return true;
    return jsto_forward(s->job->ctx, &s->job->jr, jsto_say_info, s->job);
}

void job_storage_free(struct job_storage *s)
{
    unsigned i;

    if (!s) return;
    for (i = 0; i < s->n; i++) smirror_free(s->job->ctx, s->d[i].m);
    if (s->slotted &&
        coord_slot_release(s->job->coord, s->job->id, COORD_STORAGE))
        LOG(s->job->ctx, WARN, "job %s: storage slot not released",
            s->job->id);
    free(s);
}

char *job_storage_image_of(const char *path)
{
    struct stat st;

    /* /dev/VG/LV is the name LVM keeps; a file, its real path. */
    if (!stat(path, &st) && S_ISBLK(st.st_mode)) return xstrdup(path);
    return realpath(path, NULL);
}

const char *job_storage_link_dir(void)
{
    const char *d = getenv("XLMIG_DISK_LINK_DIR");

    return d && *d == '/' ? d : JSTO_LINK_DIR;
}

int job_storage_real_paths(struct xlmig_ctx *ctx, char **json_io)
{
    const char *dir = job_storage_link_dir();
    struct domcfg c;
    struct stat st;
    char *why = NULL, *real, *cause = NULL;
    size_t i, n = strlen(dir);
    int rc;

    memset(&c, 0, sizeof(c));
    rc = domcfg_parse(*json_io, &c, &why);
    if (rc) {
        LOG(ctx, ERROR, "the domain's config: %s", why);
        goto out;
    }
    for (i = 0; i < c.n_disks && !rc; i++) {
        const char *p = c.disks[i].pdev_path;

        if (!p || strncmp(p, dir, n) || p[n] != '/' || lstat(p, &st) ||
            !S_ISLNK(st.st_mode))
            continue;
        real = realpath(p, NULL);
        if (!real) {
            LOGE(ctx, ERROR, "disk %s: %s", c.disks[i].vdev, p);
            rc = err_from_errno(errno);
            break;
        }
        rc = jsto_retarget(json_io, c.disks[i].vdev, real, &cause);
        if (rc) LOG(ctx, ERROR, "disk %s: the config: %s", c.disks[i].vdev,
                    cause);
        else LOG(ctx, DEBUG, "disk %s: %s goes as %s", c.disks[i].vdev, p,
                 real);
        free(cause);
        cause = NULL;
        free(real);
    }
out:
    free(why);
    domcfg_dispose(&c);
    return rc;
}

/* Disk d of domain name gets a stable name here: one that can move live
 * (block-xlmig's, or a qdisk), named by an absolute path outside the
 * links, name and vdev safe in a file name. */
static bool jsto_linkable(const char *name, const struct domcfg_disk *d,
                          const char *dir)
{
    size_t n = strlen(dir);

    return d->pdev_path && d->pdev_path[0] == '/' &&
           !(!strncmp(d->pdev_path, dir, n) && d->pdev_path[n] == '/') &&
           ((d->script && !strcmp(d->script, "block-xlmig")) ||
            (d->backend && !strcmp(d->backend, "qdisk"))) &&
           d->vdev && *d->vdev && strlen(d->vdev) < 16 &&
           strspn(d->vdev, "abcdefghijklmnopqrstuvwxyz0123456789") ==
               strlen(d->vdev) &&
           name[0] != '.' && !strchr(name, '/');
}

/* The link for disk d: made (its path appended to made) or found naming
 * the same image; NULL (logged) if there is none to use. */
static char *jsto_link(struct xlmig_ctx *ctx, const char *dir,
                       const char *name, const struct domcfg_disk *d,
                       struct job_links *made)
{
    char *link = xasprintf("%s/%s-%s", dir, name, d->vdev);
    char *real = realpath(d->pdev_path, NULL), *now = NULL;
    struct stat st;

    if (!real) goto fail;
    if (!lstat(link, &st)) {
        now = realpath(link, NULL);
        if (now && !strcmp(now, real)) goto out;
        LOG(ctx, WARN, "disk %s of %s: %s is there and names %s: the disk "
            "keeps its path %s", d->vdev, name, link, now ? now : "nothing",
            d->pdev_path);
        goto fail;
    }
    free(real);
    real = job_storage_image_of(d->pdev_path);
    if (!real || fdio_make_dirs(ctx, dir, 0755) ||
        smove_link_set(ctx, link, real))
        goto fail;
    made->v = xrealloc(made->v, (made->n + 1) * sizeof(*made->v));
    made->v[made->n++] = xstrdup(link);
    goto out;
fail:
    free(link);
    link = NULL;
out:
    free(real);
    free(now);
    return link;
}

void job_storage_relink(struct xlmig_ctx *ctx, const char *name,
                        char **json_io, struct job_links *made)
{
    const char *dir = job_storage_link_dir();
    struct domcfg c;
    char *why = NULL, *link, *cause = NULL;
    size_t i;

    memset(&c, 0, sizeof(c));
    if (domcfg_parse(*json_io, &c, &why)) goto out;
    for (i = 0; i < c.n_disks; i++) {
        if (!jsto_linkable(name, &c.disks[i], dir)) continue;
        link = jsto_link(ctx, dir, name, &c.disks[i], made);
        if (!link) continue;
        if (jsto_retarget(json_io, c.disks[i].vdev, link, &cause))
            LOG(ctx, WARN, "disk %s: %s; it keeps its path",
                c.disks[i].vdev, cause);
        else
            LOG(ctx, INFO, "disk %s: named %s (-> %s), so that it can move "
                "live here", c.disks[i].vdev, link, c.disks[i].pdev_path);
        free(cause);
        cause = NULL;
        free(link);
    }
out:
    free(why);
    domcfg_dispose(&c);
}

void job_storage_unlink(struct xlmig_ctx *ctx, struct job_links *made)
{
    size_t i;

    for (i = 0; i < made->n; i++)
        if (unlink(made->v[i]) < 0 && errno != ENOENT)
            LOGE(ctx, WARN, "remove %s", made->v[i]);
    job_links_dispose(made);
}

void job_links_dispose(struct job_links *l)
{
    size_t i;

    for (i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int job_storage_recover(struct xlmig_ctx *ctx, const struct journal_rec *j, bool forward,
                        void (*say)(void *arg, const char *line), void *arg)
{
    if (!j->n_disks) return XLMIG_OK;
    if (forward) return jsto_forward(ctx, j, say, arg) ? XLMIG_OK
                                                       : XLMIG_E_STORAGE;
    return jsto_back(ctx, j, NULL, say, arg) ? XLMIG_OK
                                                 : XLMIG_E_STORAGE;
}
