/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-stream.c - unit tests of stream.c: synthetic HVM and PV streams made
 * with the encoder are parsed in many chunkings; malformed variants must
 * fail with the right code and a reason naming the offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "stream.h"

#define TEST_STREAM_MAX     (16u << 20)
#define TEST_EVENTS_MAX     64
#define TEST_ERR_MAX        256

/* Offsets in every stream test_stream_head() starts. */
#define TEST_OFF_LIBXL_OPT  12
#define TEST_OFF_LIBXC_CTX  16
#define TEST_OFF_IHDR       24
#define TEST_OFF_IHDR_VER   36
#define TEST_OFF_IHDR_OPT   40
#define TEST_OFF_DHDR       48
#define TEST_OFF_REC1       64      /* first libxc record */
#define TEST_OFF_REC2       72      /* after STATIC_DATA_END */

#define TEST_PFN(type, pfn) \
    ((uint64_t)(type) << STREAM_PFN_TYPE_SHIFT | (uint64_t)(pfn))
#define TEST_XTAB(pfn)      TEST_PFN(STREAM_PFN_TYPE_XTAB, pfn)

/* A stream being built, and what the parser should report for it. */
struct test_stream {
    struct buf *b;
    uint64_t pfns, pages, page_bytes;
    uint64_t libxl_recs[STREAM_LIBXL_NR_TYPES + 1];
    uint64_t libxc_recs[STREAM_LIBXC_NR_TYPES + 1];
};

/* What one parse saw. */
struct test_stream_run {
    int feed_rc, finish_rc;
    size_t used;
    struct stream_stats st;
    char err[TEST_ERR_MAX];
    unsigned nev;
    enum stream_event ev[TEST_EVENTS_MAX];
    struct stream_stats ev_st[TEST_EVENTS_MAX];
};

static const uint8_t test_stream_blob[64] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
    33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
    49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64,
};

static void test_stream_init(struct test_stream *ts)
{
    memset(ts, 0, sizeof(*ts));
    ts->b = buf_new(TEST_STREAM_MAX);
}

static void test_stream_dispose(struct test_stream *ts)
{
    buf_free(ts->b);
    ts->b = NULL;
}

static void test_stream_libxl(struct test_stream *ts, uint32_t type,
                              const void *body, uint32_t len)
{
    assert_int_equal(stream_put_libxl_rec(ts->b, type, body, len), XLMIG_OK);
    ts->libxl_recs[type < STREAM_LIBXL_NR_TYPES ?
                   type : STREAM_LIBXL_NR_TYPES]++;
}

static void test_stream_libxc(struct test_stream *ts, uint32_t type,
                              const void *body, uint32_t len)
{
    assert_int_equal(stream_put_libxc_rec(ts->b, type, body, len), XLMIG_OK);
    ts->libxc_recs[type < STREAM_LIBXC_NR_TYPES ?
                   type : STREAM_LIBXC_NR_TYPES]++;
}

static bool test_stream_has_data(uint64_t pfn)
{
    unsigned type = (unsigned)(pfn >> STREAM_PFN_TYPE_SHIFT);

    return type != STREAM_PFN_TYPE_BROKEN &&
           type != STREAM_PFN_TYPE_XALLOC && type != STREAM_PFN_TYPE_XTAB;
}

/* PAGE_DATA whose pages are filled with the low byte of their pfn. */
static void test_stream_pages(struct test_stream *ts, const uint64_t *pfns,
                              uint32_t count)
{
    uint8_t *pages = xcalloc(count, STREAM_PAGE_SIZE);
    uint32_t i, n = 0;

    for (i = 0; i < count; i++) {
        if (!test_stream_has_data(pfns[i])) continue;
        memset(pages + (size_t)n * STREAM_PAGE_SIZE, (int)(pfns[i] & 0xff),
               STREAM_PAGE_SIZE);
        n++;
    }
    assert_int_equal(stream_put_page_data(ts->b, pfns, count, pages),
                     XLMIG_OK);
    free(pages);
    ts->pfns += count;
    ts->pages += n;
    ts->page_bytes += 16 + 8 * count + (uint64_t)n * STREAM_PAGE_SIZE;
    ts->libxc_recs[STREAM_LIBXC_PAGE_DATA]++;
}

/* libxl header, LIBXC_CONTEXT and the libxc headers: 64 bytes. */
static void test_stream_head(struct test_stream *ts, uint32_t guest_type)
{
    assert_int_equal(stream_put_libxl_hdr(ts->b), XLMIG_OK);
    test_stream_libxl(ts, STREAM_LIBXL_LIBXC_CONTEXT, NULL, 0);
    assert_int_equal(stream_put_libxc_hdrs(ts->b, guest_type, 4, 17),
                     XLMIG_OK);
    assert_int_equal(buf_len(ts->b), TEST_OFF_REC1);
}

/* test_stream_head() and STATIC_DATA_END: 72 bytes. */
static void test_stream_min_head(struct test_stream *ts, uint32_t guest_type)
{
    test_stream_head(ts, guest_type);
    test_stream_libxc(ts, STREAM_LIBXC_STATIC_DATA_END, NULL, 0);
}

static void test_stream_tail(struct test_stream *ts)
{
    test_stream_libxc(ts, STREAM_LIBXC_END, NULL, 0);
    test_stream_libxl(ts, STREAM_LIBXL_END, NULL, 0);
}

/*
 * What 4.17 sends for HVM: static data, three rounds of pages (each later
 * round starts at or below where the previous record ended), the end of
 * checkpoint records, then the emulator records. Rounds: 3.
 */
static void test_stream_build_hvm(struct test_stream *ts)
{
    static const uint64_t r1a[] = { 0, 1, 2, TEST_XTAB(3), 4 };
    static const uint64_t r1b[] = {
        5, 6, TEST_PFN(STREAM_PFN_TYPE_XALLOC, 7), 8, 9,
    };
    static const uint64_t r1c[] = { 10, 11 };
    static const uint64_t r2a[] = { 1, 4, 9 };
    static const uint64_t r2b[] = { 10 };
    static const uint64_t r3[] = { 0, TEST_XTAB(5) };

    test_stream_head(ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(ts, STREAM_LIBXC_X86_CPUID_POLICY, test_stream_blob,
                      48);
    test_stream_libxc(ts, STREAM_LIBXC_X86_MSR_POLICY, test_stream_blob, 16);
    test_stream_libxc(ts, STREAM_LIBXC_STATIC_DATA_END, NULL, 0);
    test_stream_pages(ts, r1a, ARRAY_SIZE(r1a));
    test_stream_pages(ts, r1b, ARRAY_SIZE(r1b));
    test_stream_pages(ts, r1c, ARRAY_SIZE(r1c));
    test_stream_pages(ts, r2a, ARRAY_SIZE(r2a));
    test_stream_pages(ts, r2b, ARRAY_SIZE(r2b));
    test_stream_pages(ts, r3, ARRAY_SIZE(r3));
    test_stream_libxc(ts, STREAM_LIBXC_X86_TSC_INFO, test_stream_blob, 24);
    test_stream_libxc(ts, STREAM_LIBXC_HVM_CONTEXT, test_stream_blob, 37);
    test_stream_libxc(ts, STREAM_LIBXC_HVM_PARAMS, test_stream_blob, 40);
    test_stream_libxc(ts, STREAM_LIBXC_END, NULL, 0);
    test_stream_libxl(ts, STREAM_LIBXL_EMULATOR_XENSTORE_DATA,
                      test_stream_blob, 21);
    test_stream_libxl(ts, STREAM_LIBXL_EMULATOR_CONTEXT, test_stream_blob,
                      58);
    test_stream_libxl(ts, STREAM_LIBXL_END, NULL, 0);
}

/* A PV stream: PV info, p2m frames, page tables, per-vCPU state. Rounds: 2. */
static void test_stream_build_pv(struct test_stream *ts)
{
    static const uint64_t r1a[] = {
        TEST_PFN(0x1, 0x10), TEST_PFN(0xa, 0x11), TEST_XTAB(0x12),
        TEST_PFN(0xc, 0x13),
    };
    static const uint64_t r1b[] = {
        0x20, TEST_PFN(STREAM_PFN_TYPE_BROKEN, 0x21),
    };
    static const uint64_t r2[] = { TEST_PFN(0x9, 0x11) };

    test_stream_head(ts, STREAM_DHDR_TYPE_X86_PV);
    test_stream_libxc(ts, STREAM_LIBXC_X86_PV_INFO, test_stream_blob, 8);
    test_stream_libxc(ts, STREAM_LIBXC_X86_CPUID_POLICY, test_stream_blob,
                      48);
    test_stream_libxc(ts, STREAM_LIBXC_X86_MSR_POLICY, test_stream_blob, 16);
    test_stream_libxc(ts, STREAM_LIBXC_STATIC_DATA_END, NULL, 0);
    test_stream_libxc(ts, STREAM_LIBXC_X86_PV_P2M_FRAMES, test_stream_blob,
                      24);
    test_stream_pages(ts, r1a, ARRAY_SIZE(r1a));
    test_stream_pages(ts, r1b, ARRAY_SIZE(r1b));
    test_stream_pages(ts, r2, ARRAY_SIZE(r2));
    test_stream_libxc(ts, STREAM_LIBXC_X86_TSC_INFO, test_stream_blob, 24);
    test_stream_libxc(ts, STREAM_LIBXC_SHARED_INFO, test_stream_blob, 64);
    test_stream_libxc(ts, STREAM_LIBXC_X86_PV_VCPU_BASIC, test_stream_blob,
                      32);
    test_stream_libxc(ts, STREAM_LIBXC_X86_PV_VCPU_EXTENDED,
                      test_stream_blob, 16);
    test_stream_libxc(ts, STREAM_LIBXC_X86_PV_VCPU_XSAVE, test_stream_blob,
                      27);
    test_stream_libxc(ts, STREAM_LIBXC_X86_PV_VCPU_MSRS, test_stream_blob,
                      24);
    test_stream_tail(ts);
}

/*
 * Every kind of record of the HVM stream, and unknown optional ones, but a
 * single page of data: small enough to mutate at every byte.
 */
static void test_stream_build_compact(struct test_stream *ts)
{
    static const uint64_t r1a[] = { TEST_XTAB(0), 1, TEST_XTAB(2) };
    static const uint64_t r1b[] = { TEST_XTAB(5), TEST_XTAB(6) };
    static const uint64_t r2[] = {
        TEST_XTAB(1), TEST_PFN(STREAM_PFN_TYPE_XALLOC, 4),
    };
    static const uint64_t r3[] = { TEST_PFN(STREAM_PFN_TYPE_BROKEN, 0) };

    test_stream_head(ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(ts, STREAM_LIBXC_X86_CPUID_POLICY, test_stream_blob,
                      48);
    test_stream_libxc(ts, STREAM_LIBXC_X86_MSR_POLICY, test_stream_blob, 16);
    test_stream_libxc(ts, STREAM_LIBXC_STATIC_DATA_END, NULL, 0);
    test_stream_pages(ts, r1a, ARRAY_SIZE(r1a));
    test_stream_libxc(ts, STREAM_REC_OPTIONAL | 0x99, test_stream_blob, 11);
    test_stream_pages(ts, r1b, ARRAY_SIZE(r1b));
    test_stream_pages(ts, r2, ARRAY_SIZE(r2));
    test_stream_pages(ts, r3, ARRAY_SIZE(r3));
    test_stream_libxc(ts, STREAM_LIBXC_X86_TSC_INFO, test_stream_blob, 24);
    test_stream_libxc(ts, STREAM_LIBXC_HVM_CONTEXT, test_stream_blob, 37);
    test_stream_libxc(ts, STREAM_LIBXC_HVM_PARAMS, test_stream_blob, 40);
    test_stream_libxc(ts, STREAM_LIBXC_END, NULL, 0);
    test_stream_libxl(ts, STREAM_LIBXL_EMULATOR_XENSTORE_DATA,
                      test_stream_blob, 21);
    test_stream_libxl(ts, STREAM_REC_OPTIONAL | 0x99, test_stream_blob, 5);
    test_stream_libxl(ts, STREAM_LIBXL_EMULATOR_CONTEXT, test_stream_blob,
                      58);
    test_stream_libxl(ts, STREAM_LIBXL_END, NULL, 0);
}

/* A heap copy of the stream built so far, to patch. */
static uint8_t *test_stream_copy(const struct test_stream *ts, size_t *len_r)
{
    uint8_t *d = xmalloc(buf_len(ts->b));

    memcpy(d, buf_ptr(ts->b), buf_len(ts->b));
    *len_r = buf_len(ts->b);
    return d;
}

static void test_stream_poke_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void test_stream_on_event(void *arg, enum stream_event ev,
                                 const struct stream_stats *st)
{
    struct test_stream_run *run = arg;

    assert_true(run->nev < TEST_EVENTS_MAX);
    run->ev[run->nev] = ev;
    run->ev_st[run->nev] = *st;
    run->nev++;
}

/*
 * Parses len bytes fed in chunks of chunk bytes (0: a varying pattern),
 * then calls stream_finish(). A chunk shorter than the input is copied to
 * its own allocation so that ASan and valgrind catch a read past it.
 */
static void test_stream_parse(const uint8_t *d, size_t len, size_t chunk,
                              struct test_stream_run *run)
{
    struct stream *s = stream_new(test_stream_on_event, run);
    size_t pos = 0, n, used, turn = 0;
    uint8_t *c;

    /* The event arrays are only read up to nev. */
    memset(run, 0, offsetof(struct test_stream_run, ev));
    while (pos < len) {
        n = chunk ? chunk : 1 + (turn++ * 37) % 600;
        if (n > len - pos) n = len - pos;
        if (n < len) {
            c = xmalloc(n);
            memcpy(c, d + pos, n);
            run->feed_rc = stream_feed(s, c, n, &used);
            free(c);
        } else {
            run->feed_rc = stream_feed(s, d, n, &used);
        }
        assert_true(used <= n);
        pos += used;
        if (run->feed_rc || used < n) break;
    }
    run->used = pos;
    run->finish_rc = stream_finish(s);
    run->st = *stream_get_stats(s);
    assert_int_equal(stream_done(s), run->st.done);
    if (stream_error(s))
        snprintf(run->err, sizeof(run->err), "%s", stream_error(s));
    if (run->feed_rc) {
        /* Sticky: later calls return the same code and consume nothing. */
        assert_int_equal(stream_feed(s, d, len, &used), run->feed_rc);
        assert_int_equal(used, 0);
        assert_int_equal(run->finish_rc, run->feed_rc);
    }
    stream_free(s);
}

static void test_stream_same_stats(const struct stream_stats *a,
                                   const struct stream_stats *b)
{
    unsigned i;

    assert_int_equal(a->bytes, b->bytes);
    for (i = 0; i < ARRAY_SIZE(a->libxl_recs); i++)
        assert_int_equal(a->libxl_recs[i], b->libxl_recs[i]);
    for (i = 0; i < ARRAY_SIZE(a->libxc_recs); i++)
        assert_int_equal(a->libxc_recs[i], b->libxc_recs[i]);
    assert_int_equal(a->pfns, b->pfns);
    assert_int_equal(a->pages, b->pages);
    assert_int_equal(a->page_bytes, b->page_bytes);
    assert_int_equal(a->rounds, b->rounds);
    assert_int_equal(a->round_pages, b->round_pages);
    assert_int_equal(a->last_round_pages, b->last_round_pages);
    assert_int_equal(a->guest_type, b->guest_type);
    assert_int_equal(a->xen_major, b->xen_major);
    assert_int_equal(a->xen_minor, b->xen_minor);
    assert_int_equal(a->end_of_memory, b->end_of_memory);
    assert_int_equal(a->done, b->done);
}

static void test_stream_same_run(const struct test_stream_run *a,
                                 const struct test_stream_run *b)
{
    unsigned i;

    assert_int_equal(a->feed_rc, b->feed_rc);
    assert_int_equal(a->finish_rc, b->finish_rc);
    assert_int_equal(a->used, b->used);
    assert_string_equal(a->err, b->err);
    test_stream_same_stats(&a->st, &b->st);
    assert_int_equal(a->nev, b->nev);
    for (i = 0; i < a->nev; i++) {
        assert_int_equal(a->ev[i], b->ev[i]);
        test_stream_same_stats(&a->ev_st[i], &b->ev_st[i]);
    }
}

/* The parse of a complete stream matches what the builder put in it. */
static void test_stream_check_complete(const struct test_stream *ts,
                                       const struct test_stream_run *run)
{
    unsigned i;

    assert_int_equal(run->feed_rc, XLMIG_OK);
    assert_int_equal(run->finish_rc, XLMIG_OK);
    assert_string_equal(run->err, "");
    assert_int_equal(run->used, buf_len(ts->b));
    assert_int_equal(run->st.bytes, buf_len(ts->b));
    assert_true(run->st.done);
    assert_true(run->st.end_of_memory);
    assert_int_equal(run->st.pfns, ts->pfns);
    assert_int_equal(run->st.pages, ts->pages);
    assert_int_equal(run->st.page_bytes, ts->page_bytes);
    assert_int_equal(run->st.xen_major, 4);
    assert_int_equal(run->st.xen_minor, 17);
    for (i = 0; i < ARRAY_SIZE(ts->libxl_recs); i++)
        assert_int_equal(run->st.libxl_recs[i], ts->libxl_recs[i]);
    for (i = 0; i < ARRAY_SIZE(ts->libxc_recs); i++)
        assert_int_equal(run->st.libxc_recs[i], ts->libxc_recs[i]);
}

/* Parses a complete stream in one chunk and checks it against ts. */
static void test_stream_expect_ok(const struct test_stream *ts,
                                  struct test_stream_run *run)
{
    test_stream_parse(buf_ptr(ts->b), buf_len(ts->b), buf_len(ts->b), run);
    test_stream_check_complete(ts, run);
}

/*
 * Every chunking fails alike with rc, and the reason starts with
 * "offset OFF: " and contains needle.
 */
static void test_stream_expect_error(const uint8_t *d, size_t len, int rc,
                                     uint64_t off, const char *needle)
{
    static const size_t chunks[] = { 1, 7, 4096, 0 };
    struct test_stream_run *whole = xmalloc(sizeof(*whole));
    struct test_stream_run *run = xmalloc(sizeof(*run));
    char prefix[64];
    unsigned i;

    test_stream_parse(d, len, len, whole);
    assert_int_equal(whole->feed_rc, rc);
    snprintf(prefix, sizeof(prefix), "offset %" PRIu64 ": ", off);
    if (strncmp(whole->err, prefix, strlen(prefix)) ||
        !strstr(whole->err, needle))
        fail_msg("want \"%s...%s\", got \"%s\"", prefix, needle, whole->err);
    for (i = 0; i < ARRAY_SIZE(chunks); i++) {
        test_stream_parse(d, len, chunks[i], run);
        test_stream_same_run(whole, run);
    }
    free(run);
    free(whole);
}

/* test_stream_expect_error() on the stream built in ts. */
static void test_stream_expect_buf_error(const struct test_stream *ts,
                                         int rc, uint64_t off,
                                         const char *needle)
{
    test_stream_expect_error(buf_ptr(ts->b), buf_len(ts->b), rc, off,
                             needle);
}

/* Builds the HVM stream, sets the byte at off to v, expects the error. */
static void test_stream_expect_hvm_poke(size_t off, uint8_t v, int rc,
                                        uint64_t err_off, const char *why)
{
    struct test_stream ts;
    uint8_t *d;
    size_t len;

    test_stream_init(&ts);
    test_stream_build_hvm(&ts);
    d = test_stream_copy(&ts, &len);
    d[off] = v;
    test_stream_expect_error(d, len, rc, err_off, why);
    free(d);
    test_stream_dispose(&ts);
}

static void test_hvm_stream_stats(void **state)
{
    struct test_stream_run run;
    struct test_stream ts;

    test_stream_init(&ts);
    test_stream_build_hvm(&ts);
    test_stream_expect_ok(&ts, &run);
    assert_int_equal(run.st.guest_type, STREAM_DHDR_TYPE_X86_HVM);
    assert_int_equal(run.st.rounds, 3);
    assert_int_equal(run.st.round_pages, 1);
    assert_int_equal(run.st.last_round_pages, 4);   /* round 2: 1 4 9 10 */
    assert_int_equal(run.st.pfns, 18);
    assert_int_equal(run.st.pages, 15);
    assert_int_equal(run.st.libxc_recs[STREAM_LIBXC_PAGE_DATA], 6);
    assert_int_equal(run.st.libxl_recs[STREAM_LIBXL_EMULATOR_CONTEXT], 1);
    test_stream_dispose(&ts);
}

static void test_pv_stream_stats(void **state)
{
    struct test_stream_run run;
    struct test_stream ts;

    test_stream_init(&ts);
    test_stream_build_pv(&ts);
    test_stream_expect_ok(&ts, &run);
    assert_int_equal(run.st.guest_type, STREAM_DHDR_TYPE_X86_PV);
    assert_int_equal(run.st.rounds, 2);
    assert_int_equal(run.st.round_pages, 1);
    assert_int_equal(run.st.pfns, 7);
    assert_int_equal(run.st.pages, 5);
    assert_int_equal(run.st.libxc_recs[STREAM_LIBXC_X86_PV_VCPU_BASIC], 1);
    assert_int_equal(run.st.libxl_recs[STREAM_LIBXL_EMULATOR_CONTEXT], 0);
    test_stream_dispose(&ts);
}

static void test_events_in_stream_order(void **state)
{
    static const enum stream_event want[] = {
        STREAM_EV_ROUND, STREAM_EV_ROUND, STREAM_EV_ROUND,
        STREAM_EV_END_OF_MEMORY, STREAM_EV_LIBXC_END, STREAM_EV_END,
    };
    static const uint64_t pages_before[] = { 0, 10, 14 };
    static const uint64_t last_round[] = { 0, 10, 4 };
    struct test_stream_run run;
    struct test_stream ts;
    unsigned i;

    test_stream_init(&ts);
    test_stream_build_hvm(&ts);
    test_stream_expect_ok(&ts, &run);
    assert_int_equal(run.nev, ARRAY_SIZE(want));
    for (i = 0; i < ARRAY_SIZE(want); i++)
        assert_int_equal(run.ev[i], want[i]);
    /* ROUND comes before the record that starts the round is counted. */
    for (i = 0; i < 3; i++) {
        assert_int_equal(run.ev_st[i].rounds, i + 1);
        assert_int_equal(run.ev_st[i].round_pages, 0);
        assert_int_equal(run.ev_st[i].pages, pages_before[i]);
        assert_int_equal(run.ev_st[i].last_round_pages, last_round[i]);
    }
    assert_false(run.ev_st[2].end_of_memory);
    assert_true(run.ev_st[3].end_of_memory);
    assert_int_equal(run.ev_st[3].libxc_recs[STREAM_LIBXC_X86_TSC_INFO], 1);
    assert_int_equal(run.ev_st[3].pages, 15);
    assert_int_equal(run.ev_st[4].libxc_recs[STREAM_LIBXC_END], 1);
    assert_false(run.ev_st[4].done);
    assert_true(run.ev_st[5].done);
    assert_int_equal(run.ev_st[5].bytes, buf_len(ts.b));
    test_stream_dispose(&ts);
}

static void test_null_callback(void **state)
{
    struct test_stream ts;
    struct stream *s = stream_new(NULL, NULL);
    size_t used;

    test_stream_init(&ts);
    test_stream_build_hvm(&ts);
    assert_int_equal(stream_feed(s, buf_ptr(ts.b), buf_len(ts.b), &used),
                     XLMIG_OK);
    assert_int_equal(used, buf_len(ts.b));
    assert_int_equal(stream_finish(s), XLMIG_OK);
    assert_true(stream_done(s));
    assert_null(stream_error(s));
    stream_free(s);
    stream_free(NULL);
    test_stream_dispose(&ts);
}

static void test_chunkings_give_identical_results(void **state)
{
    static const size_t chunks[] = { 1, 7, 4096, 0 };
    struct test_stream_run *whole = xmalloc(sizeof(*whole));
    struct test_stream_run *run = xmalloc(sizeof(*run));
    struct test_stream ts;
    unsigned i, pv;

    for (pv = 0; pv < 2; pv++) {
        test_stream_init(&ts);
        if (pv)
            test_stream_build_pv(&ts);
        else
            test_stream_build_hvm(&ts);
        test_stream_expect_ok(&ts, whole);
        for (i = 0; i < ARRAY_SIZE(chunks); i++) {
            test_stream_parse(buf_ptr(ts.b), buf_len(ts.b), chunks[i], run);
            test_stream_same_run(whole, run);
        }
        test_stream_dispose(&ts);
    }
    free(run);
    free(whole);
}

static void test_trailing_bytes_not_consumed(void **state)
{
    static const char trailer[] = "GO: the xl protocol continues";
    static const size_t chunks[] = { 1, 7, 4096, 0 };
    struct test_stream_run run;
    struct test_stream ts;
    size_t len, used;
    struct stream *s;
    unsigned i;

    test_stream_init(&ts);
    test_stream_build_hvm(&ts);
    len = buf_len(ts.b);
    assert_int_equal(buf_put(ts.b, trailer, sizeof(trailer)), XLMIG_OK);
    for (i = 0; i < ARRAY_SIZE(chunks); i++) {
        test_stream_parse(buf_ptr(ts.b), buf_len(ts.b), chunks[i], &run);
        assert_int_equal(run.feed_rc, XLMIG_OK);
        assert_int_equal(run.finish_rc, XLMIG_OK);
        assert_int_equal(run.used, len);
        assert_int_equal(run.st.bytes, len);
    }

    s = stream_new(NULL, NULL);
    assert_int_equal(stream_feed(s, buf_ptr(ts.b), buf_len(ts.b), &used),
                     XLMIG_OK);
    assert_int_equal(used, len);
    assert_int_equal(stream_feed(s, trailer, sizeof(trailer), &used),
                     XLMIG_OK);
    assert_int_equal(used, 0);
    assert_int_equal(stream_get_stats(s)->bytes, len);
    assert_int_equal(stream_finish(s), XLMIG_OK);
    stream_free(s);
    test_stream_dispose(&ts);
}

/*
 * A reader that takes at most stream_want() bytes per read (the pump) gets
 * the whole stream and never a byte past the libxl END, and takes the pfn
 * list of a PAGE_DATA record in one piece rather than per pfn.
 */
static void test_want_never_reads_past_end(void **state)
{
    static const char trailer[] = "domain is yours";
    struct test_stream ts;
    const uint8_t *p;
    size_t len, pos = 0, want, used, reads = 0, max_want = 0;
    struct stream *s;

    (void)state;
    test_stream_init(&ts);
    test_stream_build_hvm(&ts);
    len = buf_len(ts.b);
    assert_int_equal(buf_put(ts.b, trailer, sizeof(trailer)), XLMIG_OK);
    p = buf_ptr(ts.b);
    s = stream_new(NULL, NULL);
    while ((want = stream_want(s)) > 0) {
        assert_true(pos + want <= len);
        if (want > max_want) max_want = want;
        assert_int_equal(stream_feed(s, p + pos, want, &used), XLMIG_OK);
        assert_int_equal(used, want);
        pos += want;
        reads++;
    }
    assert_true(stream_done(s));
    assert_int_equal(pos, len);
    assert_int_equal(stream_want(s), 0);
    assert_true(max_want >= 8 * 2);     /* pfn lists come whole */
    assert_true(reads < len / 8);
    assert_int_equal(stream_finish(s), XLMIG_OK);
    stream_free(s);

    s = stream_new(NULL, NULL);           /* an error stops the wanting */
    assert_int_equal(stream_feed(s, "NotLibxl........", 16, &used),
                     XLMIG_E_PROTO);
    assert_int_equal(stream_want(s), 0);
    stream_free(s);
    test_stream_dispose(&ts);
}

/* Body bytes moved by the caller (splice) are accounted by stream_skip. */
static void test_skip_accounts_body_bytes(void **state)
{
    struct test_stream ts;
    const uint8_t *p;
    size_t len, pos = 0, want, body, used;
    uint64_t skipped = 0;
    struct stream *s;

    (void)state;
    test_stream_init(&ts);
    test_stream_build_hvm(&ts);
    p = buf_ptr(ts.b);
    len = buf_len(ts.b);
    s = stream_new(NULL, NULL);
    assert_int_equal(stream_body_left(s), 0);
    assert_int_equal(stream_skip(s, 1), XLMIG_E_INTERNAL);
    while ((want = stream_want(s)) > 0) {
        body = stream_body_left(s);
        if (body) {
            assert_true(body <= want);
            assert_int_equal(stream_skip(s, body), XLMIG_OK);
            pos += body;
            skipped += body;
            continue;
        }
        assert_int_equal(stream_feed(s, p + pos, want, &used), XLMIG_OK);
        pos += used;
    }
    assert_true(stream_done(s));
    assert_int_equal(pos, len);
    assert_true(skipped >= ts.pages * STREAM_PAGE_SIZE);
    assert_int_equal(stream_get_stats(s)->bytes, len);
    assert_int_equal(stream_get_stats(s)->pages, ts.pages);
    stream_free(s);
    test_stream_dispose(&ts);
}

static void test_libxl_bad_ident(void **state)
{
    (void)state;
    test_stream_expect_hvm_poke(3, 'X', XLMIG_E_PROTO,
                                0, "bad libxl stream ident 0x4c6962586c466d74");
}

static void test_libxl_bad_version(void **state)
{
    (void)state;
    test_stream_expect_hvm_poke(11, 3, XLMIG_E_PROTO,
                                0, "unsupported libxl stream version 3");
}

static void test_libxl_big_endian_refused(void **state)
{
    struct test_stream ts;
    uint8_t *d;
    size_t len;

    test_stream_init(&ts);
    test_stream_build_hvm(&ts);
    d = test_stream_copy(&ts, &len);
    d[TEST_OFF_LIBXL_OPT + 3] = STREAM_LIBXL_OPT_BIGENDIAN;
    test_stream_expect_error(d, len, XLMIG_E_PROTO, 0, "big-endian");
    free(d);
    test_stream_dispose(&ts);
}

static void test_libxl_legacy_option_accepted(void **state)
{
    struct test_stream_run run;
    struct test_stream ts;
    uint8_t *d;
    size_t len;

    test_stream_init(&ts);
    test_stream_build_hvm(&ts);
    d = test_stream_copy(&ts, &len);
    d[TEST_OFF_LIBXL_OPT + 3] = STREAM_LIBXL_OPT_LEGACY;
    test_stream_parse(d, len, len, &run);
    test_stream_check_complete(&ts, &run);
    free(d);
    test_stream_dispose(&ts);
}

static void test_libxc_bad_marker(void **state)
{
    (void)state;
    test_stream_expect_hvm_poke(TEST_OFF_IHDR + 7, 0xfe, XLMIG_E_PROTO,
                                TEST_OFF_IHDR, "bad libxc image header marker");
}

static void test_libxc_bad_id(void **state)
{
    (void)state;
    test_stream_expect_hvm_poke(TEST_OFF_IHDR + 8, 'Y', XLMIG_E_PROTO,
                                TEST_OFF_IHDR, "bad libxc image header id 0x59454e46");
}

static void test_libxc_bad_version(void **state)
{
    struct test_stream ts;
    uint8_t *d;
    size_t len;

    test_stream_init(&ts);
    test_stream_build_hvm(&ts);
    d = test_stream_copy(&ts, &len);
    d[TEST_OFF_IHDR_VER + 3] = 4;
    test_stream_expect_error(d, len, XLMIG_E_PROTO, TEST_OFF_IHDR,
                             "unsupported libxc stream version 4");
    d[TEST_OFF_IHDR_VER + 3] = 1;
    test_stream_expect_error(d, len, XLMIG_E_PROTO, TEST_OFF_IHDR,
                             "unsupported libxc stream version 1");
    free(d);
    test_stream_dispose(&ts);
}

/* Version 2 streams have no STATIC_DATA_END; pages may come at once. */
static void test_libxc_version_2_accepted(void **state)
{
    static const uint64_t pfns[] = { 7 };
    struct test_stream_run run;
    struct test_stream ts;
    uint8_t *d;
    size_t len;

    test_stream_init(&ts);
    test_stream_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_pages(&ts, pfns, 1);
    test_stream_libxc(&ts, STREAM_LIBXC_X86_TSC_INFO, test_stream_blob, 24);
    test_stream_tail(&ts);
    d = test_stream_copy(&ts, &len);
    test_stream_expect_error(d, len, XLMIG_E_PROTO, TEST_OFF_REC1,
                             "PAGE_DATA record before STATIC_DATA_END");
    d[TEST_OFF_IHDR_VER + 3] = 2;
    test_stream_parse(d, len, len, &run);
    test_stream_check_complete(&ts, &run);
    assert_int_equal(run.st.rounds, 1);
    free(d);
    test_stream_dispose(&ts);
}

static void test_libxc_big_endian_refused(void **state)
{
    (void)state;
    test_stream_expect_hvm_poke(TEST_OFF_IHDR_OPT + 1, STREAM_LIBXC_OPT_BIGENDIAN, XLMIG_E_PROTO,
                                TEST_OFF_IHDR, "big-endian libxc streams");
}

static void test_page_shift_must_be_12(void **state)
{
    (void)state;
    test_stream_expect_hvm_poke(TEST_OFF_DHDR + 4, 16, XLMIG_E_PROTO,
                                TEST_OFF_DHDR, "unsupported page shift 16");
}

static void test_bad_guest_type(void **state)
{
    struct test_stream ts;
    uint8_t *d;
    size_t len;

    test_stream_init(&ts);
    test_stream_build_hvm(&ts);
    d = test_stream_copy(&ts, &len);
    d[TEST_OFF_DHDR] = 4;                   /* ARM */
    test_stream_expect_error(d, len, XLMIG_E_PROTO, TEST_OFF_DHDR,
                             "unsupported libxc domain type 4");
    free(d);
    test_stream_dispose(&ts);
}

static void test_guest_type_mismatch(void **state)
{
    struct test_stream ts;

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_PV);
    test_stream_libxc(&ts, STREAM_LIBXC_HVM_CONTEXT, test_stream_blob, 8);
    test_stream_tail(&ts);
    test_stream_expect_buf_error(&ts, XLMIG_E_PROTO, TEST_OFF_REC2,
                                 "libxc HVM_CONTEXT record in an x86 PV");
    test_stream_dispose(&ts);

    test_stream_init(&ts);
    test_stream_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(&ts, STREAM_LIBXC_X86_PV_INFO, test_stream_blob, 8);
    test_stream_tail(&ts);
    test_stream_expect_buf_error(&ts, XLMIG_E_PROTO, TEST_OFF_REC1,
                                 "libxc X86_PV_INFO record in an x86 HVM");
    test_stream_dispose(&ts);
}

static void test_unknown_mandatory_libxc_record(void **state)
{
    struct test_stream ts;

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(&ts, 0x42, test_stream_blob, 8);
    test_stream_tail(&ts);
    test_stream_expect_buf_error(&ts, XLMIG_E_PROTO, TEST_OFF_REC2,
                                 "unknown mandatory libxc record 0x00000042");
    test_stream_dispose(&ts);
}

static void test_unknown_mandatory_libxl_record(void **state)
{
    struct test_stream ts;

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(&ts, STREAM_LIBXC_END, NULL, 0);
    test_stream_libxl(&ts, STREAM_LIBXL_NR_TYPES, test_stream_blob, 8);
    test_stream_libxl(&ts, STREAM_LIBXL_END, NULL, 0);
    test_stream_expect_buf_error(&ts, XLMIG_E_PROTO, TEST_OFF_REC2 + 8,
                                 "unknown mandatory libxl record 0x00000006");
    test_stream_dispose(&ts);
}

static void test_unknown_optional_records_skipped(void **state)
{
    static const uint64_t pfns[] = { 1, 2 };
    struct test_stream_run run;
    struct test_stream ts;

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(&ts, STREAM_REC_OPTIONAL | 0x42, test_stream_blob, 13);
    test_stream_pages(&ts, pfns, ARRAY_SIZE(pfns));
    test_stream_libxc(&ts, STREAM_REC_OPTIONAL | STREAM_LIBXC_NR_TYPES,
                      test_stream_blob, 0);
    test_stream_libxc(&ts, STREAM_LIBXC_END, NULL, 0);
    test_stream_libxl(&ts, STREAM_REC_OPTIONAL | 0x77, test_stream_blob, 3);
    test_stream_libxl(&ts, STREAM_LIBXL_END, NULL, 0);
    test_stream_expect_ok(&ts, &run);
    assert_int_equal(run.st.libxc_recs[STREAM_LIBXC_NR_TYPES], 2);
    assert_int_equal(run.st.libxl_recs[STREAM_LIBXL_NR_TYPES], 1);
    test_stream_dispose(&ts);
}

/* Only the record header is needed to refuse an oversize length. */
static void test_oversize_record_is_toobig(void **state)
{
    struct test_stream ts;
    uint8_t *d;
    size_t len;

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(&ts, STREAM_LIBXC_HVM_CONTEXT, test_stream_blob, 8);
    d = test_stream_copy(&ts, &len);
    test_stream_poke_le32(d + TEST_OFF_REC2 + 4, STREAM_LIBXC_REC_MAX + 1);
    test_stream_expect_error(d, len, XLMIG_E_TOOBIG, TEST_OFF_REC2,
                             "libxc HVM_CONTEXT record of 134217729 bytes "
                             "is over the limit of 134217728");
    free(d);
    test_stream_dispose(&ts);

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(&ts, STREAM_LIBXC_END, NULL, 0);
    test_stream_libxl(&ts, STREAM_REC_OPTIONAL | 9, test_stream_blob, 8);
    d = test_stream_copy(&ts, &len);
    test_stream_poke_le32(d + TEST_OFF_REC2 + 12, UINT32_MAX);
    test_stream_expect_error(d, len, XLMIG_E_TOOBIG, TEST_OFF_REC2 + 8,
                             "libxl record 0x80000009 of 4294967295 bytes");
    free(d);
    test_stream_dispose(&ts);
}

/* At the limit the header passes; the stream then ends in the body. */
static void test_record_at_limit_accepted(void **state)
{
    struct test_stream_run run;
    struct test_stream ts;
    uint8_t *d;
    size_t len;

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(&ts, STREAM_LIBXC_HVM_CONTEXT, test_stream_blob, 8);
    d = test_stream_copy(&ts, &len);
    test_stream_poke_le32(d + TEST_OFF_REC2 + 4, STREAM_LIBXC_REC_MAX);
    test_stream_parse(d, len, len, &run);
    assert_int_equal(run.feed_rc, XLMIG_OK);
    assert_int_equal(run.finish_rc, XLMIG_E_TRUNC);
    assert_string_equal(run.err, "offset 88: stream ends inside libxc "
                        "HVM_CONTEXT record at offset 72");
    free(d);
    test_stream_dispose(&ts);
}

static void test_page_data_length_mismatch(void **state)
{
    static const uint64_t pfns[] = { 1, 2 };
    struct test_stream ts;
    uint8_t *d;
    size_t len;

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_pages(&ts, pfns, ARRAY_SIZE(pfns));
    test_stream_tail(&ts);
    d = test_stream_copy(&ts, &len);

    /* One page short: the pages of data no longer fit the length. */
    test_stream_poke_le32(d + TEST_OFF_REC2 + 4, 8 + 16 + 4096);
    test_stream_expect_error(d, len, XLMIG_E_PROTO, TEST_OFF_REC2,
                             "PAGE_DATA record of 4120 bytes with 2 pfns "
                             "(2 with data) should be 8216 bytes");

    /* Right length, but an XTAB pfn must not carry data. */
    test_stream_poke_le32(d + TEST_OFF_REC2 + 4, 8 + 16 + 8192);
    d[TEST_OFF_REC2 + 16 + 8 + 7] = STREAM_PFN_TYPE_XTAB << 4;
    test_stream_expect_error(d, len, XLMIG_E_PROTO, TEST_OFF_REC2,
                             "(1 with data) should be 4120 bytes");
    free(d);
    test_stream_dispose(&ts);
}

static void test_page_data_too_short(void **state)
{
    uint8_t body[40] = { 0 };
    struct test_stream ts;

    test_stream_poke_le32(body, 7);
    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(&ts, STREAM_LIBXC_PAGE_DATA, body, sizeof(body));
    test_stream_tail(&ts);
    test_stream_expect_buf_error(&ts, XLMIG_E_PROTO, TEST_OFF_REC2,
                                 "PAGE_DATA record of 40 bytes with 7 pfns "
                                 "is too short");
    test_stream_dispose(&ts);

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(&ts, STREAM_LIBXC_PAGE_DATA, body, 4);
    test_stream_tail(&ts);
    test_stream_expect_buf_error(&ts, XLMIG_E_PROTO, TEST_OFF_REC2,
                                 "PAGE_DATA record of 4 bytes is too short "
                                 "for its header");
    test_stream_dispose(&ts);
}

static void test_page_data_count_zero(void **state)
{
    uint8_t body[16] = { 0 };
    struct test_stream ts;

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(&ts, STREAM_LIBXC_PAGE_DATA, body, sizeof(body));
    test_stream_tail(&ts);
    test_stream_expect_buf_error(&ts, XLMIG_E_PROTO, TEST_OFF_REC2,
                                 "PAGE_DATA record has no pfns");
    test_stream_dispose(&ts);
}

static void test_page_data_unknown_page_type(void **state)
{
    static const uint64_t pfns[] = { 1, 2, TEST_PFN(0x5, 3) };
    struct test_stream ts;

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_pages(&ts, pfns, ARRAY_SIZE(pfns));
    test_stream_tail(&ts);
    test_stream_expect_buf_error(&ts, XLMIG_E_PROTO, TEST_OFF_REC2 + 32,
                                 "pfn 0x3 in libxc PAGE_DATA record at "
                                 "offset 72 has unknown page type 0x5");
    test_stream_dispose(&ts);
}

static void test_nonzero_padding_refused(void **state)
{
    struct test_stream ts;
    uint8_t *d;
    size_t len;

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(&ts, STREAM_LIBXC_X86_TSC_INFO, test_stream_blob, 5);
    test_stream_libxc(&ts, STREAM_LIBXC_END, NULL, 0);
    test_stream_libxl(&ts, STREAM_LIBXL_EMULATOR_CONTEXT, test_stream_blob,
                      9);
    test_stream_libxl(&ts, STREAM_LIBXL_END, NULL, 0);
    d = test_stream_copy(&ts, &len);

    d[TEST_OFF_REC2 + 8 + 6] = 0x80;
    test_stream_expect_error(d, len, XLMIG_E_PROTO, TEST_OFF_REC2 + 14,
                             "non-zero padding byte 0x80 after libxc "
                             "X86_TSC_INFO record at offset 72");
    d[TEST_OFF_REC2 + 8 + 6] = 0;
    d[TEST_OFF_REC2 + 24 + 8 + 15] = 1;
    test_stream_expect_error(d, len, XLMIG_E_PROTO, TEST_OFF_REC2 + 47,
                             "after libxl EMULATOR_CONTEXT record");
    free(d);
    test_stream_dispose(&ts);
}

static void test_checkpoint_records_refused(void **state)
{
    static const uint32_t libxc_types[] = {
        STREAM_LIBXC_CHECKPOINT, STREAM_LIBXC_CHECKPOINT_DIRTY_PFN_LIST,
    };
    static const uint32_t libxl_types[] = {
        STREAM_LIBXL_CHECKPOINT_END, STREAM_LIBXL_CHECKPOINT_STATE,
    };
    struct test_stream ts;
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(libxc_types); i++) {
        test_stream_init(&ts);
        test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
        test_stream_libxc(&ts, libxc_types[i], NULL, 0);
        test_stream_tail(&ts);
        test_stream_expect_buf_error(&ts, XLMIG_E_PROTO, TEST_OFF_REC2,
                                     "checkpointed streams are not "
                                     "supported");
        test_stream_dispose(&ts);
    }
    for (i = 0; i < ARRAY_SIZE(libxl_types); i++) {
        test_stream_init(&ts);
        test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
        test_stream_libxc(&ts, STREAM_LIBXC_END, NULL, 0);
        test_stream_libxl(&ts, libxl_types[i], NULL, 0);
        test_stream_libxl(&ts, STREAM_LIBXL_END, NULL, 0);
        test_stream_expect_buf_error(&ts, XLMIG_E_PROTO, TEST_OFF_REC2 + 8,
                                     "checkpointed streams are not "
                                     "supported");
        test_stream_dispose(&ts);
    }
}

static void test_second_libxc_context_refused(void **state)
{
    struct test_stream ts;

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(&ts, STREAM_LIBXC_END, NULL, 0);
    test_stream_libxl(&ts, STREAM_LIBXL_LIBXC_CONTEXT, NULL, 0);
    test_stream_expect_buf_error(&ts, XLMIG_E_PROTO, TEST_OFF_REC2 + 8,
                                 "second libxl LIBXC_CONTEXT record");
    test_stream_dispose(&ts);
}

static void test_libxl_end_before_libxc_refused(void **state)
{
    struct test_stream ts;

    test_stream_init(&ts);
    assert_int_equal(stream_put_libxl_hdr(ts.b), XLMIG_OK);
    test_stream_libxl(&ts, STREAM_LIBXL_END, NULL, 0);
    test_stream_expect_buf_error(&ts, XLMIG_E_PROTO, 16,
                                 "libxl END record before the libxc stream");
    test_stream_dispose(&ts);
}

static void test_empty_records_with_body_refused(void **state)
{
    static const uint32_t libxc_types[] = {
        STREAM_LIBXC_END, STREAM_LIBXC_VERIFY, STREAM_LIBXC_STATIC_DATA_END,
    };
    struct test_stream ts;
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(libxc_types); i++) {
        test_stream_init(&ts);
        test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
        test_stream_libxc(&ts, libxc_types[i], test_stream_blob, 8);
        test_stream_tail(&ts);
        test_stream_expect_buf_error(&ts, XLMIG_E_PROTO, TEST_OFF_REC2,
                                     "record of 8 bytes should be empty");
        test_stream_dispose(&ts);
    }

    test_stream_init(&ts);
    assert_int_equal(stream_put_libxl_hdr(ts.b), XLMIG_OK);
    test_stream_libxl(&ts, STREAM_LIBXL_LIBXC_CONTEXT, test_stream_blob, 1);
    test_stream_expect_buf_error(&ts, XLMIG_E_PROTO, 16,
                                 "libxl LIBXC_CONTEXT record of 1 bytes "
                                 "should be empty");
    test_stream_dispose(&ts);

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(&ts, STREAM_LIBXC_END, NULL, 0);
    test_stream_libxl(&ts, STREAM_LIBXL_END, test_stream_blob, 8);
    test_stream_expect_buf_error(&ts, XLMIG_E_PROTO, TEST_OFF_REC2 + 8,
                                 "libxl END record of 8 bytes should be "
                                 "empty");
    test_stream_dispose(&ts);
}

static void test_short_emulator_record_refused(void **state)
{
    struct test_stream ts;

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(&ts, STREAM_LIBXC_END, NULL, 0);
    test_stream_libxl(&ts, STREAM_LIBXL_EMULATOR_CONTEXT, test_stream_blob,
                      4);
    test_stream_libxl(&ts, STREAM_LIBXL_END, NULL, 0);
    test_stream_expect_buf_error(&ts, XLMIG_E_PROTO, TEST_OFF_REC2 + 8,
                                 "too short for its emulator header");
    test_stream_dispose(&ts);
}

/* Debug mode: VERIFY ends the memory, then every page comes again. */
static void test_verify_pass_is_a_new_round(void **state)
{
    static const uint64_t pfns[] = { 3, 4 };
    struct test_stream_run run;
    struct test_stream ts;

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_pages(&ts, pfns, ARRAY_SIZE(pfns));
    test_stream_libxc(&ts, STREAM_LIBXC_VERIFY, NULL, 0);
    test_stream_pages(&ts, pfns, ARRAY_SIZE(pfns));
    test_stream_libxc(&ts, STREAM_LIBXC_X86_TSC_INFO, test_stream_blob, 24);
    test_stream_tail(&ts);
    test_stream_expect_ok(&ts, &run);
    assert_int_equal(run.st.rounds, 2);
    assert_int_equal(run.nev, 5);
    assert_int_equal(run.ev[1], STREAM_EV_END_OF_MEMORY);
    assert_int_equal(run.ev_st[1].libxc_recs[STREAM_LIBXC_VERIFY], 1);
    assert_int_equal(run.ev[2], STREAM_EV_ROUND);
    test_stream_dispose(&ts);
}

static void test_round_heuristic(void **state)
{
    static const uint64_t a[] = { 5, 9 };
    static const uint64_t b[] = { 10, 12 };     /* ascends: same round */
    static const uint64_t c[] = { 12 };         /* equal: new round */
    static const uint64_t d[] = { TEST_XTAB(3) };  /* lower: new round */
    struct test_stream_run run;
    struct test_stream ts;

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_pages(&ts, a, ARRAY_SIZE(a));
    test_stream_pages(&ts, b, ARRAY_SIZE(b));
    test_stream_pages(&ts, c, ARRAY_SIZE(c));
    test_stream_pages(&ts, d, ARRAY_SIZE(d));
    test_stream_tail(&ts);
    test_stream_expect_ok(&ts, &run);
    assert_int_equal(run.st.rounds, 3);
    assert_int_equal(run.st.round_pages, 0);
    assert_int_equal(run.ev_st[1].pages, 4);
    assert_int_equal(run.ev_st[2].pages, 5);
    /* libxc END is the first record after the pages. */
    assert_int_equal(run.ev[3], STREAM_EV_END_OF_MEMORY);
    assert_int_equal(run.ev[4], STREAM_EV_LIBXC_END);
    test_stream_dispose(&ts);
}

static void test_truncation_named_at_every_cut(void **state)
{
    struct test_stream_run run;
    struct test_stream ts;
    char prefix[64];
    size_t cut;

    test_stream_init(&ts);
    test_stream_build_hvm(&ts);
    for (cut = 0; cut < buf_len(ts.b); cut++) {
        test_stream_parse(buf_ptr(ts.b), cut, cut, &run);
        assert_int_equal(run.feed_rc, XLMIG_OK);
        assert_int_equal(run.finish_rc, XLMIG_E_TRUNC);
        assert_int_equal(run.used, cut);
        assert_false(run.st.done);
        snprintf(prefix, sizeof(prefix), "offset %zu: stream ends ", cut);
        assert_memory_equal(run.err, prefix, strlen(prefix));
    }
    test_stream_dispose(&ts);
}

static void test_truncation_reasons(void **state)
{
    static const struct {
        size_t cut;
        const char *err;
    } cases[] = {
        { 0, "offset 0: stream ends inside the libxl header" },
        { 15, "offset 15: stream ends inside the libxl header" },
        { 16, "offset 16: stream ends before the libxl END record" },
        { 20, "offset 20: stream ends inside a libxl record header" },
        { 30, "offset 30: stream ends inside the libxc image header" },
        { 50, "offset 50: stream ends inside the libxc domain header" },
        { 64, "offset 64: stream ends before the libxc END record" },
        { 70, "offset 70: stream ends inside a libxc record header" },
        { 100, "offset 100: stream ends inside libxc X86_CPUID_POLICY "
               "record at offset 64" },
        { 150, "offset 150: stream ends inside a libxc record header" },
        /* First PAGE_DATA at 152: header, pfn list, page data. */
        { 166, "offset 166: stream ends inside libxc PAGE_DATA record at "
               "offset 152" },
        { 180, "offset 180: stream ends inside libxc PAGE_DATA record at "
               "offset 152" },
        { 5000, "offset 5000: stream ends inside libxc PAGE_DATA record at "
                "offset 152" },
    };
    struct test_stream_run run;
    struct test_stream ts;
    unsigned i;

    test_stream_init(&ts);
    test_stream_build_hvm(&ts);
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        test_stream_parse(buf_ptr(ts.b), cases[i].cut, 3, &run);
        assert_int_equal(run.finish_rc, XLMIG_E_TRUNC);
        assert_string_equal(run.err, cases[i].err);
    }
    /* Everything but the final libxl END. */
    test_stream_parse(buf_ptr(ts.b), buf_len(ts.b) - 8, 0, &run);
    assert_int_equal(run.finish_rc, XLMIG_E_TRUNC);
    assert_non_null(strstr(run.err, "before the libxl END record"));
    assert_true(run.st.end_of_memory);
    test_stream_dispose(&ts);
}

static void test_error_is_sticky(void **state)
{
    struct test_stream ts;
    struct stream *s;
    const char *err;
    uint8_t *d;
    size_t len, used;

    test_stream_init(&ts);
    test_stream_build_hvm(&ts);
    d = test_stream_copy(&ts, &len);
    d[0] = 0;
    s = stream_new(NULL, NULL);
    assert_int_equal(stream_feed(s, d, 20, &used), XLMIG_E_PROTO);
    assert_int_equal(used, 16);
    err = stream_error(s);
    assert_non_null(err);
    assert_int_equal(stream_feed(s, d + 16, len - 16, &used), XLMIG_E_PROTO);
    assert_int_equal(used, 0);
    assert_int_equal(stream_feed(s, d, 0, &used), XLMIG_E_PROTO);
    assert_int_equal(stream_finish(s), XLMIG_E_PROTO);
    assert_ptr_equal(stream_error(s), err);
    assert_int_equal(stream_get_stats(s)->bytes, 16);
    stream_free(s);

    /* A truncation found by stream_finish() sticks too. */
    s = stream_new(NULL, NULL);
    assert_int_equal(stream_feed(s, buf_ptr(ts.b), 10, &used), XLMIG_OK);
    assert_int_equal(stream_finish(s), XLMIG_E_TRUNC);
    assert_int_equal(stream_feed(s, buf_ptr(ts.b) + 10, 10, &used),
                     XLMIG_E_TRUNC);
    assert_int_equal(used, 0);
    assert_int_equal(stream_finish(s), XLMIG_E_TRUNC);
    stream_free(s);
    free(d);
    test_stream_dispose(&ts);
}

/* The encoder writes exactly the bytes the specs lay out. */
static void test_encoder_is_byte_exact(void **state)
{
    static const uint8_t want[] = {
        /* libxl header: "LibxlFmt", version 2, options 0 (big-endian) */
        'L', 'i', 'b', 'x', 'l', 'F', 'm', 't', 0, 0, 0, 2, 0, 0, 0, 0,
        /* LIBXC_CONTEXT, length 0 */
        1, 0, 0, 0, 0, 0, 0, 0,
        /* libxc image header: marker, "XENF", version 3, options 0 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        'X', 'E', 'N', 'F', 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0,
        /* domain header: HVM, page shift 12, Xen 4.17 */
        2, 0, 0, 0, 12, 0, 0, 0, 4, 0, 0, 0, 17, 0, 0, 0,
        /* X86_TSC_INFO of 3 bytes, padded to 8; STATIC_DATA_END */
        8, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0,
        16, 0, 0, 0, 0, 0, 0, 0,
        /* PAGE_DATA: one XTAB pfn 0x123, so no page */
        1, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
        0x23, 0x01, 0, 0, 0, 0, 0, 0xf0,
        /* libxc END, libxl END */
        0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0,
    };
    static const uint64_t pfn = TEST_XTAB(0x123);
    struct test_stream_run run;
    struct test_stream ts;

    test_stream_init(&ts);
    test_stream_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    test_stream_libxc(&ts, STREAM_LIBXC_X86_TSC_INFO, test_stream_blob, 3);
    test_stream_libxc(&ts, STREAM_LIBXC_STATIC_DATA_END, NULL, 0);
    assert_int_equal(stream_put_page_data(ts.b, &pfn, 1, NULL), XLMIG_OK);
    test_stream_tail(&ts);
    assert_int_equal(buf_len(ts.b), sizeof(want));
    assert_memory_equal(buf_ptr(ts.b), want, sizeof(want));

    test_stream_parse(buf_ptr(ts.b), buf_len(ts.b), 0, &run);
    assert_int_equal(run.finish_rc, XLMIG_OK);
    assert_int_equal(run.st.pfns, 1);
    assert_int_equal(run.st.pages, 0);
    assert_int_equal(run.st.rounds, 1);
    test_stream_dispose(&ts);
}

/* Whatever the encoder writes, the parser reads back as written. */
static void test_encoder_parser_round_trip(void **state)
{
    uint64_t pfns[STREAM_BATCH_MAX];
    struct test_stream_run run;
    struct test_stream ts;
    uint32_t i, round;

    test_stream_init(&ts);
    test_stream_min_head(&ts, STREAM_DHDR_TYPE_X86_HVM);
    for (round = 0; round < 2; round++) {
        for (i = 0; i < STREAM_BATCH_MAX; i++)
            pfns[i] = i % 3 ? TEST_XTAB(i) : TEST_PFN(i % 2 ? 0x9 : 0, i);
        test_stream_pages(&ts, pfns, STREAM_BATCH_MAX);
    }
    for (i = 0; i < 64; i++)
        test_stream_libxc(&ts, STREAM_LIBXC_HVM_PARAMS, test_stream_blob, i);
    test_stream_libxc(&ts, STREAM_LIBXC_END, NULL, 0);
    for (i = 8; i < 64; i++)
        test_stream_libxl(&ts, STREAM_LIBXL_EMULATOR_CONTEXT,
                          test_stream_blob, i);
    test_stream_libxl(&ts, STREAM_LIBXL_END, NULL, 0);
    test_stream_expect_ok(&ts, &run);
    assert_int_equal(run.st.rounds, 2);
    assert_int_equal(run.st.pfns, 2 * STREAM_BATCH_MAX);
    assert_int_equal(run.st.pages, 2 * 342);
    test_stream_dispose(&ts);
}

static void test_encoder_refuses_bad_input(void **state)
{
    static const uint64_t data_pfn = 5;
    uint64_t pfns[STREAM_BATCH_MAX + 1] = { 0 };
    struct buf *small = buf_new(20);
    struct buf *b = buf_new(1024);

    assert_int_equal(stream_put_page_data(b, pfns, 0, NULL), XLMIG_E_INVAL);
    assert_int_equal(stream_put_page_data(b, pfns, STREAM_BATCH_MAX + 1,
                                          NULL), XLMIG_E_INVAL);
    assert_int_equal(stream_put_page_data(b, &data_pfn, 1, NULL),
                     XLMIG_E_INVAL);
    assert_int_equal(stream_put_libxc_rec(b, STREAM_LIBXC_HVM_CONTEXT, NULL,
                                          4), XLMIG_E_INVAL);
    assert_int_equal(stream_put_libxc_rec(b, STREAM_LIBXC_HVM_CONTEXT,
                                          test_stream_blob,
                                          STREAM_LIBXC_REC_MAX + 1),
                     XLMIG_E_TOOBIG);
    assert_int_equal(stream_put_libxl_rec(b, STREAM_LIBXL_EMULATOR_CONTEXT,
                                          test_stream_blob,
                                          STREAM_LIBXL_REC_MAX + 1),
                     XLMIG_E_TOOBIG);
    assert_int_equal(buf_len(b), 0);

    /* A full buffer is left as it was. */
    assert_int_equal(stream_put_libxl_hdr(small), XLMIG_OK);
    assert_int_equal(stream_put_libxl_hdr(small), XLMIG_E_TOOBIG);
    assert_int_equal(stream_put_libxc_hdrs(small, 2, 4, 17), XLMIG_E_TOOBIG);
    assert_int_equal(stream_put_libxl_rec(small, STREAM_LIBXL_END, NULL, 0),
                     XLMIG_E_TOOBIG);
    assert_int_equal(stream_put_page_data(small, pfns, 1, test_stream_blob),
                     XLMIG_E_TOOBIG);
    assert_int_equal(buf_len(small), STREAM_LIBXL_HDR_LEN);
    buf_free(small);
    buf_free(b);
}

static void test_record_names(void **state)
{
    assert_string_equal(stream_libxc_rec_name(STREAM_LIBXC_PAGE_DATA),
                        "PAGE_DATA");
    assert_string_equal(stream_libxc_rec_name(STREAM_LIBXC_X86_MSR_POLICY),
                        "X86_MSR_POLICY");
    assert_string_equal(stream_libxc_rec_name(STREAM_LIBXC_NR_TYPES),
                        "unknown");
    assert_string_equal(stream_libxc_rec_name(STREAM_REC_OPTIONAL),
                        "unknown");
    assert_string_equal(stream_libxl_rec_name(STREAM_LIBXL_EMULATOR_CONTEXT),
                        "EMULATOR_CONTEXT");
    assert_string_equal(stream_libxl_rec_name(STREAM_LIBXL_NR_TYPES),
                        "unknown");
}

/* A parse that stopped is sane: OK or a known code with an offset. */
static void test_stream_check_sane(const uint8_t *d, size_t len,
                                   size_t chunk)
{
    struct test_stream_run run;

    test_stream_parse(d, len, chunk, &run);
    assert_true(run.used <= len);
    assert_true(run.st.bytes == run.used);
    switch (run.finish_rc) {
    case XLMIG_OK:
        assert_true(run.st.done);
        assert_string_equal(run.err, "");
        break;
    case XLMIG_E_PROTO:
    case XLMIG_E_TOOBIG:
    case XLMIG_E_TRUNC:
        assert_false(run.st.done);
        assert_memory_equal(run.err, "offset ", 7);
        break;
    default:
        fail_msg("unexpected rc %d", run.finish_rc);
    }
}

static void test_compact_stream_parses(void **state)
{
    struct test_stream_run run;
    struct test_stream ts;

    test_stream_init(&ts);
    test_stream_build_compact(&ts);
    test_stream_expect_ok(&ts, &run);
    assert_int_equal(run.st.rounds, 3);
    assert_int_equal(run.st.pages, 1);
    assert_int_equal(run.st.pfns, 8);
    test_stream_dispose(&ts);
}

/*
 * Deterministic mutations of a valid stream: every byte inverted, zeroed,
 * set to 0xff and xored with 0x80, and the stream cut everywhere. No
 * crash, no read out of bounds (the input is an exact allocation; some
 * runs feed small chunks), and a sane result.
 */
static void test_mutations_are_handled(void **state)
{
    static const uint8_t flips[] = { 0xff, 0x80 };
    static const uint8_t values[] = { 0x00, 0xff };
    struct test_stream ts;
    uint8_t *d, keep;
    size_t len, i;
    unsigned v;

    test_stream_init(&ts);
    test_stream_build_compact(&ts);
    d = test_stream_copy(&ts, &len);
    for (i = 0; i < len; i++) {
        keep = d[i];
        for (v = 0; v < ARRAY_SIZE(flips); v++) {
            d[i] = keep ^ flips[v];
            test_stream_check_sane(d, len, len);
        }
        for (v = 0; v < ARRAY_SIZE(values); v++) {
            d[i] = values[v];
            if (d[i] != keep) test_stream_check_sane(d, len, len);
        }
        if (i % 13 == 0) {
            d[i] = keep ^ 0xff;
            test_stream_check_sane(d, len, i % 2 ? 1 : 0);
        }
        d[i] = keep;
        test_stream_check_sane(d, i, i);
    }
    free(d);
    test_stream_dispose(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hvm_stream_stats),
        cmocka_unit_test(test_pv_stream_stats),
        cmocka_unit_test(test_events_in_stream_order),
        cmocka_unit_test(test_null_callback),
        cmocka_unit_test(test_chunkings_give_identical_results),
        cmocka_unit_test(test_trailing_bytes_not_consumed),
        cmocka_unit_test(test_want_never_reads_past_end),
        cmocka_unit_test(test_skip_accounts_body_bytes),
        cmocka_unit_test(test_libxl_bad_ident),
        cmocka_unit_test(test_libxl_bad_version),
        cmocka_unit_test(test_libxl_big_endian_refused),
        cmocka_unit_test(test_libxl_legacy_option_accepted),
        cmocka_unit_test(test_libxc_bad_marker),
        cmocka_unit_test(test_libxc_bad_id),
        cmocka_unit_test(test_libxc_bad_version),
        cmocka_unit_test(test_libxc_version_2_accepted),
        cmocka_unit_test(test_libxc_big_endian_refused),
        cmocka_unit_test(test_page_shift_must_be_12),
        cmocka_unit_test(test_bad_guest_type),
        cmocka_unit_test(test_guest_type_mismatch),
        cmocka_unit_test(test_unknown_mandatory_libxc_record),
        cmocka_unit_test(test_unknown_mandatory_libxl_record),
        cmocka_unit_test(test_unknown_optional_records_skipped),
        cmocka_unit_test(test_oversize_record_is_toobig),
        cmocka_unit_test(test_record_at_limit_accepted),
        cmocka_unit_test(test_page_data_length_mismatch),
        cmocka_unit_test(test_page_data_too_short),
        cmocka_unit_test(test_page_data_count_zero),
        cmocka_unit_test(test_page_data_unknown_page_type),
        cmocka_unit_test(test_nonzero_padding_refused),
        cmocka_unit_test(test_checkpoint_records_refused),
        cmocka_unit_test(test_second_libxc_context_refused),
        cmocka_unit_test(test_libxl_end_before_libxc_refused),
        cmocka_unit_test(test_empty_records_with_body_refused),
        cmocka_unit_test(test_short_emulator_record_refused),
        cmocka_unit_test(test_verify_pass_is_a_new_round),
        cmocka_unit_test(test_round_heuristic),
        cmocka_unit_test(test_truncation_named_at_every_cut),
        cmocka_unit_test(test_truncation_reasons),
        cmocka_unit_test(test_error_is_sticky),
        cmocka_unit_test(test_encoder_is_byte_exact),
        cmocka_unit_test(test_encoder_parser_round_trip),
        cmocka_unit_test(test_encoder_refuses_bad_input),
        cmocka_unit_test(test_record_names),
        cmocka_unit_test(test_compact_stream_parses),
        cmocka_unit_test(test_mutations_are_handled),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
