/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * conf.c - /etc/xen/xlmig.conf (XLMIG_CONF overrides the path), in xl.conf
 * syntax and read with libxlutil as xl reads xl.conf:
 *
 *   limit_out = 2          # outgoing migrations at once
 *   limit_in = 2           # incoming migrations at once
 *   limit_storage = 2      # storage operations at once
 *   incoming_...           # the incoming policy (policy.c)
 *   migrate_..., migration_...  # transport defaults, network (mignet.c)
 *
 * The limits seed /libxlmig/host/limits when xenstore has none (after a
 * boot); `xlmig set-limit` changes the running value. Limits fall back
 * to their defaults when the file is broken; the incoming policy does
 * not (conf_open): a receiver whose policy cannot be read takes nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxlutil.h>

#include "conf.h"

const char *conf_path(void)
{
    const char *p = getenv("XLMIG_CONF");

    return p && *p ? p : CONF_PATH_DEFAULT;
}

unsigned conf_limit(struct xlmig_ctx *ctx, const char *kind, unsigned dflt,
                    unsigned max)
{
    const char *path = conf_path();
    char key[32];
    XLU_Config *cfg;
    long v;
    unsigned out = dflt;
    int r;

    /* No file is the common case: quietly the defaults (libxlutil would
     * report the failed open on stderr). */
    if (access(path, F_OK) < 0) return dflt;
    cfg = xlu_cfg_init(stderr, path);
    if (!cfg) return dflt;
    r = xlu_cfg_readfile(cfg, path);
    if (r) {
        LOGEV(ctx, WARN, r, "%s: unreadable, using the defaults", path);
        goto out;
    }
    snprintf(key, sizeof(key), "limit_%s", kind);
    if (xlu_cfg_get_long(cfg, key, &v, 1)) goto out;
    if (v < 0 || (unsigned long)v > max) {
        LOG(ctx, WARN, "%s: %s = %ld is outside 0..%u, using %u", path, key,
            v, max, dflt);
        goto out;
    }
    out = (unsigned)v;
out:
    xlu_cfg_destroy(cfg);
    return out;
}

struct conf {
    const char *path;
    XLU_Config *cfg;            /* NULL: no file */
    FILE *report;               /* where xlu reports, for *cause_r */
    char *buf;
    size_t len;
};

int conf_open(struct xlmig_ctx *ctx, struct conf **c_r, char **cause_r)
{
    struct conf *c = xcalloc(1, sizeof(*c));
    int r;

    (void)ctx;
    *c_r = NULL;
    *cause_r = NULL;
    c->path = conf_path();
    if (access(c->path, F_OK) < 0 && errno == ENOENT) {
        *c_r = c;
        return XLMIG_OK;
    }
    c->report = open_memstream(&c->buf, &c->len);
    if (!c->report) abort();
    c->cfg = xlu_cfg_init(c->report, c->path);
    if (!c->cfg) abort();
    r = xlu_cfg_readfile(c->cfg, c->path);
    if (r) {
        fflush(c->report);
        if (c->buf && *c->buf)
            *cause_r = xasprintf("%.*s", (int)strcspn(c->buf, "\n"),
                                 c->buf);
        else
            *cause_r = xasprintf("%s: %s", c->path, strerror(r));
        conf_close(c);
        return XLMIG_E_INVAL;
    }
    *c_r = c;
    return XLMIG_OK;
}

void conf_close(struct conf *c)
{
    if (!c) return;
    if (c->cfg) xlu_cfg_destroy(c->cfg);
    if (c->report) fclose(c->report);
    free(c->buf);
    free(c);
}

int conf_strings(const struct conf *c, const char *key, bool *found_r,
                 char ***list_r, size_t *n_r, char **cause_r)
{
    XLU_ConfigList *list;
    const char *item;
    char **out;
    int n = 0, i, r;

    *found_r = false;
    *list_r = NULL;
    *n_r = 0;
    if (!c->cfg) return XLMIG_OK;
    r = xlu_cfg_get_list(c->cfg, key, &list, &n, 1);
    if (r == ESRCH) return XLMIG_OK;
    if (r) {
        *cause_r = xasprintf("%s: %s: not a list of strings", c->path, key);
        return XLMIG_E_INVAL;
    }
    out = xcalloc(n ? (size_t)n : 1, sizeof(*out));
    for (i = 0; i < n; i++) {
        item = xlu_cfg_get_listitem(list, i);
        if (!item) {
            *cause_r = xasprintf("%s: %s: entry %d is not a string",
                                 c->path, key, i + 1);
            while (i > 0) free(out[--i]);
            free(out);
            return XLMIG_E_INVAL;
        }
        out[i] = xstrdup(item);
    }
    *found_r = true;
    *list_r = out;
    *n_r = (size_t)n;
    return XLMIG_OK;
}

int conf_long(const struct conf *c, const char *key, long min, long max,
              long *v_r, char **cause_r)
{
    char *where;
    long v;
    int r;

    if (!c->cfg) return XLMIG_OK;
    r = xlu_cfg_get_long(c->cfg, key, &v, 1);
    if (r == ESRCH) return XLMIG_OK;
    if (r || v < min || v > max) {
        where = conf_where(c, key);
        *cause_r = xasprintf("%s: %s: not a number in %ld..%ld", where,
                             key, min, max);
        free(where);
        return XLMIG_E_INVAL;
    }
    *v_r = v;
    return XLMIG_OK;
}

int conf_string(const struct conf *c, const char *key, bool *found_r,
                char **v_r, char **cause_r)
{
    const char *v;
    char *where;
    int r;

    *found_r = false;
    *v_r = NULL;
    if (!c->cfg) return XLMIG_OK;
    r = xlu_cfg_get_string(c->cfg, key, &v, 1);
    if (r == ESRCH) return XLMIG_OK;
    if (r) {
        where = conf_where(c, key);
        *cause_r = xasprintf("%s: %s: not a string", where, key);
        free(where);
        return XLMIG_E_INVAL;
    }
    *found_r = true;
    *v_r = xstrdup(v);
    return XLMIG_OK;
}

char *conf_where(const struct conf *c, const char *key)
{
    XLU_ConfigList *list;
    const char *s;
    size_t from, n = strlen(c->path);
    long line = 0;
    char *p, *end;

    if (!c->cfg) return xstrdup(c->path);
    /* libxlutil keeps each setting's line but tells it only in a warning:
     * asked for the type the setting is not, it reports "PATH:LINE: ". */
    fflush(c->report);
    from = c->len;
    if (!xlu_cfg_get_list(c->cfg, key, &list, NULL, 0))
        (void)xlu_cfg_get_string(c->cfg, key, &s, 0);
    fflush(c->report);
    p = c->buf ? c->buf + from : NULL;
    if (p && c->len - from > n + 1 && !strncmp(p, c->path, n) &&
        p[n] == ':' && p[n + 1] >= '1' && p[n + 1] <= '9') {
        errno = 0;
        line = strtol(p + n + 1, &end, 10);
        if (errno || *end != ':') line = 0;
    }
    return line > 0 ? xasprintf("%s:%ld", c->path, line)
                    : xstrdup(c->path);
}
