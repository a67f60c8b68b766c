/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-jobrun.c - what xlmig job-run reads that it did not write itself
 * and must not trust: a host's `xlmig check --json` (a remote host may
 * lie or be broken), a state file (it may be stale, foreign or planted),
 * and the words it sends to a remote shell (a job file's values must
 * arrive as the same words, never as shell).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "jobrun.h"

static const char test_jobrun_xml[] =
    "<?xml version=\"1.0\"?>\n"
    "<jobs xmlns=\"urn:xlmig:jobs:1\" version=\"1\">\n"
    "  <host name=\"B\" address=\"192.0.2.2\"/>\n"
    "  <migrate id=\"m\" domain=\"vm1\" to=\"B\"/>\n"
    "  <evacuate id=\"e\" to=\"B\"/>\n"
    "</jobs>\n";

static void test_check_parse(void **state)
{
    struct jobrun_check c;

    (void)state;
    jobrun_check_parse(
        "{\"ok\": false, \"errors\": 2, \"results\": ["
        "{\"id\": \"memory\", \"severity\": \"error\", \"remedy\": \"free "
        "some\", \"forced\": false},"
        "{\"id\": \"vnuma\", \"severity\": \"error\", \"forced\": true},"
        "{\"id\": \"cpu-features\", \"severity\": \"info\"},"
        "{\"id\": \"nic-bridge\", \"severity\": \"error\"}],"
        "\"memory\": {\"need_kib\": 1049600, \"free_kib\": 524288}}", &c);
    assert_true(c.ran);
    assert_false(c.ok);
    assert_string_equal(c.failed, "memory,nic-bridge");
    assert_string_equal(c.remedy, "free some");
    assert_true(c.memory_known);
    assert_int_equal(c.need_kib, 1049600);
    assert_int_equal(c.free_kib, 524288);
    jobrun_check_dispose(&c);

    jobrun_check_parse("{\"ok\": true, \"results\": []}", &c);
    assert_true(c.ran);
    assert_true(c.ok);
    assert_null(c.failed);
    assert_false(c.memory_known);
    jobrun_check_dispose(&c);
}

/* What a broken or lying host may print: never a pass. */
static void test_check_parse_hostile(void **state)
{
    static const char *const bad[] = {
        "", "not json", "[1, 2]", "{\"ok\": true}",
        "{\"results\": []}", "{\"ok\": \"yes\", \"results\": []}",
        "{\"ok\": true, \"results\": {}}",
        "{\"ok\": true, \"results\": []} trailing",
        "{\"ok\": true, /* c */ \"results\": []}",
    };
    struct jobrun_check c;
    char *deep;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        jobrun_check_parse(bad[i], &c);
        assert_false(c.ran);
        assert_false(c.ok);
        assert_non_null(c.why);
        jobrun_check_dispose(&c);
    }
    /* Deeper than the runner reads: refused, not recursed into. */
    deep = calloc(1, 200002);
    assert_non_null(deep);
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    jobrun_check_parse(deep, &c);
    assert_false(c.ran);
    jobrun_check_dispose(&c);
    free(deep);
    /* Figures of the wrong type count as none (0), not as a pass. */
    jobrun_check_parse("{\"ok\": false, \"results\": [{\"id\": \"x\", "
                       "\"severity\": \"error\"}], \"memory\": {\"need_kib\":"
                       " -5, \"free_kib\": \"many\"}}", &c);
    assert_true(c.ran);
    assert_false(c.ok);
    assert_int_equal(c.need_kib, 0);
    assert_int_equal(c.free_kib, 0);
    jobrun_check_dispose(&c);
}

static void test_state_default(void **state)
{
    char *p;

    (void)state;
    setenv("XLMIG_STATE_DIR", "/st", 1);
    p = jobrun_state_default("/nonexistent/a b;$(x)`y`.xml");
    assert_true(!strncmp(p, "/st/runs/a_b___x__y_-", 21));
    assert_int_equal(strlen(p), 21 + 16 + 5);
    assert_string_equal(p + strlen(p) - 5, ".json");
    assert_null(strchr(p + 9, '/'));
    free(p);
    unsetenv("XLMIG_STATE_DIR");
}

struct test_run {
    char dir[64];
    char *state;
    struct jobxml_file f;
    struct jobrun run;
};

static void test_run_init(struct test_run *tr, const char *state_text)
{
    struct jobxml_errors errs;
    FILE *fp;

    memset(tr, 0, sizeof(*tr));
    snprintf(tr->dir, sizeof(tr->dir), "/tmp/test-jobrun.XXXXXX");
    assert_non_null(mkdtemp(tr->dir));
    assert_int_equal(jobxml_load("t.xml", test_jobrun_xml,
                                 strlen(test_jobrun_xml), &tr->f, &errs), 0);
    jobxml_errors_dispose(&errs);
    tr->state = xasprintf("%s/s.json", tr->dir);
    fp = fopen(tr->state, "w");
    assert_non_null(fp);
    fputs(state_text, fp);
    fclose(fp);
    tr->run.env.f = &tr->f;
    tr->run.state_path = tr->state;
    tr->run.jobs = xcalloc(tr->f.n_jobs, sizeof(*tr->run.jobs));
}

static void test_run_dispose(struct test_run *tr)
{
    unlink(tr->state);
    rmdir(tr->dir);
    free(tr->state);
    jobrun_free(&tr->run);
    jobxml_dispose(&tr->f);
}

/* 0 or -1 of loading text as the state file; *why_r for -1. */
static int test_load(const char *text, char **why_r)
{
    struct test_run tr;
    int r;

    test_run_init(&tr, text);
    *why_r = NULL;
    r = jobrun_state_load(&tr.run, why_r);
    test_run_dispose(&tr);
    return r;
}

static void test_state_load(void **state)
{
    struct test_run tr;
    char *why = NULL;

    (void)state;
    test_run_init(&tr,
        "{\"version\": 1, \"file\": \"t.xml\", \"started\": 100, \"jobs\": ["
        "{\"id\": \"m\", \"job\": \"m\", \"domain\": \"vm1\", \"uuid\": "
        "\"85850000-0000-4000-8000-000000000001\", \"to\": \"B\", "
        "\"result\": \"running\", \"attempts\": 1, \"started\": 101, "
        "\"xjob\": \"20261204-1\", \"phases\": {\"admit\": 0.5}},"
        "{\"id\": \"e:vm2\", \"job\": \"e\", \"domain\": \"vm2\", "
        "\"to\": \"B\", \"result\": \"done\", \"attempts\": 1},"
        "{\"id\": \"e:vm3\", \"job\": \"e\", \"domain\": \"vm3\", "
        "\"to\": \"B\", \"result\": \"failed\", \"attempts\": 3}]}");
    assert_int_equal(jobrun_state_load(&tr.run, &why), 0);
    /* The failed one runs again: only what is done or running is kept. */
    assert_int_equal(tr.run.n_t, 2);
    assert_string_equal(tr.run.t[0].id, "m");
    assert_int_equal(tr.run.t[0].state, JOBRUN_RUNNING);
    assert_string_equal(tr.run.t[0].xjob, "20261204-1");
    assert_string_equal(tr.run.t[0].uuid,
                        "85850000-0000-4000-8000-000000000001");
    assert_int_equal(tr.run.t[0].n_phases, 1);
    assert_true(tr.run.jobs[0].expanded);
    /* A selection is made again (it adds what it has no task for). */
    assert_false(tr.run.jobs[1].expanded);
    assert_string_equal(tr.run.t[1].id, "e:vm2");
    assert_true(tr.run.started == 100);
    test_run_dispose(&tr);

    /* No state file: a new run. */
    test_run_init(&tr, "");
    unlink(tr.state);
    assert_int_equal(jobrun_state_load(&tr.run, &why), 0);
    assert_int_equal(tr.run.n_t, 0);
    test_run_dispose(&tr);
}

static void test_state_load_hostile(void **state)
{
    static const char *const bad[] = {
        "",
        "not json",
        "{\"version\": 2, \"jobs\": []}",
        "{\"version\": 1}",
        "{\"version\": 1, \"jobs\": {}}",
        "{\"version\": 1, \"jobs\": [1]}",
        /* a task id that names a path, or no job of this file */
        "{\"version\": 1, \"jobs\": [{\"id\": \"../../etc/m\", \"job\": "
        "\"m\", \"result\": \"running\"}]}",
        "{\"version\": 1, \"jobs\": [{\"id\": \"m/x\", \"job\": \"m\", "
        "\"result\": \"done\"}]}",
        "{\"version\": 1, \"jobs\": [{\"id\": \"e:a/b\", \"job\": \"e\", "
        "\"result\": \"done\"}]}",
        "{\"version\": 1, \"jobs\": [{\"id\": \"x\", \"job\": \"x\", "
        "\"result\": \"done\"}]}",
        "{\"version\": 1, \"jobs\": [{\"id\": \"m\", \"job\": \"m\", "
        "\"result\": \"exploded\"}]}",
        "{\"version\": 1, \"jobs\": [{\"id\": \"m\", \"job\": \"m\", "
        "\"result\": \"done\", \"domain\": \"\"}]}",
        /* a domain that would be an option, or a path */
        "{\"version\": 1, \"jobs\": [{\"id\": \"m\", \"job\": \"m\", "
        "\"result\": \"done\", \"domain\": \"-C/etc/shadow\"}]}",
        "{\"version\": 1, \"jobs\": [{\"id\": \"e:x\", \"job\": \"e\", "
        "\"result\": \"done\", \"domain\": \"--force=memory,vnuma,vtpm,"
        "xxxxxxxxxx\"}]}",
    };
    char *why = NULL;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(test_load(bad[i], &why), -1);
        assert_non_null(why);
        assert_non_null(strstr(why, "s.json"));
        free(why);
    }
}

/*
 * Words for a remote host reach it as the same words: the fake ssh runs
 * the command as sshd would (one string, through a shell), and the fake
 * xlmig prints each argument it got on a line of its own.
 */
static void test_remote_words(void **state)
{
    static const char *const words[] = {
        "list", "a'b", "$(touch /tmp/test-jobrun-pwned)", "x y", ";id",
        "`id`", "\"q\"", "back\\slash", "--", NULL,
    };
    struct jobxml_host host = { .name = (char *)"B",
                                .address = (char *)"h" };
    struct jobrun_env env;
    char dir[64], *ssh, *xl, *path, *out = NULL, *why = NULL, *p;
    int status;
    size_t i;
    FILE *fp;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test-jobrun.XXXXXX");
    assert_non_null(mkdtemp(dir));
    ssh = xasprintf("%s/ssh", dir);
    xl = xasprintf("%s/xlmig", dir);
    fp = fopen(ssh, "w");
    assert_non_null(fp);
    fputs("#!/bin/sh\nshift\nexec sh -c \"$*\"\n", fp);
    fclose(fp);
    fp = fopen(xl, "w");
    assert_non_null(fp);
    fputs("#!/bin/sh\nfor a; do printf '%s\\n' \"$a\"; done\n", fp);
    fclose(fp);
    assert_int_equal(chmod(ssh, 0755), 0);
    assert_int_equal(chmod(xl, 0755), 0);
    path = xasprintf("%s:%s", dir, getenv("PATH"));
    setenv("PATH", path, 1);
    memset(&env, 0, sizeof(env));
    env.ssh = ssh;
    unlink("/tmp/test-jobrun-pwned");
    assert_int_equal(jobrun_host_run(&env, &host, words, 30, &out, &status,
                                     &why), 0);
    assert_int_equal(status, 0);
    p = out;
    for (i = 0; words[i]; i++) {
        assert_true(!strncmp(p, words[i], strlen(words[i])));
        p += strlen(words[i]);
        assert_int_equal(*p++, '\n');
    }
    assert_int_equal(*p, '\0');
    assert_int_equal(access("/tmp/test-jobrun-pwned", F_OK), -1);
    free(out);
    free(why);
    unlink(ssh);
    unlink(xl);
    rmdir(dir);
    free(ssh);
    free(xl);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_parse),
        cmocka_unit_test(test_check_parse_hostile),
        cmocka_unit_test(test_state_default),
        cmocka_unit_test(test_state_load),
        cmocka_unit_test(test_state_load_hostile),
        cmocka_unit_test(test_remote_words),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
