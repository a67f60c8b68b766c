/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-journal.c - a job's journal (journal.c): records round-trip with
 * awkward strings, replace atomically, list and remove; damaged files of
 * every kind are refused with XLMIG_E_INVAL and one "PATH: reason" line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "journal.h"

/* A logger that keeps the last ERROR line (after the function name that
 * ctx_log puts first), to check what was said. */
struct capture {
    xentoollog_logger vtable;
    char last[512];
    unsigned errors;
};

struct jt {
    struct capture cap;
    struct xlmig_ctx *ctx;
    char top[64];
    char *dir;                  /* XLMIG_STATE_DIR: top/state */
};

static void capture_vmessage(xentoollog_logger *lg, xentoollog_level level,
                             int errnoval, const char *context,
                             const char *fmt, va_list ap)
{
    struct capture *cap = (struct capture *)lg;

    (void)errnoval;
    (void)context;
    if (level < XTL_ERROR) return;
    vsnprintf(cap->last, sizeof(cap->last), fmt, ap);
    cap->errors++;
    if (getenv("XLMIG_TEST_LOG")) fprintf(stderr, "%s\n", cap->last);
}

static void capture_destroy(xentoollog_logger *lg)
{
    (void)lg;
}

static void rm_tree(const char *dir)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    char *p;

    if (!d) return;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        p = xasprintf("%s/%s", dir, de->d_name);
        assert_int_equal(unlink(p), 0);
        free(p);
    }
    closedir(d);
    assert_int_equal(rmdir(dir), 0);
}

static int jt_setup(void **state)
{
    static struct jt t;

    memset(&t, 0, sizeof(t));
    t.cap.vtable.vmessage = capture_vmessage;
    t.cap.vtable.destroy = capture_destroy;
    if (xlmig_ctx_new(&t.ctx, &t.cap.vtable, "libxl")) return -1;
    strcpy(t.top, "/tmp/test-journal.XXXXXX");
    if (!mkdtemp(t.top)) return -1;
    t.dir = xasprintf("%s/state", t.top);
    setenv("XLMIG_STATE_DIR", t.dir, 1);
    *state = &t;
    return 0;
}

static int jt_teardown(void **state)
{
    struct jt *t = *state;

    rm_tree(t->dir);
    rmdir(t->top);
    unsetenv("XLMIG_STATE_DIR");
    free(t->dir);
    xlmig_ctx_free(t->ctx);
    return 0;
}

static void rec_fill(struct journal_rec *r, const char *id)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", id);
    strcpy(r->role, "send");
    strcpy(r->kind, "migrate");
    strcpy(r->phase, "transfer");
    strcpy(r->name, "guest \"one\" \\ d\xc3\xb6m\xc3\xbc\n\ttab");
    strcpy(r->uuid, "6b7ee2d3-3c56-4b0e-9a57-1b3a1b0c1d2e");
    strcpy(r->peer, "root@host-b:/path?\x01");
    r->domid = 4294967295u;
    r->go = true;
    r->suspended = false;
    r->started = 1700000000.125;
    r->updated = 1700000012.5;
    strcpy(r->error, "");
}

static char *rec_path(const struct jt *t, const char *id)
{
    return xasprintf("%s/%s.json", t->dir, id);
}

static unsigned dir_entries(const char *dir)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    unsigned n = 0;

    assert_non_null(d);
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void assert_rec_equal(const struct journal_rec *a,
                             const struct journal_rec *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->role, b->role);
    assert_string_equal(a->kind, b->kind);
    assert_string_equal(a->phase, b->phase);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->uuid, b->uuid);
    assert_string_equal(a->peer, b->peer);
    assert_int_equal(a->domid, b->domid);
    assert_int_equal(a->go, b->go);
    assert_int_equal(a->suspended, b->suspended);
    assert_true(a->started == b->started);
    assert_true(a->updated == b->updated);
    assert_string_equal(a->error, b->error);
}

static void test_round_trip(void **state)
{
    struct jt *t = *state;
    struct journal_rec in, out;
    char *path = rec_path(t, "65a1b2c3-1");
    struct stat st;

    rec_fill(&in, "65a1b2c3-1");
    assert_int_equal(journal_write(t->ctx, &in), XLMIG_OK);
    assert_int_equal(stat(t->dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(journal_read(t->ctx, path, &out), XLMIG_OK);
    assert_rec_equal(&in, &out);
    assert_int_equal(t->cap.errors, 0);
    free(path);
}

/* A migration's moved disks: every field of each comes back. */
static void test_disks_round_trip(void **state)
{
    struct jt *t = *state;
    struct journal_rec in, out;
    char *path = rec_path(t, "65a1b2c3-2");
    unsigned i;

    rec_fill(&in, "65a1b2c3-2");
    in.keep = true;
    in.n_disks = JOURNAL_DISKS_MAX;
    for (i = 0; i < in.n_disks; i++) {
        snprintf(in.disks[i].vdev, sizeof(in.disks[i].vdev), "xvd%c",
                 'a' + i);
        snprintf(in.disks[i].src, sizeof(in.disks[i].src), "/sr1/d%u.img", i);
        snprintf(in.disks[i].dst, sizeof(in.disks[i].dst), "/sr2/d%u.img", i);
        strcpy(in.disks[i].fmt, i % 2 ? "qcow2" : "raw");
        strcpy(in.disks[i].mover, i % 2 ? "qmp" : "dm");
        snprintf(in.disks[i].handle, sizeof(in.disks[i].handle),
                 i % 2 ? "/run/xen/xlmig-qmp-g.sock" : "xlmig-3-5171%u", i);
        strcpy(in.disks[i].prop, i % 2 ? "serial" : "");
    }
    assert_int_equal(journal_write(t->ctx, &in), XLMIG_OK);
    assert_int_equal(journal_read(t->ctx, path, &out), XLMIG_OK);
    assert_rec_equal(&in, &out);
    assert_true(out.keep);
    assert_int_equal(out.n_disks, in.n_disks);
    assert_memory_equal(out.disks, in.disks, sizeof(in.disks));
    free(path);
}

/* A throttled migration's original scheduler cap comes back. */
static void test_throttle_round_trip(void **state)
{
    struct jt *t = *state;
    struct journal_rec in, out;
    char *path = rec_path(t, "65a1b2c3-3");

    rec_fill(&in, "65a1b2c3-3");
    in.throttle = true;
    in.sched_cap = 150;
    assert_int_equal(journal_write(t->ctx, &in), XLMIG_OK);
    assert_int_equal(journal_read(t->ctx, path, &out), XLMIG_OK);
    assert_rec_equal(&in, &out);
    assert_true(out.throttle);
    assert_int_equal(out.sched_cap, 150);
    in.sched_cap = 0;
    assert_int_equal(journal_write(t->ctx, &in), XLMIG_OK);
    assert_int_equal(journal_read(t->ctx, path, &out), XLMIG_OK);
    assert_true(out.throttle);
    assert_int_equal(out.sched_cap, 0);
    in.throttle = false;
    assert_int_equal(journal_write(t->ctx, &in), XLMIG_OK);
    assert_int_equal(journal_read(t->ctx, path, &out), XLMIG_OK);
    assert_false(out.throttle);
    free(path);
}

/* A name cut inside a UTF-8 character must not make the record
 * unreadable. */
static void test_invalid_utf8_is_stored_readable(void **state)
{
    struct jt *t = *state;
    struct journal_rec in, out;
    char *path = rec_path(t, "u-1");

    rec_fill(&in, "u-1");
    strcpy(in.name, "ab\xc3");
    assert_int_equal(journal_write(t->ctx, &in), XLMIG_OK);
    assert_int_equal(journal_read(t->ctx, path, &out), XLMIG_OK);
    assert_string_equal(out.name, "ab?");
    assert_string_equal(out.peer, in.peer);
    free(path);
}

static void test_replace_is_atomic(void **state)
{
    struct jt *t = *state;
    struct journal_rec in, out;
    char *path = rec_path(t, "r-1");

    rec_fill(&in, "r-1");
    assert_int_equal(journal_write(t->ctx, &in), XLMIG_OK);
    strcpy(in.phase, "switchover");
    in.suspended = true;
    strcpy(in.error, "peer hung up");
    assert_int_equal(journal_write(t->ctx, &in), XLMIG_OK);
    assert_int_equal(journal_read(t->ctx, path, &out), XLMIG_OK);
    assert_rec_equal(&in, &out);
    /* No temporary file is left beside the record. */
    assert_int_equal(dir_entries(t->dir), 1);
    free(path);
}

static void test_list_sorted_json_only(void **state)
{
    struct jt *t = *state;
    const char *ids[] = { "c-3", "a-1", "b-2" };
    struct journal_rec r;
    char **paths, *p;
    size_t n, i;
    FILE *f;

    assert_int_equal(journal_list(t->ctx, &paths, &n), XLMIG_OK);
    assert_int_equal(n, 0);
    assert_null(paths);
    for (i = 0; i < ARRAY_SIZE(ids); i++) {
        rec_fill(&r, ids[i]);
        assert_int_equal(journal_write(t->ctx, &r), XLMIG_OK);
    }
    p = xasprintf("%s/notes.txt", t->dir);
    f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
    free(p);
    p = xasprintf("%s/.x-9.json.tmp", t->dir);
    f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
    free(p);
    assert_int_equal(journal_list(t->ctx, &paths, &n), XLMIG_OK);
    assert_int_equal(n, 3);
    for (i = 0; i < n; i++) {
        p = xasprintf("%s/%c-%zu.json", t->dir, (char)('a' + i), i + 1);
        assert_string_equal(paths[i], p);
        free(p);
        free(paths[i]);
    }
    free(paths);
}

static void test_remove(void **state)
{
    struct jt *t = *state;
    struct journal_rec r;
    char *path = rec_path(t, "d-1");
    char **paths;
    size_t n;

    rec_fill(&r, "d-1");
    assert_int_equal(journal_write(t->ctx, &r), XLMIG_OK);
    assert_int_equal(journal_remove(t->ctx, "d-1"), XLMIG_OK);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(journal_list(t->ctx, &paths, &n), XLMIG_OK);
    assert_int_equal(n, 0);
    assert_int_equal(journal_remove(t->ctx, "d-1"), XLMIG_OK);
    assert_int_equal(journal_remove(t->ctx, "../d-1"), XLMIG_E_INVAL);
    assert_int_equal(journal_read(t->ctx, path, &r), XLMIG_E_NOTFOUND);
    free(path);
}

static void test_write_refuses_bad_records(void **state)
{
    struct jt *t = *state;
    struct journal_rec r;

    rec_fill(&r, "../escape");
    assert_int_equal(journal_write(t->ctx, &r), XLMIG_E_INVAL);
    rec_fill(&r, "");
    assert_int_equal(journal_write(t->ctx, &r), XLMIG_E_INVAL);
    rec_fill(&r, "n-1");
    r.updated = 1.0 / 0.0;
    assert_int_equal(journal_write(t->ctx, &r), XLMIG_E_INVAL);
}

/* ---- damaged files ---- */

/* A valid record as JSON, with key replaced by value (a JSON literal),
 * or dropped if value is NULL. */
static char *json_with(const char *key, const char *value)
{
    static const char *const kv[][2] = {
        { "version", "1" }, { "id", "\"k-1\"" }, { "role", "\"recv\"" },
        { "kind", "\"migrate\"" }, { "phase", "\"transfer\"" },
        { "name", "\"g\"" }, { "uuid", "\"6b7ee2d3\"" },
        { "peer", "\"h\"" }, { "domid", "3" }, { "go", "false" },
        { "suspended", "false" }, { "started", "1.5" },
        { "updated", "2" }, { "error", "\"\"" },
        /* Optional (added later): absent is false, as in old journals. */
        { "paused", NULL }, { "disks", NULL }, { "throttle", NULL },
        { "sched_cap", NULL },
    };
    char *out = xstrdup("{"), *next;
    const char *v;
    bool first = true;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(kv); i++) {
        v = key && !strcmp(key, kv[i][0]) ? value : kv[i][1];
        if (!v) continue;
        next = xasprintf("%s%s\"%s\": %s", out, first ? "" : ", ", kv[i][0],
                         v);
        free(out);
        out = next;
        first = false;
    }
    next = xasprintf("%s}", out);
    free(out);
    return next;
}

struct bad {
    const char *what;
    const char *key, *value;    /* json_with(key, value) if text is NULL */
    const char *text;
    size_t len;                 /* of text; 0: strlen */
    const char *reason;         /* part of the logged line */
};

static void write_bytes(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static void test_damaged_files_are_inval(void **state)
{
    static const char garbage[] = "\x7f" "ELF\x02\x01\x01\x00\x00\xff\xfe";
    static const struct bad bad[] = {
        { "empty", NULL, NULL, "", 0, "empty" },
        { "truncated", NULL, NULL, "{\"version\": 1, \"id\": \"k-", 0,
          "not JSON" },
        { "array", NULL, NULL, "[1, 2]", 0, "not a JSON object" },
        { "string", NULL, NULL, "\"version\"", 0, "not a JSON object" },
        { "garbage", NULL, NULL, garbage, sizeof(garbage) - 1, "NUL" },
        { "latin1", NULL, NULL, "\xff\xfe{}", 0, "not JSON" },
        { "trailing", NULL, NULL, "{} {}", 0, "not JSON" },
        { "no version", "version", NULL, NULL, 0, "no version" },
        { "version 2", "version", "2", NULL, 0, "version is not 1" },
        { "version str", "version", "\"1\"", NULL, 0, "version is not 1" },
        { "no peer", "peer", NULL, NULL, 0, "peer is missing" },
        { "no go", "go", NULL, NULL, 0, "go missing" },
        { "long role", "role", "\"sendsendsend\"", NULL, 0,
          "role longer than 7" },
        { "id number", "id", "5", NULL, 0, "id is not a string" },
        { "id path", "id", "\"../etc\"", NULL, 0, "not a job id" },
        { "domid str", "domid", "\"3\"", NULL, 0, "domid" },
        { "domid neg", "domid", "-1", NULL, 0, "domid" },
        { "domid big", "domid", "4294967296", NULL, 0, "domid" },
        { "go int", "go", "1", NULL, 0, "go missing or not" },
        { "paused str", "paused", "\"yes\"", NULL, 0,
          "paused not true/false" },
        { "started str", "started", "\"now\"", NULL, 0, "started" },
        { "started inf", "started", "1e999", NULL, 0, "started" },
        { "updated null", "updated", "null", NULL, 0, "updated" },
        { "error obj", "error", "{}", NULL, 0, "error is not a string" },
        { "disks obj", "disks", "{}", NULL, 0, "disks is not an array" },
        { "disk str", "disks", "[\"x\"]", NULL, 0, "not an object" },
        { "disk part", "disks", "[{\"vdev\": \"xvda\"}]", NULL, 0,
          "src is missing" },
        { "disks many", "disks", "[{},{},{},{},{},{},{},{},{}]", NULL, 0,
          "more disks" },
        { "throttle str", "throttle", "\"yes\"", NULL, 0,
          "throttle not true/false" },
        /* throttle without its cap, or a cap Xen cannot have */
        { "throttle no cap", "throttle", "true", NULL, 0, "sched_cap" },
        { "throttle cap neg", "throttle", "true, \"sched_cap\": -1", NULL,
          0, "sched_cap" },
        { "throttle cap big", "throttle", "true, \"sched_cap\": 65536",
          NULL, 0, "sched_cap" },
        { "throttle cap str", "throttle", "true, \"sched_cap\": \"50\"",
          NULL, 0, "sched_cap" },
    };
    struct jt *t = *state;
    struct journal_rec r;
    char *path = rec_path(t, "bad"), *text, *deep, *big, *want;
    size_t i;

    assert_int_equal(mkdir(t->dir, 0700), 0);
    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        text = bad[i].text ? NULL : json_with(bad[i].key, bad[i].value);
        if (bad[i].text)
            write_bytes(path, bad[i].text,
                        bad[i].len ? bad[i].len : strlen(bad[i].text));
        else
            write_bytes(path, text, strlen(text));
        t->cap.errors = 0;
        t->cap.last[0] = '\0';
        memset(&r, 0x55, sizeof(r));
        if (journal_read(t->ctx, path, &r) != XLMIG_E_INVAL)
            fail_msg("%s: not refused", bad[i].what);
        assert_int_equal(t->cap.errors, 1);
        want = xasprintf("%s: ", path);
        if (!strstr(t->cap.last, want) || !strstr(t->cap.last, bad[i].reason))
            fail_msg("%s: logged '%s'", bad[i].what, t->cap.last);
        assert_null(strchr(t->cap.last, '\n'));
        assert_int_equal(r.id[0], 0);
        free(want);
        free(text);
    }
    /* The reference record itself is fine. */
    text = json_with(NULL, NULL);
    write_bytes(path, text, strlen(text));
    assert_int_equal(journal_read(t->ctx, path, &r), XLMIG_OK);
    assert_string_equal(r.id, "k-1");
    free(text);
    deep = xmalloc(4001);
    memset(deep, '[', 4000);
    write_bytes(path, deep, 4000);
    assert_int_equal(journal_read(t->ctx, path, &r), XLMIG_E_INVAL);
    assert_non_null(strstr(t->cap.last, "nested deeper than 8"));
    big = xmalloc(JOURNAL_FILE_MAX + 10);
    memset(big, ' ', JOURNAL_FILE_MAX + 10);
    big[0] = '{';
    big[JOURNAL_FILE_MAX + 9] = '}';
    write_bytes(path, big, JOURNAL_FILE_MAX + 10);
    assert_int_equal(journal_read(t->ctx, path, &r), XLMIG_E_INVAL);
    assert_non_null(strstr(t->cap.last, "larger than"));
    assert_int_equal(journal_read(t->ctx, t->dir, &r), XLMIG_E_INVAL);
    assert_non_null(strstr(t->cap.last, "not a regular file"));
    free(deep);
    free(big);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_throttle_round_trip, jt_setup,
                                        jt_teardown),
        cmocka_unit_test_setup_teardown(test_disks_round_trip, jt_setup,
                                        jt_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, jt_setup,
                                        jt_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_is_stored_readable,
                                        jt_setup, jt_teardown),
        cmocka_unit_test_setup_teardown(test_replace_is_atomic, jt_setup,
                                        jt_teardown),
        cmocka_unit_test_setup_teardown(test_list_sorted_json_only,
                                        jt_setup, jt_teardown),
        cmocka_unit_test_setup_teardown(test_remove, jt_setup, jt_teardown),
        cmocka_unit_test_setup_teardown(test_write_refuses_bad_records,
                                        jt_setup, jt_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_files_are_inval,
                                        jt_setup, jt_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
