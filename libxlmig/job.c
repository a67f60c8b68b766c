/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * job.c - the model both ends of a migration share: phases (in the order
 * of DESIGN.md's table), elapsed time, events to the caller, and the glue
 * that lets a running libxl operation be cancelled and report progress.
 * The phase machines themselves are in job-send.c and job-recv.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "proto.h"
#include "pump.h"

const char *xlmig_phase_name(enum xlmig_phase phase)
{
    switch (phase) {
    case XLMIG_PHASE_ADMIT: return "admit";
    case XLMIG_PHASE_CONNECT: return "connect";
    case XLMIG_PHASE_PREFLIGHT: return "preflight";
    case XLMIG_PHASE_TRANSFER: return "transfer";
    case XLMIG_PHASE_SWITCHOVER: return "switchover";
    case XLMIG_PHASE_COMMIT: return "commit";
    case XLMIG_PHASE_DONE: return "done";
    case XLMIG_PHASE_ROLLBACK: return "rollback";
    }
    return "unknown";
}

void job_init(struct job *job, struct xlmig_ctx *ctx, xlmig_event_fn *fn,
              void *arg, unsigned timeout_s, int cancel_fd)
{
    memset(job, 0, sizeof(*job));
    job->ctx = ctx;
    job->phase = XLMIG_PHASE_ADMIT;
    job->t0 = ctx_now(ctx);
    job->event_fn = fn;
    job->event_arg = arg;
    job->wait = fdio_wait_make(timeout_s, cancel_fd);
}

double job_elapsed(const struct job *job)
{
    return ctx_now(job->ctx) - job->t0;
}

static void job_emit(struct job *job, enum xlmig_event_type type,
                     const char *detail, const struct xlmig_progress *prog)
{
    struct xlmig_event ev = {
        .type = type, .phase = job->phase, .elapsed = job_elapsed(job),
        .detail = detail, .progress = prog,
    };

    if (job->event_fn) job->event_fn(job->event_arg, &ev);
}

void job_phase(struct job *job, enum xlmig_phase phase, const char *fmt, ...)
{
    char *detail = NULL;
    va_list ap;

    job->phase = phase;
    if (fmt) {
        va_start(ap, fmt);
        if (vasprintf(&detail, fmt, ap) < 0) detail = NULL;
        va_end(ap);
    }
    LOG(job->ctx, DEBUG, "phase %s: %s", xlmig_phase_name(phase),
        detail ? detail : "");
    job_emit(job, XLMIG_EV_PHASE, detail, NULL);
    free(detail);
}

void job_info(struct job *job, const char *fmt, ...)
{
    char *detail = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&detail, fmt, ap) < 0) detail = NULL;
    va_end(ap);
    LOG(job->ctx, DEBUG, "%s", detail ? detail : "");
    job_emit(job, XLMIG_EV_INFO, detail, NULL);
    free(detail);
}

void job_progress(struct job *job, bool force)
{
    struct xlmig_progress prog;
    double now = ctx_now(job->ctx);

    if (!job->pump) return;
    if (!force && now - job->last_progress < 1.0) return;
    job->last_progress = now;
    pump_progress(job->pump, &prog);
    prog.suspended = job->suspended;
    job_emit(job, XLMIG_EV_PROGRESS, NULL, &prog);
}

static void job_hv_tick(void *arg)
{
    job_progress(arg, false);
}

static void job_hv_progress(void *arg, enum hv_progress_kind kind,
                            unsigned long done, unsigned long total)
{
    struct job *job = arg;

    if (kind != HV_PROGRESS_SUSPENDED || job->suspended) return;
    job->suspended = true;
    job->t_suspended = ctx_now(job->ctx);
    job_info(job, "guest suspended for the final round");
}

void job_hv_wait(struct job *job, struct hv_wait *w)
{
    hv_wait_init(w);
    w->abort_fds[0] = job->wait.cancel_fds[0];
    if (job->pump) w->abort_fds[1] = pump_fail_fd(job->pump);
    w->tick = job_hv_tick;
    w->progress = job_hv_progress;
    w->arg = job;
}

int job_read_msg(struct job *job, int fd, const struct proto_msg *msg)
{
    uint8_t got[PROTO_MSG_MAX];
    char *why = NULL;
    int rc;

    rc = fdio_read_exact(job->ctx, fd, got, msg->len, &job->wait, msg->what);
    if (rc) return rc;
    rc = proto_check_msg(msg, got, &why);
    if (rc) LOG(job->ctx, ERROR, "%s", why);
    free(why);
    return rc;
}

int job_write_msg(struct job *job, int fd, const struct proto_msg *msg)
{
    return fdio_write_all(job->ctx, fd, msg->text, msg->len, &job->wait,
                          msg->what);
}
