/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pump.c - moves a save stream between two fds in a thread (pump.h).
 * Knows nothing of domains or jobs; the job hands it two fds.
 *
 * States: running -> (END forwarded) done | (error or stop) failed.
 * The thread reads at most stream_want() bytes at a time, so it never
 * consumes a byte past the libxl END record. Record headers and pfn lists
 * are read and parsed; large record bodies (page data) go straight from
 * fd to fd with splice(2), never copied through user space
 * (research/perf.md section 5.2), unless the fds cannot splice. On
 * failure the thread writes to fail_pipe, which the job watches while
 * libxl runs.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pump-priv.h"

static void pump_event(void *arg, enum stream_event ev,
                       const struct stream_stats *st)
{
    struct pump *p = arg;

    /* The pump's own thread (it feeds the parser): no lock needed. */
    if (ev == STREAM_EV_END_OF_MEMORY || ev == STREAM_EV_LIBXC_END ||
        ev == STREAM_EV_END)
        p->hold_due = true;
    pthread_mutex_lock(&p->lock);
    if (ev == STREAM_EV_ROUND) p->prog.round = st->rounds;
    if (ev == STREAM_EV_END) p->t_end = ctx_now(p->ctx);
    pthread_mutex_unlock(&p->lock);
}

void pump_account(struct pump *p)
{
    const struct stream_stats *st = stream_get_stats(p->parser);

    pthread_mutex_lock(&p->lock);
    if (!p->t_first) p->t_first = ctx_now(p->ctx);
    p->prog.bytes = st->bytes;
    p->prog.pages = st->pages;
    p->prog.round = st->rounds;
    p->prog.round_pages = st->round_pages;
    p->prog.last_round_pages = st->last_round_pages;
    p->prog.wire_bytes = p->wire_bytes ? p->wire_bytes : st->bytes;
    p->prog.zero_pages = p->zero_pages;
    pthread_mutex_unlock(&p->lock);
}

int pump_feed(struct pump *p, const void *buf, size_t len, size_t *used_r)
{
    int rc = stream_feed(p->parser, buf, len, used_r);

    if (rc)
        LOG(p->ctx, ERROR, "malformed %s: %s", p->o.in_what,
            stream_error(p->parser));
    return rc;
}

int pump_feed_all(struct pump *p, const void *buf, size_t len)
{
    size_t used;
    int rc;

    rc = pump_feed(p, buf, len, &used);
    if (!rc && used != len) {
        LOG(p->ctx, ERROR, "%s: read past the end record", p->o.in_what);
        rc = XLMIG_E_INTERNAL;
    }
    return rc;
}

int pump_hold(struct pump *p)
{
    double t;
    int rc;

    if (!p->hold_due || p->held || !p->o.hold) return XLMIG_OK;
    t = ctx_now(p->ctx);
    rc = p->o.hold(p->o.hold_arg);
    if (rc) return rc;
    LOG(p->ctx, DEBUG, "%s held %.1f ms after the memory", p->o.in_what,
        (ctx_now(p->ctx) - t) * 1e3);
    p->held = true;
    return XLMIG_OK;
}

bool pump_held(struct pump *p)
{
    return p->held;
}

void pump_set_limit(struct pump *p, uint64_t limit)
{
    atomic_store(&p->limit, limit);
}

/* How much one move may carry under the limit. */
static size_t pump_max_move(struct pump *p, size_t n)
{
    uint64_t limit = atomic_load(&p->limit), slice;

    if (!limit) return n;
    slice = limit / PUMP_SLICES;
    if (slice < PUMP_SPLICE_MIN) slice = PUMP_SPLICE_MIN;
    return n < slice ? n : (size_t)slice;
}

/* Sleeps s seconds, or less if the pump is stopped or cancelled. */
static int pump_sleep(struct pump *p, double s)
{
    struct pollfd pfd[FDIO_CANCEL_FDS];
    struct timespec ts = {
        .tv_sec = (time_t)s, .tv_nsec = (long)((s - (time_t)s) * 1e9),
    };
    nfds_t n = 0;
    unsigned i;
    int r;

    for (i = 0; i < FDIO_CANCEL_FDS; i++) {
        if (p->o.wait.cancel_fds[i] < 0) continue;
        pfd[n].fd = p->o.wait.cancel_fds[i];
        pfd[n++].events = POLLIN;
    }
    /* ppoll: a token bucket needs better than poll's milliseconds. */
    r = ppoll(pfd, n, &ts, NULL);
    if (r > 0) return XLMIG_E_CANCELLED;
    if (r < 0 && errno != EINTR) {
        LOGE(p->ctx, ERROR, "poll");
        return XLMIG_E_SYSTEM;
    }
    return XLMIG_OK;
}

/*
 * The token bucket: waits until the bytes moved so far are paid for.
 * Tokens accrue at the limit, up to PUMP_BURST_S worth; a move spends
 * them after the fact (pump_spend), so the debt is waited off here.
 */
int pump_throttle(struct pump *p)
{
    uint64_t limit = atomic_load(&p->limit);
    double now = ctx_now(p->ctx), burst;
    int rc;

    for (;;) {
        if (!limit) {
            p->tokens = 0;
            p->t_tokens = now;
            return XLMIG_OK;
        }
        burst = (double)limit * PUMP_BURST_S;
        if (p->t_tokens) p->tokens += (now - p->t_tokens) * (double)limit;
        if (p->tokens > burst) p->tokens = burst;
        p->t_tokens = now;
        if (p->tokens >= 0) return XLMIG_OK;
        rc = pump_sleep(p, -p->tokens / (double)limit);
        if (rc) return rc;
        /* The limit may have changed meanwhile. */
        limit = atomic_load(&p->limit);
        now = ctx_now(p->ctx);
    }
}

void pump_spend(struct pump *p, size_t n)
{
    if (atomic_load(&p->limit)) p->tokens -= (double)n;
}

/*
 * Moves up to n body bytes from in to out inside the kernel. *moved_r 0
 * means end of input. XLMIG_E_INVAL: these fds cannot splice.
 */
static int pump_splice(struct pump *p, size_t n, size_t *moved_r)
{
    ssize_t r;
    int rc;

    *moved_r = 0;
    for (;;) {
        rc = fdio_ready(p->ctx, p->o.in_fd, POLLIN, &p->o.wait,
                        p->o.in_what);
        if (rc) return rc;
        r = splice(p->o.in_fd, NULL, p->o.out_fd, NULL, n,
                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (r >= 0) {
            *moved_r = (size_t)r;
            return XLMIG_OK;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
            /* The input is readable, so the output is full: wait. */
            rc = fdio_ready(p->ctx, p->o.out_fd, POLLOUT, &p->o.wait,
                            p->o.out_what);
            if (rc) return rc;
            continue;
        }
        if (errno == EINVAL) return XLMIG_E_INVAL;
        if (errno == EPIPE || errno == ECONNRESET) {
            LOG(p->ctx, ERROR, "peer went away while sending %s",
                p->o.out_what);
            return XLMIG_E_PEER;
        }
        LOGE(p->ctx, ERROR, "splice %s to %s", p->o.in_what, p->o.out_what);
        return XLMIG_E_SYSTEM;
    }
}

/* Passes page data with splice; *done_r false if it must be read. */
static int pump_step_splice(struct pump *p, bool *done_r, bool *eof_r)
{
    size_t body = stream_body_left(p->parser), moved;
    int rc;

    *done_r = false;
    if (p->no_splice || body < PUMP_SPLICE_MIN) return XLMIG_OK;
    rc = pump_splice(p, pump_max_move(p, body < PUMP_CHUNK ? body
                                                            : PUMP_CHUNK),
                     &moved);
    if (rc == XLMIG_E_INVAL) {
        LOG(p->ctx, DEBUG, "%s cannot splice; copying", p->o.in_what);
        p->no_splice = true;
        return XLMIG_OK;
    }
    *done_r = true;
    if (rc) return rc;
    if (!moved) {
        *eof_r = true;
        return XLMIG_OK;
    }
    pump_spend(p, moved);
    rc = stream_skip(p->parser, moved);
    if (!rc) pump_account(p);
    return rc;
}

/* Moves one chunk; *eof_r when the input ended. */
static int pump_step(struct pump *p, bool *eof_r)
{
    size_t want = stream_want(p->parser), got;
    bool spliced;
    int rc;

    *eof_r = false;
    rc = pump_throttle(p);
    if (rc) return rc;
    rc = pump_step_splice(p, &spliced, eof_r);
    if (rc || spliced) return rc;
    if (want > PUMP_CHUNK) want = PUMP_CHUNK;
    want = pump_max_move(p, want);
    rc = fdio_read_some(p->ctx, p->o.in_fd, p->chunk, want, &p->o.wait,
                        p->o.in_what, &got);
    if (rc) return rc;
    if (got == 0) {
        *eof_r = true;
        return XLMIG_OK;
    }
    rc = pump_feed_all(p, p->chunk, got);
    if (!rc) rc = pump_hold(p);
    if (rc) return rc;
    rc = fdio_write_all(p->ctx, p->o.out_fd, p->chunk, got, &p->o.wait,
                        p->o.out_what);
    if (rc) return rc;
    pump_spend(p, got);
    pump_account(p);
    return XLMIG_OK;
}

static void *pump_main(void *arg)
{
    struct pump *p = arg;
    bool eof = false;
    char c = 1;
    int rc = XLMIG_OK;

    while (!rc && !eof && !stream_done(p->parser)) {
        if (p->o.enc) rc = pump_enc_step(p, &eof);
        else if (p->o.dec) rc = pump_dec_step(p, &eof);
        else rc = pump_step(p, &eof);
    }
    if (!rc && eof) {
        rc = stream_finish(p->parser);
        if (rc)
            LOG(p->ctx, ERROR, "%s ended early: %s", p->o.in_what,
                stream_error(p->parser));
    }
    if (!rc && p->o.enc) rc = pump_enc_finish(p);
    if (!rc && p->o.dec) rc = pump_dec_finish(p);
    p->rc = rc;
    if (rc && write(p->fail_pipe[1], &c, 1) != 1)
        LOGE(p->ctx, WARN, "cannot signal the pump failure");
    return NULL;
}

int pump_start(struct xlmig_ctx *ctx, const struct pump_opts *o,
               struct pump **p_r)
{
    struct pump *p = xcalloc(1, sizeof(*p));
    int r, rc;

    *p_r = NULL;
    p->ctx = ctx;
    p->o = *o;
    atomic_init(&p->limit, o->limit);
    p->stop_pipe[0] = p->stop_pipe[1] = -1;
    p->fail_pipe[0] = p->fail_pipe[1] = -1;
    p->out_flags = -1;
    pthread_mutex_init(&p->lock, NULL);
    if (fdio_pipe(ctx, p->stop_pipe) || fdio_pipe(ctx, p->fail_pipe)) {
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    /* The pump's own stop request joins the caller's cancel fd. */
    p->o.wait.cancel_fds[1] = p->stop_pipe[0];
    p->out_flags = fdio_set_nonblock(ctx, o->out_fd, true);
    if (p->out_flags < 0) {
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    p->parser = stream_new(pump_event, p);
    p->chunk = xmalloc(PUMP_CHUNK);
    pump_frame_setup(p);
    r = pthread_create(&p->thread, NULL, pump_main, p);
    if (r) {
        LOGEV(ctx, ERROR, r, "cannot start the pump thread");
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    p->started = true;
    *p_r = p;
    p = NULL;
    rc = XLMIG_OK;
out:
    pump_free(p);
    return rc;
}

int pump_fail_fd(const struct pump *p)
{
    return p->fail_pipe[0];
}

void pump_stop(struct pump *p)
{
    char c = 1;

    if (p->stop_pipe[1] >= 0 && write(p->stop_pipe[1], &c, 1) != 1)
        LOGE(p->ctx, WARN, "cannot signal the pump to stop");
    fdio_close(&p->stop_pipe[1]);
}

static void pump_join_thread(struct pump *p)
{
    if (p->started && !p->joined) {
        pthread_join(p->thread, NULL);
        p->joined = true;
    }
}

int pump_join(struct pump *p)
{
    pump_join_thread(p);
    return p->rc;
}

void pump_progress(struct pump *p, struct xlmig_progress *prog_r)
{
    pthread_mutex_lock(&p->lock);
    *prog_r = p->prog;
    pthread_mutex_unlock(&p->lock);
}

double pump_transfer_time(struct pump *p)
{
    double t;

    pthread_mutex_lock(&p->lock);
    t = p->t_end && p->t_first ? p->t_end - p->t_first : 0;
    pthread_mutex_unlock(&p->lock);
    return t;
}

void pump_free(struct pump *p)
{
    if (!p) return;
    if (p->started && !p->joined) {
        pump_stop(p);
        pump_join_thread(p);
    }
    if (p->out_flags >= 0 && fcntl(p->o.out_fd, F_SETFL, p->out_flags) < 0)
        LOGE(p->ctx, WARN, "cannot restore the flags of fd %d",
             p->o.out_fd);
    fdio_close_pair(p->stop_pipe);
    fdio_close_pair(p->fail_pipe);
    stream_free(p->parser);
    free(p->chunk);
    pump_frame_free(p);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
