/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-hooks.c - hook events (hooks.c, coord-event.c) on a real xenstored
 * for a temp sim host, with no hookd running, so the emitter runs the
 * hooks itself: name order, argv, the whole environment and stdin; exit
 * 0 and 1 go on, anything else vetoes a pre-event and stops its later
 * hooks; a hook past its deadline is killed with what it started; a hook
 * whose runner died is not run again (and cuts a pre-event short); an
 * event a live process owns is left to it; events without hooks are
 * decided at once; old events are trimmed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <xenstore.h>

#include "coord.h"
#include "hooks.h"
#include "test-xshost.h"

struct host {
    struct test_xshost xh;
    struct coord *c;
    struct xs_handle *xs;
    char dir[64];               /* hooks.d, state and the hooks' output */
};

static int host_teardown(void **state)
{
    struct host *h = *state;
    int r;

    coord_close(h->c);
    if (h->xs) xs_close(h->xs);
    r = test_xshost_stop(&h->xh);
    h->c = NULL;
    h->xs = NULL;
    if (h->dir[0] && test_rm_rf(h->dir)) r = -1;
    return r;
}

static int host_setup(void **state)
{
    static struct host h;
    char *p;

    memset(&h, 0, sizeof(h));
    *state = &h;
    snprintf(h.dir, sizeof(h.dir), "/tmp/test-hooks-d.XXXXXX");
    if (!mkdtemp(h.dir)) return -1;
    p = xasprintf("%s/hooks.d", h.dir);
    setenv("XLMIG_HOOKS_DIR", p, 1);
    free(p);
    p = xasprintf("%s/state", h.dir);
    setenv("XLMIG_STATE_DIR", p, 1);
    free(p);
    setenv("XLMIG_CONF", "/nonexistent/xlmig.conf", 1);
    unsetenv("XLMIG_HOOK_TIMEOUT");
    unsetenv("XLMIG_HOOK_EVENT_TIMEOUT");
    if (test_xshost_start(&h.xh, "hooks")) {
        test_rm_rf(h.dir);
        return -1;
    }
    if (coord_open(h.xh.t.ctx, &h.c)) {
        host_teardown(state);
        return -1;
    }
    h.xs = xs_open(0);
    return h.xs ? 0 : -1;
}

/* ---- helpers ---- */

/* A hook EVENT/NAME running the shell text body. */
static void hook(struct host *h, const char *event, const char *name,
                 const char *body)
{
    char *d = xasprintf("%s/hooks.d/%s", h->dir, event), *path;
    FILE *f;

    assert_int_equal(fdio_make_dirs(h->xh.t.ctx, d, 0755), 0);
    path = xasprintf("%s/%s", d, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\nout=%s/out\n%s\n", h->dir, body);
    fclose(f);
    assert_int_equal(chmod(path, 0755), 0);
    free(path);
    free(d);
}

static void hooks_clear(struct host *h)
{
    char *p = xasprintf("%s/hooks.d", h->dir);

    test_rm_rf(p);
    free(p);
    p = xasprintf("%s/out", h->dir);
    unlink(p);
    free(p);
}

/* What the hooks wrote to $out ("" if nothing). */
static char *out(struct host *h)
{
    char *p = xasprintf("%s/out", h->dir), *text = NULL;

    if (fdio_read_file(h->xh.t.ctx, p, 1 << 16, &text)) text = xstrdup("");
    free(p);
    return text;
}

static int emit(struct host *h, enum hooks_event e, char **why_r)
{
    struct hooks_info in = {
        .event = e, .job = "5f0a1b2c-7", .domain = "vm1",
        .uuid = "6b7ee2d3-3c56-4b0e-9a57-1b3a1b0c1d2e", .peer = "192.0.2.2",
        .role = "source", .result = hooks_event_vetoes(e) ? "" : "ok",
        .error = "", .domid = 7,
        .config_json = "{\"c_info\": {\"name\": \"vm1\"}}",
    };

    return hooks_emit(h->xh.t.ctx, h->c, &in, NULL, why_r);
}

/* The newest event. */
static void last_event(struct host *h, struct coord_event *ev)
{
    unsigned *seqs = NULL;
    size_t n = 0;

    assert_int_equal(coord_event_list(h->c, &seqs, &n), 0);
    assert_true(n > 0);
    assert_int_equal(coord_event_get(h->c, seqs[n - 1], ev), 0);
    free(seqs);
}

/* ---- tests ---- */

static void test_order_argv_env_stdin(void **state)
{
    struct host *h = *state;
    struct coord_event ev;
    char *why = NULL, *text, *want;

    hooks_clear(h);
    hook(h, "post-migrate", "20-b", "echo \"$XLMIG_HOOK\" >>$out");
    hook(h, "post-migrate", "10-a",
         "echo \"$XLMIG_HOOK $1 $2 $3 $XLMIG_EVENT $XLMIG_JOB $XLMIG_DOMAIN"
         " $XLMIG_UUID $XLMIG_DOMID $XLMIG_PEER $XLMIG_ROLE $XLMIG_RESULT"
         " $(cat)\" >>$out\n"
         "env | grep -v '^XLMIG_' | grep -Ev '^(PWD|SHLVL|_)=' | sort >>$out");
    /* Not run: not a name run-parts takes, or not executable. */
    hook(h, "post-migrate", "30-c.sh", "echo 30 >>$out");
    hook(h, "post-migrate", "40-d", "echo 40 >>$out");
    {
        char *p = xasprintf("%s/hooks.d/post-migrate/40-d", h->dir);

        assert_int_equal(chmod(p, 0644), 0);
        free(p);
    }
    assert_int_equal(emit(h, HOOKS_POST_MIGRATE, &why), 0);
    assert_null(why);
    text = out(h);
    want = xasprintf(
        "10-a post-migrate vm1 source post-migrate 5f0a1b2c-7 vm1 "
        "6b7ee2d3-3c56-4b0e-9a57-1b3a1b0c1d2e 7 192.0.2.2 source ok "
        "{\"c_info\": {\"name\": \"vm1\"}}\n"
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        "XENSTORED_PATH=%s\n20-b\n", h->xh.socket);
    assert_string_equal(text, want);
    free(want);
    free(text);
    last_event(h, &ev);
    assert_string_equal(ev.state, "done");
    assert_string_equal(ev.verdict, "go");
    /* The config handed to the hooks is gone with the event. */
    assert_string_not_equal(ev.config, "");
    assert_int_equal(access(ev.config, F_OK), -1);
}

static void test_veto(void **state)
{
    struct host *h = *state;
    struct coord_event ev;
    char *why = NULL, *text;

    hooks_clear(h);
    hook(h, "pre-migrate", "10-warn", "echo warn >>$out; exit 1");
    hook(h, "pre-migrate", "20-veto",
         "echo veto >>$out; echo first; echo 'no room on B' >&2; exit 5");
    hook(h, "pre-migrate", "30-after", "echo after >>$out");
    assert_int_equal(emit(h, HOOKS_PRE_MIGRATE, &why), XLMIG_E_PREFLIGHT);
    assert_non_null(why);
    assert_string_equal(why, "hook pre-migrate/20-veto exit 5: no room on B");
    free(why);
    text = out(h);
    assert_string_equal(text, "warn\nveto\n");
    free(text);
    last_event(h, &ev);
    assert_string_equal(ev.verdict, "veto");
}

static void test_go(void **state)
{
    struct host *h = *state;
    char *why = NULL;

    hooks_clear(h);
    hook(h, "pre-incoming", "10-ok", "exit 0");
    hook(h, "pre-incoming", "20-warn", "exit 1");
    assert_int_equal(emit(h, HOOKS_PRE_INCOMING, &why), 0);
    assert_null(why);
}

static bool pid_gone(pid_t pid)
{
    char path[64], st[512], *p;
    FILE *f;
    int i;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    for (i = 0; i < 100; i++) {
        f = fopen(path, "r");
        if (!f) return true;
        p = fgets(st, sizeof(st), f) ? strrchr(st, ')') : NULL;
        fclose(f);
        /* A zombie has been killed; its reaper is not us. */
        if (p && p[1] == ' ' && p[2] == 'Z') return true;
        usleep(20000);
    }
    return false;
}

static void test_deadline_kills_group(void **state)
{
    struct host *h = *state;
    char *why = NULL, *text;
    long pid;

    hooks_clear(h);
    setenv("XLMIG_HOOK_TIMEOUT", "0.5", 1);
    hook(h, "pre-migrate", "10-hang", "sleep 100 & echo $! >$out; sleep 100");
    assert_int_equal(emit(h, HOOKS_PRE_MIGRATE, &why), XLMIG_E_PREFLIGHT);
    unsetenv("XLMIG_HOOK_TIMEOUT");
    assert_non_null(why);
    assert_non_null(strstr(why, "pre-migrate/10-hang killed at its deadline"));
    free(why);
    text = out(h);
    pid = strtol(text, NULL, 10);
    free(text);
    assert_true(pid > 1);
    assert_true(pid_gone((pid_t)pid));
}

/* An event of ours with hook 10-a's run started by a process now dead. */
static unsigned event_cut_short(struct host *h, const char *event)
{
    struct coord_event ev;
    char path[128], owner[64];
    unsigned seq;
    pid_t pid;

    memset(&ev, 0, sizeof(ev));
    snprintf(ev.event, sizeof(ev.event), "%s", event);
    snprintf(ev.domain, sizeof(ev.domain), "vm1");
    snprintf(ev.role, sizeof(ev.role), "source");
    assert_int_equal(coord_event_create(h->c, &ev, &seq), 0);
    pid = fork();
    if (!pid) _exit(0);
    assert_true(waitpid(pid, NULL, 0) == pid);
    snprintf(owner, sizeof(owner), "%ld 1", (long)pid);
    snprintf(path, sizeof(path), "/libxlmig/event/%u/run/10-a/owner", seq);
    assert_true(xs_write(h->xs, XBT_NULL, path, owner, strlen(owner)));
    snprintf(path, sizeof(path), "/libxlmig/event/%u/run/10-a/state", seq);
    assert_true(xs_write(h->xs, XBT_NULL, path, "running", 7));
    snprintf(path, sizeof(path), "/libxlmig/event/%u/owner", seq);
    assert_true(xs_write(h->xs, XBT_NULL, path, owner, strlen(owner)));
    snprintf(path, sizeof(path), "/libxlmig/event/%u/state", seq);
    assert_true(xs_write(h->xs, XBT_NULL, path, "running", 7));
    return seq;
}

static void test_once_after_runner_died(void **state)
{
    struct host *h = *state;
    struct coord_event_run *runs = NULL;
    struct coord_event ev;
    unsigned seq;
    size_t n;
    char *text;
    bool ran;

    hooks_clear(h);
    hook(h, "post-migrate", "10-a", "echo a >>$out");
    hook(h, "post-migrate", "20-b", "echo b >>$out");
    seq = event_cut_short(h, "post-migrate");
    assert_int_equal(hooks_process(h->xh.t.ctx, h->c, seq, &ran), 0);
    assert_true(ran);
    text = out(h);
    assert_string_equal(text, "b\n");
    free(text);
    assert_int_equal(coord_event_runs(h->c, seq, &runs, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(runs[0].hook, "10-a");
    assert_string_equal(runs[0].state, "interrupted");
    assert_string_equal(runs[1].state, "done");
    assert_string_equal(runs[1].status, "exit 0");
    free(runs);
    assert_int_equal(coord_event_get(h->c, seq, &ev), 0);
    assert_string_equal(ev.verdict, "go");
    /* Processed again: nothing runs twice. */
    assert_int_equal(hooks_process(h->xh.t.ctx, h->c, seq, &ran), 0);
    assert_false(ran);
    text = out(h);
    assert_string_equal(text, "b\n");
    free(text);

    /* A pre-event whose hook was cut short is vetoed. */
    hooks_clear(h);
    hook(h, "pre-migrate", "10-a", "echo a >>$out");
    hook(h, "pre-migrate", "20-b", "echo b >>$out");
    seq = event_cut_short(h, "pre-migrate");
    assert_int_equal(hooks_process(h->xh.t.ctx, h->c, seq, &ran), 0);
    assert_int_equal(coord_event_get(h->c, seq, &ev), 0);
    assert_string_equal(ev.verdict, "veto");
    assert_non_null(strstr(ev.why, "10-a"));
    text = out(h);
    assert_string_equal(text, "");
    free(text);
}

static void test_live_owner_left_alone(void **state)
{
    struct host *h = *state;
    struct coord_event ev;
    char path[128], owner[64];
    unsigned seq;
    bool ran;
    FILE *f;
    unsigned long long start = 0;
    char st[512], *p;

    hooks_clear(h);
    hook(h, "post-migrate", "10-a", "echo a >>$out");
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.event, sizeof(ev.event), "post-migrate");
    assert_int_equal(coord_event_create(h->c, &ev, &seq), 0);
    /* Owned by our parent, which runs. */
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)getppid());
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(st, sizeof(st), f));
    fclose(f);
    p = strrchr(st, ')');
    assert_non_null(p);
    assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
                            "%*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                            &start), 1);
    snprintf(owner, sizeof(owner), "%ld %llu", (long)getppid(), start);
    snprintf(path, sizeof(path), "/libxlmig/event/%u/owner", seq);
    assert_true(xs_write(h->xs, XBT_NULL, path, owner, strlen(owner)));
    assert_int_equal(hooks_process(h->xh.t.ctx, h->c, seq, &ran), 0);
    assert_false(ran);
    p = out(h);
    assert_string_equal(p, "");
    free(p);
}

static void test_no_hooks_decided_at_once(void **state)
{
    struct host *h = *state;
    struct coord_event ev;
    char *why = NULL;

    hooks_clear(h);
    assert_int_equal(emit(h, HOOKS_PRE_MIGRATE, &why), 0);
    assert_null(why);
    last_event(h, &ev);
    assert_string_equal(ev.event, "pre-migrate");
    assert_string_equal(ev.state, "done");
    assert_string_equal(ev.verdict, "go");
    assert_string_equal(ev.config, "");
}

/* A sender's name is data: no shell, control characters made '_'. */
static void test_hostile_values(void **state)
{
    struct host *h = *state;
    struct hooks_info in = {
        .event = HOOKS_PRE_INCOMING, .job = "j",
        .domain = "vm$(touch /tmp/x);`id`\nEVIL=1", .uuid = "",
        .peer = "192.0.2.1\r\x1b[31m", .role = "destination",
        .domid = HOOKS_NO_DOMID, .config_json = NULL,
    };
    char *why = NULL, *text, *want;

    hooks_clear(h);
    hook(h, "pre-incoming", "10-show",
         "printf '%s|%s|%s|%s|%s\\n' \"$2\" \"$XLMIG_DOMAIN\" "
         "\"$XLMIG_PEER\" \"${EVIL:-unset}\" \"$(wc -c)\" >>$out");
    assert_int_equal(hooks_emit(h->xh.t.ctx, h->c, &in, NULL, &why), 0);
    assert_null(why);
    text = out(h);
    want = xasprintf("vm$(touch /tmp/x);`id`\nEVIL=1|"
                     "vm$(touch /tmp/x);`id`_EVIL=1|192.0.2.1__[31m|unset|0\n");
    assert_string_equal(text, want);
    free(want);
    free(text);
}

/* Nowhere to put the config for the hooks: a pre-event does not go on. */
static void test_config_unwritable(void **state)
{
    struct host *h = *state;
    char *why = NULL, *state_dir, *file;

    hooks_clear(h);
    hook(h, "pre-migrate", "10-ok", "echo ran >>$out");
    state_dir = xstrdup(getenv("XLMIG_STATE_DIR"));
    file = xasprintf("%s/not-a-dir", h->dir);
    assert_int_equal(fdio_write_file(h->xh.t.ctx, file, "x", 1), 0);
    setenv("XLMIG_STATE_DIR", file, 1);
    assert_int_equal(emit(h, HOOKS_PRE_MIGRATE, &why), XLMIG_E_PREFLIGHT);
    setenv("XLMIG_STATE_DIR", state_dir, 1);
    assert_non_null(why);
    assert_non_null(strstr(why, "pre-migrate hooks not run"));
    free(why);
    why = out(h);
    assert_string_equal(why, "");
    free(why);
    /* A post-event goes on: its hooks run without the config. */
    hooks_clear(h);
    hook(h, "post-migrate", "10-ok", "echo \"ran $(wc -c)\" >>$out");
    setenv("XLMIG_STATE_DIR", file, 1);
    assert_int_equal(emit(h, HOOKS_POST_MIGRATE, &why), 0);
    setenv("XLMIG_STATE_DIR", state_dir, 1);
    assert_null(why);
    why = out(h);
    assert_string_equal(why, "ran 0\n");
    free(why);
    unlink(file);
    free(file);
    free(state_dir);
}

static void test_trim(void **state)
{
    struct host *h = *state;
    struct coord_event ev;
    unsigned *seqs = NULL, seq, removed;
    size_t n, i, done;

    memset(&ev, 0, sizeof(ev));
    snprintf(ev.event, sizeof(ev.event), "job-queued");
    for (i = 0; i < COORD_EVENT_KEEP + 6; i++) {
        assert_int_equal(coord_event_create(h->c, &ev, &seq), 0);
        assert_int_equal(coord_event_finish(h->c, seq, "go", ""), 0);
    }
    /* One not done stays, however old. */
    assert_int_equal(coord_event_create(h->c, &ev, &seq), 0);
    assert_int_equal(coord_event_trim(h->c, COORD_EVENT_KEEP, &removed), 0);
    assert_true(removed >= 6);
    assert_int_equal(coord_event_list(h->c, &seqs, &n), 0);
    assert_int_equal(seqs[n - 1], seq);
    for (done = 0, i = 0; i < n; i++) {
        assert_int_equal(coord_event_get(h->c, seqs[i], &ev), 0);
        done += !strcmp(ev.state, "done");
    }
    assert_int_equal(done, COORD_EVENT_KEEP);
    free(seqs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_argv_env_stdin),
        cmocka_unit_test(test_veto),
        cmocka_unit_test(test_go),
        cmocka_unit_test(test_deadline_kills_group),
        cmocka_unit_test(test_once_after_runner_died),
        cmocka_unit_test(test_live_owner_left_alone),
        cmocka_unit_test(test_no_hooks_decided_at_once),
        cmocka_unit_test(test_hostile_values),
        cmocka_unit_test(test_config_unwritable),
        cmocka_unit_test(test_trim),
    };

    return cmocka_run_group_tests(tests, host_setup, host_teardown);
}
