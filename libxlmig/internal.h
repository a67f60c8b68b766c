/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * internal.h - what every libxlmig module shares: the context, the logger
 * macros, allocation helpers that abort on OOM, and small utilities.
 * Nothing here is exported.
 */
#ifndef XLMIG_INTERNAL_H
#define XLMIG_INTERNAL_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "libxlmig.h"

#define MUST_CHECK __attribute__((warn_unused_result))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct hv;

struct xlmig_ctx {
    xentoollog_logger *lg;
    char *backend;              /* backend name, e.g. "libxl" */
    struct hv *hv;              /* opened on first use, see ctx_hv() */
};

/* ctx.c */
MUST_CHECK int ctx_hv(struct xlmig_ctx *ctx, struct hv **hv_r);
/* This host's coordination (coord_open), after the backend is open: a
 * sim host's says where its xenstored listens. */
struct coord;
MUST_CHECK int ctx_coord(struct xlmig_ctx *ctx, struct coord **c_r);
double ctx_now(const struct xlmig_ctx *ctx);       /* monotonic seconds */
void ctx_log(struct xlmig_ctx *ctx, xentoollog_level level, int errnoval,
             const char *func, const char *fmt, ...) PRINTF_LIKE(5, 6);
void ctx_vlog(struct xlmig_ctx *ctx, xentoollog_level level, int errnoval,
              const char *func, const char *fmt, va_list ap)
    PRINTF_LIKE(5, 0);

/*
 * One log sink (STYLE.md "Logging"): the caller's xentoollog logger, shared
 * with libxl and libxc. Each line starts with the function that wrote it.
 */
#define LOG(ctx, level, ...) \
    ctx_log((ctx), XTL_##level, -1, __func__, __VA_ARGS__)
#define LOGE(ctx, level, ...) \
    ctx_log((ctx), XTL_##level, errno, __func__, __VA_ARGS__)
#define LOGEV(ctx, level, errnoval, ...) \
    ctx_log((ctx), XTL_##level, (errnoval), __func__, __VA_ARGS__)
#define LOGR(ctx, level, rc, fmt, ...) \
    ctx_log((ctx), XTL_##level, -1, __func__, fmt ": %s", ##__VA_ARGS__, \
            xlmig_strerror(rc))
#define LOGD(ctx, level, domid, fmt, ...) \
    ctx_log((ctx), XTL_##level, -1, __func__, "domain %u: " fmt, \
            (unsigned)(domid), ##__VA_ARGS__)

/* xmalloc.c: these abort on out-of-memory, like libxl does. */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* err.c */
int err_from_errno(int errnoval);   /* XLMIG_E_* for a failed syscall */

#endif /* XLMIG_INTERNAL_H */
