/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * job.h - what the sending and receiving sides of a migration share: the
 * phase the job is in, its clock, its events to the caller, and the
 * adapters that let libxl's long operations see the pump and the cancel fd.
 */
#ifndef XLMIG_JOB_H
#define XLMIG_JOB_H

#include "fdio.h"
#include "hv.h"
#include "internal.h"

struct proto_msg;
struct pump;

struct job {
    struct xlmig_ctx *ctx;
    enum xlmig_phase phase;
    double t0;                  /* ctx_now() at the start */
    xlmig_event_fn *event_fn;
    void *event_arg;
    struct fdio_wait wait;      /* timeout and cancel for peer I/O */
    struct pump *pump;          /* while the stream moves, else NULL */
    double last_progress;       /* when the last progress event went out */
    bool suspended;             /* libxc reported the guest suspended */
    double t_suspended;
};

void job_init(struct job *job, struct xlmig_ctx *ctx, xlmig_event_fn *fn,
              void *arg, unsigned timeout_s, int cancel_fd);
/* Enters a phase: logs it and tells the caller (detail may be NULL). */
void job_phase(struct job *job, enum xlmig_phase phase, const char *fmt, ...)
    PRINTF_LIKE(3, 4);
/* Tells the caller a notable fact. */
void job_info(struct job *job, const char *fmt, ...) PRINTF_LIKE(2, 3);
double job_elapsed(const struct job *job);
/* An hv_wait that aborts on cancel or a pump failure and ticks progress. */
void job_hv_wait(struct job *job, struct hv_wait *w);
/* Emits a progress event now if the pump moved since the last one. */
void job_progress(struct job *job, bool force);

/* Reads a fixed protocol message and checks it (logs on mismatch). */
MUST_CHECK int job_read_msg(struct job *job, int fd,
                            const struct proto_msg *msg);
MUST_CHECK int job_write_msg(struct job *job, int fd,
                             const struct proto_msg *msg);

#endif /* XLMIG_JOB_H */
