/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * storage-move.c - `xlmig storage-move`: moves one disk of a domain to
 * another SR by a sparse, verified copy, then points the domain at the
 * copy. A job like a migration: a record under /libxlmig/job (kind
 * storage), a storage admission slot, the domain's lock, a journal.
 *
 * phase       what happens                         a crash here leaves
 * admit       slot, lock, journal                  nothing
 * preflight   SR, room, formats, backing chains    nothing
 * transfer    offline: save to a file, destroy;    source in use; recover
 *             copy to SR/.xlmig-part-ID-NAME,      deletes the copy and
 *             verify, rename to SR/NAME            restores a saved domain
 * switchover  (no cancel from here) config file    the copy is complete:
 *             names the copy; offline: restore     recover finishes the
 *             the domain on it, unpause            switch
 * commit      remove the source (unless kept) and  recover removes them
 *             the save image
 * A failure before switchover rolls back: the partial copy is removed and
 * a saved domain is restored on its own disks. The config never names a
 * copy that is not complete and verified.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cfgfile.h"
#include "child.h"
#include "conf.h"
#include "domcfg.h"
#include "fdio.h"
#include "job.h"
#include "sr.h"
#include "storage-copy.h"
#include "storage-move.h"

#define SMOVE_LVM_TIMEOUT_S 120
#define SMOVE_CFG_MAX (1u << 20)
#define SMOVE_SLACK(b) ((b) / 100 + (16u << 20))  /* room beyond the copy */
/* For the downtime estimate of an offline move (a guess, said so). */
#define SMOVE_EST_SAVE_BPS (200.0 * 1024 * 1024)
#define SMOVE_EST_COPY_BPS (200.0 * 1024 * 1024)


/* ---- small helpers (shared with storage-recover.c) ---- */

bool smove_is_blockdev(const char *path)
{
    struct stat st;

    return !stat(path, &st) && S_ISBLK(st.st_mode);
}

static int smove_lvm(struct xlmig_ctx *ctx, const char *what,
                     char *const argv[])
{
    char *out = NULL;
    int rc;

    rc = child_capture(ctx, what, argv, 64u << 10, SMOVE_LVM_TIMEOUT_S, &out);
    free(out);
    return rc;
}

int smove_lv_change(struct xlmig_ctx *ctx, const char *path,
                    const char *what, const char *arg)
{
    char *argv[] = { (char *)"lvchange", (char *)what, (char *)arg,
                     (char *)path, NULL };

    if (!arg) {
        argv[2] = (char *)path;
        argv[3] = NULL;
    }
    return smove_lvm(ctx, "lvchange", argv);
}

int smove_lv_rename(struct xlmig_ctx *ctx, const char *from, const char *to)
{
    char *vg = xstrdup(from), *d = dirname(vg);
    char *argv[] = { (char *)"lvrename", strrchr(d, '/') + 1,
                     strrchr(from, '/') + 1, strrchr(to, '/') + 1, NULL };
    int rc;

    rc = smove_lvm(ctx, "lvrename", argv);
    free(vg);
    return rc;
}

int smove_remove_image(struct xlmig_ctx *ctx, const char *path)
{
    char *argv[] = { (char *)"lvremove", (char *)"-f", (char *)path, NULL };

    if (!path[0]) return XLMIG_OK;
    if (smove_is_blockdev(path)) return smove_lvm(ctx, "lvremove", argv);
    if (unlink(path) < 0 && errno != ENOENT) {
        LOGE(ctx, ERROR, "remove %s", path);
        return err_from_errno(errno);
    }
    return XLMIG_OK;
}

static int smove_cfg_read(struct xlmig_ctx *ctx, const char *cfg,
                          char **text_r)
{
    int rc = fdio_read_file(ctx, cfg, SMOVE_CFG_MAX, text_r);

    if (rc == XLMIG_E_NOTFOUND) LOG(ctx, ERROR, "%s: no such file", cfg);
    return rc;
}

int smove_cfg_names(struct xlmig_ctx *ctx, const char *cfg, const char *vdev,
                    const char *target, bool *yes_r)
{
    struct cfgfile_disk d = { NULL, NULL };
    char *text = NULL, *cause = NULL;
    int rc;

    *yes_r = false;
    rc = smove_cfg_read(ctx, cfg, &text);
    if (rc) goto out;
    rc = cfgfile_disk_get(text, strlen(text), vdev, &d, &cause);
    if (rc) {
        LOG(ctx, ERROR, "%s: disk %s: %s", cfg, vdev,
            cause ? cause : xlmig_strerror(rc));
        goto out;
    }
    *yes_r = !strcmp(d.target, target);
out:
    cfgfile_disk_dispose(&d);
    free(cause);
    free(text);
    return rc;
}

int smove_cfg_switch(struct xlmig_ctx *ctx, const char *cfg, const char *vdev,
                     const char *target, const char *fmt, bool *changed_r)
{
    char *text = NULL, *out = NULL, *cause = NULL;
    struct stat st;
    size_t len = 0;
    bool already;
    int rc;

    *changed_r = false;
    rc = smove_cfg_names(ctx, cfg, vdev, target, &already);
    if (rc || already) return rc;
    rc = smove_cfg_read(ctx, cfg, &text);
    if (rc) goto out;
    if (stat(cfg, &st) < 0) {
        LOGE(ctx, ERROR, "stat %s", cfg);
        rc = err_from_errno(errno);
        goto out;
    }
    rc = cfgfile_disk_retarget(text, strlen(text), vdev, target, fmt, &out,
                               &len, &cause);
    if (rc) {
        LOG(ctx, ERROR, "%s: cannot point disk %s at %s: %s", cfg, vdev,
            target, cause ? cause : xlmig_strerror(rc));
        goto out;
    }
    rc = fdio_write_file_as(ctx, cfg, out, len, &st);
    if (!rc) *changed_r = true;
out:
    free(cause);
    free(out);
    free(text);
    return rc;
}

int smove_restore(struct xlmig_ctx *ctx, struct hv *hv, const char *save,
                  const char *json, const char *name, bool paused,
                  uint32_t *domid_r)
{
    struct hv_wait w;
    uint32_t domid = HV_INVALID_DOMID;
    int fd, rc;

    *domid_r = HV_INVALID_DOMID;
    fd = open(save, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        LOGE(ctx, ERROR, "open the save image %s", save);
        return err_from_errno(errno);
    }
    hv_wait_init(&w);
    rc = hv_restore(hv, json, name, fd, &w, &domid);
    close(fd);
    if (rc) {
        LOG(ctx, ERROR, "domain %s not restored from %s", name, save);
        return rc;
    }
    rc = paused ? XLMIG_OK : hv_unpause(hv, domid);
    if (rc) {
        LOG(ctx, ERROR, "domain %s restored but not unpaused: destroyed",
            name);
        (void)!hv_destroy(hv, domid);
        return rc;
    }
    *domid_r = domid;
    return XLMIG_OK;
}

/* ---- the job ---- */

void smove_check(struct smove *m, bool ok, const char *id,
                 const char *remedy, const char *fmt, ...)
{
    struct xlmig_check_result r = {
        .severity = ok ? XLMIG_CHECK_INFO : XLMIG_CHECK_ERROR,
    };
    struct xlmig_event ev = { .type = XLMIG_EV_CHECK, .check = &r };
    char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0) abort();
    va_end(ap);
    snprintf(r.id, sizeof(r.id), "%s", id);
    r.message = msg;
    r.remedy = (char *)(remedy ? remedy : "");
    ev.phase = m->job.phase;
    ev.elapsed = job_elapsed(&m->job);
    if (!ok) job_why(&m->job, "%s", msg);
    /* The caller shows checks; without one, the log is the only place. */
    if (!ok && !m->o->event_fn)
        LOG(m->ctx, ERROR, "%s: %s%s%s", id, msg, remedy ? "; remedy: " : "",
            remedy ? remedy : "");
    if (m->o->event_fn) m->o->event_fn(m->o->event_arg, &ev);
    free(msg);
}

/* The new image's file name: the source's, with the extension of the new
 * format. LVs keep A-Z a-z 0-9 + _ . - only. */
static char *smove_base(const char *src, const char *fmt, bool lv)
{
    static const char *const exts[] = { ".img", ".raw", ".qcow2", ".qcow",
                                        ".vmdk", ".vhdx", ".vhd", ".vpc" };
    char *copy = xstrdup(src), *b = xstrdup(basename(copy)), *out, *p;
    size_t i, n = strlen(b), e;

    free(copy);
    for (i = 0; i < ARRAY_SIZE(exts); i++) {
        e = strlen(exts[i]);
        if (n > e && !strcmp(b + n - e, exts[i])) {
            b[n - e] = '\0';
            break;
        }
    }
    if (lv) {
        for (p = b; *p; p++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789+_.-", *p))
                *p = '_';
        if (b[0] == '-' || b[0] == '.') b[0] = '_';
        return b;
    }
    out = xasprintf("%s.%s", b, !strcmp(fmt, "qcow2") ? "qcow2" : "img");
    free(b);
    return out;
}

/* The domain and its config: running (o->domain) or halted (a file). */
static int smove_find_domain(struct smove *m)
{
    const struct xlmig_storage_opts *o = m->o;
    char *why = NULL, *name = NULL;
    uint32_t other;
    int rc;

    m->domid = HV_INVALID_DOMID;
    if (o->domain) {
        rc = hv_lookup(m->hv, o->domain, &m->domid);
        if (rc) {
            LOG(m->ctx, ERROR, "domain %s is not running here%s", o->domain,
                o->config_file ? "" : " (a halted domain: give its config "
                "file with --config)");
            return rc;
        }
        rc = hv_domain_name(m->hv, m->domid, &name);
        if (rc) return rc;
        snprintf(m->name, sizeof(m->name), "%s", name);
        free(name);
        rc = hv_config_get(m->hv, m->domid, 0, &m->json);
    } else {
        rc = hv_config_load(m->hv, o->config_file, 0, &m->json);
    }
    if (rc) return rc;
    rc = domcfg_parse(m->json, &m->cfg, &why);
    if (rc) {
        LOG(m->ctx, ERROR, "the domain's config: %s", why);
        free(why);
        return rc;
    }
    if (!o->domain) {
        snprintf(m->name, sizeof(m->name), "%s",
                 m->cfg.name ? m->cfg.name : "");
        if (m->cfg.name && !hv_lookup(m->hv, m->cfg.name, &other)) {
            LOG(m->ctx, ERROR, "domain %s of %s is running (domain %u): "
                "move it with xlmig storage-move --offline %s", m->name,
                o->config_file, other, m->name);
            return XLMIG_E_BUSY;
        }
    }
    return XLMIG_OK;
}

/* Sizes of the source image: virtual, and allocated (what a sparse copy
 * writes). */
int smove_sizes(struct smove *m, const char *src, const char *fmt)
{
    struct scopy_image img;
    int rc;

    if (strcmp(fmt, "raw")) {
        rc = scopy_image_info(m->ctx, src, fmt, &img);
        if (rc) return rc;
        m->size = img.virtual_size;
        m->data = img.actual_size;
        scopy_image_dispose(&img);
        return XLMIG_OK;
    }
    return scopy_raw_size(m->ctx, src, &m->size, &m->data);
}

/* A qcow2's backing files must all lie in its own SR (or its own dir):
 * anything else is refused, as are descriptor formats (vmdk). */
static int smove_check_chain(struct smove *m, const char *src,
                             const char *fmt)
{
    const struct sr *home = sr_of_path(m->srs, m->n_srs, src);
    struct scopy_image img;
    char *dir = NULL, *copy;
    size_t i, n;
    int rc;

    if (!strcmp(fmt, "raw")) return XLMIG_OK;
    rc = scopy_image_info(m->ctx, src, fmt, &img);
    if (rc) {
        smove_check(m, false, "disk-image", NULL,
                    "qemu-img cannot read %s as %s", src, fmt);
        return XLMIG_E_PREFLIGHT;
    }
    if (img.descriptor) {
        smove_check(m, false, "disk-image", "convert it to raw or qcow2 "
                    "first, by hand", "%s is a %s descriptor that can name "
                    "any file: refused", src, fmt);
        rc = XLMIG_E_PREFLIGHT;
        goto out;
    }
    copy = xstrdup(src);
    dir = xstrdup(dirname(copy));
    free(copy);
    n = strlen(dir);
    for (i = 0; i < img.n_chain; i++) {
        bool inside = home ? sr_of_path(m->srs, m->n_srs, img.chain[i]) ==
                                 home
                           : !strncmp(img.chain[i], dir, n) &&
                                 img.chain[i][n] == '/';

        if (!inside) {
            smove_check(m, false, "disk-image", "flatten the image first "
                        "(qemu-img convert) or put its backing files in "
                        "its SR", "%s has the backing file %s outside %s",
                        src, img.chain[i], home ? home->name : dir);
            rc = XLMIG_E_PREFLIGHT;
            goto out;
        }
    }
    smove_check(m, true, "disk-image", NULL, "%s: %s, %zu backing file%s, "
                "all in %s", src, fmt, img.n_chain,
                img.n_chain == 1 ? "" : "s", home ? home->name : dir);
out:
    free(dir);
    scopy_image_dispose(&img);
    return rc;
}

/* Where the copy goes: part (while made) and dst (complete) in the job's
 * journal record. */
static int smove_names(struct smove *m)
{
    struct journal_rec *jr = &m->job.jr;
    bool lv = m->to->type == SR_LVM;
    char *base = smove_base(jr->src, jr->dst_format, lv), *p, *d;
    int rc = XLMIG_OK;

    if (lv) {
        p = xasprintf("/dev/%s/" SMOVE_LV_PART_PREFIX "%s", m->to->loc,
                      m->job.id);
        d = sr_lv_path(m->to, base);
    } else {
        p = xasprintf("%s/" SMOVE_PART_PREFIX "%s-%s", m->to->loc, m->job.id,
                      base);
        d = xasprintf("%s/%s", m->to->loc, base);
    }
    if (strlen(p) >= sizeof(jr->part) || strlen(d) >= sizeof(jr->dst)) {
        LOG(m->ctx, ERROR, "the copy's path %s is too long", d);
        rc = XLMIG_E_TOOBIG;
    } else {
        strcpy(jr->part, p);
        strcpy(jr->dst, d);
    }
    free(p);
    free(d);
    free(base);
    return rc;
}

/* Room for what we write in the SR: the copy and maybe the save image. */
int smove_check_room(struct smove *m)
{
    struct journal_rec *jr = &m->job.jr;
    uint64_t need = m->data, size = 0, fr = 0, mem;
    bool same_fmt = !strcmp(jr->src_format, jr->dst_format);
    struct stat a, b;
    int rc;

    if (m->to->type == SR_LVM) need = m->size;
    else if (!same_fmt || strcmp(jr->src_format, "raw")) {
        rc = scopy_measure(m->ctx, jr->src, jr->src_format, jr->dst_format,
                           &need);
        if (rc) {
            smove_check(m, false, "sr-space", NULL, "qemu-img measure of "
                        "%s failed", jr->src);
            return XLMIG_E_PREFLIGHT;
        }
    }
    if (jr->offline) {
        /* The save image: in the SR's filesystem it adds to the copy. */
        char *copy = xstrdup(jr->save);
        struct statvfs v;

        mem = m->cfg.max_memkb * 1024;
        if (!stat(dirname(copy), &b) && m->to->type == SR_DIR &&
            !stat(m->to->loc, &a) && a.st_dev == b.st_dev)
            need += mem;
        else if (statvfs(copy, &v) ||
                 (uint64_t)v.f_bavail * v.f_frsize < mem + SMOVE_SLACK(mem)) {
            smove_check(m, false, "save-space", "give --save-dir DIR with "
                        "room for the guest's memory", "%s has no room for "
                        "the %llu MiB save image", copy,
                        (unsigned long long)(mem >> 20));
            free(copy);
            return XLMIG_E_PREFLIGHT;
        }
        free(copy);
    }
    rc = sr_space(m->ctx, m->to, &size, &fr);
    if (rc) return XLMIG_E_PREFLIGHT;
    if (fr < need + (m->to->type == SR_LVM ? 0 : SMOVE_SLACK(need))) {
        smove_check(m, false, "sr-space", "free space in the SR or pick "
                    "another", "SR %s has %llu MiB free; the copy needs "
                    "%llu MiB", m->to->name,
                    (unsigned long long)(fr >> 20),
                    (unsigned long long)(need >> 20));
        return XLMIG_E_PREFLIGHT;
    }
    smove_check(m, true, "sr-space", NULL, "SR %s: %llu MiB free, the copy "
                "needs %llu MiB", m->to->name, (unsigned long long)(fr >> 20),
                (unsigned long long)(need >> 20));
    return XLMIG_OK;
}

/* The offline move's save image and its config, in save_dir, the target
 * SR (dir), or the state directory. */
static int smove_save_names(struct smove *m)
{
    struct journal_rec *jr = &m->job.jr;
    const char *dir = m->o->save_dir ? m->o->save_dir
                      : m->to->type == SR_DIR ? m->to->loc
                                              : journal_dir();
    char *p = xasprintf("%s/" SMOVE_SAVE_PREFIX "%s-%s", dir, m->job.id,
                        m->name);

    if (strlen(p) + strlen(SMOVE_CONFIG_SUFFIX) >= sizeof(jr->save)) {
        LOG(m->ctx, ERROR, "the save image's path %s is too long", p);
        free(p);
        return XLMIG_E_TOOBIG;
    }
    strcpy(jr->save, p);
    free(p);
    return XLMIG_OK;
}

static int smove_preflight(struct smove *m)
{
    struct journal_rec *jr = &m->job.jr;
    const struct sr *from;
    char uuid[SR_UUID_MAX], *why = NULL;
    int rc;

    job_phase(&m->job, XLMIG_PHASE_PREFLIGHT, "checks");
    if (m->live) {
        rc = smove_live_preflight(m);
        if (rc) return rc;
    }
    if (m->disk->is_cdrom || !m->disk->pdev_path || !*m->disk->pdev_path) {
        smove_check(m, false, "disk", NULL, "disk %s of %s is a CD-ROM or "
                    "empty: nothing to move", jr->vdev, m->name);
        return XLMIG_E_PREFLIGHT;
    }
    if (m->disk->backend_domname) {
        smove_check(m, false, "disk", NULL, "disk %s of %s is served by "
                    "driver domain %s: not moved from dom0", jr->vdev,
                    m->name, m->disk->backend_domname);
        return XLMIG_E_PREFLIGHT;
    }
    if (m->disk->backend && !strcmp(m->disk->backend, "phy") &&
        strcmp(jr->dst_format, "raw")) {
        smove_check(m, false, "disk-format", "keep it raw, or change the "
                    "disk to backendtype=qdisk first", "disk %s is "
                    "attached by blkback (phy), which takes raw images "
                    "only", jr->vdev);
        return XLMIG_E_PREFLIGHT;
    }
    if (m->to->type == SR_LVM && strcmp(jr->dst_format, "raw")) {
        smove_check(m, false, "disk-format", "use --format raw",
                    "SR %s is an LVM VG: it holds raw volumes only",
                    m->to->name);
        return XLMIG_E_PREFLIGHT;
    }
    rc = sr_identity(m->ctx, m->to, uuid, &why);
    if (rc) {
        smove_check(m, false, "sr", "run xlmig sr-create on the SR once",
                    "SR %s is not usable here: %s", m->to->name, why);
        free(why);
        return XLMIG_E_PREFLIGHT;
    }
    rc = sr_writable(m->ctx, m->to, &why);
    if (rc) {
        smove_check(m, false, "sr", NULL, "SR %s: %s", m->to->name, why);
        free(why);
        return XLMIG_E_PREFLIGHT;
    }
    smove_check(m, true, "sr", NULL, "SR %s (%s %s) is %s here, writable",
                m->to->name, sr_type_name(m->to->type), m->to->loc, uuid);
    from = sr_of_path(m->srs, m->n_srs, jr->src);
    if (from == m->to) {
        smove_check(m, false, "sr", "pick another SR", "disk %s (%s) is in "
                    "SR %s already", jr->vdev, jr->src, m->to->name);
        return XLMIG_E_PREFLIGHT;
    }
    rc = smove_check_chain(m, jr->src, jr->src_format);
    if (rc) return rc;
    rc = smove_sizes(m, jr->src, jr->src_format);
    if (rc) return XLMIG_E_PREFLIGHT;
    /* dm mirror copies every region: the copy is not sparse. */
    if (m->live && m->how.mover == HV_DISK_MOVER_DM) m->data = m->size;
    if (access(jr->dst, F_OK) == 0) {
        smove_check(m, false, "sr-target", "remove or rename it", "%s "
                    "exists already", jr->dst);
        return XLMIG_E_PREFLIGHT;
    }
    return smove_check_room(m);
}

/* ---- copying ---- */

/* Progress from the copier: record, caller, and cancel requests (the
 * copier watches one fd; ours and job-cancel's are forwarded to it). */
void smove_progress(void *arg, uint64_t done, uint64_t total)
{
    struct smove *m = arg;
    struct xlmig_storage_progress p = { .done = done, .total = total,
                                        .eta_s = -1 };
    double now = job_elapsed(&m->job);
    char text[160];
    int i;

    for (i = 0; i < FDIO_CANCEL_FDS && !m->cancel_sent; i++)
        if (fdio_readable(m->job.wait.cancel_fds[i])) {
            m->cancel_sent = true;
            if (write(m->cancel[1], "c", 1) < 0)
                LOG(m->ctx, WARN, "cannot forward a cancel to the copy");
        }
    if (now > m->last_t && done >= m->last_done)
        p.rate = (double)(done - m->last_done) / (now - m->last_t);
    if (p.rate > 0 && total >= done) p.eta_s = (double)(total - done) / p.rate;
    m->last_done = done;
    m->last_t = now;
    snprintf(text, sizeof(text), "%llu of %llu MiB, %.1f MiB/s",
             (unsigned long long)(done >> 20),
             (unsigned long long)(total >> 20), p.rate / (1 << 20));
    if (m->job.coord) (void)!coord_job_set(m->job.coord, m->job.id,
                                           "progress", text);
    if (m->o->progress_fn) m->o->progress_fn(m->o->event_arg, &p);
}

/* Makes the target LV, tagged with the job, active here alone (-aey). */
int smove_lv_create(struct smove *m)
{
    struct journal_rec *jr = &m->job.jr;
    char size[32], tag[64], *vglv;
    char *create[] = { (char *)"lvcreate", (char *)"-y", (char *)"-Wn",
                       (char *)"-L", size, (char *)"-n", NULL,
                       (char *)"--addtag", tag, (char *)m->to->loc, NULL };
    char *act[] = { (char *)"lvchange", (char *)"-aey", NULL, NULL };
    int rc;

    snprintf(size, sizeof(size), "%llub", (unsigned long long)m->size);
    snprintf(tag, sizeof(tag), SMOVE_LV_TAG_PREFIX "%s", m->job.id);
    vglv = xasprintf("%s/%s", m->to->loc, strrchr(jr->part, '/') + 1);
    create[6] = strrchr(jr->part, '/') + 1;
    act[2] = vglv;
    rc = smove_lvm(m->ctx, "lvcreate", create);
    if (!rc) rc = smove_lvm(m->ctx, "lvchange -aey", act);
    free(vglv);
    return rc;
}

/* The complete copy takes its name: part -> dst, never over a file. */
int smove_name_copy(struct smove *m)
{
    struct journal_rec *jr = &m->job.jr;

    if (m->to->type == SR_LVM) return smove_lv_rename(m->ctx, jr->part, jr->dst);
    /* 9p and NFS have no RENAME_NOREPLACE: link, which never replaces
     * either, then drop the old name. */
    if (!renameat2(AT_FDCWD, jr->part, AT_FDCWD, jr->dst, RENAME_NOREPLACE))
        return fdio_sync_dir(m->ctx, m->to->loc);
    if (errno != EINVAL || link(jr->part, jr->dst) < 0) {
        LOGE(m->ctx, ERROR, "rename %s to %s", jr->part, jr->dst);
        return err_from_errno(errno);
    }
    m->copied = true;           /* dst is ours: a rollback removes it */
    if (unlink(jr->part) < 0) {
        LOGE(m->ctx, ERROR, "remove %s", jr->part);
        return err_from_errno(errno);
    }
    return fdio_sync_dir(m->ctx, m->to->loc);
}

static int smove_copy(struct smove *m)
{
    struct journal_rec *jr = &m->job.jr;
    struct scopy_opts so = { .bandwidth = m->o->bandwidth,
                             .progress = smove_progress, .arg = m };
    struct scopy_result sr = { 0 };
    bool convert = strcmp(jr->src_format, jr->dst_format) ||
                   strcmp(jr->src_format, "raw");
    int rc;

    if (pipe2(m->cancel, O_CLOEXEC) < 0) {
        LOGE(m->ctx, ERROR, "pipe");
        return XLMIG_E_SYSTEM;
    }
    so.cancel_fd = m->cancel[0];
    if (m->to->type == SR_LVM) {
        rc = smove_lv_create(m);
        if (rc) goto out;
    }
    job_info(&m->job, "copying %s (%llu MiB, %llu MiB allocated) to %s",
             jr->src, (unsigned long long)(m->size >> 20),
             (unsigned long long)(m->data >> 20), jr->part);
    rc = convert ? scopy_convert(m->ctx, jr->src, jr->src_format, jr->part,
                                 jr->dst_format, &so, &sr)
                 : scopy_raw(m->ctx, jr->src, jr->part, &so, &sr);
    m->res->size = sr.size;
    m->res->data = sr.data;
    m->res->written = sr.written;
    m->res->copy_s = sr.copy_s;
    m->res->verify_s = sr.verify_s;
    if (rc) goto out;
    job_info(&m->job, "copied and verified by %s: %llu bytes written in "
             "%.1f s, verified in %.1f s", sr.method,
             (unsigned long long)sr.written, sr.copy_s, sr.verify_s);
    rc = smove_name_copy(m);
    if (!rc) m->copied = true;
out:
    fdio_close_pair(m->cancel);
    return rc;
}

/* ---- offline: save and restore ---- */

static int smove_save(struct smove *m)
{
    struct journal_rec *jr = &m->job.jr;
    char *cfgpath = xasprintf("%s" SMOVE_CONFIG_SUFFIX, jr->save);
    struct hv_wait w;
    bool resumed;
    int fd = -1, rc;

    /* The config first: recover restores from the pair. */
    rc = fdio_write_file(m->ctx, cfgpath, m->json, strlen(m->json));
    if (rc) goto out;
    fd = open(jr->save, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd < 0) {
        LOGE(m->ctx, ERROR, "create the save image %s", jr->save);
        rc = err_from_errno(errno);
        goto out;
    }
    job_info(&m->job, "saving %s to %s (the guest stops now)", m->name,
             jr->save);
    job_hv_wait(&m->job, &w);
    rc = hv_save(m->hv, m->domid, fd, 0, &w);
    if (!rc && fdatasync(fd) < 0) {
        LOGE(m->ctx, ERROR, "fdatasync %s", jr->save);
        rc = err_from_errno(errno);
    }
    if (rc) {
        if (hv_resume_if_suspended(m->hv, m->domid, &resumed))
            LOG(m->ctx, ERROR, "domain %s could not be resumed after the "
                "failed save: run xlmig recover", m->name);
        goto out;
    }
    m->saved = true;
    jr->suspended = true;
    rc = job_journal(&m->job);
    if (rc) goto out;
    rc = hv_destroy(m->hv, m->domid);
    if (rc) goto out;
    m->destroyed = true;
out:
    if (fd >= 0) close(fd);
    free(cfgpath);
    return rc;
}

/* Rollback of an offline move before the switch: the guest back on its
 * own disks, from the save image (or resumed, if never destroyed). */
static void smove_unsave(struct smove *m)
{
    struct journal_rec *jr = &m->job.jr;
    char *cfgpath = xasprintf("%s" SMOVE_CONFIG_SUFFIX, jr->save);
    bool resumed;
    uint32_t domid;

    if (m->saved && !m->destroyed &&
        hv_resume_if_suspended(m->hv, m->domid, &resumed))
        LOG(m->ctx, ERROR, "domain %s not resumed: run xlmig recover",
            m->name);
    if (m->destroyed) {
        if (smove_restore(m->ctx, m->hv, jr->save, m->json, m->name,
                          jr->paused, &domid)) {
            LOG(m->ctx, ERROR, "domain %s is saved in %s and could not be "
                "restored: run xlmig recover", m->name, jr->save);
            free(cfgpath);
            return;     /* keep the image and the journal */
        }
        m->res->domid = domid;
        job_info(&m->job, "%s restored on its own disks (domain %u)",
                 m->name, domid);
    }
    if (smove_remove_image(m->ctx, jr->save) ||
        smove_remove_image(m->ctx, cfgpath))
        LOG(m->ctx, WARN, "save image %s not removed", jr->save);
    free(cfgpath);
}

/* ---- switch and commit ---- */

int smove_go(struct smove *m, const char *why)
{
    struct journal_rec *jr = &m->job.jr;
    int rc;

    rc = job_no_more_cancel(&m->job, why);
    if (rc) return rc;
    job_phase(&m->job, XLMIG_PHASE_SWITCHOVER, "to %s", jr->dst);
    jr->go = true;
    rc = job_journal(&m->job);
    if (rc) {
        /* not durable: nothing switched, so roll back */
        jr->go = false;
        return rc;
    }
    job_fault(&m->job, "go");
    return XLMIG_OK;
}

static int smove_switch(struct smove *m)
{
    struct journal_rec *jr = &m->job.jr;
    char *json = NULL, *cause = NULL;
    size_t len;
    bool changed;
    uint32_t domid;
    int rc;

    rc = smove_go(m, "the domain is switching to the copy");
    if (rc) return rc;
    if (jr->cfg[0]) {
        rc = smove_cfg_switch(m->ctx, jr->cfg, jr->vdev, jr->dst,
                              strcmp(jr->src_format, jr->dst_format)
                                  ? jr->dst_format : NULL, &changed);
        if (rc) return rc;
        job_info(&m->job, "%s names %s now", jr->cfg, jr->dst);
    }
    m->res->switched = true;
    if (m->domid == HV_INVALID_DOMID) return XLMIG_OK;
    rc = cfgfile_disk_retarget(m->json, strlen(m->json), jr->vdev, jr->dst,
                               strcmp(jr->src_format, jr->dst_format)
                                   ? jr->dst_format : NULL,
                               &json, &len, &cause);
    if (rc) {
        LOG(m->ctx, ERROR, "the domain's config: %s", cause);
        goto out;
    }
    rc = smove_restore(m->ctx, m->hv, jr->save, json, m->name, jr->paused,
                       &domid);
    if (rc) goto out;
    m->restored = true;
    m->res->domid = domid;
    job_info(&m->job, "%s runs on %s (domain %u)", m->name, jr->dst, domid);
out:
    free(cause);
    free(json);
    return rc;
}

static int smove_commit(struct smove *m)
{
    struct journal_rec *jr = &m->job.jr;
    char *cfgpath;
    int rc = XLMIG_OK;

    job_phase(&m->job, XLMIG_PHASE_COMMIT, "%s", jr->keep ? "source kept"
                                                         : "source removed");
    rc = job_journal(&m->job);
    if (rc) return rc;
    job_fault(&m->job, "commit-files");
    if (m->to->type == SR_LVM) {
        char *tag = xasprintf(SMOVE_LV_TAG_PREFIX "%s", m->job.id);

        if (smove_lv_change(m->ctx, jr->dst, "--deltag", tag))
            LOG(m->ctx, WARN, "%s keeps its tag %s", jr->dst, tag);
        free(tag);
    }
    if (!jr->keep) rc = smove_remove_image(m->ctx, jr->src);
    if (jr->save[0]) {
        cfgpath = xasprintf("%s" SMOVE_CONFIG_SUFFIX, jr->save);
        if (smove_remove_image(m->ctx, jr->save) ||
            smove_remove_image(m->ctx, cfgpath))
            rc = XLMIG_E_STORAGE;
        free(cfgpath);
    }
    return rc;
}

/* ---- the whole ---- */

static int smove_setup(struct smove *m)
{
    const struct xlmig_storage_opts *o = m->o;
    struct journal_rec *jr;
    char *cause = NULL;
    size_t i;
    int rc;

    if (!o->vdev || !o->sr || (!o->domain && !o->config_file)) {
        LOG(m->ctx, ERROR, "a storage move needs a domain or --config, a "
            "disk and an SR");
        return XLMIG_E_INVAL;
    }
    if (o->format && strcmp(o->format, "raw") && strcmp(o->format, "qcow2")) {
        LOG(m->ctx, ERROR, "format %s: only raw and qcow2 are written",
            o->format);
        return XLMIG_E_INVAL;
    }
    rc = sr_load(m->ctx, &m->srs, &m->n_srs, &cause);
    if (rc) {
        LOG(m->ctx, ERROR, "%s", cause);
        free(cause);
        return rc;
    }
    m->to = sr_find(m->srs, m->n_srs, o->sr);
    if (!m->to) {
        LOG(m->ctx, ERROR, "no SR %s is declared in %s (xlmig sr-list)",
            o->sr, conf_path());
        return XLMIG_E_NOTFOUND;
    }
    rc = ctx_hv(m->ctx, &m->hv);
    if (rc) return rc;
    rc = smove_find_domain(m);
    if (rc) return rc;
    for (i = 0; i < m->cfg.n_disks && !m->disk; i++)
        if (m->cfg.disks[i].vdev && !strcmp(m->cfg.disks[i].vdev, o->vdev))
            m->disk = &m->cfg.disks[i];
    if (!m->disk) {
        LOG(m->ctx, ERROR, "domain %s has no disk %s", m->name, o->vdev);
        return XLMIG_E_NOTFOUND;
    }
    m->job.kind = "storage";
    rc = job_register(&m->job, "move", m->name, m->cfg.uuid[0] ? m->cfg.uuid
                                                               : NULL, "");
    if (rc) return rc;
    snprintf(m->res->job, sizeof(m->res->job), "%s", m->job.id);
    jr = &m->job.jr;
    jr->domid = m->domid;
    jr->keep = o->keep_source;
    jr->offline = m->domid != HV_INVALID_DOMID && o->offline;
    if (jr->offline) {
        struct hv_dominfo info;

        rc = hv_domain_info(m->hv, m->domid, &info);
        if (rc) return rc;
        jr->paused = info.paused;   /* and so it is left after the move */
    }
    if (strlen(o->vdev) >= sizeof(jr->vdev) ||
        strlen(m->disk->pdev_path) >= sizeof(jr->src) ||
        (o->config_file && strlen(o->config_file) >= sizeof(jr->cfg))) {
        LOG(m->ctx, ERROR, "a path or name is too long for the journal");
        return XLMIG_E_TOOBIG;
    }
    strcpy(jr->vdev, o->vdev);
    strcpy(jr->src, m->disk->pdev_path);
    if (o->config_file) strcpy(jr->cfg, o->config_file);
    snprintf(jr->src_format, sizeof(jr->src_format), "%s",
             m->disk->format && strcmp(m->disk->format, "empty")
                 ? m->disk->format : "raw");
    snprintf(jr->dst_format, sizeof(jr->dst_format), "%s",
             o->format ? o->format
             : !strcmp(jr->src_format, "qcow2") ? "qcow2" : "raw");
    if (m->domid != HV_INVALID_DOMID && !o->offline) {
        rc = smove_live_setup(m);
        if (rc) return rc;
    }
    snprintf(m->res->source, sizeof(m->res->source), "%s", jr->src);
    rc = smove_names(m);
    if (!rc && jr->offline) rc = smove_save_names(m);
    if (rc) return rc;
    if (jr->cfg[0]) {
        bool names;

        rc = smove_cfg_names(m->ctx, jr->cfg, jr->vdev, jr->src, &names);
        if (rc) return rc;
        if (!names) {
            LOG(m->ctx, ERROR, "%s: disk %s does not name %s, the disk the "
                "domain has", jr->cfg, jr->vdev, jr->src);
            return XLMIG_E_INVAL;
        }
    }
    return XLMIG_OK;
}

static void smove_dispose(struct smove *m)
{
    smirror_free(m->ctx, m->mirror);
    free(m->json);
    domcfg_dispose(&m->cfg);
    free(m->srs);
}

int xlmig_storage_move(struct xlmig_ctx *ctx,
                       const struct xlmig_storage_opts *o,
                       struct xlmig_storage_result *res)
{
    struct xlmig_storage_result dummy;
    struct smove m = { .ctx = ctx, .o = o, .cancel = { -1, -1 } };
    struct journal_rec *jr = &m.job.jr;
    bool keep_journal = false, begun = false;
    int rc;

    m.res = res ? res : &dummy;
    memset(m.res, 0, sizeof(*m.res));
    m.res->domid = HV_INVALID_DOMID;
    job_init(&m.job, ctx, o->event_fn, o->event_arg, 0, o->cancel_fd);
    job_phase(&m.job, XLMIG_PHASE_ADMIT, NULL);
    rc = smove_setup(&m);
    if (rc) goto out;
    rc = job_admit(&m.job, COORD_STORAGE, o->no_wait, 0, -1);
    if (rc) goto out;
    job_fault(&m.job, "admit");
    rc = smove_preflight(&m);
    if (rc) goto out;
    snprintf(m.res->target, sizeof(m.res->target), "%s", jr->dst);
    begun = true;
    /* Never fails: not a pre-event. */
    (void)!job_hook(&m.job, HOOKS_STORAGE_BEGIN, "local", XLMIG_OK,
                    m.res->domid == HV_INVALID_DOMID ? HOOKS_NO_DOMID
                                                     : m.res->domid, NULL);
    job_phase(&m.job, XLMIG_PHASE_TRANSFER, "to %s", jr->dst);
    rc = job_journal(&m.job);
    if (rc) goto out;
    job_fault(&m.job, "transfer");
    if (jr->offline) {
        rc = smove_save(&m);
        if (rc) goto out;
        job_fault(&m.job, "saved");
    }
    rc = m.live ? smove_live_copy(&m) : smove_copy(&m);
    if (rc) goto out;
    job_fault(&m.job, "copied");
    rc = m.live ? smove_live_switch(&m) : smove_switch(&m);
    if (rc) goto out;
    job_fault(&m.job, "switched");
    rc = smove_commit(&m);
    if (rc) {
        LOG(ctx, WARN, "the domain uses %s; the source %s was not removed",
            jr->dst, jr->src);
        rc = XLMIG_OK;
    }
    job_phase(&m.job, XLMIG_PHASE_DONE, "%s", jr->dst);
out:
    m.res->total_s = job_elapsed(&m.job);
    if (rc && jr->go) {
        /* Past the switch: the copy is complete; recover finishes it. */
        LOG(ctx, ERROR, "the switch to %s did not finish: run xlmig "
            "recover", jr->dst);
        keep_journal = true;
        rc = XLMIG_E_UNSAFE;
    } else if (rc && m.job.jr.id[0]) {
        job_failed(&m.job, rc);
        job_phase(&m.job, XLMIG_PHASE_ROLLBACK, "%s", xlmig_strerror(rc));
        /* The mirror first: the copy is removed once nothing uses it. */
        if (m.live && !smove_live_rollback(&m)) keep_journal = true;
        else if (jr->part[0] && smove_remove_image(ctx, jr->part))
            keep_journal = true;
        if (m.copied && smove_remove_image(ctx, jr->dst)) keep_journal = true;
        if (jr->offline) smove_unsave(&m);
        if (m.destroyed && m.res->domid == HV_INVALID_DOMID)
            keep_journal = true;
        if (keep_journal) rc = XLMIG_E_UNSAFE;
    }
    if (begun)
        (void)!job_hook(&m.job, HOOKS_STORAGE_END, "local", rc,
                        m.res->domid == HV_INVALID_DOMID ? HOOKS_NO_DOMID
                                                         : m.res->domid,
                        NULL);
    job_unregister(&m.job, keep_journal);
    smove_dispose(&m);
    return rc;
}

int xlmig_storage_estimate(struct xlmig_ctx *ctx,
                           const struct xlmig_storage_opts *o,
                           uint64_t *size_r, uint64_t *data_r,
                           double *seconds_r)
{
    struct xlmig_storage_result res;
    struct smove m = { .ctx = ctx, .o = o, .res = &res };
    const char *fmt;
    size_t i;
    int rc;

    *size_r = *data_r = 0;
    *seconds_r = 0;
    m.job.ctx = ctx;
    rc = ctx_hv(ctx, &m.hv);
    if (!rc) rc = smove_find_domain(&m);
    if (rc) goto out;
    for (i = 0; i < m.cfg.n_disks && !m.disk; i++)
        if (m.cfg.disks[i].vdev && o->vdev &&
            !strcmp(m.cfg.disks[i].vdev, o->vdev))
            m.disk = &m.cfg.disks[i];
    if (!m.disk || !m.disk->pdev_path) {
        LOG(ctx, ERROR, "domain %s has no disk %s", m.name,
            o->vdev ? o->vdev : "");
        rc = XLMIG_E_NOTFOUND;
        goto out;
    }
    fmt = m.disk->format && strcmp(m.disk->format, "empty") ? m.disk->format
                                                            : "raw";
    rc = smove_sizes(&m, m.disk->pdev_path, fmt);
    if (rc) goto out;
    *size_r = m.size;
    *data_r = m.data;
    *seconds_r = 2.0 * (double)m.cfg.max_memkb * 1024 / SMOVE_EST_SAVE_BPS +
                 (double)m.data / SMOVE_EST_COPY_BPS + 2.0;
out:
    smove_dispose(&m);
    return rc;
}
