/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-savehelper.c - xlmig-save-helper and hv-libxl's use of it, where
 * no Xen is needed (the lab runs the rest, tests/lab):
 *   - hv-libxl-helper.c: the run-time check (Xen release, the helper's
 *     --check) passes with the helper as built; each way it can fail
 *     gives one warning naming why, and the save keeps libxl's helper
 *     (LIBXL_SAVE_HELPER untouched); the answer is kept; the environment
 *     of a save is set and put back; round reports reach precopy_round
 *     and malformed ones are ignored with a warning;
 *   - the helper as built: what it does not do (restore, checkpointed
 *     streams, other arguments, no XLMIG_PRECOPY) reaches libxl's helper
 *     with the same argv; bad parameters and a host without Xen fail the
 *     save through the protocol (a log message, then `complete` -1,
 *     answered); a libxl that goes away makes it exit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv-libxl.h"
#include "shmsg.h"
#include "test-util.h"

#define TEST_DEADLINE_MS 20000
#define TEST_OUT_MAX (1u << 20)
#define TEST_MSGS_MAX 256
/* Where scripts/install-deps unpacks Xen 4.17's tools (not installed). */
#define TEST_STOCK_HELPER \
    "/var/cache/xlmig/xen-utils-4.17/usr/lib/xen-4.17/bin/libxl-save-helper"

static char test_dir[] = "/tmp/test-savehelper-XXXXXX";

/* ---- a logger that keeps what it is told ---- */

struct test_lg {
    xentoollog_logger vt;
    char text[16384];
    size_t len;
    unsigned warns, errors;
};

static struct test_lg test_log;
static struct xlmig_ctx *test_ctx;

PRINTF_LIKE(5, 0)
static void test_lg_vmessage(xentoollog_logger *lg, xentoollog_level level,
                             int errnoval, const char *context,
                             const char *format, va_list al)
{
    struct test_lg *t = (struct test_lg *)lg;
    int n;

    (void)errnoval;
    (void)context;
    if (level == XTL_WARN) t->warns++;
    if (level >= XTL_ERROR) t->errors++;
    if (t->len + 1 >= sizeof(t->text)) return;
    n = vsnprintf(t->text + t->len, sizeof(t->text) - t->len, format, al);
    if (n > 0) t->len += (size_t)n;
    if (t->len >= sizeof(t->text) - 1) t->len = sizeof(t->text) - 2;
    t->text[t->len++] = '\n';
    t->text[t->len] = '\0';
    if (getenv("XLMIG_TEST_LOG"))
        fprintf(stderr, "%s: %s", xtl_level_to_string(level),
                t->text + t->len - (size_t)(n > 0 ? n : 0) - 1);
}

static void test_lg_progress(xentoollog_logger *lg, const char *context,
                             const char *doing_what, int percent,
                             unsigned long done, unsigned long total)
{
}

static void test_lg_destroy(xentoollog_logger *lg)
{
}

static void test_log_reset(void)
{
    test_log.len = 0;
    test_log.text[0] = '\0';
    test_log.warns = test_log.errors = 0;
}

static const char *const test_envs[] = {
    "LIBXL_SAVE_HELPER", "XLMIG_SAVE_HELPER", PRECOPY_ENV,
    SHMSG_THROTTLE_ENV, SHMSG_STOCK_ENV,
};

static int test_setup(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(test_envs); i++) unsetenv(test_envs[i]);
    test_log_reset();
    return 0;
}

/* A script in the test's directory: its path (static buffer). */
static const char *test_script(const char *name, const char *body,
                               mode_t mode)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", test_dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

/* ---- hv-libxl-helper.c ---- */

/* Not usable with the helper at path for Xen major.minor: why. */
static void test_unusable(const char *path, int major, int minor,
                          const char *why)
{
    struct hv_libxl_helper hs;

    if (path) setenv("XLMIG_SAVE_HELPER", path, 1);
    hv_libxl_helper_init(&hs);
    assert_false(hv_libxl_helper_usable(test_ctx, &hs, major, minor));
    if (!strstr(hs.why, why))
        fail_msg("why \"%s\" does not say \"%s\"", hs.why, why);
    hv_libxl_helper_dispose(&hs);
}

static void test_check_passes(void **state)
{
    struct hv_libxl_helper hs;

    (void)state;
    setenv("XLMIG_SAVE_HELPER", TEST_HELPER, 1);
    hv_libxl_helper_init(&hs);
    assert_true(hv_libxl_helper_usable(test_ctx, &hs, SHMSG_XEN_MAJOR,
                                       SHMSG_XEN_MINOR));
    assert_string_equal(hs.path, TEST_HELPER);
    assert_int_equal(test_log.warns + test_log.errors, 0);
    hv_libxl_helper_dispose(&hs);
}

static void test_check_fails(void **state)
{
    const char *p;

    (void)state;
    test_unusable(TEST_HELPER, 4, 18, "libxl is Xen 4.18's");
    test_unusable(TEST_HELPER, 5, 17, "libxl is Xen 5.17's");
    test_unusable(TEST_HELPER, -1, -1, "does not say which Xen");
    test_unusable("/nonexistent/xlmig-save-helper", 4, 17,
                  "/nonexistent/xlmig-save-helper: No such file");
    p = test_script("noexec", "exit 0", 0644);
    test_unusable(p, 4, 17, "noexec: Permission denied");
    p = test_script("fails", "exit 3", 0755);
    test_unusable(p, 4, 17, "fails --check exited with status 3");
    p = test_script("other", "echo 'xlmig-save-helper 9: Xen 4.18 save "
                    "helper protocol, built with Xen 4.18'", 0755);
    test_unusable(p, 4, 17, "other --check does not say \"Xen 4.17 save "
                  "helper protocol\"");
    p = test_script("killed", "kill -9 $$", 0755);
    test_unusable(p, 4, 17, "killed --check killed by signal 9");
}

/* A save with precopy params whose helper check fails: one warning, and
 * libxl's own helper (its environment untouched). */
static void test_fallback(void **state)
{
    struct precopy_params p;
    struct hv_libxl_helper hs;
    struct hv_wait w;

    (void)state;
    precopy_params_default(&p);
    hv_wait_init(&w);
    w.precopy = &p;
    w.throttle_vcpus = 2;
    setenv("XLMIG_SAVE_HELPER", "/nonexistent/xlmig-save-helper", 1);
    hv_libxl_helper_init(&hs);
    assert_int_equal(hv_libxl_helper_begin(test_ctx, &hs, 4, 17, &w),
                     XLMIG_OK);
    assert_int_equal(test_log.warns, 1);
    assert_non_null(strstr(test_log.text, "xlmig-save-helper not used: "
                           "/nonexistent/xlmig-save-helper: No such file or "
                           "directory; libxc's own precopy policy "
                           "applies"));
    assert_null(getenv("LIBXL_SAVE_HELPER"));
    assert_null(getenv(PRECOPY_ENV));
    assert_null(getenv(SHMSG_THROTTLE_ENV));
    hv_libxl_helper_end(&hs);

    /* Checked once: a good helper now changes nothing for this backend. */
    setenv("XLMIG_SAVE_HELPER", TEST_HELPER, 1);
    assert_int_equal(hv_libxl_helper_begin(test_ctx, &hs, 4, 17, &w),
                     XLMIG_OK);
    assert_int_equal(test_log.warns, 2);
    assert_null(getenv("LIBXL_SAVE_HELPER"));
    hv_libxl_helper_end(&hs);

    /* Version mismatch: the same, why naming the versions. */
    hv_libxl_helper_dispose(&hs);
    hv_libxl_helper_init(&hs);
    assert_int_equal(hv_libxl_helper_begin(test_ctx, &hs, 4, 19, &w),
                     XLMIG_OK);
    assert_non_null(strstr(test_log.text, "xlmig-save-helper not used: "
                           "libxl is Xen 4.19's, the helper speaks Xen "
                           "4.17's protocol; libxc's own precopy policy "
                           "applies"));
    assert_null(getenv("LIBXL_SAVE_HELPER"));
    hv_libxl_helper_end(&hs);
    hv_libxl_helper_dispose(&hs);
}

static void test_env(void **state)
{
    char want[PRECOPY_PARAMS_TEXT_MAX];
    struct precopy_params p;
    struct hv_libxl_helper hs;
    struct hv_wait w;

    (void)state;
    precopy_params_default(&p);
    p.max_downtime_ms = 100;
    p.converge = PRECOPY_CONVERGE_ABORT;
    assert_int_equal(precopy_params_format(&p, want, sizeof(want)), 0);
    hv_wait_init(&w);
    setenv("XLMIG_SAVE_HELPER", TEST_HELPER, 1);
    setenv("LIBXL_SAVE_HELPER", "/admin/own-helper", 1);
    hv_libxl_helper_init(&hs);

    /* No policy asked for: nothing. */
    assert_int_equal(hv_libxl_helper_begin(test_ctx, &hs, 4, 17, &w),
                     XLMIG_OK);
    assert_string_equal(getenv("LIBXL_SAVE_HELPER"), "/admin/own-helper");
    assert_null(getenv(PRECOPY_ENV));
    hv_libxl_helper_end(&hs);

    w.precopy = &p;
    w.throttle_vcpus = 4;
    w.orig_cap = 150;
    assert_int_equal(hv_libxl_helper_begin(test_ctx, &hs, 4, 17, &w),
                     XLMIG_OK);
    assert_string_equal(getenv("LIBXL_SAVE_HELPER"), TEST_HELPER);
    assert_string_equal(getenv(PRECOPY_ENV), want);
    assert_string_equal(getenv(SHMSG_THROTTLE_ENV), "4 150");
    hv_libxl_helper_end(&hs);
    assert_string_equal(getenv("LIBXL_SAVE_HELPER"), "/admin/own-helper");
    assert_null(getenv(PRECOPY_ENV));
    assert_null(getenv(SHMSG_THROTTLE_ENV));

    /* Not allowed to throttle: no XLMIG_THROTTLE, even a stale one. */
    unsetenv("LIBXL_SAVE_HELPER");
    setenv(SHMSG_THROTTLE_ENV, "1 0", 1);
    w.throttle_vcpus = 0;
    hs.aborted = true;          /* a save before that aborted */
    assert_int_equal(hv_libxl_helper_begin(test_ctx, &hs, 4, 17, &w),
                     XLMIG_OK);
    assert_false(hs.aborted);
    assert_string_equal(getenv("LIBXL_SAVE_HELPER"), TEST_HELPER);
    assert_null(getenv(SHMSG_THROTTLE_ENV));
    hv_libxl_helper_end(&hs);
    assert_null(getenv("LIBXL_SAVE_HELPER"));
    assert_int_equal(test_log.warns + test_log.errors, 0);
    hv_libxl_helper_dispose(&hs);
}

struct test_rounds {
    unsigned n, suspending;
    struct precopy_report last;
};

static void test_on_round(void *arg, const struct precopy_report *r)
{
    struct test_rounds *t = arg;

    t->n++;
    t->last = *r;
}

static void test_on_progress(void *arg, enum hv_progress_kind kind,
                             unsigned long done, unsigned long total)
{
    struct test_rounds *t = arg;

    (void)done;
    (void)total;
    if (kind == HV_PROGRESS_SUSPENDING) t->suspending++;
}

static void test_reports(void **state)
{
    struct test_rounds t = { 0 };
    struct hv_libxl_helper hs = { 0 };
    struct precopy_report r;
    char text[PRECOPY_REPORT_TEXT_MAX];
    struct hv_wait w;

    (void)state;
    hv_wait_init(&w);
    w.precopy_round = test_on_round;
    w.progress = test_on_progress;
    w.arg = &t;
    memset(&r, 0, sizeof(r));
    r.round = 3;
    r.dirty_pages = 1234;
    r.round_s = 0.812;
    r.link_rate = 52428800;
    r.dirty_rate = 1500;
    r.predicted_ms = 240;
    r.throttle = 20;
    r.action = PRECOPY_STOP;
    assert_int_equal(precopy_report_format(&r, text, sizeof(text)), 0);
    hv_libxl_helper_report(test_ctx, &hs, &w, text);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.last.round, 3);
    assert_int_equal(t.last.dirty_pages, 1234);
    assert_int_equal(t.last.throttle, 20);
    assert_int_equal(t.last.action, PRECOPY_STOP);
    assert_int_equal(test_log.warns, 0);
    assert_false(hs.aborted);

    /* The suspend request: the save's progress hears it, no round. */
    hv_libxl_helper_report(test_ctx, &hs, &w, PRECOPY_SUSPEND_LINE);
    assert_int_equal(t.suspending, 1);
    assert_int_equal(t.n, 1);
    /* A report that aborts marks the save: libxl's errors after it are
     * its consequences (hv-libxl.c). */
    r.action = PRECOPY_ABORT;
    assert_int_equal(precopy_report_format(&r, text, sizeof(text)), 0);
    hv_libxl_helper_report(test_ctx, &hs, &w, text);
    assert_true(hs.aborted);
    assert_int_equal(t.n, 2);
    r.action = PRECOPY_STOP;
    assert_int_equal(precopy_report_format(&r, text, sizeof(text)), 0);

    hv_libxl_helper_report(test_ctx, &hs, &w, "round=x\x01\x7f");
    hv_libxl_helper_report(test_ctx, &hs, &w, "");
    assert_int_equal(t.n, 2);
    assert_int_equal(test_log.warns, 2);
    assert_non_null(strstr(test_log.text, "malformed precopy report from "
                           "the save helper ignored: \"round=x??\""));
    /* No save waiting, or no one to tell: nothing happens. */
    hv_libxl_helper_report(test_ctx, &hs, NULL, text);
    w.precopy_round = NULL;
    hv_libxl_helper_report(test_ctx, &hs, &w, text);
    assert_int_equal(t.n, 2);
}

/* ---- the helper as built ---- */

struct test_run {
    uint8_t out[TEST_OUT_MAX];
    size_t len;
    struct shmsg msgs[TEST_MSGS_MAX];
    unsigned n;
    int status;
};

static bool test_read_some(int fd, uint8_t *p, size_t len, ssize_t *got)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    int r = poll(&pfd, 1, TEST_DEADLINE_MS);

    if (r <= 0) return false;
    *got = read(fd, p, len);
    return *got >= 0;
}

/*
 * Runs prog (a save helper) with argv and env ("NAME=VALUE", NULL-ended)
 * added to ours, answering each message that wants it (suspend 1, the
 * rest 0) unless reply is false (stdin is closed at once). Its messages,
 * decoded, and its wait status are in t.
 */
struct test_opts {
    bool reply;                     /* answer what wants an answer */
    bool fake_xc;                   /* fake-xc.so in place of libxc */
    int io_fd;                      /* its fd 3 (-1: /dev/null) */
    bool no_reader;                 /* its stdout's reader gone at once */
    const char *term_at;            /* SIGTERM at a log with this text */
};

static void test_run_prog(struct test_run *t, const char *prog,
                          char *const argv[], char *const env[],
                          const struct test_opts *o)
{
    int in[2], out[2], status, io;
    size_t off = 0, used, i;
    uint8_t r[SHMSG_REPLY_SIZE];
    ssize_t got = 0;
    bool termed = false;
    pid_t pid;

    memset(t, 0, sizeof(*t));
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        for (i = 0; env[i]; i++) putenv(env[i]);
        if (o->fake_xc) {
            /* ASan wants to come first; the fake must. */
            const char *a = getenv("ASAN_OPTIONS");
            char *asan = xasprintf("%s%sverify_asan_link_order=0",
                                   a ? a : "", a ? ":" : "");

            setenv("LD_PRELOAD", TEST_FAKE_XC, 1);
            setenv("ASAN_OPTIONS", asan, 1);
        }
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0) _exit(127);
        io = o->io_fd >= 0 ? o->io_fd : open("/dev/null", O_WRONLY);
        if (io < 0 || (io == 3 ? fcntl(io, F_SETFD, 0) : dup2(io, 3)) < 0)
            _exit(127);
        if (!getenv("XLMIG_TEST_LOG")) {
            int null = open("/dev/null", O_WRONLY);

            if (null < 0 || dup2(null, 2) < 0) _exit(127);
        }
        execv(prog, argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (!o->reply) close(in[1]);
    if (o->no_reader) {
        close(out[0]);
        if (o->reply) close(in[1]);
        assert_int_equal(waitpid(pid, &t->status, 0), pid);
        return;
    }
    for (;;) {
        if (!test_read_some(out[0], t->out + t->len,
                            sizeof(t->out) - t->len, &got)) {
            kill(pid, SIGKILL);
            fail_msg("the helper said nothing for %d ms", TEST_DEADLINE_MS);
        }
        if (!got) break;
        t->len += (size_t)got;
        while (t->n < TEST_MSGS_MAX &&
               !shmsg_decode(t->out + off, t->len - off, &t->msgs[t->n],
                             &used)) {
            off += used;
            if (o->reply && shmsg_wants_reply(t->msgs[t->n].type)) {
                shmsg_reply_encode(t->msgs[t->n].type == SHMSG_SUSPEND, r);
                assert_int_equal(write(in[1], r, sizeof(r)), sizeof(r));
            }
            if (o->term_at && !termed && t->msgs[t->n].type == SHMSG_LOG &&
                strstr(t->msgs[t->n].u.log.text, o->term_at)) {
                assert_int_equal(kill(pid, SIGTERM), 0);
                termed = true;
            }
            t->n++;
        }
    }
    assert_int_equal(off, t->len);          /* whole messages only */
    close(out[0]);
    if (o->reply) close(in[1]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    t->status = status;
    if (o->term_at) assert_true(termed);
}

static void test_helper(struct test_run *t, char *const argv[],
                        char *const env[], bool reply)
{
    struct test_opts o = { .reply = reply, .io_fd = -1 };

    test_run_prog(t, TEST_HELPER, argv, env, &o);
}

/* The index of the first (or last) message of type with text in it (a
 * log's; NULL: any), or -1. */
static int test_match(const struct test_run *t, enum shmsg_type type,
                      const char *text, bool last)
{
    unsigned k;
    int i;

    for (k = 0; k < t->n; k++) {
        i = last ? (int)(t->n - 1 - k) : (int)k;
        if (t->msgs[i].type != type) continue;
        if (!text || (type == SHMSG_LOG &&
                      strstr(t->msgs[i].u.log.text, text)))
            return i;
    }
    return -1;
}
#define test_find(t, type, text) test_match((t), (type), (text), false)
#define test_find_last(t, type, text) test_match((t), (type), (text), true)

/* Each of these is handed to the stock helper, argv unchanged. */
static void test_stock(void **state)
{
    static struct test_run t;
    char argfile[256], env_stock[300], got[1024];
    char *const restore[] = { "h", "--restore-domain", "4", "5", "7", "1",
                              "0", "2", "0", "256", "0", NULL };
    char *const save[] = { "h", "--save-domain", "11", "-1", "3", "1",
                           "136", "0", NULL };
    char *const remus[] = { "h", "--save-domain", "11", "-1", "3", "1",
                            "184", "1", NULL };
    char *const odd[] = { "h", "--save-domain", "11", "-1", "3", "1",
                          "136", "0", "extra", NULL };
    char *const none[] = { "h", NULL };
    char *const *argvs[] = { restore, save, remus, odd, none };
    char params[] = PRECOPY_ENV "=downtime=300 converge=throttle rounds=30 "
                    "time=0 fixed=100";
    char *env_noparams[] = { env_stock, NULL };
    char *env_params[] = { env_stock, params, NULL };
    const char *stock;
    size_t i, j, len;
    FILE *f;

    (void)state;
    snprintf(argfile, sizeof(argfile), "%s/stock-argv", test_dir);
    snprintf(got, sizeof(got), "for a; do echo \"$a\"; done >%s; exit 7",
             argfile);
    stock = test_script("stock", got, 0755);
    snprintf(env_stock, sizeof(env_stock), "%s=%s", SHMSG_STOCK_ENV, stock);
    for (i = 0; i < ARRAY_SIZE(argvs); i++) {
        unlink(argfile);
        /* A save without XLMIG_PRECOPY: stock; the others even with. */
        test_helper(&t, (char *const *)argvs[i],
                    argvs[i] == save ? env_noparams : env_params, true);
        assert_true(WIFEXITED(t.status));
        assert_int_equal(WEXITSTATUS(t.status), 7);
        assert_int_equal(t.n, 0);
        f = fopen(argfile, "r");
        assert_non_null(f);
        len = fread(got, 1, sizeof(got) - 1, f);
        fclose(f);
        got[len] = '\0';
        for (j = 1, len = 0; argvs[i][j]; j++) {
            assert_memory_equal(got + len, argvs[i][j],
                                strlen(argvs[i][j]));
            len += strlen(argvs[i][j]);
            assert_int_equal(got[len++], '\n');
        }
        assert_int_equal(got[len], '\0');
    }
}

/* libxl's helper missing: said on the protocol, and a failure. */
static void test_stock_missing(void **state)
{
    static struct test_run t;
    char *const restore[] = { "h", "--restore-domain", "4", "5", "7", "1",
                              "0", "2", "0", "256", "0", NULL };
    char env_stock[] = SHMSG_STOCK_ENV "=/nonexistent/libxl-save-helper";
    char *env[] = { env_stock, NULL };
    int i;

    (void)state;
    test_helper(&t, restore, env, true);
    assert_true(WIFEXITED(t.status));
    assert_int_equal(WEXITSTATUS(t.status), 1);
    i = test_find(&t, SHMSG_LOG, "cannot run libxl's save helper "
                  "/nonexistent/libxl-save-helper");
    assert_true(i >= 0);
    assert_int_equal(t.msgs[i].u.log.level, XTL_ERROR);
    assert_int_equal(t.msgs[i].u.log.errnoval, ENOENT);
}

/*
 * A save that cannot start: the error as a log message, then `complete`
 * -1 with an errno, answered, and exit 0 (as libxl's own helper).
 */
static void test_failed_save(char *const env[], const char *why, int err)
{
    static struct test_run t;
    char *const save[] = { "h", "--save-domain", "11", "-1", "3", "1",
                           "136", "0", NULL };
    int i, c;

    test_helper(&t, save, env, true);
    assert_true(WIFEXITED(t.status));
    assert_int_equal(WEXITSTATUS(t.status), 0);
    i = test_find(&t, SHMSG_LOG, why);
    if (i < 0) fail_msg("no log message \"%s\"", why);
    assert_int_equal(t.msgs[i].u.log.level, XTL_ERROR);
    assert_string_equal(t.msgs[i].u.log.context, "xlmig-save-helper");
    c = test_find(&t, SHMSG_COMPLETE, NULL);
    assert_int_equal(c, (int)t.n - 1);
    assert_true(c > i);
    assert_int_equal(t.msgs[c].u.complete.retval, -1);
    if (err) assert_int_equal(t.msgs[c].u.complete.errnoval, err);
    else assert_true(t.msgs[c].u.complete.errnoval > 0);
    assert_int_equal(test_find(&t, SHMSG_SUSPEND, NULL), -1);
}

static void test_bad_env(void **state)
{
    char bad[] = PRECOPY_ENV "=downtime=abc";
    char good[] = PRECOPY_ENV "=downtime=300 converge=throttle rounds=30 "
                  "time=0 fixed=100";
    char thr[] = SHMSG_THROTTLE_ENV "=4";
    char *env1[] = { bad, NULL };
    char *env2[] = { good, thr, NULL };

    (void)state;
    test_failed_save(env1, "XLMIG_PRECOPY is not valid precopy parameters: "
                     "\"downtime=abc\"", EINVAL);
    test_failed_save(env2, "XLMIG_THROTTLE is not \"VCPUS ORIGCAP\": "
                     "\"4\"", EINVAL);
}

/* This host has no Xen: libxc says why, through the protocol. */
static void test_no_xen(void **state)
{
    static struct test_run t;
    char good[] = PRECOPY_ENV "=downtime=300 converge=throttle rounds=30 "
                  "time=0 fixed=100";
    char thr[] = SHMSG_THROTTLE_ENV "=2 0";
    char *env[] = { good, thr, NULL };
    char *const save[] = { "h", "--save-domain", "11", "-1", "3", "1",
                           "136", "0", NULL };

    (void)state;
    if (!access("/dev/xen/privcmd", F_OK)) skip();
    test_failed_save(env, "xc_interface_open failed", 0);
    /* libxc's own message came first, forwarded. */
    test_helper(&t, save, env, true);
    assert_true(test_find(&t, SHMSG_LOG, "privileged command interface")
                >= 0);
}

/* libxl gone before it answers: no `complete` to wait for forever. */
static void test_no_reply(void **state)
{
    static struct test_run t;
    char bad[] = PRECOPY_ENV "=nonsense";
    char *env[] = { bad, NULL };
    char *const save[] = { "h", "--save-domain", "11", "-1", "3", "1",
                           "136", "0", NULL };

    (void)state;
    test_helper(&t, save, env, false);
    assert_true(WIFEXITED(t.status));
    assert_int_equal(WEXITSTATUS(t.status), 2);
    assert_true(test_find(&t, SHMSG_COMPLETE, NULL) >= 0);
}

static void test_check_output(void **state)
{
    char want[64], out[512];
    FILE *f;
    size_t n;

    (void)state;
    f = popen(TEST_HELPER " --check", "r");
    assert_non_null(f);
    n = fread(out, 1, sizeof(out) - 1, f);
    out[n] = '\0';
    assert_int_equal(pclose(f), 0);
    snprintf(want, sizeof(want), "Xen %d.%d save helper protocol",
             SHMSG_XEN_MAJOR, SHMSG_XEN_MINOR);
    assert_non_null(strstr(out, want));
}

/*
 * Xen 4.17's own helper, run where it fails without Xen, says the same
 * as ours: its output decodes (whole messages, each valid), and libxc's
 * message about the missing hypervisor is, byte for byte, what ours
 * forwards.
 */
static void test_same_as_stock(void **state)
{
    static struct test_run stock, ours;
    static uint8_t wire[SHMSG_WIRE_MAX];
    char good[] = PRECOPY_ENV "=downtime=300 converge=throttle rounds=30 "
                  "time=0 fixed=100";
    char *env_stock[] = { NULL };
    char *env_ours[] = { good, NULL };
    char *const save[] = { "h", "--save-domain", "11", "-1", "3", "1",
                           "136", "0", NULL };
    const char *prog = TEST_STOCK_HELPER;
    size_t n;
    int i;

    (void)state;
    if (!access("/dev/xen/privcmd", F_OK)) skip();
    if (access(prog, X_OK)) prog = XEN_LIBEXEC_BIN "/libxl-save-helper";
    if (access(prog, X_OK))
        fail_msg("no libxl-save-helper of Xen 4.17 in %s or %s: run "
                 "scripts/install-deps", TEST_STOCK_HELPER, prog);
    test_run_prog(&stock, prog, save, env_stock,
                  &(struct test_opts){ .reply = true, .io_fd = -1 });
    assert_true(WIFEXITED(stock.status));
    assert_int_equal(WEXITSTATUS(stock.status), 255);
    assert_true(stock.n >= 3);
    assert_int_equal(stock.msgs[0].type, SHMSG_LOG);
    assert_string_equal(stock.msgs[0].u.log.context, "libxl-save-helper");
    assert_string_equal(stock.msgs[0].u.log.text, "starting save");
    assert_int_equal(stock.msgs[0].u.log.level, XTL_DEBUG);
    i = test_find(&stock, SHMSG_LOG, "xc_interface_open failed");
    assert_true(i > 0);
    assert_int_equal(stock.msgs[i].u.log.level, XTL_ERROR);
    assert_int_equal(stock.msgs[i].u.log.errnoval, ENOENT);

    test_helper(&ours, save, env_ours, true);
    i = test_find(&stock, SHMSG_LOG, "privileged command interface");
    assert_true(i > 0);
    assert_int_equal(shmsg_encode(&stock.msgs[i], wire, sizeof(wire), &n),
                     XLMIG_OK);
    assert_non_null(memmem(stock.out, stock.len, wire, n));
    assert_non_null(memmem(ours.out, ours.len, wire, n));
}

/* ---- the helper's saves, libxc faked (fake-xc.c) ---- */

#define TEST_SAVE_ARGV \
    { "h", "--save-domain", "3", "-1", "7", "1", "136", "0", NULL }

/* The rounds' reports in t, parsed: how many (at most max). */
static unsigned test_reports_of(const struct test_run *t,
                                struct precopy_report *r, unsigned max)
{
    unsigned i, n = 0;

    for (i = 0; i < t->n && n < max; i++) {
        if (t->msgs[i].type != SHMSG_LOG ||
            strcmp(t->msgs[i].u.log.context, PRECOPY_LOG_CONTEXT))
            continue;
        assert_int_equal(t->msgs[i].u.log.level, XTL_INFO);
        /* The suspend request's line: right before the suspend. */
        if (!strcmp(t->msgs[i].u.log.text, PRECOPY_SUSPEND_LINE)) {
            assert_true(i + 1 < t->n);
            assert_int_equal(t->msgs[i + 1].type, SHMSG_SUSPEND);
            continue;
        }
        if (precopy_report_parse(t->msgs[i].u.log.text, &r[n]))
            fail_msg("bad report \"%s\"", t->msgs[i].u.log.text);
        assert_int_equal(r[n].round, n + 1);
        n++;
    }
    return n;
}

/* It ran, and ended with `complete` retval (answered: exit 0). */
static void test_completed(const struct test_run *t, int retval)
{
    int c = test_find(t, SHMSG_COMPLETE, NULL);

    assert_true(WIFEXITED(t->status));
    assert_int_equal(WEXITSTATUS(t->status), 0);
    assert_true(c >= 0);
    assert_int_equal(c, test_find_last(t, SHMSG_COMPLETE, NULL));
    assert_int_equal(t->msgs[c].u.complete.retval, retval);
    /* Nothing after it but logs. */
    for (c++; c < (int)t->n; c++)
        assert_int_equal(t->msgs[c].type, SHMSG_LOG);
}

/*
 * A guest that converges: the policy stops after round 2 (a huge
 * target); the helper tells libxl each round, switches log-dirty and
 * suspends through libxl, in libxc's order.
 */
static void test_save_stops(void **state)
{
    static struct test_run t;
    struct precopy_report r[8];
    char *const argv[] = TEST_SAVE_ARGV;
    char p[] = PRECOPY_ENV "=downtime=3600000 converge=force rounds=30 "
               "time=0 fixed=0";
    char rounds[] = "FAKE_XC_ROUNDS=1000,500,200";
    char *env[] = { p, rounds, NULL };
    struct test_opts o = { .reply = true, .fake_xc = true, .io_fd = -1 };
    int on, sus, off, rep2;

    (void)state;
    test_run_prog(&t, TEST_HELPER, argv, env, &o);
    test_completed(&t, 0);
    assert_int_equal(test_reports_of(&t, r, 8), 2);
    assert_int_equal(r[0].dirty_pages, 1000);
    assert_int_equal(r[0].action, PRECOPY_CONTINUE);
    assert_true(r[0].link_rate > 0);
    assert_int_equal(r[1].dirty_pages, 500);
    assert_int_equal(r[1].action, PRECOPY_STOP);
    assert_true(r[1].predicted_ms >= 0);
    on = test_find(&t, SHMSG_SWITCH_QEMU_LOGDIRTY, NULL);
    off = test_find_last(&t, SHMSG_SWITCH_QEMU_LOGDIRTY, NULL);
    sus = test_find(&t, SHMSG_SUSPEND, NULL);
    rep2 = test_find_last(&t, SHMSG_LOG, "round=2 ");
    assert_true(on >= 0 && on < rep2 && rep2 < sus && sus < off);
    assert_int_equal(t.msgs[on].u.logdirty.domid, 7);
    assert_int_equal(t.msgs[on].u.logdirty.enable, 1);
    assert_int_equal(t.msgs[off].u.logdirty.enable, 0);
    assert_int_equal(test_find_last(&t, SHMSG_SUSPEND, NULL), sus);
    /* xlmig counts the downtime from the line before the suspend. */
    assert_int_equal(t.msgs[sus - 1].type, SHMSG_LOG);
    assert_string_equal(t.msgs[sus - 1].u.log.context, PRECOPY_LOG_CONTEXT);
    assert_string_equal(t.msgs[sus - 1].u.log.text, PRECOPY_SUSPEND_LINE);
    assert_true(test_find(&t, SHMSG_LOG, "End of stream") > sus);
    assert_int_equal(test_find(&t, SHMSG_LOG, "cap of"), -1);
}

/*
 * A guest that never converges (its rounds take 20 ms, it dirties as
 * much as they send: about 20 ms of downtime against a target of 5),
 * allowed to be throttled on credit2 with 2 vCPUs: the cap goes down
 * in steps as the reports say, and is back to the original before
 * `complete`.
 */
#define TEST_SLOW "FAKE_XC_ROUND_MS=20"
static void test_save_throttles(void **state)
{
    static struct test_run t;
    struct precopy_report r[32];
    char *const argv[] = TEST_SAVE_ARGV;
    char p[] = PRECOPY_ENV "=downtime=5 converge=throttle rounds=30 "
               "time=0 fixed=0";
    char thr[] = SHMSG_THROTTLE_ENV "=2 0";
    char slow[] = TEST_SLOW;
    char *env[] = { p, thr, slow, NULL };
    struct test_opts o = { .reply = true, .fake_xc = true, .io_fd = -1 };
    unsigned n, i, last = 0;
    int cap, prev_cap = -1, c;
    char want[64];

    (void)state;
    test_run_prog(&t, TEST_HELPER, argv, env, &o);
    test_completed(&t, 0);
    n = test_reports_of(&t, r, 32);
    assert_int_equal(r[n - 1].action, PRECOPY_STOP);
    assert_true(r[n - 1].throttle >= 20);
    assert_non_null(strstr(r[n - 1].why, "throttled"));
    /* Each throttle the reports name was a cap set before the report. */
    for (i = 0; i < n; i++) {
        if (r[i].throttle == last) continue;
        assert_true(r[i].throttle > last);
        last = r[i].throttle;
        cap = (int)precopy_cap(last, 2, 0);
        snprintf(want, sizeof(want), "credit2 cap of 7: %d ", cap);
        c = test_find(&t, SHMSG_LOG, want);
        assert_true(c >= 0 && c > prev_cap);
        prev_cap = c;
    }
    /* Back to no cap before the guest is asked to suspend: a throttled
     * guest freezes slowly, and its freeze is downtime. */
    c = test_find_last(&t, SHMSG_LOG, "credit2 cap of 7: ");
    assert_non_null(strstr(t.msgs[c].u.log.text, "cap of 7: 0 "));
    assert_true(c < test_find(&t, SHMSG_SUSPEND, NULL));
    assert_true(test_find(&t, SHMSG_LOG, "scheduler cap 0 restored") > c);
    assert_true(test_find(&t, SHMSG_LOG, "scheduler cap 0 restored") <
                test_find(&t, SHMSG_SUSPEND, NULL));
}

/* converge=abort: the save fails before suspending, naming the rates. */
static void test_save_aborts(void **state)
{
    static struct test_run t;
    struct precopy_report r[32];
    char *const argv[] = TEST_SAVE_ARGV;
    char p[] = PRECOPY_ENV "=downtime=5 converge=abort rounds=30 time=0 "
               "fixed=0";
    char slow[] = TEST_SLOW;
    char *env[] = { p, slow, NULL };
    struct test_opts o = { .reply = true, .fake_xc = true, .io_fd = -1 };
    unsigned n;
    int e;

    (void)state;
    test_run_prog(&t, TEST_HELPER, argv, env, &o);
    test_completed(&t, -1);
    n = test_reports_of(&t, r, 32);
    assert_true(n >= 2);
    assert_int_equal(r[n - 1].action, PRECOPY_ABORT);
    e = test_find(&t, SHMSG_LOG, "domain 7 does not converge, precopy "
                  "aborted after round");
    assert_true(e >= 0);
    assert_int_equal(t.msgs[e].u.log.level, XTL_ERROR);
    /* In its own context: xlmig shows it, libxl's after-effects not. */
    assert_string_equal(t.msgs[e].u.log.context, PRECOPY_HELPER_CONTEXT);
    assert_non_null(strstr(t.msgs[e].u.log.text, r[n - 1].why));
    assert_true(test_find(&t, SHMSG_LOG, "Abort precopy loop") > e);
    assert_int_equal(test_find(&t, SHMSG_SUSPEND, NULL), -1);
}

/*
 * A guest that never converges, allowed to be throttled (2 vCPUs), with
 * one more fake setting that keeps it from being throttled: it ends
 * forced, every report without a throttle, the last saying there is no
 * cap.
 */
static void test_save_unthrottled(struct test_run *t, char *fake)
{
    struct precopy_report r[32];
    char *const argv[] = TEST_SAVE_ARGV;
    char p[] = PRECOPY_ENV "=downtime=5 converge=throttle rounds=30 "
               "time=0 fixed=0";
    char thr[] = SHMSG_THROTTLE_ENV "=2 0";
    char slow[] = TEST_SLOW;
    char *env[] = { p, thr, fake, slow, NULL };
    struct test_opts o = { .reply = true, .fake_xc = true, .io_fd = -1 };
    unsigned n, i;

    test_run_prog(t, TEST_HELPER, argv, env, &o);
    test_completed(t, 0);
    n = test_reports_of(t, r, 32);
    for (i = 0; i < n; i++) assert_int_equal(r[i].throttle, 0);
    assert_int_equal(r[n - 1].action, PRECOPY_STOP);
    assert_non_null(strstr(r[n - 1].why, "no cap"));
}

/* A scheduler without caps: a warning, and force instead of throttle. */
static void test_save_no_cap(void **state)
{
    static struct test_run t;
    char sched[] = "FAKE_XC_SCHED=null";
    int w;

    (void)state;
    test_save_unthrottled(&t, sched);
    w = test_find(&t, SHMSG_LOG, "has no cap: it will not be throttled");
    assert_true(w >= 0);
    assert_int_equal(t.msgs[w].u.log.level, XTL_WARN);
    assert_int_equal(test_find(&t, SHMSG_LOG, "cap of"), -1);
}

/*
 * libxl aborts (SIGTERM) while a round is blocked writing the stream,
 * the guest throttled: the stream fd becomes unwritable, libxc fails
 * and cleans up, the cap is restored, and libxl gets `complete` -1
 * EBADF as from its own helper.
 */
static void test_save_sigterm(void **state)
{
    static struct test_run t;
    char *const argv[] = TEST_SAVE_ARGV;
    char p[] = PRECOPY_ENV "=downtime=5 converge=throttle rounds=30 "
               "time=0 fixed=0";
    char thr[] = SHMSG_THROTTLE_ENV "=2 0";
    char sched[] = "FAKE_XC_SCHED=credit";
    char block[] = "FAKE_XC_BLOCK=1";       /* once throttled */
    char rounds[] = "FAKE_XC_ROUNDS=1";     /* 16 fit in the pipe */
    char slow[] = TEST_SLOW;
    char *env[] = { p, thr, sched, block, rounds, slow, NULL };
    struct test_opts o = { .reply = true, .fake_xc = true,
                           .term_at = "writing until it fails" };
    int io[2], c, set, back;

    (void)state;
    assert_int_equal(pipe2(io, O_CLOEXEC), 0);  /* nobody reads it */
    o.io_fd = io[1];
    test_run_prog(&t, TEST_HELPER, argv, env, &o);
    close(io[0]);
    close(io[1]);
    test_completed(&t, -1);
    c = test_find(&t, SHMSG_COMPLETE, NULL);
    assert_int_equal(t.msgs[c].u.complete.errnoval, EBADF);
    assert_true(test_find(&t, SHMSG_LOG, "Bad file descriptor") >= 0);
    set = test_find(&t, SHMSG_LOG, "credit cap of 7: 160 ");
    back = test_find_last(&t, SHMSG_LOG, "credit cap of 7: 0 ");
    assert_true(set >= 0 && back > set && back < c);
    assert_int_equal(test_find(&t, SHMSG_SUSPEND, NULL), -1);
}

/* A cap that cannot be set: said, and the guest is forced instead. */
static void test_save_cap_fails(void **state)
{
    static struct test_run t;
    char fails[] = "FAKE_XC_CAP_FAIL=1";
    int e;

    (void)state;
    test_save_unthrottled(&t, fails);
    e = test_find(&t, SHMSG_LOG, "cannot set the scheduler cap of domain 7 "
                  "to 160");
    assert_true(e >= 0);
    assert_int_equal(t.msgs[e].u.log.level, XTL_ERROR);
    assert_int_equal(t.msgs[e].u.log.errnoval, EPERM);
    assert_true(test_find(&t, SHMSG_SUSPEND, NULL) >= 0);
}

/* libxl's end of its stdout gone: the helper fails, not killed. */
static void test_no_reader(void **state)
{
    static struct test_run t;
    char *const argv[] = TEST_SAVE_ARGV;
    char p[] = PRECOPY_ENV "=downtime=300 converge=force rounds=30 "
               "time=0 fixed=100";
    char *env[] = { p, NULL };
    struct test_opts o = { .reply = true, .fake_xc = true, .io_fd = -1,
                           .no_reader = true };

    (void)state;
    test_run_prog(&t, TEST_HELPER, argv, env, &o);
    assert_true(WIFEXITED(t.status));
    assert_int_equal(WEXITSTATUS(t.status), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_check_passes, test_setup),
        cmocka_unit_test_setup(test_check_fails, test_setup),
        cmocka_unit_test_setup(test_fallback, test_setup),
        cmocka_unit_test_setup(test_env, test_setup),
        cmocka_unit_test_setup(test_reports, test_setup),
        cmocka_unit_test_setup(test_check_output, test_setup),
        cmocka_unit_test_setup(test_stock, test_setup),
        cmocka_unit_test_setup(test_stock_missing, test_setup),
        cmocka_unit_test_setup(test_bad_env, test_setup),
        cmocka_unit_test_setup(test_no_xen, test_setup),
        cmocka_unit_test_setup(test_no_reply, test_setup),
        cmocka_unit_test_setup(test_same_as_stock, test_setup),
        cmocka_unit_test_setup(test_save_stops, test_setup),
        cmocka_unit_test_setup(test_save_throttles, test_setup),
        cmocka_unit_test_setup(test_save_aborts, test_setup),
        cmocka_unit_test_setup(test_save_no_cap, test_setup),
        cmocka_unit_test_setup(test_save_sigterm, test_setup),
        cmocka_unit_test_setup(test_save_cap_fails, test_setup),
        cmocka_unit_test_setup(test_no_reader, test_setup),
    };
    int rc;

    test_log.vt.vmessage = test_lg_vmessage;
    test_log.vt.progress = test_lg_progress;
    test_log.vt.destroy = test_lg_destroy;
    if (!mkdtemp(test_dir) ||
        xlmig_ctx_new(&test_ctx, &test_log.vt, "libxl"))
        abort();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    xlmig_ctx_free(test_ctx);
    test_rm_rf(test_dir);
    return rc;
}
