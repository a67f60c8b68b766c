/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * conf.c - /etc/xen/xlmig.conf (XLMIG_CONF overrides the path), in xl.conf
 * syntax and read with libxlutil as xl reads xl.conf:
 *
 *   limit_out = 2          # outgoing migrations at once
 *   limit_in = 2           # incoming migrations at once
 *   limit_storage = 2      # storage operations at once
 *
 * The limits seed /libxlmig/host/limits when xenstore has none (after a
 * boot); `xlmig set-limit` changes the running value.
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
