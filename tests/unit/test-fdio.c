/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-fdio.c - bounded fd I/O: a silent peer times out, a closing peer is
 * reported, a cancel fd stops the wait, nothing is read past what is asked.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fdio.h"
#include "test-util.h"

static int test_setup(void **state)
{
    static struct test_ctx t;

    signal(SIGPIPE, SIG_IGN);
    test_ctx_open(&t);
    *state = &t;
    return 0;
}

static int test_teardown(void **state)
{
    test_ctx_close(*state);
    return 0;
}

static void test_read_exact_gets_all(void **state)
{
    struct test_ctx *t = *state;
    struct fdio_wait w = fdio_wait_make(5, -1);
    int p[2];
    char buf[8];

    assert_int_equal(fdio_pipe(t->ctx, p), 0);
    assert_int_equal(write(p[1], "abcdefgh", 8), 8);
    assert_int_equal(fdio_read_exact(t->ctx, p[0], buf, 5, &w, "x"), 0);
    assert_memory_equal(buf, "abcde", 5);
    /* The rest is still in the pipe: nothing was read ahead. */
    assert_int_equal(read(p[0], buf, 8), 3);
    fdio_close_pair(p);
}

static void test_silent_peer_times_out(void **state)
{
    struct test_ctx *t = *state;
    struct fdio_wait w = fdio_wait_make(1, -1);
    int p[2];
    char buf[4];
    double t0;

    assert_int_equal(fdio_pipe(t->ctx, p), 0);
    t0 = ctx_now(t->ctx);
    assert_int_equal(fdio_read_exact(t->ctx, p[0], buf, 4, &w, "banner"),
                     XLMIG_E_TIMEDOUT);
    assert_true(ctx_now(t->ctx) - t0 >= 0.9);
    fdio_close_pair(p);
}

static void test_closed_peer_is_reported(void **state)
{
    struct test_ctx *t = *state;
    struct fdio_wait w = fdio_wait_make(5, -1);
    int p[2];
    char buf[4];

    assert_int_equal(fdio_pipe(t->ctx, p), 0);
    assert_int_equal(write(p[1], "ab", 2), 2);
    fdio_close(&p[1]);
    assert_int_equal(fdio_read_exact(t->ctx, p[0], buf, 4, &w, "GO"),
                     XLMIG_E_PEER);
    fdio_close_pair(p);
}

static void test_cancel_fd_stops_the_wait(void **state)
{
    struct test_ctx *t = *state;
    int p[2], c[2];
    struct fdio_wait w;
    char buf[4];

    assert_int_equal(fdio_pipe(t->ctx, p), 0);
    assert_int_equal(fdio_pipe(t->ctx, c), 0);
    w = fdio_wait_make(0, c[0]);                /* no timeout at all */
    assert_int_equal(write(c[1], "x", 1), 1);
    assert_int_equal(fdio_read_exact(t->ctx, p[0], buf, 4, &w, "ready"),
                     XLMIG_E_CANCELLED);
    w.cancel_fds[0] = -1;
    w.cancel_fds[1] = c[0];                     /* the second slot too */
    assert_int_equal(fdio_read_exact(t->ctx, p[0], buf, 4, &w, "ready"),
                     XLMIG_E_CANCELLED);
    fdio_close_pair(p);
    fdio_close_pair(c);
}

static void test_write_to_gone_reader(void **state)
{
    struct test_ctx *t = *state;
    struct fdio_wait w = fdio_wait_make(5, -1);
    int p[2];

    assert_int_equal(fdio_pipe(t->ctx, p), 0);
    fdio_close(&p[0]);
    assert_int_equal(fdio_write_all(t->ctx, p[1], "abc", 3, &w, "GO"),
                     XLMIG_E_PEER);
    fdio_close_pair(p);
}

static void test_full_pipe_write_times_out(void **state)
{
    struct test_ctx *t = *state;
    struct fdio_wait w = fdio_wait_make(1, -1);
    static char big[4 << 20];
    int p[2];

    assert_int_equal(fdio_pipe(t->ctx, p), 0);
    assert_true(fdio_set_nonblock(t->ctx, p[1], true) >= 0);
    assert_int_equal(fdio_write_all(t->ctx, p[1], big, sizeof(big), &w,
                                    "stream"), XLMIG_E_TIMEDOUT);
    fdio_close_pair(p);
}

static void test_ms_until(void **state)
{
    struct test_ctx *t = *state;

    assert_int_equal(fdio_ms_until(t->ctx, 0), -1);
    assert_int_equal(fdio_ms_until(t->ctx, ctx_now(t->ctx) - 1), 0);
    assert_true(fdio_ms_until(t->ctx, ctx_now(t->ctx) + 2) > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_exact_gets_all),
        cmocka_unit_test(test_silent_peer_times_out),
        cmocka_unit_test(test_closed_peer_is_reported),
        cmocka_unit_test(test_cancel_fd_stops_the_wait),
        cmocka_unit_test(test_write_to_gone_reader),
        cmocka_unit_test(test_full_pipe_write_times_out),
        cmocka_unit_test(test_ms_until),
    };

    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
