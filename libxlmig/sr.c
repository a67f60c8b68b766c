/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sr.c - storage repositories. An SR is storage several hosts see: a
 * directory on a shared filesystem (NFS, GlusterFS, CephFS, 9p) holding
 * image files, or an LVM volume group on shared block storage. Each host
 * declares the SRs it sees in xlmig.conf:
 *
 *   sr = [ "gold:dir:/srv/sr/gold", "san1:lvm:vg_san1" ]
 *
 * A name alone proves nothing (two hosts may each have a local
 * /srv/sr/gold), so `xlmig sr-create` writes an identity into the SR
 * itself: a dir SR gets the file .xlmig-sr with a new uuid; an LVM SR is
 * tagged xlmig_sr and its identity is the VG's own uuid. Two hosts see the
 * same SR when they read the same identity from it.
 *
 * An LV is active on one host at a time: xlmig activates the LVs it
 * copies with `lvchange -aey` (exclusive: with lvmlockd, LVM itself
 * refuses a second host) and deactivates what it leaves; the domain's
 * lock in xenstore keeps two jobs of one host off the same disk.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "child.h"
#include "conf.h"
#include "domcfg.h"
#include "fdio.h"
#include "sr.h"

#define SR_ID_FILE_MAX 4096

const char *sr_type_name(enum sr_type t)
{
    return t == SR_LVM ? "lvm" : "dir";
}

static bool sr_word_ok(const char *s, size_t max)
{
    size_t n = strlen(s);

    return n > 0 && n < max && s[0] != '.' && s[0] != '-' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_.-") == n;
}

bool sr_name_ok(const char *name)
{
    return sr_word_ok(name, SR_NAME_MAX);
}

/* A printable path without control bytes (it is shown and logged). */
static bool sr_path_ok(const char *p)
{
    const unsigned char *c;

    if (p[0] != '/') return false;
    for (c = (const unsigned char *)p; *c; c++)
        if (*c < 0x20 || *c == 0x7f) return false;
    return true;
}

int sr_parse(const char *decl, struct sr *s, char **cause_r)
{
    const char *c1 = strchr(decl, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    size_t n;

    memset(s, 0, sizeof(*s));
    *cause_r = NULL;
    if (!c2) {
        *cause_r = xasprintf("SR '%.80s' is not NAME:TYPE:LOCATION", decl);
        return XLMIG_E_INVAL;
    }
    n = (size_t)(c1 - decl);
    if (n >= SR_NAME_MAX) n = SR_NAME_MAX - 1;
    memcpy(s->name, decl, n);
    if (!sr_name_ok(s->name) || (size_t)(c1 - decl) != strlen(s->name)) {
        *cause_r = xasprintf("SR name '%.*s' is not 1..63 of A-Z a-z 0-9 _ "
                             ". - (not starting with . or -)",
                             (int)(c1 - decl < 80 ? c1 - decl : 80), decl);
        return XLMIG_E_INVAL;
    }
    if (c2 - c1 - 1 == 3 && !strncmp(c1 + 1, "dir", 3)) s->type = SR_DIR;
    else if (c2 - c1 - 1 == 3 && !strncmp(c1 + 1, "lvm", 3)) s->type = SR_LVM;
    else {
        *cause_r = xasprintf("SR %s: type '%.*s' is not dir or lvm", s->name,
                             (int)(c2 - c1 - 1 < 16 ? c2 - c1 - 1 : 16),
                             c1 + 1);
        return XLMIG_E_INVAL;
    }
    if (strlen(c2 + 1) >= SR_LOC_MAX) {
        *cause_r = xasprintf("SR %s: location longer than %d bytes", s->name,
                             SR_LOC_MAX - 1);
        return XLMIG_E_INVAL;
    }
    strcpy(s->loc, c2 + 1);
    if (s->type == SR_DIR) {
        n = strlen(s->loc);
        while (n > 1 && s->loc[n - 1] == '/') s->loc[--n] = '\0';
        if (!sr_path_ok(s->loc) || strstr(s->loc, "/../") ||
            (n >= 3 && !strcmp(s->loc + n - 3, "/.."))) {
            *cause_r = xasprintf("SR %s: location must be an absolute "
                                 "path (no .., no control characters)",
                                 s->name);
            return XLMIG_E_INVAL;
        }
        if (!strcmp(s->loc, "/")) {
            *cause_r = xasprintf("SR %s: / cannot be an SR", s->name);
            return XLMIG_E_INVAL;
        }
    } else if (!sr_word_ok(s->loc, SR_NAME_MAX) ||
               strchr(s->loc, '/')) {
        *cause_r = xasprintf("SR %s: '%.80s' is not a VG name", s->name,
                             s->loc);
        return XLMIG_E_INVAL;
    }
    return XLMIG_OK;
}

int sr_load(struct xlmig_ctx *ctx, struct sr **list_r, size_t *n_r,
            char **cause_r)
{
    struct conf *cf = NULL;
    struct sr *list = NULL;
    char **decls = NULL, *why = NULL;
    size_t n = 0, i, k;
    bool found;
    int rc;

    *list_r = NULL;
    *n_r = 0;
    *cause_r = NULL;
    rc = conf_open(ctx, &cf, cause_r);
    if (rc) return rc;
    rc = conf_strings(cf, "sr", &found, &decls, &n, cause_r);
    if (rc || !found) goto out;
    list = xcalloc(n ? n : 1, sizeof(*list));
    for (i = 0; i < n; i++) {
        rc = sr_parse(decls[i], &list[i], &why);
        if (rc) {
            *cause_r = xasprintf("%s: sr: %s", conf_path(), why);
            goto out;
        }
        for (k = 0; k < i; k++)
            if (!strcmp(list[k].name, list[i].name)) {
                *cause_r = xasprintf("%s: sr: %s is declared twice",
                                     conf_path(), list[i].name);
                rc = XLMIG_E_INVAL;
                goto out;
            }
    }
    *list_r = list;
    *n_r = n;
    list = NULL;
out:
    for (i = 0; i < n; i++)
        free(decls[i]);
    free(decls);
    free(why);
    free(list);
    conf_close(cf);
    return rc;
}

const struct sr *sr_find(const struct sr *list, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!strcmp(list[i].name, name)) return &list[i];
    return NULL;
}

/* Whether path is below dir (both resolved), not dir itself. */
static bool sr_below(const char *dir, const char *path)
{
    size_t n = strlen(dir);

    return !strncmp(path, dir, n) && path[n] == '/' && path[n + 1];
}

/* path with its directory resolved (the file itself may be a link or
 * not exist yet); NULL if the directory does not resolve. */
static char *sr_resolve_dir_of(const char *path)
{
    char *copy = xstrdup(path), *slash = strrchr(copy, '/'), *dir, *out;

    if (!slash || !slash[1]) {
        free(copy);
        return NULL;
    }
    *slash = '\0';
    dir = realpath(*copy ? copy : "/", NULL);
    out = dir ? xasprintf("%s/%s", strcmp(dir, "/") ? dir : "", slash + 1)
              : NULL;
    free(dir);
    free(copy);
    return out;
}

const struct sr *sr_of_path(const struct sr *list, size_t n,
                            const char *path)
{
    const struct sr *hit = NULL;
    char *rp, *loc, pfx[SR_NAME_MAX * 2 + 16];
    size_t i, best = 0;

    if (!path || path[0] != '/') return NULL;
    rp = sr_resolve_dir_of(path);
    for (i = 0; i < n; i++) {
        if (list[i].type == SR_LVM) {
            snprintf(pfx, sizeof(pfx), "/dev/%s/", list[i].loc);
            if (!strncmp(path, pfx, strlen(pfx)) && path[strlen(pfx)])
                return &list[i];
            /* /dev/mapper doubles the VG's dashes */
            continue;
        }
        loc = realpath(list[i].loc, NULL);
        if (loc && rp && sr_below(loc, rp) && strlen(loc) > best) {
            hit = &list[i];
            best = strlen(loc);
        }
        free(loc);
    }
    free(rp);
    return hit;
}

char *sr_lv_path(const struct sr *s, const char *lv)
{
    return xasprintf("/dev/%s/%s", s->loc, lv);
}

/* ---- LVM ---- */

int sr_vg_facts(struct xlmig_ctx *ctx, const struct sr *s,
                  char *uuid, uint64_t *size_r, uint64_t *free_r,
                  bool *tagged_r, char **why_r)
{
    char *argv[] = { (char *)"vgs", (char *)"--noheadings", (char *)"--nosuffix",
                     (char *)"--units", (char *)"b", (char *)"--separator",
                     (char *)"|", (char *)"-o",
                     (char *)"vg_uuid,vg_size,vg_free,vg_tags",
                     (char *)s->loc, NULL };
    char *out = NULL, *p, *f[4], *save = NULL;
    unsigned long long size, fr;
    int rc, i;

    rc = child_capture(ctx, "vgs", argv, SR_LVM_OUT_MAX, SR_LVM_TIMEOUT_S,
                       &out);
    if (rc) {
        *why_r = xasprintf("volume group %s is not there (vgs failed)",
                           s->loc);
        return XLMIG_E_NOTFOUND;
    }
    for (p = out; isspace((unsigned char)*p); p++)
        ;
    p[strcspn(p, "\n")] = '\0';
    for (i = 0; i < 4; i++) {
        f[i] = strtok_r(i ? NULL : p, "|", &save);
        if (!f[i] && i < 3) break;
    }
    if (i < 3 || sscanf(f[1], "%llu", &size) != 1 ||
        sscanf(f[2], "%llu", &fr) != 1 || strlen(f[0]) >= SR_UUID_MAX) {
        *why_r = xasprintf("vgs %s: unexpected output", s->loc);
        free(out);
        return XLMIG_E_INVAL;
    }
    if (uuid) strcpy(uuid, f[0]);
    if (size_r) *size_r = size;
    if (free_r) *free_r = fr;
    if (tagged_r) {
        *tagged_r = false;
        for (p = f[3] ? strtok_r(f[3], ",", &save) : NULL; p;
             p = strtok_r(NULL, ",", &save))
            if (!strcmp(p, SR_LVM_TAG)) *tagged_r = true;
    }
    free(out);
    return XLMIG_OK;
}

/* ---- identity ---- */

/* Parses a dir SR's identity file; *why_r if it is not one. */
static int sr_id_parse(const char *text, char uuid[SR_UUID_MAX],
                       char **why_r)
{
    const char *p = text, *nl;
    char line[96];
    size_t n;

    nl = strchr(p, '\n');
    if (!nl || (size_t)(nl - p) != strlen(SR_ID_MAGIC) ||
        strncmp(p, SR_ID_MAGIC, strlen(SR_ID_MAGIC))) {
        *why_r = xstrdup("its " SR_ID_FILE " is not an xlmig SR identity");
        return XLMIG_E_INVAL;
    }
    p = nl + 1;
    nl = strchr(p, '\n');
    n = nl ? (size_t)(nl - p) : 0;
    if (!nl || n >= sizeof(line)) goto bad;
    memcpy(line, p, n);
    line[n] = '\0';
    if (strncmp(line, "uuid ", 5) || !domcfg_uuid_ok(line + 5)) goto bad;
    strcpy(uuid, line + 5);
    return XLMIG_OK;
bad:
    *why_r = xstrdup("its " SR_ID_FILE " has no valid uuid line");
    return XLMIG_E_INVAL;
}

int sr_identity(struct xlmig_ctx *ctx, const struct sr *s,
                char uuid[SR_UUID_MAX], char **why_r)
{
    char *path = NULL, *text = NULL;
    struct stat st;
    bool tagged;
    int rc, fd = -1;
    ssize_t r;

    uuid[0] = '\0';
    *why_r = NULL;
    if (s->type == SR_LVM) {
        rc = sr_vg_facts(ctx, s, uuid, NULL, NULL, &tagged, why_r);
        if (!rc && !tagged) {
            *why_r = xasprintf("VG %s is not an SR (no tag " SR_LVM_TAG
                               "; run xlmig sr-create)", s->loc);
            uuid[0] = '\0';
            rc = XLMIG_E_NOTFOUND;
        }
        return rc;
    }
    if (stat(s->loc, &st) < 0 || !S_ISDIR(st.st_mode)) {
        *why_r = xasprintf("%s is not a directory here", s->loc);
        return XLMIG_E_NOTFOUND;
    }
    path = xasprintf("%s/" SR_ID_FILE, s->loc);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        *why_r = errno == ENOENT
                     ? xasprintf("%s has no identity (run xlmig sr-create "
                                 "on one host)", s->loc)
                     : xasprintf("%s: %s", path, strerror(errno));
        rc = errno == ENOENT ? XLMIG_E_NOTFOUND : XLMIG_E_INVAL;
        goto out;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        st.st_size > SR_ID_FILE_MAX) {
        *why_r = xasprintf("%s is not a small regular file", path);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    text = xcalloc(1, SR_ID_FILE_MAX + 1);
    r = pread(fd, text, SR_ID_FILE_MAX, 0);
    if (r < 0) {
        *why_r = xasprintf("%s: %s", path, strerror(errno));
        rc = XLMIG_E_INVAL;
        goto out;
    }
    if (strlen(text) != (size_t)r) {
        *why_r = xasprintf("%s holds NUL bytes", path);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    rc = sr_id_parse(text, uuid, why_r);
out:
    if (fd >= 0) close(fd);
    free(text);
    free(path);
    return rc;
}

int sr_space(struct xlmig_ctx *ctx, const struct sr *s, uint64_t *size_r,
             uint64_t *free_r)
{
    struct statvfs v;
    char *why = NULL;
    int rc;

    *size_r = *free_r = 0;
    if (s->type == SR_LVM) {
        rc = sr_vg_facts(ctx, s, NULL, size_r, free_r, NULL, &why);
        if (rc) LOG(ctx, ERROR, "SR %s: %s", s->name, why);
        free(why);
        return rc;
    }
    if (statvfs(s->loc, &v) < 0) {
        LOGE(ctx, ERROR, "SR %s: statvfs %s", s->name, s->loc);
        return err_from_errno(errno);
    }
    *size_r = (uint64_t)v.f_blocks * v.f_frsize;
    *free_r = (uint64_t)v.f_bavail * v.f_frsize;
    return XLMIG_OK;
}

int sr_writable(struct xlmig_ctx *ctx, const struct sr *s, char **why_r)
{
    struct statvfs v;

    *why_r = NULL;
    if (s->type == SR_LVM) return XLMIG_OK;    /* vgs ran: lvcreate tells */
    (void)ctx;
    if (access(s->loc, W_OK | X_OK) < 0) {
        *why_r = xasprintf("%s is not writable here: %s", s->loc,
                           strerror(errno));
        return XLMIG_E_STORAGE;
    }
    if (statvfs(s->loc, &v) == 0 && (v.f_flag & ST_RDONLY)) {
        *why_r = xasprintf("%s is on a read-only filesystem", s->loc);
        return XLMIG_E_STORAGE;
    }
    return XLMIG_OK;
}

