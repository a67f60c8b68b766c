/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pump-frame.c - the pump's framed streams (frame.h), between two xlmig
 * ends that negotiated them over xlmig/1.
 *
 * Sender: page data of PAGE_DATA records is read in whole pages and sent
 * as PAGES frames (zero pages left out, compressed); every other byte of
 * the stream (record headers, pfn lists, other records) collects in a
 * pending buffer that goes out as one DATA frame before the next PAGES
 * frame, when it is full, or when libxl has had nothing more to give for
 * a millisecond (so a record never waits long for the next one; after
 * the memory, not at all). After the libxl END record: the END frame.
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
 * PUMP_CODEC_AUTO: pump-auto.h chooses the codec of each frame; this file
 * measures what it needs: the thread's CPU time to encode each frame and
 * for everything else (reads, zero pages, writes), and the output fd's
 * queue before and after each write (unsent bytes of a TCP socket,
 * unread bytes of a pipe or another socket).
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "pump-priv.h"

#define PUMP_FLUSH_WAIT_MS 1
/* Encoding steps that tell how much CPU the thread gets: long enough. */
#define PUMP_STRETCH_MIN_S 50e-6
#define PUMP_STRETCH_ALPHA 0.1

/* CPU seconds of the calling thread: what encoding costs, waits apart. */
static double pump_thread_cpu(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)) return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Both clocks at the start of an encoding step. */
static void pump_clock_start(struct pump *p, struct pump_clock *c)
{
    c->cpu = pump_thread_cpu();
    c->wall = ctx_now(p->ctx);
}

/*
 * Seconds since c of a step that never waits: the wall clock's, which
 * counts the CPU the thread did not get (a busy host) as a cost too.
 * Their ratio stretches the CPU seconds of the steps that do wait (reads
 * and writes), whose wall time is mostly waiting.
 */
static double pump_clock_end(struct pump *p, const struct pump_clock *c)
{
    double cpu = pump_thread_cpu() - c->cpu, wall = ctx_now(p->ctx) - c->wall;

    if (cpu >= PUMP_STRETCH_MIN_S && wall >= cpu)
        p->auto_stretch += PUMP_STRETCH_ALPHA * (wall / cpu -
                                                 p->auto_stretch);
    return wall;
}

/* The ioctl that says how many bytes fd still holds (0: none works). */
static unsigned long pump_outq_request(int fd)
{
    static const unsigned long sock[] = { SIOCOUTQNSD, SIOCOUTQ };
    struct stat st;
    size_t i;
    int n;

    if (fstat(fd, &st)) return 0;
    if (S_ISFIFO(st.st_mode)) return ioctl(fd, FIONREAD, &n) ? 0 : FIONREAD;
    if (!S_ISSOCK(st.st_mode)) return 0;
    /* SIOCOUTQNSD: a TCP socket's bytes not sent yet (those in flight
     * are the link's); other sockets have only SIOCOUTQ. */
    for (i = 0; i < ARRAY_SIZE(sock); i++)
        if (!ioctl(fd, sock[i], &n)) return sock[i];
    return 0;
}

/*
 * Whether the socket fd leads to this host: its peer has its own
 * address, or a loopback one. (A pipe, or ssh's socket, cannot tell.)
 */
static bool pump_peer_is_local(int fd)
{
    struct sockaddr_storage me, peer;
    socklen_t ml = sizeof(me), pl = sizeof(peer);
    const struct sockaddr_in *m4 = (const void *)&me;
    const struct sockaddr_in *p4 = (const void *)&peer;
    const struct sockaddr_in6 *m6 = (const void *)&me;
    const struct sockaddr_in6 *p6 = (const void *)&peer;

    if (getsockname(fd, (struct sockaddr *)&me, &ml) ||
        getpeername(fd, (struct sockaddr *)&peer, &pl) ||
        me.ss_family != peer.ss_family)
        return false;
    if (peer.ss_family == AF_INET)
        return p4->sin_addr.s_addr == m4->sin_addr.s_addr ||
               (ntohl(p4->sin_addr.s_addr) >> 24) == 127;
    if (peer.ss_family == AF_INET6)
        return !memcmp(&p6->sin6_addr, &m6->sin6_addr,
                       sizeof(p6->sin6_addr)) ||
               IN6_IS_ADDR_LOOPBACK(&p6->sin6_addr);
    return false;
}

/*
 * Whether auto has anything to measure: not to a receiver on this host
 * without a limit (pump_auto_pick() sends no codec there, whatever it
 * is told), where even a few system calls a frame would show.
 */
static bool pump_measuring(struct pump *p)
{
    return p->autoc && !(p->autoc->shared && !atomic_load(&p->limit));
}

/* Before and after each write of an auto stream: the queue, or if that
 * cannot be seen, how long the write took. */
static void pump_sample_queue(struct pump *p, size_t wrote, double t_out)
{
    int n;

    if (!p->outq_req) {
        if (wrote) pump_auto_write(p->autoc, wrote, t_out);
        return;
    }
    if (ioctl(p->o.out_fd, p->outq_req, &n) || n < 0) return;
    pump_auto_queue(p->autoc, ctx_now(p->ctx), p->wire_bytes,
                    (uint64_t)n);
}

/* The codec of a frame of class cls: the fixed one, or auto's pick. */
static struct pump_auto_choice pump_choose(struct pump *p,
                                           enum pump_auto_class cls,
                                           size_t raw, size_t payload)
{
    struct pump_auto_choice ch = { (enum frame_codec)p->o.codec,
                                   FRAME_CODEC_NR };

    if (!p->autoc) return ch;
    pump_auto_set_limit(p->autoc, atomic_load(&p->limit));
    return pump_auto_pick(p->autoc, cls, raw, payload);
}

/*
 * Auto's trial of another codec on the payload of f (the packed pages of
 * pk in p->frame, or the raw bytes at in), before the frame is made.
 */
static int pump_try_beside(struct pump *p, struct pump_auto_cost *f,
                           const struct frame_packed *pk, const uint8_t *in)
{
    struct pump_clock c;
    int rc;

    if ((unsigned)f->ch.trial >= FRAME_CODEC_NR) return XLMIG_OK;
    pump_clock_start(p, &c);
    rc = pk ? frame_enc_try_pages(p->o.enc, f->ch.trial, p->frame, pk,
                                  &f->trial_len)
            : frame_enc_try_data(p->o.enc, f->ch.trial, in, f->raw,
                                 &f->trial_len);
    p->auto_trial_cpu = pump_thread_cpu() - c.cpu;
    f->t_trial = pump_clock_end(p, &c);
    return rc;
}

/*
 * What the frame just made cost: its codec from c on; the rest since
 * the last frame, less any trial, in CPU seconds stretched as the codec's
 * were.
 */
static void pump_report_cost(struct pump *p, struct pump_auto_cost *f,
                             const struct pump_clock *c)
{
    double other;

    /* The pump thread's clock: its first frame has nothing before. */
    if (!p->auto_cpu) p->auto_cpu = c->cpu - p->auto_trial_cpu;
    other = c->cpu - p->auto_cpu - p->auto_trial_cpu;
    f->t_codec = pump_clock_end(p, c);
    f->t_other = other * p->auto_stretch;
    pump_auto_frame(p->autoc, f);
    p->auto_cpu = pump_thread_cpu();
    p->auto_trial_cpu = 0;
}

/* A frame auto did not time: counted, and the clock starts afresh. */
static void pump_count_unmeasured(struct pump *p, struct pump_auto_cost *f)
{
    pump_auto_frame(p->autoc, f);
    p->auto_cpu = 0;
}

void pump_frame_setup(struct pump *p)
{
    if (p->o.enc) {
        p->pend = xmalloc(FRAME_RAW_MAX);
        p->frame = xmalloc(frame_enc_bound(FRAME_RAW_MAX));
        if (p->o.codec == PUMP_CODEC_AUTO) {
            p->autoc = xmalloc(sizeof(*p->autoc));
            pump_auto_init(p->autoc);
            p->auto_stretch = 1;
            p->outq_req = pump_outq_request(p->o.out_fd);
            pump_auto_set_shared(p->autoc, pump_peer_is_local(p->o.out_fd));
        }
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
static int pump_put_frame(struct pump *p, size_t len)
{
    double t0 = ctx_now(p->ctx);
    int rc;

    if (++p->frames_out == p->o.fault_frame) {
        LOG(p->ctx, WARN, "test hook: corrupting frame %lu", p->frames_out);
        p->frame[len / 2] ^= 0x40;
    }
    if (pump_measuring(p)) pump_sample_queue(p, 0, 0);
    rc = fdio_write_all(p->ctx, p->o.out_fd, p->frame, len, &p->o.wait,
                        p->o.out_what);
    if (rc) return rc;
    p->wire_bytes += len;
    if (pump_measuring(p)) pump_sample_queue(p, len, ctx_now(p->ctx) - t0);
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
    struct pump_auto_cost f = { .cls = PUMP_AUTO_DATA, .raw = p->pend_len,
                                .payload = p->pend_len };
    struct pump_clock c = { 0, 0 };
    int rc;

    if (!f.raw) return XLMIG_OK;
    f.ch = pump_choose(p, f.cls, f.raw, f.payload);
    rc = pump_try_beside(p, &f, NULL, p->pend);
    if (!rc) {
        if (pump_measuring(p)) pump_clock_start(p, &c);
        rc = frame_enc_data(p->o.enc, f.ch.codec, p->pend, f.raw, p->frame,
                            &f.wire);
    }
    if (rc) return pump_enc_failed(p, rc, "data");
    if (pump_measuring(p)) pump_report_cost(p, &f, &c);
    else if (p->autoc) pump_count_unmeasured(p, &f);
    p->pend_len = 0;
    rc = pump_put_frame(p, f.wire);
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
    struct frame_packed pk;
    struct pump_auto_cost f = { .cls = PUMP_AUTO_PAGES };
    struct pump_clock c = { 0, 0 };
    size_t n = body < FRAME_RAW_MAX ? body : FRAME_RAW_MAX;
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
    /* Zero pages out first: the choice knows what is left to send. */
    rc = frame_enc_pack_pages(p->frame, n, &pk);
    if (!rc) {
        f.raw = n;
        f.payload = pk.payload_len;
        f.ch = pump_choose(p, f.cls, n, pk.payload_len);
        rc = pump_try_beside(p, &f, &pk, NULL);
    }
    if (!rc) {
        if (pump_measuring(p)) pump_clock_start(p, &c);
        rc = frame_enc_packed_pages(p->o.enc, f.ch.codec, p->frame, &pk,
                                    &f.wire);
    }
    if (rc) return pump_enc_failed(p, rc, "pages");
    if (pump_measuring(p)) pump_report_cost(p, &f, &c);
    else if (p->autoc) pump_count_unmeasured(p, &f);
    rc = pump_put_frame(p, f.wire);
    if (rc) return rc;
    frame_enc_get_stats(p->o.enc, &st);
    p->zero_pages = st.zero_pages;
    pump_account(p);
    return XLMIG_OK;
}

/*
 * Whether libxl has more for us now or, while the memory goes, within
 * PUMP_FLUSH_WAIT_MS: libxc writes a record at a time, and a pipe it has
 * not refilled yet must not cut the records that follow (a PVH guest's
 * thousand pfn lists without pages) into frames of one each. After the
 * memory the guest is suspended: no wait then.
 */
static bool pump_in_ready(struct pump *p)
{
    struct pollfd pfd = { .fd = p->o.in_fd, .events = POLLIN };

    return poll(&pfd, 1, p->hold_due ? 0 : PUMP_FLUSH_WAIT_MS) != 0;
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

/* What auto chose, for the log. */
static void pump_log_auto(struct pump *p)
{
    const struct pump_auto *a = p->autoc;
    const struct pump_auto_codec *pg = a->est[PUMP_AUTO_PAGES];
    const struct pump_auto_codec *da = a->est[PUMP_AUTO_DATA];

    LOG(p->ctx, DEBUG, "%s: auto codec: page frames none %" PRIu64 ", lz4 %"
        PRIu64 ", zstd %" PRIu64 "; data frames none %" PRIu64 ", lz4 %"
        PRIu64 ", zstd %" PRIu64 "; downstream %.2f ns a wire byte, %.2f "
        "ns a raw byte%s", p->o.out_what, pg[FRAME_CODEC_NONE].picked,
        pg[FRAME_CODEC_LZ4].picked, pg[FRAME_CODEC_ZSTD].picked,
        da[FRAME_CODEC_NONE].picked, da[FRAME_CODEC_LZ4].picked,
        da[FRAME_CODEC_ZSTD].picked, a->wire_s * 1e9, a->raw_s * 1e9,
        a->shared ? " (receiver on this host)" : "");
}

int pump_enc_finish(struct pump *p)
{
    size_t len;
    int rc;

    rc = pump_flush(p);
    if (rc) return rc;
    if (p->autoc) pump_log_auto(p);
    rc = frame_enc_end(p->o.enc, p->frame, &len);
    if (rc) return pump_enc_failed(p, rc, "end");
    rc = pump_put_frame(p, len);
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
