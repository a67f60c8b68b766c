/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * disk-prepare.c - `xlmig disk-prepare CONFIG VDEV`: the remedy that a
 * refused live move names. A disk can move while its guest runs when a
 * mover serves it (storage-live.c) and the config names its image by a
 * stable name; a running domain cannot gain either, so this rewrites the
 * domain's xl.cfg for its next boot:
 *   the image gets a symlink LINKDIR/NAME-VDEV, which the disk's target
 *   becomes (a live move re-points it);
 *   a qdisk gets xlmig's QMP monitor in device_model_args_pv/_hvm;
 *   any other disk xlmig's block script (script=block-xlmig).
 * The link is made first: a crash between leaves an unused link, never a
 * config naming something that does not exist.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfgfile.h"
#include "fdio.h"
#include "hv.h"
#include "internal.h"
#include "job-storage.h"
#include "storage-move.h"

#define DPREP_SCRIPT "block-xlmig"

struct dprep {
    struct xlmig_ctx *ctx;
    const struct xlmig_disk_prepare_opts *o;
    struct xlmig_disk_prepare_result *res;
    struct cfgfile_info inf;
    const char *script;         /* to add to the spec, or NULL */
    char *line;                 /* the setting to append, or NULL */
};

static int dprep_fail(struct dprep *d, const char *fmt, ...)
    PRINTF_LIKE(2, 3);

static int dprep_fail(struct dprep *d, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
    va_end(ap);
    LOG(d->ctx, ERROR, "%s disk %s: %s", d->o->config_file, d->o->vdev,
        msg ? msg : "cannot be prepared");
    free(msg);
    return XLMIG_E_INVAL;
}

/* A qdisk: xlmig's QMP monitor among the device model's arguments. */
static int dprep_qmp(struct dprep *d)
{
    const struct cfgfile_info *inf = &d->inf;
    const char *key = inf->hvm ? "device_model_args_hvm"
                               : "device_model_args_pv";
    char *arg = xasprintf(HV_QMP_ARG_FMT, inf->name);
    size_t i;
    int rc = XLMIG_OK;

    snprintf(d->res->how, sizeof(d->res->how), "qmp");
    for (i = 0; i + 1 < inf->n_dm_args; i++)
        if (!strcmp(inf->dm_args[i], "-qmp") &&
            !strcmp(inf->dm_args[i + 1], arg))
            goto out;
    if (inf->has_dm_args) {
        rc = dprep_fail(d, "%s is set already; add \"-qmp\", \"%s\" to it "
                        "by hand", key, arg);
        goto out;
    }
    d->line = xasprintf("%s = [ \"-qmp\", \"%s\" ]", key, arg);
out:
    free(arg);
    return rc;
}

/* Any other disk: blkback through block-xlmig, which takes raw alone. */
static int dprep_script(struct dprep *d)
{
    const struct cfgfile_info *inf = &d->inf;

    snprintf(d->res->how, sizeof(d->res->how), DPREP_SCRIPT);
    if (*inf->format && strcmp(inf->format, "raw"))
        return dprep_fail(d, "a %s image: blkback serves raw images only; "
                          "use backendtype=qdisk (then run disk-prepare "
                          "again) or convert it", inf->format);
    if (inf->script && strcmp(inf->script, DPREP_SCRIPT))
        return dprep_fail(d, "attached through the hotplug script %s, "
                          "which a live move cannot drive", inf->script);
    if (!inf->script) d->script = DPREP_SCRIPT;
    return XLMIG_OK;
}

/* The stable name: kept if the target is one of ours already, else made
 * (or found) as LINKDIR/NAME-VDEV pointing at the image. */
static int dprep_link(struct dprep *d)
{
    const char *dir = d->o->link_dir ? d->o->link_dir
                                     : job_storage_link_dir();
    const char *target = d->inf.target;
    char *link = NULL, *image = NULL, *now = NULL;
    struct stat st;
    size_t n = strlen(dir);
    int rc = XLMIG_OK;

    if (!strncmp(target, dir, n) && target[n] == '/') {
        link = xstrdup(target);
        image = realpath(target, NULL);
    } else {
        link = xasprintf("%s/%s-%s", dir, d->inf.name, d->o->vdev);
        image = job_storage_image_of(target);
    }
    if (!image) {
        rc = dprep_fail(d, "%s: %s", target, strerror(errno));
        goto out;
    }
    if (strlen(link) >= sizeof(d->res->link) ||
        strlen(image) >= sizeof(d->res->image)) {
        rc = dprep_fail(d, "%s: too long a path", link);
        goto out;
    }
    strcpy(d->res->link, link);
    strcpy(d->res->image, image);
    if (!strcmp(link, target)) goto out;
    now = realpath(link, NULL);
    if (!now && !lstat(link, &st)) {
        rc = dprep_fail(d, "%s is there and names nothing", link);
    } else if (now && strcmp(now, image) && strcmp(now, target)) {
        rc = dprep_fail(d, "%s names %s, not %s", link, now, image);
    } else if (!now) {
        rc = fdio_make_dirs(d->ctx, dir, 0755);
        if (!rc) rc = smove_link_set(d->ctx, link, image);
    }
out:
    free(now);
    free(image);
    free(link);
    return rc;
}

int xlmig_disk_prepare(struct xlmig_ctx *ctx,
                       const struct xlmig_disk_prepare_opts *o,
                       struct xlmig_disk_prepare_result *res)
{
    struct dprep d = { .ctx = ctx, .o = o, .res = res };
    struct stat st;
    char *text = NULL, *out = NULL, *cause = NULL;
    size_t len = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    rc = fdio_read_file(ctx, o->config_file, CFGFILE_LEN_MAX, &text);
    if (rc) return rc;
    len = strlen(text);
    rc = cfgfile_info_get(text, len, o->vdev, &d.inf, &cause);
    if (rc) {
        LOG(ctx, ERROR, "%s: %s", o->config_file, cause);
        goto out;
    }
    if (!d.inf.name || !*d.inf.name || strchr(d.inf.name, '/')) {
        rc = dprep_fail(&d, "the config names no domain (name = ...)");
        goto out;
    }
    if (!*d.inf.target) {
        rc = dprep_fail(&d, "an empty drive");
        goto out;
    }
    rc = !strcmp(d.inf.backend, "qdisk") ? dprep_qmp(&d) : dprep_script(&d);
    if (!rc) rc = dprep_link(&d);
    if (rc) goto out;
    /* Prepared already: res->changed stays false. */
    if (!strcmp(res->link, d.inf.target) && !d.script && !d.line) goto out;
    rc = cfgfile_disk_prepare(text, len, o->vdev, res->link, d.script,
                              d.line, &out, &len, &cause);
    if (rc) {
        LOG(ctx, ERROR, "%s: %s", o->config_file, cause);
        goto out;
    }
    if (stat(o->config_file, &st) < 0) {
        LOGE(ctx, ERROR, "stat %s", o->config_file);
        rc = err_from_errno(errno);
        goto out;
    }
    rc = fdio_write_file_as(ctx, o->config_file, out, len, &st);
    if (!rc) res->changed = true;
out:
    cfgfile_info_dispose(&d.inf);
    free(d.line);
    free(text);
    free(out);
    free(cause);
    return rc;
}
