/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pump-priv.h - what pump.c (the thread, raw streams, the bandwidth limit)
 * and pump-frame.c (framed streams of xlmig/1) share.
 */
#ifndef XLMIG_PUMP_PRIV_H
#define XLMIG_PUMP_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "frame.h"
#include "pump-auto.h"
#include "pump.h"
#include "stream.h"

#define PUMP_CHUNK (1u << 20)       /* research/perf.md section 5.2 */
#define PUMP_SPLICE_MIN (64u << 10) /* smaller bodies are read */
#define PUMP_BURST_S 0.25           /* what the bucket holds, in seconds */
#define PUMP_SLICES 10              /* a limited move is limit/10 at most */

/* The pump thread's CPU time and the wall clock, at once. */
struct pump_clock {
    double cpu, wall;
};

struct pump {
    struct xlmig_ctx *ctx;
    struct pump_opts o;
    pthread_t thread;
    bool started, joined;
    bool no_splice;             /* the fds refused splice(2) */
    int stop_pipe[2];
    int fail_pipe[2];
    int out_flags;              /* to restore, -1 if unchanged */
    struct stream *parser;
    uint8_t *chunk;
    int rc;
    bool hold_due;              /* the memory is sent: hold now */
    bool held;                  /* hold returned 0 */

    /* The bandwidth limit: bytes/s (0: none) and the pump thread's
     * token bucket. */
    _Atomic uint64_t limit;
    double tokens, t_tokens;

    /* Framed streams (pump-frame.c). */
    uint8_t *pend;              /* stream bytes for the next DATA frame */
    size_t pend_len;
    uint8_t *frame;             /* one encoded frame, or a read one */
    struct iovec *iov;          /* the decoder's output: FRAME_IOV_MAX
                                   pieces of frame (frame_dec_open_iov) */
    bool end_sent;              /* the END frame went out / came in */
    struct pump_auto *autoc;    /* PUMP_CODEC_AUTO's choice */
    unsigned long outq_req;     /* ioctl for out_fd's queue; 0: none */
    double auto_cpu;            /* thread CPU time at the last frame */
    double auto_trial_cpu;      /* of the trial since then */
    double auto_stretch;        /* wall / CPU seconds of encoding */
    uint64_t wire_bytes;        /* frame bytes moved (0: raw stream) */
    uint64_t zero_pages;        /* pages left out of PAGES frames */
    unsigned long frames_out;   /* frames sent */

    pthread_mutex_t lock;       /* protects what follows */
    struct xlmig_progress prog;
    double t_first, t_end;
};

/* pump.c */
/* Feeds the parser; logs a malformed stream. */
MUST_CHECK int pump_feed(struct pump *p, const void *buf, size_t len,
                         size_t *used_r);
/* Feeds what was read from a stream that must not end inside it. */
MUST_CHECK int pump_feed_all(struct pump *p, const void *buf, size_t len);
MUST_CHECK int pump_throttle(struct pump *p);
/* After a feed: calls hold (pump_opts) once, if due. */
MUST_CHECK int pump_hold(struct pump *p);
void pump_spend(struct pump *p, size_t n);
void pump_account(struct pump *p);

/* pump-frame.c: one step of a framed stream; *eof_r when input ended. */
MUST_CHECK int pump_enc_step(struct pump *p, bool *eof_r);
MUST_CHECK int pump_enc_finish(struct pump *p);
MUST_CHECK int pump_dec_step(struct pump *p, bool *eof_r);
/* After the libxl END record: the sender flushes and sends the END
 * frame, the receiver reads it. */
MUST_CHECK int pump_dec_finish(struct pump *p);
void pump_frame_setup(struct pump *p);
void pump_frame_free(struct pump *p);

#endif /* XLMIG_PUMP_PRIV_H */
