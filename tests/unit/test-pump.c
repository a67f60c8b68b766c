/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-pump.c - the pump between real pipes: forwards a stream byte for
 * byte and stops right after its END, leaving what follows on the fd;
 * reports a truncated, malformed or stalled stream, and can be stopped.
 * Framed (xlmig/1): a sending pump and a receiving pump in a row give
 * back the stream byte for byte with every codec, clear and encrypted,
 * leave zero pages off the wire, and refuse a corrupted frame. The auto
 * codec's choice (pump-auto.c) on recorded measurements: each codec
 * tried once, then the one the link, the receiver and the CPU make
 * fastest, and only the tries that could pay.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "datach.h"
#include "fdio.h"
#include "frame.h"
#include "pump-auto.h"
#include "pump.h"
#include "stream.h"
#include "test-util.h"

#define TEST_PUMP_PAGES 3000        /* about 12 MiB: several chunks */

static struct test_ctx test_pump_ctx;
static bool test_pump_zeros;        /* a quarter of the pages all zero */

/* An HVM-like stream with rounds of pages, then END. */
static struct buf *test_pump_stream(void)
{
    static uint8_t page[STREAM_PAGE_SIZE * 64];
    struct buf *b = buf_new(64u << 20);
    uint64_t pfns[64];
    uint32_t i, n, base;
    int round;

    memset(page, 0xa5, sizeof(page));
    for (i = 0; test_pump_zeros && i < 64; i += 4)
        memset(page + i * STREAM_PAGE_SIZE, 0, STREAM_PAGE_SIZE);
    assert_int_equal(stream_put_libxl_hdr(b), 0);
    assert_int_equal(stream_put_libxl_rec(b, STREAM_LIBXL_LIBXC_CONTEXT,
                                          NULL, 0), 0);
    assert_int_equal(stream_put_libxc_hdrs(b, STREAM_DHDR_TYPE_X86_HVM, 4,
                                           17), 0);
    assert_int_equal(stream_put_libxc_rec(b, STREAM_LIBXC_STATIC_DATA_END,
                                          NULL, 0), 0);
    for (round = 0; round < 2; round++) {
        for (base = 0; base < TEST_PUMP_PAGES; base += n) {
            n = TEST_PUMP_PAGES - base < 64 ? TEST_PUMP_PAGES - base : 64;
            for (i = 0; i < n; i++) pfns[i] = base + i;
            assert_int_equal(stream_put_page_data(b, pfns, n, page), 0);
        }
    }
    assert_int_equal(stream_put_libxc_rec(b, STREAM_LIBXC_X86_TSC_INFO,
                                          page, 24), 0);
    assert_int_equal(stream_put_libxc_rec(b, STREAM_LIBXC_END, NULL, 0), 0);
    assert_int_equal(stream_put_libxl_rec(b, STREAM_LIBXL_END, NULL, 0), 0);
    return b;
}

struct test_pump_writer {
    int fd;
    const uint8_t *data;
    size_t len;
    bool close_after;
};

static void *test_pump_writer_main(void *arg)
{
    struct test_pump_writer *w = arg;
    struct fdio_wait wait = fdio_wait_make(10, -1);

    if (fdio_write_all(test_pump_ctx.ctx, w->fd, w->data, w->len, &wait,
                       "test input"))
        return (void *)1;
    if (w->close_after) fdio_close(&w->fd);
    return NULL;
}

struct test_pump_reader {
    int fd;
    struct buf *got;
};

static void *test_pump_reader_main(void *arg)
{
    struct test_pump_reader *r = arg;
    uint8_t chunk[65536];
    ssize_t n;

    while ((n = read(r->fd, chunk, sizeof(chunk))) > 0)
        if (buf_put(r->got, chunk, (size_t)n)) return (void *)1;
    return NULL;
}

/* Pumps data (closing the input after it if close_after) and returns the
 * pump's result; *out_r gets what came out, *in_r the input fd (-1 after
 * a failure). */
static bool test_pump_sockets;      /* socketpairs: no splice possible */

static void test_pump_pair(int fds[2])
{
    if (test_pump_sockets)
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                                    fds), 0);
    else
        assert_int_equal(fdio_pipe(test_pump_ctx.ctx, fds), 0);
}

/* pump_opts.hold for test_pump_run when set: counts its calls, returns
 * test_pump_hold_rc. */
static bool test_pump_hold_on;
static int test_pump_hold_rc;
static unsigned test_pump_holds;

static int test_pump_hold(void *arg)
{
    (void)arg;
    test_pump_holds++;
    return test_pump_hold_rc;
}

static int test_pump_run(const uint8_t *data, size_t len, bool close_after,
                         unsigned timeout, struct buf **out_r, int *in_r)
{
    int in[2], out[2], rc;
    struct test_pump_writer w = { .data = data, .len = len,
                                  .close_after = close_after };
    struct test_pump_reader r;
    struct pump_opts po = { .in_what = "in", .out_what = "out",
                            .hold = test_pump_hold_on ? test_pump_hold
                                                      : NULL };
    struct pump *p;
    pthread_t wt, rt;

    test_pump_pair(in);
    test_pump_pair(out);
    w.fd = in[1];
    r.fd = out[0];
    r.got = buf_new(64u << 20);
    assert_int_equal(pthread_create(&wt, NULL, test_pump_writer_main, &w),
                     0);
    assert_int_equal(pthread_create(&rt, NULL, test_pump_reader_main, &r),
                     0);
    po.in_fd = in[0];
    po.out_fd = out[1];
    po.wait = fdio_wait_make(timeout, -1);
    assert_int_equal(pump_start(test_pump_ctx.ctx, &po, &p), 0);
    rc = pump_join(p);
    if (rc) assert_true(fdio_readable(pump_fail_fd(p)));
    else assert_false(fdio_readable(pump_fail_fd(p)));
    pump_free(p);
    fdio_close(&out[1]);
    pthread_join(rt, NULL);
    /* A failed pump left input unread: let the writer see EPIPE. */
    if (rc) fdio_close(&in[0]);
    pthread_join(wt, NULL);
    fdio_close(&out[0]);
    if (!close_after) fdio_close(&w.fd);
    *out_r = r.got;
    *in_r = in[0];
    return rc;
}

static void test_forwards_and_stops_at_end(void **state)
{
    static const char trailer[] = "domain is yours";
    struct buf *b = test_pump_stream(), *got;
    size_t len = buf_len(b);
    char rest[64];
    int in;

    (void)state;
    assert_int_equal(buf_put(b, trailer, sizeof(trailer)), 0);
    assert_int_equal(test_pump_run(buf_ptr(b), buf_len(b), true, 5, &got,
                                   &in), XLMIG_OK);
    assert_int_equal(buf_len(got), len);
    assert_memory_equal(buf_ptr(got), buf_ptr(b), len);
    /* What follows END is still on the fd for the protocol. */
    assert_int_equal(read(in, rest, sizeof(rest)), sizeof(trailer));
    assert_memory_equal(rest, trailer, sizeof(trailer));
    close(in);
    buf_free(got);
    buf_free(b);
}

/* Sockets on both sides cannot splice: the pump copies instead. */
static void test_copies_when_splice_is_impossible(void **state)
{
    test_pump_sockets = true;
    test_forwards_and_stops_at_end(state);
    test_pump_sockets = false;
}

static void test_truncated_stream_fails(void **state)
{
    struct buf *b = test_pump_stream(), *got;
    int in;

    (void)state;
    assert_int_equal(test_pump_run(buf_ptr(b), buf_len(b) / 2, true, 5,
                                   &got, &in), XLMIG_E_TRUNC);
    assert_true(buf_len(got) <= buf_len(b) / 2);
    assert_int_equal(in, -1);
    buf_free(got);
    buf_free(b);
}

static void test_malformed_stream_fails(void **state)
{
    struct buf *b = test_pump_stream(), *got;
    uint8_t *d = xmalloc(buf_len(b));
    int in;

    (void)state;
    memcpy(d, buf_ptr(b), buf_len(b));
    d[0] = 'X';                                 /* bad libxl ident */
    assert_int_equal(test_pump_run(d, buf_len(b), true, 5, &got, &in),
                     XLMIG_E_PROTO);
    assert_int_equal(buf_len(got), 0);          /* nothing forwarded */
    assert_int_equal(in, -1);
    free(d);
    buf_free(got);
    buf_free(b);
}

static void test_stalled_sender_times_out(void **state)
{
    struct buf *b = test_pump_stream(), *got;
    double t0 = ctx_now(test_pump_ctx.ctx);
    int in;

    (void)state;
    /* Half the stream, and the writer keeps the pipe open, silent. */
    assert_int_equal(test_pump_run(buf_ptr(b), buf_len(b) / 2, false, 1,
                                   &got, &in), XLMIG_E_TIMEDOUT);
    assert_true(ctx_now(test_pump_ctx.ctx) - t0 >= 0.9);
    assert_int_equal(in, -1);
    buf_free(got);
    buf_free(b);
}

static void test_stop_cancels(void **state)
{
    struct pump_opts po = { .in_what = "in", .out_what = "out" };
    struct xlmig_progress prog;
    struct pump *p;
    int in[2], out[2];

    (void)state;
    assert_int_equal(fdio_pipe(test_pump_ctx.ctx, in), 0);
    assert_int_equal(fdio_pipe(test_pump_ctx.ctx, out), 0);
    po.in_fd = in[0];
    po.out_fd = out[1];
    po.wait = fdio_wait_make(0, -1);            /* would wait for ever */
    assert_int_equal(pump_start(test_pump_ctx.ctx, &po, &p), 0);
    pump_stop(p);
    assert_int_equal(pump_join(p), XLMIG_E_CANCELLED);
    pump_progress(p, &prog);
    assert_int_equal(prog.bytes, 0);
    pump_free(p);
    fdio_close_pair(in);
    fdio_close_pair(out);
}

/* A throttled pump sleeps off its debt, yet a stop ends it at once. */
static void test_limited_pump_stops_while_waiting(void **state)
{
    struct buf *b = test_pump_stream();
    struct pump_opts po = { .in_what = "in", .out_what = "out",
                            .limit = 1 };
    struct xlmig_progress prog;
    struct pump *p;
    int in[2], out[2];
    double t0;

    (void)state;
    assert_int_equal(fdio_pipe(test_pump_ctx.ctx, in), 0);
    assert_int_equal(fdio_pipe(test_pump_ctx.ctx, out), 0);
    assert_int_equal(write(in[1], buf_ptr(b), 4096), 4096);
    po.in_fd = in[0];
    po.out_fd = out[1];
    po.wait = fdio_wait_make(0, -1);
    assert_int_equal(pump_start(test_pump_ctx.ctx, &po, &p), 0);
    /* The first bytes move, then the bucket is in debt for seconds (at 1
     * byte/s: under valgrind the pump may run long before we look). */
    t0 = ctx_now(test_pump_ctx.ctx);
    do {
        usleep(1000);               /* a spinning test starves the pump
                                     * under valgrind's one-at-a-time
                                     * threads */
        pump_progress(p, &prog);
    } while (!prog.bytes && ctx_now(test_pump_ctx.ctx) - t0 < 10);
    assert_in_range(prog.bytes, 1, 4095);
    t0 = ctx_now(test_pump_ctx.ctx);
    pump_stop(p);
    assert_int_equal(pump_join(p), XLMIG_E_CANCELLED);
    assert_true(ctx_now(test_pump_ctx.ctx) - t0 < 1.0);
    pump_free(p);
    fdio_close_pair(in);
    fdio_close_pair(out);
    buf_free(b);
}

/* ---- framed ---- */

struct test_pump_framed {
    int codec;
    bool encrypt;
    unsigned long fault_frame;
    unsigned timeout;               /* the receiver's; 0: 5 s */
    int enc_rc, dec_rc;
    struct xlmig_progress enc_prog, dec_prog;
};

/* data -> sending pump -> frames -> receiving pump -> *out_r. */
static void test_pump_framed_run(const uint8_t *data, size_t len,
                                 struct test_pump_framed *f,
                                 struct buf **out_r)
{
    struct test_pump_writer w = { .data = data, .len = len,
                                  .close_after = true };
    struct test_pump_reader r;
    struct pump_opts eo = { .in_what = "in", .out_what = "frames" };
    struct pump_opts dopt = { .in_what = "frames", .out_what = "out" };
    struct frame_keys k;
    struct frame_enc *enc;
    struct frame_dec *dec;
    struct pump *pe, *pd;
    int in[2], mid[2], out[2];
    pthread_t wt, rt;

    assert_int_equal(frame_keys_new(&k), 0);
    enc = frame_enc_new(&k, f->encrypt);
    assert_non_null(enc);
    dec = frame_dec_new(&k, 1u << FRAME_CODEC_NONE | 1u << FRAME_CODEC_LZ4 |
                        1u << FRAME_CODEC_ZSTD, f->encrypt);
    assert_non_null(dec);
    test_pump_pair(in);
    test_pump_pair(mid);
    test_pump_pair(out);
    w.fd = in[1];
    r.fd = out[0];
    r.got = buf_new(64u << 20);
    eo.wait = fdio_wait_make(5, -1);
    dopt.wait = fdio_wait_make(f->timeout ? f->timeout : 5, -1);
    assert_int_equal(datach_send_auth(test_pump_ctx.ctx, mid[1], enc,
                                      &eo.wait, "frames"), 0);
    assert_int_equal(datach_read_auth(test_pump_ctx.ctx, mid[0], dec,
                                      &dopt.wait, "frames"), 0);
    assert_int_equal(pthread_create(&wt, NULL, test_pump_writer_main, &w),
                     0);
    assert_int_equal(pthread_create(&rt, NULL, test_pump_reader_main, &r),
                     0);
    eo.in_fd = in[0];
    eo.out_fd = mid[1];
    eo.enc = enc;
    eo.codec = f->codec;
    eo.hold = test_pump_hold_on ? test_pump_hold : NULL;
    eo.fault_frame = f->fault_frame;
    dopt.in_fd = mid[0];
    dopt.out_fd = out[1];
    dopt.dec = dec;
    assert_int_equal(pump_start(test_pump_ctx.ctx, &eo, &pe), 0);
    assert_int_equal(pump_start(test_pump_ctx.ctx, &dopt, &pd), 0);
    f->dec_rc = pump_join(pd);
    /* A receiver that gave up leaves the sender writing into nothing. */
    if (f->dec_rc) fdio_close(&mid[0]);
    f->enc_rc = pump_join(pe);
    pump_progress(pe, &f->enc_prog);
    pump_progress(pd, &f->dec_prog);
    pump_free(pd);
    pump_free(pe);
    fdio_close(&out[1]);
    pthread_join(rt, NULL);
    fdio_close(&in[0]);
    pthread_join(wt, NULL);
    fdio_close_pair(mid);
    fdio_close(&out[0]);
    frame_enc_free(enc);
    frame_dec_free(dec);
    *out_r = r.got;
}

static void test_framed_round_trip(void **state)
{
    static const int codecs[] = { FRAME_CODEC_NONE, FRAME_CODEC_LZ4,
                                  FRAME_CODEC_ZSTD, PUMP_CODEC_AUTO };
    struct buf *b, *got;
    size_t i;
    int enc;

    (void)state;
    test_pump_zeros = true;
    b = test_pump_stream();
    for (i = 0; i < ARRAY_SIZE(codecs); i++) {
        for (enc = 0; enc < 2; enc++) {
            struct test_pump_framed f = { .codec = codecs[i],
                                          .encrypt = enc };

            test_pump_framed_run(buf_ptr(b), buf_len(b), &f, &got);
            assert_int_equal(f.enc_rc, 0);
            assert_int_equal(f.dec_rc, 0);
            assert_int_equal(buf_len(got), buf_len(b));
            assert_memory_equal(buf_ptr(got), buf_ptr(b), buf_len(b));
            /* A quarter of the pages is zero: none of them is sent. */
            assert_int_equal(f.enc_prog.zero_pages, 2 * TEST_PUMP_PAGES / 4);
            assert_int_equal(f.enc_prog.bytes, buf_len(b));
            assert_int_equal(f.dec_prog.bytes, buf_len(b));
            assert_int_equal(f.dec_prog.wire_bytes, f.enc_prog.wire_bytes);
            assert_true(f.enc_prog.wire_bytes < buf_len(b) * 8 / 10);
            /* 0xa5 pages compress to almost nothing. */
            if (codecs[i] == FRAME_CODEC_LZ4 || codecs[i] == FRAME_CODEC_ZSTD)
                assert_true(f.enc_prog.wire_bytes < buf_len(b) / 20);
            buf_free(got);
        }
    }
    buf_free(b);
    test_pump_zeros = false;
}

/* One flipped bit in any frame: refused, nothing more goes to libxl. */
static void test_framed_corrupt_frame_refused(void **state)
{
    struct buf *b = test_pump_stream(), *got;
    unsigned long n;

    (void)state;
    for (n = 1; n <= 7; n += 3) {
        struct test_pump_framed f = { .codec = FRAME_CODEC_NONE,
                                      .fault_frame = n };

        test_pump_framed_run(buf_ptr(b), buf_len(b), &f, &got);
        assert_int_equal(f.dec_rc, XLMIG_E_AUTH);
        assert_true(buf_len(got) < buf_len(b));
        buf_free(got);
    }
    buf_free(b);
}

/*
 * hold: called once, when the first record after the memory arrives and
 * before it goes on; a failing hold fails the pump with its code and
 * nothing from that record on (libxl's END least of all) was forwarded.
 */
static void test_hold_before_the_rest(void **state)
{
    struct buf *b = test_pump_stream(), *got;
    /* TSC_INFO (24 bytes), libxc END, libxl END: 8-byte headers. */
    size_t tail = 8 + 24 + 8 + 8, len = buf_len(b);
    int in, rcs[] = { XLMIG_OK, XLMIG_E_STORAGE };
    size_t i;

    (void)state;
    test_pump_hold_on = true;
    for (i = 0; i < ARRAY_SIZE(rcs); i++) {
        test_pump_holds = 0;
        test_pump_hold_rc = rcs[i];
        assert_int_equal(test_pump_run(buf_ptr(b), len, true, 5, &got, &in),
                         rcs[i]);
        assert_int_equal(test_pump_holds, 1);
        if (rcs[i]) {
            assert_true(buf_len(got) <= len - tail);
        } else {
            assert_int_equal(buf_len(got), len);
            assert_memory_equal(buf_ptr(got), buf_ptr(b), len);
            close(in);
        }
        buf_free(got);
    }
    /* The same in frames: held once, the stream whole after it. */
    {
        struct test_pump_framed f = { .codec = FRAME_CODEC_LZ4 };

        test_pump_holds = 0;
        test_pump_hold_rc = XLMIG_OK;
        test_pump_framed_run(buf_ptr(b), len, &f, &got);
        assert_int_equal(f.enc_rc, XLMIG_OK);
        assert_int_equal(f.dec_rc, XLMIG_OK);
        assert_int_equal(test_pump_holds, 1);
        assert_int_equal(buf_len(got), len);
        buf_free(got);
    }
    test_pump_hold_on = false;
    buf_free(b);
}

/* A stream cut short: the sender sends no END frame, the receiver fails. */
static void test_framed_truncated_stream(void **state)
{
    struct buf *b = test_pump_stream(), *got;
    struct test_pump_framed f = { .codec = FRAME_CODEC_LZ4, .timeout = 1 };

    (void)state;
    /* The sending job would close the connection; here it stays open and
     * silent, so the receiver times out. */
    test_pump_framed_run(buf_ptr(b), buf_len(b) / 2, &f, &got);
    assert_int_equal(f.enc_rc, XLMIG_E_TRUNC);
    assert_int_equal(f.dec_rc, XLMIG_E_TIMEDOUT);
    assert_true(buf_len(got) <= buf_len(b) / 2);
    buf_free(got);
    buf_free(b);
}

static void test_parse_rate(void **state)
{
    static const struct {
        const char *s;
        int rc;
        uint64_t rate;
    } cases[] = {
        { "0", XLMIG_OK, 0 }, { "1500", XLMIG_OK, 1500 },
        { "100M", XLMIG_OK, 100000000 }, { "100mb", XLMIG_OK, 100000000 },
        { "800Mbit", XLMIG_OK, 100000000 }, { "1Gbit", XLMIG_OK, 125000000 },
        { "2G", XLMIG_OK, 2000000000 }, { "64K", XLMIG_OK, 64000 },
        { "1bit", XLMIG_OK, 1 }, { "", XLMIG_E_INVAL, 0 },
        { "fast", XLMIG_E_INVAL, 0 }, { "-5M", XLMIG_E_INVAL, 0 },
        { "10 M", XLMIG_E_INVAL, 0 }, { "10T", XLMIG_E_INVAL, 0 },
        { "99999999999999999999", XLMIG_E_INVAL, 0 },
        { "5000G", XLMIG_E_INVAL, 0 }, { "1.5M", XLMIG_E_INVAL, 0 },
    };
    uint64_t r;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        if (xlmig_parse_rate(cases[i].s, &r) != cases[i].rc)
            fail_msg("'%s': not %d", cases[i].s, cases[i].rc);
        assert_int_equal(r, cases[i].rate);
    }
}

static int test_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    test_ctx_open(&test_pump_ctx);
    return 0;
}

static int test_teardown(void **state)
{
    (void)state;
    test_ctx_close(&test_pump_ctx);
    return 0;
}

/* ---- the auto codec's choice ---- */

#define TEST_AUTO_RAW (1u << 20)            /* a full frame of pages */
#define TEST_AUTO_PAYLOAD (512u << 10)      /* half of them zero */
#define TEST_AUTO_OVERHEAD (FRAME_HDR_LEN + FRAME_TAG_LEN)

/* What a codec does to the test's pages: wire bytes and CPU ns per
 * payload byte. The sending thread's other work: 0.1 ns per raw byte. */
struct test_auto_codec {
    double ratio, ns;
};
static const struct test_auto_codec test_auto_codecs[FRAME_CODEC_NR] = {
    [FRAME_CODEC_NONE] = { 1.0, 0.05 },
    [FRAME_CODEC_LZ4] = { 0.45, 0.5 },
    [FRAME_CODEC_ZSTD] = { 0.35, 0.9 },
};

/* Downstream, as the queue shows it, and the time. */
struct test_auto_sim {
    double wire_ns, raw_ns;     /* seconds (ns) per wire and raw byte */
    uint64_t waiting;           /* bytes left in the queue (0: empty);
                                   the frames before them are gone */
    double t;
    uint64_t written;
};

/* The costs of a frame of class cls with the choice ch (and its trial);
 * returns its wire bytes. */
static size_t test_auto_report(struct pump_auto *a, enum pump_auto_class cls,
                               struct pump_auto_choice ch, size_t raw,
                               size_t payload,
                               const struct test_auto_codec *codecs)
{
    struct pump_auto_cost f = {
        .cls = cls, .ch = ch, .raw = raw, .payload = payload,
        .wire = (size_t)((double)payload * codecs[ch.codec].ratio) +
                TEST_AUTO_OVERHEAD,
        .t_codec = (double)payload * codecs[ch.codec].ns * 1e-9,
        .t_other = (double)raw * 0.1e-9,
    };

    if ((unsigned)ch.trial < FRAME_CODEC_NR) {
        f.trial_len = (size_t)((double)payload * codecs[ch.trial].ratio);
        f.t_trial = (double)payload * codecs[ch.trial].ns * 1e-9;
    }
    pump_auto_frame(a, &f);
    return f.wire;
}

/* The codec of the next frame, no trial. */
static enum frame_codec test_auto_codec(struct pump_auto *a,
                                        enum pump_auto_class cls, size_t raw,
                                        size_t payload)
{
    struct pump_auto_choice ch = pump_auto_pick(a, cls, raw, payload);

    assert_int_equal(ch.trial, FRAME_CODEC_NR);
    return ch.codec;
}

/*
 * One frame of class cls with the choice ch: its costs reported, then
 * the queue sampled after downstream took it.
 */
static void test_auto_send(struct pump_auto *a, struct test_auto_sim *sim,
                           enum pump_auto_class cls,
                           struct pump_auto_choice ch, size_t raw,
                           size_t payload,
                           const struct test_auto_codec *codecs)
{
    size_t wire = test_auto_report(a, cls, ch, raw, payload, codecs);
    uint64_t w = sim->waiting < sim->written ? sim->waiting : sim->written;

    /* As the pump: before the write, then after downstream took it. */
    pump_auto_queue(a, sim->t, sim->written, w);
    sim->written += wire;
    sim->t += ((double)wire * sim->wire_ns + (double)raw * sim->raw_ns) *
              1e-9;
    pump_auto_queue(a, sim->t, sim->written,
                    sim->waiting < sim->written ? sim->waiting
                                                : sim->written);
}

/*
 * Picks and sends n frames; counts how often each codec came, and (at
 * FRAME_CODEC_NR + codec) how often each was tried beside.
 */
static void test_auto_run(struct pump_auto *a, struct test_auto_sim *sim,
                          enum pump_auto_class cls, int n,
                          const struct test_auto_codec *codecs,
                          int counts[2 * FRAME_CODEC_NR])
{
    struct pump_auto_choice ch;
    int i;

    for (i = 0; i < 2 * FRAME_CODEC_NR; i++) counts[i] = 0;
    for (i = 0; i < n; i++) {
        ch = pump_auto_pick(a, cls, TEST_AUTO_RAW, TEST_AUTO_PAYLOAD);
        assert_true((unsigned)ch.codec < FRAME_CODEC_NR);
        assert_true(ch.trial != ch.codec && ch.trial <= FRAME_CODEC_NR);
        counts[ch.codec]++;
        if (ch.trial < FRAME_CODEC_NR) counts[FRAME_CODEC_NR + ch.trial]++;
        test_auto_send(a, sim, cls, ch, TEST_AUTO_RAW, TEST_AUTO_PAYLOAD,
                       codecs);
    }
}

/* The codec the choice settles on over a link of wire_ns, raw_ns. */
static enum frame_codec test_auto_settle(double wire_ns, double raw_ns,
                                         int counts[2 * FRAME_CODEC_NR])
{
    struct test_auto_sim sim = { .wire_ns = wire_ns, .raw_ns = raw_ns,
                                 .waiting = 1 };
    struct pump_auto a;

    pump_auto_init(&a);
    test_auto_run(&a, &sim, PUMP_AUTO_PAGES, 200, test_auto_codecs,
                  counts);
    test_auto_run(&a, &sim, PUMP_AUTO_PAGES, 300, test_auto_codecs,
                  counts);
    return pump_auto_pick(&a, PUMP_AUTO_PAGES, TEST_AUTO_RAW,
                          TEST_AUTO_PAYLOAD).codec;
}

/* Each codec is tried once first; a frame of zero pages takes none. */
static void test_auto_tries_each_codec_first(void **state)
{
    struct pump_auto_choice ch;
    struct pump_auto a;
    enum frame_codec c;

    (void)state;
    pump_auto_init(&a);
    assert_int_equal(test_auto_codec(&a, PUMP_AUTO_PAGES, TEST_AUTO_RAW, 32),
                     FRAME_CODEC_NONE);
    for (c = FRAME_CODEC_LZ4; c < FRAME_CODEC_NR; c++) {
        ch = pump_auto_pick(&a, PUMP_AUTO_PAGES, TEST_AUTO_RAW,
                            TEST_AUTO_PAYLOAD);
        assert_int_equal(ch.codec, c);
        assert_int_equal(ch.trial, FRAME_CODEC_NR);
        test_auto_report(&a, PUMP_AUTO_PAGES, ch, TEST_AUTO_RAW,
                         TEST_AUTO_PAYLOAD, test_auto_codecs);
    }
    /* Nothing known of downstream: sending costs nothing, none wins. */
    assert_int_equal(test_auto_codec(&a, PUMP_AUTO_PAGES, TEST_AUTO_RAW,
                                     TEST_AUTO_PAYLOAD), FRAME_CODEC_NONE);
    /* The other class starts afresh. */
    assert_int_equal(test_auto_codec(&a, PUMP_AUTO_DATA, 65536, 65536),
                     FRAME_CODEC_LZ4);
}

/*
 * 1 Gbit/s (8 ns a byte): the link is the bottleneck with every codec,
 * so the one that sends least; loopback-like (0.4 ns): nothing to gain
 * that costs less than compressing; 500 MB/s: lz4, whose CPU the link
 * time covers, where zstd's does not.
 */
static void test_auto_follows_the_link(void **state)
{
    int counts[2 * FRAME_CODEC_NR];

    (void)state;
    assert_int_equal(test_auto_settle(8, 0, counts), FRAME_CODEC_ZSTD);
    assert_int_equal(counts[FRAME_CODEC_ZSTD], 300);
    /* Busy link: no try of a codec that sends more. */
    assert_int_equal(counts[FRAME_CODEC_NR + FRAME_CODEC_LZ4], 0);

    assert_int_equal(test_auto_settle(0.4, 0, counts), FRAME_CODEC_NONE);
    assert_true(counts[FRAME_CODEC_NONE] >= 290);

    assert_int_equal(test_auto_settle(2, 0, counts), FRAME_CODEC_LZ4);
    assert_int_equal(counts[FRAME_CODEC_LZ4], 300);
    /* zstd is tried beside, ever more rarely; none never (busy). */
    assert_true(counts[FRAME_CODEC_NR + FRAME_CODEC_ZSTD] >= 1);
    assert_true(counts[FRAME_CODEC_NR + FRAME_CODEC_ZSTD] <=
                300 / PUMP_AUTO_PROBE_MIN);
    assert_int_equal(counts[FRAME_CODEC_NR + FRAME_CODEC_NONE], 0);
    assert_int_equal(counts[FRAME_CODEC_NR + FRAME_CODEC_LZ4], 0);
}

/*
 * A link with a real queue (a socket buffer of 4 MiB in front of it): the
 * sending thread spends each frame's CPU, then writes it; the link takes
 * wire_ns a byte of what was written. Returns when the last byte left:
 * with codec fixed (FRAME_CODEC_NR: auto's picks, trials included).
 */
static double test_auto_queued(double wire_ns, enum frame_codec fixed,
                               int n, int counts[FRAME_CODEC_NR])
{
    const double cap = 4.0 * (1 << 20) * wire_ns * 1e-9;
    struct pump_auto_choice ch = { fixed, FRAME_CODEC_NR };
    const struct test_auto_codec *k;
    double t = 0, link_done = 0;        /* thread's clock; the link's */
    uint64_t written = 0;
    struct pump_auto a;
    size_t wire;
    int i;

    pump_auto_init(&a);
    for (i = 0; i < FRAME_CODEC_NR; i++) counts[i] = 0;
    for (i = 0; i < n; i++) {
        if (fixed == FRAME_CODEC_NR)
            ch = pump_auto_pick(&a, PUMP_AUTO_PAGES, TEST_AUTO_RAW,
                                TEST_AUTO_PAYLOAD);
        counts[ch.codec]++;
        k = &test_auto_codecs[ch.codec];
        t += (double)TEST_AUTO_PAYLOAD * k->ns * 1e-9 +
             (double)TEST_AUTO_RAW * 0.1e-9;
        if ((unsigned)ch.trial < FRAME_CODEC_NR)
            t += (double)TEST_AUTO_PAYLOAD *
                 test_auto_codecs[ch.trial].ns * 1e-9;
        wire = test_auto_report(&a, PUMP_AUTO_PAGES, ch, TEST_AUTO_RAW,
                                TEST_AUTO_PAYLOAD, test_auto_codecs);
        /* A full buffer holds the thread until there is room. */
        if (link_done - t > cap) t = link_done - cap;
        pump_auto_queue(&a, t, written,
                        link_done > t ? (uint64_t)((link_done - t) /
                                                   (wire_ns * 1e-9))
                                      : 0);
        link_done = (link_done > t ? link_done : t) +
                    (double)wire * wire_ns * 1e-9;
        written += wire;
        pump_auto_queue(&a, t, written,
                        (uint64_t)((link_done - t) / (wire_ns * 1e-9)));
    }
    return link_done;
}

/*
 * A link that lz4 fills and zstd does not (2.2 ns a byte: lz4's frames
 * take the link 0.52 ms, zstd's take this thread 0.58 ms): auto mixes
 * the two so that both are busy, and beats each codec alone by at least
 * 5 % (the ideal mix, by 11 %).
 */
static void test_auto_mixes_to_beat_each(void **state)
{
    int counts[FRAME_CODEC_NR], fixed[FRAME_CODEC_NR];
    double t_auto, t_lz4, t_zstd, best;

    (void)state;
    t_lz4 = test_auto_queued(2.2, FRAME_CODEC_LZ4, 2000, fixed);
    t_zstd = test_auto_queued(2.2, FRAME_CODEC_ZSTD, 2000, fixed);
    t_auto = test_auto_queued(2.2, FRAME_CODEC_NR, 2000, counts);
    best = t_lz4 < t_zstd ? t_lz4 : t_zstd;
    print_message("queued link 2.2 ns/B: lz4 %.3f s, zstd %.3f s, auto "
                  "%.3f s (%d none, %d lz4, %d zstd)\n", t_lz4, t_zstd,
                  t_auto, counts[FRAME_CODEC_NONE], counts[FRAME_CODEC_LZ4],
                  counts[FRAME_CODEC_ZSTD]);
    assert_true(t_auto <= 0.95 * best);
    assert_true(counts[FRAME_CODEC_LZ4] >= 400);
    assert_true(counts[FRAME_CODEC_ZSTD] >= 400);
    /* At either end, the one codec: a link slower than zstd's CPU, one
     * faster than plain frames are made. */
    (void)test_auto_queued(8, FRAME_CODEC_NR, 500, counts);
    assert_true(counts[FRAME_CODEC_ZSTD] >= 480);
    (void)test_auto_queued(0.1, FRAME_CODEC_NR, 500, counts);
    assert_true(counts[FRAME_CODEC_NONE] >= 480);
}

/*
 * A receiver that takes 1 ns per raw byte whatever the wire: fewer wire
 * bytes buy nothing, and compressing costs CPU: none. The fit tells the
 * two apart because frames of different codecs leave at the same pace.
 */
static void test_auto_receiver_bound_sends_plain(void **state)
{
    int counts[2 * FRAME_CODEC_NR];

    (void)state;
    assert_int_equal(test_auto_settle(0, 1, counts), FRAME_CODEC_NONE);
    assert_true(counts[FRAME_CODEC_NONE] >= 280);
    /* The same with a slow link beside it: both rates are fitted. */
    assert_int_equal(test_auto_settle(4, 1, counts), FRAME_CODEC_ZSTD);
}

/* Each codec's first frame, nothing else. */
static void test_auto_first_tries(struct pump_auto *a)
{
    struct pump_auto_choice ch;
    enum frame_codec c;

    for (c = FRAME_CODEC_LZ4; c < FRAME_CODEC_NR; c++) {
        ch = pump_auto_pick(a, PUMP_AUTO_PAGES, TEST_AUTO_RAW,
                            TEST_AUTO_PAYLOAD);
        assert_int_equal(ch.codec, c);
        test_auto_report(a, PUMP_AUTO_PAGES, ch, TEST_AUTO_RAW,
                         TEST_AUTO_PAYLOAD, test_auto_codecs);
    }
}

/* A bandwidth limit is a link of that rate, queue or no queue. */
static void test_auto_limit_is_a_link(void **state)
{
    struct pump_auto a;

    (void)state;
    pump_auto_init(&a);
    test_auto_first_tries(&a);
    assert_int_equal(test_auto_codec(&a, PUMP_AUTO_PAGES, TEST_AUTO_RAW,
                                     TEST_AUTO_PAYLOAD), FRAME_CODEC_NONE);
    pump_auto_set_limit(&a, 50000000);
    assert_int_equal(test_auto_codec(&a, PUMP_AUTO_PAGES, TEST_AUTO_RAW,
                                     TEST_AUTO_PAYLOAD), FRAME_CODEC_ZSTD);
    pump_auto_set_limit(&a, 0);
    assert_int_equal(test_auto_codec(&a, PUMP_AUTO_PAGES, TEST_AUTO_RAW,
                                     TEST_AUTO_PAYLOAD), FRAME_CODEC_NONE);
}

/*
 * The classes keep their own figures: pfn lists that zstd packs eight
 * times tighter than lz4 get zstd over a 500 MB/s link where pages,
 * for which it gains less, get lz4.
 */
static void test_auto_classes_apart(void **state)
{
    static const struct test_auto_codec lists[FRAME_CODEC_NR] = {
        [FRAME_CODEC_NONE] = { 1.0, 0.05 },
        [FRAME_CODEC_LZ4] = { 0.5, 0.3 },
        [FRAME_CODEC_ZSTD] = { 0.06, 0.6 },
    };
    struct test_auto_sim sim = { .wire_ns = 2, .waiting = 1 };
    struct pump_auto a;
    int counts[2 * FRAME_CODEC_NR], i;

    (void)state;
    pump_auto_init(&a);
    for (i = 0; i < 100; i++) {
        test_auto_run(&a, &sim, PUMP_AUTO_PAGES, 4, test_auto_codecs,
                      counts);
        test_auto_run(&a, &sim, PUMP_AUTO_DATA, 1, lists, counts);
    }
    assert_int_equal(test_auto_codec(&a, PUMP_AUTO_PAGES, TEST_AUTO_RAW,
                                     TEST_AUTO_PAYLOAD), FRAME_CODEC_LZ4);
    assert_int_equal(test_auto_codec(&a, PUMP_AUTO_DATA, TEST_AUTO_PAYLOAD,
                                     TEST_AUTO_PAYLOAD), FRAME_CODEC_ZSTD);
}

/*
 * The link gets faster (a competing transfer ends): the queue runs dry
 * under zstd, lighter codecs are tried, and what leaves the empty queue
 * shows the link is faster than fitted: the choice comes down to none.
 */
static void test_auto_faster_link_found(void **state)
{
    struct test_auto_sim sim = { .wire_ns = 8, .waiting = 1 };
    struct pump_auto a;
    int counts[2 * FRAME_CODEC_NR];

    (void)state;
    pump_auto_init(&a);
    test_auto_run(&a, &sim, PUMP_AUTO_PAGES, 100, test_auto_codecs,
                  counts);
    assert_int_equal(test_auto_codec(&a, PUMP_AUTO_PAGES, TEST_AUTO_RAW,
                                     TEST_AUTO_PAYLOAD), FRAME_CODEC_ZSTD);
    sim.wire_ns = 0.2;
    sim.waiting = 0;
    test_auto_run(&a, &sim, PUMP_AUTO_PAGES, 1000, test_auto_codecs,
                  counts);
    assert_true(counts[FRAME_CODEC_NONE] >= 800);
    assert_int_equal(test_auto_codec(&a, PUMP_AUTO_PAGES, TEST_AUTO_RAW,
                                     TEST_AUTO_PAYLOAD), FRAME_CODEC_NONE);
}

/*
 * A receiver on this host: downstream is work on the same CPUs, which a
 * codec only adds to, so none, and nothing tried; a limit is a link
 * there too.
 */
static void test_auto_local_receiver(void **state)
{
    struct test_auto_sim sim = { .wire_ns = 8, .waiting = 1 };
    struct pump_auto a;
    int counts[2 * FRAME_CODEC_NR];

    (void)state;
    pump_auto_init(&a);
    pump_auto_set_shared(&a, true);
    test_auto_run(&a, &sim, PUMP_AUTO_PAGES, 100, test_auto_codecs,
                  counts);
    assert_int_equal(counts[FRAME_CODEC_NONE], 100);
    pump_auto_set_limit(&a, 50000000);
    test_auto_run(&a, &sim, PUMP_AUTO_PAGES, 100, test_auto_codecs,
                  counts);
    assert_int_equal(counts[FRAME_CODEC_LZ4], 1);
    assert_true(counts[FRAME_CODEC_ZSTD] >= 95);
}

/* Where the queue cannot be seen, writes that take time are the link. */
static void test_auto_blind_writes(void **state)
{
    struct pump_auto a;
    int i;

    (void)state;
    pump_auto_init(&a);
    test_auto_first_tries(&a);
    /* 1 MiB writes taking 8 ms: 8 ns a byte, after 8 MiB of them. */
    for (i = 0; i < 7; i++) pump_auto_write(&a, 1u << 20, 8.4e-3);
    assert_int_equal(test_auto_codec(&a, PUMP_AUTO_PAGES, TEST_AUTO_RAW,
                                     TEST_AUTO_PAYLOAD), FRAME_CODEC_NONE);
    pump_auto_write(&a, 1u << 20, 8.4e-3);
    assert_int_equal(test_auto_codec(&a, PUMP_AUTO_PAGES, TEST_AUTO_RAW,
                                     TEST_AUTO_PAYLOAD), FRAME_CODEC_ZSTD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forwards_and_stops_at_end),
        cmocka_unit_test(test_copies_when_splice_is_impossible),
        cmocka_unit_test(test_hold_before_the_rest),
        cmocka_unit_test(test_truncated_stream_fails),
        cmocka_unit_test(test_malformed_stream_fails),
        cmocka_unit_test(test_stalled_sender_times_out),
        cmocka_unit_test(test_stop_cancels),
        cmocka_unit_test(test_limited_pump_stops_while_waiting),
        cmocka_unit_test(test_parse_rate),
        cmocka_unit_test(test_framed_round_trip),
        cmocka_unit_test(test_framed_corrupt_frame_refused),
        cmocka_unit_test(test_framed_truncated_stream),
        cmocka_unit_test(test_auto_tries_each_codec_first),
        cmocka_unit_test(test_auto_follows_the_link),
        cmocka_unit_test(test_auto_mixes_to_beat_each),
        cmocka_unit_test(test_auto_receiver_bound_sends_plain),
        cmocka_unit_test(test_auto_limit_is_a_link),
        cmocka_unit_test(test_auto_classes_apart),
        cmocka_unit_test(test_auto_faster_link_found),
        cmocka_unit_test(test_auto_local_receiver),
        cmocka_unit_test(test_auto_blind_writes),
    };

    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
