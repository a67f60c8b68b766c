/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hooks.c - runs the admin's hook programs for an event (contract in
 * hooks.h and docs/xlmig-hooks.7), for xlmig-hookd and for a job that
 * finds no hookd running. Which process runs which hook, once, is settled
 * in xenstore (coord-event.c); how each runs is child_run_group's: its
 * own session and process group, killed as a whole at its deadline.
 *
 * An event being processed again (its first runner died) skips the hooks
 * that started before: those that finished count with their exit status,
 * one cut short counts as a veto of a pre-event (its verdict is unknown,
 * and not going on is what is safe).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "conf.h"
#include "hooks.h"
#include "journal.h"

#define HOOKS_NAME_MAX 31               /* a xenstore path component */
#define HOOKS_OUT_MAX 4096              /* output kept of each run */
#define HOOKS_RECORD_MAX 512            /* of it, in xenstore */
#define HOOKS_WAIT_SLACK_S 15           /* hookd's time to start, and end */
#define HOOKS_CLAIM_TRIES 3
#define HOOKS_PATH \
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define HOOKS_ENV_MAX 15
#define HOOKS_CONFIG_PREFIX "event-"
#define HOOKS_STALE_S 3600              /* a config file left behind */

static const char *const hooks_names[HOOKS_NR_EVENTS] = {
    [HOOKS_PRE_MIGRATE] = "pre-migrate",
    [HOOKS_PRE_INCOMING] = "pre-incoming",
    [HOOKS_POST_MIGRATE] = "post-migrate",
    [HOOKS_INCOMING_DONE] = "incoming-done",
    [HOOKS_MIGRATE_FAILED] = "migrate-failed",
    [HOOKS_MIGRATE_CANCELLED] = "migrate-cancelled",
    [HOOKS_MIGRATE_UNSAFE] = "migrate-unsafe",
    [HOOKS_JOB_QUEUED] = "job-queued",
    [HOOKS_STORAGE_BEGIN] = "storage-move-begin",
    [HOOKS_STORAGE_END] = "storage-move-end",
};

/* What a hook's run says about going on. */
enum hooks_verdict { HOOKS_GO, HOOKS_WARN, HOOKS_VETO };

/* The limits, each hook and all of one event, in seconds. */
struct hooks_limits {
    double each, total;
};

const char *hooks_event_name(enum hooks_event e)
{
    return (unsigned)e < HOOKS_NR_EVENTS ? hooks_names[e] : "?";
}

bool hooks_event_vetoes(enum hooks_event e)
{
    return e == HOOKS_PRE_MIGRATE || e == HOOKS_PRE_INCOMING;
}

static bool hooks_event_parse(const char *s, enum hooks_event *e_r)
{
    unsigned i;

    for (i = 0; i < HOOKS_NR_EVENTS; i++) {
        if (!strcmp(s, hooks_names[i])) {
            *e_r = (enum hooks_event)i;
            return true;
        }
    }
    return false;
}

static const char *hooks_dir(void)
{
    const char *d = getenv("XLMIG_HOOKS_DIR");

    return d && *d ? d : HOOKS_DIR_DEFAULT;
}

/* Where the configs handed to hooks wait: beside the journals. */
static char *hooks_config_dir(void)
{
    return xasprintf("%s/hooks", journal_dir());
}

static bool hooks_name_ok(const char *name, size_t max)
{
    size_t n = strlen(name);

    return n && n <= max &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_-") == n;
}

static int hooks_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t hooks_list(const char *dir, size_t name_max, char ***names_r)
{
    char **names = NULL, *path;
    struct dirent *de;
    struct stat st;
    size_t n = 0;
    DIR *dp;

    *names_r = NULL;
    dp = opendir(dir);
    if (!dp) return 0;
    while ((de = readdir(dp))) {
        if (!hooks_name_ok(de->d_name, name_max)) continue;
        path = xasprintf("%s/%s", dir, de->d_name);
        if (!stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK)) {
            names = xrealloc(names, (n + 1) * sizeof(*names));
            names[n++] = xstrdup(de->d_name);
        }
        free(path);
    }
    closedir(dp);
    if (n) qsort(names, n, sizeof(*names), hooks_cmp);
    *names_r = names;
    return n;
}

static void hooks_free_names(char **names, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* Seconds from $env, or from xlmig.conf's key, or dflt. */
static double hooks_seconds(struct xlmig_ctx *ctx, const struct conf *cf,
                            const char *env, const char *key, double dflt)
{
    const char *s = getenv(env);
    char *end, *cause = NULL;
    long v = 0;
    double d;

    if (s && *s) {
        d = strtod(s, &end);
        if (!*end && d > 0 && d <= 86400) return d;
        LOG(ctx, WARN, "%s=%s is not a number of seconds: ignored", env, s);
    }
    if (!cf) return dflt;
    if (conf_long(cf, key, 1, 86400, &v, &cause)) {
        LOG(ctx, WARN, "%s; using %.0f s", cause, dflt);
        free(cause);
        return dflt;
    }
    return v ? (double)v : dflt;
}

static void hooks_limits(struct xlmig_ctx *ctx, struct hooks_limits *lim)
{
    struct conf *cf = NULL;
    char *cause = NULL;

    if (conf_open(ctx, &cf, &cause)) {
        LOG(ctx, WARN, "%s; hooks get their default time", cause);
        free(cause);
        cf = NULL;
    }
    lim->each = hooks_seconds(ctx, cf, "XLMIG_HOOK_TIMEOUT", "hook_timeout",
                              HOOKS_TIMEOUT_S);
    lim->total = hooks_seconds(ctx, cf, "XLMIG_HOOK_EVENT_TIMEOUT",
                               "hook_event_timeout", HOOKS_EVENT_TIMEOUT_S);
    conf_close(cf);
}

/* ---- one hook ---- */

/* "NAME=value" with control characters made '_': one line each. */
static char *hooks_env_var(const char *name, const char *value)
{
    char *s = xasprintf("%s=%s", name, value), *p;

    for (p = s + strlen(name) + 1; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '_';
    return s;
}

static void hooks_env(const struct coord_event *ev, const char *hook,
                      char *env[HOOKS_ENV_MAX])
{
    const char *xs = getenv("XENSTORED_PATH");
    char seq[16];
    size_t i = 0;

    snprintf(seq, sizeof(seq), "%u", ev->seq);
    env[i++] = xstrdup(HOOKS_PATH);
    env[i++] = hooks_env_var("XLMIG_EVENT", ev->event);
    env[i++] = hooks_env_var("XLMIG_SEQ", seq);
    env[i++] = hooks_env_var("XLMIG_JOB", ev->job);
    env[i++] = hooks_env_var("XLMIG_DOMAIN", ev->domain);
    env[i++] = hooks_env_var("XLMIG_UUID", ev->uuid);
    env[i++] = hooks_env_var("XLMIG_DOMID", ev->domid);
    env[i++] = hooks_env_var("XLMIG_PEER", ev->peer);
    env[i++] = hooks_env_var("XLMIG_ROLE", ev->role);
    env[i++] = hooks_env_var("XLMIG_RESULT", ev->result);
    env[i++] = hooks_env_var("XLMIG_ERROR", ev->error);
    env[i++] = hooks_env_var("XLMIG_HOOK", hook);
    /* A simulated host's xenstored, for hooks that read xenstore. */
    if (xs && *xs) env[i++] = hooks_env_var("XENSTORED_PATH", xs);
    env[i] = NULL;
}

static void hooks_env_free(char *env[HOOKS_ENV_MAX])
{
    size_t i;

    for (i = 0; env[i]; i++) free(env[i]);
}

/* The output's last HOOKS_RECORD_MAX bytes, one line ("; " between). */
static char *hooks_tail(const char *out)
{
    size_t n = strlen(out), i;
    const char *s;
    char *t, *p;

    while (n && (out[n - 1] == '\n' || out[n - 1] == ' ')) n--;
    s = n > HOOKS_RECORD_MAX ? out + n - HOOKS_RECORD_MAX : out;
    p = t = xmalloc(2 * (size_t)(out + n - s) + 1);
    for (i = 0; s + i < out + n; i++) {
        if (s[i] == '\n') {
            *p++ = ';';
            *p++ = ' ';
        } else {
            *p++ = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
        }
    }
    *p = '\0';
    return t;
}

/* The verdict a recorded status gives ("exit 0", "exit 1": go on). */
static enum hooks_verdict hooks_status_verdict(const char *status)
{
    if (!strcmp(status, "exit 0")) return HOOKS_GO;
    if (!strcmp(status, "exit 1")) return HOOKS_WARN;
    return HOOKS_VETO;
}

/* Everything one event's runs share. */
struct hooks_run {
    struct xlmig_ctx *ctx;
    struct coord *c;
    const struct coord_event *ev;
    char *dir;                          /* of the event's hooks */
    const char *stdin_path;             /* NULL: /dev/null */
    struct hooks_limits lim;
    double deadline;                    /* monotonic, of the event */
};

/* Runs hook name, records the run; *status_r ("exit 3", ...) and *tail_r
 * (allocated) say how it ended. */
static void hooks_run_one(struct hooks_run *hr, const char *name,
                          char status_r[64], char **tail_r)
{
    struct xlmig_ctx *ctx = hr->ctx;
    const struct coord_event *ev = hr->ev;
    char *env[HOOKS_ENV_MAX], *argv[5], *out = NULL, *what;
    struct child_run_opts o = {
        .envp = env, .max = HOOKS_OUT_MAX, .stderr_too = true,
        .keep_tail = true, .stdin_path = hr->stdin_path,
    };
    double start = ctx_now(ctx);
    int rc, status;

    hooks_env(ev, name, env);
    argv[0] = xasprintf("%s/%s", hr->dir, name);
    argv[1] = (char *)ev->event;
    argv[2] = (char *)ev->domain;
    argv[3] = (char *)ev->role;
    argv[4] = NULL;
    what = xasprintf("hook %s/%s", ev->event, name);
    o.deadline = start + hr->lim.each;
    if (o.deadline > hr->deadline) o.deadline = hr->deadline;
    rc = child_run_group(ctx, what, argv, &o, &out, &status);
    if (rc == XLMIG_E_TIMEDOUT)
        snprintf(status_r, 64, "killed at its deadline (%.0f s)",
                 o.deadline - start);
    else if (rc)
        snprintf(status_r, 64, "not run: %s", xlmig_strerror(rc));
    else if (WIFEXITED(status))
        snprintf(status_r, 64, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(status_r, 64, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(status_r, 64, "wait status %#x", status);
    *tail_r = hooks_tail(out ? out : "");
    LOG(ctx, INFO, "event %u %s of %s: hook %s %s in %.2f s%s%s", ev->seq,
        ev->event, ev->domain, name, status_r, ctx_now(ctx) - start,
        **tail_r ? ": " : "", *tail_r);
    if (coord_event_hook_done(hr->c, ev->seq, name, status_r,
                              ctx_now(ctx) - start, *tail_r))
        LOG(ctx, WARN, "event %u: the run of hook %s not recorded",
            ev->seq, name);
    free(what);
    free(argv[0]);
    free(out);
    hooks_env_free(env);
}

/* The status of a run recorded before (a runner that died). */
static void hooks_earlier(struct hooks_run *hr, const char *name,
                          char status_r[64])
{
    struct coord_event_run *runs = NULL;
    size_t n = 0, i;

    snprintf(status_r, 64, "cut short: its runner died");
    if (coord_event_runs(hr->c, hr->ev->seq, &runs, &n)) return;
    for (i = 0; i < n; i++)
        if (!strcmp(runs[i].hook, name) && !strcmp(runs[i].state, "done"))
            snprintf(status_r, 64, "%s", runs[i].status);
    free(runs);
}

/*
 * Each hook of the event once, in name order; a vetoing event stops at
 * its first veto, with why (the hook, its status, the last it said).
 */
static enum hooks_verdict hooks_run_all(struct hooks_run *hr, bool vetoes,
                                        char why[256])
{
    char **names = NULL, status[64], *tail;
    enum hooks_verdict v = HOOKS_GO;
    size_t n, i;
    bool mine;

    n = hooks_list(hr->dir, HOOKS_NAME_MAX, &names);
    for (i = 0; i < n; i++) {
        if (ctx_now(hr->ctx) >= hr->deadline) {
            snprintf(status, sizeof(status), "not run: the event's %.0f s "
                     "were used up", hr->lim.total);
            tail = xstrdup("");
            if (coord_event_hook_claim(hr->c, hr->ev->seq, names[i], &mine)
                || !mine ||
                coord_event_hook_done(hr->c, hr->ev->seq, names[i], status,
                                      0, ""))
                LOG(hr->ctx, WARN, "event %u: hook %s not run", hr->ev->seq,
                    names[i]);
        } else if (coord_event_hook_claim(hr->c, hr->ev->seq, names[i],
                                          &mine)) {
            snprintf(status, sizeof(status), "not run: xenstore failed");
            tail = xstrdup("");
        } else if (mine) {
            hooks_run_one(hr, names[i], status, &tail);
        } else {
            hooks_earlier(hr, names[i], status);
            tail = xstrdup("");
        }
        if (hooks_status_verdict(status) == HOOKS_WARN)
            LOG(hr->ctx, WARN, "event %u %s of %s: hook %s warns%s%s",
                hr->ev->seq, hr->ev->event, hr->ev->domain, names[i],
                *tail ? ": " : "", tail);
        if (vetoes && hooks_status_verdict(status) == HOOKS_VETO) {
            snprintf(why, 256, "hook %s/%s %s%s%s", hr->ev->event, names[i],
                     status, *tail ? ": " : "",
                     strrchr(tail, ';') ? strrchr(tail, ';') + 2 : tail);
            v = HOOKS_VETO;
            free(tail);
            break;
        }
        free(tail);
    }
    hooks_free_names(names, n);
    return v;
}

int hooks_process(struct xlmig_ctx *ctx, struct coord *c, unsigned seq,
                  bool *ran_r)
{
    struct hooks_run hr;
    struct coord_event ev;
    enum hooks_event e;
    char why[256] = "";
    const char *verdict = "go";
    struct stat st;
    bool mine;
    int rc;

    if (ran_r) *ran_r = false;
    rc = coord_event_claim(c, seq, &mine);
    if (rc || !mine) return rc;
    if (ran_r) *ran_r = true;
    rc = coord_event_get(c, seq, &ev);
    if (rc) return rc;
    memset(&hr, 0, sizeof(hr));
    hr.ctx = ctx;
    hr.c = c;
    hr.ev = &ev;
    hooks_limits(ctx, &hr.lim);
    hr.deadline = ctx_now(ctx) + hr.lim.total;
    /* Only a file of ours: the record names it, and only root writes
     * there, but a name is checked before it is opened as stdin. */
    if (ev.config[0] && !lstat(ev.config, &st) && S_ISREG(st.st_mode))
        hr.stdin_path = ev.config;
    if (!hooks_event_parse(ev.event, &e)) {
        verdict = "veto";
        snprintf(why, sizeof(why), "unknown event '%s'", ev.event);
    } else {
        hr.dir = xasprintf("%s/%s", hooks_dir(), ev.event);
        if (hooks_run_all(&hr, hooks_event_vetoes(e), why) == HOOKS_VETO)
            verdict = "veto";
    }
    rc = coord_event_finish(c, seq, verdict, why);
    if (ev.config[0] && unlink(ev.config) && errno != ENOENT)
        LOGE(ctx, WARN, "event %u: remove %s", seq, ev.config);
    if (coord_event_trim(c, COORD_EVENT_KEEP, NULL))
        LOG(ctx, WARN, "old events not removed");
    free(hr.dir);
    return rc;
}

/* ---- the emitting side ---- */

/* Writes json into a new file for the event's hooks; *path_r allocated. */
static int hooks_config_write(struct xlmig_ctx *ctx, const char *json,
                              char **path_r)
{
    char *dir = hooks_config_dir(), *path;
    size_t len = strlen(json);
    ssize_t r = 0;
    int fd = -1, rc;

    *path_r = NULL;
    path = xasprintf("%s/" HOOKS_CONFIG_PREFIX "XXXXXX", dir);
    rc = fdio_make_dirs(ctx, dir, 0700);
    if (rc) goto out;
    fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        LOGE(ctx, ERROR, "cannot create %s", path);
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    if (len) r = write(fd, json, len);
    if (r != (ssize_t)len) {
        LOGE(ctx, ERROR, "cannot write %s", path);
        unlink(path);
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    *path_r = path;
    path = NULL;
out:
    if (fd >= 0) close(fd);
    free(path);
    free(dir);
    return rc;
}

static void hooks_fill(struct coord_event *ev, const struct hooks_info *in,
                       const char *config)
{
    memset(ev, 0, sizeof(*ev));
#define HOOKS_COPY(f, v) snprintf(ev->f, sizeof(ev->f), "%s", (v) ? (v) : "")
    HOOKS_COPY(event, hooks_event_name(in->event));
    HOOKS_COPY(job, in->job);
    HOOKS_COPY(domain, in->domain);
    HOOKS_COPY(uuid, in->uuid);
    HOOKS_COPY(peer, in->peer);
    HOOKS_COPY(role, in->role);
    HOOKS_COPY(result, in->result);
    HOOKS_COPY(error, in->error);
    HOOKS_COPY(config, config);
#undef HOOKS_COPY
    if (in->domid != HOOKS_NO_DOMID)
        snprintf(ev->domid, sizeof(ev->domid), "%u", in->domid);
}

/*
 * Sees a pre-event decided: by hookd if it runs (waiting for it), by us
 * otherwise, or if it dies on the way. XLMIG_OK once decided.
 */
static int hooks_decide(struct xlmig_ctx *ctx, struct coord *c, unsigned seq,
                        const struct fdio_wait *w,
                        const struct hooks_limits *lim)
{
    double deadline = ctx_now(ctx) + lim->total + HOOKS_WAIT_SLACK_S;
    bool hookd, ran;
    int rc, tries;

    for (tries = 0; tries < HOOKS_CLAIM_TRIES; tries++) {
        rc = coord_hookd_alive(c, &hookd);
        if (rc) return rc;
        if (hookd) {
            rc = coord_event_wait(c, seq, w, deadline);
            if (rc != XLMIG_E_NOTFOUND) return rc;
        }
        rc = hooks_process(ctx, c, seq, &ran);
        if (rc || ran) return rc;
        /* Another took it just now: wait for that one. */
        rc = coord_event_wait(c, seq, w, deadline);
        if (rc != XLMIG_E_NOTFOUND) return rc;
    }
    return XLMIG_E_TIMEDOUT;
}

static int hooks_emit_on(struct xlmig_ctx *ctx, struct coord *c,
                         const struct hooks_info *info,
                         const struct fdio_wait *w, char **why_r)
{
    const char *name = hooks_event_name(info->event);
    char *dir, **names = NULL, *config = NULL;
    struct hooks_limits lim;
    struct coord_event ev;
    unsigned seq;
    size_t n;
    bool hookd;
    int rc;

    dir = xasprintf("%s/%s", hooks_dir(), name);
    n = hooks_list(dir, HOOKS_NAME_MAX, &names);
    hooks_free_names(names, n);
    free(dir);
    if (n && info->config_json) {
        rc = hooks_config_write(ctx, info->config_json, &config);
        /* A pre-event's hooks decide on the config: without it, no. */
        if (rc && hooks_event_vetoes(info->event)) goto out;
        if (rc) LOG(ctx, WARN, "%s hooks get no config on stdin", name);
    }
    hooks_fill(&ev, info, config);
    rc = coord_event_create(c, &ev, &seq);
    if (rc) goto out;
    free(config);
    config = NULL;
    /* No hooks: on record, and decided. */
    if (!n) {
        rc = coord_event_finish(c, seq, "go", "");
        goto out;
    }
    if (!hooks_event_vetoes(info->event)) {
        rc = coord_hookd_alive(c, &hookd);
        if (!rc && !hookd && hooks_process(ctx, c, seq, NULL))
            LOG(ctx, WARN, "event %u %s: hooks not all run", seq, name);
        rc = XLMIG_OK;
        goto out;
    }
    hooks_limits(ctx, &lim);
    rc = hooks_decide(ctx, c, seq, w, &lim);
    if (rc == XLMIG_E_CANCELLED) goto out;
    if (!rc) rc = coord_event_get(c, seq, &ev);
    if (rc) {
        /* Undecided is not a yes. */
        *why_r = xasprintf("%s hooks not decided: %s", name,
                           xlmig_strerror(rc));
    } else if (strcmp(ev.verdict, "go")) {
        *why_r = xasprintf("%s", ev.why[0] ? ev.why : "vetoed by a hook");
    }
    rc = XLMIG_OK;
    if (*why_r) {
        LOG(ctx, ERROR, "%s of %s stopped: %s", name, info->domain, *why_r);
        rc = XLMIG_E_PREFLIGHT;
    }
out:
    if (config && unlink(config)) LOGE(ctx, WARN, "remove %s", config);
    free(config);
    return rc;
}

int hooks_emit(struct xlmig_ctx *ctx, struct coord *c,
               const struct hooks_info *info, const struct fdio_wait *w,
               char **why_r)
{
    struct coord *own = NULL;
    int rc;

    *why_r = NULL;
    if (!c) {
        rc = ctx_coord(ctx, &own);
        if (rc) {
            /* A pre-event that cannot be recorded cannot be decided. */
            if (hooks_event_vetoes(info->event)) {
                *why_r = xasprintf("%s hooks not run: no xenstore",
                                   hooks_event_name(info->event));
                return XLMIG_E_PREFLIGHT;
            }
            return XLMIG_OK;
        }
        c = own;
    }
    rc = hooks_emit_on(ctx, c, info, w, why_r);
    coord_close(own);
    if (rc && !*why_r && rc != XLMIG_E_CANCELLED &&
        hooks_event_vetoes(info->event)) {
        *why_r = xasprintf("%s hooks not run: %s",
                           hooks_event_name(info->event),
                           xlmig_strerror(rc));
        rc = XLMIG_E_PREFLIGHT;
    }
    if (rc && !hooks_event_vetoes(info->event)) {
        LOGR(ctx, WARN, rc, "event %s of %s not recorded",
             hooks_event_name(info->event), info->domain);
        rc = XLMIG_OK;
    }
    return rc;
}

void hooks_clean_configs(struct xlmig_ctx *ctx, struct coord *c)
{
    char *dir = hooks_config_dir(), *path, **keep = NULL;
    struct coord_event ev;
    struct dirent *de;
    struct stat st;
    unsigned *seqs = NULL;
    size_t n = 0, i, nk = 0;
    bool used;
    DIR *dp;

    if (coord_event_list(c, &seqs, &n)) goto out;
    for (i = 0; i < n; i++) {
        if (coord_event_get(c, seqs[i], &ev) || !ev.config[0] ||
            !strcmp(ev.state, "done"))
            continue;
        keep = xrealloc(keep, (nk + 1) * sizeof(*keep));
        keep[nk++] = xstrdup(ev.config);
    }
    dp = opendir(dir);
    if (!dp) goto out;
    while ((de = readdir(dp))) {
        if (strncmp(de->d_name, HOOKS_CONFIG_PREFIX,
                    strlen(HOOKS_CONFIG_PREFIX)))
            continue;
        path = xasprintf("%s/%s", dir, de->d_name);
        for (used = false, i = 0; !used && i < nk; i++)
            used = !strcmp(keep[i], path);
        /* A young one may belong to an event being made right now. */
        if (lstat(path, &st) || time(NULL) - st.st_mtime < HOOKS_STALE_S)
            used = true;
        if (!used && unlink(path)) LOGE(ctx, WARN, "remove %s", path);
        free(path);
    }
    closedir(dp);
out:
    hooks_free_names(keep, nk);
    free(seqs);
    free(dir);
}

/* ---- the public view ---- */

static void hooks_copy_event(struct xlmig_hook_event *d,
                             const struct coord_event *s)
{
    memset(d, 0, sizeof(*d));
    d->seq = s->seq;
    d->time = s->time;
#define HOOKS_FIELD(f) snprintf(d->f, sizeof(d->f), "%s", s->f)
    HOOKS_FIELD(event); HOOKS_FIELD(job); HOOKS_FIELD(domain);
    HOOKS_FIELD(uuid); HOOKS_FIELD(domid); HOOKS_FIELD(peer);
    HOOKS_FIELD(role); HOOKS_FIELD(result); HOOKS_FIELD(error);
    HOOKS_FIELD(state); HOOKS_FIELD(verdict); HOOKS_FIELD(why);
#undef HOOKS_FIELD
}

int xlmig_hook_events(struct xlmig_ctx *ctx, struct xlmig_hook_event **list_r,
                      size_t *n_r)
{
    struct xlmig_hook_event *list = NULL, *d;
    struct coord_event_run *runs;
    struct coord_event ev;
    struct coord *c = NULL;
    unsigned *seqs = NULL;
    size_t n = 0, m = 0, i, j, nr;
    int rc;

    *list_r = NULL;
    *n_r = 0;
    rc = ctx_coord(ctx, &c);
    if (!rc) rc = coord_event_list(c, &seqs, &n);
    if (n) list = xcalloc(n, sizeof(*list));
    for (i = 0; !rc && i < n; i++) {
        rc = coord_event_get(c, seqs[i], &ev);
        if (rc == XLMIG_E_NOTFOUND) {
            rc = XLMIG_OK;
            continue;
        }
        if (!rc) rc = coord_event_runs(c, seqs[i], &runs, &nr);
        if (rc) break;
        d = &list[m++];
        hooks_copy_event(d, &ev);
        d->runs = nr ? xcalloc(nr, sizeof(*d->runs)) : NULL;
        d->n_runs = nr;
        for (j = 0; j < nr; j++) {
            snprintf(d->runs[j].hook, sizeof(d->runs[j].hook), "%s",
                     runs[j].hook);
            snprintf(d->runs[j].state, sizeof(d->runs[j].state), "%s",
                     runs[j].state);
            snprintf(d->runs[j].status, sizeof(d->runs[j].status), "%s",
                     runs[j].status);
            snprintf(d->runs[j].output, sizeof(d->runs[j].output), "%s",
                     runs[j].output);
            d->runs[j].secs = runs[j].secs;
        }
        free(runs);
    }
    coord_close(c);
    free(seqs);
    if (rc) {
        xlmig_hook_events_free(list, m);
        return rc;
    }
    *list_r = list;
    *n_r = m;
    return XLMIG_OK;
}

void xlmig_hook_events_free(struct xlmig_hook_event *list, size_t n)
{
    size_t i;

    for (i = 0; list && i < n; i++) free(list[i].runs);
    free(list);
}

int xlmig_hookd_pid(struct xlmig_ctx *ctx, int *pid_r)
{
    struct coord *c = NULL;
    bool alive;
    int rc;

    *pid_r = 0;
    rc = ctx_coord(ctx, &c);
    if (!rc) rc = coord_hookd_pid(c, &alive, pid_r);
    coord_close(c);
    return rc;
}
