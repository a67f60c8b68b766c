/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pump-auto.h - the choice of PUMP_CODEC_AUTO: the codec of each frame of
 * a framed stream, from what the frames so far measured. Pure: the pump
 * hands in sizes, seconds and the state of its output queue; no I/O, no
 * clock, no globals, so recorded inputs give the same choices.
 *
 * The model. A frame of R raw stream bytes whose payload is P bytes (zero
 * pages left out; P = R for DATA frames) costs the sending thread
 *     cpu(c)  = R * other + P * codec(c)
 * seconds of CPU (other: reading, leaving out zero pages, writing, per
 * raw byte; codec(c): compressing and sealing, per payload byte), and
 * costs what lies downstream (the link, the receiver, libxl there)
 *     down(c) = wire_s * (P * wire(c) + overhead) + raw_s * R
 * seconds, wire(c) being wire bytes per payload byte. The two overlap
 * (the socket buffer sits between them). The transfer ends when this
 * thread is done plus the downstream work then still queued (the
 * backlog B, seconds): a frame takes cpu(c) here while downstream works
 * B off, then adds down(c) to it, so it moves the end by down(c) while
 * B covers cpu(c), by cpu(c) + down(c) - B past that. The codec that
 * moves it least is chosen: a link with work queued gets frames that
 * compress more, one that waits gets cheaper ones, and in between the
 * frames mix codecs to keep both the link and this thread busy (a mix
 * can beat every codec alone). Where the queue cannot be seen the frame
 * takes max(cpu(c), down(c)), and a codec that costs more CPU is chosen
 * only if it saves 10 %. Where the
 * receiver runs on this host (a migration to localhost), downstream is
 * no link but work on the same CPUs, which a codec only adds to
 * (compressing and decompressing cost more than the copies they save):
 * only a bandwidth limit counts there. codec(c) and wire(c) are moving
 * averages of the frames sent with c, per class of frame (a pfn list
 * compresses nothing like a page); NONE's wire(c) is 1.
 *
 * wire_s and raw_s are fitted (least squares, older intervals weighing
 * less) to the intervals in which bytes waited in the output queue
 * throughout: downstream was the bottleneck then, and what left the
 * queue (wire bytes, and the raw bytes of the frames they belong to)
 * took the interval's time. A link alone gives raw_s = 0; a receiver
 * that cannot write pages out faster, raw_s > 0 (then sending fewer
 * wire bytes buys less). Bytes that left a queue that then stood empty
 * bound the two from above. A bandwidth limit is a link of that rate.
 *
 * B is what the queue held at its last sample, at the fitted rates.
 *
 * Only frames of 64 KiB or more teach the averages (a small one costs
 * mostly its calls). The first such frames of a class go out with each
 * codec in turn (not to localhost without a limit: nothing to try for).
 * After that, a codec not chosen is tried on the side now and then, if it
 * could pay (one that compresses more while downstream is short, one
 * that compresses less while this thread is): the frame's payload is
 * compressed with it too and the result thrown away, so its wire(c) is
 * the chosen codec's times what the two made of the same bytes (the
 * data varies more from frame to frame than the codecs do). Every
 * PUMP_AUTO_PROBE_MIN frames of its class at first, twice as rarely each
 * time the try leaves it unchosen, at most every PUMP_AUTO_PROBE_MAX.
 * Everything is O(codecs) per frame (O(1) amortised for the queue).
 */
#ifndef XLMIG_PUMP_AUTO_H
#define XLMIG_PUMP_AUTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

#define PUMP_AUTO_PROBE_MIN 16
#define PUMP_AUTO_PROBE_MAX 256
#define PUMP_AUTO_RING 1024         /* frames tracked in the queue */

enum pump_auto_class {
    PUMP_AUTO_PAGES = 0,        /* FRAME_PAGES: page data */
    PUMP_AUTO_DATA = 1,         /* FRAME_DATA: headers, pfn lists, ... */
    PUMP_AUTO_CLASSES = 2,
};

/* What is known of one codec on one class of frames. */
struct pump_auto_codec {
    bool seen;
    double wire;                /* wire bytes per payload byte */
    double secs;                /* CPU seconds per payload byte */
    uint64_t last;              /* frame number of its last pick */
    uint64_t gap;               /* frames between tries when not chosen */
    uint64_t picked;            /* frames it was picked for */
};

/* Where a frame ends in the queue: wire and raw bytes so far. */
struct pump_auto_mark {
    uint64_t wire, raw;
};

struct pump_auto {
    struct pump_auto_codec est[PUMP_AUTO_CLASSES][FRAME_CODEC_NR];
    uint64_t frames[PUMP_AUTO_CLASSES];
    double other_s[PUMP_AUTO_CLASSES];  /* CPU s per raw byte, not codec */
    bool other_seen[PUMP_AUTO_CLASSES];
    uint64_t limit;             /* bytes per second; 0: none */
    bool shared;                /* downstream runs on our CPUs */

    /* Downstream: seconds per wire byte and per raw byte, and the
     * (decaying) sums of the least squares fit. */
    double wire_s, raw_s;
    double s_ww, s_wr, s_rr, s_wt, s_rt;

    /* The frames written and not yet sent, oldest first. */
    struct pump_auto_mark ring[PUMP_AUTO_RING];
    unsigned r_head, r_len;
    struct pump_auto_mark sent_mark;    /* where the oldest one starts */
    struct pump_auto_mark framed;       /* every frame so far */

    /* The queue at the last sample, and the interval being gathered. */
    bool q_have, q_busy;
    bool starved;               /* the queue ran dry as a frame was made */
    uint64_t q_written;
    double q_t;
    struct pump_auto_mark q_sent;
    struct pump_auto_mark q_wait;       /* what it held then */
    double win_t, idle_t;
    struct pump_auto_mark win, idle;
};

void pump_auto_init(struct pump_auto *a);

/* A frame's codec, and the codec to try on its payload beside it. */
struct pump_auto_choice {
    enum frame_codec codec;
    enum frame_codec trial;     /* FRAME_CODEC_NR: none */
};

/*
 * The codec for the next frame of class cls standing for raw stream
 * bytes that came to payload bytes (zero pages left out; raw for DATA).
 * Counts the frame: call once per frame, then pump_auto_frame().
 */
struct pump_auto_choice pump_auto_pick(struct pump_auto *a,
                                       enum pump_auto_class cls,
                                       size_t raw, size_t payload);

/* What a frame cost, as pump_auto_frame() takes it. */
struct pump_auto_cost {
    enum pump_auto_class cls;
    struct pump_auto_choice ch; /* what pump_auto_pick() said */
    size_t raw, payload;
    size_t wire;                /* the frame's bytes */
    double t_codec;             /* CPU seconds to compress and seal it */
    double t_other;             /* other CPU seconds since the last one */
    size_t trial_len;           /* what ch.trial made of the payload */
    double t_trial;             /* CPU seconds it took */
};

/* What the frame cost, before it is written. */
void pump_auto_frame(struct pump_auto *a, const struct pump_auto_cost *f);

/*
 * A sample of the output queue at time t (seconds): of the written bytes
 * written to it so far, waiting are still in it, unsent. Samples come
 * before and after each write.
 */
void pump_auto_queue(struct pump_auto *a, double t, uint64_t written,
                     uint64_t waiting);

/*
 * Where the queue cannot be seen (pump_auto_queue never called): a write
 * of n bytes took secs seconds. Writes that block measure the link.
 */
void pump_auto_write(struct pump_auto *a, size_t n, double secs);

/* The pump's bandwidth limit, bytes per second (0: none). */
void pump_auto_set_limit(struct pump_auto *a, uint64_t limit);

/* Whether the receiver runs on this host (its CPUs are ours). */
void pump_auto_set_shared(struct pump_auto *a, bool shared);

#endif /* XLMIG_PUMP_AUTO_H */
