/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-smirror-dm.c - the dm live mirror (smirror-dm.c) against fake
 * dmsetup and losetup (tests/unit/fake-dm, first in PATH), whose state
 * is files: start, poll until in sync, pivot (the exact command
 * sequence; the source's loop released), detach, cancel mid-sync; a dead
 * leg, a detach out of sync, a failed load, resume or suspend at start
 * (the disk never left suspended), a pivot whose resume took effect but
 * failed (never switched back); where in each state; abort of a mirror
 * a dead xlmig left (a loop another dm device uses kept); a target too
 * small; a foreign table; status lines that are not our mirror's; the
 * parsers alone on what the kernel and losetup print, and deviations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "smirror-dm.h"
#include "smirror-priv.h"
#include "test-util.h"

#define DM "xlmig-1-51712"
#define MIB (1u << 20)
#define DISK (4 * MIB)                  /* 8192 sectors, 8 regions */
#define LINEAR_SRC "0 8192 linear 7:0 0"
#define LINEAR_TGT "0 8192 linear 7:1 0"
#define MIRROR "0 8192 mirror core 1 1024 2 7:0 0 7:1 0 1 handle_errors"
#define LOOPS "losetup --list --raw --noheadings --output " \
    "NAME,MAJ:MIN,BACK-MAJ:MIN,BACK-INO"

struct st {
    struct test_ctx t;
    char dir[256];
    char *state, *src, *tgt;
};

static void make_file(const char *p, uint64_t size)
{
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    close(fd);
}

/* Runs a shell command (the fakes first in PATH); it must succeed. */
static void sh(const char *fmt, ...) PRINTF_LIKE(1, 2);
static void sh(const char *fmt, ...)
{
    va_list ap;
    char *cmd;

    va_start(ap, fmt);
    assert_true(vasprintf(&cmd, fmt, ap) >= 0);
    va_end(ap);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

/* The contents of a fake state file (allocated, "" if absent). */
static char *state_file(struct st *s, const char *name)
{
    char *p = xasprintf("%s/%s", s->state, name), *text = xstrdup("");
    FILE *f = fopen(p, "r");
    char buf[4096];
    size_t n;

    while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
        char *t = xasprintf("%s%.*s", text, (int)n, buf);

        free(text);
        text = t;
    }
    if (f) fclose(f);
    free(p);
    return text;
}

static bool state_has(struct st *s, const char *name)
{
    char *p = xasprintf("%s/%s", s->state, name);
    bool yes = !access(p, F_OK);

    free(p);
    return yes;
}

static void knob(struct st *s, const char *name, const char *text)
{
    sh("printf '%%s' '%s' >'%s/%s'", text, s->state, name);
}

static void unknob(struct st *s, const char *name)
{
    sh("rm -f '%s/%s'", s->state, name);
}

/* The disk's active table is expected (one line), resumed, nothing
 * inactive. */
static void assert_disk(struct st *s, const char *expected)
{
    char *t = state_file(s, "dm/" DM "/table");
    char *want = xasprintf("%s\n", expected);

    assert_string_equal(t, want);
    assert_false(state_has(s, "dm/" DM "/suspended"));
    assert_false(state_has(s, "dm/" DM "/inactive"));
    free(want);
    free(t);
}

/* Only the source's loop device (loop0) is left. */
static void assert_only_source_loop(struct st *s)
{
    char *l = state_file(s, "loops");

    assert_non_null(strstr(l, "/dev/loop0 7:0 "));
    assert_null(strchr(strchr(l, '\n') + 1, '\n'));
    free(l);
}

static void clear_log(struct st *s)
{
    sh(": >'%s/log'", s->state);
}

static char *log_text(struct st *s)
{
    return state_file(s, "log");
}

static int test_setup(void **state)
{
    struct st *s = calloc(1, sizeof(*s));

    if (!s) return -1;
    test_ctx_open(&s->t);
    snprintf(s->dir, sizeof(s->dir), "%s/test-smirror-dm.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp");
    if (!mkdtemp(s->dir)) return -1;
    s->state = xasprintf("%s/state", s->dir);
    s->src = xasprintf("%s/src.img", s->dir);
    s->tgt = xasprintf("%s/tgt.img", s->dir);
    if (mkdir(s->state, 0700)) return -1;
    setenv("FAKE_DM_DIR", s->state, 1);
    make_file(s->src, DISK);
    make_file(s->tgt, DISK);
    /* What block-xlmig add made. */
    sh("losetup --find --show --direct-io=on '%s' >/dev/null", s->src);
    sh("dmsetup create " DM " --table '" LINEAR_SRC "'");
    clear_log(s);
    *state = s;
    return 0;
}

static int test_teardown(void **state)
{
    struct st *s = *state;

    test_rm_rf(s->dir);
    test_ctx_close(&s->t);
    free(s->state);
    free(s->src);
    free(s->tgt);
    free(s);
    return 0;
}

static struct smirror *start(struct st *s)
{
    struct smirror *m = NULL;

    assert_int_equal(smirror_dm_start(s->t.ctx, DM, s->tgt, 0, &m),
                     XLMIG_OK);
    assert_non_null(m);
    return m;
}

/* Polls until in sync (the fake: a quarter of the regions a poll). */
static void sync_up(struct st *s, struct smirror *m)
{
    struct smirror_status st = { 0, 0, false };
    uint64_t last = 0;
    int polls = 0;

    while (!st.ready) {
        assert_true(polls++ < 10);
        assert_int_equal(smirror_poll(s->t.ctx, m, &st), XLMIG_OK);
        assert_int_equal(st.total, DISK);
        assert_true(st.done >= last && st.done <= st.total);
        last = st.done;
    }
    assert_int_equal(polls, 5);
    assert_int_equal(st.done, DISK);
}

static void test_pivot(void **state)
{
    struct st *s = *state;
    struct smirror *m = start(s);
    char *log, *want;

    assert_disk(s, MIRROR);
    sync_up(s, m);
    assert_int_equal(smirror_pivot(s->t.ctx, m), XLMIG_OK);
    assert_disk(s, LINEAR_TGT);
    log = log_text(s);
    want = xasprintf(
        "dmsetup table " DM "\n"
        "losetup --find --show --direct-io=on %s\n"
        LOOPS "\n"
        "dmsetup suspend " DM "\n"
        "dmsetup load " DM " --table " MIRROR "\n"
        "dmsetup resume " DM "\n"
        "dmsetup status " DM "\ndmsetup status " DM "\n"
        "dmsetup status " DM "\ndmsetup status " DM "\n"
        "dmsetup status " DM "\n"
        "dmsetup suspend " DM "\n"
        "dmsetup status " DM "\n"
        "dmsetup load " DM " --table " LINEAR_TGT "\n"
        "dmsetup resume " DM "\n"
        LOOPS "\n"
        "dmsetup table\n"
        "losetup -d /dev/loop0\n", s->tgt);
    assert_string_equal(log, want);
    free(want);
    free(log);
    /* The source's loop released; the target's is the disk now. */
    log = state_file(s, "loops");
    assert_null(strstr(log, "/dev/loop0 "));
    assert_non_null(strstr(log, "/dev/loop1 7:1 "));
    free(log);
    /* Done: cancel does nothing, free leaves the disk alone. */
    assert_int_equal(smirror_cancel(s->t.ctx, m), XLMIG_OK);
    smirror_free(s->t.ctx, m);
    assert_disk(s, LINEAR_TGT);
}

static void test_detach(void **state)
{
    struct st *s = *state;
    struct smirror *m = start(s);
    char *log;

    sync_up(s, m);
    assert_int_equal(smirror_detach(s->t.ctx, m), XLMIG_OK);
    assert_disk(s, LINEAR_SRC);
    assert_only_source_loop(s);
    log = log_text(s);
    assert_non_null(strstr(log, "dmsetup suspend " DM "\n"
                                "dmsetup status " DM "\n"
                                "dmsetup load " DM " --table " LINEAR_SRC
                                "\ndmsetup resume " DM "\n"
                                "losetup -d /dev/loop1\n"));
    free(log);
    smirror_free(s->t.ctx, m);
    assert_disk(s, LINEAR_SRC);
}

static void test_cancel_mid_sync(void **state)
{
    struct st *s = *state;
    struct smirror *m = start(s);
    struct smirror_status st;

    assert_int_equal(smirror_poll(s->t.ctx, m, &st), XLMIG_OK);
    assert_false(st.ready);
    assert_int_equal(smirror_pivot(s->t.ctx, m), XLMIG_E_INVAL);
    assert_int_equal(smirror_cancel(s->t.ctx, m), XLMIG_OK);
    assert_disk(s, LINEAR_SRC);
    assert_only_source_loop(s);
    assert_int_equal(smirror_cancel(s->t.ctx, m), XLMIG_OK);
    assert_int_equal(smirror_poll(s->t.ctx, m, &st), XLMIG_E_INTERNAL);
    smirror_free(s->t.ctx, m);
}

/* smirror_free of a running mirror cancels it. */
static void test_free_cancels(void **state)
{
    struct st *s = *state;

    smirror_free(s->t.ctx, start(s));
    assert_disk(s, LINEAR_SRC);
    assert_only_source_loop(s);
}

static void test_dead_leg(void **state)
{
    struct st *s = *state;
    struct smirror *m = start(s);
    struct smirror_status st;

    assert_int_equal(smirror_poll(s->t.ctx, m, &st), XLMIG_OK);
    knob(s, "leg-health", "AD");
    assert_int_equal(smirror_poll(s->t.ctx, m, &st), XLMIG_E_STORAGE);
    assert_false(st.ready);
    assert_int_equal(smirror_cancel(s->t.ctx, m), XLMIG_OK);
    assert_disk(s, LINEAR_SRC);
    assert_only_source_loop(s);
    smirror_free(s->t.ctx, m);
}

/* A leg fails between the last poll and the switch: checked while
 * suspended, the pivot does not happen and the mirror runs on. */
static void test_pivot_leg_failed(void **state)
{
    struct st *s = *state;
    struct smirror *m = start(s);

    sync_up(s, m);
    knob(s, "leg-health", "AS");
    assert_int_equal(smirror_pivot(s->t.ctx, m), XLMIG_E_STORAGE);
    assert_disk(s, MIRROR);
    unknob(s, "leg-health");
    assert_int_equal(smirror_cancel(s->t.ctx, m), XLMIG_OK);
    assert_disk(s, LINEAR_SRC);
    assert_only_source_loop(s);
    smirror_free(s->t.ctx, m);
}

static void test_detach_not_in_sync(void **state)
{
    struct st *s = *state;
    struct smirror *m = start(s);

    sync_up(s, m);
    knob(s, "sync-cap", "3");           /* regions went out of sync */
    assert_int_equal(smirror_detach(s->t.ctx, m), XLMIG_E_STORAGE);
    assert_disk(s, LINEAR_SRC);
    assert_int_equal(smirror_cancel(s->t.ctx, m), XLMIG_OK);
    assert_disk(s, LINEAR_SRC);
    assert_only_source_loop(s);
    smirror_free(s->t.ctx, m);
}

/* A failed start: the original table back, resumed, no target loop. */
static void start_fails(struct st *s, const char *knob_name, int rc)
{
    struct smirror *m = (struct smirror *)1;
    char *log;

    knob(s, knob_name, "");
    assert_int_equal(smirror_dm_start(s->t.ctx, DM, s->tgt, 0, &m), rc);
    assert_null(m);
    assert_disk(s, LINEAR_SRC);
    assert_only_source_loop(s);
    log = log_text(s);
    assert_non_null(strstr(log, "dmsetup suspend " DM "\n"));
    assert_non_null(strstr(log, "losetup -d /dev/loop1\n"));
    free(log);
}

static void test_start_load_fails(void **state)
{
    struct st *s = *state;
    char *log;

    start_fails(s, "fail-load-mirror", XLMIG_E_STORAGE);
    log = log_text(s);
    assert_non_null(strstr(log,
        "dmsetup load " DM " --table " MIRROR "\n"
        "dmsetup load " DM " --table " LINEAR_SRC "\n"
        "dmsetup resume " DM "\n"));
    free(log);
}

static void test_start_resume_fails(void **state)
{
    start_fails(*state, "fail-resume-mirror", XLMIG_E_STORAGE);
}

static void test_start_suspend_fails(void **state)
{
    struct st *s = *state;
    char *log;

    start_fails(s, "fail-suspend.once", XLMIG_E_STORAGE);
    log = log_text(s);
    assert_null(strstr(log, "--table " MIRROR));
    assert_non_null(strstr(log, "dmsetup resume " DM "\n"));
    free(log);
}

/* The pivot's resume took effect but reported failure: the disk is on
 * the target, and cancel must not switch it back (writes since would be
 * lost). */
static void test_pivot_late_resume(void **state)
{
    struct st *s = *state;
    struct smirror *m = start(s);
    enum smirror_where w;

    sync_up(s, m);
    knob(s, "fail-resume-late.once", "");
    assert_int_equal(smirror_pivot(s->t.ctx, m), XLMIG_E_STORAGE);
    assert_disk(s, LINEAR_TGT);
    assert_int_equal(smirror_dm_where(s->t.ctx, DM, s->src, s->tgt, &w),
                     XLMIG_OK);
    assert_int_equal(w, SMIRROR_ON_TARGET);
    assert_int_equal(smirror_cancel(s->t.ctx, m), XLMIG_E_STORAGE);
    assert_disk(s, LINEAR_TGT);
    smirror_free(s->t.ctx, m);
    assert_disk(s, LINEAR_TGT);
}

static void test_where(void **state)
{
    struct st *s = *state;
    struct smirror *m;
    enum smirror_where w;
    char *other = xasprintf("%s/other.img", s->dir);

    assert_int_equal(smirror_dm_where(s->t.ctx, DM, s->src, s->tgt, &w),
                     XLMIG_OK);
    assert_int_equal(w, SMIRROR_ON_SOURCE);
    m = start(s);
    assert_int_equal(smirror_dm_where(s->t.ctx, DM, s->src, s->tgt, &w),
                     XLMIG_OK);
    assert_int_equal(w, SMIRROR_MIRRORING);
    sync_up(s, m);
    assert_int_equal(smirror_pivot(s->t.ctx, m), XLMIG_OK);
    assert_int_equal(smirror_dm_where(s->t.ctx, DM, s->src, s->tgt, &w),
                     XLMIG_OK);
    assert_int_equal(w, SMIRROR_ON_TARGET);
    smirror_free(s->t.ctx, m);
    /* Neither image, no such device, a name that is no dm name. */
    make_file(other, DISK);
    assert_int_equal(smirror_dm_where(s->t.ctx, DM, s->src, other, &w),
                     XLMIG_E_STORAGE);
    assert_int_equal(smirror_dm_where(s->t.ctx, "xlmig-9-51712", s->src,
                                      s->tgt, &w), XLMIG_E_NOTFOUND);
    assert_int_equal(smirror_dm_where(s->t.ctx, "-x", s->src, s->tgt, &w),
                     XLMIG_E_INVAL);
    free(other);
}

/* What an xlmig that died mid-mirror left: the mirror table. */
static void test_abort_mirroring(void **state)
{
    struct st *s = *state;

    sh("losetup --find --show --direct-io=on '%s' >/dev/null", s->tgt);
    sh("dmsetup suspend " DM " && dmsetup load " DM " --table '" MIRROR
       "' && dmsetup resume " DM);
    assert_int_equal(smirror_dm_abort(s->t.ctx, DM, s->src, s->tgt),
                     XLMIG_OK);
    assert_disk(s, LINEAR_SRC);
    assert_only_source_loop(s);
    /* Again: nothing left to do. */
    assert_int_equal(smirror_dm_abort(s->t.ctx, DM, s->src, s->tgt),
                     XLMIG_OK);
    assert_disk(s, LINEAR_SRC);
}

/* It died after suspend and load: the disk suspended, a mirror loaded
 * but not active, the target's loop made. */
static void test_abort_suspended(void **state)
{
    struct st *s = *state;

    sh("losetup --find --show --direct-io=on '%s' >/dev/null", s->tgt);
    sh("dmsetup suspend " DM " && dmsetup load " DM " --table '" MIRROR
       "'");
    assert_int_equal(smirror_dm_abort(s->t.ctx, DM, s->src, s->tgt),
                     XLMIG_OK);
    assert_disk(s, LINEAR_SRC);
    assert_only_source_loop(s);
}

/* The domain is gone with its dm device (block-xlmig removed it), but a
 * loop of ours over the target is left: released, nothing else to do. */
static void test_abort_device_gone(void **state)
{
    struct st *s = *state;
    char *l;

    sh("losetup --find --show --direct-io=on '%s' >/dev/null", s->tgt);
    sh("dmsetup remove " DM);
    assert_int_equal(smirror_dm_abort(s->t.ctx, DM, s->src, s->tgt),
                     XLMIG_OK);
    l = state_file(s, "loops");
    assert_null(strstr(l, "/dev/loop1 "));
    free(l);
}

/* A loop over the target that another dm device uses is not ours to
 * release. */
static void test_abort_keeps_used_loop(void **state)
{
    struct st *s = *state;
    char *l;

    sh("losetup --find --show --direct-io=on '%s' >/dev/null", s->tgt);
    sh("dmsetup create xlmig-2-51712 --table '" LINEAR_TGT "'");
    assert_int_equal(smirror_dm_abort(s->t.ctx, DM, s->src, s->tgt),
                     XLMIG_OK);
    assert_disk(s, LINEAR_SRC);
    l = state_file(s, "loops");
    assert_non_null(strstr(l, "/dev/loop1 7:1 "));
    free(l);
}

static void test_abort_on_target(void **state)
{
    struct st *s = *state;
    struct smirror *m = start(s);

    sync_up(s, m);
    assert_int_equal(smirror_pivot(s->t.ctx, m), XLMIG_OK);
    smirror_free(s->t.ctx, m);
    assert_int_equal(smirror_dm_abort(s->t.ctx, DM, s->src, s->tgt),
                     XLMIG_E_INVAL);
    assert_disk(s, LINEAR_TGT);
}

static void test_target_too_small(void **state)
{
    struct st *s = *state;
    struct smirror *m = NULL;
    char *log;

    make_file(s->tgt, DISK - 512);
    assert_int_equal(smirror_dm_start(s->t.ctx, DM, s->tgt, 0, &m),
                     XLMIG_E_NOSPACE);
    assert_null(m);
    assert_disk(s, LINEAR_SRC);
    assert_only_source_loop(s);
    log = log_text(s);
    assert_string_equal(log, "dmsetup table " DM "\n");
    free(log);
}

/* A table not ours (a mirror already, or foreign): busy, untouched. */
static void test_busy(void **state)
{
    struct st *s = *state;
    struct smirror *m = NULL;
    enum smirror_where w;

    sh("losetup --find --show --direct-io=on '%s' >/dev/null", s->tgt);
    sh("dmsetup load " DM " --table '" MIRROR "' && dmsetup resume " DM);
    assert_int_equal(smirror_dm_start(s->t.ctx, DM, s->tgt, 0, &m),
                     XLMIG_E_BUSY);
    assert_null(m);
    assert_disk(s, MIRROR);
    sh("echo '0 8192 striped 2 128 7:0 0 7:1 0' >'%s/dm/" DM "/table'",
       s->state);
    assert_int_equal(smirror_dm_start(s->t.ctx, DM, s->tgt, 0, &m),
                     XLMIG_E_BUSY);
    assert_int_equal(smirror_dm_where(s->t.ctx, DM, s->src, s->tgt, &w),
                     XLMIG_E_STORAGE);
}

/* Status lines that are not our mirror's fail the poll. */
static void test_bad_status(void **state)
{
    static const char *const bad[] = {
        "0 8192 mirror 2 7:0 7:1 9/8 1 AA 1 core",      /* 9 of 8 */
        "0 8192 mirror 2 7:0 7:1 8/9 1 AA 1 core",      /* not 8 regions */
        "0 8192 mirror 2 7:0 7:2 8/8 1 AA 1 core",      /* other leg */
        "0 4096 mirror 2 7:0 7:1 8/8 1 AA 1 core",      /* other size */
        "0 8192 mirror 2 7:0 7:1 8/8 1 AAA 1 core",
        "0 8192 mirror 2 7:0 7:1 8/8 1 aa 1 core",
        "0 8192 mirror 2 7:0 7:1 8/8 1 AA 1 disk",
        "0 8192 mirror 2 7:0 7:1 8/8 1 AA 1 core extra",
        "0 8192 mirror 2 7:0 7:1 8/8 1 AA 1 core\n0 1 linear ",
        "0 8192 mirror 2 7:0 7:1 -1/8 1 AA 1 core",
        "0 8192 mirror 2 7:0 7:1 18446744073709551616/8 1 AA 1 core",
        "0 8192 mirror 2 7:0 7:99999999 8/8 1 AA 1 core",
        "0 8192 linear ",
        "",
    };
    struct st *s = *state;
    struct smirror *m = start(s);
    struct smirror_status st;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        knob(s, "status-override", bad[i]);
        assert_int_equal(smirror_poll(s->t.ctx, m, &st), XLMIG_E_STORAGE);
    }
    knob(s, "status-override", "0 8192 mirror 2 7:0 7:1 8/8 1 AA 1 core\n");
    assert_int_equal(smirror_poll(s->t.ctx, m, &st), XLMIG_OK);
    assert_true(st.ready);
    unknob(s, "status-override");
    assert_int_equal(smirror_cancel(s->t.ctx, m), XLMIG_OK);
    smirror_free(s->t.ctx, m);
    assert_disk(s, LINEAR_SRC);
}

/* The parsers alone: what the kernel and losetup print is taken, any
 * deviation refused. */
static void test_parsers(void **state)
{
    static const char *const bad_tables[] = {
        "0 8192 linear 7:0 8",                  /* offset */
        "1 8192 linear 7:0 0",
        "0 0 linear 7:0 0",
        "0 8192 linear 7:0",
        "0 8192 linear 4096:0 0",               /* major over 12 bits */
        "0 8192 linear 7:1048576 0",            /* minor over 20 bits */
        "0 8192 linear 7: 0",
        "0 8192 linear :7 0",
        "0 8192 linear +7:0 0",
        "0 8192 linear 7:0 0\n0 8 linear 7:1 0",
        "0 8192 mirror core 1 1000 2 7:0 0 7:1 0 1 handle_errors",
        "0 8192 mirror core 1 16384 2 7:0 0 7:1 0 1 handle_errors",
        "0 8192 mirror disk 1 1024 2 7:0 0 7:1 0 1 handle_errors",
        "0 8192 mirror core 1 1024 3 7:0 0 7:1 0 1 handle_errors",
        "0 8192 mirror core 1 1024 2 7:0 0 7:1 0 0",
        "0 8192 mirror core 2 1024 nosync 2 7:0 0 7:1 0 1 handle_errors",
        "0 99999999999999999999 linear 7:0 0",
        "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
        "",
    };
    static const char *const bad_loops[] = {
        "/dev/loop0 7:0 254:0 12",                      /* no newline */
        "/dev/loop0 7:0 254:0\n",
        "/dev/loop0 7:0 254:0 12 x\n",
        "/dev/loop0 7:0 254:0 1x\n",
        "loop0 7:0 254:0 12\n",
        "/dev/../x 7:0 254:0 12\n/dev/lo op 7:1 254:0 13\n",
        "/dev/loop0  7:0 254:0 12\n",
    };
    struct smirror_dm_table t;
    struct smirror_dm_status st;
    struct smirror_dm_loop *loops = NULL;
    struct smirror_dm_dev *devs = NULL;
    size_t i, n;

    (void)state;
    assert_int_equal(smirror_dm_parse_table(LINEAR_SRC "\n", &t), XLMIG_OK);
    assert_int_equal(t.kind, SMIRROR_DM_LINEAR);
    assert_int_equal(t.sectors, 8192);
    assert_int_equal(t.dev[0].maj, 7);
    assert_int_equal(t.dev[0].min, 0);
    assert_int_equal(smirror_dm_parse_table(MIRROR, &t), XLMIG_OK);
    assert_int_equal(t.kind, SMIRROR_DM_MIRROR);
    assert_int_equal(t.region, 1024);
    assert_int_equal(t.dev[1].min, 1);
    for (i = 0; i < ARRAY_SIZE(bad_tables); i++)
        assert_int_equal(smirror_dm_parse_table(bad_tables[i], &t),
                         XLMIG_E_PROTO);
    assert_int_equal(smirror_dm_parse_status(
        "0 8192 mirror 2 253:3 7:1 3/8 1 AD 1 core\n", &st), XLMIG_OK);
    assert_int_equal(st.in_sync, 3);
    assert_int_equal(st.regions, 8);
    assert_int_equal(st.dev[0].maj, 253);
    assert_string_equal(st.health, "AD");
    assert_int_equal(smirror_dm_parse_status(
        "0 8192 mirror 2 253:3 7:1 3/0 1 AA 1 core", &st), XLMIG_E_PROTO);
    assert_int_equal(smirror_dm_parse_loops(
        "/dev/loop0 7:0 254:0 12\n/dev/loop1 7:1  \n"
        "/dev/loop7 7:7 8:1 18446744073709551615\n", &loops, &n), XLMIG_OK);
    assert_int_equal(n, 2);
    assert_string_equal(loops[1].name, "/dev/loop7");
    assert_int_equal(loops[1].back_dev.maj, 8);
    assert_true(loops[1].back_ino == UINT64_MAX);
    free(loops);
    assert_int_equal(smirror_dm_parse_loops("", &loops, &n), XLMIG_OK);
    assert_int_equal(n, 0);
    free(loops);
    for (i = 0; i < ARRAY_SIZE(bad_loops); i++) {
        loops = NULL;
        assert_int_equal(smirror_dm_parse_loops(bad_loops[i], &loops, &n),
                         XLMIG_E_PROTO);
        assert_null(loops);
    }
    assert_int_equal(smirror_dm_parse_all(
        "xlmig-1-2: " MIRROR "\nvg-lv: 0 8 linear 8:1 2048\n", &devs, &n),
        XLMIG_OK);
    assert_int_equal(n, 3);
    assert_int_equal(devs[2].maj, 8);
    free(devs);
    assert_int_equal(smirror_dm_parse_all("No devices found\n", &devs, &n),
                     XLMIG_OK);
    assert_int_equal(n, 0);
    free(devs);
    assert_int_equal(smirror_dm_parse_all("xlmig-1-2 0 8 linear 7:0 0\n",
                                          &devs, &n), XLMIG_E_PROTO);
}

/* A small disk gets a smaller region (at most the table's length). */
static void test_small_disk(void **state)
{
    struct st *s = *state;
    struct smirror *m;
    struct smirror_status st;
    char *log;

    sh("dmsetup suspend " DM " && dmsetup load " DM
       " --table '0 300 linear 7:0 0' && dmsetup resume " DM);
    m = start(s);
    log = log_text(s);
    assert_non_null(strstr(log, " --table 0 300 mirror core 1 256 2 "));
    free(log);
    do {
        assert_int_equal(smirror_poll(s->t.ctx, m, &st), XLMIG_OK);
        assert_int_equal(st.total, 300 * 512);
    } while (!st.ready);
    assert_int_equal(st.done, 300 * 512);
    smirror_free(s->t.ctx, m);
    assert_disk(s, "0 300 linear 7:0 0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)
        T(test_pivot),
        T(test_detach),
        T(test_cancel_mid_sync),
        T(test_free_cancels),
        T(test_dead_leg),
        T(test_pivot_leg_failed),
        T(test_detach_not_in_sync),
        T(test_start_load_fails),
        T(test_start_resume_fails),
        T(test_start_suspend_fails),
        T(test_pivot_late_resume),
        T(test_where),
        T(test_abort_mirroring),
        T(test_abort_suspended),
        T(test_abort_device_gone),
        T(test_abort_keeps_used_loop),
        T(test_abort_on_target),
        T(test_target_too_small),
        T(test_busy),
        T(test_bad_status),
        T(test_small_disk),
        cmocka_unit_test(test_parsers),
#undef T
    };
    const char *path = getenv("PATH");
    char *p = xasprintf("%s:%s", FAKE_DM_BIN, path ? path : "/usr/bin:/bin");

    setenv("PATH", p, 1);
    free(p);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
