/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pump-auto.c - the auto codec's choice (pump-auto.h): a cost model per
 * frame, moving averages of what the frames measured, and downstream's
 * rates fitted to the output queue. The pump measures; this decides.
 */
#include <string.h>

#include "pump-auto.h"

#define PUMP_AUTO_ALPHA 0.25        /* weight of a new measurement */
#define PUMP_AUTO_ALPHA_OTHER 0.1   /* of the thread's other CPU */
/* Without the queue: what a codec that costs more CPU must save to be
 * chosen. */
#define PUMP_AUTO_MARGIN 0.10
#define PUMP_AUTO_FORGET 0.9        /* the fit's weight of the past */
/* An interval of the fit: a few frames, well above a clock tick. */
#define PUMP_AUTO_WIN_WIRE (1u << 20)
#define PUMP_AUTO_WIN_RAW (8u << 20)
/*
 * Bytes that left a queue that then stood empty, before they bound
 * downstream's rates: more than TCP may push into the device queue at
 * once (4 MiB), which leaves at the link's pace afterwards.
 */
#define PUMP_AUTO_IDLE_WINDOW (16u << 20)
/* Where the queue cannot be seen: wire bytes per timed-writes sample. */
#define PUMP_AUTO_WRITE_WINDOW (8u << 20)
/* Below this payload (no page kept) a codec has nothing to do. */
#define PUMP_AUTO_MIN_PAYLOAD FRAME_PAGE_SIZE
/*
 * Only frames of this many bytes teach the averages (and take a codec's
 * first try): a small one costs mostly the calls (a pfn list of 8 KiB
 * between two page frames), which a byte rate would spread over the
 * large ones.
 */
#define PUMP_AUTO_LEARN_MIN (64u << 10)
#define PUMP_AUTO_OVERHEAD (FRAME_HDR_LEN + FRAME_TAG_LEN)

static double pump_auto_ewma(double old, double v, bool seen, double alpha)
{
    return seen ? old + alpha * (v - old) : v;
}

void pump_auto_init(struct pump_auto *a)
{
    int k, c;

    memset(a, 0, sizeof(*a));
    for (k = 0; k < PUMP_AUTO_CLASSES; k++)
        for (c = 0; c < FRAME_CODEC_NR; c++)
            a->est[k][c].gap = PUMP_AUTO_PROBE_MIN;
}

void pump_auto_set_limit(struct pump_auto *a, uint64_t limit)
{
    a->limit = limit;
}

void pump_auto_set_shared(struct pump_auto *a, bool shared)
{
    a->shared = shared;
}

/* ---- the choice ---- */

/* The model's seconds of one frame of class cls with codec c. */
static void pump_auto_cost(const struct pump_auto *a,
                           enum pump_auto_class cls, enum frame_codec c,
                           size_t raw, size_t payload, double *cpu_r,
                           double *down_r)
{
    const struct pump_auto_codec *e = &a->est[cls][c];
    double wire = c == FRAME_CODEC_NONE || !e->seen ? 1.0 : e->wire;
    double wire_s = a->shared ? 0 : a->wire_s;

    if (a->limit && 1.0 / (double)a->limit > wire_s)
        wire_s = 1.0 / (double)a->limit;
    *cpu_r = (double)raw * a->other_s[cls] +
             (double)payload * (e->seen ? e->secs : 0.0);
    *down_r = wire_s * ((double)payload * wire + PUMP_AUTO_OVERHEAD) +
              (a->shared ? 0 : a->raw_s * (double)raw);
}

/*
 * What a frame with codec c adds to the transfer's end. With the queue in
 * view that end is this thread's time plus the downstream work still
 * queued (the backlog, seconds) once it is done: the frame takes cpu(c)
 * here while downstream works the backlog off, then adds down(c) to it.
 * While the backlog covers cpu(c) the frame costs down(c) alone (its CPU
 * comes free); past that its CPU counts too: cpu(c) + down(c) - backlog.
 * So a link with work queued gets frames that compress more, a link that
 * waits gets cheap ones, and between the two the frames mix codecs to
 * keep both busy. Without the queue: the larger of the two.
 */
static double pump_auto_time(const struct pump_auto *a,
                             enum pump_auto_class cls, enum frame_codec c,
                             size_t raw, size_t payload)
{
    double cpu, down, b;

    pump_auto_cost(a, cls, c, raw, payload, &cpu, &down);
    if (!a->q_have) return cpu > down ? cpu : down;
    b = a->shared ? 0 : a->wire_s * (double)a->q_wait.wire +
                            a->raw_s * (double)a->q_wait.raw;
    return cpu <= b ? down : cpu + down - b;
}

/*
 * Whether trying c beside best could pay. Codecs go from NONE (no CPU,
 * most bytes) to ZSTD (most CPU, fewest bytes). While the queue keeps
 * bytes as frames are made downstream is the bottleneck, and only a
 * codec further up can help (its CPU comes free then); while it runs
 * dry the thread is, and only one further down can. Without a view of
 * the queue, any codec may. Not the estimates: those of a codec not
 * chosen are as old as its last try. NONE needs no try: it sends the
 * payload.
 */
static bool pump_auto_worth_trying(const struct pump_auto *a,
                                   enum frame_codec best, enum frame_codec c)
{
    if (c == FRAME_CODEC_NONE) return false;
    if (!a->q_have) return true;
    return a->starved ? c < best : c > best;
}

struct pump_auto_choice pump_auto_pick(struct pump_auto *a,
                                       enum pump_auto_class cls,
                                       size_t raw, size_t payload)
{
    struct pump_auto_choice ch = { FRAME_CODEC_NONE, FRAME_CODEC_NR };
    struct pump_auto_codec *e;
    uint64_t n = ++a->frames[cls];
    enum frame_codec c;
    double t, best_t, margin;

    /* Nothing to save downstream: no codec to try either. */
    if (payload < PUMP_AUTO_MIN_PAYLOAD || (a->shared && !a->limit))
        return ch;
    /* A codec never tried goes first. */
    for (c = FRAME_CODEC_NONE + 1; c < FRAME_CODEC_NR; c++) {
        e = &a->est[cls][c];
        if (frame_codec_available(c) && !e->seen &&
            payload >= PUMP_AUTO_LEARN_MIN) {
            e->last = n;
            ch.codec = c;
            return ch;
        }
    }
    /* The queue keeps the choice current; without it, a margin. */
    margin = a->q_have ? 0 : PUMP_AUTO_MARGIN;
    best_t = pump_auto_time(a, cls, ch.codec, raw, payload);
    for (c = FRAME_CODEC_NONE + 1; c < FRAME_CODEC_NR; c++) {
        if (!frame_codec_available(c)) continue;
        t = pump_auto_time(a, cls, c, raw, payload);
        if (t < best_t * (1 - margin)) {
            ch.codec = c;
            best_t = t;
        }
    }
    e = &a->est[cls][ch.codec];
    e->last = n;
    e->gap = PUMP_AUTO_PROBE_MIN;
    /* One due for another try, if it could pay. */
    for (c = FRAME_CODEC_NONE;
         payload >= PUMP_AUTO_LEARN_MIN && c < FRAME_CODEC_NR; c++) {
        e = &a->est[cls][c];
        if (c == ch.codec || !frame_codec_available(c) ||
            n - e->last < e->gap)
            continue;
        e->last = n;
        if (!pump_auto_worth_trying(a, ch.codec, c)) continue;
        /* Tried less often each time it is not then chosen. */
        e->gap = e->gap * 2 > PUMP_AUTO_PROBE_MAX ? PUMP_AUTO_PROBE_MAX
                                                  : e->gap * 2;
        ch.trial = c;
        break;
    }
    return ch;
}

/* ---- what the frames cost ---- */

static void pump_auto_learn(struct pump_auto_codec *e, double wire,
                            double secs)
{
    e->wire = pump_auto_ewma(e->wire, wire, e->seen, PUMP_AUTO_ALPHA);
    e->secs = pump_auto_ewma(e->secs, secs, e->seen, PUMP_AUTO_ALPHA);
    e->seen = true;
}

void pump_auto_frame(struct pump_auto *a, const struct pump_auto_cost *f)
{
    enum frame_codec c = f->ch.codec, tr = f->ch.trial;
    struct pump_auto_codec *e, *et;
    unsigned last;
    double w, p = (double)f->payload;

    if ((unsigned)c >= FRAME_CODEC_NR ||
        (unsigned)f->cls >= PUMP_AUTO_CLASSES)
        return;
    e = &a->est[f->cls][c];
    e->picked++;
    if (f->raw >= PUMP_AUTO_LEARN_MIN) {
        a->other_s[f->cls] = pump_auto_ewma(a->other_s[f->cls],
                                            f->t_other / (double)f->raw,
                                            a->other_seen[f->cls],
                                            PUMP_AUTO_ALPHA_OTHER);
        a->other_seen[f->cls] = true;
    }
    if (f->payload >= PUMP_AUTO_LEARN_MIN) {
        w = f->wire > PUMP_AUTO_OVERHEAD
            ? (double)(f->wire - PUMP_AUTO_OVERHEAD) : 0.0;
        pump_auto_learn(e, w / p, f->t_codec / p);
        if ((unsigned)tr < FRAME_CODEC_NR && tr != c && w > 0) {
            /* Paired on the same bytes: the chosen codec's average,
             * times what the trial made of them against it. */
            et = &a->est[f->cls][tr];
            et->seen = false;
            pump_auto_learn(et, e->wire * (double)f->trial_len / w,
                            f->t_trial / p);
        }
    }
    /* Where it will end in the queue; a full ring stretches its last. */
    a->framed.wire += f->wire;
    a->framed.raw += f->raw;
    if (a->r_len < PUMP_AUTO_RING) {
        a->r_len++;
        last = (a->r_head + a->r_len - 1) % PUMP_AUTO_RING;
    } else {
        last = (a->r_head + PUMP_AUTO_RING - 1) % PUMP_AUTO_RING;
    }
    a->ring[last] = a->framed;
}

/* ---- downstream ---- */

/* The raw bytes of the frames up to wire byte sent (the frame it falls
 * in counts by its share); forgets the frames sent whole. */
static uint64_t pump_auto_raw_sent(struct pump_auto *a, uint64_t sent)
{
    const struct pump_auto_mark *m, *s = &a->sent_mark;

    while (a->r_len && a->ring[a->r_head].wire <= sent) {
        a->sent_mark = a->ring[a->r_head];
        a->r_head = (a->r_head + 1) % PUMP_AUTO_RING;
        a->r_len--;
    }
    if (!a->r_len || sent <= s->wire) return s->raw;
    m = &a->ring[a->r_head];
    return s->raw + (uint64_t)((double)(sent - s->wire) *
                               (double)(m->raw - s->raw) /
                               (double)(m->wire - s->wire));
}

/*
 * One busy interval: dw wire and dr raw bytes left in dt seconds. The
 * fit of dt = wire_s * dw + raw_s * dr, per byte of the interval so that
 * each counts alike, both rates at least 0; where the intervals cannot
 * tell the two apart, the link takes it all.
 */
static void pump_auto_fit(struct pump_auto *a, double dt, double dw,
                          double dr)
{
    double n = dw + dr, x = dw / n, y = dr / n, t = dt / n, det, ws, rs;
    const double f = PUMP_AUTO_FORGET;

    a->s_ww = f * a->s_ww + x * x;
    a->s_wr = f * a->s_wr + x * y;
    a->s_rr = f * a->s_rr + y * y;
    a->s_wt = f * a->s_wt + x * t;
    a->s_rt = f * a->s_rt + y * t;
    det = a->s_ww * a->s_rr - a->s_wr * a->s_wr;
    ws = rs = -1;
    if (det > 1e-6 * a->s_ww * a->s_rr) {
        ws = (a->s_wt * a->s_rr - a->s_rt * a->s_wr) / det;
        rs = (a->s_rt * a->s_ww - a->s_wt * a->s_wr) / det;
    }
    if (ws < 0 || rs < 0) {
        if (rs >= 0 && a->s_rr > 0 && ws < 0) {
            ws = 0;
            rs = a->s_rt / a->s_rr;
        } else {
            ws = a->s_ww > 0 ? a->s_wt / a->s_ww : 0;
            rs = 0;
        }
    }
    a->wire_s = ws;
    a->raw_s = rs;
}

void pump_auto_queue(struct pump_auto *a, double t, uint64_t written,
                     uint64_t waiting)
{
    uint64_t sent = waiting < written ? written - waiting : 0, rs, dw, dr;
    double dt, pred, scale;

    rs = pump_auto_raw_sent(a, sent);
    if (a->q_have && t >= a->q_t && sent >= a->q_sent.wire &&
        rs >= a->q_sent.raw) {
        dt = t - a->q_t;
        dw = sent - a->q_sent.wire;
        dr = rs - a->q_sent.raw;
        if (a->q_busy && waiting) {
            /* Bytes waited throughout: downstream set the pace. */
            a->win_t += dt;
            a->win.wire += dw;
            a->win.raw += dr;
            if (a->win.wire >= PUMP_AUTO_WIN_WIRE ||
                a->win.raw >= PUMP_AUTO_WIN_RAW) {
                pump_auto_fit(a, a->win_t, (double)a->win.wire,
                              (double)a->win.raw);
                a->win_t = 0;
                memset(&a->win, 0, sizeof(a->win));
            }
        } else if (!waiting) {
            a->idle_t += dt;
            a->idle.wire += dw;
            a->idle.raw += dr;
            if (a->idle.wire >= PUMP_AUTO_IDLE_WINDOW) {
                /* Downstream took all that, and had time to spare. */
                pred = a->wire_s * (double)a->idle.wire +
                       a->raw_s * (double)a->idle.raw;
                if (pred > a->idle_t) {
                    scale = a->idle_t / pred;
                    a->wire_s *= scale;
                    a->raw_s *= scale;
                }
                a->idle_t = 0;
                memset(&a->idle, 0, sizeof(a->idle));
            }
        }
    }
    /* No write since the last sample: the frame was being made. */
    if (written == a->q_written) a->starved = !waiting;
    a->q_written = written;
    a->q_wait.wire = waiting;
    a->q_wait.raw = a->framed.raw > rs ? a->framed.raw - rs : 0;
    a->q_have = true;
    a->q_t = t;
    a->q_sent.wire = sent;
    a->q_sent.raw = rs;
    a->q_busy = waiting > 0;
}

void pump_auto_write(struct pump_auto *a, size_t n, double secs)
{
    a->win_t += secs;
    a->win.wire += n;
    if (a->win.wire >= PUMP_AUTO_WRITE_WINDOW) {
        a->wire_s = pump_auto_ewma(a->wire_s,
                                   a->win_t / (double)a->win.wire,
                                   a->wire_s > 0, PUMP_AUTO_ALPHA);
        a->win_t = 0;
        a->win.wire = 0;
    }
}
