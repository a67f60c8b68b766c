/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-coord.c - the /libxlmig xenstore subtree (coord.c) on a real
 * xenstored for a temp sim host: perms and defaults, limits, job records,
 * domain locks (live holder refused, dead holder reclaimed), admission
 * slots (busy, FIFO queue across processes, cancel and timeout leave the
 * queue), cancel requests and their fd, and reaping of dead jobs. Dead
 * owners are real: forked children that have been reaped, or a wrong
 * start time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <xenstore.h>

#include "coord.h"
#include "test-xshost.h"

#define EVENT_MS 5000           /* an expected event later than this fails */
#define UUID1 "6b7ee2d3-3c56-4b0e-9a57-1b3a1b0c1d2e"
#define NCHILD 5

struct host {
    struct test_xshost xh;
    struct coord *c;
    struct xs_handle *xs;       /* for looking at the tree directly */
};

static int host_teardown(void **state)
{
    struct host *h = *state;

    coord_close(h->c);
    if (h->xs) xs_close(h->xs);
    return test_xshost_stop(&h->xh);
}

static int host_setup(void **state)
{
    static struct host h;

    memset(&h, 0, sizeof(h));
    if (test_xshost_start(&h.xh, "coord")) return -1;
    *state = &h;
    if (coord_open(h.xh.t.ctx, &h.c)) {
        host_teardown(state);
        return -1;
    }
    h.xs = xs_open(0);
    return h.xs ? 0 : -1;
}

/* ---- helpers ---- */

static char *xs_get(struct host *h, const char *fmt, ...) PRINTF_LIKE(2, 3);
static char *xs_get(struct host *h, const char *fmt, ...)
{
    unsigned int len;
    va_list ap;
    char *path, *v;

    va_start(ap, fmt);
    if (vasprintf(&path, fmt, ap) < 0) abort();
    va_end(ap);
    v = xs_read(h->xs, XBT_NULL, path, &len);
    free(path);
    return v;
}

static void assert_node(struct host *h, const char *path, const char *want)
{
    char *v = xs_get(h, "%s", path);

    if (!want) {
        if (v) fail_msg("%s exists: '%s'", path, v);
        return;
    }
    if (!v) fail_msg("%s is missing", path);
    assert_string_equal(v, want);
    free(v);
}

static void assert_perms_n0(struct host *h, const char *path)
{
    struct xs_permissions *p;
    unsigned int num;

    p = xs_get_permissions(h->xs, XBT_NULL, path, &num);
    if (!p) fail_msg("no permissions for %s", path);
    /* "n0": owned by dom0, no access for anyone else */
    assert_int_equal(num, 1);
    assert_int_equal(p[0].id, 0);
    assert_int_equal(p[0].perms, XS_PERM_NONE);
    free(p);
}

static void put(struct host *h, const char *path, const char *v)
{
    assert_true(xs_write(h->xs, XBT_NULL, path, v, strlen(v)));
}

static void new_job(struct host *h, const char *uuid, char id[32])
{
    assert_int_equal(coord_job_create(h->c, "migrate", "guest", uuid,
                                      "host-b", id), XLMIG_OK);
}

/* coord_slot_take without waiting. */
static int take_now(struct host *h, const char *id, enum coord_kind k)
{
    return coord_slot_take(h->c, id, k, false, NULL, -1, NULL, NULL);
}

/* Jobs a and b hold both outgoing slots; job c is made, with none. */
static void out_slots_full(struct host *h, char a[32], char b[32],
                           char c[32])
{
    new_job(h, "", a);
    new_job(h, "", b);
    new_job(h, "", c);
    assert_int_equal(take_now(h, a, COORD_OUT), XLMIG_OK);
    assert_int_equal(take_now(h, b, COORD_OUT), XLMIG_OK);
}

static bool readable_within(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return poll(&p, 1, ms) == 1;
}

/*
 * Forks a child that makes a job (own coord), locks UUID1 and takes an
 * "out" slot, then exits without cleaning up; returns the job id once the
 * child is reaped, so the job's owner is dead.
 */
static void dead_job(struct host *h, char id[32])
{
    int fds[2], status;
    struct coord *c;
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char cid[32] = "";
        bool ok;

        close(fds[0]);
        ok = !coord_open(h->xh.t.ctx, &c) &&
             !coord_job_create(c, "migrate", "guest", UUID1, "b", cid) &&
             !coord_lock_domain(c, cid, UUID1, NULL) &&
             !coord_slot_take(c, cid, COORD_OUT, false, NULL, -1, NULL, NULL);
        ok = ok && write(fds[1], cid, sizeof(cid)) == sizeof(cid);
        coord_close(c);
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], id, 32), 32);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- tests ---- */

static void test_subtree_perms_and_defaults(void **state)
{
    struct host *h = *state;
    const char *nodes[] = {
        "/libxlmig", "/libxlmig/host", "/libxlmig/host/limits/out",
        "/libxlmig/host/slots/in", "/libxlmig/host/queue/storage",
        "/libxlmig/lock", "/libxlmig/job",
    };
    struct xs_permissions readable = { .id = 0, .perms = XS_PERM_READ };
    enum coord_kind k;
    char id[32], path[128];
    struct coord *c2;
    unsigned n, i;

    /* Nodes would inherit a readable root's perms: ours must not. */
    assert_true(xs_rm(h->xs, XBT_NULL, "/libxlmig"));
    assert_true(xs_set_permissions(h->xs, XBT_NULL, "/", &readable, 1));
    assert_int_equal(coord_open(h->xh.t.ctx, &c2), XLMIG_OK);
    coord_close(c2);
    for (i = 0; i < ARRAY_SIZE(nodes); i++)
        assert_perms_n0(h, nodes[i]);
    for (k = 0; k < COORD_NR_KINDS; k++) {
        assert_int_equal(coord_get_limit(h->c, k, &n), XLMIG_OK);
        assert_int_equal(n, 2);
    }
    assert_node(h, "/libxlmig/host/limits/storage", "2");
    new_job(h, UUID1, id);
    snprintf(path, sizeof(path), "/libxlmig/job/%s/phase", id);
    assert_perms_n0(h, path);
    assert_int_equal(coord_lock_domain(h->c, id, UUID1, NULL), XLMIG_OK);
    assert_perms_n0(h, "/libxlmig/lock/" UUID1);
    assert_string_equal(coord_kind_name(COORD_STORAGE), "storage");
    assert_int_equal(coord_kind_parse("in", &k), XLMIG_OK);
    assert_int_equal(k, COORD_IN);
    assert_int_equal(coord_kind_parse("sideways", &k), XLMIG_E_INVAL);
}

static void test_limits_set_get(void **state)
{
    struct host *h = *state;
    struct coord *c2;
    unsigned n;

    assert_int_equal(coord_set_limit(h->c, COORD_IN, 5), XLMIG_OK);
    assert_int_equal(coord_get_limit(h->c, COORD_IN, &n), XLMIG_OK);
    assert_int_equal(n, 5);
    assert_int_equal(coord_set_limit(h->c, COORD_OUT, 0), XLMIG_OK);
    assert_int_equal(coord_set_limit(h->c, COORD_OUT, 65), XLMIG_E_INVAL);
    assert_int_equal(coord_get_limit(h->c, COORD_OUT, &n), XLMIG_OK);
    assert_int_equal(n, 0);
    /* A second open keeps limits that are there. */
    assert_int_equal(coord_open(h->xh.t.ctx, &c2), XLMIG_OK);
    assert_int_equal(coord_get_limit(c2, COORD_IN, &n), XLMIG_OK);
    assert_int_equal(n, 5);
    coord_close(c2);
}

static void test_job_create_get_list_remove(void **state)
{
    struct host *h = *state;
    struct coord_job j, *list;
    char a[32], b[32], path[128];
    unsigned long t;
    unsigned seq;
    size_t n;

    new_job(h, UUID1, a);
    assert_int_equal(coord_job_create(h->c, "migrate", "other", "",
                                      "host-c", b), XLMIG_OK);
    assert_string_not_equal(a, b);
    assert_int_equal(sscanf(a, "%8lx-%x", &t, &seq), 2);
    assert_int_equal(coord_job_get(h->c, a, &j), XLMIG_OK);
    assert_string_equal(j.id, a);
    assert_string_equal(j.kind, "migrate");
    assert_string_equal(j.phase, "admit");
    assert_string_equal(j.domain, "guest");
    assert_string_equal(j.uuid, UUID1);
    assert_string_equal(j.peer, "host-b");
    assert_int_equal(j.pid, getpid());
    assert_true(j.alive);
    assert_true(j.cancellable);
    assert_false(j.cancel_requested);
    assert_int_equal(j.queue_pos, 0);
    assert_string_equal(j.slot, "");
    assert_true(j.started > 1.6e9);
    assert_int_equal(coord_job_set(h->c, a, "phase", "transfer"), XLMIG_OK);
    assert_int_equal(coord_job_set(h->c, a, "progress", "1 of 2"),
                     XLMIG_OK);
    assert_int_equal(coord_job_set(h->c, a, "../x", "1"), XLMIG_E_INVAL);
    assert_int_equal(coord_job_set(h->c, "nosuch", "phase", "x"),
                     XLMIG_E_NOTFOUND);
    assert_int_equal(take_now(h, a, COORD_OUT), XLMIG_OK);
    assert_int_equal(coord_job_get(h->c, a, &j), XLMIG_OK);
    assert_string_equal(j.phase, "transfer");
    assert_string_equal(j.progress, "1 of 2");
    assert_string_equal(j.slot, "out");
    assert_int_equal(coord_job_list(h->c, &list, &n), XLMIG_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, a);
    assert_string_equal(list[1].id, b);
    free(list);
    assert_int_equal(coord_lock_domain(h->c, a, UUID1, NULL), XLMIG_OK);
    assert_int_equal(coord_job_remove(h->c, a), XLMIG_OK);
    assert_int_equal(coord_job_get(h->c, a, &j), XLMIG_E_NOTFOUND);
    snprintf(path, sizeof(path), "/libxlmig/host/slots/out/%s", a);
    assert_node(h, path, NULL);
    assert_node(h, "/libxlmig/lock/" UUID1, NULL);
    assert_int_equal(coord_job_remove(h->c, a), XLMIG_OK);
    assert_int_equal(coord_job_list(h->c, &list, &n), XLMIG_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].id, b);
    free(list);
}

static void test_lock_refuses_second_job(void **state)
{
    struct host *h = *state;
    char a[32], b[32], *holder = NULL;

    new_job(h, UUID1, a);
    new_job(h, UUID1, b);
    assert_int_equal(coord_lock_domain(h->c, a, UUID1, &holder), XLMIG_OK);
    assert_null(holder);
    assert_int_equal(coord_lock_domain(h->c, a, UUID1, NULL), XLMIG_OK);
    assert_int_equal(coord_lock_domain(h->c, b, UUID1, &holder),
                     XLMIG_E_BUSY);
    assert_non_null(holder);
    assert_string_equal(holder, a);
    free(holder);
    assert_int_equal(coord_unlock_domain(h->c, b, UUID1), XLMIG_E_BUSY);
    assert_node(h, "/libxlmig/lock/" UUID1, a);
    assert_int_equal(coord_unlock_domain(h->c, a, UUID1), XLMIG_OK);
    assert_node(h, "/libxlmig/lock/" UUID1, NULL);
    assert_int_equal(coord_unlock_domain(h->c, a, UUID1), XLMIG_OK);
    assert_int_equal(coord_lock_domain(h->c, b, UUID1, NULL), XLMIG_OK);
    assert_int_equal(coord_lock_domain(h->c, b, "not/a/uuid", NULL),
                     XLMIG_E_INVAL);
}

static void test_lock_of_dead_job_is_reclaimed(void **state)
{
    struct host *h = *state;
    char dead[32], a[32], b[32], path[128], *holder = (char *)"x";
    struct coord_job j;

    dead_job(h, dead);
    assert_node(h, "/libxlmig/lock/" UUID1, dead);
    assert_int_equal(coord_job_get(h->c, dead, &j), XLMIG_OK);
    assert_false(j.alive);
    new_job(h, UUID1, a);
    assert_int_equal(coord_lock_domain(h->c, a, UUID1, &holder), XLMIG_OK);
    assert_null(holder);
    assert_node(h, "/libxlmig/lock/" UUID1, a);
    /* A live owner with a different start time is not the owner. */
    new_job(h, UUID1, b);
    snprintf(path, sizeof(path), "/libxlmig/job/%s/owner", a);
    put(h, path, "1 12345");
    assert_int_equal(coord_lock_domain(h->c, b, UUID1, NULL), XLMIG_OK);
    assert_node(h, "/libxlmig/lock/" UUID1, b);
    /* A lock naming a job without a record is stale too. */
    put(h, "/libxlmig/lock/" UUID1, "gone-1");
    assert_int_equal(coord_lock_domain(h->c, b, UUID1, NULL), XLMIG_OK);
    assert_node(h, "/libxlmig/lock/" UUID1, b);
}

static void test_slot_limit_busy(void **state)
{
    struct host *h = *state;
    char a[32], b[32], c[32], path[128];

    new_job(h, "", a);
    new_job(h, "", b);
    new_job(h, "", c);
    assert_int_equal(take_now(h, a, COORD_OUT), XLMIG_OK);
    assert_int_equal(take_now(h, a, COORD_OUT), XLMIG_OK);
    assert_int_equal(take_now(h, b, COORD_OUT), XLMIG_OK);
    assert_int_equal(take_now(h, c, COORD_OUT), XLMIG_E_BUSY);
    /* Other kinds count apart. */
    assert_int_equal(take_now(h, c, COORD_IN), XLMIG_OK);
    snprintf(path, sizeof(path), "/libxlmig/host/slots/out/%s", a);
    assert_node(h, path, a);
    assert_int_equal(coord_slot_release(h->c, a, COORD_OUT), XLMIG_OK);
    assert_node(h, path, NULL);
    assert_int_equal(coord_slot_release(h->c, a, COORD_OUT), XLMIG_OK);
    assert_int_equal(take_now(h, c, COORD_OUT), XLMIG_OK);
    assert_int_equal(take_now(h, "nosuch", COORD_OUT), XLMIG_E_NOTFOUND);
}

static void record_pos(void *arg, unsigned pos)
{
    unsigned *seen = arg;

    seen[seen[0] + 1] = pos;
    seen[0]++;
}

static void test_slot_wait_cancel_and_timeout_leave_queue(void **state)
{
    struct host *h = *state;
    char a[32], b[32], c[32], path[128];
    unsigned seen[8] = { 0 };
    struct fdio_wait w;
    int fds[2];

    out_slots_full(h, a, b, c);
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "c", 1), 1);
    w = fdio_wait_make(0, fds[0]);
    assert_int_equal(coord_slot_take(h->c, c, COORD_OUT, true, &w, -1,
                                     record_pos, seen), XLMIG_E_CANCELLED);
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[1], 1);
    assert_node(h, "/libxlmig/host/queue/out", "");
    snprintf(path, sizeof(path), "/libxlmig/job/%s/queue", c);
    assert_node(h, path, "0");
    {
        char **ents;
        unsigned n;

        ents = xs_directory(h->xs, XBT_NULL, "/libxlmig/host/queue/out",
                            &n);
        assert_non_null(ents);
        assert_int_equal(n, 0);
        free(ents);
    }
    w = fdio_wait_make(1, -1);
    assert_int_equal(coord_slot_take(h->c, c, COORD_OUT, true, &w, -1, NULL,
                                     NULL), XLMIG_E_TIMEDOUT);
    assert_node(h, path, "0");
    close(fds[0]);
    close(fds[1]);
}

/*
 * The peer's fd: data waiting there does not end the wait (a receiver
 * queues while the sender's stream fills its pipe); the peer hanging up
 * does, at once, with XLMIG_E_PEER.
 */
static void test_slot_wait_ends_when_the_peer_leaves(void **state)
{
    struct host *h = *state;
    char a[32], b[32], c[32], path[128];
    struct fdio_wait w;
    double t0;
    int fds[2];

    out_slots_full(h, a, b, c);
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "stream", 6), 6);
    w = fdio_wait_make(1, -1);
    assert_int_equal(coord_slot_take(h->c, c, COORD_OUT, true, &w, fds[0],
                                     NULL, NULL), XLMIG_E_TIMEDOUT);
    close(fds[1]);
    w = fdio_wait_make(30, -1);
    t0 = ctx_now(h->xh.t.ctx);
    assert_int_equal(coord_slot_take(h->c, c, COORD_OUT, true, &w, fds[0],
                                     NULL, NULL), XLMIG_E_PEER);
    assert_true(ctx_now(h->xh.t.ctx) - t0 < 5);
    snprintf(path, sizeof(path), "/libxlmig/job/%s/queue", c);
    assert_node(h, path, "0");
    close(fds[0]);
}

/* ---- FIFO across processes ---- */

struct msg {
    char type;                  /* 'Q' position, 'G' granted, 'E' error */
    int child;
    unsigned pos;
    char id[32];
};

struct waiter {
    int child, report;
    char id[32];
};

static void waiter_queued(void *arg, unsigned pos)
{
    struct waiter *wt = arg;
    struct msg m = { .type = 'Q', .child = wt->child, .pos = pos };

    memcpy(m.id, wt->id, sizeof(m.id));
    if (write(wt->report, &m, sizeof(m)) != sizeof(m)) _exit(3);
}

/* A child: its own coord and job; waits for a slot, reports it, holds it
 * until the parent closes its go pipe. */
static void waiter_main(struct host *h, int child, int report, int go)
{
    struct waiter wt = { .child = child, .report = report };
    struct msg m = { .type = 'G', .child = child };
    struct coord *c;
    char byte;
    int rc;

    rc = coord_open(h->xh.t.ctx, &c);
    if (!rc) rc = coord_job_create(c, "migrate", "g", "", "b", wt.id);
    if (!rc) rc = coord_slot_take(c, wt.id, COORD_OUT, true, NULL, -1,
                                  waiter_queued, &wt);
    if (rc) m.type = 'E';
    memcpy(m.id, wt.id, sizeof(m.id));
    if (write(report, &m, sizeof(m)) != sizeof(m)) _exit(3);
    if (!rc && readable_within(go, 20000) && read(go, &byte, 1) >= 0)
        rc = coord_slot_release(c, wt.id, COORD_OUT);
    if (!rc) rc = coord_job_remove(c, wt.id);
    coord_close(c);
    _exit(rc ? 1 : 0);
}

static void read_msg(int fd, struct msg *m)
{
    if (!readable_within(fd, EVENT_MS)) fail_msg("no report from a child");
    assert_int_equal(read(fd, m, sizeof(*m)), sizeof(*m));
    if (m->type == 'E') fail_msg("child %d failed", m->child);
}

/* Reads reports until the grant of child want, recording positions. */
static void expect_grant(int fd, int want, unsigned seen[][NCHILD + 1],
                         unsigned nseen[])
{
    struct msg m;

    for (;;) {
        read_msg(fd, &m);
        if (m.type == 'G') break;
        seen[m.child][nseen[m.child]++] = m.pos;
    }
    if (m.child != want) fail_msg("child %d got a slot before child %d",
                                  m.child, want);
}

/* Reads position reports until each child in from..to-1 has said the
 * position it must have once child granted has its slot (child i is at
 * i - granted; -1 before any grant). */
static void expect_moves(struct host *h, int fd, int from, int to,
                         int granted, unsigned seen[][NCHILD + 1],
                         unsigned nseen[], char ids[][32])
{
    struct msg m;
    int i, left = 0;
    char *v;

    for (i = from; i < to; i++)
        if (!nseen[i] || seen[i][nseen[i] - 1] != (unsigned)(i - granted))
            left++;
    while (left > 0) {
        read_msg(fd, &m);
        assert_int_equal(m.type, 'Q');
        seen[m.child][nseen[m.child]++] = m.pos;
        memcpy(ids[m.child], m.id, 32);
        if (m.pos == (unsigned)(m.child - granted)) left--;
    }
    for (i = from; i < to; i++) {
        v = xs_get(h, "/libxlmig/job/%s/queue", ids[i]);
        assert_non_null(v);
        assert_int_equal(atoi(v), i - granted);
        free(v);
    }
}

static void test_slot_queue_is_fifo_across_processes(void **state)
{
    struct host *h = *state;
    unsigned seen[NCHILD][NCHILD + 1], nseen[NCHILD] = { 0 };
    char a[32], b[32], ids[NCHILD][32];
    int report[2], go[NCHILD][2], i, j, status;
    pid_t pids[NCHILD];

    new_job(h, "", a);
    new_job(h, "", b);
    assert_int_equal(take_now(h, a, COORD_OUT), XLMIG_OK);
    assert_int_equal(take_now(h, b, COORD_OUT), XLMIG_OK);
    assert_int_equal(pipe(report), 0);
    /* Child i joins only once child i-1 is queued: a known order. */
    for (i = 0; i < NCHILD; i++) {
        assert_int_equal(pipe(go[i]), 0);
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(report[0]);
            for (j = 0; j <= i; j++)
                close(go[j][1]);    /* or no child would see its EOF */
            waiter_main(h, i, report[1], go[i][0]);
        }
        close(go[i][0]);
        expect_moves(h, report[0], i, i + 1, -1, seen, nseen, ids);
    }
    /* Free one slot at a time; the head of the queue must get it. */
    assert_int_equal(coord_slot_release(h->c, a, COORD_OUT), XLMIG_OK);
    expect_grant(report[0], 0, seen, nseen);
    expect_moves(h, report[0], 1, NCHILD, 0, seen, nseen, ids);
    assert_int_equal(coord_slot_release(h->c, b, COORD_OUT), XLMIG_OK);
    expect_grant(report[0], 1, seen, nseen);
    expect_moves(h, report[0], 2, NCHILD, 1, seen, nseen, ids);
    for (i = 2; i < NCHILD; i++) {
        close(go[i - 2][1]);        /* child i-2 releases its slot */
        expect_grant(report[0], i, seen, nseen);
        expect_moves(h, report[0], i + 1, NCHILD, i, seen, nseen, ids);
    }
    close(go[NCHILD - 2][1]);
    close(go[NCHILD - 1][1]);
    for (i = 0; i < NCHILD; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* Child i saw positions i+1, i, ..., 1. */
        assert_int_equal(nseen[i], i + 1);
        for (j = 0; j <= i; j++)
            assert_int_equal(seen[i][j], (unsigned)(i + 1 - j));
    }
    close(report[0]);
    close(report[1]);
}

/* ---- cancel ---- */

static void test_cancel_fd_fires_on_request(void **state)
{
    struct host *h = *state;
    char a[32], b[32];
    struct coord *c2;
    struct coord_job j;
    int fd, fd2;

    new_job(h, "", a);
    assert_int_equal(coord_cancel_fd(h->c, a, &fd), XLMIG_OK);
    assert_int_equal(coord_cancel_fd(h->c, a, &fd2), XLMIG_OK);
    assert_int_equal(fd, fd2);
    assert_int_equal(coord_open(h->xh.t.ctx, &c2), XLMIG_OK);
    assert_int_equal(coord_request_cancel(c2, a, NULL), XLMIG_OK);
    assert_true(readable_within(fd, EVENT_MS));
    assert_true(readable_within(fd, 0));        /* it stays readable */
    assert_int_equal(coord_job_get(c2, a, &j), XLMIG_OK);
    assert_true(j.cancel_requested);
    /* A request made before the fd is asked for counts too. */
    new_job(h, "", b);
    assert_int_equal(coord_request_cancel(c2, b, NULL), XLMIG_OK);
    assert_int_equal(coord_cancel_fd(h->c, b, &fd2), XLMIG_OK);
    assert_int_not_equal(fd, fd2);
    assert_true(readable_within(fd2, EVENT_MS));
    assert_int_equal(coord_request_cancel(c2, "nosuch-1", NULL),
                     XLMIG_E_NOTFOUND);
    coord_close(c2);
}

/* Neither the initial watch event nor a write of "" fires the fd. */
static void test_cancel_fd_quiet_until_requested(void **state)
{
    struct host *h = *state;
    char a[32], b[32], path[128];
    int fd, fd_b;

    new_job(h, "", a);
    new_job(h, "", b);
    assert_int_equal(coord_cancel_fd(h->c, a, &fd), XLMIG_OK);
    snprintf(path, sizeof(path), "/libxlmig/job/%s/cancel", a);
    put(h, path, "");
    /* Events reach the watch thread in order: once b's cancel is seen,
     * all of a's events before it have been handled. */
    assert_int_equal(coord_cancel_fd(h->c, b, &fd_b), XLMIG_OK);
    assert_int_equal(coord_request_cancel(h->c, b, NULL), XLMIG_OK);
    assert_true(readable_within(fd_b, EVENT_MS));
    assert_false(readable_within(fd, 0));
    put(h, path, "requested");
    assert_true(readable_within(fd, EVENT_MS));
}

static void test_cancel_refused_when_not_cancellable(void **state)
{
    struct host *h = *state;
    const char *why_set = "past the point of no return: the destination "
                          "may run the domain";
    char a[32], *why = NULL, path[128];
    struct coord_job j;

    new_job(h, "", a);
    assert_int_equal(coord_job_set(h->c, a, "cancellable-why", why_set),
                     XLMIG_OK);
    assert_int_equal(coord_job_set(h->c, a, "cancellable", "0"), XLMIG_OK);
    assert_int_equal(coord_request_cancel(h->c, a, &why), XLMIG_E_BUSY);
    assert_non_null(why);
    assert_string_equal(why, why_set);
    free(why);
    snprintf(path, sizeof(path), "/libxlmig/job/%s/cancel", a);
    assert_node(h, path, "");
    assert_int_equal(coord_job_get(h->c, a, &j), XLMIG_OK);
    assert_false(j.cancellable);
    assert_false(j.cancel_requested);
}

/* The point of no return and a request cannot both win. */
static void test_refuse_cancel_checks_requests(void **state)
{
    struct host *h = *state;
    char a[32], b[32], *why = NULL;

    new_job(h, "", a);
    assert_int_equal(coord_refuse_cancel(h->c, a, "past it"), XLMIG_OK);
    assert_int_equal(coord_request_cancel(h->c, a, &why), XLMIG_E_BUSY);
    assert_string_equal(why, "past it");
    free(why);
    new_job(h, "", b);
    assert_int_equal(coord_request_cancel(h->c, b, NULL), XLMIG_OK);
    assert_int_equal(coord_refuse_cancel(h->c, b, "past it"),
                     XLMIG_E_CANCELLED);
    assert_int_equal(coord_refuse_cancel(h->c, b, "two\nlines"),
                     XLMIG_E_INVAL);
    assert_int_equal(coord_refuse_cancel(h->c, "nosuch-1", "x"),
                     XLMIG_E_NOTFOUND);
}

/* ---- reaping ---- */

static void test_reap_stale_removes_dead_jobs(void **state)
{
    struct host *h = *state;
    char dead[32], live[32], path[128];
    struct coord_job j;
    unsigned n;

    dead_job(h, dead);
    new_job(h, "", live);
    assert_int_equal(take_now(h, live, COORD_OUT), XLMIG_OK);
    /* A job whose pid runs but started at another time, with a queue
     * entry, and a slot naming no job at all. */
    put(h, "/libxlmig/job/fake-1/owner", "1 1");
    put(h, "/libxlmig/host/queue/in/0000000099", "fake-1");
    put(h, "/libxlmig/host/slots/storage/ghost-1", "ghost-1");
    assert_int_equal(coord_reap_stale(h->c, &n), XLMIG_OK);
    assert_int_equal(n, 2);
    assert_int_equal(coord_job_get(h->c, dead, &j), XLMIG_E_NOTFOUND);
    snprintf(path, sizeof(path), "/libxlmig/host/slots/out/%s", dead);
    assert_node(h, path, NULL);
    assert_node(h, "/libxlmig/lock/" UUID1, NULL);
    assert_node(h, "/libxlmig/job/fake-1", NULL);
    assert_node(h, "/libxlmig/host/queue/in/0000000099", NULL);
    assert_node(h, "/libxlmig/host/slots/storage/ghost-1", NULL);
    snprintf(path, sizeof(path), "/libxlmig/host/slots/out/%s", live);
    assert_node(h, path, live);
    assert_int_equal(coord_job_get(h->c, live, &j), XLMIG_OK);
    assert_int_equal(coord_reap_stale(h->c, &n), XLMIG_OK);
    assert_int_equal(n, 0);
}

/* A dead job's slot does not count against the limit. */
static void test_slot_of_dead_job_is_reclaimed(void **state)
{
    struct host *h = *state;
    char dead[32], a[32], b[32];

    dead_job(h, dead);
    new_job(h, "", a);
    new_job(h, "", b);
    assert_int_equal(take_now(h, a, COORD_OUT), XLMIG_OK);
    assert_int_equal(take_now(h, b, COORD_OUT), XLMIG_OK);
}

#define HOST_TEST(f) cmocka_unit_test_setup_teardown(f, host_setup, \
                                                     host_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        HOST_TEST(test_subtree_perms_and_defaults),
        HOST_TEST(test_limits_set_get),
        HOST_TEST(test_job_create_get_list_remove),
        HOST_TEST(test_lock_refuses_second_job),
        HOST_TEST(test_lock_of_dead_job_is_reclaimed),
        HOST_TEST(test_slot_limit_busy),
        HOST_TEST(test_slot_wait_cancel_and_timeout_leave_queue),
        HOST_TEST(test_slot_wait_ends_when_the_peer_leaves),
        HOST_TEST(test_slot_queue_is_fifo_across_processes),
        HOST_TEST(test_cancel_fd_fires_on_request),
        HOST_TEST(test_cancel_fd_quiet_until_requested),
        HOST_TEST(test_cancel_refused_when_not_cancellable),
        HOST_TEST(test_refuse_cancel_checks_requests),
        HOST_TEST(test_reap_stale_removes_dead_jobs),
        HOST_TEST(test_slot_of_dead_job_is_reclaimed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
