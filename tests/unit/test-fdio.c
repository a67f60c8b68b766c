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
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
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

/*
 * writev of more pieces than IOV_MAX, empty ones among them, through a
 * non-blocking pipe far smaller than the data (so writes are partial and
 * hit EAGAIN): the reader gets every byte, in order.
 */
#define TEST_PIECES (IOV_MAX + 300)
static void test_writev_all_partial(void **state)
{
    struct test_ctx *t = *state;
    struct fdio_wait w = fdio_wait_make(5, -1);
    static struct iovec iov[TEST_PIECES];
    static unsigned char data[TEST_PIECES * 700], got[sizeof(data)];
    size_t off = 0, len;
    int p[2], i, status;
    pid_t pid;

    for (i = 0; i < (int)sizeof(data); i++)
        data[i] = (unsigned char)(i * 7 + i / 251);
    for (i = 0; i < TEST_PIECES; i++) {
        len = i % 5 == 3 ? 0 : (size_t)(i * 131) % 1300;
        if (off + len > sizeof(data)) len = sizeof(data) - off;
        iov[i].iov_base = data + off;
        iov[i].iov_len = len;
        off += len;
    }
    assert_int_equal(fdio_pipe(t->ctx, p), 0);
    assert_true(fcntl(p[1], F_SETPIPE_SZ, 4096) > 0);
    assert_true(fdio_set_nonblock(t->ctx, p[1], true) >= 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fdio_close(&p[0]);
        _exit(fdio_writev_all(t->ctx, p[1], iov, TEST_PIECES, &w, "v") ?
              1 : 0);
    }
    fdio_close(&p[1]);
    assert_int_equal(fdio_read_exact(t->ctx, p[0], got, off, &w, "v"), 0);
    assert_memory_equal(got, data, off);
    assert_int_equal(read(p[0], got, 1), 0);            /* nothing more */
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fdio_close_pair(p);
}

static void test_writev_all_edges(void **state)
{
    struct test_ctx *t = *state;
    struct fdio_wait w = fdio_wait_make(1, -1);
    static char big[4 << 20];
    struct iovec iov[3];
    char buf[8];
    int p[2];

    assert_int_equal(fdio_pipe(t->ctx, p), 0);
    /* Nothing, or only empty pieces: done at once. */
    assert_int_equal(fdio_writev_all(t->ctx, p[1], iov, 0, &w, "v"), 0);
    iov[0].iov_base = buf;
    iov[0].iov_len = 0;
    iov[1] = iov[0];
    assert_int_equal(fdio_writev_all(t->ctx, p[1], iov, 2, &w, "v"), 0);
    assert_false(fdio_readable(p[0]));
    /* A full pipe that nobody reads: the stall deadline. */
    assert_true(fdio_set_nonblock(t->ctx, p[1], true) >= 0);
    iov[0].iov_base = "ab";
    iov[0].iov_len = 2;
    iov[1].iov_base = big;
    iov[1].iov_len = sizeof(big);
    iov[2] = iov[0];
    assert_int_equal(fdio_writev_all(t->ctx, p[1], iov, 3, &w, "stream"),
                     XLMIG_E_TIMEDOUT);
    /* A reader gone: the peer. */
    fdio_close(&p[0]);
    iov[0].iov_base = "ab";
    iov[0].iov_len = 2;
    assert_int_equal(fdio_writev_all(t->ctx, p[1], iov, 1, &w, "GO"),
                     XLMIG_E_PEER);
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
        cmocka_unit_test(test_writev_all_partial),
        cmocka_unit_test(test_writev_all_edges),
        cmocka_unit_test(test_ms_until),
    };

    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
