/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hookd.c - xlmig-hookd, the daemon that runs the admin's hooks on this
 * host's migration events (docs/xlmig-hookd.8). It watches the event
 * records under /libxlmig/event and runs each new event's hooks in a
 * worker process of its own (itself, with --event SEQ), so that one slow
 * hook holds up no other job; and it watches @introduceDomain and
 * @releaseDomain for domains that a stock `xl migrate-receive` brings
 * (NAME--incoming, then renamed), for which it makes an incoming-done
 * event itself.
 *
 * Watches say only that something may have changed: 4.17's special
 * watches carry no domid, @releaseDomain fires when a domain suspends
 * too, every watch fires once when set, and our own writes under
 * /libxlmig fire ours. So every wake-up re-reads the state, and a worker
 * claims its event in xenstore (coord-event.c) before it runs a hook:
 * no hook runs twice for one event, whatever restarts. xenstored going
 * away is met by connecting again and reading everything afresh.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child.h"
#include "coord.h"
#include "hooks.h"
#include "hv.h"

#define HOOKD_WORKERS_MAX 8
#define HOOKD_RESCAN_MS 2000        /* owners that died, xenstored gone */
#define HOOKD_RECONNECT_MS 1000
#define HOOKD_LOG_DEFAULT "/var/log/xen/xlmig-hookd.log"
#define HOOKD_DONE_MAX 1024         /* events known to be done */
#define HOOKD_DOMS_MAX 1024
#define HOOKD_INCOMING "--incoming"

struct hookd_worker {
    struct child sp;
    unsigned seq;                   /* 0: slot free */
};

/* A domain seen arriving as NAME--incoming through stock xl. */
struct hookd_incoming {
    unsigned domid;
    char uuid[40];
};

struct hookd {
    struct xlmig_ctx *ctx;
    struct coord *c;
    const char *log_path;           /* "-": stderr */
    char self[4096];                /* this program, for the workers */
    int verbose;
    struct hookd_worker w[HOOKD_WORKERS_MAX];
    unsigned done[HOOKD_DONE_MAX];  /* ring of events known done */
    size_t n_done, done_next;
    struct hookd_incoming inc[HOOKD_DOMS_MAX];
    size_t n_inc;
    unsigned *seen;                 /* domids seen on the last scan */
    size_t n_seen;
};

static int hookd_sig[2] = { -1, -1 };

static void hookd_on_signal(int sig)
{
    int saved = errno;
    char ch = (char)sig;

    if (write(hookd_sig[1], &ch, 1) < 0) { /* full: stopping anyway */ }
    errno = saved;
}

static int hookd_signals(void)
{
    struct sigaction sa;

    if (pipe2(hookd_sig, O_CLOEXEC | O_NONBLOCK)) return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = hookd_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    return 0;
}

/* ---- events ---- */

static bool hookd_known_done(const struct hookd *h, unsigned seq)
{
    size_t i;

    for (i = 0; i < h->n_done; i++)
        if (h->done[i] == seq) return true;
    return false;
}

static void hookd_mark_done(struct hookd *h, unsigned seq)
{
    h->done[h->done_next] = seq;
    h->done_next = (h->done_next + 1) % HOOKD_DONE_MAX;
    if (h->n_done < HOOKD_DONE_MAX) h->n_done++;
}

static struct hookd_worker *hookd_worker_of(struct hookd *h, unsigned seq)
{
    size_t i;

    for (i = 0; i < HOOKD_WORKERS_MAX; i++)
        if (h->w[i].seq == seq) return &h->w[i];
    return NULL;
}

/* Starts a worker for event seq: this program, --event SEQ (by its
 * path, so that ps shows what it is). */
static void hookd_start_worker(struct hookd *h, struct hookd_worker *w,
                               unsigned seq)
{
    char num[16], *argv[8];
    int i = 0;

    snprintf(num, sizeof(num), "%u", seq);
    argv[i++] = h->self;
    if (h->verbose) argv[i++] = "-v";
    argv[i++] = "--log";
    argv[i++] = (char *)h->log_path;
    argv[i++] = "--event";
    argv[i++] = num;
    argv[i] = NULL;
    if (child_start(h->ctx, &w->sp, "hook worker", argv, CHILD_STDIN_NULL))
        return;
    w->seq = seq;
    LOG(h->ctx, DEBUG, "event %u: worker %ld", seq, (long)w->sp.pid);
}

/* Each event not done that no live process owns gets a worker. */
static int hookd_scan_events(struct hookd *h)
{
    struct hookd_worker *free_w;
    struct coord_event ev;
    unsigned *seqs = NULL;
    size_t n, i;
    int rc;

    rc = coord_event_list(h->c, &seqs, &n);
    for (i = 0; !rc && i < n; i++) {
        if (hookd_known_done(h, seqs[i]) || hookd_worker_of(h, seqs[i]))
            continue;
        rc = coord_event_get(h->c, seqs[i], &ev);
        if (rc == XLMIG_E_NOTFOUND) {
            rc = XLMIG_OK;
            continue;
        }
        if (rc) break;
        if (!strcmp(ev.state, "done")) {
            hookd_mark_done(h, seqs[i]);
            continue;
        }
        if (ev.owner_alive) continue;
        free_w = hookd_worker_of(h, 0);
        /* All busy: the next wake-up comes when one ends. */
        if (!free_w) break;
        hookd_start_worker(h, free_w, seqs[i]);
    }
    free(seqs);
    return rc;
}

static void hookd_reap_workers(struct hookd *h)
{
    struct hookd_worker *w;
    char why[64];
    int status;
    size_t i;

    for (i = 0; i < HOOKD_WORKERS_MAX; i++) {
        w = &h->w[i];
        if (!w->seq || !child_exited(&w->sp)) continue;
        if (!child_wait(h->ctx, &w->sp, 0, &status) && status)
            LOG(h->ctx, WARN, "event %u: worker %s", w->seq,
                child_status_str(status, why, sizeof(why)));
        child_dispose(&w->sp);
        w->seq = 0;
    }
}

/* ---- domains brought by stock xl ---- */

static bool hookd_is_incoming(const char *name)
{
    size_t n = strlen(name), m = strlen(HOOKD_INCOMING);

    return n > m && !strcmp(name + n - m, HOOKD_INCOMING);
}

/* Whether a live xlmig job receives the domain (it tells the hooks). */
static bool hookd_xlmig_job(struct hookd *h, const struct coord_dom *d)
{
    size_t base = strlen(d->name) - strlen(HOOKD_INCOMING), n = 0, i;
    struct coord_job *jobs = NULL;
    bool ours = false;

    if (coord_job_list(h->c, &jobs, &n)) return true;
    for (i = 0; i < n && !ours; i++)
        ours = jobs[i].alive &&
               ((d->uuid[0] && !strcmp(jobs[i].uuid, d->uuid)) ||
                (strlen(jobs[i].domain) == base &&
                 !strncmp(jobs[i].domain, d->name, base)));
    free(jobs);
    return ours;
}

static struct hookd_incoming *hookd_incoming_of(struct hookd *h,
                                                unsigned domid)
{
    size_t i;

    for (i = 0; i < h->n_inc; i++)
        if (h->inc[i].domid == domid) return &h->inc[i];
    return NULL;
}

static void hookd_name_watch(struct hookd *h, unsigned domid, bool on)
{
    char path[64];

    snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
    if (coord_watch(h->c, path, "name", on) && on)
        LOG(h->ctx, WARN, "domain %u: its rename will be seen late", domid);
}

/* The domain has its own name now: the guest is here. */
static void hookd_arrived(struct hookd *h, const struct coord_dom *d)
{
    struct hooks_info in = {
        .event = HOOKS_INCOMING_DONE, .domain = d->name, .uuid = d->uuid,
        .role = "destination", .result = "ok", .domid = d->domid,
    };
    char *json = NULL, *why = NULL;
    struct hv *hv;

    if (!ctx_hv(h->ctx, &hv) && hv_config_get(hv, d->domid, 0, &json))
        json = NULL;
    in.config_json = json;
    LOG(h->ctx, INFO, "domain %s (%u) arrived through xl migrate-receive",
        d->name, d->domid);
    if (hooks_emit(h->ctx, h->c, &in, NULL, &why))
        LOG(h->ctx, WARN, "incoming-done of %s not recorded", d->name);
    free(why);
    free(json);
}

static bool hookd_seen(const struct hookd *h, unsigned domid)
{
    size_t i;

    for (i = 0; i < h->n_seen; i++)
        if (h->seen[i] == domid) return true;
    return false;
}

/*
 * New domains named NAME--incoming that no xlmig job receives are
 * followed until they take their name (incoming-done) or go. A domain
 * seen first under another name is not followed: it was here before
 * (start-up scan), or it came in too fast to tell.
 */
static int hookd_scan_domains(struct hookd *h, bool first)
{
    struct coord_dom *doms = NULL;
    struct hookd_incoming *inc;
    unsigned *seen;
    size_t n, i, j;
    int rc;

    rc = coord_domains(h->c, &doms, &n);
    if (rc) return rc;
    for (i = 0; i < n; i++) {
        inc = hookd_incoming_of(h, doms[i].domid);
        if (inc && !hookd_is_incoming(doms[i].name)) {
            hookd_arrived(h, &doms[i]);
            hookd_name_watch(h, inc->domid, false);
            *inc = h->inc[--h->n_inc];
        } else if (!inc && hookd_is_incoming(doms[i].name) &&
                   (first || !hookd_seen(h, doms[i].domid)) &&
                   h->n_inc < HOOKD_DOMS_MAX && !hookd_xlmig_job(h, &doms[i])) {
            inc = &h->inc[h->n_inc++];
            inc->domid = doms[i].domid;
            snprintf(inc->uuid, sizeof(inc->uuid), "%s", doms[i].uuid);
            hookd_name_watch(h, inc->domid, true);
            LOG(h->ctx, DEBUG, "domain %u (%s) is coming in", inc->domid,
                doms[i].name);
        }
    }
    /* Followed domains that went (a failed migration). */
    for (j = 0; j < h->n_inc;) {
        for (i = 0; i < n && doms[i].domid != h->inc[j].domid; i++)
            ;
        if (i < n) {
            j++;
            continue;
        }
        hookd_name_watch(h, h->inc[j].domid, false);
        h->inc[j] = h->inc[--h->n_inc];
    }
    seen = n ? xcalloc(n, sizeof(*seen)) : NULL;
    for (i = 0; i < n; i++) seen[i] = doms[i].domid;
    free(h->seen);
    h->seen = seen;
    h->n_seen = n;
    free(doms);
    return XLMIG_OK;
}

/* ---- the loop ---- */

static int hookd_connect(struct hookd *h)
{
    static const char *const watches[][2] = {
        { "/libxlmig/event", "event" },
        { "/libxlmig/hookd", "hookd" },
        { "@introduceDomain", "introduce" },
        { "@releaseDomain", "release" },
    };
    int rc, pid;
    size_t i;

    rc = ctx_coord(h->ctx, &h->c);
    if (rc) return rc;
    rc = coord_hookd_register(h->c, &pid);
    if (rc == XLMIG_E_BUSY) {
        LOG(h->ctx, ERROR, "another xlmig-hookd runs on this host "
            "(pid %d)", pid);
        return rc;
    }
    for (i = 0; !rc && i < ARRAY_SIZE(watches); i++)
        rc = coord_watch(h->c, watches[i][0], watches[i][1], true);
    if (rc) return rc;
    h->n_done = h->done_next = 0;
    h->n_inc = 0;
    hooks_clean_configs(h->ctx, h->c);
    LOG(h->ctx, INFO, "xlmig-hookd %d watching this host's events",
        (int)getpid());
    return hookd_scan_domains(h, true);
}

static void hookd_disconnect(struct hookd *h)
{
    coord_close(h->c);
    h->c = NULL;
}

/* One pass: what changed, then a wait for the next wake-up. false when
 * a signal says stop. */
static bool hookd_step(struct hookd *h, int *rc_r)
{
    struct pollfd p[2 + HOOKD_WORKERS_MAX];
    bool alive;
    size_t i;
    char ch;

    coord_watch_drain(h->c);
    hookd_reap_workers(h);
    *rc_r = hookd_scan_events(h);
    if (!*rc_r) *rc_r = hookd_scan_domains(h, false);
    /* Our registration gone (a xenstored restart, someone's rm): again. */
    if (!*rc_r) *rc_r = coord_hookd_alive(h->c, &alive);
    if (!*rc_r && !alive) *rc_r = XLMIG_E_XS;
    if (*rc_r) return true;
    memset(p, 0, sizeof(p));
    p[0].fd = coord_fd(h->c);
    p[0].events = POLLIN;
    p[1].fd = hookd_sig[0];
    p[1].events = POLLIN;
    for (i = 0; i < HOOKD_WORKERS_MAX; i++) {
        p[2 + i].fd = h->w[i].seq ? h->w[i].sp.pidfd : -1;
        p[2 + i].events = POLLIN;
    }
    if (poll(p, ARRAY_SIZE(p), HOOKD_RESCAN_MS) < 0 && errno != EINTR) {
        LOGE(h->ctx, ERROR, "poll");
        *rc_r = XLMIG_E_SYSTEM;
        return false;
    }
    if (p[1].revents && read(hookd_sig[0], &ch, 1) == 1) {
        LOG(h->ctx, INFO, "signal %d: stopping (running hooks finish)",
            ch);
        return false;
    }
    return true;
}

static int hookd_run(struct hookd *h)
{
    bool told = false;
    int rc;
    char ch;

    for (;;) {
        rc = hookd_connect(h);
        if (rc == XLMIG_E_BUSY) return rc;
        if (!rc) {
            told = false;
            while (hookd_step(h, &rc) && !rc)
                ;
            if (!rc || rc == XLMIG_E_SYSTEM) break;
            LOG(h->ctx, WARN, "lost xenstore (%s): connecting again",
                xlmig_strerror(rc));
        } else if (!told) {
            LOG(h->ctx, WARN, "no xenstore yet: trying every %d ms",
                HOOKD_RECONNECT_MS);
            told = true;
        }
        hookd_disconnect(h);
        if (poll(&(struct pollfd){ .fd = hookd_sig[0], .events = POLLIN },
                 1, HOOKD_RECONNECT_MS) > 0 &&
            read(hookd_sig[0], &ch, 1) == 1)
            return XLMIG_OK;
    }
    if (h->c && coord_hookd_unregister(h->c))
        LOG(h->ctx, WARN, "registration not removed");
    hookd_disconnect(h);
    return rc;
}

/* The worker: one event's hooks, then exit. */
static int hookd_event(struct hookd *h, const char *num)
{
    char *end;
    unsigned long seq;
    int rc;

    errno = 0;
    seq = strtoul(num, &end, 10);
    if (errno || *end || !seq || seq > UINT32_MAX) {
        LOG(h->ctx, ERROR, "--event %s: not an event number", num);
        return XLMIG_E_INVAL;
    }
    rc = ctx_coord(h->ctx, &h->c);
    if (!rc) rc = hooks_process(h->ctx, h->c, (unsigned)seq, NULL);
    hookd_disconnect(h);
    return rc;
}

/* A fresh host may have no log directory yet: made as mkdir -p would. */
static void hookd_log_dir(const char *path)
{
    char *dir = strdup(path), *p;

    if (!dir) return;
    for (p = dir + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) break;
        *p = '/';
    }
    free(dir);
}

static void hookd_usage(FILE *f)
{
    fprintf(f, "Usage: xlmig-hookd [-v] [-T] [--log FILE|-]\n\n"
            "Runs the hooks in /etc/xen/xlmig/hooks.d/EVENT/ on this host's"
            " migration\nevents (see xlmig-hookd(8), xlmig-hooks(7)).\n\n"
            "  -v          more verbose (repeat for more)\n"
            "  -T          timestamps on log lines (default with --log "
            "FILE)\n"
            "  --log FILE  append the log to FILE (default %s);\n"
            "              - is stderr (systemd's journal)\n",
            HOOKD_LOG_DEFAULT);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "log", required_argument, NULL, 'l' },
        { "event", required_argument, NULL, 'e' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    xentoollog_logger_stdiostream *logger = NULL;
    const char *event = NULL;
    struct hookd h;
    bool stamps = false;
    FILE *log = stderr;
    int opt, rc;

    memset(&h, 0, sizeof(h));
    if (readlink("/proc/self/exe", h.self, sizeof(h.self) - 1) <= 0 ||
        strstr(h.self, " (deleted)"))
        snprintf(h.self, sizeof(h.self), "/proc/self/exe");
    h.log_path = getenv("XLMIG_LOG_DIR") ? NULL : HOOKD_LOG_DEFAULT;
    while ((opt = getopt_long(argc, argv, "vTh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'v': h.verbose++; break;
        case 'T': stamps = true; break;
        case 'l': h.log_path = optarg; break;
        case 'e': event = optarg; break;
        case 'h': hookd_usage(stdout); return 0;
        default: hookd_usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        hookd_usage(stderr);
        return 2;
    }
    if (!h.log_path) {
        /* Beside the other logs of a test host. */
        static char path[4096];

        snprintf(path, sizeof(path), "%s/xlmig-hookd.log",
                 getenv("XLMIG_LOG_DIR"));
        h.log_path = path;
    }
    if (strcmp(h.log_path, "-")) {
        hookd_log_dir(h.log_path);
        log = fopen(h.log_path, "ae");
        if (!log) {
            fprintf(stderr, "xlmig-hookd: cannot open %s: %s\n",
                    h.log_path, strerror(errno));
            return 1;
        }
        setvbuf(log, NULL, _IOLBF, 0);
        stamps = true;
    }
    /* Each hook's run is an INFO line: on by default. */
    logger = xtl_createlogger_stdiostream(log, h.verbose ? XTL_DEBUG
                                               : XTL_INFO,
                                          stamps ? XTL_STDIOSTREAM_SHOW_DATE
                                                 | XTL_STDIOSTREAM_SHOW_PID
                                                 : 0);
    if (!logger || hookd_signals() ||
        xlmig_ctx_new(&h.ctx, (xentoollog_logger *)logger, NULL)) {
        fprintf(stderr, "xlmig-hookd: cannot start\n");
        return 1;
    }
    rc = event ? hookd_event(&h, event) : hookd_run(&h);
    xlmig_ctx_free(h.ctx);
    free(h.seen);
    xtl_logger_destroy((xentoollog_logger *)logger);
    if (log != stderr) fclose(log);
    return rc ? 1 : 0;
}
