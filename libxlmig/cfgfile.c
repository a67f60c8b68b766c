/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cfgfile.c - one disk of a domain config file, read and retargeted with
 * every other byte kept (cfgfile.h): the checks both syntaxes share, and
 * the choice between them. cfgfile-json.c does libxl JSON, cfgfile-xl.c
 * xl.cfg; each finds the bytes to change with a scanner of its own and
 * checks the result by reading it back with the parser xl itself uses
 * (yajl through jsonlim, libxlutil).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfgfile-priv.h"

static const char *const cfgfile_formats[] = {
    "raw", "qcow2", "qcow", "vhd", "qed", "empty",
};

char *cfgfile_cause(const char *fmt, ...)
{
    unsigned char *u;
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) abort();
    va_end(ap);
    for (u = (unsigned char *)s; *u; u++)
        if (*u < 0x20 || *u >= 0x7f) *u = '?';
    return s;
}

bool cfgfile_in(const char *s, size_t n, const char *const *set,
                size_t nset)
{
    size_t i;

    for (i = 0; i < nset; i++)
        if (strlen(set[i]) == n && !memcmp(s, set[i], n)) return true;
    return false;
}

const char *cfgfile_format(const char *s)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(cfgfile_formats); i++)
        if (!strcasecmp(s, cfgfile_formats[i])) return cfgfile_formats[i];
    return NULL;
}

/* What any syntax asks of a new target and format. */
static int cfgfile_check_new(const char *target, const char *format,
                             char **cause_r)
{
    size_t i;

    if (!*target) {
        *cause_r = cfgfile_cause("the new target is empty");
        return XLMIG_E_INVAL;
    }
    for (i = 0; target[i]; i++) {
        if ((unsigned char)target[i] < 0x20 || target[i] == 0x7f) {
            *cause_r = cfgfile_cause("the new target holds a control "
                                     "character (byte %zu)", i);
            return XLMIG_E_INVAL;
        }
    }
    if (format && (!cfgfile_format(format) ||
                   strcmp(cfgfile_format(format), format))) {
        *cause_r = cfgfile_cause("'%.64s' is not a disk format", format);
        return XLMIG_E_INVAL;
    }
    return XLMIG_OK;
}

char *cfgfile_splice(const char *text, size_t len, struct cfgfile_edit *e,
                     size_t *out_len_r)
{
    struct cfgfile_edit tmp;
    size_t i, at = 0, n = len, w;
    char *out, *p;

    if (e[1].with && (!e[0].with || e[1].off < e[0].off ||
                      (e[1].off == e[0].off && !e[1].len))) {
        tmp = e[0];
        e[0] = e[1];
        e[1] = tmp;
    }
    for (i = 0; i < 2 && e[i].with; i++)
        n = n - e[i].len + strlen(e[i].with);
    out = p = xmalloc(n + 1);
    for (i = 0; i < 2 && e[i].with; i++) {
        memcpy(p, text + at, e[i].off - at);
        p += e[i].off - at;
        w = strlen(e[i].with);
        memcpy(p, e[i].with, w);
        p += w;
        at = e[i].off + e[i].len;
    }
    memcpy(p, text + at, len - at);
    out[n] = '\0';
    *out_len_r = n;
    return out;
}

static int cfgfile_start(const char *text, size_t len, const char *vdev,
                         char **cause_r)
{
    if (len > CFGFILE_LEN_MAX) {
        *cause_r = cfgfile_cause("the config is over %u bytes",
                                 CFGFILE_LEN_MAX);
        return XLMIG_E_TOOBIG;
    }
    if (!vdev || !*vdev) {
        *cause_r = cfgfile_cause("no vdev given");
        return XLMIG_E_INVAL;
    }
    if (len && memchr(text, '\0', len)) {
        *cause_r = cfgfile_cause("the config holds a NUL byte");
        return XLMIG_E_INVAL;
    }
    return XLMIG_OK;
}

/* libxl JSON starts with '{'; anything else is xl.cfg. */
static bool cfgfile_is_json(const char *text, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (!strchr(" \t\n\r", text[i])) return text[i] == '{';
    return false;
}

int cfgfile_disk_get(const char *text, size_t len, const char *vdev,
                     struct cfgfile_disk *d_r, char **cause_r)
{
    int rc;

    memset(d_r, 0, sizeof(*d_r));
    *cause_r = NULL;
    rc = cfgfile_start(text, len, vdev, cause_r);
    if (rc) return rc;
    if (cfgfile_is_json(text, len))
        rc = cfgfile_json_get(text, len, vdev, d_r, cause_r);
    else
        rc = cfgfile_xl_get(text, len, vdev, d_r, cause_r);
    if (rc) cfgfile_disk_dispose(d_r);
    return rc;
}

void cfgfile_disk_dispose(struct cfgfile_disk *d)
{
    free(d->target);
    free(d->format);
    d->target = d->format = NULL;
}

int cfgfile_disk_retarget(const char *text, size_t len, const char *vdev,
                          const char *new_target, const char *new_format,
                          char **out_r, size_t *out_len_r, char **cause_r)
{
    int rc;

    *out_r = NULL;
    *out_len_r = 0;
    *cause_r = NULL;
    rc = cfgfile_start(text, len, vdev, cause_r);
    if (rc) return rc;
    rc = cfgfile_check_new(new_target ? new_target : "", new_format,
                           cause_r);
    if (rc) return rc;
    if (cfgfile_is_json(text, len))
        return cfgfile_json_retarget(text, len, vdev, new_target,
                                     new_format, out_r, out_len_r, cause_r);
    return cfgfile_xl_retarget(text, len, vdev, new_target, new_format,
                               NULL, out_r, out_len_r, cause_r);
}

/* What cfgfile_info and cfgfile_disk_prepare take: xl.cfg alone. */
static int cfgfile_xl_only(const char *text, size_t len, const char *vdev,
                           char **cause_r)
{
    int rc = cfgfile_start(text, len, vdev, cause_r);

    if (rc) return rc;
    if (!cfgfile_is_json(text, len)) return XLMIG_OK;
    *cause_r = cfgfile_cause("a libxl JSON config: give the domain's xl.cfg");
    return XLMIG_E_INVAL;
}

int cfgfile_info_get(const char *text, size_t len, const char *vdev,
                     struct cfgfile_info *inf, char **cause_r)
{
    int rc;

    memset(inf, 0, sizeof(*inf));
    *cause_r = NULL;
    rc = cfgfile_xl_only(text, len, vdev, cause_r);
    if (!rc) rc = cfgfile_xl_info(text, len, vdev, inf, cause_r);
    if (rc) cfgfile_info_dispose(inf);
    return rc;
}

void cfgfile_info_dispose(struct cfgfile_info *inf)
{
    size_t i;

    free(inf->name);
    free(inf->target);
    free(inf->format);
    free(inf->backend);
    free(inf->script);
    for (i = 0; i < inf->n_dm_args; i++) free(inf->dm_args[i]);
    free(inf->dm_args);
    memset(inf, 0, sizeof(*inf));
}

int cfgfile_disk_prepare(const char *text, size_t len, const char *vdev,
                         const char *target, const char *script,
                         const char *line, char **out_r, size_t *out_len_r,
                         char **cause_r)
{
    struct cfgfile_info inf;
    char *out = NULL, *joined;
    size_t n;
    int rc;

    *out_r = NULL;
    *out_len_r = 0;
    *cause_r = NULL;
    rc = cfgfile_xl_only(text, len, vdev, cause_r);
    if (!rc) rc = cfgfile_check_new(target, NULL, cause_r);
    if (!rc)
        rc = cfgfile_xl_retarget(text, len, vdev, target, NULL, script, &out,
                                 &n, cause_r);
    if (rc || !line) goto out;
    /* A new setting at the end, on a line of its own. */
    joined = xasprintf("%s%s%s\n", out, n && out[n - 1] != '\n' ? "\n" : "",
                       line);
    free(out);
    out = joined;
    n = strlen(out);
    /* The setting must read back as one, the disk as written. */
    rc = cfgfile_info_get(out, n, vdev, &inf, cause_r);
    if (!rc && !inf.has_dm_args) {
        *cause_r = cfgfile_cause("self-check: the added setting does not "
                                 "read back");
        rc = XLMIG_E_INTERNAL;
    }
    cfgfile_info_dispose(&inf);
out:
    if (rc) {
        free(out);
        return rc;
    }
    *out_r = out;
    *out_len_r = n;
    return XLMIG_OK;
}
