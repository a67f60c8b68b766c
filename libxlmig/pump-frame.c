/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pump-frame.c - the pump's framed streams (frame.h), between two xlmig
 * ends that negotiated them over xlmig/1.
 *
 * Sender: page data of PAGE_DATA records is read in whole pages and sent
 * as PAGES frames (zero pages left out, compressed); every other byte of
 * the stream (record headers, pfn lists, other records) collects in a
 * pending buffer that goes out as one DATA frame before the next PAGES
 * frame, when it is full, or when libxl has nothing more to give right
 * now (so a record never waits for the next one). After the libxl END
 * record: the END frame.
 *
 * Receiver: each frame is read whole, checked and opened (frame.c), its
 * stream bytes parsed (stream.c: progress, and the stream must end
 * exactly where the END frame comes) and written to libxl straight from
 * the frame (writev of its pieces, zero pages from a constant page).
 *
 * The sender reads page data where its frame is made (after room for the
 * header and bitmap) and seals it there: no copy of page data but the
 * kernel's, on either side, unless a codec is used.
 *
 * PUMP_CODEC_AUTO picks the codec of each PAGES frame that minimises the
 * time per stream byte, max(encode time, wire bytes * link time), from
 * moving averages of what the frames so far measured; every
 * PUMP_AUTO_PROBE-th frame tries the next codec in turn so that the
 * estimates follow the data and the link. The averages are of seconds
 * per byte, not of rates: most writes land in the socket buffer at once,
 * and an average of their rates would say the link is fast. The link's
 * time per byte is measured over windows of PUMP_AUTO_WINDOW wire bytes.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "pump-priv.h"

#define PUMP_AUTO_PROBE 8
#define PUMP_AUTO_ALPHA 0.25        /* weight of a new measurement */
#define PUMP_AUTO_WINDOW (8u << 20) /* wire bytes per link measurement */

struct pump_auto {
    double enc_spb[FRAME_CODEC_NR]; /* seconds to encode a stream byte */
    double wpr[FRAME_CODEC_NR];     /* wire bytes per stream byte */
    bool seen[FRAME_CODEC_NR];
    double link_spb;                /* seconds per wire byte; 0: unknown */
    uint64_t win_bytes;             /* the link window so far */
    double win_s;
    uint64_t frames;
    int probe;                      /* next codec to try */
};

static double pump_ewma(double old, double v, bool seen)
{
    return seen ? old + PUMP_AUTO_ALPHA * (v - old) : v;
}

/* The codec for the next PAGES frame. */
static enum frame_codec pump_auto_pick(struct pump *p)
{
    struct pump_auto *a = p->autoc;
    enum frame_codec best = FRAME_CODEC_NONE;
    double t, best_t = -1;
    int c;

    if (a->frames++ % PUMP_AUTO_PROBE == 0 || !a->link_spb) {
        /* Probe the next available codec (NONE measures the link). */
        do {
            c = a->probe;
            a->probe = (a->probe + 1) % FRAME_CODEC_NR;
        } while (!frame_codec_available(c));
        return c;
    }
    for (c = 0; c < FRAME_CODEC_NR; c++) {
        if (!a->seen[c]) continue;
        t = a->wpr[c] * a->link_spb;
        if (a->enc_spb[c] > t) t = a->enc_spb[c];
        if (best_t < 0 || t < best_t) {
            best = c;
            best_t = t;
        }
    }
    return best;
}

static void pump_auto_learn(struct pump *p, enum frame_codec c, size_t raw,
                            size_t wire, double t_enc, double t_out)
{
    struct pump_auto *a = p->autoc;

    if (!a || !raw || !wire) return;
    a->enc_spb[c] = pump_ewma(a->enc_spb[c], t_enc / (double)raw,
                              a->seen[c]);
    a->wpr[c] = pump_ewma(a->wpr[c], (double)wire / (double)raw,
                          a->seen[c]);
    a->seen[c] = true;
    a->win_bytes += wire;
    a->win_s += t_out;
    if (a->win_bytes >= PUMP_AUTO_WINDOW) {
        a->link_spb = pump_ewma(a->link_spb,
                                a->win_s / (double)a->win_bytes,
                                a->link_spb > 0);
        a->win_bytes = 0;
        a->win_s = 0;
    }
}

void pump_frame_setup(struct pump *p)
{
    if (p->o.enc) {
        p->pend = xmalloc(FRAME_RAW_MAX);
        p->frame = xmalloc(frame_enc_bound(FRAME_RAW_MAX));
        if (p->o.codec == PUMP_CODEC_AUTO)
            p->autoc = xcalloc(1, sizeof(*p->autoc));
    }
    if (p->o.dec) {
        p->frame = xmalloc(FRAME_HDR_LEN + FRAME_WIRE_MAX + FRAME_TAG_LEN);
        p->iov = xcalloc(FRAME_IOV_MAX, sizeof(*p->iov));
    }
}

void pump_frame_free(struct pump *p)
{
    free(p->pend);
    free(p->frame);
    free(p->iov);
    free(p->autoc);
}

/* Sends the frame in p->frame; spends its bytes from the bucket. */
static int pump_put_frame(struct pump *p, size_t len, double *t_out_r)
{
    double t0 = ctx_now(p->ctx);
    int rc;

    if (++p->frames_out == p->o.fault_frame) {
        LOG(p->ctx, WARN, "test hook: corrupting frame %lu", p->frames_out);
        p->frame[len / 2] ^= 0x40;
    }
    rc = fdio_write_all(p->ctx, p->o.out_fd, p->frame, len, &p->o.wait,
                        p->o.out_what);
    if (t_out_r) *t_out_r = ctx_now(p->ctx) - t0;
    if (rc) return rc;
    p->wire_bytes += len;
    pump_spend(p, len);
    return XLMIG_OK;
}

static int pump_enc_failed(struct pump *p, int rc, const char *what)
{
    LOGR(p->ctx, ERROR, rc, "cannot encode the %s frame of %s", what,
         p->o.in_what);
    return rc;
}

/* The pending stream bytes as one DATA frame. */
static int pump_flush(struct pump *p)
{
    enum frame_codec c;
    size_t len;
    int rc;

    if (!p->pend_len) return XLMIG_OK;
    /* Headers and pfn lists: small, and lz4 costs little on them. */
    c = p->o.codec == PUMP_CODEC_AUTO ? FRAME_CODEC_NONE : p->o.codec;
    rc = frame_enc_data(p->o.enc, c, p->pend, p->pend_len, p->frame, &len);
    if (rc) return pump_enc_failed(p, rc, "data");
    p->pend_len = 0;
    rc = pump_put_frame(p, len, NULL);
    if (!rc) pump_account(p);
    return rc;
}

/*
 * Reads exactly n bytes of page data into buf; *eof_r if the input ends
 * first.
 */
static int pump_read_pages(struct pump *p, uint8_t *buf, size_t n,
                           bool *eof_r)
{
    size_t have = 0, got;
    int rc;

    while (have < n) {
        rc = fdio_read_some(p->ctx, p->o.in_fd, buf + have, n - have,
                            &p->o.wait, p->o.in_what, &got);
        if (rc) return rc;
        if (!got) {
            /* What came is fed, so that the parser names the cut. */
            *eof_r = true;
            return have ? stream_skip(p->parser, have) : XLMIG_OK;
        }
        have += got;
    }
    return XLMIG_OK;
}

static int pump_enc_pages(struct pump *p, size_t body, bool *eof_r)
{
    struct frame_enc_stats st;
    enum frame_codec c;
    size_t n = body < FRAME_RAW_MAX ? body : FRAME_RAW_MAX, len;
    double t0, t_out;
    int rc;

    n -= n % FRAME_PAGE_SIZE;
    rc = pump_flush(p);
    /* Read where the frame is made: the read is the only copy. */
    if (!rc)
        rc = pump_read_pages(p, p->frame + frame_pages_inplace_offset(n), n,
                             eof_r);
    if (rc || *eof_r) return rc;
    rc = stream_skip(p->parser, n);
    if (rc) return rc;
    c = p->autoc ? pump_auto_pick(p) : (enum frame_codec)p->o.codec;
    t0 = ctx_now(p->ctx);
    rc = frame_enc_pages_inplace(p->o.enc, c, p->frame, n, &len);
    if (rc) return pump_enc_failed(p, rc, "pages");
    t0 = ctx_now(p->ctx) - t0;
    rc = pump_put_frame(p, len, &t_out);
    if (rc) return rc;
    pump_auto_learn(p, c, n, len, t0, t_out);
    frame_enc_get_stats(p->o.enc, &st);
    p->zero_pages = st.zero_pages;
    pump_account(p);
    return XLMIG_OK;
}

/* Whether libxl has more for us right now. */
static bool pump_in_ready(struct pump *p)
{
    struct pollfd pfd = { .fd = p->o.in_fd, .events = POLLIN };

    return poll(&pfd, 1, 0) != 0;
}

/* Stream bytes that are not page data: into the pending DATA frame. */
static int pump_enc_other(struct pump *p, bool *eof_r)
{
    size_t want = stream_want(p->parser), got;
    int rc;

    if (p->pend_len == FRAME_RAW_MAX ||
        (p->pend_len && !pump_in_ready(p))) {
        rc = pump_flush(p);
        if (rc) return rc;
    }
    if (want > FRAME_RAW_MAX - p->pend_len)
        want = FRAME_RAW_MAX - p->pend_len;
    rc = fdio_read_some(p->ctx, p->o.in_fd, p->pend + p->pend_len, want,
                        &p->o.wait, p->o.in_what, &got);
    if (rc) return rc;
    if (!got) {
        *eof_r = true;
        return XLMIG_OK;
    }
    rc = pump_feed_all(p, p->pend + p->pend_len, got);
    if (!rc) rc = pump_hold(p);
    if (rc) return rc;
    p->pend_len += got;
    return XLMIG_OK;
}

int pump_enc_step(struct pump *p, bool *eof_r)
{
    size_t body = stream_page_body_left(p->parser);
    int rc;

    *eof_r = false;
    rc = pump_throttle(p);
    if (rc) return rc;
    if (body >= FRAME_PAGE_SIZE) return pump_enc_pages(p, body, eof_r);
    return pump_enc_other(p, eof_r);
}

int pump_enc_finish(struct pump *p)
{
    size_t len;
    int rc;

    rc = pump_flush(p);
    if (rc) return rc;
    rc = frame_enc_end(p->o.enc, p->frame, &len);
    if (rc) return pump_enc_failed(p, rc, "end");
    rc = pump_put_frame(p, len, NULL);
    if (rc) return rc;
    p->end_sent = true;
    pump_account(p);
    return XLMIG_OK;
}

/*
 * Reads, checks and opens the next frame: its stream bytes are the
 * *iovcnt_r pieces of p->iov.
 */
static int pump_dec_frame(struct pump *p, struct frame_hdr *h, int *iovcnt_r)
{
    char *why = NULL;
    int rc;

    *iovcnt_r = 0;
    rc = fdio_read_exact(p->ctx, p->o.in_fd, p->frame, FRAME_HDR_LEN,
                         &p->o.wait, p->o.in_what);
    if (rc) return rc;
    rc = frame_dec_hdr(p->o.dec, p->frame, h, &why);
    if (!rc)
        rc = fdio_read_exact(p->ctx, p->o.in_fd, p->frame + FRAME_HDR_LEN,
                             h->wire_len + FRAME_TAG_LEN, &p->o.wait,
                             p->o.in_what);
    if (!rc && !why)
        rc = frame_dec_open_iov(p->o.dec, h, p->frame,
                                p->frame + FRAME_HDR_LEN, p->iov, iovcnt_r,
                                &why);
    if (why) LOG(p->ctx, ERROR, "%s: %s", p->o.in_what, why);
    free(why);
    if (!rc) p->wire_bytes += FRAME_HDR_LEN + h->wire_len + FRAME_TAG_LEN;
    return rc;
}

/*
 * Accounts the opened frame h (pieces p->iov) to the parser: page data,
 * checked to be what the stream holds next, is skipped; other bytes are
 * fed, and must not go past the end record.
 */
static int pump_dec_parse(struct pump *p, const struct frame_hdr *h, int cnt)
{
    size_t used, fed = 0;
    int rc, i;

    if (h->type == FRAME_PAGES) {
        if (stream_page_body_left(p->parser) < h->raw_len) {
            LOG(p->ctx, ERROR, "%s: page frame of %u bytes where the "
                "stream holds no such page data", p->o.in_what,
                h->raw_len);
            return XLMIG_E_PROTO;
        }
        return stream_skip(p->parser, h->raw_len);
    }
    for (i = 0; i < cnt; i++) {
        rc = pump_feed(p, p->iov[i].iov_base, p->iov[i].iov_len, &used);
        if (rc) return rc;
        fed += used;
        if (used != p->iov[i].iov_len) break;
    }
    if (fed != h->raw_len) {
        LOG(p->ctx, ERROR, "%s: %zu bytes after the stream's end record",
            p->o.in_what, (size_t)h->raw_len - fed);
        return XLMIG_E_PROTO;
    }
    return XLMIG_OK;
}

int pump_dec_step(struct pump *p, bool *eof_r)
{
    struct frame_hdr h;
    int rc, cnt;

    *eof_r = false;
    rc = pump_dec_frame(p, &h, &cnt);
    if (rc) return rc;
    if (h.type == FRAME_END) {
        LOG(p->ctx, ERROR, "%s: END frame before the end of the stream "
            "(%s)", p->o.in_what, "cut short by the sender");
        return XLMIG_E_PROTO;
    }
    if (h.type != FRAME_DATA && h.type != FRAME_PAGES) {
        LOG(p->ctx, ERROR, "%s: unexpected frame type %u", p->o.in_what,
            h.type);
        return XLMIG_E_PROTO;
    }
    rc = pump_dec_parse(p, &h, cnt);
    if (rc) return rc;
    /* Straight from the frame (and a zero page) to libxl: no copy. */
    rc = fdio_writev_all(p->ctx, p->o.out_fd, p->iov, cnt, &p->o.wait,
                         p->o.out_what);
    if (rc) return rc;
    pump_account(p);
    return XLMIG_OK;
}

int pump_dec_finish(struct pump *p)
{
    struct frame_hdr h;
    int rc, cnt;

    rc = pump_dec_frame(p, &h, &cnt);
    if (rc) return rc;
    if (h.type != FRAME_END) {
        LOG(p->ctx, ERROR, "%s: frame after the stream's end record",
            p->o.in_what);
        return XLMIG_E_PROTO;
    }
    p->end_sent = true;
    pump_account(p);
    return XLMIG_OK;
}
