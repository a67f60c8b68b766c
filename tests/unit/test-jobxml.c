/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-jobxml.c - job files (jobxml.c, jobxml-place.c): valid files load
 * with every field as written and the defaults where not; every semantic
 * error and the schema's say where they are ("t.xml:LINE: message", the
 * whole prefix asserted); hostile files (DOCTYPE, billion laughs, external
 * DTD, XXE, XInclude, other encodings, too big, too deep) are refused with
 * nothing expanded or fetched; dependency order and cycles; selections;
 * and the evacuation placement on figures worked out by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "internal.h"
#include "jobxml.h"

#define PATH "t.xml"
/* Lines 1 and 2: what a file's own content starts after, on line 3. */
#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
             "<jobs xmlns=\"urn:xlmig:jobs:1\" version=\"1\">\n"
#define TAIL "</jobs>\n"
#define UUID1 "3f0c9a52-6d1e-4b7a-9c2f-8e5d41a0b7c3"
#define UUID2 "0b1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"

/* ---- helpers ---- */

static void print_errors(const struct jobxml_errors *errs)
{
    size_t i;

    for (i = 0; i < errs->n; i++) print_error("  %s\n", errs->line[i]);
}

/* Each error one printable line (no C0, no C1 controls) naming PATH. */
static void check_lines(const struct jobxml_errors *errs)
{
    const unsigned char *u;
    size_t i;

    for (i = 0; i < errs->n; i++) {
        if (strncmp(errs->line[i], PATH ":", strlen(PATH ":")))
            fail_msg("error %zu does not start with " PATH ": %s", i,
                     errs->line[i]);
        for (u = (const unsigned char *)errs->line[i]; *u; u++)
            if (*u < 0x20 || *u == 0x7f ||
                (*u == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f))
                fail_msg("error %zu has control character 0x%02x: %s", i,
                         *u, errs->line[i]);
    }
}

/* The errors of a load that must fail, with f left empty. */
static void load_fails(const char *text, size_t len,
                       struct jobxml_errors *errs)
{
    struct jobxml_file f;
    int rc;

    rc = jobxml_load(PATH, text, len, &f, errs);
    if (rc != XLMIG_E_INVAL) {
        print_errors(errs);
        fail_msg("load gave %d, expected XLMIG_E_INVAL, for %.300s", rc,
                 text);
    }
    assert_in_range(errs->n, 1, JOBXML_ERRORS_MAX);
    check_lines(errs);
    assert_null(f.jobs);
    assert_null(f.hosts);
    assert_null(f.order);
    assert_null(f.path);
    assert_int_equal(f.n_jobs, 0);
    jobxml_dispose(&f);
}

/* The line of the error that starts "PATH:" + a line, or 0 when none. */
static long error_line(const char *err)
{
    const char *p = err + strlen(PATH);
    char *end;
    long line;

    if (*p != ':' || p[1] < '1' || p[1] > '9') return 0;
    line = strtol(p + 1, &end, 10);
    return *end == ':' ? line : 0;
}

/*
 * Loads len bytes of text, which must fail with an error that is exactly
 * "PATH:line: " (or "PATH: " when line is 0) followed by msg and maybe
 * more.
 */
static void expect_error_n(const char *text, size_t len, long line,
                           const char *msg)
{
    struct jobxml_errors errs;
    char *prefix;
    size_t i;

    load_fails(text, len, &errs);
    if (line > 0) prefix = xasprintf(PATH ":%ld: %s", line, msg);
    else prefix = xasprintf(PATH ": %s", msg);
    for (i = 0; i < errs.n; i++)
        if (!strncmp(errs.line[i], prefix, strlen(prefix))) break;
    if (i == errs.n) {
        print_errors(&errs);
        fail_msg("no error starts with '%s'", prefix);
    }
    free(prefix);
    jobxml_errors_dispose(&errs);
}

static void expect_error(const char *text, long line, const char *msg)
{
    expect_error_n(text, strlen(text), line, msg);
}

/* text (freed) with a formatted tail appended. */
static char *test_append(char *text, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *test_append(char *text, const char *fmt, ...)
{
    va_list ap;
    char *tail, *out;

    va_start(ap, fmt);
    if (vasprintf(&tail, fmt, ap) < 0) abort();
    va_end(ap);
    out = xasprintf("%s%s", text, tail);
    free(text);
    free(tail);
    return out;
}

/* Loads text, which must fail; returns the line of its first error that
 * has one (fails if none has). */
static long refused_at(const char *text, size_t len)
{
    struct jobxml_errors errs;
    long line = 0;
    size_t i;

    load_fails(text, len, &errs);
    for (i = 0; i < errs.n && !line; i++) line = error_line(errs.line[i]);
    if (!line) {
        print_errors(&errs);
        fail_msg("no error of the refusal has a line");
    }
    jobxml_errors_dispose(&errs);
    return line;
}

/* Whether any error of text's refusal contains s. */
static bool refused_saying(const char *text, size_t len, const char *s)
{
    struct jobxml_errors errs;
    bool found = false;
    size_t i;

    load_fails(text, len, &errs);
    for (i = 0; i < errs.n; i++)
        if (strstr(errs.line[i], s)) found = true;
    jobxml_errors_dispose(&errs);
    return found;
}

static void load_ok(const char *text, size_t len, struct jobxml_file *f)
{
    struct jobxml_errors errs;
    int rc;

    rc = jobxml_load(PATH, text, len, f, &errs);
    if (rc != XLMIG_OK || errs.n) {
        print_errors(&errs);
        fail_msg("load gave %d with %zu errors", rc, errs.n);
    }
    jobxml_errors_dispose(&errs);
    assert_string_equal(f->path, PATH);
}

/* f->order is a permutation of the jobs with each after what it names. */
static void check_order(const struct jobxml_file *f)
{
    size_t *pos = xcalloc(f->n_jobs + 1, sizeof(*pos));
    bool *seen = xcalloc(f->n_jobs + 1, sizeof(*seen));
    const struct jobxml_job *j;
    size_t i, k;

    for (i = 0; i < f->n_jobs; i++) {
        assert_in_range(f->order[i], 0, f->n_jobs - 1);
        assert_false(seen[f->order[i]]);
        seen[f->order[i]] = true;
        pos[f->order[i]] = i;
    }
    for (i = 0; i < f->n_jobs; i++) {
        j = &f->jobs[i];
        for (k = 0; k < j->n_after; k++) {
            assert_string_equal(f->jobs[j->after_idx[k]].id, j->after[k]);
            assert_true(pos[j->after_idx[k]] < pos[i]);
        }
    }
    free(pos);
    free(seen);
}

/* ---- valid files ---- */

static const char every_kind[] =
    HEAD                                                            /* 1-2 */
    "  <limits total=\"4\" per-source=\"2\" per-destination=\"3\""
    " per-sr=\"1\"/>\n"                                               /* 3 */
    "  <host name=\"hosta\" address=\"root@hosta.example.net\"/>\n"   /* 4 */
    "  <host name=\"hostb\" address=\"hostb.example.net\""
    " limit=\"2\"/>\n"                                                /* 5 */
    "  <host name=\"hostc\" address=\"[fe80::1]\"/>\n"                /* 6 */
    "  <wait id=\"settle\" after=\"drain\" seconds=\"60\"/>\n"        /* 7 */
    "  <storage-move id=\"disk\" domain=\"db1\" vdev=\"xvdb\""
    " sr=\"gold\" bandwidth=\"200M\" format=\"qcow2\""
    " offline=\"yes\"/>\n"                                            /* 8 */
    "  <migrate id=\"db1\" after=\"disk\" from=\"hosta\" to=\"hostb\""
    " domain=\"db1\" on-error=\"stop\" data=\"tcp:49200\""
    " compress=\"lz4\" encrypt=\"yes\" bandwidth=\"800Mbit\""
    " peer-timeout=\"300\" force=\"memory,pci-passthrough\""
    " paused=\"yes\" retries=\"3\" retry-delay=\"30\" timeout=\"3600\""
    " keep-source=\"yes\" max-downtime=\"150\" converge=\"abort\">\n" /* 9 */
    "    <disk vdev=\"xvdb\" sr=\"gold\"/>\n"                        /* 10 */
    "    <disk vdev=\"xvdc\" sr=\"silver\"/>\n"                      /* 11 */
    "  </migrate>\n"                                                 /* 12 */
    "  <check id=\"pre\" to=\"hostc\" force=\"vcpu-affinity\">\n"    /* 13 */
    "    <select name=\"web[0-9]*\"/>\n"                             /* 14 */
    "    <exclude name=\"web0\"/>\n"                                 /* 15 */
    "  </check>\n"                                                   /* 16 */
    "  <evacuate id=\"drain\" after=\"db1 pre\" from=\"hosta\""
    " to=\"hostb hostc\" on-error=\"continue\" data=\"ssh\""
    " leave-maintenance=\"yes\">\n"                                  /* 17 */
    "    <exclude name=\"test-*\"/>\n"                               /* 18 */
    "  </evacuate>\n"                                                /* 19 */
    TAIL;

static void test_load_every_kind(void **state)
{
    const struct jobxml_job *j;
    struct jobxml_file f;

    (void)state;
    load_ok(every_kind, strlen(every_kind), &f);
    assert_int_equal(f.limit_total, 4);
    assert_int_equal(f.limit_source, 2);
    assert_int_equal(f.limit_dest, 3);
    assert_int_equal(f.limit_sr, 1);
    assert_int_equal(f.n_hosts, 3);
    assert_string_equal(f.hosts[0].name, "hosta");
    assert_string_equal(f.hosts[0].address, "root@hosta.example.net");
    assert_int_equal(f.hosts[0].limit, 0);
    assert_int_equal(f.hosts[0].line, 4);
    assert_int_equal(f.hosts[1].limit, 2);
    assert_string_equal(f.hosts[2].address, "[fe80::1]");
    assert_ptr_equal(jobxml_host(&f, "hostb"), &f.hosts[1]);
    assert_null(jobxml_host(&f, "hostd"));
    assert_int_equal(f.n_jobs, 5);

    j = &f.jobs[0];
    assert_int_equal(j->kind, JOBXML_WAIT);
    assert_string_equal(jobxml_kind_name(j->kind), "wait");
    assert_string_equal(j->id, "settle");
    assert_int_equal(j->line, 7);
    assert_int_equal(j->seconds, 60);
    assert_int_equal(j->n_after, 1);
    assert_int_equal(j->after_idx[0], 4);
    assert_int_equal(j->on_error, JOBXML_SKIP_DEPENDENTS);
    assert_int_equal(j->retries, 0);
    assert_int_equal(j->retry_delay, 10);
    assert_int_equal(j->timeout, 0);
    assert_null(j->from);
    assert_int_equal(j->n_to, 0);

    j = &f.jobs[1];
    assert_int_equal(j->kind, JOBXML_STORAGE_MOVE);
    assert_string_equal(jobxml_kind_name(j->kind), "storage-move");
    assert_string_equal(j->domain, "db1");
    assert_string_equal(j->vdev, "xvdb");
    assert_string_equal(j->sr, "gold");
    assert_string_equal(j->format, "qcow2");
    assert_string_equal(j->bandwidth, "200M");
    assert_true(j->offline);
    assert_null(j->config);
    assert_int_equal(j->n_after, 0);

    j = &f.jobs[2];
    assert_int_equal(j->kind, JOBXML_MIGRATE);
    assert_string_equal(jobxml_kind_name(j->kind), "migrate");
    assert_string_equal(j->id, "db1");
    assert_int_equal(j->line, 9);
    assert_int_equal(j->n_after, 1);
    assert_string_equal(j->after[0], "disk");
    assert_int_equal(j->after_idx[0], 1);
    assert_string_equal(j->from, "hosta");
    assert_int_equal(j->n_to, 1);
    assert_string_equal(j->to[0], "hostb");
    assert_string_equal(j->domain, "db1");
    assert_int_equal(j->on_error, JOBXML_STOP);
    assert_string_equal(jobxml_on_error_name(j->on_error), "stop");
    assert_string_equal(j->data, "tcp:49200");
    assert_string_equal(j->compress, "lz4");
    assert_true(j->encrypt);
    assert_true(j->paused);
    assert_string_equal(j->bandwidth, "800Mbit");
    assert_string_equal(j->max_downtime, "150");
    assert_string_equal(j->converge, "abort");
    assert_false(j->no_live);
    assert_true(j->has_peer_timeout);
    assert_int_equal(j->peer_timeout, 300);
    assert_string_equal(j->force, "memory,pci-passthrough");
    assert_int_equal(j->retries, 3);
    assert_int_equal(j->retry_delay, 30);
    assert_int_equal(j->timeout, 3600);
    assert_true(j->keep_source);
    assert_int_equal(j->n_disks, 2);
    assert_string_equal(j->disks[0].vdev, "xvdb");
    assert_string_equal(j->disks[0].sr, "gold");
    assert_string_equal(j->disks[1].vdev, "xvdc");
    assert_string_equal(j->disks[1].sr, "silver");
    assert_int_equal(j->n_sel, 0);

    j = &f.jobs[3];
    assert_int_equal(j->kind, JOBXML_CHECK);
    assert_string_equal(jobxml_kind_name(j->kind), "check");
    assert_int_equal(j->line, 13);
    assert_string_equal(j->force, "vcpu-affinity");
    assert_null(j->data);
    assert_null(j->domain);
    assert_int_equal(j->n_sel, 2);
    assert_false(j->sel[0].exclude);
    assert_false(j->sel[0].uuid);
    assert_string_equal(j->sel[0].pattern, "web[0-9]*");
    assert_true(j->sel[1].exclude);
    assert_string_equal(j->sel[1].pattern, "web0");

    j = &f.jobs[4];
    assert_int_equal(j->kind, JOBXML_EVACUATE);
    assert_string_equal(jobxml_kind_name(j->kind), "evacuate");
    assert_int_equal(j->line, 17);
    assert_int_equal(j->n_after, 2);
    assert_int_equal(j->after_idx[0], 2);
    assert_int_equal(j->after_idx[1], 3);
    assert_int_equal(j->on_error, JOBXML_CONTINUE);
    assert_string_equal(jobxml_on_error_name(j->on_error), "continue");
    assert_int_equal(j->n_to, 2);
    assert_string_equal(j->to[0], "hostb");
    assert_string_equal(j->to[1], "hostc");
    assert_string_equal(j->data, "ssh");
    assert_true(j->leave_maintenance);
    assert_false(j->encrypt);
    assert_false(j->has_peer_timeout);
    assert_int_equal(j->n_sel, 1);
    assert_true(j->sel[0].exclude);

    /* One pass places disk, db1, pre, drain; settle, named first, last. */
    assert_int_equal(f.order[0], 1);
    assert_int_equal(f.order[1], 2);
    assert_int_equal(f.order[2], 3);
    assert_int_equal(f.order[3], 4);
    assert_int_equal(f.order[4], 0);
    check_order(&f);
    assert_string_equal(jobxml_on_error_name(JOBXML_SKIP_DEPENDENTS),
                        "skip-dependents");
    jobxml_dispose(&f);
    assert_null(f.jobs);
    jobxml_dispose(&f);                 /* idempotent */
}

/* Cold moves by config, uuids, defaults, the ports at their bounds. */
static void test_load_defaults_and_bounds(void **state)
{
    static const char text[] =
        "\xef\xbb\xbf" HEAD             /* a UTF-8 BOM is fine */
        "  <host name=\"b\" address=\"b\"/>\n"
        "  <migrate id=\"cold\" to=\"b\" domain=\"legacy\""
        " config=\"/etc/xen/legacy.cfg\" data=\"tcp:1\"/>\n"
        "  <storage-move id=\"sm\" config=\"/etc/xen/legacy.cfg\""
        " vdev=\"xvda\" sr=\"s\"/>\n"
        "  <check id=\"c\" to=\"b\" domain=\"" UUID1 "\"/>\n"
        "  <migrate id=\"u\" to=\"b\" data=\"tcp:65535\""
        " bandwidth=\"0\" peer-timeout=\"0\" encrypt=\"no\">\n"
        "    <select uuid=\"" UUID1 "\"/>\n"
        "  </migrate>\n"
        "  <evacuate id=\"all\" to=\"b\" on-error=\"skip-dependents\""
        " data=\"auto\"/>\n"
        "  <wait id=\"w\" retries=\"10\" retry-delay=\"0\""
        " timeout=\"86400\"/>\n"
        TAIL;
    const struct jobxml_job *j;
    struct jobxml_file f;
    size_t i;

    (void)state;
    load_ok(text, strlen(text), &f);
    assert_int_equal(f.limit_total, 0);
    assert_int_equal(f.limit_source, 0);
    assert_int_equal(f.limit_dest, 0);
    assert_int_equal(f.limit_sr, 0);
    assert_int_equal(f.n_jobs, 6);
    for (i = 0; i < f.n_jobs; i++) {
        assert_int_equal(f.order[i], i);
        if (i == 5) break;
        assert_int_equal(f.jobs[i].on_error, JOBXML_SKIP_DEPENDENTS);
        assert_int_equal(f.jobs[i].retry_delay, 10);
        assert_int_equal(f.jobs[i].retries, 0);
        assert_null(f.jobs[i].from);
    }
    j = &f.jobs[0];
    assert_string_equal(j->config, "/etc/xen/legacy.cfg");
    assert_string_equal(j->data, "tcp:1");
    assert_false(j->keep_source);
    assert_int_equal(j->n_disks, 0);
    assert_null(j->compress);
    j = &f.jobs[1];
    assert_null(j->domain);
    assert_string_equal(j->config, "/etc/xen/legacy.cfg");
    assert_null(j->format);
    assert_false(j->offline);
    assert_string_equal(f.jobs[2].domain, UUID1);
    j = &f.jobs[3];
    assert_int_equal(j->n_sel, 1);
    assert_true(j->sel[0].uuid);
    assert_string_equal(j->sel[0].pattern, UUID1);
    assert_string_equal(j->bandwidth, "0");
    assert_true(j->has_peer_timeout);
    assert_int_equal(j->peer_timeout, 0);
    /* encrypt="no" is asked for (--no-encrypt), not left out. */
    assert_true(j->no_encrypt && !j->encrypt);
    assert_false(f.jobs[0].no_encrypt || f.jobs[0].encrypt);
    j = &f.jobs[4];
    assert_int_equal(j->n_sel, 0);
    assert_int_equal(j->n_to, 1);
    assert_false(j->leave_maintenance);
    assert_string_equal(j->data, "auto");
    j = &f.jobs[5];
    assert_int_equal(j->retries, 10);
    assert_int_equal(j->retry_delay, 0);
    assert_int_equal(j->timeout, 86400);
    assert_int_equal(j->seconds, 0);
    jobxml_dispose(&f);
}

/* The file's declared encoding is not obeyed: it is UTF-8. */
static void test_load_declared_encoding(void **state)
{
    static const char text[] =
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
        "<jobs xmlns=\"urn:xlmig:jobs:1\" version=\"1\">\n"
        "  <!-- caf\xc3\xa9 -->\n"
        "  <wait id=\"w\"/>\n"
        TAIL;
    struct jobxml_file f;

    (void)state;
    load_ok(text, strlen(text), &f);
    assert_int_equal(f.n_jobs, 1);
    assert_int_equal(f.jobs[0].line, 4);
    jobxml_dispose(&f);
}

/* Text need not end in a NUL: only len bytes are read. */
static void test_load_not_terminated(void **state)
{
    static const char body[] = HEAD "  <wait id=\"w\"/>\n" TAIL;
    char *text = xmalloc(sizeof(body) - 1 + 8);
    struct jobxml_file f;

    (void)state;
    memcpy(text, body, sizeof(body) - 1);
    memcpy(text + sizeof(body) - 1, "<!DOCTYP", 8);
    load_ok(text, sizeof(body) - 1, &f);
    assert_int_equal(f.n_jobs, 1);
    jobxml_dispose(&f);
    free(text);
}

/* ---- semantic errors, each at its line ---- */

static void test_error_duplicates(void **state)
{
    (void)state;
    expect_error(HEAD
                 "  <wait id=\"a\"/>\n"
                 "  <wait id=\"b\"/>\n"
                 "  <wait id=\"a\"/>\n"
                 TAIL, 5, "job id 'a' used twice (first on line 3)");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b1\"/>\n"
                 "  <host name=\"c\" address=\"c\"/>\n"
                 "  <host name=\"b\" address=\"b2\"/>\n"
                 "  <wait id=\"w\"/>\n"
                 TAIL, 5, "host 'b' declared twice (first on line 3)");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <migrate id=\"m\" to=\"b\" domain=\"d\">\n"
                 "    <disk vdev=\"xvdb\" sr=\"s1\"/>\n"
                 "    <disk vdev=\"xvdc\" sr=\"s1\"/>\n"
                 "    <disk vdev=\"xvdb\" sr=\"s2\"/>\n"
                 "  </migrate>\n"
                 TAIL, 4, "job m: disk xvdb given twice");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <host name=\"c\" address=\"c\"/>\n"
                 "  <wait id=\"w\"/>\n"
                 "  <evacuate id=\"e\" to=\"b c b\"/>\n"
                 TAIL, 6, "job e: target 'b' given twice");
}

static void test_error_after(void **state)
{
    (void)state;
    expect_error(HEAD
                 "  <wait id=\"a\"/>\n"
                 "  <wait id=\"b\" after=\"a zz\"/>\n"
                 TAIL, 4, "job b: after= names 'zz', which is not a job "
                 "of this file");
    /* A cycle of one. */
    expect_error(HEAD
                 "  <wait id=\"a\"/>\n"
                 "  <wait id=\"b\" after=\"a b\"/>\n"
                 TAIL, 4, "job b: after= names the job itself");
}

static void test_error_cycles(void **state)
{
    static const char two[] =
        HEAD
        "  <wait id=\"a\" after=\"b\"/>\n"
        "  <wait id=\"b\" after=\"a\"/>\n"
        TAIL;
    /* The walk starts at the first job left over, a, and takes as many
     * steps as there are jobs: three, so it settles on b. */
    static const char two_more[] =
        HEAD
        "  <wait id=\"ok\"/>\n"
        "  <wait id=\"a\" after=\"ok b\"/>\n"
        "  <wait id=\"b\" after=\"a\"/>\n"
        TAIL;
    /* x is not on the cycle but leads to it; the walk from x settles on
     * c, whose line it is. */
    static const char three[] =
        HEAD
        "  <wait id=\"x\" after=\"a\"/>\n"
        "  <wait id=\"root\"/>\n"
        "  <wait id=\"a\" after=\"root c\"/>\n"
        "  <wait id=\"b\" after=\"a\"/>\n"
        "  <wait id=\"c\" after=\"b\"/>\n"
        TAIL;
    struct jobxml_errors errs;

    (void)state;
    load_fails(two, strlen(two), &errs);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.line[0],
                        PATH ":3: dependency cycle: a after b after a");
    jobxml_errors_dispose(&errs);
    expect_error(two_more, 5, "dependency cycle: b after a after b");
    expect_error(three, 7, "dependency cycle: c after b after a after c");
    load_fails(three, strlen(three), &errs);
    assert_int_equal(errs.n, 1);
    jobxml_errors_dispose(&errs);
}

static void test_error_hosts(void **state)
{
    (void)state;
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <migrate id=\"m\" to=\"zz\" domain=\"d\"/>\n"
                 TAIL, 4, "job m: target host 'zz' is not declared (add "
                 "<host name=\"zz\" address=...>)");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <wait id=\"w\"/>\n"
                 "  <check id=\"c\" from=\"zz\" to=\"b\" domain=\"d\"/>\n"
                 TAIL, 5, "job c: source host 'zz' is not declared");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <storage-move id=\"s\" from=\"y\" domain=\"d\""
                 " vdev=\"xvda\" sr=\"s\"/>\n"
                 TAIL, 4, "job s: source host 'y' is not declared");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <host name=\"c\" address=\"c\"/>\n"
                 "  <evacuate id=\"e\" to=\"b c d\"/>\n"
                 TAIL, 5, "job e: target host 'd' is not declared");
    expect_error(HEAD
                 "  <host name=\"a\" address=\"a\"/>\n"
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <evacuate id=\"e\" from=\"a\" to=\"b a\"/>\n"
                 TAIL, 5, "job e: host 'a' is both its source and a "
                 "target");
    expect_error(HEAD
                 "  <host name=\"a\" address=\"a\"/>\n"
                 "  <migrate id=\"m\" from=\"a\" to=\"a\" domain=\"d\"/>\n"
                 TAIL, 4, "job m: host 'a' is both its source and a "
                 "target");
}

static void test_error_options(void **state)
{
    (void)state;
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <migrate id=\"m\" to=\"b\" domain=\"d\""
                 " force=\"memory,bogus\"/>\n"
                 TAIL, 4, "job m: force=\"memory,bogus\" names an unknown "
                 "check");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <check id=\"c\" to=\"b\" domain=\"d\""
                 " force=\"pci\"/>\n"
                 TAIL, 4, "job c: force=\"pci\" names an unknown check");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <evacuate id=\"e\" to=\"b\" force=\"script:\"/>\n"
                 TAIL, 4, "job e: force=\"script:\" names an unknown "
                 "check");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <migrate id=\"m\" to=\"b\" domain=\"d\""
                 " bandwidth=\"999999999999G\"/>\n"
                 TAIL, 4, "job m: bandwidth=\"999999999999G\" is not a "
                 "rate");
    expect_error(HEAD
                 "  <storage-move id=\"s\" domain=\"d\" vdev=\"xvda\""
                 " sr=\"s\"\n"
                 "      bandwidth=\"99999999999Gbit\"/>\n"
                 TAIL, 4, "job s: bandwidth=\"99999999999Gbit\" is not a "
                 "rate");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <migrate id=\"m\" to=\"b\" domain=\"d\" live=\"no\""
                 " converge=\"force\"/>\n"
                 TAIL, 4, "job m: live=\"no\" has no live rounds for "
                 "max-downtime or converge");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <migrate id=\"m\" to=\"b\" domain=\"d\""
                 " max-downtime=\"0\"/>\n"
                 TAIL, 4, "Invalid attribute max-downtime for element "
                 "migrate");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <migrate id=\"m\" to=\"b\" domain=\"d\""
                 " max-downtime=\"3600001\"/>\n"
                 TAIL, 4, "Invalid attribute max-downtime for element "
                 "migrate");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <evacuate id=\"e\" to=\"b\" converge=\"slow;rm\"/>\n"
                 TAIL, 4, "Invalid attribute converge for element evacuate");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <migrate id=\"m\" to=\"b\" domain=\"d\""
                 " data=\"tcp:0\"/>\n"
                 TAIL, 4, "job m: data=\"tcp:0\": the port must be 1 to "
                 "65535");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <evacuate id=\"e\" to=\"b\" data=\"tcp:65536\"/>\n"
                 TAIL, 4, "job e: data=\"tcp:65536\": the port must be 1 "
                 "to 65535");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <migrate id=\"m\" to=\"b\""
                 " config=\"/etc/xen/d.cfg\">\n"
                 "    <select name=\"d*\"/>\n"
                 "  </migrate>\n"
                 TAIL, 4, "job m: config= moves one domain: name it with "
                 "domain=");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <migrate id=\"m\" to=\"b\" domain=\"d\""
                 " keep-source=\"yes\"/>\n"
                 TAIL, 4, "job m: keep-source only with <disk> children");
}

/* A start tag over several lines is at the line it ends on (libxml2's
 * line of an element). */
static void test_error_line_of_long_tag(void **state)
{
    (void)state;
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <migrate id=\"m\"\n"
                 "           to=\"zz\"\n"
                 "           domain=\"d\"/>\n"
                 TAIL, 6, "job m: target host 'zz' is not declared");
}

/* Every error is reported, up to JOBXML_ERRORS_MAX. */
static void test_error_many(void **state)
{
    struct jobxml_errors errs;
    char *text = xstrdup(HEAD), *more;
    unsigned i;

    (void)state;
    for (i = 0; i < JOBXML_ERRORS_MAX + 8; i++) {
        text = test_append(text, "  <wait id=\"w%u\" after=\"nope\"/>\n", i);
    }
    more = xasprintf("%s" TAIL, text);
    free(text);
    load_fails(more, strlen(more), &errs);
    assert_int_equal(errs.n, JOBXML_ERRORS_MAX);
    assert_true(errs.more);
    assert_string_equal(errs.line[0], PATH ":3: job w0: after= names "
                        "'nope', which is not a job of this file");
    assert_int_equal(error_line(errs.line[JOBXML_ERRORS_MAX - 1]),
                     3 + JOBXML_ERRORS_MAX - 1);
    jobxml_errors_dispose(&errs);
    assert_int_equal(errs.n, 0);
    free(more);
}

/* The loader's own limits: disks, after, targets, hosts, jobs. */
static void test_error_limits(void **state)
{
    char *text, *more;
    unsigned i;

    (void)state;
    /* 9 disks: the 9th, on line 13, is one too many. */
    text = xstrdup(HEAD "  <host name=\"b\" address=\"b\"/>\n"
                   "  <migrate id=\"m\" to=\"b\" domain=\"d\">\n");
    for (i = 0; i <= JOBXML_DISKS_MAX; i++) {
        text = test_append(text, "    <disk vdev=\"xvd%c\" sr=\"s\"/>\n",
                           'a' + i);
    }
    more = xasprintf("%s  </migrate>\n" TAIL, text);
    expect_error(more, 5 + JOBXML_DISKS_MAX, "job m: more than 8 disks");
    free(text);
    free(more);

    /* after= naming 65 jobs. */
    text = xstrdup(HEAD);
    for (i = 0; i <= JOBXML_AFTER_MAX; i++) {
        text = test_append(text, "  <wait id=\"w%u\"/>\n", i);
    }
    text = test_append(text, "  <wait id=\"last\" after=\"");
    for (i = 0; i <= JOBXML_AFTER_MAX; i++) {
        text = test_append(text, "%sw%u", i ? " " : "", i);
    }
    more = xasprintf("%s\"/>\n" TAIL, text);
    expect_error(more, 3 + JOBXML_AFTER_MAX + 1, "job last: after= names "
                 "more than 64 jobs");
    free(text);
    free(more);

    /* An evacuation to 17 hosts. */
    text = xstrdup(HEAD);
    for (i = 0; i <= JOBXML_TO_MAX; i++) {
        text = test_append(text, "  <host name=\"h%u\" address=\"h%u\"/>\n",
                           i, i);
    }
    text = test_append(text, "  <evacuate id=\"e\" to=\"");
    for (i = 0; i <= JOBXML_TO_MAX; i++) {
        text = test_append(text, "%sh%u", i ? " " : "", i);
    }
    more = xasprintf("%s\"/>\n" TAIL, text);
    expect_error(more, 3 + JOBXML_TO_MAX + 1, "job e: more than 16 "
                 "targets");
    free(text);
    free(more);

    /* 65 hosts: the 65th is one too many. */
    text = xstrdup(HEAD);
    for (i = 0; i <= JOBXML_HOSTS_MAX; i++) {
        text = test_append(text, "  <host name=\"h%u\" address=\"h%u\"/>\n",
                           i, i);
    }
    more = xasprintf("%s  <wait id=\"w\"/>\n" TAIL, text);
    expect_error(more, 3 + JOBXML_HOSTS_MAX, "more than 64 hosts");
    free(text);
    free(more);
}

static char *many_waits(unsigned n)
{
    size_t cap = 256 + (size_t)n * 48, len;
    char *text = xmalloc(cap);
    unsigned i;

    len = (size_t)snprintf(text, cap, "%s", HEAD);
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len,
                                "  <wait id=\"j%u\"/>\n", i);
    snprintf(text + len, cap - len, "%s", TAIL);
    return text;
}

static void test_error_too_many_jobs(void **state)
{
    struct jobxml_file f;
    char *text;

    (void)state;
    text = many_waits(JOBXML_JOBS_MAX);
    load_ok(text, strlen(text), &f);
    assert_int_equal(f.n_jobs, JOBXML_JOBS_MAX);
    jobxml_dispose(&f);
    free(text);
    text = many_waits(JOBXML_JOBS_MAX + 1);
    expect_error(text, 3 + JOBXML_JOBS_MAX, "more than 1024 jobs");
    free(text);
}

/* ---- the schema, and XML that is not well-formed ---- */

static void test_error_schema(void **state)
{
    static const char no_id[] = HEAD "  <wait seconds=\"3\"/>\n" TAIL;

    (void)state;
    expect_error(HEAD
                 "  <wait id=\"w\"/>\n"
                 "  <bogus/>\n"
                 TAIL, 4, "Did not expect element bogus there");
    expect_error(HEAD
                 "  <wait id=\"w\" foo=\"1\"/>\n"
                 TAIL, 3, "Invalid attribute foo for element wait");
    expect_error("<?xml version=\"1.0\"?>\n"
                 "<jobs xmlns=\"urn:other\" version=\"1\">\n"
                 "  <wait id=\"w\"/>\n"
                 TAIL, 2, "Element jobs has wrong namespace: expecting "
                 "urn:xlmig:jobs:1");
    expect_error("<?xml version=\"1.0\"?>\n"
                 "<jobs version=\"1\">\n"
                 "  <wait id=\"w\"/>\n"
                 TAIL, 2, "Expecting a namespace for element jobs");
    expect_error("<?xml version=\"1.0\"?>\n"
                 "<jobs xmlns=\"urn:xlmig:jobs:1\" version=\"2\">\n"
                 "  <wait id=\"w\"/>\n"
                 TAIL, 2, "Element jobs failed to validate attributes");
    /* A child in the wrong namespace. */
    expect_error(HEAD
                 "  <wait id=\"w\"/>\n"
                 "  <o:wait xmlns:o=\"urn:other\" id=\"x\"/>\n"
                 TAIL, 4, "Did not expect element wait there");
    /* Missing id. */
    expect_error(HEAD
                 "  <wait id=\"a\"/>\n"
                 "  <wait/>\n"
                 TAIL, 4, "Element wait failed to validate attributes");
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <migrate to=\"b\" domain=\"d\"/>\n"
                 TAIL, 4, "Element migrate failed to validate attributes");
    expect_error(HEAD
                 "  <host address=\"b\"/>\n"
                 "  <wait id=\"w\"/>\n"
                 TAIL, 3, "Element host failed to validate attributes");
    /* libxml2 2.9.14 gives some RELAX NG errors no node (a missing id
     * beside an attribute of wait's own is one): the loader finds the
     * element that fails on its own and gives its line. */
    expect_error(no_id, 3, "Element wait failed to validate attributes");
    /* Values out of the schema's range or pattern. */
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <migrate id=\"m\" to=\"b\" domain=\"d\""
                 " retries=\"11\"/>\n"
                 TAIL, 4, "Invalid attribute retries for element migrate");
    expect_error(HEAD
                 "  <wait id=\"w\" on-error=\"ignore\"/>\n"
                 TAIL, 3, "Invalid attribute on-error for element wait");
    expect_error(HEAD
                 "  <limits total=\"0\"/>\n"
                 "  <wait id=\"w\"/>\n"
                 TAIL, 3, "Invalid attribute total for element limits");
    /* Order: limits first, then hosts, then jobs. */
    expect_error(HEAD
                 "  <wait id=\"w\"/>\n"
                 "  <host name=\"b\" address=\"b\"/>\n"
                 TAIL, 4, "Did not expect element host there");
    /* A migrate names a domain or selects some. */
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 "  <migrate id=\"m\" to=\"b\"/>\n"
                 TAIL, 4, "Expecting an element select, got nothing");
    /* At least one job. */
    expect_error(HEAD
                 "  <host name=\"b\" address=\"b\"/>\n"
                 TAIL, 2, "Expecting an element");
}

static void test_error_not_well_formed(void **state)
{
    static const char nul[] = HEAD "  <wait id=\"w\"/>\0<wait/>\n" TAIL;
    static const char bad_utf8[] = HEAD "  <wait id=\"w\xff\"/>\n" TAIL;

    (void)state;
    expect_error(HEAD
                 "  <wait id=\"w\">\n"
                 TAIL, 4, "Opening and ending tag mismatch: wait line 3 "
                 "and jobs");
    expect_error(HEAD
                 "  <wait id=\"w\"/>\n"
                 TAIL
                 "<jobs/>\n", 5, "Extra content at the end of the "
                 "document");
    expect_error(HEAD
                 "  <wait id=\"w\" id=\"x\"/>\n"
                 TAIL, 3, "Attribute id redefined");
    expect_error("", 1, "Document is empty");
    expect_error("\n\n  \n", 4, "Start tag expected");
    expect_error_n(nul, sizeof(nul) - 1, 3, "Premature end of data");
    expect_error(bad_utf8, 3, "Input is not proper UTF-8");
    /* An entity without a DOCTYPE is not well-formed: never expanded. */
    expect_error(HEAD
                 "  <wait id=\"w\"/>\n"
                 "  &x;\n"
                 TAIL, 4, "Entity 'x' not defined");
    expect_error(HEAD
                 "  <wait id=\"&x;\"/>\n"
                 TAIL, 3, "Entity 'x' not defined");
}

/* libxml2 echoes what the file says: no control gets through, C1 (as a
 * terminal may take U+009B for CSI) no more than C0. */
static void test_error_no_controls(void **state)
{
    struct jobxml_errors errs;
    static const char text[] =
        "<?xml version=\"1.0\"?>\n"
        "<jobs xmlns=\"\xc2\x9b[31mred\xc2\x85x\xc2\xa0\" version=\"1\">\n"
        "  <wait id=\"w\"/>\n"
        TAIL;

    (void)state;
    load_fails(text, strlen(text), &errs);
    assert_string_equal(errs.line[0], PATH ":2: xmlns: '??[31mred??x"
                        "\xc2\xa0' is not a valid URI");
    jobxml_errors_dispose(&errs);
    jobxml_error(&errs, "p", 0, "a\tb\x7f\xc2\x80\xc2\x9f\xc2\xa9\nc");
    jobxml_error(&errs, "p", 7, "%s", "\xc2");
    assert_int_equal(errs.n, 2);
    assert_string_equal(errs.line[0], "p: a?b?????\xc2\xa9");
    assert_string_equal(errs.line[1], "p:7: \xc2");
    jobxml_errors_dispose(&errs);
}

/* ---- hostile files ---- */

#define REFUSED "a DOCTYPE is refused (job files have no DTD, and " \
                "entities are not expanded)"

static const char billion_laughs[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE jobs [\n"
    " <!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
    " <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
    " <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
    " <!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
    " <!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
    " <!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
    " <!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
    " <!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">\n"
    " <!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">\n"
    "]>\n"
    "<jobs xmlns=\"urn:xlmig:jobs:1\" version=\"1\">\n"
    "  <wait id=\"w\" seconds=\"&i;\"/>\n"
    "  &i;\n"
    TAIL;

/* A socket on 127.0.0.1 that nobody should connect to: its port. */
static int listener(int *port_r)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    assert_true(s >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s, 4), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    *port_r = ntohs(a.sin_port);
    return s;
}

static void assert_no_connection(int s)
{
    int c = accept(s, NULL, NULL);

    if (c >= 0) fail_msg("the loader connected to the network");
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    close(s);
}

static void test_hostile_doctype(void **state)
{
    char *text;
    int s, port;

    (void)state;
    expect_error(billion_laughs, 2, REFUSED);
    /* An external DTD, over the network: refused, not fetched. */
    s = listener(&port);
    text = xasprintf("<?xml version=\"1.0\"?>\n"
                     "<!DOCTYPE jobs SYSTEM \"http://127.0.0.1:%d/x.dtd\">\n"
                     "<jobs xmlns=\"urn:xlmig:jobs:1\" version=\"1\">\n"
                     "  <wait id=\"w\"/>\n"
                     TAIL, port);
    expect_error(text, 2, REFUSED);
    free(text);
    text = xasprintf("<?xml version=\"1.0\"?>\n"
                     "<!DOCTYPE jobs PUBLIC \"-//x//y\" "
                     "\"http://127.0.0.1:%d/x.dtd\">\n"
                     "<jobs xmlns=\"urn:xlmig:jobs:1\" version=\"1\">\n"
                     "  <wait id=\"w\"/>\n"
                     TAIL, port);
    expect_error(text, 2, REFUSED);
    free(text);
    /* XXE, a file's and a URL's. */
    text = xasprintf("<?xml version=\"1.0\"?>\n\n"
                     "<!DOCTYPE jobs [\n"
                     "  <!ENTITY x SYSTEM \"file:///etc/passwd\">\n"
                     "  <!ENTITY y SYSTEM \"http://127.0.0.1:%d/y\">\n"
                     "  <!ENTITY %% p SYSTEM \"http://127.0.0.1:%d/p\">\n"
                     "  %%p;\n"
                     "]>\n"
                     "<jobs xmlns=\"urn:xlmig:jobs:1\" version=\"1\">\n"
                     "  <wait id=\"&x;\"/>\n"
                     "  &y;\n"
                     TAIL, port, port);
    expect_error(text, 3, REFUSED);
    free(text);
    assert_no_connection(s);
    /* No DOCTYPE anywhere, even where libxml2 would not take one. */
    expect_error(HEAD
                 "  <wait id=\"w\"/>\n"
                 TAIL
                 "<!DOCTYPE jobs>\n", 5, "a DOCTYPE is refused");
    expect_error(HEAD
                 "  <!-- <!DOCTYPE jobs> -->\n"
                 "  <wait id=\"w\"/>\n"
                 TAIL, 3, "a DOCTYPE is refused");
}

/* In another encoding a DOCTYPE would pass the byte scan: the file is
 * read as UTF-8 whatever it declares, so those are not XML at all. */
static void test_hostile_encodings(void **state)
{
    static const char utf7[] =
        "<?xml version=\"1.0\" encoding=\"UTF-7\"?>\n"
        "+ADw-!DOCTYPE jobs +AFs-\n"
        "+ADw-!ENTITY a \"aaaaaaaaaaaaaaaa\"+AD4-\n"
        "+ADw-!ENTITY b \"+ACY-a;+ACY-a;+ACY-a;+ACY-a;+ACY-a;\"+AD4-\n"
        "+AF0-+AD4-\n"
        "+ADw-jobs xmlns=\"urn:xlmig:jobs:1\" version=\"1\"+AD4-\n"
        "+ADw-wait id=\"+ACY-b;\"/+AD4-\n"
        "+ADw-/jobs+AD4-\n";
    size_t n = strlen(billion_laughs), i, k;
    char *utf16 = xmalloc(2 + 2 * n);

    (void)state;
    /* UTF-16LE with its BOM. */
    utf16[0] = (char)0xff;
    utf16[1] = (char)0xfe;
    for (i = 0, k = 2; i < n; i++) {
        utf16[k++] = billion_laughs[i];
        utf16[k++] = '\0';
    }
    assert_true(refused_at(utf16, k) > 0);
    assert_false(refused_saying(utf16, k, "ntity"));
    /* UTF-16BE without one. */
    for (i = 0, k = 0; i < n; i++) {
        utf16[k++] = '\0';
        utf16[k++] = billion_laughs[i];
    }
    assert_true(refused_at(utf16, k) > 0);
    assert_false(refused_saying(utf16, k, "ntity"));
    free(utf16);
    expect_error(utf7, 2, "Start tag expected");
    assert_false(refused_saying(utf7, strlen(utf7), "ntity"));
}

/* XInclude is not done: an include of a file holding a job does not
 * supply the job, it is an element the schema does not know. */
static void test_hostile_xinclude(void **state)
{
    char tmpl[] = "/tmp/test-jobxml.XXXXXX";
    const char job[] = "<wait xmlns=\"urn:xlmig:jobs:1\" id=\"inc\"/>\n";
    char *text;
    int fd;

    (void)state;
    fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, job, sizeof(job) - 1), sizeof(job) - 1);
    close(fd);
    text = xasprintf(HEAD
                     "  <xi:include"
                     " xmlns:xi=\"http://www.w3.org/2001/XInclude\"\n"
                     "      href=\"%s\"/>\n"
                     TAIL, tmpl);
    assert_int_equal(refused_at(text, strlen(text)), 4);
    free(text);
    text = xasprintf(HEAD
                     "  <wait id=\"w\"/>\n"
                     "  <xi:include"
                     " xmlns:xi=\"http://www.w3.org/2001/XInclude\""
                     " href=\"%s\"/>\n"
                     TAIL, tmpl);
    expect_error(text, 4, "Did not expect element include there");
    free(text);
    text = xasprintf(HEAD
                     "  <wait id=\"w\"/>\n"
                     "  <xi:include"
                     " xmlns:xi=\"http://www.w3.org/2001/XInclude\""
                     " href=\"%s\" parse=\"text\"/>\n"
                     TAIL, tmpl);
    expect_error(text, 4, "Did not expect element include there");
    free(text);
    assert_int_equal(unlink(tmpl), 0);
}

static void test_hostile_size(void **state)
{
    static const char head[] = HEAD "  <wait id=\"w\"/>\n  <!-- ";
    static const char tail[] = " -->\n" TAIL;
    char *text = xmalloc(JOBXML_FILE_MAX + 1);
    struct jobxml_file f;

    (void)state;
    /* Exactly the most: loads. */
    memset(text, 'x', JOBXML_FILE_MAX + 1);
    memcpy(text, head, sizeof(head) - 1);
    memcpy(text + JOBXML_FILE_MAX - (sizeof(tail) - 1), tail,
           sizeof(tail) - 1);
    load_ok(text, JOBXML_FILE_MAX, &f);
    assert_int_equal(f.n_jobs, 1);
    jobxml_dispose(&f);
    /* One byte more: refused before it is parsed. */
    memcpy(text + JOBXML_FILE_MAX + 1 - (sizeof(tail) - 1), tail,
           sizeof(tail) - 1);
    expect_error_n(text, JOBXML_FILE_MAX + 1, 0, "larger than 1048576 "
                   "bytes");
    free(text);
    /* A huge attribute within the size: the schema's pattern. */
    text = xmalloc(512 * 1024);
    memset(text, 'a', 512 * 1024);
    memcpy(text, HEAD "  <wait id=\"", sizeof(HEAD "  <wait id=\"") - 1);
    strcpy(text + 512 * 1024 - sizeof("\"/>\n" TAIL), "\"/>\n" TAIL);
    expect_error(text, 3, "Element wait failed to validate attributes");
    free(text);
}

static void test_hostile_depth(void **state)
{
    char *text;
    unsigned i;

    (void)state;
    /* jobs, wait, a to g: 9 deep, g on line 4. */
    expect_error(HEAD
                 "  <wait id=\"w\"><a><b><c><d><e><f>\n"
                 "    <g/></f></e></d></c></b></a></wait>\n"
                 TAIL, 4, "elements nested deeper than 8");
    /* 8 deep is not too deep, only not what the schema says. */
    expect_error(HEAD
                 "  <wait id=\"w\"><a><b><c><d><e><f/></e></d></c></b>"
                 "</a></wait>\n"
                 TAIL, 3, "Did not expect element a there");
    /* 9 deep in the second job. */
    expect_error(HEAD
                 "  <wait id=\"v\"/>\n"
                 "  <migrate id=\"m\" to=\"b\" domain=\"d\">\n"
                 "    <disk vdev=\"xvda\" sr=\"s\"><a><b><c><d><e>\n"
                 "      <f/>\n"
                 "    </e></d></c></b></a></disk>\n"
                 "  </migrate>\n"
                 TAIL, 6, "elements nested deeper than 8");
    /* Far deeper: libxml2's own limit. */
    text = xstrdup(HEAD "  <wait id=\"w\">");
    for (i = 0; i < 1000; i++) {
        text = test_append(text, "<a>");
    }
    assert_int_equal(refused_at(text, strlen(text)), 3);
    free(text);
}

/* ---- dependency order ---- */

/* n waits, each after the next in the file; the last after the first
 * when closed (a cycle of n). */
static char *chain(unsigned n, bool closed)
{
    size_t cap = 256 + (size_t)n * 64, len;
    char *text = xmalloc(cap);
    unsigned i;

    len = (size_t)snprintf(text, cap, "%s", HEAD);
    for (i = 0; i + 1 < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "  <wait id=\"j%u\" "
                                "after=\"j%u\"/>\n", i, i + 1);
    if (closed)
        len += (size_t)snprintf(text + len, cap - len, "  <wait id=\"j%u\" "
                                "after=\"j0\"/>\n", i);
    else
        len += (size_t)snprintf(text + len, cap - len, "  <wait id=\"j%u\""
                                "/>\n", i);
    snprintf(text + len, cap - len, "%s", TAIL);
    return text;
}

/* 1000 jobs, each after the next in the file: the order is backwards. */
static void test_order_long_chain(void **state)
{
    const unsigned n = 1000;
    struct jobxml_file f;
    char *text;
    unsigned i;

    (void)state;
    text = chain(n, false);
    load_ok(text, strlen(text), &f);
    assert_int_equal(f.n_jobs, n);
    for (i = 0; i < n; i++) assert_int_equal(f.order[i], n - 1 - i);
    check_order(&f);
    jobxml_dispose(&f);
    free(text);
    /* Closed, a cycle of 1000, reported whole. */
    text = chain(n, true);
    expect_error(text, 3, "dependency cycle: j0 after j1 after j2 after ");
    free(text);
}

/* A diamond and a job after two others named twice over. */
static void test_order_diamond(void **state)
{
    static const char text[] =
        HEAD
        "  <wait id=\"end\" after=\"left right\"/>\n"
        "  <wait id=\"left\" after=\"top\"/>\n"
        "  <wait id=\"right\" after=\"top top\"/>\n"
        "  <wait id=\"top\"/>\n"
        TAIL;
    struct jobxml_file f;

    (void)state;
    load_ok(text, strlen(text), &f);
    check_order(&f);
    assert_int_equal(f.order[0], 3);
    assert_int_equal(f.order[3], 0);
    assert_int_equal(f.jobs[2].n_after, 2);
    jobxml_dispose(&f);
}

/* ---- selections ---- */

static const char selections[] =
    HEAD
    "  <host name=\"b\" address=\"b\"/>\n"
    "  <host name=\"c\" address=\"c\"/>\n"
    "  <migrate id=\"one\" to=\"b\" domain=\"db1\"/>\n"
    "  <check id=\"byuuid\" to=\"b\" domain=\"" UUID1 "\"/>\n"
    "  <migrate id=\"web\" to=\"b\">\n"
    "    <select name=\"web[0-9]*\"/>\n"
    "    <select name=\"api?\"/>\n"
    "    <exclude name=\"web0\"/>\n"
    "    <exclude uuid=\"" UUID2 "\"/>\n"
    "  </migrate>\n"
    "  <check id=\"u\" to=\"c\">\n"
    "    <select uuid=\"" UUID1 "\"/>\n"
    "    <exclude name=\"db*\"/>\n"
    "  </check>\n"
    "  <evacuate id=\"all\" to=\"b c\"/>\n"
    "  <evacuate id=\"most\" to=\"b c\">\n"
    "    <exclude name=\"test-*\"/>\n"
    "  </evacuate>\n"
    "  <evacuate id=\"some\" to=\"b\">\n"
    "    <select name=\"app*\"/>\n"
    "  </evacuate>\n"
    TAIL;

static void test_selects(void **state)
{
    const struct jobxml_job *j;
    struct jobxml_file f;

    (void)state;
    load_ok(selections, strlen(selections), &f);
    assert_int_equal(f.n_jobs, 7);
    /* domain=: by name or by uuid, exactly. */
    j = &f.jobs[0];
    assert_true(jobxml_selects(j, "db1", UUID2));
    assert_false(jobxml_selects(j, "db10", UUID2));
    assert_false(jobxml_selects(j, "db", UUID1));
    j = &f.jobs[1];
    assert_true(jobxml_selects(j, "anything", UUID1));
    assert_false(jobxml_selects(j, "anything", UUID2));
    /* Globs; any select; an exclude wins, by name or uuid. */
    j = &f.jobs[2];
    assert_true(jobxml_selects(j, "web1", UUID1));
    assert_true(jobxml_selects(j, "web10x", UUID1));
    assert_true(jobxml_selects(j, "api1", UUID1));
    assert_false(jobxml_selects(j, "api12", UUID1));
    assert_false(jobxml_selects(j, "web0", UUID1));
    assert_false(jobxml_selects(j, "web1", UUID2));
    assert_false(jobxml_selects(j, "webx", UUID1));
    assert_false(jobxml_selects(j, "xweb1", UUID1));
    assert_false(jobxml_selects(j, "Web1", UUID1));
    /* A uuid select is not a name glob, and the exclude still wins. */
    j = &f.jobs[3];
    assert_true(jobxml_selects(j, "app", UUID1));
    assert_false(jobxml_selects(j, UUID1, UUID2));
    assert_false(jobxml_selects(j, "db2", UUID1));
    assert_false(jobxml_selects(j, "app", UUID2));
    /* An evacuation without select chooses all, but what it excludes. */
    j = &f.jobs[4];
    assert_true(jobxml_selects(j, "anything", UUID1));
    assert_true(jobxml_selects(j, "test-1", UUID2));
    j = &f.jobs[5];
    assert_true(jobxml_selects(j, "web1", UUID1));
    assert_false(jobxml_selects(j, "test-1", UUID1));
    /* With a select, only what it selects. */
    j = &f.jobs[6];
    assert_true(jobxml_selects(j, "app7", UUID1));
    assert_false(jobxml_selects(j, "db1", UUID1));
    jobxml_dispose(&f);
}

/* ---- placement ---- */

#define ND_MAX 8
#define NT_MAX 8

/* Places n_dom domains on n_tgt targets: fits as a string of '0'/'1' by
 * domain then target, need[] likewise; checks what each got. */
static void place(size_t n_dom, size_t n_tgt, const char *fits_s,
                  const uint64_t *need, const uint64_t *free_kb,
                  const int *want, const bool *want_no_room)
{
    bool fits[ND_MAX * NT_MAX], no_room[ND_MAX];
    int choice[ND_MAX];
    size_t i;

    assert_int_equal(strlen(fits_s), n_dom * n_tgt);
    for (i = 0; i < n_dom * n_tgt; i++) fits[i] = fits_s[i] == '1';
    memset(no_room, 0x55, sizeof(no_room));
    jobxml_place(n_dom, n_tgt, fits, need, free_kb, choice, no_room);
    for (i = 0; i < n_dom; i++) {
        if (choice[i] != want[i] || no_room[i] != want_no_room[i])
            fail_msg("domain %zu: target %d (no room %d), expected %d "
                     "(%d)", i, choice[i], no_room[i], want[i],
                     want_no_room[i]);
    }
    /* The same without no_room_r. */
    jobxml_place(n_dom, n_tgt, fits, need, free_kb, choice, NULL);
    for (i = 0; i < n_dom; i++) assert_int_equal(choice[i], want[i]);
}

static void test_place_fits(void **state)
{
    (void)state;
    /* The target with the most left after it. */
    place(1, 3, "111", (uint64_t[]){ 500, 500, 500 },
          (uint64_t[]){ 1000, 3000, 2000 }, (int[]){ 1 },
          (bool[]){ false });
    /* Only where the checks passed, however much is free elsewhere. */
    place(1, 3, "101", (uint64_t[]){ 500, 500, 500 },
          (uint64_t[]){ 1000, 3000, 2000 }, (int[]){ 2 },
          (bool[]){ false });
    /* Exactly what is free is room enough. */
    place(1, 1, "1", (uint64_t[]){ 1000 }, (uint64_t[]){ 1000 },
          (int[]){ 0 }, (bool[]){ false });
    /* Spread: each goes where most is left after the earlier ones. */
    place(3, 2, "111111", (uint64_t[]){ 100, 100, 100, 100, 100, 100 },
          (uint64_t[]){ 1000, 950 }, (int[]){ 0, 1, 0 },
          (bool[]){ false, false, false });
}

static void test_place_tie(void **state)
{
    (void)state;
    place(1, 3, "111", (uint64_t[]){ 500, 500, 500 },
          (uint64_t[]){ 2000, 2000, 2000 }, (int[]){ 0 },
          (bool[]){ false });
    /* The same left after it, by different needs and frees. */
    place(1, 3, "111", (uint64_t[]){ 900, 500, 600 },
          (uint64_t[]){ 1000, 1500, 1600 }, (int[]){ 1 },
          (bool[]){ false });
}

/*
 * d0 needs 300, d1 900; t0 has 1000 free, t1 700. In input order d0
 * would take t0 (700 left there, 400 on t1) and leave d1 nowhere; the
 * bigger first, d1 takes t0 and d0 t1.
 */
static void test_place_biggest_first(void **state)
{
    (void)state;
    place(2, 2, "1111", (uint64_t[]){ 300, 300, 900, 900 },
          (uint64_t[]){ 1000, 700 }, (int[]){ 1, 0 },
          (bool[]){ false, false });
    /* Equal sizes keep input order: d0 gets the room, d1 none left. */
    place(2, 1, "11", (uint64_t[]){ 600, 600 }, (uint64_t[]){ 1000 },
          (int[]){ 0, -1 }, (bool[]){ false, true });
}

static void test_place_none(void **state)
{
    (void)state;
    /* Nothing fits: -1, and not for want of room. */
    place(2, 2, "0000", (uint64_t[]){ 1, 1, 1, 1 },
          (uint64_t[]){ 1000, 1000 }, (int[]){ -1, -1 },
          (bool[]){ false, false });
    /* Fits, but too big for what is free from the start. */
    place(1, 2, "11", (uint64_t[]){ 2000, 3000 },
          (uint64_t[]){ 1000, 1000 }, (int[]){ -1 }, (bool[]){ true });
    /* Fits somewhere, but earlier (bigger) ones took the room: d2 (500)
     * fits only t0, which d0 (800) filled; d1 (600) got t1. */
    place(3, 2, "111110", (uint64_t[]){ 800, 800, 600, 600, 500, 500 },
          (uint64_t[]){ 1000, 1000 }, (int[]){ 0, 1, -1 },
          (bool[]){ false, false, true });
    /* No targets, no domains. */
    place(2, 0, "", (uint64_t[]){ 0 }, (uint64_t[]){ 0 },
          (int[]){ -1, -1 }, (bool[]){ false, false });
    place(0, 2, "", (uint64_t[]){ 0 }, (uint64_t[]){ 1, 1 }, (int[]){ 0 },
          (bool[]){ false });
}

/*
 * Needs differ by target. d0 needs 500 on either; d1 needs 100 on t0 and
 * 900 on t1, so its size is 900 and it goes first: t0 (900 left, 100 on
 * t1); then d0 to t1 (500 left, 400 on t0). If d1 did not fit t1, its
 * size would be 100: d0 first, to t0 (the tie), then d1 to t0 too.
 */
static void test_place_needs_per_target(void **state)
{
    (void)state;
    place(2, 2, "1111", (uint64_t[]){ 500, 500, 100, 900 },
          (uint64_t[]){ 1000, 1000 }, (int[]){ 1, 0 },
          (bool[]){ false, false });
    place(2, 2, "1110", (uint64_t[]){ 500, 500, 100, 900 },
          (uint64_t[]){ 1000, 1000 }, (int[]){ 0, 0 },
          (bool[]){ false, false });
    /* Cheaper on the emptier-looking target is not enough. */
    place(1, 2, "11", (uint64_t[]){ 200, 500 },
          (uint64_t[]){ 1000, 1200 }, (int[]){ 0 }, (bool[]){ false });
    /* Huge figures do not wrap. */
    place(1, 2, "11", (uint64_t[]){ UINT64_MAX, 1 },
          (uint64_t[]){ UINT64_MAX - 1, 1 }, (int[]){ 1 },
          (bool[]){ false });
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_every_kind),
        cmocka_unit_test(test_load_defaults_and_bounds),
        cmocka_unit_test(test_load_declared_encoding),
        cmocka_unit_test(test_load_not_terminated),
        cmocka_unit_test(test_error_duplicates),
        cmocka_unit_test(test_error_after),
        cmocka_unit_test(test_error_cycles),
        cmocka_unit_test(test_error_hosts),
        cmocka_unit_test(test_error_options),
        cmocka_unit_test(test_error_line_of_long_tag),
        cmocka_unit_test(test_error_many),
        cmocka_unit_test(test_error_limits),
        cmocka_unit_test(test_error_too_many_jobs),
        cmocka_unit_test(test_error_schema),
        cmocka_unit_test(test_error_not_well_formed),
        cmocka_unit_test(test_error_no_controls),
        cmocka_unit_test(test_hostile_doctype),
        cmocka_unit_test(test_hostile_encodings),
        cmocka_unit_test(test_hostile_xinclude),
        cmocka_unit_test(test_hostile_size),
        cmocka_unit_test(test_hostile_depth),
        cmocka_unit_test(test_order_long_chain),
        cmocka_unit_test(test_order_diamond),
        cmocka_unit_test(test_selects),
        cmocka_unit_test(test_place_fits),
        cmocka_unit_test(test_place_tie),
        cmocka_unit_test(test_place_biggest_first),
        cmocka_unit_test(test_place_none),
        cmocka_unit_test(test_place_needs_per_target),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
