/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ctx.c - the libxlmig context: the caller's logger, the clock, and the
 * hypervisor backend, opened on first use so that commands which never
 * touch a hypervisor (help, version, stream tools) work anywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord.h"
#include "hv.h"
#include "internal.h"

const char *xlmig_version(void)
{
    return PACKAGE_VERSION;
}

int xlmig_ctx_new(struct xlmig_ctx **ctx_r, xentoollog_logger *lg,
                  const char *backend)
{
    struct xlmig_ctx *ctx;

    if (!lg) return XLMIG_E_INVAL;
    if (!backend) backend = getenv("XLMIG_BACKEND");
    if (!backend || !*backend) backend = "libxl";
    if (!hv_find_ops(backend)) {
        xtl_log(lg, XTL_ERROR, -1, "xlmig",
                "unknown backend '%s' (XLMIG_BACKEND)", backend);
        return XLMIG_E_INVAL;
    }
    ctx = xcalloc(1, sizeof(*ctx));
    ctx->lg = lg;
    ctx->backend = xstrdup(backend);
    *ctx_r = ctx;
    return XLMIG_OK;
}

void xlmig_ctx_free(struct xlmig_ctx *ctx)
{
    if (!ctx) return;
    hv_close(ctx->hv);
    free(ctx->backend);
    free(ctx);
}

int ctx_hv(struct xlmig_ctx *ctx, struct hv **hv_r)
{
    int rc;

    if (!ctx->hv) {
        rc = hv_open(ctx, ctx->backend, &ctx->hv);
        if (rc) return rc;
    }
    *hv_r = ctx->hv;
    return XLMIG_OK;
}

double ctx_now(const struct xlmig_ctx *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ctx_vlog(struct xlmig_ctx *ctx, xentoollog_level level, int errnoval,
              const char *func, const char *fmt, va_list ap)
{
    char msg[1024];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    xtl_log(ctx->lg, level, errnoval, "xlmig", "%s: %s", func, msg);
}

void ctx_log(struct xlmig_ctx *ctx, xentoollog_level level, int errnoval,
             const char *func, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ctx_vlog(ctx, level, errnoval, func, fmt, ap);
    va_end(ap);
}

int ctx_coord(struct xlmig_ctx *ctx, struct coord **c_r)
{
    struct hv *hv;
    int rc;

    *c_r = NULL;
    rc = ctx_hv(ctx, &hv);
    if (rc) return rc;
    return coord_open(ctx, c_r);
}
