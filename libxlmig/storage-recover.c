/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * storage-recover.c - `xlmig recover` for storage moves: from a move's
 * journal (storage-move.c has the phase table), exactly one usable disk
 * and, for an offline move, the domain running once:
 *   admit, preflight   nothing was changed
 *   transfer           the source is in use: the copy (part or complete)
 *                      is deleted; a saved domain is resumed if it still
 *                      exists suspended, else restored from its save image
 *                      on its own disks
 *   switchover         the copy is complete and verified: the config file
 *                      is made to name it; an offline domain runs on it
 *                      (a half-restored one is destroyed and restored again)
 *   commit             the source (unless kept) and the save image go
 * Leftovers of moves without a journal (SR/.xlmig-part-ID-*, save images)
 * are removed: a journal is removed only after its files.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgfile.h"
#include "domcfg.h"
#include "fdio.h"
#include "journal.h"
#include "sr.h"
#include "storage-move.h"

struct srec {
    struct xlmig_ctx *ctx;
    struct hv *hv;
    const struct journal_rec *j;
    void (*say)(void *arg, const char *line);
    void *arg;
};

void smove_sayf(void (*say)(void *arg, const char *line), void *arg,
                const char *fmt, ...)
{
    char *line = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&line, fmt, ap) < 0) line = NULL;
    va_end(ap);
    if (line && say) say(arg, line);
    free(line);
}

#define srec_say(r, ...) smove_sayf((r)->say, (r)->arg, __VA_ARGS__)

/* The domain of the journal's uuid here, or HV_INVALID_DOMID. */
static uint32_t srec_find(struct srec *r, bool *paused_r)
{
    struct hv_domain *list = NULL;
    char u[HV_UUID_STR_LEN];
    uint32_t found = HV_INVALID_DOMID;
    size_t n = 0, i;

    *paused_r = false;
    if (!r->j->uuid[0] || hv_list(r->hv, &list, &n)) return found;
    for (i = 0; i < n; i++) {
        hv_uuid_str(list[i].info.uuid, u);
        if (!strcmp(u, r->j->uuid)) {
            found = list[i].domid;
            *paused_r = list[i].info.paused;
        }
    }
    hv_list_free(list, n);
    return found;
}

static int srec_remove(struct srec *r, const char *path, const char *what)
{
    int rc;

    if (!path[0] || (access(path, F_OK) && errno == ENOENT)) return XLMIG_OK;
    rc = smove_remove_image(r->ctx, path);
    if (!rc) srec_say(r, "%s: removed %s %s", r->j->id, what, path);
    return rc;
}

static int srec_remove_save(struct srec *r)
{
    char *cfg;
    int rc;

    if (!r->j->save[0]) return XLMIG_OK;
    cfg = xasprintf("%s" SMOVE_CONFIG_SUFFIX, r->j->save);
    rc = srec_remove(r, r->j->save, "the save image");
    if (!rc) rc = srec_remove(r, cfg, "the saved config");
    free(cfg);
    return rc;
}

/*
 * An offline move's domain from the save image, with its config pointed
 * at target (NULL: as saved).
 */
static int srec_restore(struct srec *r, const char *target)
{
    const struct journal_rec *j = r->j;
    char *cfgpath = xasprintf("%s" SMOVE_CONFIG_SUFFIX, j->save);
    char *json = NULL, *moved = NULL, *cause = NULL;
    uint32_t domid;
    size_t len;
    int rc;

    rc = fdio_read_file(r->ctx, cfgpath, 1u << 20, &json);
    if (rc) {
        srec_say(r, "%s: %s: the saved config cannot be read; domain %s "
                 "is saved in %s", j->id, cfgpath, j->name, j->save);
        goto out;
    }
    if (target) {
        rc = cfgfile_disk_retarget(json, strlen(json), j->vdev, target,
                                   strcmp(j->src_format, j->dst_format)
                                       ? j->dst_format : NULL,
                                   &moved, &len, &cause);
        if (rc) {
            srec_say(r, "%s: the saved config: %s", j->id, cause);
            goto out;
        }
    }
    rc = smove_restore(r->ctx, r->hv, j->save, moved ? moved : json, j->name,
                       j->paused, &domid);
    if (rc) {
        srec_say(r, "%s: domain %s could not be restored from %s", j->id,
                 j->name, j->save);
        goto out;
    }
    srec_say(r, "%s: domain %s restored from %s on %s (domain %u)", j->id,
             j->name, j->save, target ? target : j->src, domid);
out:
    free(cause);
    free(moved);
    free(json);
    free(cfgpath);
    return rc;
}

/* Before the switch: back to the source. */
static int srec_back(struct srec *r)
{
    const struct journal_rec *j = r->j;
    bool paused, resumed;
    uint32_t domid;
    int rc;

    rc = srec_remove(r, j->part, "the partial copy");
    if (!rc) rc = srec_remove(r, j->dst, "the unused copy");
    if (rc) return rc;
    if (!j->offline) return XLMIG_OK;
    domid = srec_find(r, &paused);
    if (domid != HV_INVALID_DOMID) {
        rc = hv_resume_if_suspended(r->hv, domid, &resumed);
        if (rc) return rc;
        if (resumed) srec_say(r, "%s: domain %s resumed", j->id, j->name);
        if (paused && !resumed && !j->paused) {
            /* restored by us (rollback) but never unpaused */
            rc = hv_unpause(r->hv, domid);
            if (rc) return rc;
            srec_say(r, "%s: domain %s unpaused", j->id, j->name);
        }
    } else if (j->suspended) {
        rc = srec_restore(r, NULL);
        if (rc) return rc;
    }
    return srec_remove_save(r);
}

/* After the switch began: forward to the copy. */
static int srec_forward(struct srec *r)
{
    const struct journal_rec *j = r->j;
    const char *fmt = strcmp(j->src_format, j->dst_format) ? j->dst_format
                                                           : NULL;
    bool changed, paused;
    uint32_t domid;
    int rc;

    if (access(j->dst, F_OK)) {
        srec_say(r, "%s: the copy %s is gone; the config is left as it is",
                 j->id, j->dst);
        return XLMIG_E_STORAGE;
    }
    if (j->cfg[0]) {
        rc = smove_cfg_switch(r->ctx, j->cfg, j->vdev, j->dst, fmt,
                              &changed);
        if (rc) return rc;
        if (changed) srec_say(r, "%s: %s names %s now", j->id, j->cfg,
                              j->dst);
    }
    if (!j->offline) return XLMIG_OK;
    domid = srec_find(r, &paused);
    if (domid != HV_INVALID_DOMID && paused) {
        /* a restore cut short (or a paused guest's, which looks the
         * same): do it again from the image, kept until commit */
        rc = hv_destroy(r->hv, domid);
        if (rc) return rc;
        srec_say(r, "%s: half-restored domain %u destroyed", j->id, domid);
        domid = HV_INVALID_DOMID;
    }
    if (domid == HV_INVALID_DOMID) return srec_restore(r, j->dst);
    srec_say(r, "%s: domain %s runs (domain %u)", j->id, j->name, domid);
    return XLMIG_OK;
}

int smove_recover(struct xlmig_ctx *ctx, struct hv *hv,
                  const struct journal_rec *j,
                  void (*say)(void *arg, const char *line), void *arg)
{
    struct srec r = { ctx, hv, j, say, arg };
    int rc;

    if (!strcmp(j->phase, "admit") || !strcmp(j->phase, "preflight")) {
        srec_say(&r, "%s: storage move of %s stopped before copying: "
                 "nothing to undo", j->id, j->name);
        return srec_back(&r);
    }
    if (j->mover[0]) return smove_live_recover(ctx, hv, j, say, arg);
    if (!j->go) {
        rc = srec_back(&r);
        if (!rc) srec_say(&r, "%s: disk %s of %s stays on %s", j->id,
                          j->vdev, j->name, j->src);
        return rc;
    }
    rc = srec_forward(&r);
    if (rc) return rc;
    if (smove_is_blockdev(j->dst)) {
        char *tag = xasprintf(SMOVE_LV_TAG_PREFIX "%s", j->id);

        if (smove_lv_change(ctx, j->dst, "--deltag", tag))
            srec_say(&r, "%s: %s keeps its tag %s", j->id, j->dst, tag);
        free(tag);
    }
    if (!j->keep) {
        rc = srec_remove(&r, j->src, "the source");
        if (rc) return rc;
    }
    rc = srec_remove_save(&r);
    if (!rc) srec_say(&r, "%s: disk %s of %s is on %s", j->id, j->vdev,
                      j->name, j->dst);
    return rc;
}

/* The job id in NAME = PREFIX ID "-" REST, into id (32). */
static bool srec_job_of(const char *name, const char *prefix, char id[32])
{
    size_t n = strlen(prefix), k;

    if (strncmp(name, prefix, n)) return false;
    k = strcspn(name + n, "-");
    /* ids are "%08lx-%x": two parts */
    if (name[n + k] != '-') return false;
    k += 1 + strcspn(name + n + k + 1, "-");
    if (k == 0 || k >= 32) return false;
    memcpy(id, name + n, k);
    id[k] = '\0';
    return true;
}

static void srec_orphans_in(struct srec *r, const char *dir)
{
    char id[32], *journal, *path;
    struct dirent *e;
    DIR *d = opendir(dir);

    if (!d) return;
    while ((e = readdir(d))) {
        if (!srec_job_of(e->d_name, SMOVE_PART_PREFIX, id) &&
            !srec_job_of(e->d_name, SMOVE_SAVE_PREFIX, id))
            continue;
        journal = xasprintf("%s/%s.json", journal_dir(), id);
        if (access(journal, F_OK) && errno == ENOENT) {
            path = xasprintf("%s/%s", dir, e->d_name);
            if (unlink(path) == 0)
                srec_say(r, "%s: no job %s: leftover removed", path, id);
            free(path);
        }
        free(journal);
    }
    closedir(d);
}

void smove_recover_orphans(struct xlmig_ctx *ctx,
                           void (*say)(void *arg, const char *line),
                           void *arg)
{
    struct srec r = { ctx, NULL, NULL, say, arg };
    struct sr *list = NULL;
    char *cause = NULL;
    size_t n = 0, i;

    if (sr_load(ctx, &list, &n, &cause)) {
        free(cause);
        return;
    }
    for (i = 0; i < n; i++)
        if (list[i].type == SR_DIR) srec_orphans_in(&r, list[i].loc);
    srec_orphans_in(&r, journal_dir());
    free(list);
}
