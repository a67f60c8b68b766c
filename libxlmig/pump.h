/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pump.h - moves one libxl migration stream from an fd to an fd in its own
 * thread, parsing it on the way (stream.c) for progress and to stop exactly
 * after the libxl END record, so the protocol messages that follow on the
 * same fd are left for the caller.
 */
#ifndef XLMIG_PUMP_H
#define XLMIG_PUMP_H

#include "fdio.h"
#include "frame.h"
#include "internal.h"

struct pump;

/* pump_opts.codec: pick per frame by measured link and codec speed. */
#define PUMP_CODEC_AUTO (-1)

struct pump_opts {
    int in_fd;
    int out_fd;                 /* made non-blocking while pumping */
    struct fdio_wait wait;      /* stall timeout and cancel fd */
    const char *in_what;        /* "stream from libxl", for messages */
    const char *out_what;
    uint64_t limit;             /* bytes per second; 0: as fast as it goes */

    /*
     * A framed stream (frame.h), xlmig/1 only. Sender: enc set, the pump
     * reads the raw stream from in_fd and writes frames (zero pages left
     * out, compressed with codec: FRAME_CODEC_* or PUMP_CODEC_AUTO), then
     * the END frame. Receiver: dec set, the pump reads frames from in_fd
     * up to the END frame and writes the stream they stand for. The
     * AUTH frame is the caller's (before the pump starts). Both NULL: the
     * raw stream, as xl sends it. The caller keeps ownership of enc/dec.
     * The limit counts wire bytes.
     */
    struct frame_enc *enc;
    struct frame_dec *dec;
    int codec;
    /*
     * Sender: called once, in the pump's thread, when the stream reaches
     * the first record after the guest's memory (libxc sends it with the
     * guest suspended), before that record goes on: nothing after it,
     * libxl's END least of all, passes until hold returns. Non-zero
     * fails the pump, and so the save. NULL: none.
     */
    int (*hold)(void *arg);
    void *hold_arg;
    /* Test hook: the sender flips a bit of its frame number N (1-based:
     * the AUTH frame is not counted); 0: none. */
    unsigned long fault_frame;
};

/* Starts the pump thread. */
MUST_CHECK int pump_start(struct xlmig_ctx *ctx, const struct pump_opts *o,
                          struct pump **p_r);
/* Readable once the pump has failed (never if it succeeds). */
int pump_fail_fd(const struct pump *p);
/* Asks the pump to stop; it then ends with XLMIG_E_CANCELLED. */
void pump_stop(struct pump *p);
/* Waits for the thread; returns its result. Idempotent. */
MUST_CHECK int pump_join(struct pump *p);
/*
 * Changes the bandwidth limit while the pump runs (any thread): bytes per
 * second, 0 for none. A token bucket with a quarter second of burst.
 */
void pump_set_limit(struct pump *p, uint64_t limit);
/* A snapshot of the progress so far (any thread). */
void pump_progress(struct pump *p, struct xlmig_progress *prog_r);
/* Whether hold (pump_opts) was called and returned 0. */
bool pump_held(struct pump *p);
/* Seconds from the first byte to the END record (0 if not there yet). */
double pump_transfer_time(struct pump *p);
/* Joins if needed, restores the out fd's flags, frees. NULL is fine. */
void pump_free(struct pump *p);

#endif /* XLMIG_PUMP_H */
