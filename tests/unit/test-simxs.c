/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-simxs.c - a sim host's xenstored (sim-xenstored.c): started detached
 * under the shim, it serves libxenstore (reads, writes, transactions that
 * conflict or commit, watches), refuses a second start, ignores stale pid
 * files, and stops leaving nothing behind. Each test has its own host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <xenstore.h>

#include "test-xshost.h"

#define WATCH_MS 2000           /* a watch event that takes longer fails */

struct host {
    struct test_xshost xh;
    struct xs_handle *xs;       /* two clients, as two toolstack processes */
    struct xs_handle *xs2;
};

static char *host_file(const struct host *h, const char *name)
{
    return xasprintf("%s/xenstored/%s", h->xh.dir, name);
}

static void host_connect(struct host *h)
{
    /* A test may have pointed XENSTORED_PATH elsewhere meanwhile. */
    setenv("XENSTORED_PATH", h->xh.socket, 1);
    h->xs = xs_open(0);
    h->xs2 = xs_open(0);
    assert_non_null(h->xs);
    assert_non_null(h->xs2);
}

static void host_disconnect(struct host *h)
{
    if (h->xs) xs_close(h->xs);
    if (h->xs2) xs_close(h->xs2);
    h->xs = h->xs2 = NULL;
}

/* Fails if the daemon or anything of the host is left. */
static int host_teardown(void **state)
{
    struct host *h = *state;

    host_disconnect(h);
    return test_xshost_stop(&h->xh);
}

static int host_setup(void **state)
{
    static struct host h;

    memset(&h, 0, sizeof(h));
    if (test_xshost_start(&h.xh, "simxs")) return -1;
    *state = &h;
    host_connect(&h);
    return 0;
}

static pid_t host_pid(const struct host *h)
{
    char *path = host_file(h, "pid");
    FILE *f = fopen(path, "r");
    long pid = -1;

    free(path);
    if (!f) return -1;
    if (fscanf(f, "%ld", &pid) != 1) pid = -1;
    fclose(f);
    return (pid_t)pid;
}

/* Gone, or a zombie waiting for its new parent to reap it. */
static bool pid_gone(pid_t pid)
{
    char path[64], buf[512], *p;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    if (!f) return true;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X';
}

static void assert_value(struct xs_handle *xs, xs_transaction_t tx,
                         const char *path, const char *want)
{
    unsigned int len;
    char *v = xs_read(xs, tx, path, &len);

    assert_non_null(v);
    assert_int_equal(len, strlen(want));
    assert_string_equal(v, want);
    free(v);
}

static void write_str(struct xs_handle *xs, xs_transaction_t tx,
                      const char *path, const char *val)
{
    assert_true(xs_write(xs, tx, path, val, strlen(val)));
}

static void assert_watch_fires(struct xs_handle *xs, const char *path,
                               const char *token)
{
    struct pollfd pfd = { .fd = xs_fileno(xs), .events = POLLIN };
    unsigned int num;
    char **vec;

    assert_true(pfd.fd >= 0);
    assert_int_equal(poll(&pfd, 1, WATCH_MS), 1);
    vec = xs_read_watch(xs, &num);
    assert_non_null(vec);
    assert_string_equal(vec[XS_WATCH_PATH], path);
    assert_string_equal(vec[XS_WATCH_TOKEN], token);
    free(vec);
}

static void test_write_then_read(void **state)
{
    struct host *h = *state;
    unsigned int len;

    write_str(h->xs, XBT_NULL, "/a/b", "value");
    assert_value(h->xs, XBT_NULL, "/a/b", "value");
    assert_value(h->xs2, XBT_NULL, "/a/b", "value");
    assert_null(xs_read(h->xs, XBT_NULL, "/missing", &len));
    assert_int_equal(errno, ENOENT);
}

static void test_conflicting_transaction_fails_eagain(void **state)
{
    struct host *h = *state;
    xs_transaction_t tx;
    unsigned int len;

    write_str(h->xs, XBT_NULL, "/c", "before");
    tx = xs_transaction_start(h->xs);
    assert_int_not_equal(tx, XBT_NULL);
    free(xs_read(h->xs, tx, "/c", &len));
    write_str(h->xs2, XBT_NULL, "/c", "outside");
    write_str(h->xs, tx, "/c", "inside");
    assert_false(xs_transaction_end(h->xs, tx, false));
    assert_int_equal(errno, EAGAIN);
    assert_value(h->xs2, XBT_NULL, "/c", "outside");
}

static void test_transaction_commits(void **state)
{
    struct host *h = *state;
    xs_transaction_t tx;
    unsigned int len;

    tx = xs_transaction_start(h->xs);
    assert_int_not_equal(tx, XBT_NULL);
    write_str(h->xs, tx, "/t", "1");
    assert_null(xs_read(h->xs2, XBT_NULL, "/t", &len));
    assert_int_equal(errno, ENOENT);
    assert_true(xs_transaction_end(h->xs, tx, false));
    assert_value(h->xs2, XBT_NULL, "/t", "1");
}

static void test_watch_fires_on_write(void **state)
{
    struct host *h = *state;

    assert_true(xs_watch(h->xs, "/w", "tok"));
    assert_watch_fires(h->xs, "/w", "tok");     /* the initial event */
    write_str(h->xs2, XBT_NULL, "/w/x", "1");
    assert_watch_fires(h->xs, "/w/x", "tok");
    assert_true(xs_unwatch(h->xs, "/w", "tok"));
}

static void test_second_start_fails_exists(void **state)
{
    struct host *h = *state;
    pid_t pid = host_pid(h);

    assert_true(pid > 0);
    assert_int_equal(simxs_start(h->xh.t.ctx, h->xh.dir), XLMIG_E_EXISTS);
    assert_int_equal(host_pid(h), pid);
    write_str(h->xs, XBT_NULL, "/still", "served");
    assert_value(h->xs, XBT_NULL, "/still", "served");
}

/* The test process itself stands in for an unrelated process. */
static void test_stale_pid_file_is_ignored(void **state)
{
    struct host *h = *state;
    char *path = host_file(h, "pid");
    FILE *f;

    host_disconnect(h);
    assert_int_equal(simxs_stop(h->xh.t.ctx, h->xh.dir), XLMIG_OK);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%ld\n", (long)getpid());
    assert_int_equal(fclose(f), 0);
    assert_int_equal(simxs_start(h->xh.t.ctx, h->xh.dir), XLMIG_OK);
    assert_int_not_equal(host_pid(h), getpid());
    host_connect(h);
    write_str(h->xs, XBT_NULL, "/fresh", "1");
    free(path);
}

/* The daemon must bind its own run directory whatever the caller set. */
static void test_caller_xenstored_path_is_not_inherited(void **state)
{
    struct host *h = *state;
    char *decoy = xasprintf("%s/decoy", h->xh.dir);

    host_disconnect(h);
    assert_int_equal(simxs_stop(h->xh.t.ctx, h->xh.dir), XLMIG_OK);
    setenv("XENSTORED_PATH", decoy, 1);
    assert_int_equal(simxs_start(h->xh.t.ctx, h->xh.dir), XLMIG_OK);
    assert_int_equal(access(decoy, F_OK), -1);
    host_connect(h);
    write_str(h->xs, XBT_NULL, "/own", "1");
    free(decoy);
}

static void test_missing_daemon_is_notfound(void **state)
{
    struct host *h = *state;
    char dir[] = "/tmp/test-simxs-none.XXXXXX";

    assert_non_null(mkdtemp(dir));
    setenv("XLMIG_XENSTORED", "/nonexistent/xenstored", 1);
    assert_int_equal(simxs_start(h->xh.t.ctx, dir), XLMIG_E_NOTFOUND);
    unsetenv("XLMIG_XENSTORED");
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(simxs_start(h->xh.t.ctx, "/nonexistent/host"),
                     XLMIG_E_NOTFOUND);
    assert_int_equal(simxs_stop(h->xh.t.ctx, "/nonexistent/host"), XLMIG_OK);
}

static void test_stop_leaves_nothing(void **state)
{
    struct host *h = *state;
    char *pidfile = host_file(h, "pid");
    pid_t pid = host_pid(h);

    assert_true(pid > 0);
    host_disconnect(h);
    assert_int_equal(simxs_stop(h->xh.t.ctx, h->xh.dir), XLMIG_OK);
    assert_true(pid_gone(pid));
    assert_int_equal(access(h->xh.socket, F_OK), -1);
    assert_int_equal(access(pidfile, F_OK), -1);
    assert_int_equal(simxs_stop(h->xh.t.ctx, h->xh.dir), XLMIG_OK);
    free(pidfile);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_then_read,
                                        host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(
            test_conflicting_transaction_fails_eagain,
            host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_transaction_commits,
                                        host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_watch_fires_on_write,
                                        host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_second_start_fails_exists,
                                        host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_stale_pid_file_is_ignored,
                                        host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(
            test_caller_xenstored_path_is_not_inherited,
            host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_missing_daemon_is_notfound,
                                        host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_stop_leaves_nothing,
                                        host_setup, host_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
