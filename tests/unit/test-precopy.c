/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-precopy.c - the precopy policy (precopy.c) on recorded and modelled
 * round sequences: an idle guest stops after round 2, a converging one
 * when the prediction meets the target, a guest dirtying faster than the
 * link gets force / throttle / abort as asked (the throttle stepping and
 * its caps), the round and time limits; the params and report codecs,
 * with hostile text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "precopy.h"

/*
 * A guest dirtying rate pages/s (less its throttle) over wss pages, sent
 * at link bytes/s with libxc's loop; returns the policy's last action and
 * the rounds it took; *downtime_ms what stopping left to send.
 */
struct model {
    double rate, link;
    uint64_t wss, pages;
    bool throttle_allowed;
    unsigned rounds;
    double downtime_ms;
    unsigned max_throttle;
    struct precopy_report last;
};

static enum precopy_action model_run(struct model *m,
                                     const struct precopy_params *p)
{
    struct precopy pc;
    enum precopy_action a;
    double now = 100, t, dirty;
    uint64_t send = m->pages;

    precopy_init(&pc, p, m->throttle_allowed, now);
    for (;;) {
        assert_int_equal(precopy_before(&pc, send, now), PRECOPY_CONTINUE);
        t = (double)send * PRECOPY_PAGE_SIZE / m->link;
        now += t;
        a = precopy_after(&pc, send * PRECOPY_PAGE_SIZE, now, &m->last);
        if (m->last.throttle > m->max_throttle)
            m->max_throttle = m->last.throttle;
        dirty = m->rate * (100 - m->last.throttle) / 100 * t;
        if (dirty > (double)m->wss) dirty = (double)m->wss;
        send = (uint64_t)dirty;
        if (a != PRECOPY_CONTINUE) break;
        assert_true(pc.round < 1000);
    }
    m->rounds = pc.round;
    m->downtime_ms = (double)send * PRECOPY_PAGE_SIZE / m->link * 1e3 +
                     p->fixed_ms;
    return a;
}

static void test_idle_stops_after_round_2(void **state)
{
    struct precopy_params p;
    struct model m = { .rate = 10, .link = 100e6, .wss = 1000,
                       .pages = 32768, .throttle_allowed = true };

    (void)state;
    precopy_params_default(&p);
    assert_int_equal(model_run(&m, &p), PRECOPY_STOP);
    assert_int_equal(m.rounds, 2);
    assert_true(m.downtime_ms <= p.max_downtime_ms);
    assert_int_equal(m.max_throttle, 0);
    assert_true(m.last.predicted_ms >= p.fixed_ms);
    assert_string_equal(m.last.why, "");
}

/*
 * Rounds recorded from sim migrations (64 MiB guests, random memory, the
 * stream held to 40 MB/s, xlmig -vv's "precopy:" lines): the pages each
 * round sent, how long it took and the bytes it put on the stream.
 */
struct rec_round {
    uint64_t pages;
    double secs;
    uint64_t bytes;
};

static enum precopy_action replay(const struct precopy_params *p,
                                  const struct rec_round *rec, size_t n,
                                  struct precopy_report *r)
{
    enum precopy_action a = PRECOPY_CONTINUE;
    struct precopy pc;
    double now = 0;
    size_t i;

    precopy_init(&pc, p, true, now);
    for (i = 0; i < n && a == PRECOPY_CONTINUE; i++) {
        precopy_before(&pc, rec[i].pages, now);
        now += rec[i].secs;
        a = precopy_after(&pc, rec[i].bytes, now, r);
    }
    return a;
}

/*
 * Real Xen (the lab: 128 MiB PVH guest dirtying 8 MiB/s over 32 MiB, its
 * stream through xlmig-save-helper under QEMU/TCG): round 1 is libxc's
 * whole p2m (1044480 pages), then the working set stays dirty. With
 * converge=abort and 3 rounds it gives up at round 3, naming the rates.
 */
static void test_recorded_lab_abort(void **state)
{
    static const struct rec_round rec[] = {
        { 1044480, 95.437, 142706000 }, { 8572, 11.909, 35180000 },
        { 8506, 13.465, 34910000 },
    };
    struct precopy_params p;
    struct precopy_report r;

    (void)state;
    precopy_params_default(&p);
    p.converge = PRECOPY_CONVERGE_ABORT;
    p.max_rounds = 3;
    assert_int_equal(replay(&p, rec, 3, &r), PRECOPY_ABORT);
    assert_int_equal(r.round, 3);
    /* 8506 pages dirtied during round 2's 11.9 s: 714 pages/s. */
    assert_true(r.dirty_rate > 710 && r.dirty_rate < 720);
    assert_non_null(strstr(r.why, "not converged in 3 live rounds: it "
                                  "dirties 2.9 MB/s"));
    assert_non_null(strstr(r.why, "300 ms needs about"));
}

/* 20000 pages/s over a 48 MiB working set, --converge force: stalls. */
static void test_recorded_stalling(void **state)
{
    static const struct rec_round rec[] = {
        { 16384, 1.654, 67227281 }, { 11448, 1.156, 47002720 },
        { 10379, 1.066, 42613347 }, { 10205, 1.025, 41885706 },
    };
    struct precopy_params p;
    struct precopy_report r;

    (void)state;
    precopy_params_default(&p);
    p.max_downtime_ms = 100;
    p.converge = PRECOPY_CONVERGE_FORCE;
    assert_int_equal(replay(&p, rec, 4, &r), PRECOPY_STOP);
    assert_int_equal(r.round, 4);
    assert_true(r.dirty_rate > 9500 && r.dirty_rate < 9650);
    assert_true(r.predicted_ms > 1000 && r.predicted_ms < 1200);
    assert_non_null(strstr(r.why, "not converging (round 4)"));
}

/*
 * 3000 pages/s: converging; the last round (120 pages) went into the
 * pipe's buffer in a millisecond, which must not pass for a 490 MB/s
 * link: its prediction keeps to the rate of the rounds before.
 */
static void test_recorded_converging(void **state)
{
    static const struct rec_round rec[] = {
        { 16384, 1.654, 67233746 }, { 4076, 0.388, 16714368 },
        { 1121, 0.129, 4589880 }, { 389, 0.031, 1589941 },
        { 120, 0.001, 492496 },
    };
    struct precopy_params p;
    struct precopy_report r;

    (void)state;
    precopy_params_default(&p);
    p.max_downtime_ms = 300;
    p.fixed_ms = 50;
    /* Round 2: 4076 pages in 1.654 s, 2464 pages/s; 0.388 s of it at
     * the rounds' 40.7 MB/s: 956 pages, 96 ms, + 50 = 146 ms <= 225. */
    assert_int_equal(replay(&p, rec, 5, &r), PRECOPY_STOP);
    assert_int_equal(r.round, 2);
    assert_true(r.predicted_ms > 140 && r.predicted_ms < 150);
    assert_string_equal(r.why, "");
    /* To 10 ms: it goes on to the last round, where the link is still
     * about 40 MB/s. */
    p.max_downtime_ms = 10;
    p.fixed_ms = 1;
    replay(&p, rec, 5, &r);
    assert_int_equal(r.round, 5);
    assert_true(r.link_rate > 30e6 && r.link_rate < 60e6);
}

static void test_converges_geometrically(void **state)
{
    struct precopy_params p;
    struct model m = { .rate = 10000, .link = 100e6, .wss = 20000,
                       .pages = 32768, .throttle_allowed = true };

    (void)state;
    precopy_params_default(&p);
    p.max_downtime_ms = 120;
    p.fixed_ms = 20;
    assert_int_equal(model_run(&m, &p), PRECOPY_STOP);
    assert_true(m.rounds > 2);
    assert_true(m.downtime_ms <= 120 * 0.75);
    assert_int_equal(m.max_throttle, 0);
}

/* Dirtying 100 MB/s of a 1 GiB working set over a 50 MB/s link. */
static struct model fast_guest(void)
{
    struct model m = { .rate = 25600, .link = 50e6, .wss = 262144,
                       .pages = 262144, .throttle_allowed = true };
    return m;
}

static void test_force_stops_at_stall(void **state)
{
    struct precopy_params p;
    struct model m = fast_guest();

    (void)state;
    precopy_params_default(&p);
    p.converge = PRECOPY_CONVERGE_FORCE;
    assert_int_equal(model_run(&m, &p), PRECOPY_STOP);
    assert_true(m.rounds <= 4);
    assert_true(m.downtime_ms > p.max_downtime_ms);
    assert_int_equal(m.max_throttle, 0);
    assert_non_null(strstr(m.last.why, "not converging"));
    assert_non_null(strstr(m.last.why, "predicted downtime"));
}

static void test_throttle_meets_target(void **state)
{
    struct precopy_params p;
    struct model m = fast_guest();

    (void)state;
    precopy_params_default(&p);
    assert_int_equal(p.converge, PRECOPY_CONVERGE_THROTTLE);
    assert_int_equal(model_run(&m, &p), PRECOPY_STOP);
    assert_true(m.max_throttle >= PRECOPY_THROTTLE_FIRST);
    assert_true(m.max_throttle <= PRECOPY_THROTTLE_MAX);
    assert_true(m.downtime_ms <= p.max_downtime_ms);
    assert_string_equal(m.last.why, "");
}

/* A working set the link cannot drain even at the highest throttle. */
static void test_throttle_gives_up_at_max(void **state)
{
    struct precopy_params p;
    struct model m = fast_guest();

    (void)state;
    m.rate = 2e6;
    precopy_params_default(&p);
    p.max_downtime_ms = 10;
    p.fixed_ms = 5;
    assert_int_equal(model_run(&m, &p), PRECOPY_STOP);
    assert_int_equal(m.max_throttle, PRECOPY_THROTTLE_MAX);
    assert_non_null(strstr(m.last.why, "95 % of its CPU throttled"));
}

/* A fixed part over the target: no throttle could help; said at once. */
static void test_fixed_over_target(void **state)
{
    struct precopy_params p;
    struct model m = { .rate = 100, .link = 100e6, .wss = 1000,
                       .pages = 32768, .throttle_allowed = true };

    (void)state;
    precopy_params_default(&p);
    p.max_downtime_ms = 100;
    p.fixed_ms = 120;
    assert_int_equal(model_run(&m, &p), PRECOPY_STOP);
    assert_int_equal(m.rounds, 2);
    assert_int_equal(m.max_throttle, 0);
    assert_non_null(strstr(m.last.why, "fixed part of the downtime (120 ms) "
                                       "is over the target: stopped with"));
    /* Within the target, though over the aim: good enough. */
    p.fixed_ms = 90;
    assert_int_equal(model_run(&m, &p), PRECOPY_STOP);
    assert_int_equal(m.rounds, 2);
    assert_string_equal(m.last.why, "");
    /* abort says why it cannot be met. */
    p.fixed_ms = 120;
    p.converge = PRECOPY_CONVERGE_ABORT;
    assert_int_equal(model_run(&m, &p), PRECOPY_ABORT);
    assert_non_null(strstr(m.last.why, "fixed cost of 120 ms alone"));
}

static void test_throttle_not_allowed_forces(void **state)
{
    struct precopy_params p;
    struct model m = fast_guest();

    (void)state;
    m.throttle_allowed = false;
    precopy_params_default(&p);
    assert_int_equal(model_run(&m, &p), PRECOPY_STOP);
    assert_int_equal(m.max_throttle, 0);
    assert_non_null(strstr(m.last.why, "no cap"));
}

static void test_abort_names_rates(void **state)
{
    struct precopy_params p;
    struct model m = fast_guest();

    (void)state;
    precopy_params_default(&p);
    p.converge = PRECOPY_CONVERGE_ABORT;
    assert_int_equal(model_run(&m, &p), PRECOPY_ABORT);
    /* The working set saturates: what it dirties is at most the link. */
    assert_non_null(strstr(m.last.why, "dirties 50.0 MB/s"));
    assert_non_null(strstr(m.last.why, "link carries 50.0 MB/s"));
    assert_non_null(strstr(m.last.why, "300 ms needs about"));
    /* Only the fixed cost over the target: said so. */
    m = fast_guest();
    p.max_downtime_ms = 50;
    p.fixed_ms = 80;
    assert_int_equal(model_run(&m, &p), PRECOPY_ABORT);
    assert_non_null(strstr(m.last.why, "fixed cost of 80 ms"));
}

static void test_limits(void **state)
{
    struct precopy_params p;
    struct precopy_report r;
    struct precopy pc;
    unsigned i;

    (void)state;
    /* max_rounds 3: a guest whose prediction falls but slowly. */
    precopy_params_default(&p);
    p.max_rounds = 3;
    p.converge = PRECOPY_CONVERGE_FORCE;
    precopy_init(&pc, &p, true, 0);
    for (i = 1; i <= 3; i++) {
        precopy_before(&pc, 100000 / i, i);
        if (precopy_after(&pc, 100000 / i * 4096 / 10, i + 0.5, &r) !=
            PRECOPY_CONTINUE)
            break;
    }
    assert_int_equal(i, 3);
    assert_int_equal(r.action, PRECOPY_STOP);
    assert_non_null(strstr(r.why, "not converged in 3 live rounds"));

    /* max_time 2 s with abort: the limit aborts. */
    p.max_rounds = 30;
    p.max_time_s = 2;
    p.converge = PRECOPY_CONVERGE_ABORT;
    precopy_init(&pc, &p, true, 10);
    precopy_before(&pc, 50000, 10);
    assert_int_equal(precopy_after(&pc, 50000ull * 4096, 11, &r),
                     PRECOPY_CONTINUE);
    precopy_before(&pc, 40000, 11);
    assert_int_equal(precopy_after(&pc, 40000ull * 4096, 12.5, &r),
                     PRECOPY_ABORT);
    assert_non_null(strstr(r.why, "not converged in 2 s"));
}

static void test_cap(void **state)
{
    (void)state;
    assert_int_equal(precopy_cap(0, 2, 0), 0);
    assert_int_equal(precopy_cap(0, 2, 50), 50);
    assert_int_equal(precopy_cap(20, 1, 0), 80);
    assert_int_equal(precopy_cap(20, 4, 0), 320);
    assert_int_equal(precopy_cap(20, 4, 100), 100);     /* never raised */
    assert_int_equal(precopy_cap(95, 1, 0), 5);
    assert_int_equal(precopy_cap(100, 1, 0), 1);        /* 0 is no cap */
    assert_int_equal(precopy_cap(20, 0, 0), 80);
}

static void test_params_codec(void **state)
{
    static const char *const bad[] = {
        "", "downtime=300", "downtime=0 converge=force rounds=1 time=0 "
        "fixed=0", "downtime=300 converge=force rounds=0 time=0 fixed=0",
        "downtime=300 converge=slow rounds=1 time=0 fixed=0",
        "downtime=300 converge=force rounds=1 time=0 fixed=0 ",
        "downtime=300 converge=force rounds=1 time=0 fixed=0 x=1",
        "downtime=300 converge=force rounds=1 time=0 fixed=0 fixed=1",
        "converge=force downtime=300 rounds=1 time=0 fixed=0",
        "downtime=-1 converge=force rounds=1 time=0 fixed=0",
        "downtime=3600001 converge=force rounds=1 time=0 fixed=0",
        "downtime=99999999999999999999999 converge=force rounds=1 time=0 "
        "fixed=0",
        "downtime=300 converge=force rounds=1001 time=0 fixed=0",
        "downtime=300 converge=force rounds=1 time=86401 fixed=0",
        "downtime=300 converge=force;rm rounds=1 time=0 fixed=0",
        "downtime=300  converge=force rounds=1 time=0 fixed=0",
        "downtime=300\nconverge=force rounds=1 time=0 fixed=0",
        "downtime=300 converge=forceforceforceforce rounds=1 time=0 fixed=0",
    };
    struct precopy_params p, q;
    char out[PRECOPY_PARAMS_TEXT_MAX];
    size_t i;

    (void)state;
    precopy_params_default(&p);
    assert_int_equal(precopy_params_format(&p, out, sizeof(out)), 0);
    assert_string_equal(out, "downtime=300 converge=throttle rounds=30 "
                        "time=0 fixed=100");
    p.max_downtime_ms = 1;
    p.converge = PRECOPY_CONVERGE_ABORT;
    p.max_rounds = 1000;
    p.max_time_s = 86400;
    p.fixed_ms = 0;
    assert_int_equal(precopy_params_format(&p, out, sizeof(out)), 0);
    assert_int_equal(precopy_params_parse(out, &q), 0);
    assert_memory_equal(&p, &q, sizeof(p));
    assert_int_equal(precopy_params_format(&p, out, 10), -1);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (precopy_params_parse(bad[i], &q) != -1)
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(q.max_downtime_ms, PRECOPY_MAX_DOWNTIME_MS_DEFAULT);
    }
}

static void test_report_codec(void **state)
{
    static const char *const bad[] = {
        "",
        "round=1 pages=2 round_ms=3 rate=4 dirty_rate=5 predicted_ms=6 "
        "throttle=7 action=stop",
        "round=1 pages=2 round_ms=3 rate=4 dirty_rate=5 predicted_ms=6 "
        "throttle=101 action=stop why=",
        "round=1 pages=2 round_ms=3 rate=4 dirty_rate=5 predicted_ms=6 "
        "throttle=7 action=explode why=",
        "round=1 pages=2 round_ms=3 rate=4 dirty_rate=5 predicted_ms=-2 "
        "throttle=7 action=stop why=",
        "pages=2 round=1 round_ms=3 rate=4 dirty_rate=5 predicted_ms=6 "
        "throttle=7 action=stop why=",
        "round=1 pages=2 round_ms=3 rate=4 dirty_rate=5 predicted_ms=6 "
        "throttle=7 action=stop why=a\nb",
        "round=1 pages=2 round_ms=3 rate=4 dirty_rate=5 predicted_ms=6 "
        "throttle=7 action=stop why=\x1b[2J",
        "round=1 pages=2 round_ms=3 rate=4 dirty_rate=5 predicted_ms=6 "
        "throttle=7 action=stop why=\xc3\xa9",
        "round=99999999999 pages=2 round_ms=3 rate=4 dirty_rate=5 "
        "predicted_ms=6 throttle=7 action=stop why=",
    };
    struct precopy_report r, q;
    char out[PRECOPY_REPORT_TEXT_MAX], big[600];
    size_t i;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.round = 4;
    r.dirty_pages = 1234;
    r.round_s = 0.812;
    r.link_rate = 52428800;
    r.dirty_rate = 1500;
    r.predicted_ms = 240;
    r.throttle = 30;
    r.action = PRECOPY_STOP;
    strcpy(r.why, "not converging (round 4) with 30 % of its CPU throttled");
    assert_int_equal(precopy_report_format(&r, out, sizeof(out)), 0);
    assert_int_equal(precopy_report_parse(out, &q), 0);
    assert_int_equal(q.round, 4);
    assert_int_equal(q.dirty_pages, 1234);
    assert_true(q.round_s > 0.811 && q.round_s < 0.813);
    assert_true(q.predicted_ms == 240);
    assert_int_equal(q.throttle, 30);
    assert_int_equal(q.action, PRECOPY_STOP);
    assert_string_equal(q.why, r.why);
    r.predicted_ms = -1;
    assert_int_equal(precopy_report_format(&r, out, sizeof(out)), 0);
    assert_int_equal(precopy_report_parse(out, &q), 0);
    assert_true(q.predicted_ms < 0);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (precopy_report_parse(bad[i], &q) != -1)
            fail_msg("accepted: %s", bad[i]);
    /* A why longer than a report holds. */
    snprintf(big, sizeof(big), "round=1 pages=2 round_ms=3 rate=4 "
             "dirty_rate=5 predicted_ms=6 throttle=7 action=stop why=");
    memset(big + strlen(big), 'x', 300);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(precopy_report_parse(big, &q), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_stops_after_round_2),
        cmocka_unit_test(test_recorded_lab_abort),
        cmocka_unit_test(test_recorded_stalling),
        cmocka_unit_test(test_recorded_converging),
        cmocka_unit_test(test_converges_geometrically),
        cmocka_unit_test(test_force_stops_at_stall),
        cmocka_unit_test(test_throttle_meets_target),
        cmocka_unit_test(test_throttle_gives_up_at_max),
        cmocka_unit_test(test_fixed_over_target),
        cmocka_unit_test(test_throttle_not_allowed_forces),
        cmocka_unit_test(test_abort_names_rates),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_params_codec),
        cmocka_unit_test(test_report_codec),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
