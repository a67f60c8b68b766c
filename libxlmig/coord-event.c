/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * coord-event.c - the records of hook events under /libxlmig/event and
 * hookd's registration (contracts in coord.h). Who runs an event's hooks
 * is settled here, in transactions: one live owner per event, one start
 * per hook. What an event means and how hooks run is hooks.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord-priv.h"

#define COORD_EVENT_TOKEN "xlmig-event"
#define COORD_EVENT_RECHECK_MS 1000     /* owner and hookd looked at */

/* The event's fields in the order they are stored. */
#define COORD_EVENT_FIELDS(X) \
    X(event) X(job) X(domain) X(uuid) X(domid) X(peer) X(role) \
    X(result) X(error) X(config) X(state) X(verdict) X(why)

static double coord_event_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void coord_event_path(char path[COORD_PATH_MAX], unsigned seq,
                             const char *key)
{
    coord_path(path, COORD_ROOT "/event/%u%s%s", seq, key ? "/" : "",
               key ? key : "");
}

/* ---- create ---- */

struct coord_event_new {
    const struct coord_event *ev;
    unsigned seq;
};

static int coord_event_put(struct coord *c, xs_transaction_t t,
                           unsigned seq, const char *key, const char *v)
{
    char path[COORD_PATH_MAX];

    coord_event_path(path, seq, key);
    return coord_put(c, t, path, v);
}

static int coord_event_create_tx(struct coord *c, xs_transaction_t t,
                                 void *arg)
{
    struct coord_event_new *n = arg;
    const struct coord_event *ev = n->ev;
    char path[COORD_PATH_MAX], val[32], *v;
    unsigned seq = 0;
    int rc;

    rc = coord_read(c, t, COORD_ROOT "/host/event-seq", &v);
    if (rc && rc != XLMIG_E_NOTFOUND) return rc;
    if (v && !coord_parse_uint(v, COORD_SEQ_MAX, &seq)) seq = 0;
    free(v);
    /* Never a number in use: a wrapped counter skips the ones kept. */
    do {
        seq = seq % COORD_SEQ_MAX + 1;
        coord_event_path(path, seq, NULL);
        rc = coord_read(c, t, path, &v);
        free(v);
    } while (!rc);
    if (rc != XLMIG_E_NOTFOUND) return rc;
    snprintf(val, sizeof(val), "%u", seq);
    rc = coord_put(c, t, COORD_ROOT "/host/event-seq", val);
    if (!rc) rc = coord_put(c, t, path, "");
#define COORD_EVENT_PUT(f) \
    if (!rc) rc = coord_event_put(c, t, seq, #f, ev->f);
    COORD_EVENT_FIELDS(COORD_EVENT_PUT)
#undef COORD_EVENT_PUT
    snprintf(val, sizeof(val), "%.3f", coord_event_now());
    if (!rc) rc = coord_event_put(c, t, seq, "time", val);
    if (!rc) rc = coord_event_put(c, t, seq, "state", "new");
    n->seq = seq;
    return rc;
}

int coord_event_create(struct coord *c, const struct coord_event *ev,
                       unsigned *seq_r)
{
    struct coord_event_new n = { .ev = ev };
    int rc;

    *seq_r = 0;
    rc = coord_tx(c, COORD_ROOT "/event", coord_event_create_tx, &n);
    if (rc) return rc;
    *seq_r = n.seq;
    LOG(c->ctx, DEBUG, "event %u: %s of %s", n.seq, ev->event, ev->domain);
    return XLMIG_OK;
}

/* ---- read ---- */

struct coord_event_get {
    unsigned seq;
    struct coord_event *ev;
};

static int coord_event_read(struct coord *c, xs_transaction_t t,
                            unsigned seq, const char *key, char *buf,
                            size_t size)
{
    char path[COORD_PATH_MAX];

    coord_event_path(path, seq, key);
    return coord_read_buf(c, t, path, buf, size);
}

static int coord_event_get_tx(struct coord *c, xs_transaction_t t,
                              void *arg)
{
    struct coord_event_get *g = arg;
    struct coord_event *ev = g->ev;
    char path[COORD_PATH_MAX], owner[COORD_OWNER_MAX], num[32], *v;
    int rc;

    memset(ev, 0, sizeof(*ev));
    ev->seq = g->seq;
    coord_event_path(path, g->seq, NULL);
    rc = coord_read(c, t, path, &v);
    free(v);
    if (rc) return rc;
#define COORD_EVENT_GET(f) \
    if (!rc) rc = coord_event_read(c, t, g->seq, #f, ev->f, sizeof(ev->f));
    COORD_EVENT_FIELDS(COORD_EVENT_GET)
#undef COORD_EVENT_GET
    if (!rc) rc = coord_event_read(c, t, g->seq, "time", num, sizeof(num));
    if (!rc) rc = coord_event_read(c, t, g->seq, "owner", owner,
                                   sizeof(owner));
    if (rc) return rc;
    ev->time = strtod(num, NULL);
    ev->owner_alive = coord_owner_alive(owner);
    return XLMIG_OK;
}

int coord_event_get(struct coord *c, unsigned seq, struct coord_event *ev_r)
{
    struct coord_event_get g = { .seq = seq, .ev = ev_r };

    return coord_tx(c, COORD_ROOT "/event", coord_event_get_tx, &g);
}

static int coord_event_cmp(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

    return x < y ? -1 : x > y;
}

/* The event numbers under /libxlmig/event, sorted (one free). */
static int coord_event_seqs(struct coord *c, xs_transaction_t t,
                            unsigned **seqs_r, size_t *n_r)
{
    unsigned *seqs = NULL, n = 0, i, seq;
    size_t m = 0;
    char **ents;
    int rc;

    *seqs_r = NULL;
    *n_r = 0;
    rc = coord_dir(c, t, COORD_ROOT "/event", &ents, &n);
    if (rc) return rc;
    if (n) seqs = xcalloc(n, sizeof(*seqs));
    for (i = 0; i < n; i++)
        if (coord_parse_uint(ents[i], COORD_SEQ_MAX, &seq)) seqs[m++] = seq;
    free(ents);
    if (m) qsort(seqs, m, sizeof(*seqs), coord_event_cmp);
    *seqs_r = seqs;
    *n_r = m;
    return XLMIG_OK;
}

struct coord_event_lst {
    unsigned *seqs;
    size_t n;
};

static int coord_event_list_tx(struct coord *c, xs_transaction_t t,
                               void *arg)
{
    struct coord_event_lst *l = arg;

    free(l->seqs);
    return coord_event_seqs(c, t, &l->seqs, &l->n);
}

int coord_event_list(struct coord *c, unsigned **seqs_r, size_t *n_r)
{
    struct coord_event_lst l = { NULL, 0 };
    int rc;

    rc = coord_tx(c, COORD_ROOT "/event", coord_event_list_tx, &l);
    if (rc) {
        free(l.seqs);
        l.seqs = NULL;
        l.n = 0;
    }
    *seqs_r = l.seqs;
    *n_r = l.n;
    return rc;
}

struct coord_event_rl {
    unsigned seq;
    struct coord_event_run *runs;
    size_t n;
};

static int coord_event_run_cmp(const void *a, const void *b)
{
    const struct coord_event_run *x = a, *y = b;

    return strcmp(x->hook, y->hook);
}

static int coord_event_runs_tx(struct coord *c, xs_transaction_t t,
                               void *arg)
{
    struct coord_event_rl *l = arg;
    struct coord_event_run *r;
    char path[COORD_PATH_MAX], num[32], **ents;
    unsigned n, i;
    int rc;

    free(l->runs);
    l->runs = NULL;
    l->n = 0;
    coord_path(path, COORD_ROOT "/event/%u/run", l->seq);
    rc = coord_dir(c, t, path, &ents, &n);
    if (rc) return rc;
    if (n) l->runs = xcalloc(n, sizeof(*l->runs));
    for (i = 0; !rc && i < n; i++) {
        if (!coord_name_ok(ents[i])) continue;
        r = &l->runs[l->n++];
        snprintf(r->hook, sizeof(r->hook), "%s", ents[i]);
#define COORD_RUN_KEY(k) \
        coord_path(path, COORD_ROOT "/event/%u/run/%s/" #k, l->seq, ents[i]);
        COORD_RUN_KEY(state)
        rc = coord_read_buf(c, t, path, r->state, sizeof(r->state));
        COORD_RUN_KEY(status)
        if (!rc) rc = coord_read_buf(c, t, path, r->status,
                                     sizeof(r->status));
        COORD_RUN_KEY(output)
        if (!rc) rc = coord_read_buf(c, t, path, r->output,
                                     sizeof(r->output));
        COORD_RUN_KEY(secs)
        if (!rc) rc = coord_read_buf(c, t, path, num, sizeof(num));
#undef COORD_RUN_KEY
        r->secs = strtod(num, NULL);
    }
    free(ents);
    /* Hooks run in name order. */
    if (l->n) qsort(l->runs, l->n, sizeof(*l->runs), coord_event_run_cmp);
    return rc;
}

int coord_event_runs(struct coord *c, unsigned seq,
                     struct coord_event_run **runs_r, size_t *n_r)
{
    struct coord_event_rl l = { .seq = seq };
    int rc;

    rc = coord_tx(c, COORD_ROOT "/event", coord_event_runs_tx, &l);
    if (rc) {
        free(l.runs);
        l.runs = NULL;
        l.n = 0;
    }
    *runs_r = l.runs;
    *n_r = l.n;
    return rc;
}

/* ---- claims ---- */

struct coord_event_cl {
    unsigned seq;
    const char *hook;           /* NULL: the event itself */
    bool claimed;
};

static int coord_event_claim_tx(struct coord *c, xs_transaction_t t,
                                void *arg)
{
    struct coord_event_cl *cl = arg;
    char state[16], owner[COORD_OWNER_MAX], self[COORD_OWNER_MAX];
    int rc;

    cl->claimed = false;
    rc = coord_event_read(c, t, cl->seq, "state", state, sizeof(state));
    if (rc) return rc;
    /* Gone (trimmed, or xenstored restarted) or decided: nothing to do. */
    if (!state[0] || !strcmp(state, "done")) return XLMIG_OK;
    rc = coord_event_read(c, t, cl->seq, "owner", owner, sizeof(owner));
    if (rc) return rc;
    coord_owner_self(self);
    if (strcmp(owner, self) && coord_owner_alive(owner)) return XLMIG_OK;
    rc = coord_event_put(c, t, cl->seq, "owner", self);
    if (!rc) rc = coord_event_put(c, t, cl->seq, "state", "running");
    cl->claimed = !rc;
    return rc;
}

int coord_event_claim(struct coord *c, unsigned seq, bool *claimed_r)
{
    struct coord_event_cl cl = { .seq = seq };
    int rc;

    rc = coord_tx(c, COORD_ROOT "/event", coord_event_claim_tx, &cl);
    *claimed_r = !rc && cl.claimed;
    return rc;
}

static int coord_event_hook_claim_tx(struct coord *c, xs_transaction_t t,
                                     void *arg)
{
    struct coord_event_cl *cl = arg;
    char path[COORD_PATH_MAX], state[16], owner[COORD_OWNER_MAX];
    char self[COORD_OWNER_MAX];
    int rc;

    cl->claimed = false;
    coord_path(path, COORD_ROOT "/event/%u/run/%s/state", cl->seq, cl->hook);
    rc = coord_read_buf(c, t, path, state, sizeof(state));
    if (rc) return rc;
    if (state[0]) {
        if (strcmp(state, "running")) return XLMIG_OK;
        coord_path(path, COORD_ROOT "/event/%u/run/%s/owner", cl->seq,
                   cl->hook);
        rc = coord_read_buf(c, t, path, owner, sizeof(owner));
        if (rc || coord_owner_alive(owner)) return rc;
        /* Its runner died: the hook may have done its work or not. */
        coord_path(path, COORD_ROOT "/event/%u/run/%s/state", cl->seq,
                   cl->hook);
        rc = coord_put(c, t, path, "interrupted");
        coord_path(path, COORD_ROOT "/event/%u/run/%s/status", cl->seq,
                   cl->hook);
        if (!rc) rc = coord_put(c, t, path, "its runner died: outcome "
                                "unknown, not run again");
        return rc;
    }
    coord_owner_self(self);
    coord_path(path, COORD_ROOT "/event/%u/run/%s", cl->seq, cl->hook);
    rc = coord_put(c, t, path, "");
    coord_path(path, COORD_ROOT "/event/%u/run/%s/owner", cl->seq, cl->hook);
    if (!rc) rc = coord_put(c, t, path, self);
    coord_path(path, COORD_ROOT "/event/%u/run/%s/state", cl->seq, cl->hook);
    if (!rc) rc = coord_put(c, t, path, "running");
    cl->claimed = !rc;
    return rc;
}

int coord_event_hook_claim(struct coord *c, unsigned seq, const char *hook,
                           bool *claimed_r)
{
    struct coord_event_cl cl = { .seq = seq, .hook = hook };
    int rc;

    *claimed_r = false;
    if (!coord_name_ok(hook)) {
        LOG(c->ctx, ERROR, "hook name %s is not a plain name", hook);
        return XLMIG_E_INVAL;
    }
    rc = coord_tx(c, COORD_ROOT "/event", coord_event_hook_claim_tx, &cl);
    *claimed_r = !rc && cl.claimed;
    return rc;
}

struct coord_event_hd {
    unsigned seq;
    const char *hook, *status, *output;
    double secs;
};

/* The copy in the job's record, if the job still has one. */
static int coord_event_job_line(struct coord *c, xs_transaction_t t,
                                const struct coord_event_hd *d)
{
    char job[COORD_ID_MAX], event[24], path[COORD_PATH_MAX], line[160];
    int rc;

    rc = coord_event_read(c, t, d->seq, "job", job, sizeof(job));
    if (!rc) rc = coord_event_read(c, t, d->seq, "event", event,
                                   sizeof(event));
    if (rc || !coord_name_ok(job)) return rc;
    rc = coord_exists(c, t, job);
    if (rc == XLMIG_E_NOTFOUND) return XLMIG_OK;
    if (rc) return rc;
    coord_path(path, COORD_ROOT "/job/%s/hooks", job);
    rc = coord_read_buf(c, t, path, line, sizeof(line));
    if (!rc && !line[0]) rc = coord_put(c, t, path, "");
    if (rc) return rc;
    snprintf(line, sizeof(line), "%s %s: %s in %.2f s", event, d->hook,
             d->status, d->secs);
    coord_path(path, COORD_ROOT "/job/%s/hooks/%u-%s", job, d->seq, d->hook);
    return coord_put(c, t, path, line);
}

static int coord_event_hook_done_tx(struct coord *c, xs_transaction_t t,
                                    void *arg)
{
    struct coord_event_hd *d = arg;
    char path[COORD_PATH_MAX], num[32];
    int rc;

    coord_path(path, COORD_ROOT "/event/%u/run/%s/status", d->seq, d->hook);
    rc = coord_put(c, t, path, d->status);
    snprintf(num, sizeof(num), "%.3f", d->secs);
    coord_path(path, COORD_ROOT "/event/%u/run/%s/secs", d->seq, d->hook);
    if (!rc) rc = coord_put(c, t, path, num);
    coord_path(path, COORD_ROOT "/event/%u/run/%s/output", d->seq, d->hook);
    if (!rc) rc = coord_put(c, t, path, d->output);
    coord_path(path, COORD_ROOT "/event/%u/run/%s/state", d->seq, d->hook);
    if (!rc) rc = coord_put(c, t, path, "done");
    if (!rc) rc = coord_event_job_line(c, t, d);
    return rc;
}

int coord_event_hook_done(struct coord *c, unsigned seq, const char *hook,
                          const char *status, double secs,
                          const char *output)
{
    char cut[COORD_VALUE_MAX];
    struct coord_event_hd d = {
        .seq = seq, .hook = hook, .status = status, .output = cut,
        .secs = secs,
    };

    /* The tail is what tells: keep the end of a long output. */
    snprintf(cut, sizeof(cut), "%s",
             strlen(output) < sizeof(cut) ? output
                                          : output + strlen(output) -
                                            (sizeof(cut) - 1));
    return coord_tx(c, COORD_ROOT "/event", coord_event_hook_done_tx, &d);
}

struct coord_event_fin {
    unsigned seq;
    const char *verdict, *why;
};

static int coord_event_finish_tx(struct coord *c, xs_transaction_t t,
                                 void *arg)
{
    struct coord_event_fin *f = arg;
    char state[16];
    int rc;

    rc = coord_event_read(c, t, f->seq, "state", state, sizeof(state));
    if (rc || !state[0]) return rc;
    rc = coord_event_put(c, t, f->seq, "verdict", f->verdict);
    if (!rc) rc = coord_event_put(c, t, f->seq, "why", f->why);
    if (!rc) rc = coord_event_put(c, t, f->seq, "state", "done");
    return rc;
}

int coord_event_finish(struct coord *c, unsigned seq, const char *verdict,
                       const char *why)
{
    struct coord_event_fin f = { seq, verdict, why };
    char cut[256];

    snprintf(cut, sizeof(cut), "%s", why);
    f.why = cut;
    return coord_tx(c, COORD_ROOT "/event", coord_event_finish_tx, &f);
}

struct coord_event_tr {
    unsigned keep, removed;
};

static int coord_event_trim_tx(struct coord *c, xs_transaction_t t,
                               void *arg)
{
    struct coord_event_tr *tr = arg;
    char path[COORD_PATH_MAX], state[16];
    unsigned *seqs, done = 0;
    size_t n, i;
    int rc;

    tr->removed = 0;
    rc = coord_event_seqs(c, t, &seqs, &n);
    if (rc) return rc;
    for (i = n; !rc && i-- > 0;) {
        rc = coord_event_read(c, t, seqs[i], "state", state, sizeof(state));
        if (rc || strcmp(state, "done") || ++done <= tr->keep) continue;
        coord_event_path(path, seqs[i], NULL);
        rc = coord_rm(c, t, path);
        tr->removed++;
    }
    free(seqs);
    return rc;
}

int coord_event_trim(struct coord *c, unsigned keep, unsigned *n_r)
{
    struct coord_event_tr tr = { .keep = keep };
    int rc;

    rc = coord_tx(c, COORD_ROOT "/event", coord_event_trim_tx, &tr);
    if (n_r) *n_r = rc ? 0 : tr.removed;
    return rc;
}

/* ---- waiting for a decision ---- */

int coord_event_wait(struct coord *c, unsigned seq,
                     const struct fdio_wait *w, double deadline)
{
    char path[COORD_PATH_MAX];
    struct coord_event ev;
    bool hookd;
    int rc;

    coord_event_path(path, seq, "state");
    if (xs_fileno(c->xs) < 0 || !xs_watch(c->xs, path, COORD_EVENT_TOKEN)) {
        LOGE(c->ctx, ERROR, "xenstore watch %s", path);
        return XLMIG_E_XS;
    }
    for (;;) {
        rc = coord_event_get(c, seq, &ev);
        if (rc || !strcmp(ev.state, "done")) break;
        rc = coord_hookd_alive(c, &hookd);
        if (rc) break;
        if (!ev.owner_alive && !hookd) {
            rc = XLMIG_E_NOTFOUND;
            break;
        }
        rc = coord_sleep(c, w, -1, deadline, COORD_EVENT_RECHECK_MS,
                         "hooks");
        if (rc) break;
    }
    if (!xs_unwatch(c->xs, path, COORD_EVENT_TOKEN))
        LOGE(c->ctx, WARN, "xenstore unwatch %s", path);
    coord_watch_drain(c);
    return rc;
}

/* ---- hookd ---- */

struct coord_hookd_reg {
    bool on;
    int pid;
};

static int coord_hookd_tx(struct coord *c, xs_transaction_t t, void *arg)
{
    struct coord_hookd_reg *h = arg;
    char owner[COORD_OWNER_MAX], self[COORD_OWNER_MAX];
    unsigned long long start;
    int rc;

    h->pid = 0;
    rc = coord_read_buf(c, t, COORD_ROOT "/hookd", owner, sizeof(owner));
    if (rc) return rc;
    coord_owner_self(self);
    if (!h->on) {
        if (strcmp(owner, self)) return XLMIG_OK;
        return coord_rm(c, t, COORD_ROOT "/hookd");
    }
    if (strcmp(owner, self) && coord_owner_alive(owner)) {
        if (!coord_owner_parse(owner, &h->pid, &start)) h->pid = 0;
        return XLMIG_E_BUSY;
    }
    return coord_put(c, t, COORD_ROOT "/hookd", self);
}

int coord_hookd_register(struct coord *c, int *pid_r)
{
    struct coord_hookd_reg h = { .on = true };
    int rc;

    rc = coord_tx(c, COORD_ROOT "/hookd", coord_hookd_tx, &h);
    *pid_r = h.pid;
    return rc;
}

int coord_hookd_unregister(struct coord *c)
{
    struct coord_hookd_reg h = { .on = false };

    return coord_tx(c, COORD_ROOT "/hookd", coord_hookd_tx, &h);
}

int coord_hookd_alive(struct coord *c, bool *alive_r)
{
    int pid;

    return coord_hookd_pid(c, alive_r, &pid);
}

int coord_hookd_pid(struct coord *c, bool *alive_r, int *pid_r)
{
    char owner[COORD_OWNER_MAX];
    unsigned long long start;
    int rc;

    *pid_r = 0;
    rc = coord_read_buf(c, XBT_NULL, COORD_ROOT "/hookd", owner,
                        sizeof(owner));
    *alive_r = !rc && coord_owner_alive(owner);
    if (*alive_r && !coord_owner_parse(owner, pid_r, &start)) *pid_r = 0;
    return rc;
}

/* The uuid in /local/domain/D/vm ("/vm/UUID"), "" if none. */
static int coord_dom_uuid(struct coord *c, unsigned domid, char uuid[40])
{
    char path[COORD_PATH_MAX], vm[64];
    int rc;

    uuid[0] = '\0';
    coord_path(path, "/local/domain/%u/vm", domid);
    rc = coord_read_buf(c, XBT_NULL, path, vm, sizeof(vm));
    if (!rc && !strncmp(vm, "/vm/", 4) && strlen(vm + 4) < 40 &&
        coord_uuid_ok(vm + 4))
        memcpy(uuid, vm + 4, strlen(vm + 4) + 1);
    return rc;
}

int coord_domains(struct coord *c, struct coord_dom **doms_r, size_t *n_r)
{
    struct coord_dom *doms = NULL, *d;
    char path[COORD_PATH_MAX], **ents;
    unsigned n = 0, i, domid;
    size_t m = 0;
    int rc;

    *doms_r = NULL;
    *n_r = 0;
    rc = coord_dir(c, XBT_NULL, "/local/domain", &ents, &n);
    if (rc) return rc;
    if (n) doms = xcalloc(n, sizeof(*doms));
    for (i = 0; !rc && i < n; i++) {
        if (!coord_parse_uint(ents[i], COORD_SEQ_MAX, &domid) || !domid)
            continue;
        d = &doms[m];
        d->domid = domid;
        coord_path(path, "/local/domain/%u/name", domid);
        rc = coord_read_buf(c, XBT_NULL, path, d->name, sizeof(d->name));
        if (!rc) rc = coord_dom_uuid(c, domid, d->uuid);
        /* A domain half made or half gone has no name yet, or no more. */
        if (!rc && d->name[0]) m++;
    }
    free(ents);
    if (rc) {
        free(doms);
        return rc;
    }
    *doms_r = doms;
    *n_r = m;
    return XLMIG_OK;
}
