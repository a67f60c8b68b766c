/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jobrun.c - runs a job file: jobs become tasks when what they come
 * after has ended, tasks start under the file's limits, each as a child
 * (jobrun-child.c) whose JSON events say how it goes, and the state file
 * is written before each task starts and after it ends.
 *
 * A task's life: PENDING -> RUNNING -> DONE | FAILED | CANCELLED, or
 * SKIPPED (what it comes after failed, or the run stops), or UNPLACED (an
 * evacuation found no host for its domain). A failed task whose domain
 * still runs on its source is PENDING again while it has retries left.
 *
 * What makes a run resumable: a migration's child writes into files and
 * outlives the runner; a runner after it adopts the task (waits for the
 * xlmig job to end, then reads its result); and before a migration
 * starts, the runner looks where the domain is, so one that is already
 * on its target is not moved twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "jobrun.h"
#include "jsonlim.h"

#define JOBRUN_TICK_MS 200
#define JOBRUN_ADOPT_POLL_S 2.0
#define JOBRUN_DRAW_S 0.5

static double jobrun_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double jobrun_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *jobrun_state_name(enum jobrun_state s)
{
    switch (s) {
    case JOBRUN_PENDING: return "pending";
    case JOBRUN_RUNNING: return "running";
    case JOBRUN_DONE: return "done";
    case JOBRUN_FAILED: return "failed";
    case JOBRUN_SKIPPED: return "skipped";
    case JOBRUN_CANCELLED: return "cancelled";
    case JOBRUN_UNPLACED: return "unplaced";
    }
    return "?";
}

bool jobrun_state_parse(const char *name, enum jobrun_state *s_r)
{
    enum jobrun_state s;

    for (s = JOBRUN_PENDING; s <= JOBRUN_UNPLACED; s++)
        if (!strcmp(name, jobrun_state_name(s))) {
            *s_r = s;
            return true;
        }
    return false;
}

static bool jobrun_terminal(enum jobrun_state s)
{
    return s != JOBRUN_PENDING && s != JOBRUN_RUNNING;
}

struct jobrun_task *jobrun_task_add(struct jobrun *run, size_t job,
                                    const char *id, const char *domain)
{
    struct jobrun_task *t;

    run->t = xrealloc(run->t, (run->n_t + 1) * sizeof(*run->t));
    t = &run->t[run->n_t++];
    memset(t, 0, sizeof(*t));
    t->id = xstrdup(id);
    t->job = job;
    t->domain = domain ? xstrdup(domain) : NULL;
    t->state = JOBRUN_PENDING;
    return t;
}

static void jobrun_task_free(struct jobrun_task *t)
{
    if (t->has_child) jobrun_child_dispose(&t->child);
    free(t->id);
    free(t->domain);
    free(t->to);
    free(t->error);
    free(t->remedy);
    free(t->checks);
}

void jobrun_free(struct jobrun *run)
{
    size_t i;

    for (i = 0; i < run->n_t; i++) jobrun_task_free(&run->t[i]);
    free(run->t);
    free(run->jobs);
    free(run->log_dir);
    free(run->stop_reason);
    run->t = NULL;
    run->n_t = 0;
}

static const struct jobxml_job *jobrun_job(const struct jobrun *run,
                                           const struct jobrun_task *t)
{
    return &run->env.f->jobs[t->job];
}

/* The host of that name (declared: the loader checked), or NULL. */
static const struct jobxml_host *jobrun_host(const struct jobrun *run,
                                             const char *name)
{
    return name ? jobxml_host(run->env.f, name) : NULL;
}

static void jobrun_set(char **field, char *value)
{
    free(*field);
    *field = value;
}

/* ---- output -------------------------------------------------------------- */

/* Takes the live lines off the screen (a terminal), before other output. */
static void jobrun_undraw(struct jobrun *run)
{
    if (!run->tty || !run->tty_lines) return;
    printf("\033[%uA\033[J", run->tty_lines);
    run->tty_lines = 0;
}

static void jobrun_say(struct jobrun *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void jobrun_say(struct jobrun *run, const char *fmt, ...)
{
    va_list ap;

    if (run->json) return;
    jobrun_undraw(run);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

static void jobrun_json_kv(const char *k, const char *v)
{
    printf(", \"%s\": ", k);
    cmd_json_str(v);
}

static void jobrun_event_task(struct jobrun *run, const char *event,
                              const struct jobrun_task *t)
{
    const struct jobxml_job *j = jobrun_job(run, t);

    if (!run->json) return;
    printf("{\"event\": \"%s\"", event);
    jobrun_json_kv("id", t->id);
    jobrun_json_kv("kind", jobxml_kind_name(j->kind));
    jobrun_json_kv("domain", t->domain);
    jobrun_json_kv("from", j->from);
    jobrun_json_kv("to", t->to);
    if (!strcmp(event, "progress")) {
        jobrun_json_kv("phase", t->phase);
        printf(", \"bytes\": %llu, \"rate\": %.0f",
               (unsigned long long)t->bytes, t->rate);
    } else if (!strcmp(event, "job-end")) {
        jobrun_json_kv("result", jobrun_state_name(t->state));
        printf(", \"already\": %s", t->already ? "true" : "false");
        jobrun_json_kv("error", t->error);
        jobrun_json_kv("remedy", t->remedy);
    } else {
        printf(", \"attempt\": %u", t->attempts);
    }
    fputs("}\n", stdout);
    fflush(stdout);
}

static const char *jobrun_what(const struct jobrun *run,
                               const struct jobrun_task *t, char *buf,
                               size_t size)
{
    const struct jobxml_job *j = jobrun_job(run, t);

    switch (j->kind) {
    case JOBXML_MIGRATE:
    case JOBXML_EVACUATE:
        snprintf(buf, size, "migrate %s to %s", t->domain ? t->domain : "?",
                 t->to ? t->to : "?");
        break;
    case JOBXML_CHECK:
        snprintf(buf, size, "check %s against %s",
                 t->domain ? t->domain : "?", t->to ? t->to : "?");
        break;
    case JOBXML_STORAGE_MOVE:
        snprintf(buf, size, "move disk %s of %s to SR %s", j->vdev,
                 t->domain ? t->domain : j->config, j->sr);
        break;
    case JOBXML_WAIT:
        snprintf(buf, size, "wait");
        break;
    }
    return buf;
}

/* The live lines: one per running task (a terminal only). */
static void jobrun_draw(struct jobrun *run)
{
    char what[256];
    size_t i;
    unsigned n = 0;
    double now = jobrun_now();

    if (!run->tty) return;
    jobrun_undraw(run);
    for (i = 0; i < run->n_t; i++) {
        const struct jobrun_task *t = &run->t[i];

        if (t->state != JOBRUN_RUNNING) continue;
        printf("  %-20s %-40s %-10s %8.1f MB %7.1f MB/s %5.0fs\033[K\n",
               t->id, jobrun_what(run, t, what, sizeof(what)),
               t->phase[0] ? t->phase : "start", (double)t->bytes / 1e6,
               t->rate / 1e6, now - t->started);
        n++;
    }
    run->tty_lines = n;
    fflush(stdout);
}

/* ---- state changes ------------------------------------------------------- */

static void jobrun_stop(struct jobrun *run, char *reason);

/* Saves the state file; a failure stops the run (nothing new starts). */
static int jobrun_save(struct jobrun *run)
{
    char *why = NULL;

    if (!run->state_path) return 0;
    if (!jobrun_state_save(run, &why)) return 0;
    jobrun_say(run, "job-run: cannot write the state file: %s; starting "
               "nothing more", why);
    if (!run->stopping) {
        run->stopping = true;
        jobrun_set(&run->stop_reason, xasprintf("the state file cannot be "
                                                "written: %s", why));
    }
    free(why);
    return -1;
}

static void jobrun_end(struct jobrun *run, struct jobrun_task *t,
                       enum jobrun_state s)
{
    char what[256];

    t->state = s;
    t->ended = jobrun_now();
    /* An adopted task ended while no runner watched: its own clock. */
    if (t->adopted && t->result_total > 0)
        t->ended = t->started + t->result_total;
    if (t->has_child) {
        jobrun_child_dispose(&t->child);
        t->has_child = false;
    }
    if (run->dry_run) return;
    if (s != JOBRUN_DONE && s != JOBRUN_SKIPPED &&
        jobrun_job(run, t)->on_error == JOBXML_STOP)
        jobrun_stop(run, xasprintf("job %s failed (on-error=stop)",
                                   jobrun_job(run, t)->id));
    jobrun_event_task(run, "job-end", t);
    if (s == JOBRUN_DONE && t->already)
        jobrun_say(run, "%s: %s: nothing to do (%s)", t->id,
                   jobrun_what(run, t, what, sizeof(what)),
                   t->error ? t->error : "done before");
    else if (s == JOBRUN_DONE && t->has_downtime)
        jobrun_say(run, "%s: done in %.1f s (downtime %.0f ms, %.1f MB)",
                   t->id, t->ended - t->started, t->downtime_ms,
                   (double)t->bytes / 1e6);
    else if (s == JOBRUN_DONE)
        jobrun_say(run, "%s: done in %.1f s", t->id,
                   t->ended - t->started);
    else {
        jobrun_say(run, "%s: %s: %s", t->id, jobrun_state_name(s),
                   t->error ? t->error : "no reason given");
        if (t->remedy && t->remedy[0])
            jobrun_say(run, "%*s  remedy: %s", (int)strlen(t->id), "",
                       t->remedy);
    }
    (void)jobrun_save(run);
}

/* Skips every task of job j not yet started; a job with no tasks yet
 * gets one, to be reported. */
static void jobrun_skip_job(struct jobrun *run, size_t j, const char *why)
{
    const struct jobxml_job *job = &run->env.f->jobs[j];
    struct jobrun_task *t;
    size_t i;

    if (!run->jobs[j].expanded) {
        t = jobrun_task_add(run, j, job->id, job->domain);
        if (job->n_to == 1) t->to = xstrdup(job->to[0]);
        run->jobs[j].expanded = true;
    }
    for (i = 0; i < run->n_t; i++) {
        t = &run->t[i];
        if (t->job != j || t->state != JOBRUN_PENDING) continue;
        jobrun_set(&t->error, xstrdup(why));
        jobrun_end(run, t, JOBRUN_SKIPPED);
    }
}

/* ---- dependencies -------------------------------------------------------- */

enum jobrun_jstat { JOBRUN_J_WAIT, JOBRUN_J_OK, JOBRUN_J_FAILED,
                    JOBRUN_J_SKIPPED };

static enum jobrun_jstat jobrun_job_status(const struct jobrun *run,
                                           size_t j)
{
    bool failed = false, skipped = false;
    size_t i;

    if (!run->jobs[j].expanded) return JOBRUN_J_WAIT;
    for (i = 0; i < run->n_t; i++) {
        const struct jobrun_task *t = &run->t[i];

        if (t->job != j) continue;
        if (!jobrun_terminal(t->state)) return JOBRUN_J_WAIT;
        if (t->state == JOBRUN_SKIPPED) skipped = true;
        else if (t->state != JOBRUN_DONE) failed = true;
    }
    return failed ? JOBRUN_J_FAILED : skipped ? JOBRUN_J_SKIPPED
                                              : JOBRUN_J_OK;
}

/* 1: job j may start; 0: not yet; -1: never (*dep_r names why). */
static int jobrun_deps(const struct jobrun *run, size_t j, size_t *dep_r)
{
    const struct jobxml_job *job = &run->env.f->jobs[j];
    size_t i, d;

    for (i = 0; i < job->n_after; i++) {
        d = job->after_idx[i];
        switch (jobrun_job_status(run, d)) {
        case JOBRUN_J_WAIT:
            return 0;
        case JOBRUN_J_OK:
            break;
        case JOBRUN_J_FAILED:
            if (run->env.f->jobs[d].on_error == JOBXML_CONTINUE) break;
            *dep_r = d;
            return -1;
        case JOBRUN_J_SKIPPED:
            *dep_r = d;
            return -1;
        }
    }
    return 1;
}

/* ---- expansion: jobs into tasks ------------------------------------------ */

/*
 * Whether a domain may be chosen by a selection or an evacuation: not
 * dom0, and named as a receiver takes a domain (which leaves out the
 * halves of a migration in flight, NAME--incoming and NAME--migratedaway,
 * and any name unsafe in a task id, a file name or an argument).
 */
static bool jobrun_choosable(const struct jobrun_domain *d)
{
    return d->domid != 0 && xlmig_name_ok(d->name);
}

static struct jobrun_task *jobrun_find(struct jobrun *run, const char *id)
{
    size_t i;

    for (i = 0; i < run->n_t; i++)
        if (!strcmp(run->t[i].id, id)) return &run->t[i];
    return NULL;
}

/* A failed expansion: one failed task says why. */
static void jobrun_expand_failed(struct jobrun *run, size_t j, char *why)
{
    const struct jobxml_job *job = &run->env.f->jobs[j];
    struct jobrun_task *t = jobrun_find(run, job->id);

    if (!t) t = jobrun_task_add(run, j, job->id, job->domain);
    t->state = JOBRUN_PENDING;
    t->started = jobrun_now();
    jobrun_set(&t->error, why);
    jobrun_end(run, t, JOBRUN_FAILED);
}

/* Places an evacuation's tasks (state PENDING, to NULL) on its targets. */
static void jobrun_place(struct jobrun *run, size_t j, size_t first,
                         size_t n)
{
    const struct jobxml_job *job = &run->env.f->jobs[j];
    const struct jobxml_host *from = jobrun_host(run, job->from);
    size_t nt = job->n_to, d, t;
    bool *fits = xcalloc(n * nt + 1, sizeof(*fits));
    bool *no_room = xcalloc(n + 1, sizeof(*no_room));
    uint64_t *need = xcalloc(n * nt + 1, sizeof(*need));
    uint64_t *avail = xcalloc(nt + 1, sizeof(*avail));
    bool *avail_known = xcalloc(nt + 1, sizeof(*avail_known));
    char **failed = xcalloc(n + 1, sizeof(*failed));
    int *choice = xcalloc(n + 1, sizeof(*choice));
    struct jobrun_check chk;
    struct jobrun_task *task;
    char *s;

    for (d = 0; d < n; d++) {
        task = &run->t[first + d];
        for (t = 0; t < nt; t++) {
            jobrun_host_check(&run->env, from, task->domain,
                              jobrun_host(run, job->to[t]), job->force,
                              &chk);
            fits[d * nt + t] = chk.ran && chk.ok && chk.memory_known;
            need[d * nt + t] = chk.need_kib;
            if (chk.memory_known && !avail_known[t]) {
                avail[t] = chk.free_kib;
                avail_known[t] = true;
            }
            s = xasprintf("%s%s%s: %s", failed[d] ? failed[d] : "",
                          failed[d] ? "; " : "", job->to[t],
                          !chk.ran ? chk.why
                          : !chk.ok ? chk.failed
                          : !chk.memory_known ? "no memory figures"
                          : "ok");
            free(failed[d]);
            failed[d] = s;
            if (!task->remedy && chk.remedy && chk.remedy[0])
                task->remedy = xstrdup(chk.remedy);
            jobrun_check_dispose(&chk);
        }
    }
    jobxml_place(n, nt, fits, need, avail, choice, no_room);
    for (d = 0; d < n; d++) {
        task = &run->t[first + d];
        if (choice[d] >= 0) {
            task->to = xstrdup(job->to[choice[d]]);
            jobrun_set(&task->remedy, NULL);
            if (run->dry_run)
                jobrun_say(run, "  %-20s migrate %s to %s (needs %llu MiB "
                           "of the %llu MiB free there)", task->id,
                           task->domain, task->to, (unsigned long long)
                           (need[d * nt + choice[d]] / 1024),
                           (unsigned long long)(avail[choice[d]] / 1024));
            continue;
        }
        task->checks = failed[d];
        failed[d] = NULL;
        jobrun_set(&task->error, xasprintf("no host can take %s: %s%s",
                                           task->domain, task->checks,
                                           no_room[d] ? " (the hosts it "
                                           "fits are full after the "
                                           "domains placed before it)"
                                           : ""));
        if (!task->remedy)
            task->remedy = xstrdup(no_room[d] ? "add a target or free "
                                   "memory on one" : "see the failing "
                                   "checks; the domain stays where it is");
        task->started = jobrun_now();
        if (run->dry_run)
            jobrun_say(run, "  %-20s unplaced: %s", task->id, task->error);
        jobrun_end(run, task, JOBRUN_UNPLACED);
    }
    for (d = 0; d < n; d++) free(failed[d]);
    free(failed);
    free(choice);
    free(fits);
    free(no_room);
    free(need);
    free(avail);
    free(avail_known);
}

/*
 * Makes job j's tasks. Tasks that exist (a resumed run) are kept: a
 * selection adds only domains it has no task for yet.
 */
static void jobrun_expand(struct jobrun *run, size_t j)
{
    const struct jobxml_job *job = &run->env.f->jobs[j];
    const struct jobxml_host *from = jobrun_host(run, job->from);
    struct jobrun_domain *doms = NULL;
    struct jobrun_task *t;
    size_t n = 0, i, first = run->n_t;
    char *why = NULL, id[256];

    run->jobs[j].expanded = true;
    if (job->kind == JOBXML_EVACUATE && !run->dry_run &&
        !run->jobs[j].maintenance) {
        if (jobrun_host_maintenance(&run->env, from, true, &why)) {
            jobrun_expand_failed(run, j, xasprintf("cannot put %s in "
                                 "maintenance mode: %s", job->from ?
                                 job->from : "this host", why ? why : "?"));
            free(why);
            return;
        }
        run->jobs[j].maintenance = true;
        jobrun_say(run, "%s: %s is in maintenance mode (no incoming "
                   "migrations)", job->id, job->from ? job->from
                                                     : "this host");
    }
    if (job->kind == JOBXML_WAIT || job->kind == JOBXML_STORAGE_MOVE ||
        job->domain) {
        if (!jobrun_find(run, job->id)) {
            t = jobrun_task_add(run, j, job->id, job->domain);
            if (job->n_to == 1) t->to = xstrdup(job->to[0]);
        }
        return;
    }
    if (jobrun_host_domains(&run->env, from, &doms, &n, &why)) {
        jobrun_expand_failed(run, j, why);
        return;
    }
    for (i = 0; i < n; i++) {
        if (!jobrun_choosable(&doms[i]) ||
            !jobxml_selects(job, doms[i].name, doms[i].uuid))
            continue;
        snprintf(id, sizeof(id), "%s:%s", job->id, doms[i].name);
        if (jobrun_find(run, id)) continue;
        t = jobrun_task_add(run, j, id, doms[i].name);
        snprintf(t->uuid, sizeof(t->uuid), "%s", doms[i].uuid);
        if (job->kind != JOBXML_EVACUATE) t->to = xstrdup(job->to[0]);
    }
    free(doms);
    if (job->kind == JOBXML_EVACUATE && run->n_t > first)
        jobrun_place(run, j, first, run->n_t - first);
    for (i = 0; i < run->n_t && !run->dry_run; i++)
        if (run->t[i].job == j) break;
    if (i == run->n_t && !run->dry_run) {
        /* Nothing chosen: nothing to do, and the report says so. */
        t = jobrun_task_add(run, j, job->id, NULL);
        t->already = true;
        t->started = jobrun_now();
        t->error = xstrdup("no domain chosen");
        jobrun_end(run, t, JOBRUN_DONE);
    }
}

/* ---- a task's child ------------------------------------------------------ */

/* Adds seconds to phase name of t. */
static void jobrun_phase_add(struct jobrun_task *t, const char *name,
                             double s)
{
    size_t i;

    if (!name[0] || s < 0) return;
    for (i = 0; i < t->n_phases; i++)
        if (!strcmp(t->phase_name[i], name)) break;
    if (i == t->n_phases) {
        if (i == JOBRUN_PHASES) return;
        snprintf(t->phase_name[i], sizeof(t->phase_name[i]), "%s", name);
        t->phase_s[i] = 0;
        t->n_phases++;
    }
    t->phase_s[i] += s;
}

/* Whether s is a word that may name an xlmig job. */
static bool jobrun_job_id_ok(const char *s)
{
    size_t n = strlen(s);

    return n && n < 32 && s[0] != '-' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789._-") == n;
}

struct jobrun_line {
    struct jobrun *run;
    struct jobrun_task *t;
};

/* One JSON event of a migrate or storage-move child. */
static void jobrun_on_line(void *arg, char *line)
{
    struct jobrun_line *l = arg;
    struct jobrun_task *t = l->t;
    const char *ev, *s;
    char *why = NULL, *ids;
    yajl_val o;
    double at;

    o = jsonlim_parse(line, JOBRUN_LINE_MAX, 4, &why);
    free(why);
    if (!o) return;
    if (!YAJL_IS_OBJECT(o) || !(ev = jobrun_json_str(o, "event"))) goto out;
    at = jobrun_json_num(o, "elapsed");
    if (!strcmp(ev, "phase") && (s = jobrun_json_str(o, "phase"))) {
        if (strcmp(s, t->phase)) {
            if (t->phase[0]) jobrun_phase_add(t, t->phase, at - t->phase_at);
            snprintf(t->phase, sizeof(t->phase), "%s", s);
            t->phase_at = at;
        }
    } else if (!strcmp(ev, "progress")) {
        t->bytes = (uint64_t)jobrun_json_num(o, "bytes");
        t->rate = jobrun_json_num(o, "rate");
        if (l->run->json) jobrun_event_task(l->run, "progress", t);
    } else if (!strcmp(ev, "info") && (s = jobrun_json_str(o, "detail")) &&
               !strncmp(s, "job ", 4) && jobrun_job_id_ok(s + 4)) {
        snprintf(t->xjob, sizeof(t->xjob), "%s", s + 4);
    } else if (!strcmp(ev, "check") && (s = jobrun_json_str(o, "severity")) &&
               !strcmp(s, "error") && !jobrun_json_true(o, "forced") &&
               (s = jobrun_json_str(o, "id"))) {
        ids = t->checks ? xasprintf("%s,%.47s", t->checks, s)
                        : xasprintf("%.47s", s);
        jobrun_set(&t->checks, ids);
        if (!t->remedy && (s = jobrun_json_str(o, "remedy")) && *s)
            t->remedy = xasprintf("%.400s", s);
    } else if (!strcmp(ev, "result")) {
        t->result_seen = true;
        t->result_ok = jobrun_json_true(o, "ok");
        at = jobrun_json_num(o, "total_s");
        t->result_total = at;
        if (t->phase[0] && at > 0) jobrun_phase_add(t, t->phase,
                                                    at - t->phase_at);
        t->phase[0] = '\0';
        if (jobrun_json_str(o, "where") &&
            !strcmp(jobrun_json_str(o, "where"), "unknown") && !t->result_ok)
            t->unsafe = true;
        t->wire_bytes = (uint64_t)jobrun_json_num(o, "wire_bytes");
        if (jobrun_json_num(o, "written") > 0)
            t->bytes = (uint64_t)jobrun_json_num(o, "written");
        else if (jobrun_json_num(o, "bytes") > 0)
            t->bytes = (uint64_t)jobrun_json_num(o, "bytes");
        if (yajl_tree_get(o, (const char *[]){ "downtime_ms", NULL },
                          yajl_t_number) && t->result_ok) {
            t->downtime_ms = jobrun_json_num(o, "downtime_ms");
            t->has_downtime = true;
        }
        if ((s = jobrun_json_str(o, "job")) && jobrun_job_id_ok(s))
            snprintf(t->xjob, sizeof(t->xjob), "%s", s);
    }
out:
    yajl_tree_free(o);
}

/* The child's last error line, without "xlmig CMD: ". */
static char *jobrun_child_error(const struct jobrun_task *t)
{
    const char *e = t->child.err_last, *p;

    if (!e[0]) return NULL;
    if (!strncmp(e, "xlmig ", 6) && (p = strstr(e, ": "))) e = p + 2;
    return xstrdup(e);
}

/*
 * Where a migration's domain is: 1 on its source (move it), 0 on its
 * target already (done), -1 neither or unknown (t->error says).
 */
static int jobrun_locate(struct jobrun *run, struct jobrun_task *t)
{
    const struct jobxml_job *job = jobrun_job(run, t);
    const struct jobrun_domain *d;
    struct jobrun_domain *doms = NULL;
    const char *src = job->from ? job->from : "this host";
    char *why = NULL;
    size_t n;
    int r;

    if (jobrun_host_domains(&run->env, jobrun_host(run, job->from), &doms,
                            &n, &why)) {
        jobrun_set(&t->error, why);
        return -1;
    }
    d = jobrun_domain_find(doms, n, t->uuid[0] ? t->uuid : t->domain);
    if (d && !t->uuid[0]) snprintf(t->uuid, sizeof(t->uuid), "%s", d->uuid);
    free(doms);
    if (d) return 1;
    if (!t->uuid[0]) {
        jobrun_set(&t->error, xasprintf("domain %s is not on %s", t->domain,
                                        src));
        return -1;
    }
    r = jobrun_host_has(&run->env, jobrun_host(run, t->to), t->uuid, &why);
    if (r > 0) {
        jobrun_set(&t->error, xasprintf("%s is on %s already", t->domain,
                                        t->to));
        return 0;
    }
    jobrun_set(&t->error, r < 0 ? why
               : xasprintf("domain %s (%s) is on neither %s nor %s", t->domain,
                           t->uuid, src, t->to));
    if (r == 0) jobrun_set(&t->remedy, xstrdup("run xlmig recover on both "
                                               "hosts"));
    else free(why);
    return -1;
}

/* The argv of a task's child (strings live in job, t, run or buf). */
static void jobrun_argv(struct jobrun *run, struct jobrun_task *t,
                        const char **argv, char *storage, size_t size,
                        char *timeout, size_t tsize)
{
    const struct jobxml_job *job = jobrun_job(run, t);
    size_t n = 0, i, used = 0;

    switch (job->kind) {
    case JOBXML_CHECK:
        argv[n++] = "check";
        argv[n++] = "--json";
        break;
    case JOBXML_STORAGE_MOVE:
        argv[n++] = "storage-move";
        argv[n++] = "--progress=json";
        break;
    default:
        argv[n++] = "migrate";
        argv[n++] = "--progress=json";
        break;
    }
    if (job->kind != JOBXML_STORAGE_MOVE && run->env.ssh) {
        argv[n++] = "-s";
        argv[n++] = run->env.ssh;
    }
    if (job->force) {
        argv[n++] = "--force";
        argv[n++] = job->force;
    }
    if (job->kind == JOBXML_MIGRATE || job->kind == JOBXML_EVACUATE) {
        if (job->has_peer_timeout) {
            snprintf(timeout, tsize, "%u", job->peer_timeout);
            argv[n++] = "--timeout";
            argv[n++] = timeout;
        }
        if (job->data) { argv[n++] = "--data"; argv[n++] = job->data; }
        if (job->compress) {
            argv[n++] = "--compress";
            argv[n++] = job->compress;
        }
        if (job->encrypt) argv[n++] = "--encrypt";
        if (job->no_encrypt) argv[n++] = "--no-encrypt";
        if (job->paused) argv[n++] = "-p";
        if (job->max_downtime) {
            argv[n++] = "--max-downtime";
            argv[n++] = job->max_downtime;
        }
        if (job->converge) {
            argv[n++] = "--converge";
            argv[n++] = job->converge;
        }
        if (job->no_live) argv[n++] = "--no-live";
        if (job->config) { argv[n++] = "-C"; argv[n++] = job->config; }
        storage[0] = '\0';
        for (i = 0; i < job->n_disks; i++)
            used += (size_t)snprintf(storage + used, size - used, "%s%s=%s",
                                     i ? "," : "", job->disks[i].vdev,
                                     job->disks[i].sr);
        if (job->n_disks) {
            argv[n++] = "--storage";
            argv[n++] = storage;
        }
    }
    if (job->bandwidth) {
        argv[n++] = "--bandwidth";
        argv[n++] = job->bandwidth;
    }
    if (job->keep_source) argv[n++] = "--keep-source";
    if (job->kind == JOBXML_STORAGE_MOVE) {
        if (job->offline) { argv[n++] = "--offline"; argv[n++] = "--yes"; }
        if (job->format) { argv[n++] = "--format"; argv[n++] = job->format; }
        if (job->config) { argv[n++] = "--config"; argv[n++] = job->config; }
        if (job->domain) argv[n++] = job->domain;
        argv[n++] = job->vdev;
        argv[n++] = job->sr;
    } else {
        argv[n++] = t->domain;
        argv[n++] = jobrun_host(run, t->to)->address;
    }
    argv[n] = NULL;
}

static void jobrun_start(struct jobrun *run, struct jobrun_task *t)
{
    const struct jobxml_job *job = jobrun_job(run, t);
    const char *argv[40];
    char storage[JOBXML_DISKS_MAX * 80], timeout[16], what[256];
    char *why = NULL, *log;
    int r;

    t->attempts++;
    t->started = jobrun_now();
    t->ended = 0;
    t->phase[0] = '\0';
    t->n_phases = 0;
    t->bytes = t->wire_bytes = 0;
    t->rate = 0;
    t->has_downtime = false;
    t->result_seen = t->result_ok = t->unsafe = false;
    t->cancel_wanted = t->cancel_sent = t->timed_out = false;
    t->xjob[0] = '\0';
    jobrun_set(&t->error, NULL);
    jobrun_set(&t->checks, NULL);
    jobrun_set(&t->remedy, NULL);
    if (job->kind == JOBXML_WAIT) {
        t->state = JOBRUN_RUNNING;
        jobrun_event_task(run, "job-start", t);
        return;
    }
    if ((job->kind == JOBXML_MIGRATE || job->kind == JOBXML_EVACUATE) &&
        !job->config) {
        r = jobrun_locate(run, t);
        if (r == 0) t->already = true;
        if (r <= 0) {
            jobrun_end(run, t, r ? JOBRUN_FAILED : JOBRUN_DONE);
            return;
        }
    }
    /* Durable before it starts: a runner after this one adopts it. */
    t->state = JOBRUN_RUNNING;
    if (jobrun_save(run)) {
        t->state = JOBRUN_PENDING;
        t->attempts--;
        return;
    }
    jobrun_argv(run, t, argv, storage, sizeof(storage), timeout,
                sizeof(timeout));
    /* Beside the state file, which the save above made sure of. */
    if (mkdir(run->log_dir, 0700) && errno != EEXIST) {
        jobrun_set(&t->error, xasprintf("%s: %s", run->log_dir,
                                        strerror(errno)));
        jobrun_end(run, t, JOBRUN_FAILED);
        return;
    }
    log = xasprintf("%s/%s", run->log_dir, t->id);
    r = jobrun_child_start(&run->env, jobrun_host(run, job->from), argv, log,
                           &t->child, &why);
    free(log);
    if (r) {
        jobrun_set(&t->error, why);
        jobrun_end(run, t, JOBRUN_FAILED);
        return;
    }
    t->has_child = true;
    jobrun_event_task(run, "job-start", t);
    jobrun_say(run, "%s: %s: started%s", t->id,
               jobrun_what(run, t, what, sizeof(what)),
               t->attempts > 1 ? " again" : "");
}

/* A retry, if the job has one left and the domain is where it was. */
static bool jobrun_retry(struct jobrun *run, struct jobrun_task *t)
{
    const struct jobxml_job *job = jobrun_job(run, t);

    if (t->unsafe || t->timed_out || t->cancel_sent || run->stopping ||
        t->attempts > job->retries)
        return false;
    jobrun_say(run, "%s: failed: %s; trying again in %u s (%u of %u)", t->id,
               t->error ? t->error : "?", job->retry_delay, t->attempts,
               job->retries);
    t->state = JOBRUN_PENDING;
    t->next_try = jobrun_now() + job->retry_delay;
    (void)jobrun_save(run);
    return true;
}

/* A child has ended (or an adopted one's job has): what came of it. */
static void jobrun_finish(struct jobrun *run, struct jobrun_task *t)
{
    const struct jobxml_job *job = jobrun_job(run, t);
    struct jobrun_check chk;
    int status = t->adopting ? -1 : jobrun_child_exit(&t->child);
    bool ok;
    int r;

    if (job->kind == JOBXML_CHECK) {
        jobrun_check_parse(t->child.out ? t->child.out : "", &chk);
        ok = chk.ran && chk.ok;
        if (!chk.ran) {
            jobrun_set(&t->error, jobrun_child_error(t));
            if (!t->error) t->error = xstrdup(chk.why ? chk.why : "?");
        }
        else if (!ok)
            jobrun_set(&t->error, xasprintf("checks failed: %s",
                                            chk.failed ? chk.failed : "?"));
        if (!ok && chk.failed) t->checks = xstrdup(chk.failed);
        if (!ok && chk.remedy) jobrun_set(&t->remedy, xstrdup(chk.remedy));
        jobrun_check_dispose(&chk);
        jobrun_end(run, t, ok ? JOBRUN_DONE : JOBRUN_FAILED);
        return;
    }
    t->adopting = false;
    if (status == 0 || (status < 0 && t->result_seen && t->result_ok)) {
        jobrun_end(run, t, JOBRUN_DONE);
        return;
    }
    if (status < 0 && !t->result_seen && job->kind != JOBXML_STORAGE_MOVE) {
        /* Its process died without a word: where is the domain? */
        r = jobrun_locate(run, t);
        if (r > 0) {
            jobrun_set(&t->error, xstrdup("interrupted with the runner; "
                                          "the domain is on its source"));
            if (!jobrun_retry(run, t)) {
                t->state = JOBRUN_PENDING;
                t->next_try = 0;
            }
            return;
        }
        if (r == 0) t->already = true;
        jobrun_end(run, t, r ? JOBRUN_FAILED : JOBRUN_DONE);
        return;
    }
    jobrun_set(&t->error, jobrun_child_error(t));
    if (!t->error)
        t->error = status < 0 ? xstrdup("interrupted with the runner")
                              : xasprintf("exit status %d", status);
    /* A disk move whose process died unseen: recover knows where it is. */
    if (status < 0 && !t->result_seen)
        jobrun_set(&t->remedy, xstrdup("run xlmig recover on the source "
                                       "host, then the file again"));
    if (status == CMD_EXIT_UNSAFE) t->unsafe = true;
    if (t->unsafe)
        jobrun_set(&t->remedy, xstrdup("run xlmig recover on both hosts "
                                       "before anything else"));
    if (t->timed_out)
        jobrun_set(&t->error, xasprintf("timed out after %u s: %s",
                                        job->timeout, t->error));
    if (!t->remedy)
        t->remedy = xstrdup(job->kind == JOBXML_STORAGE_MOVE
                            ? "the domain uses its source disk; fix the "
                              "cause and run the file again"
                            : "the domain still runs on its source; fix "
                              "the cause and run the file again");
    if (jobrun_retry(run, t)) return;
    jobrun_end(run, t, t->cancel_sent && !t->timed_out ? JOBRUN_CANCELLED
                                                       : JOBRUN_FAILED);
}

/* Asks a running task to stop before its point of no return. */
static void jobrun_cancel(struct jobrun *run, struct jobrun_task *t)
{
    const struct jobxml_job *job = jobrun_job(run, t);
    char *why = NULL;

    if (t->state != JOBRUN_RUNNING || t->cancel_sent) return;
    t->cancel_wanted = true;
    if (job->kind == JOBXML_WAIT) {
        t->cancel_sent = true;
        jobrun_set(&t->error, xstrdup(t->timed_out ? "timed out"
                                                   : "cancelled"));
        jobrun_end(run, t, t->timed_out ? JOBRUN_FAILED : JOBRUN_CANCELLED);
        return;
    }
    if (t->has_child && t->child.pid > 0 && !job->from) {
        /* Our own child here: SIGINT is its cancel (sig.c). */
        jobrun_child_signal(&t->child, SIGINT);
        t->cancel_sent = true;
        return;
    }
    if (!t->xjob[0]) return;        /* again once it says its job id */
    if (jobrun_host_job_cancel(&run->env, jobrun_host(run, job->from),
                               t->xjob, &why))
        jobrun_say(run, "%s: not cancelled: %s", t->id, why ? why : "?");
    free(why);
    t->cancel_sent = true;
}

/* Reads every running task's child; ends those that ended. */
static void jobrun_service(struct jobrun *run)
{
    struct jobrun_line l = { .run = run };
    const struct jobxml_job *job;
    struct jobrun_task *t;
    double now = jobrun_now(), mono = jobrun_mono();
    char *why = NULL;
    bool done;
    size_t i;
    int alive;

    for (i = 0; i < run->n_t; i++) {
        t = &run->t[i];
        if (t->state != JOBRUN_RUNNING) continue;
        job = jobrun_job(run, t);
        if (job->kind == JOBXML_WAIT) {
            if (now >= t->started + job->seconds) jobrun_end(run, t,
                                                             JOBRUN_DONE);
            continue;
        }
        if (!t->has_child) continue;
        l.t = t;
        done = jobrun_child_read(&t->child, job->kind == JOBXML_CHECK
                                 ? NULL : jobrun_on_line, &l);
        if (t->adopting && !done && mono >= t->adopt_poll) {
            t->adopt_poll = mono + JOBRUN_ADOPT_POLL_S;
            alive = t->xjob[0] ? jobrun_host_job_alive(&run->env,
                                 jobrun_host(run, job->from), t->xjob, &why)
                               : 0;
            free(why);
            why = NULL;
            /* Its result line comes just after its job is gone. */
            if (alive == 0 && !t->adopt_gone) t->adopt_gone = mono;
            done = t->result_seen || (alive == 0 &&
                   mono - t->adopt_gone >= JOBRUN_ADOPT_POLL_S);
            if (done) (void)jobrun_child_read(&t->child, jobrun_on_line, &l);
        }
        if (job->timeout && !t->cancel_sent &&
            now - t->started >= job->timeout) {
            t->timed_out = true;
            jobrun_cancel(run, t);
        } else if (t->cancel_wanted && !t->cancel_sent) {
            jobrun_cancel(run, t);
        }
        if (done) jobrun_finish(run, t);
    }
}

/* ---- scheduling ---------------------------------------------------------- */

static bool jobrun_same(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Whether task t writes into SR sr. */
static bool jobrun_uses_sr(const struct jobrun *run,
                           const struct jobrun_task *t, const char *sr)
{
    const struct jobxml_job *job = jobrun_job(run, t);
    size_t i;

    if (job->kind == JOBXML_STORAGE_MOVE) return !strcmp(job->sr, sr);
    for (i = 0; i < job->n_disks; i++)
        if (!strcmp(job->disks[i].sr, sr)) return true;
    return false;
}

/* Whether t may start now under the file's limits. */
static bool jobrun_fits(const struct jobrun *run, const struct jobrun_task *t)
{
    const struct jobxml_file *f = run->env.f;
    const struct jobxml_job *job = jobrun_job(run, t), *oj;
    const struct jobxml_host *to = jobrun_host(run, t->to);
    unsigned total = 0, src = 0, dst = 0, sr, lim;
    size_t i, k;

    if (job->kind == JOBXML_WAIT) return true;
    for (i = 0; i < run->n_t; i++) {
        const struct jobrun_task *o = &run->t[i];

        oj = jobrun_job(run, o);
        if (o->state != JOBRUN_RUNNING || oj->kind == JOBXML_WAIT) continue;
        total++;
        if (jobrun_same(oj->from, job->from)) src++;
        if (t->to && jobrun_same(o->to, t->to)) dst++;
    }
    if (f->limit_total && total >= f->limit_total) return false;
    if (f->limit_source && src >= f->limit_source) return false;
    lim = to && to->limit ? to->limit : f->limit_dest;
    if (t->to && lim && dst >= lim) return false;
    if (!f->limit_sr) return true;
    /* Per SR: each SR this task writes into. */
    for (k = 0; k <= job->n_disks; k++) {
        const char *name = job->kind == JOBXML_STORAGE_MOVE
                           ? (k ? NULL : job->sr)
                           : (k < job->n_disks ? job->disks[k].sr : NULL);

        if (!name) continue;
        sr = 0;
        for (i = 0; i < run->n_t; i++)
            if (run->t[i].state == JOBRUN_RUNNING &&
                jobrun_uses_sr(run, &run->t[i], name))
                sr++;
        if (sr >= f->limit_sr) return false;
    }
    return true;
}

/* Stops the run: nothing new starts; running tasks go on (or are
 * cancelled, by a signal). */
static void jobrun_stop(struct jobrun *run, char *reason)
{
    if (run->stopping) {
        free(reason);
        return;
    }
    run->stopping = true;
    run->stop_reason = reason;
    jobrun_say(run, "job-run: %s: starting nothing more", reason);
}

static void jobrun_schedule(struct jobrun *run)
{
    const struct jobxml_file *f = run->env.f;
    struct jobrun_task *t;
    double now = jobrun_now();
    size_t k, j, dep, i;
    char *why;
    int r;

    for (k = 0; k < f->n_jobs; k++) {
        j = f->order[k];
        if (run->jobs[j].expanded) continue;
        if (run->stopping) {
            jobrun_skip_job(run, j, run->stop_reason);
            continue;
        }
        r = jobrun_deps(run, j, &dep);
        if (r == 0) continue;
        if (r < 0) {
            why = xasprintf("job %s, which it comes after, %s", f->jobs[dep].id,
                            jobrun_job_status(run, dep) == JOBRUN_J_SKIPPED
                            ? "was skipped" : "failed");
            jobrun_skip_job(run, j, why);
            free(why);
            continue;
        }
        jobrun_expand(run, j);
    }
    for (i = 0; i < run->n_t; i++) {
        t = &run->t[i];
        if (t->state != JOBRUN_PENDING) continue;
        if (run->stopping) {
            jobrun_set(&t->error, xstrdup(run->stop_reason));
            jobrun_end(run, t, JOBRUN_SKIPPED);
            continue;
        }
        if (t->next_try > now || !jobrun_fits(run, t)) continue;
        jobrun_start(run, t);
    }
}

/* Whether every job has its tasks and every task has ended. */
static bool jobrun_finished(const struct jobrun *run)
{
    size_t i;

    for (i = 0; i < run->env.f->n_jobs; i++)
        if (!run->jobs[i].expanded) return false;
    for (i = 0; i < run->n_t; i++)
        if (!jobrun_terminal(run->t[i].state)) return false;
    return true;
}

/* Evacuations that asked for it leave maintenance mode, if all moved. */
static void jobrun_leave_maintenance(struct jobrun *run)
{
    const struct jobxml_file *f = run->env.f;
    char *why = NULL;
    size_t j;

    for (j = 0; j < f->n_jobs; j++) {
        if (f->jobs[j].kind != JOBXML_EVACUATE ||
            !f->jobs[j].leave_maintenance ||
            jobrun_job_status(run, j) != JOBRUN_J_OK)
            continue;
        if (jobrun_host_maintenance(&run->env, jobrun_host(run,
                                    f->jobs[j].from), false, &why))
            jobrun_say(run, "%s: cannot leave maintenance mode: %s",
                       f->jobs[j].id, why ? why : "?");
        else
            jobrun_say(run, "%s: %s left maintenance mode", f->jobs[j].id,
                       f->jobs[j].from ? f->jobs[j].from : "this host");
        free(why);
        why = NULL;
    }
}

/* Drains the signal pipe: true if a signal came. */
static bool jobrun_signalled(struct jobrun *run, short revents)
{
    char buf[16];
    bool got = false;

    if (!(revents & POLLIN)) return false;
    while (read(run->sig_fd, buf, sizeof(buf)) > 0) got = true;
    return got;
}

/* ---- the dry run --------------------------------------------------------- */

static bool jobrun_dry_check(struct jobrun *run, struct jobrun_task *t)
{
    const struct jobxml_job *job = jobrun_job(run, t);
    struct jobrun_check chk;
    bool ok;
    int r;

    if (!job->config) {
        r = jobrun_locate(run, t);
        if (r <= 0) {
            jobrun_say(run, "  %-20s %s: %s", t->id, r ? "cannot run"
                       : "nothing to do", t->error);
            if (!r) t->already = true;
            t->state = r ? JOBRUN_FAILED : JOBRUN_DONE;
            return r == 0;
        }
    }
    jobrun_host_check(&run->env, jobrun_host(run, job->from),
                      job->config ? job->domain : t->domain,
                      jobrun_host(run, t->to), job->force, &chk);
    ok = chk.ran && chk.ok;
    if (!chk.ran)
        jobrun_say(run, "  %-20s %s to %s: cannot check: %s", t->id,
                   t->domain, t->to, chk.why ? chk.why : "?");
    else if (!ok)
        jobrun_say(run, "  %-20s %s to %s: checks fail: %s", t->id,
                   t->domain, t->to, chk.failed ? chk.failed : "?");
    else if (chk.memory_known)
        jobrun_say(run, "  %-20s %s to %s: checks pass (needs %llu MiB, "
                   "%llu MiB free there)", t->id, t->domain, t->to,
                   (unsigned long long)(chk.need_kib / 1024),
                   (unsigned long long)(chk.free_kib / 1024));
    else
        jobrun_say(run, "  %-20s %s to %s: checks pass", t->id, t->domain,
                   t->to);
    if (!ok) {
        t->state = JOBRUN_FAILED;
        jobrun_set(&t->error, xstrdup(!chk.ran ? (chk.why ? chk.why : "?")
                                      : chk.failed ? chk.failed : "?"));
    }
    jobrun_check_dispose(&chk);
    return ok;
}

static void jobrun_dry_job(struct jobrun *run, size_t j)
{
    const struct jobxml_job *job = &run->env.f->jobs[j];
    size_t i, first = run->n_t;

    if (job->kind == JOBXML_EVACUATE)
        jobrun_say(run, "%s: evacuate %s to %s (%s enters maintenance "
                   "mode)", job->id, job->from ? job->from : "this host",
                   job->to[0], job->from ? job->from : "this host");
    else if (job->kind == JOBXML_WAIT)
        jobrun_say(run, "%s: wait %u s", job->id, job->seconds);
    else if (job->kind == JOBXML_STORAGE_MOVE)
        jobrun_say(run, "%s: move disk %s of %s to SR %s", job->id,
                   job->vdev, job->domain ? job->domain : job->config,
                   job->sr);
    else
        jobrun_say(run, "%s: %s to %s", job->id, jobxml_kind_name(job->kind),
                   job->to[0]);
    if (job->n_after) {
        char *after = xstrdup(job->after[0]), *more;

        for (i = 1; i < job->n_after; i++) {
            more = xasprintf("%s %s", after, job->after[i]);
            free(after);
            after = more;
        }
        jobrun_say(run, "  after %s (on error: %s)", after,
                   jobxml_on_error_name(run->env.f->jobs[
                                        job->after_idx[0]].on_error));
        free(after);
    }
    jobrun_expand(run, j);
    if (job->kind != JOBXML_MIGRATE && job->kind != JOBXML_CHECK) return;
    for (i = first; i < run->n_t; i++)
        if (run->t[i].state == JOBRUN_PENDING)
            (void)jobrun_dry_check(run, &run->t[i]);
    if (first == run->n_t)
        jobrun_say(run, "  no domain chosen: nothing to do");
}

static int jobrun_dry(struct jobrun *run)
{
    const struct jobxml_file *f = run->env.f;
    bool ok = true;
    size_t k, i;

    jobrun_say(run, "plan of %s (dry run: nothing is changed)", f->path);
    for (k = 0; k < f->n_jobs; k++) jobrun_dry_job(run, f->order[k]);
    for (i = 0; i < run->n_t; i++)
        if (run->t[i].state == JOBRUN_FAILED ||
            run->t[i].state == JOBRUN_UNPLACED)
            ok = false;
    jobrun_say(run, "%s", ok ? "every check passes and every domain has a "
               "host" : "some jobs would fail (see above)");
    return ok ? CMD_EXIT_OK : CMD_EXIT_FAILED;
}

/* ---- the run ------------------------------------------------------------- */

/* Tasks a state file left running: their children are adopted. */
static void jobrun_adopt_all(struct jobrun *run)
{
    struct jobrun_task *t;
    char *log, *why = NULL;
    size_t i;

    for (i = 0; i < run->n_t; i++) {
        t = &run->t[i];
        if (t->state != JOBRUN_RUNNING) continue;
        /* A barrier or a check changes nothing: it simply runs again. */
        if (jobrun_job(run, t)->kind == JOBXML_WAIT ||
            jobrun_job(run, t)->kind == JOBXML_CHECK) {
            t->state = JOBRUN_PENDING;
            continue;
        }
        log = xasprintf("%s/%s", run->log_dir, t->id);
        if (jobrun_child_adopt(log, &t->child, &why)) {
            /* No output at all: it never started; start it again. */
            t->state = JOBRUN_PENDING;
            free(why);
            why = NULL;
        } else {
            t->has_child = true;
            t->adopting = t->adopted = true;
            jobrun_say(run, "%s: still running from an earlier run: "
                       "waiting for it", t->id);
        }
        free(log);
    }
}

static void jobrun_summary(struct jobrun *run, const char *result)
{
    unsigned n[JOBRUN_UNPLACED + 1] = { 0 };
    size_t i;

    for (i = 0; i < run->n_t; i++) n[run->t[i].state]++;
    if (run->json) {
        printf("{\"event\": \"run-end\", \"result\": \"%s\", \"done\": %u, "
               "\"failed\": %u, \"skipped\": %u, \"cancelled\": %u, "
               "\"unplaced\": %u}\n", result, n[JOBRUN_DONE],
               n[JOBRUN_FAILED], n[JOBRUN_SKIPPED], n[JOBRUN_CANCELLED],
               n[JOBRUN_UNPLACED]);
        fflush(stdout);
        return;
    }
    jobrun_say(run, "job-run %s: %s: %u done, %u failed, %u unplaced, %u "
               "skipped, %u cancelled", run->env.f->path, result,
               n[JOBRUN_DONE], n[JOBRUN_FAILED], n[JOBRUN_UNPLACED],
               n[JOBRUN_SKIPPED], n[JOBRUN_CANCELLED]);
}

int jobrun_run(struct jobrun *run)
{
    const struct jobxml_file *f = run->env.f;
    struct pollfd p;
    const char *result;
    double drawn = 0;
    char *why = NULL;
    size_t i;
    int status;

    run->jobs = xcalloc(f->n_jobs + 1, sizeof(*run->jobs));
    run->started = jobrun_now();
    run->sig_fd = sig_cancel_fd();
    if (run->dry_run) {
        status = jobrun_dry(run);
        if (run->report_path &&
            jobrun_report_write(run, run->report_path, "dry-run", &why)) {
            cmd_error(run->env.c, "%s", why);
            free(why);
            status = CMD_EXIT_FAILED;
        }
        return status;
    }
    if (jobrun_state_load(run, &why)) {
        cmd_error(run->env.c, "%s", why);
        free(why);
        return CMD_EXIT_FAILED;
    }
    jobrun_adopt_all(run);
    if (run->json) {
        printf("{\"event\": \"run-start\"");
        jobrun_json_kv("file", f->path);
        jobrun_json_kv("state", run->state_path);
        printf(", \"jobs\": %zu, \"resumed\": %s}\n", f->n_jobs,
               run->n_t ? "true" : "false");
        fflush(stdout);
    } else if (run->n_t) {
        jobrun_say(run, "job-run %s: resuming (state %s)", f->path,
                   run->state_path);
    }
    while (!jobrun_finished(run)) {
        p = (struct pollfd){ .fd = run->sig_fd, .events = POLLIN };
        if (poll(&p, 1, JOBRUN_TICK_MS) < 0 && errno != EINTR) break;
        if (jobrun_signalled(run, p.revents) && !run->cancelled) {
            run->cancelled = true;
            jobrun_stop(run, xstrdup("cancelled by a signal"));
            for (i = 0; i < run->n_t; i++) jobrun_cancel(run, &run->t[i]);
        }
        jobrun_service(run);
        jobrun_schedule(run);
        if (jobrun_mono() - drawn >= JOBRUN_DRAW_S) {
            jobrun_draw(run);
            drawn = jobrun_mono();
        }
    }
    jobrun_undraw(run);
    jobrun_leave_maintenance(run);
    status = CMD_EXIT_OK;
    for (i = 0; i < run->n_t; i++)
        if (run->t[i].state != JOBRUN_DONE) status = CMD_EXIT_FAILED;
    result = run->cancelled ? "cancelled" : status ? "failed" : "done";
    jobrun_summary(run, result);
    if (run->report_path &&
        jobrun_report_write(run, run->report_path, result, &why)) {
        cmd_error(run->env.c, "%s", why);
        free(why);
        why = NULL;
        status = CMD_EXIT_FAILED;
    }
    if (status == CMD_EXIT_OK) jobrun_state_remove(run);
    else (void)jobrun_save(run);
    return status;
}
