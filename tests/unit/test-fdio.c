/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-fdio.c - bounded fd I/O: a silent peer times out, a closing peer is
 * reported, a cancel fd stops the wait, nothing is read past what is asked.
 * Durable file writes: a symlink or stale file at the temporary name is
 * replaced, never written through; a read-only directory fails cleanly.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
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

/* ---- fdio_write_file ---- */

/* A fresh directory with the paths the tests use in it. */
struct test_dir {
    char dir[32];
    char path[64], tmp[64], victim[64];
};

static void test_dir_make(struct test_dir *d)
{
    strcpy(d->dir, "/tmp/test-fdio-XXXXXX");
    assert_non_null(mkdtemp(d->dir));
    snprintf(d->path, sizeof(d->path), "%s/state", d->dir);
    snprintf(d->tmp, sizeof(d->tmp), "%s/.state.tmp", d->dir);
    snprintf(d->victim, sizeof(d->victim), "%s/victim", d->dir);
}

static void test_dir_remove(struct test_dir *d)
{
    chmod(d->dir, 0700);
    unlink(d->path);
    unlink(d->tmp);
    unlink(d->victim);
    assert_int_equal(rmdir(d->dir), 0);
}

/* The whole of path, which must exist and be a regular file. */
static char *test_slurp(struct test_ctx *t, const char *path)
{
    struct stat st;
    char *text;

    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(fdio_read_file(t->ctx, path, 4096, &text), 0);
    return text;
}

static void test_put(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(close(fd), 0);
}

static void test_write_file_plain(void **state)
{
    struct test_ctx *t = *state;
    struct test_dir d;
    struct stat st;
    char *text;

    test_dir_make(&d);
    assert_int_equal(fdio_write_file(t->ctx, d.path, "one", 3), 0);
    assert_int_equal(fdio_write_file(t->ctx, d.path, "two", 3), 0);
    text = test_slurp(t, d.path);
    assert_string_equal(text, "two");
    free(text);
    assert_int_equal(stat(d.path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(access(d.tmp, F_OK), -1);
    test_dir_remove(&d);
}

/*
 * A symlink planted at the temporary name, to a file or to nowhere: the
 * write succeeds, the link is gone, its target untouched (or not made).
 */
static void test_write_file_symlink_not_followed(void **state)
{
    struct test_ctx *t = *state;
    struct test_dir d;
    char *text;

    test_dir_make(&d);
    test_put(d.victim, "victim", 0644);
    assert_int_equal(symlink(d.victim, d.tmp), 0);
    assert_int_equal(fdio_write_file(t->ctx, d.path, "new", 3), 0);
    text = test_slurp(t, d.victim);
    assert_string_equal(text, "victim");
    free(text);
    text = test_slurp(t, d.path);
    assert_string_equal(text, "new");
    free(text);
    assert_int_equal(access(d.tmp, F_OK), -1);

    assert_int_equal(unlink(d.victim), 0);
    assert_int_equal(symlink(d.victim, d.tmp), 0);      /* dangling */
    assert_int_equal(fdio_write_file(t->ctx, d.path, "newer", 5), 0);
    assert_int_equal(access(d.victim, F_OK), -1);
    text = test_slurp(t, d.path);
    assert_string_equal(text, "newer");
    free(text);
    test_dir_remove(&d);
}

/* A crash left the temporary file behind (longer, another mode). */
static void test_write_file_stale_tmp_replaced(void **state)
{
    struct test_ctx *t = *state;
    struct test_dir d;
    struct stat st;
    char *text;

    test_dir_make(&d);
    test_put(d.tmp, "a stale, half-written and longer state", 0666);
    assert_int_equal(fdio_write_file(t->ctx, d.path, "fresh", 5), 0);
    text = test_slurp(t, d.path);
    assert_string_equal(text, "fresh");
    free(text);
    assert_int_equal(stat(d.path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(access(d.tmp, F_OK), -1);
    test_dir_remove(&d);
}

/* No capabilities (root's CAP_DAC_OVERRIDE would write anyway). */
static int test_drop_caps(void)
{
    struct __user_cap_header_struct hdr = {
        .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];

    memset(data, 0, sizeof(data));
    return (int)syscall(SYS_capset, &hdr, data);
}

/*
 * A read-only directory: a clear error, the old file as it was and no
 * temporary file. In a child without capabilities, as root cannot fail.
 */
static void test_write_file_readonly_dir(void **state)
{
    struct test_ctx *t = *state;
    struct test_dir d;
    int status, rc;
    char *text;
    pid_t pid;

    test_dir_make(&d);
    test_put(d.path, "old", 0600);
    assert_int_equal(chmod(d.dir, 0500), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (test_drop_caps()) _exit(2);
        rc = fdio_write_file(t->ctx, d.path, "new", 3);
        _exit(rc == XLMIG_E_SYSTEM ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    text = test_slurp(t, d.path);
    assert_string_equal(text, "old");
    free(text);
    assert_int_equal(access(d.tmp, F_OK), -1);
    test_dir_remove(&d);
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
        cmocka_unit_test(test_write_file_plain),
        cmocka_unit_test(test_write_file_symlink_not_followed),
        cmocka_unit_test(test_write_file_stale_tmp_replaced),
        cmocka_unit_test(test_write_file_readonly_dir),
    };

    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
