/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * job.c - the model both ends of a migration share: phases (in the order
 * of DESIGN.md's table), elapsed time, events to the caller, and the glue
 * that lets a running libxl operation be cancelled and report progress.
 * The phase machines themselves are in job-send.c and job-recv.c.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
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
    job->x_progress_fd = job->x_ctl_fd = -1;
}

double job_elapsed(const struct job *job)
{
    return ctx_now(job->ctx) - job->t0;
}

#define JOB_LOG_DIR "/var/log/xen"           /* $XLMIG_LOG_DIR */
#define JOB_REFUSAL_LOG "xlmig-incoming.log"
#define JOB_RATE_MIN_S 0.5        /* shortest interval a rate is taken over */
#define JOB_RATE_WEIGHT 0.5       /* of the newest interval in the average */
#define JOB_PAGE_WIRE_BYTES 4104  /* a page and its pfn in PAGE_DATA */

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
    if (job->coord) {
        if (coord_job_set(job->coord, job->id, "phase",
                          xlmig_phase_name(phase)))
            LOG(job->ctx, WARN, "job %s: phase not recorded", job->id);
        snprintf(job->jr.phase, sizeof(job->jr.phase), "%s",
                 xlmig_phase_name(phase));
        /* A failure is kept in journal_rc, which the job checks. */
        (void)!job_journal(job);
        job_fault(job, xlmig_phase_name(phase));
    }
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

/* Smooths the stream's rate over successive progress samples. */
static void job_rate(struct job *job, double now, uint64_t bytes)
{
    double dt = now - job->rate_t, r;

    if (job->rate_t && dt >= JOB_RATE_MIN_S && bytes >= job->rate_bytes) {
        r = (double)(bytes - job->rate_bytes) / dt;
        job->rate = job->rate ? JOB_RATE_WEIGHT * r +
                                (1 - JOB_RATE_WEIGHT) * job->rate : r;
    }
    if (!job->rate_t || dt >= JOB_RATE_MIN_S) {
        job->rate_t = now;
        job->rate_bytes = bytes;
    }
}

/*
 * Seconds left in the current round: the first round sends the whole
 * guest; a later one about what the guest dirtied during the round
 * before it, which is what that round sent (libxc's pre-copy).
 */
static double job_eta(const struct job *job, const struct xlmig_progress *p)
{
    uint64_t round_total = p->round <= 1 ? job->total_pages
                                          : p->last_round_pages;

    if (!job->rate || !p->round || !round_total) return -1;
    if (p->round_pages >= round_total) return 0;
    return (double)(round_total - p->round_pages) * JOB_PAGE_WIRE_BYTES /
           job->rate;
}

/* Applies a bandwidth written into the job's record (xlmig job-set). */
static void job_limit(struct job *job)
{
    uint64_t limit;
    char *v = NULL;

    if (!job->coord || coord_job_value(job->coord, job->id, "bandwidth",
                                       &v))
        return;
    if (!xlmig_parse_rate(v, &limit) && limit != job->limit) {
        job->limit = limit;
        pump_set_limit(job->pump, limit);
        if (limit)
            job_info(job, "bandwidth limit now %.1f MB/s", limit / 1e6);
        else
            job_info(job, "bandwidth no longer limited");
    }
    free(v);
}

void job_progress_precopy(const struct job *job, struct xlmig_progress *p)
{
    p->precopy_round = job->precopy.round;
    p->precopy_pages = job->precopy.dirty_pages;
    p->dirty_rate = job->precopy.dirty_rate;
    p->predicted_downtime_ms = job->precopy.round ? job->precopy.predicted_ms
                                                  : -1;
    p->throttle = job->precopy.throttle;
}

void job_progress(struct job *job, bool force)
{
    struct xlmig_progress prog;
    double now = ctx_now(job->ctx);

    if (!job->pump) return;
    if (!force && now - job->last_progress < 1.0) return;
    job->last_progress = now;
    job_limit(job);
    pump_progress(job->pump, &prog);
    prog.suspended = job->suspended;
    job_rate(job, now, prog.bytes);
    prog.total_pages = job->total_pages;
    prog.rate = job->rate;
    prog.eta_s = job_eta(job, &prog);
    if (job->x_ctl_fd >= 0) job_xs_poll(job);
    prog.peer_bytes = job->peer_bytes;
    job_progress_precopy(job, &prog);
    if (job->x_progress_fd >= 0 && job_xs_progress_send(job, &prog, false))
        LOG(job->ctx, DEBUG, "progress not sent to the sender");
    job_emit(job, XLMIG_EV_PROGRESS, NULL, &prog);
    if (job->coord) {
        char text[192];

        snprintf(text, sizeof(text), "%llu bytes, %llu pages, round %u, "
                 "%.1f MB/s%s", (unsigned long long)prog.bytes,
                 (unsigned long long)prog.pages, prog.round,
                 prog.rate / 1e6, prog.suspended ? ", suspended" : "");
        if (prog.eta_s >= 0 && !prog.suspended)
            snprintf(text + strlen(text), sizeof(text) - strlen(text),
                     ", round ends in %.0f s", prog.eta_s);
        if (coord_job_set(job->coord, job->id, "progress", text))
            LOG(job->ctx, WARN, "job %s: progress not recorded", job->id);
    }
}

static double job_unix_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *job_hook_result(enum hooks_event e, int rc)
{
    switch (e) {
    case HOOKS_PRE_MIGRATE: case HOOKS_PRE_INCOMING: case HOOKS_JOB_QUEUED:
    case HOOKS_STORAGE_BEGIN:
        return "";
    default:
        break;
    }
    if (!rc) return "ok";
    if (rc == XLMIG_E_CANCELLED) return "cancelled";
    if (rc == XLMIG_E_UNSAFE) return "unsafe";
    return "failed";
}

enum hooks_event job_hook_end(int rc, enum hooks_event post)
{
    if (!rc) return post;
    if (rc == XLMIG_E_CANCELLED) return HOOKS_MIGRATE_CANCELLED;
    if (rc == XLMIG_E_UNSAFE) return HOOKS_MIGRATE_UNSAFE;
    return HOOKS_MIGRATE_FAILED;
}

int job_hook(struct job *job, enum hooks_event e, const char *role, int rc,
             uint32_t domid, const char *json)
{
    struct hooks_info in = {
        .event = e, .job = job->id, .domain = job->jr.name,
        .uuid = job->jr.uuid, .peer = job->jr.peer, .role = role,
        .result = job_hook_result(e, rc), .domid = domid,
        .config_json = json,
    };
    char error[sizeof(job->jr.error)], *why = NULL;
    int hrc;

    if (!job->coord) return XLMIG_OK;
    snprintf(error, sizeof(error), "%s", rc ? (job->jr.error[0]
             ? job->jr.error : xlmig_strerror(rc)) : "");
    in.error = error;
    hrc = hooks_emit(job->ctx, job->coord, &in, &job->wait, &why);
    if (why) job_why(job, "%s", why);
    free(why);
    return hrc;
}

static void job_queued(void *arg, unsigned pos)
{
    struct job *job = arg;

    job_info(job, "waiting for an admission slot: position %u in the "
             "queue", pos);
    if (job->queued_told) return;
    job->queued_told = true;
    if (job->queued_fn) job->queued_fn(job);
    /* Never fails: not a pre-event. */
    (void)!job_hook(job, HOOKS_JOB_QUEUED, !strcmp(job->jr.role, "send")
                    ? "source" : !strcmp(job->jr.role, "recv")
                    ? "destination" : "local", XLMIG_OK, HOOKS_NO_DOMID,
                    NULL);
}

int job_register(struct job *job, const char *role, const char *domain,
                 const char *uuid, const char *peer)
{
    const char *kind;
    char *holder = NULL;
    int rc, fd;

    rc = coord_open(job->ctx, &job->coord);
    if (rc) return rc;
    kind = job->kind ? job->kind : "migrate";
    rc = coord_job_create(job->coord, kind, domain, uuid ? uuid : "",
                          peer, job->id);
    if (rc) goto fail;
    snprintf(job->jr.id, sizeof(job->jr.id), "%s", job->id);
    snprintf(job->jr.role, sizeof(job->jr.role), "%s", role);
    snprintf(job->jr.kind, sizeof(job->jr.kind), "%s", kind);
    snprintf(job->jr.name, sizeof(job->jr.name), "%s", domain);
    snprintf(job->jr.uuid, sizeof(job->jr.uuid), "%s", uuid ? uuid : "");
    snprintf(job->jr.peer, sizeof(job->jr.peer), "%s", peer);
    job->jr.started = job->jr.updated = job_unix_now();
    if (uuid && *uuid) {
        rc = coord_lock_domain(job->coord, job->id, uuid, &holder);
        if (rc == XLMIG_E_BUSY)
            LOG(job->ctx, ERROR, "domain %s is busy: job %s is migrating "
                "it (see xlmig job-show %s)", domain, holder, holder);
        free(holder);
        if (rc) goto fail;
        job->locked = true;
    }
    rc = coord_cancel_fd(job->coord, job->id, &fd);
    if (rc) goto fail;
    job->wait.cancel_fds[JOB_CANCEL_FD_COORD] = fd;
    job_info(job, "job %s", job->id);
    return XLMIG_OK;
fail:
    job_unregister(job, false);
    return rc;
}

int job_admit(struct job *job, enum coord_kind k, bool no_wait,
              unsigned wait_s, int peer_fd)
{
    struct fdio_wait qwait;
    int rc;

    /* A queue may be long: a cancel ends the wait, the peer leaving, or
     * wait_s if not 0 (the job's timeout does not: a stall timer). */
    qwait = job->wait;
    qwait.timeout_s = wait_s;
    rc = coord_slot_take(job->coord, job->id, k, !no_wait, &qwait, peer_fd,
                         job_queued, job);
    if (rc == XLMIG_E_BUSY)
        LOG(job->ctx, ERROR, "this host is at its limit of %s %s "
            "(xlmig jobs; xlmig set-limit)", coord_kind_name(k),
            k == COORD_STORAGE ? "moves" : "migrations");
    if (rc) return rc;
    job->slotted = true;
    job->slot_kind = k;
    /* From here on the job changes things: recover must know of it. */
    return job_journal(job);
}

/* ":wait": stay here until the file $XLMIG_FAULT_RESUME exists (at most
 * a minute), so a test can change the world (fill the journal's disk,
 * stop the guest) at exactly this point. */
static void job_fault_wait(struct job *job, const char *f)
{
    const char *resume = getenv("XLMIG_FAULT_RESUME");
    double end = ctx_now(job->ctx) + 60;

    LOG(job->ctx, WARN, "XLMIG_FAULT=%s: waiting for %s", f,
        resume ? resume : "(XLMIG_FAULT_RESUME unset)");
    while (resume && access(resume, F_OK) && ctx_now(job->ctx) < end)
        poll(NULL, 0, 50);
}

void job_fault(struct job *job, const char *point)
{
    const char *f = getenv("XLMIG_FAULT"), *p, *hold;
    size_t n = strlen(job->jr.role), m = strlen(point);
    int ms;

    if (!f || !n || strncmp(f, job->jr.role, n) || f[n] != ':') return;
    p = f + n + 1;
    if (strncmp(p, point, m) ||
        (p[m] && strcmp(p + m, ":hold") && strcmp(p + m, ":wait")))
        return;
    if (!p[m]) {
        LOG(job->ctx, WARN, "XLMIG_FAULT=%s: killing this process", f);
        raise(SIGKILL);
        return;
    }
    if (!strcmp(p + m, ":wait")) {
        job_fault_wait(job, f);
        return;
    }
    /* ":hold": stay in this phase until a cancel comes, at most
     * XLMIG_FAULT_HOLD_S seconds (default 60). */
    hold = getenv("XLMIG_FAULT_HOLD_S");
    ms = hold && atoi(hold) > 0 ? atoi(hold) * 1000 : 60000;
    LOG(job->ctx, WARN, "XLMIG_FAULT=%s: holding until cancelled", f);
    (void)job_cancel_within(job, ms);
}

bool job_cancel_within(struct job *job, int ms)
{
    struct pollfd pfd[FDIO_CANCEL_FDS];
    unsigned i;
    int r;

    /* poll(2) skips the fds that are -1. */
    for (i = 0; i < FDIO_CANCEL_FDS; i++) {
        pfd[i].fd = job->wait.cancel_fds[i];
        pfd[i].events = POLLIN;
    }
    while ((r = poll(pfd, FDIO_CANCEL_FDS, ms)) < 0 && errno == EINTR)
        ;
    return r > 0;
}

void job_why(struct job *job, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(job->why, sizeof(job->why), fmt, ap);
    va_end(ap);
}

void job_log_refusal(struct job *job, const char *domain, const char *peer,
                     const char *what)
{
    const char *dir = getenv("XLMIG_LOG_DIR");
    char *path, *text, *clean, *line, stamp[32];
    struct tm tm;
    time_t now = time(NULL);
    ssize_t n = -1;
    int fd;

    if (!dir || !*dir) dir = JOB_LOG_DIR;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        LOGE(job->ctx, WARN, "cannot create %s", dir);
    path = xasprintf("%s/" JOB_REFUSAL_LOG, dir);
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* One line whatever the sender named. */
    text = xasprintf("%s refused %s from %s (job %s): %s", stamp,
                     domain ? domain : "a domain", peer,
                     job->id[0] ? job->id : "-", what);
    clean = proto_clean_text(text);
    line = xasprintf("%s\n", clean);
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
              0640);
    if (fd >= 0) n = write(fd, line, strlen(line));
    if (n != (ssize_t)strlen(line))
        LOGE(job->ctx, WARN, "cannot log the refusal in %s", path);
    if (fd >= 0) close(fd);
    free(line);
    free(clean);
    free(text);
    free(path);
}

void job_failed(struct job *job, int rc)
{
    char text[sizeof(job->jr.error)];

    if (!job->coord) return;
    snprintf(text, sizeof(text), "%s: %s", xlmig_phase_name(job->phase),
             job->why[0] ? job->why : xlmig_strerror(rc));
    snprintf(job->jr.error, sizeof(job->jr.error), "%s", text);
    if (coord_job_set(job->coord, job->id, "error", text))
        LOG(job->ctx, WARN, "job %s: error not recorded", job->id);
    (void)!job_journal(job);
}

int job_journal(struct job *job)
{
    int rc;

    if (!job->coord || !job->jr.id[0]) return XLMIG_OK;
    job->jr.updated = job_unix_now();
    rc = journal_write(job->ctx, &job->jr);
    if (rc && !job->journal_rc) {
        LOGR(job->ctx, ERROR, rc, "job %s: its journal cannot be written in "
             "%s; without it a crash could not be recovered, so the job "
             "stops", job->id, journal_dir());
        job->journal_rc = rc;
    }
    return rc;
}

int job_no_more_cancel(struct job *job, const char *why)
{
    int caller = job->wait.cancel_fds[JOB_CANCEL_FD_CALLER];
    int rc = XLMIG_OK;

    if (fdio_readable(caller))
        rc = XLMIG_E_CANCELLED;
    else if (job->coord)
        rc = coord_refuse_cancel(job->coord, job->id, why);
    if (rc == XLMIG_E_CANCELLED) {
        LOG(job->ctx, INFO, "job %s: cancelled just before the point of "
            "no return", job->id[0] ? job->id : "-");
        return rc;
    }
    if (rc)
        LOG(job->ctx, WARN, "job %s: could not refuse cancels", job->id);
    /* No wait may end in a cancel from here: a GO or a RESULT cut short
     * would leave the guest suspended. */
    job->wait.cancel_fds[JOB_CANCEL_FD_CALLER] = -1;
    job->wait.cancel_fds[JOB_CANCEL_FD_COORD] = -1;
    job_emit(job, XLMIG_EV_NO_RETURN, why, NULL);
    if (fdio_readable(caller))
        LOG(job->ctx, WARN, "job %s: a cancel came as the point of no "
            "return passed: refused (%s)", job->id[0] ? job->id : "-", why);
    return XLMIG_OK;
}

void job_unregister(struct job *job, bool keep_journal)
{
    if (!job->coord) return;
    if (job->slotted &&
        coord_slot_release(job->coord, job->id, job->slot_kind))
        LOG(job->ctx, WARN, "job %s: slot not released", job->id);
    if (job->locked && job->jr.uuid[0] &&
        coord_unlock_domain(job->coord, job->id, job->jr.uuid))
        LOG(job->ctx, WARN, "job %s: lock not released", job->id);
    if (job->id[0] && coord_job_remove(job->coord, job->id))
        LOG(job->ctx, WARN, "job %s: record not removed", job->id);
    if (!keep_journal && job->jr.id[0] &&
        journal_remove(job->ctx, job->jr.id))
        LOG(job->ctx, WARN, "job %s: journal not removed", job->id);
    job->wait.cancel_fds[JOB_CANCEL_FD_COORD] = -1;
    coord_close(job->coord);
    job->coord = NULL;
    job->slotted = job->locked = false;
}

static void job_hv_tick(void *arg)
{
    job_progress(arg, false);
}

/* After each live round of xlmig's precopy policy: shown and recorded. */
static void job_hv_precopy(void *arg, const struct precopy_report *r)
{
    struct job *job = arg;
    char text[PRECOPY_REPORT_TEXT_MAX];

    if (r->throttle != job->precopy.throttle) {
        if (r->throttle)
            job_info(job, "guest throttled to %u %% of its CPU so that its "
                     "memory converges", 100 - r->throttle);
    }
    job->precopy = *r;
    if (r->why[0]) job_info(job, "%s", r->why);
    if (job->coord && !precopy_report_format(r, text, sizeof(text)) &&
        coord_job_set(job->coord, job->id, "precopy", text))
        LOG(job->ctx, WARN, "job %s: precopy round not recorded", job->id);
    job_progress(job, true);
}

int job_precopy_params(struct xlmig_ctx *ctx,
                       const struct xlmig_migrate_opts *opts,
                       struct precopy_params *p)
{
    struct conf *cf = NULL;
    char *cause = NULL, *conv = NULL;
    long v;
    bool found = false;
    int rc;

    precopy_params_default(p);
    rc = conf_open(ctx, &cf, &cause);
    if (!rc) {
        v = p->max_downtime_ms;
        rc = conf_long(cf, "max_downtime_ms", 1,
                       PRECOPY_MAX_DOWNTIME_MS_MAX, &v, &cause);
        p->max_downtime_ms = (unsigned)v;
    }
    if (!rc) {
        v = p->max_rounds;
        rc = conf_long(cf, "max_rounds", 1, PRECOPY_MAX_ROUNDS_MAX, &v,
                       &cause);
        p->max_rounds = (unsigned)v;
    }
    if (!rc) {
        v = p->max_time_s;
        rc = conf_long(cf, "max_precopy_time", 0, PRECOPY_MAX_TIME_S_MAX,
                       &v, &cause);
        p->max_time_s = (unsigned)v;
    }
    if (!rc) rc = conf_string(cf, "converge", &found, &conv, &cause);
    if (!rc && found && precopy_converge_parse(conv, &p->converge)) {
        cause = xasprintf("%s: converge: not force, throttle or abort",
                          conf_path());
        rc = XLMIG_E_INVAL;
    }
    if (rc) {
        LOG(ctx, ERROR, "%s", cause ? cause : "xlmig.conf unreadable");
        goto out;
    }
    if (opts->max_downtime_ms > PRECOPY_MAX_DOWNTIME_MS_MAX ||
        opts->max_rounds > PRECOPY_MAX_ROUNDS_MAX ||
        opts->max_precopy_s > PRECOPY_MAX_TIME_S_MAX) {
        LOG(ctx, ERROR, "max downtime, rounds or precopy time out of range "
            "(at most %u ms, %u rounds, %u s)", PRECOPY_MAX_DOWNTIME_MS_MAX,
            PRECOPY_MAX_ROUNDS_MAX, PRECOPY_MAX_TIME_S_MAX);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    if (opts->max_downtime_ms) p->max_downtime_ms = opts->max_downtime_ms;
    if (opts->max_rounds) p->max_rounds = opts->max_rounds;
    if (opts->max_precopy_s) p->max_time_s = opts->max_precopy_s;
    if (opts->converge && precopy_converge_parse(opts->converge,
                                                 &p->converge)) {
        LOG(ctx, ERROR, "converge '%s' is not force, throttle or abort",
            opts->converge);
        rc = XLMIG_E_INVAL;
    }
out:
    free(conv);
    free(cause);
    conf_close(cf);
    return rc;
}

static void job_hv_progress(void *arg, enum hv_progress_kind kind,
                            unsigned long done, unsigned long total)
{
    struct job *job = arg;
    struct xlmig_progress p;

    if (kind == HV_PROGRESS_SUSPENDING && !job->suspended) {
        job->t_suspend_asked = ctx_now(job->ctx);
        return;
    }
    if (kind != HV_PROGRESS_SUSPENDED || job->suspended) return;
    job->suspended = true;
    job->t_suspended = ctx_now(job->ctx);
    if (job->pump) {
        pump_progress(job->pump, &p);
        job->bytes_suspended = p.bytes;
    }
    job_info(job, "guest suspended for the final round");
}

void job_hv_wait(struct job *job, struct hv_wait *w)
{
    hv_wait_init(w);
    w->abort_fds[0] = job->wait.cancel_fds[JOB_CANCEL_FD_CALLER];
    if (job->pump) w->abort_fds[1] = pump_fail_fd(job->pump);
    w->abort_fds[2] = job->wait.cancel_fds[JOB_CANCEL_FD_COORD];
    w->tick = job_hv_tick;
    w->progress = job_hv_progress;
    w->precopy_round = job_hv_precopy;
    w->arg = job;
}

int job_read(struct job *job, int fd, void *buf, size_t len,
             const char *what)
{
    size_t n = job->x_back_len < len ? job->x_back_len : len;

    if (n) {
        memcpy(buf, job->x_back, n);
        memmove(job->x_back, job->x_back + n, job->x_back_len - n);
        job->x_back_len -= n;
    }
    if (n == len) return XLMIG_OK;
    return fdio_read_exact(job->ctx, fd, (uint8_t *)buf + n, len - n,
                           &job->wait, what);
}

int job_read_msg(struct job *job, int fd, const struct proto_msg *msg)
{
    uint8_t got[PROTO_MSG_MAX];
    char *why = NULL;
    int rc;

    rc = job_read(job, fd, got, msg->len, msg->what);
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
