/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-util.h - shared by the unit tests: a context whose log goes to
 * stderr only when XLMIG_TEST_LOG is set, and removing a test's tree.
 */
#ifndef XLMIG_TEST_UTIL_H
#define XLMIG_TEST_UTIL_H

#include <ftw.h>
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

static inline int test_rm_one(const char *path, const struct stat *st,
                              int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes the tree dir (links not followed): 0, or -1. */
static inline int test_rm_rf(const char *dir)
{
    return nftw(dir, test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif /* XLMIG_TEST_UTIL_H */
