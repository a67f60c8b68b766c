/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-checkd.c - the admin's check scripts (checkd.c) run by checkd_run()
 * from a temporary checks.d: only the documented environment, no fd of
 * ours, a private config file removed afterwards, peer strings as data,
 * and the deadlines (XLMIG_CHECKS_TIMEOUT shortens them): each script's,
 * with its process group killed, and the side's total.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "test-util.h"
#include "domcfg.h"
#include "preflight.h"

#define TEST_UUID "5d3f2a8e-6c1b-4e7a-9f00-1234567890ab"
#define TEST_JSON "{\"c_info\": {\"name\": \"vm1\"}}"
#define TEST_PATH \
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct test_checkd {
    struct test_ctx t;
    char top[32];               /* the temporary directory */
    char dir[64];               /* top/checks.d */
    struct pf_report rep;
};

static int test_setup(void **state)
{
    static struct test_checkd tc;

    test_ctx_open(&tc.t);
    strcpy(tc.top, "/tmp/test-checkd-XXXXXX");
    if (!mkdtemp(tc.top)) return -1;
    snprintf(tc.dir, sizeof(tc.dir), "%s/checks.d", tc.top);
    if (mkdir(tc.dir, 0700)) return -1;
    setenv("XLMIG_CHECKS_DIR", tc.dir, 1);
    *state = &tc;
    return 0;
}

/* Removes the files of dir (not its subdirectories). */
static void test_empty_dir(const char *dir)
{
    struct dirent *de;
    char *path;
    DIR *dp = opendir(dir);

    assert_non_null(dp);
    while ((de = readdir(dp))) {
        if (de->d_name[0] == '.') continue;
        path = xasprintf("%s/%s", dir, de->d_name);
        if (unlink(path)) assert_int_equal(errno, EISDIR);
        free(path);
    }
    closedir(dp);
}

static int test_teardown(void **state)
{
    struct test_checkd *tc = *state;

    test_empty_dir(tc->dir);
    rmdir(tc->dir);
    test_empty_dir(tc->top);
    rmdir(tc->top);
    test_ctx_close(&tc->t);
    return 0;
}

static int test_begin(void **state)
{
    struct test_checkd *tc = *state;

    pf_report_init(&tc->rep);
    unsetenv("XLMIG_CHECKS_TIMEOUT");
    return 0;
}

static int test_end(void **state)
{
    struct test_checkd *tc = *state;

    pf_report_dispose(&tc->rep);
    test_empty_dir(tc->dir);
    test_empty_dir(tc->top);
    return 0;
}

/* Writes the script dir/name: "#!/bin/sh" and body, executable. */
static void test_script(struct test_checkd *tc, const char *name,
                        const char *body)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tc->dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0755), 0);
}

/* checkd_run for the domain name on the destination; its seconds. */
static double test_run(struct test_checkd *tc, const char *name,
                       const char *peer)
{
    struct domcfg cfg;
    double t0;

    memset(&cfg, 0, sizeof(cfg));
    cfg.name = (char *)name;
    strcpy(cfg.uuid, TEST_UUID);
    cfg.type = DOMCFG_PVH;
    cfg.max_memkb = 32768;
    t0 = ctx_now(tc->t.ctx);
    checkd_run(tc->t.ctx, true, TEST_JSON, &cfg, peer, &tc->rep);
    return ctx_now(tc->t.ctx) - t0;
}

/* Result i: its id, severity and message (which starts with msg). */
static void test_expect(struct test_checkd *tc, size_t i, const char *id,
                        enum xlmig_check_severity sev, const char *msg)
{
    const struct xlmig_check_result *r;

    assert_true(i < tc->rep.n);
    r = &tc->rep.r[i];
    assert_string_equal(r->id, id);
    assert_true(r->destination);
    if (strncmp(r->message, msg, strlen(msg)))
        fail_msg("result %zu: '%s', not '%s...'", i, r->message, msg);
    assert_int_equal(r->severity, sev);
}

/* The number in the file top/name, written by a script. */
static pid_t test_read_pid(struct test_checkd *tc, const char *name)
{
    char path[128];
    long pid = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tc->top, name);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    assert_true(pid > 1);
    return (pid_t)pid;
}

/* Whether pid has ended: gone, or a zombie until init reaps it. */
static bool test_ended(pid_t pid)
{
    char path[64], state = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    if (!f) return true;
    if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1) state = 0;
    fclose(f);
    return state == 'Z' || state == 'X';
}

/*
 * Waits (5 s at most) for a process that is no child of ours to end: on
 * its pidfd, or where there is none (valgrind) by looking every 10 ms.
 */
static void test_expect_gone(pid_t pid)
{
    struct pollfd p;
    int fd = (int)syscall(SYS_pidfd_open, pid, 0), i;

    if (fd < 0 && errno == ESRCH) return;
    if (fd < 0) {
        for (i = 0; i < 500 && !test_ended(pid); i++)
            usleep(10000);
        if (!test_ended(pid))
            fail_msg("process %ld still runs", (long)pid);
        return;
    }
    p.fd = fd;
    p.events = POLLIN;
    if (poll(&p, 1, 5000) != 1)
        fail_msg("process %ld still runs", (long)pid);
    close(fd);
}

/* Nothing of our environment reaches a script; only its interface. */
static void test_env_is_clean(void **state)
{
    struct test_checkd *tc = *state;
    const char *preload = getenv("LD_PRELOAD");
    char *saved = preload ? strdup(preload) : NULL;
    static const char *const want[] = {
        TEST_PATH, "XLMIG_CHECK_SIDE=destination", "XLMIG_DOMAIN=vm1",
        "XLMIG_DOMAIN_CONFIG=/tmp/xlmig-check-", "XLMIG_DOMAIN_MEMKB=32768",
        "XLMIG_DOMAIN_TYPE=pvh", "XLMIG_DOMAIN_UUID=" TEST_UUID,
        "XLMIG_PEER=host-a",
    };
    size_t i;

    setenv("LD_PRELOAD", "/nonexistent/xlmig-evil.so", 1);
    setenv("XLMIG_SECRET", "hunter2", 1);
    setenv("XLMIG_CHECKS_TIMEOUT", "10", 1);
    test_script(tc, "10-env",
                "tr '\\000' '\\n' </proc/$$/environ | LC_ALL=C sort |\n"
                "while IFS= read -r l; do echo \"pass $l\"; done");
    test_run(tc, "vm1", "host-a");
    if (saved) setenv("LD_PRELOAD", saved, 1);
    else unsetenv("LD_PRELOAD");
    free(saved);
    unsetenv("XLMIG_SECRET");
    for (i = 0; tc->rep.n != ARRAY_SIZE(want) && i < tc->rep.n; i++)
        print_message("  %s\n", tc->rep.r[i].message);
    assert_int_equal(tc->rep.n, ARRAY_SIZE(want));
    for (i = 0; i < ARRAY_SIZE(want); i++)
        test_expect(tc, i, "script:10-env", XLMIG_CHECK_INFO, want[i]);
}

/*
 * A script has stdin /dev/null, stdout, stderr and no other fd: neither
 * the config file nor one of ours without O_CLOEXEC. (Not counted: the
 * shell's own fd on the script, and the fd its glob read the list with.)
 */
static void test_no_fd_inherited(void **state)
{
    struct test_checkd *tc = *state;
    int leak = open("/dev/null", O_RDONLY);     /* no O_CLOEXEC */

    assert_true(leak >= 0);
    assert_true(dup2(leak, 20) == 20);
    test_script(tc, "10-fds",
                "fds=\n"
                "for f in /proc/$$/fd/*; do\n"
                "    [ -e \"$f\" ] || continue\n"
                "    [ \"$f\" -ef \"$0\" ] && continue\n"
                "    fds=\"$fds ${f##*/}\"\n"
                "done\n"
                "[ /proc/$$/fd/0 -ef /dev/null ] && fds=\"$fds stdin-null\"\n"
                "echo \"pass fds$fds\"");
    test_run(tc, "vm1", "host-a");
    close(leak);
    close(20);
    assert_int_equal(tc->rep.n, 1);
    test_expect(tc, 0, "script:10-fds", XLMIG_CHECK_INFO,
                "fds 0 1 2 stdin-null");
    assert_string_equal(tc->rep.r[0].message, "fds 0 1 2 stdin-null");
}

/* The config: 0600 in a 0700 directory of its own, both gone after. */
static void test_config_file(void **state)
{
    struct test_checkd *tc = *state;
    const char *path;
    struct stat st;
    char *dir;

    test_script(tc, "10-config",
                "c=$XLMIG_DOMAIN_CONFIG\n"
                "echo \"pass $1 $(stat -c '%a %F' \"${c%/*}\" \"$c\" |"
                " tr '\\n' ' ')\"\n"
                "echo \"pass $(cat \"$c\")\"\n"
                "echo \"pass $c\"");
    test_run(tc, "vm1", "host-a");
    assert_int_equal(tc->rep.n, 3);
    test_expect(tc, 0, "script:10-config", XLMIG_CHECK_INFO,
                "destination 700 directory 600 regular file ");
    test_expect(tc, 1, "script:10-config", XLMIG_CHECK_INFO, TEST_JSON);
    test_expect(tc, 2, "script:10-config", XLMIG_CHECK_INFO,
                "/tmp/xlmig-check-");
    path = tc->rep.r[2].message;
    assert_int_equal(lstat(path, &st), -1);
    dir = strdup(path);
    assert_non_null(dir);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(lstat(dir, &st), -1);
    free(dir);
}

/*
 * A hostile domain name and peer: shell syntax stays text, newlines do
 * not become result lines of the script that echoes them.
 */
static void test_hostile_values_are_data(void **state)
{
    struct test_checkd *tc = *state;
    char name[256], peer[256], want[300], path[128];
    static const char *const pwned[] = { "pwned1", "pwned2", "pwned3",
                                         "pwned4" };
    size_t i;

    snprintf(name, sizeof(name), "vm\nfail injected $(touch %s/pwned1) "
             "`touch %s/pwned2`; touch %s/pwned3 | '\"\r\t\x7f*",
             tc->top, tc->top, tc->top);
    snprintf(peer, sizeof(peer), "host\n\nfail peer $(touch %s/pwned4)",
             tc->top);
    test_script(tc, "10-echo",
                "echo \"pass domain $XLMIG_DOMAIN\"\n"
                "echo \"pass peer $XLMIG_PEER\"");
    test_run(tc, name, peer);
    assert_int_equal(tc->rep.n, 2);
    snprintf(want, sizeof(want), "domain vm_fail injected $(touch "
             "%s/pwned1) `touch %s/pwned2`; touch %s/pwned3 | '\"___*",
             tc->top, tc->top, tc->top);
    test_expect(tc, 0, "script:10-echo", XLMIG_CHECK_INFO, want);
    assert_string_equal(tc->rep.r[0].message, want);
    snprintf(want, sizeof(want), "peer host__fail peer $(touch %s/pwned4)",
             tc->top);
    assert_string_equal(tc->rep.r[1].message, want);
    assert_int_equal(pf_errors(&tc->rep), 0);
    for (i = 0; i < ARRAY_SIZE(pwned); i++) {
        snprintf(path, sizeof(path), "%s/%s", tc->top, pwned[i]);
        assert_int_equal(access(path, F_OK), -1);
    }
}

/* Output does not extend the limit: a chatty script is killed at 1 s. */
static void test_chatty_script_killed(void **state)
{
    struct test_checkd *tc = *state;
    char body[256];
    double s;

    setenv("XLMIG_CHECKS_TIMEOUT", "1", 1);
    snprintf(body, sizeof(body), "echo $$ >%s/chatty.pid\n"
             "while :; do echo tick; sleep 0.5; done", tc->top);
    test_script(tc, "10-chatty", body);
    s = test_run(tc, "vm1", "host-a");
    assert_int_equal(tc->rep.n, 1);
    test_expect(tc, 0, "script:10-chatty", XLMIG_CHECK_ERROR,
                "check script ");
    assert_non_null(strstr(tc->rep.r[0].message, "killed after 1."));
    assert_true(s >= 0.9 && s < 5);
    test_expect_gone(test_read_pid(tc, "chatty.pid"));
}

/*
 * A script that exits and leaves `sleep 1000 &` behind, holding its
 * stdout: we do not wait for the sleep, and it is killed.
 */
static void test_background_child_killed(void **state)
{
    struct test_checkd *tc = *state;
    char body[256];
    double s;

    setenv("XLMIG_CHECKS_TIMEOUT", "10", 1);
    snprintf(body, sizeof(body), "sleep 1000 &\necho $! >%s/bg.pid\n"
             "echo \"pass started\"", tc->top);
    test_script(tc, "10-bg", body);
    s = test_run(tc, "vm1", "host-a");
    assert_int_equal(tc->rep.n, 1);
    test_expect(tc, 0, "script:10-bg", XLMIG_CHECK_INFO, "started");
    assert_true(s < 5);
    test_expect_gone(test_read_pid(tc, "bg.pid"));
}

/*
 * A daemon in a session of its own escapes the kill (documented) but
 * does not keep us waiting on the stdout it holds.
 */
static void test_daemon_does_not_hold_us(void **state)
{
    struct test_checkd *tc = *state;
    char body[256];
    double s;
    pid_t pid;

    setenv("XLMIG_CHECKS_TIMEOUT", "10", 1);
    snprintf(body, sizeof(body), "setsid sleep 1000 &\n"
             "echo $! >%s/daemon.pid\necho \"pass daemon\"", tc->top);
    test_script(tc, "10-daemon", body);
    s = test_run(tc, "vm1", "host-a");
    pid = test_read_pid(tc, "daemon.pid");
    kill(pid, SIGKILL);
    test_expect_gone(pid);
    assert_int_equal(tc->rep.n, 1);
    test_expect(tc, 0, "script:10-daemon", XLMIG_CHECK_INFO, "daemon");
    assert_true(s < 5);
}

/*
 * Scripts that hang, each killed after 0.5 s, until the side's 2 s are
 * used up: the rest fail as not run, naming themselves.
 */
static void test_total_deadline(void **state)
{
    struct test_checkd *tc = *state;
    static const char *const ids[] = { "script:10-a", "script:11-b",
                                       "script:12-c", "script:13-d",
                                       "script:14-e", "script:15-f" };
    size_t i, killed = 0, not_run = 0;
    double s;

    setenv("XLMIG_CHECKS_TIMEOUT", "0.5", 1);
    for (i = 0; i < ARRAY_SIZE(ids); i++)
        test_script(tc, ids[i] + 7, "exec sleep 1000");
    s = test_run(tc, "vm1", "host-a");
    assert_int_equal(tc->rep.n, ARRAY_SIZE(ids));
    for (i = 0; i < tc->rep.n; i++) {
        assert_string_equal(tc->rep.r[i].id, ids[i]);
        assert_int_equal(tc->rep.r[i].severity, XLMIG_CHECK_ERROR);
        assert_non_null(strstr(tc->rep.r[i].message, ids[i] + 7));
        if (strstr(tc->rep.r[i].message, "killed after")) {
            assert_int_equal(not_run, 0);       /* all before the rest */
            killed++;
        } else if (strstr(tc->rep.r[i].message, "did not run")) {
            not_run++;
        }
    }
    assert_int_equal(killed + not_run, ARRAY_SIZE(ids));
    assert_true(killed >= 3 && not_run >= 1);
    assert_true(s >= 1.9 && s < 5);
}

/* A bad knob is ignored, and no scripts, no results. */
static void test_no_scripts(void **state)
{
    struct test_checkd *tc = *state;

    setenv("XLMIG_CHECKS_TIMEOUT", "forever", 1);
    test_run(tc, "vm1", "host-a");
    assert_int_equal(tc->rep.n, 0);
    test_script(tc, "10-quiet", "exit 0");
    test_script(tc, "20-status", "exit 3");
    test_run(tc, "vm1", "host-a");
    assert_int_equal(tc->rep.n, 2);
    test_expect(tc, 0, "script:10-quiet", XLMIG_CHECK_INFO, "check script ");
    test_expect(tc, 1, "script:20-status", XLMIG_CHECK_ERROR,
                "check script ");
    assert_non_null(strstr(tc->rep.r[1].message, "exited with status 3"));
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, test_begin, test_end)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_env_is_clean),
        TEST(test_no_fd_inherited),
        TEST(test_config_file),
        TEST(test_hostile_values_are_data),
        TEST(test_chatty_script_killed),
        TEST(test_background_child_killed),
        TEST(test_daemon_does_not_hold_us),
        TEST(test_total_deadline),
        TEST(test_no_scripts),
    };

    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
