/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-xshost.h - a fixture shared by the unit tests that need a real
 * xenstored: a temp sim host directory, its daemon (sim-xenstored.c, with
 * the shim from XLMIG_XSSHIM) and a context; taken down leaving nothing.
 */
#ifndef XLMIG_TEST_XSHOST_H
#define XLMIG_TEST_XSHOST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sim-xenstored.h"
#include "test-util.h"

struct test_xshost {
    struct test_ctx t;
    char dir[64];
    char *socket;               /* the daemon's socket (XENSTORED_PATH) */
};

/*
 * Stops the daemon (if it runs) and removes its log, its run directory
 * (which a test may already have emptied) and the host directory: -1 if
 * something could not be stopped or removed.
 */
static inline int test_xshost_stop(struct test_xshost *x)
{
    char *log = xasprintf("%s/xenstored/log", x->dir);
    char *rundir = xasprintf("%s/xenstored", x->dir);
    int r = 0;

    if (simxs_stop(x->t.ctx, x->dir)) r = -1;
    unlink(log);
    if ((rmdir(rundir) && errno != ENOENT) || rmdir(x->dir)) r = -1;
    free(log);
    free(rundir);
    free(x->socket);
    x->socket = NULL;
    test_ctx_close(&x->t);
    return r;
}

/*
 * A context, a host directory /tmp/test-NAME.XXXXXX and its daemon,
 * with XENSTORED_PATH pointing libxenstore at it: 0, or -1 with
 * everything taken down again.
 */
static inline int test_xshost_start(struct test_xshost *x, const char *name)
{
    test_ctx_open(&x->t);
    snprintf(x->dir, sizeof(x->dir), "/tmp/test-%s.XXXXXX", name);
    if (!mkdtemp(x->dir)) {
        test_ctx_close(&x->t);
        return -1;
    }
    x->socket = simxs_socket_path(x->dir);
    setenv("XENSTORED_PATH", x->socket, 1);
    if (simxs_start(x->t.ctx, x->dir)) {
        test_xshost_stop(x);
        return -1;
    }
    return 0;
}

#endif /* XLMIG_TEST_XSHOST_H */
