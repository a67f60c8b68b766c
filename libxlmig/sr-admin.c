/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sr-admin.c - what an admin does with SRs (sr.c): sr-create writes an
 * identity into an SR, sr-list shows them with the running domains' disks
 * in each. Apart from sr.c, which the incoming policy and its fuzz target
 * link without a backend.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "child.h"
#include "conf.h"
#include "domcfg.h"
#include "fdio.h"
#include "hv.h"
#include "sr.h"

/* A new random (version 4) uuid as text. */
static int sr_new_uuid(struct xlmig_ctx *ctx, char out[SR_UUID_MAX])
{
    uint8_t u[16];

    if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u)) {
        LOGE(ctx, ERROR, "getrandom");
        return XLMIG_E_SYSTEM;
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    hv_uuid_str(u, out);
    return XLMIG_OK;
}

static int sr_create_lvm(struct xlmig_ctx *ctx, const struct sr *s,
                         char uuid_r[SR_UUID_MAX])
{
    char *argv[] = { (char *)"vgchange", (char *)"--addtag",
                     (char *)SR_LVM_TAG, (char *)s->loc, NULL };
    char *why = NULL, *out = NULL;
    bool tagged;
    int rc;

    rc = sr_vg_facts(ctx, s, uuid_r, NULL, NULL, &tagged, &why);
    if (rc) {
        LOG(ctx, ERROR, "SR %s: %s", s->name, why);
        goto out;
    }
    if (tagged) {
        LOG(ctx, ERROR, "SR %s: VG %s is an SR already (uuid %s)", s->name,
            s->loc, uuid_r);
        rc = XLMIG_E_EXISTS;
        goto out;
    }
    rc = child_capture(ctx, "vgchange --addtag", argv, SR_LVM_OUT_MAX,
                       SR_LVM_TIMEOUT_S, &out);
    if (rc) LOG(ctx, ERROR, "SR %s: cannot tag VG %s", s->name, s->loc);
out:
    free(out);
    free(why);
    return rc;
}

int sr_create(struct xlmig_ctx *ctx, const struct sr *s,
              char uuid_r[SR_UUID_MAX])
{
    char *path = NULL, *tmp = NULL, *text = NULL, *why = NULL;
    char old[SR_UUID_MAX];
    int rc;

    uuid_r[0] = '\0';
    if (s->type == SR_LVM) return sr_create_lvm(ctx, s, uuid_r);
    rc = sr_identity(ctx, s, old, &why);
    if (!rc) {
        LOG(ctx, ERROR, "SR %s: %s is an SR already (uuid %s)", s->name,
            s->loc, old);
        rc = XLMIG_E_EXISTS;
        goto out;
    }
    if (rc == XLMIG_E_INVAL) {
        LOG(ctx, ERROR, "SR %s: %s", s->name, why);
        goto out;
    }
    free(why);
    why = NULL;
    if (access(s->loc, F_OK) < 0) {
        LOG(ctx, ERROR, "SR %s: %s is not a directory (create it first, "
            "on the shared storage)", s->name, s->loc);
        rc = XLMIG_E_NOTFOUND;
        goto out;
    }
    rc = sr_writable(ctx, s, &why);
    if (rc) {
        LOG(ctx, ERROR, "SR %s: %s", s->name, why);
        goto out;
    }
    rc = sr_new_uuid(ctx, uuid_r);
    if (rc) goto out;
    text = xasprintf(SR_ID_MAGIC "\nuuid %s\nname %s\n", uuid_r, s->name);
    path = xasprintf("%s/" SR_ID_FILE, s->loc);
    tmp = xasprintf("%s/.xlmig-sr.new", s->loc);
    rc = fdio_write_file(ctx, tmp, text, strlen(text));
    if (rc) goto out;
    /* link: never replace an identity another host wrote meanwhile */
    if (link(tmp, path) < 0) {
        rc = errno == EEXIST ? XLMIG_E_EXISTS : err_from_errno(errno);
        LOGE(ctx, ERROR, "SR %s: cannot create %s", s->name, path);
    }
    if (unlink(tmp) < 0) LOGE(ctx, WARN, "remove %s", tmp);
    if (!rc) rc = fdio_sync_dir(ctx, s->loc);
out:
    if (rc) uuid_r[0] = '\0';
    free(why);
    free(text);
    free(tmp);
    free(path);
    return rc;
}

/* ---- the public API ---- */

/* Adds the disks of running domains that live in SR s to out. */
static void sr_add_disks(struct xlmig_sr *out, const struct sr *list,
                         size_t n, const struct sr *s,
                         const struct hv_domain *doms, size_t n_doms,
                         char *const *jsons)
{
    struct domcfg c;
    char *why = NULL;
    size_t i, k;

    for (i = 0; i < n_doms; i++) {
        if (!jsons[i]) continue;
        memset(&c, 0, sizeof(c));
        if (domcfg_parse(jsons[i], &c, &why)) {
            free(why);
            why = NULL;
            continue;
        }
        for (k = 0; k < c.n_disks; k++) {
            struct xlmig_sr_disk *d;

            if (sr_of_path(list, n, c.disks[k].pdev_path) != s) continue;
            out->disks = xrealloc(out->disks,
                                  (out->n_disks + 1) * sizeof(*out->disks));
            d = &out->disks[out->n_disks++];
            memset(d, 0, sizeof(*d));
            d->domid = doms[i].domid;
            snprintf(d->domain, sizeof(d->domain), "%s", doms[i].name);
            snprintf(d->vdev, sizeof(d->vdev), "%s",
                     c.disks[k].vdev ? c.disks[k].vdev : "");
            snprintf(d->path, sizeof(d->path), "%s", c.disks[k].pdev_path);
        }
        domcfg_dispose(&c);
    }
}

int xlmig_sr_list(struct xlmig_ctx *ctx, struct xlmig_sr **list_r,
                  size_t *n_r)
{
    struct hv_domain *doms = NULL;
    struct xlmig_sr *out = NULL;
    struct sr *list = NULL;
    struct hv *hv = NULL;
    char **jsons = NULL, *cause = NULL, *why = NULL;
    size_t n = 0, n_doms = 0, i;
    int rc;

    *list_r = NULL;
    *n_r = 0;
    rc = sr_load(ctx, &list, &n, &cause);
    if (rc) {
        LOG(ctx, ERROR, "%s", cause);
        goto out;
    }
    /* Domains are a detail: an SR list without them beats none. */
    if (n && !ctx_hv(ctx, &hv) && !hv_list(hv, &doms, &n_doms)) {
        jsons = xcalloc(n_doms ? n_doms : 1, sizeof(*jsons));
        for (i = 0; i < n_doms; i++)
            if (doms[i].domid != 0 &&
                hv_config_get(hv, doms[i].domid, 0, &jsons[i]))
                jsons[i] = NULL;
    }
    out = xcalloc(n ? n : 1, sizeof(*out));
    for (i = 0; i < n; i++) {
        snprintf(out[i].name, sizeof(out[i].name), "%s", list[i].name);
        snprintf(out[i].type, sizeof(out[i].type), "%s",
                 sr_type_name(list[i].type));
        snprintf(out[i].location, sizeof(out[i].location), "%s",
                 list[i].loc);
        if (sr_identity(ctx, &list[i], out[i].uuid, &why))
            snprintf(out[i].state, sizeof(out[i].state), "unavailable: %s",
                     why);
        else snprintf(out[i].state, sizeof(out[i].state), "ok");
        free(why);
        why = NULL;
        if (sr_space(ctx, &list[i], &out[i].size, &out[i].free))
            out[i].size = out[i].free = 0;
        if (jsons)
            sr_add_disks(&out[i], list, n, &list[i], doms, n_doms, jsons);
    }
    *list_r = out;
    *n_r = n;
    rc = XLMIG_OK;
out:
    for (i = 0; jsons && i < n_doms; i++)
        free(jsons[i]);
    free(jsons);
    hv_list_free(doms, n_doms);
    free(cause);
    free(list);
    return rc;
}

void xlmig_sr_list_free(struct xlmig_sr *list, size_t n)
{
    size_t i;

    for (i = 0; list && i < n; i++)
        free(list[i].disks);
    free(list);
}

int xlmig_sr_create(struct xlmig_ctx *ctx, const char *name, const char *type,
                    const char *location, char *uuid_r)
{
    struct sr *list = NULL, s;
    const struct sr *decl;
    char *decl_text, *cause = NULL;
    size_t n = 0;
    int rc;

    uuid_r[0] = '\0';
    decl_text = xasprintf("%s:%s:%s", name, type, location);
    rc = sr_parse(decl_text, &s, &cause);
    if (rc) {
        LOG(ctx, ERROR, "%s", cause);
        goto out;
    }
    rc = sr_load(ctx, &list, &n, &cause);
    if (rc) {
        LOG(ctx, ERROR, "%s", cause);
        goto out;
    }
    decl = sr_find(list, n, name);
    if (decl && (decl->type != s.type || strcmp(decl->loc, s.loc))) {
        LOG(ctx, ERROR, "SR %s is declared in %s as %s:%s, not %s:%s", name,
            conf_path(), sr_type_name(decl->type), decl->loc,
            sr_type_name(s.type), s.loc);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    rc = sr_create(ctx, &s, uuid_r);
out:
    free(cause);
    free(decl_text);
    free(list);
    return rc;
}
