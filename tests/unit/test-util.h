/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-util.h - shared by the unit tests: a context whose log goes to
 * stderr only when XLMIG_TEST_LOG is set.
 */
#ifndef XLMIG_TEST_UTIL_H
#define XLMIG_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

struct test_ctx {
    struct xlmig_ctx *ctx;
    xentoollog_logger_stdiostream *lg;
    FILE *sink;
};

static inline void test_ctx_open(struct test_ctx *t)
{
    t->sink = getenv("XLMIG_TEST_LOG") ? NULL : fopen("/dev/null", "w");
    t->lg = xtl_createlogger_stdiostream(t->sink ? t->sink : stderr,
                                         XTL_DEBUG, 0);
    if (!t->lg || xlmig_ctx_new(&t->ctx, (xentoollog_logger *)t->lg,
                                "libxl"))
        abort();
}

static inline void test_ctx_close(struct test_ctx *t)
{
    xlmig_ctx_free(t->ctx);
    xtl_logger_destroy((xentoollog_logger *)t->lg);
    if (t->sink) fclose(t->sink);
}

#endif /* XLMIG_TEST_UTIL_H */
