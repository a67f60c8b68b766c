/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * coord.c - the /libxlmig xenstore subtree of this host (layout in
 * coord.h): creating it, xenstore helpers and the transaction runner that
 * coord-lock.c, coord-slot.c and coord-cancel.c share, limits, job
 * records, cancel requests, and reaping what dead jobs left.
 *
 * Invariants, each kept by one transaction per change:
 *  1. A slot, queue entry or lock names a job; it is valid while that
 *     job's record exists and its owner process runs. Anyone who meets
 *     an invalid one may remove it (coord_alive decides).
 *  2. A job holds at most one slot per kind and one queue entry per kind.
 *  3. A slot is granted only to the head of the live queue (or to anyone
 *     when the queue is empty), and the grant removes the queue entry
 *     (coord-slot.c).
 */
#include <ctype.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "coord-priv.h"
#include "proc.h"

static const char *const coord_kind_names[COORD_NR_KINDS] = {
    [COORD_OUT] = "out",
    [COORD_IN] = "in",
    [COORD_STORAGE] = "storage",
};

const char *coord_kind_name(enum coord_kind k)
{
    if ((unsigned)k >= COORD_NR_KINDS) return "?";
    return coord_kind_names[k];
}

int coord_kind_parse(const char *s, enum coord_kind *k_r)
{
    unsigned k;

    for (k = 0; k < COORD_NR_KINDS; k++) {
        if (!strcmp(s, coord_kind_names[k])) {
            *k_r = (enum coord_kind)k;
            return XLMIG_OK;
        }
    }
    return XLMIG_E_INVAL;
}

/* ---- names and paths ---- */

bool coord_name_ok(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= COORD_NAME_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_-") == n;
}

bool coord_uuid_ok(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n < 40 && strspn(s, "0123456789abcdefABCDEF-") == n;
}

int coord_check_id(struct coord *c, const char *id)
{
    if (coord_name_ok(id)) return XLMIG_OK;
    LOG(c->ctx, ERROR, "invalid job id '%.40s'", id);
    return XLMIG_E_INVAL;
}

int coord_check_kind(struct coord *c, enum coord_kind k)
{
    if ((unsigned)k < COORD_NR_KINDS) return XLMIG_OK;
    LOG(c->ctx, ERROR, "no admission kind %d", (int)k);
    return XLMIG_E_INVAL;
}

void coord_path(char path[COORD_PATH_MAX], const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(path, COORD_PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= COORD_PATH_MAX) abort();
}

static double coord_unix_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- xenstore operations (contracts in coord-priv.h) ---- */

static int coord_xs_fail(struct coord *c, xs_transaction_t t,
                         const char *op, const char *path)
{
    if (t != XBT_NULL && errno == EAGAIN) return COORD_RETRY;
    LOGE(c->ctx, ERROR, "xenstore %s %s", op, path);
    return XLMIG_E_XS;
}

int coord_read(struct coord *c, xs_transaction_t t, const char *path,
               char **v_r)
{
    unsigned int len;
    char *v;

    *v_r = NULL;
    v = xs_read(c->xs, t, path, &len);
    if (!v && errno == ENOENT) return XLMIG_E_NOTFOUND;
    if (!v) return coord_xs_fail(c, t, "read", path);
    if (len >= COORD_VALUE_MAX || strlen(v) != len) {
        LOG(c->ctx, ERROR, "xenstore read %s: value over %d bytes or not "
            "text", path, COORD_VALUE_MAX - 1);
        free(v);
        return XLMIG_E_XS;
    }
    *v_r = v;
    return XLMIG_OK;
}

int coord_read_buf(struct coord *c, xs_transaction_t t,
                   const char *path, char *buf, size_t size)
{
    char *v;
    int rc;

    buf[0] = '\0';
    rc = coord_read(c, t, path, &v);
    if (rc == XLMIG_E_NOTFOUND) return XLMIG_OK;
    if (rc) return rc;
    snprintf(buf, size, "%s", v);
    free(v);
    return XLMIG_OK;
}

int coord_put(struct coord *c, xs_transaction_t t, const char *path,
              const char *value)
{
    struct xs_permissions perm = { .id = 0, .perms = XS_PERM_NONE };

    if (!xs_write(c->xs, t, path, value, strlen(value)))
        return coord_xs_fail(c, t, "write", path);
    if (!xs_set_permissions(c->xs, t, path, &perm, 1))
        return coord_xs_fail(c, t, "set permissions of", path);
    return XLMIG_OK;
}

int coord_rm(struct coord *c, xs_transaction_t t, const char *path)
{
    if (xs_rm(c->xs, t, path) || errno == ENOENT) return XLMIG_OK;
    return coord_xs_fail(c, t, "remove", path);
}

int coord_dir(struct coord *c, xs_transaction_t t, const char *path,
              char ***ents_r, unsigned *n_r)
{
    *ents_r = xs_directory(c->xs, t, path, n_r);
    if (*ents_r) return XLMIG_OK;
    *n_r = 0;
    if (errno == ENOENT) return XLMIG_OK;
    return coord_xs_fail(c, t, "list", path);
}

bool coord_parse_uint(const char *s, unsigned max, unsigned *v_r)
{
    unsigned long v;
    char *end;

    if (*s < '0' || *s > '9') return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v > max) return false;
    *v_r = (unsigned)v;
    return true;
}

int coord_tx(struct coord *c, const char *what, coord_tx_fn *body,
             void *arg)
{
    xs_transaction_t t;
    int attempt, rc;

    for (attempt = 0; attempt < COORD_XS_RETRIES; attempt++) {
        t = xs_transaction_start(c->xs);
        if (t == XBT_NULL) {
            LOGE(c->ctx, ERROR, "xenstore transaction on %s", what);
            return XLMIG_E_XS;
        }
        rc = body(c, t, arg);
        if (rc) {
            xs_transaction_end(c->xs, t, true);
            if (rc == COORD_RETRY) continue;
            return rc;
        }
        if (xs_transaction_end(c->xs, t, false)) return XLMIG_OK;
        if (errno != EAGAIN) {
            LOGE(c->ctx, ERROR, "xenstore commit on %s", what);
            return XLMIG_E_XS;
        }
    }
    LOG(c->ctx, ERROR, "xenstore transaction on %s: still conflicting "
        "after %d attempts", what, COORD_XS_RETRIES);
    return XLMIG_E_XS;
}

/* ---- watches ---- */

int coord_sleep(struct coord *c, const struct fdio_wait *w, int hup_fd,
                double deadline, int recheck_ms, const char *what)
{
    struct pollfd p[2 + FDIO_CANCEL_FDS];
    int i, ms = recheck_ms, left, r;

    memset(p, 0, sizeof(p));
    p[0].fd = xs_fileno(c->xs);
    p[0].events = POLLIN;
    for (i = 0; i < FDIO_CANCEL_FDS; i++) {
        p[1 + i].fd = w ? w->cancel_fds[i] : -1;
        p[1 + i].events = POLLIN;
    }
    /* Only a hang-up: the peer may have sent data we do not read yet. */
    p[1 + FDIO_CANCEL_FDS].fd = hup_fd;
    p[1 + FDIO_CANCEL_FDS].events = POLLRDHUP;
    left = fdio_ms_until(c->ctx, deadline);
    if (left >= 0 && left < ms) ms = left;
    r = poll(p, ARRAY_SIZE(p), ms);
    if (r < 0 && errno != EINTR) {
        LOGE(c->ctx, ERROR, "poll while waiting for %s", what);
        return XLMIG_E_SYSTEM;
    }
    for (i = 0; r > 0 && i < FDIO_CANCEL_FDS; i++) {
        if (p[1 + i].revents) {
            LOG(c->ctx, ERROR, "cancelled while waiting for %s", what);
            return XLMIG_E_CANCELLED;
        }
    }
    if (r > 0 && p[1 + FDIO_CANCEL_FDS].revents &
                 (POLLHUP | POLLRDHUP | POLLERR)) {
        LOG(c->ctx, ERROR, "the peer left while waiting for %s", what);
        return XLMIG_E_PEER;
    }
    if (deadline && fdio_ms_until(c->ctx, deadline) == 0) {
        LOG(c->ctx, ERROR, "timed out waiting for %s", what);
        return XLMIG_E_TIMEDOUT;
    }
    return XLMIG_OK;
}

int coord_fd(struct coord *c)
{
    return xs_fileno(c->xs);
}

/* ---- what hookd watches ---- */

int coord_watch(struct coord *c, const char *path, const char *token,
                bool on)
{
    if (on && !xs_watch(c->xs, path, token)) {
        LOGE(c->ctx, ERROR, "xenstore watch %s", path);
        return XLMIG_E_XS;
    }
    if (!on && !xs_unwatch(c->xs, path, token))
        LOGE(c->ctx, DEBUG, "xenstore unwatch %s", path);
    return XLMIG_OK;
}

unsigned coord_watch_drain(struct coord *c)
{
    unsigned n = 0;
    char **ev;

    while ((ev = xs_check_watch(c->xs))) {
        free(ev);
        n++;
    }
    return n;
}

/* ---- liveness ---- */

/* The owner of a record: "PID STARTTIME". */
bool coord_owner_parse(const char *s, int *pid_r,
                       unsigned long long *start_r)
{
    int n = 0;

    if (sscanf(s, "%d %llu%n", pid_r, start_r, &n) != 2 || s[n] ||
        *pid_r <= 0)
        return false;
    return true;
}

bool coord_owner_alive(const char *s)
{
    unsigned long long start;
    int pid;

    return coord_owner_parse(s, &pid, &start) &&
           proc_alive((pid_t)pid, start);
}

void coord_owner_self(char buf[COORD_OWNER_MAX])
{
    pid_t pid = getpid();

    snprintf(buf, COORD_OWNER_MAX, "%d %llu", (int)pid,
             proc_start_time(pid));
}

int coord_alive(struct coord *c, xs_transaction_t t, const char *id,
                bool *alive_r)
{
    char path[COORD_PATH_MAX], *v;
    int rc;

    *alive_r = false;
    if (!coord_name_ok(id)) return XLMIG_OK;
    coord_path(path, COORD_ROOT "/job/%s/owner", id);
    rc = coord_read(c, t, path, &v);
    if (rc == XLMIG_E_NOTFOUND) return XLMIG_OK;
    if (rc) return rc;
    *alive_r = coord_owner_alive(v);
    free(v);
    return XLMIG_OK;
}

int coord_exists(struct coord *c, xs_transaction_t t, const char *id)
{
    char path[COORD_PATH_MAX], *v;
    int rc;

    coord_path(path, COORD_ROOT "/job/%s/owner", id);
    rc = coord_read(c, t, path, &v);
    free(v);
    return rc;
}

/* ---- open, close, limits ---- */

/* Creates path = value in t unless it exists. */
static int coord_ensure(struct coord *c, xs_transaction_t t,
                        const char *path, const char *value)
{
    char *v;
    int rc;

    rc = coord_read(c, t, path, &v);
    free(v);
    if (rc == XLMIG_E_NOTFOUND) rc = coord_put(c, t, path, value);
    return rc;
}

static int coord_init_tx(struct coord *c, xs_transaction_t t, void *arg)
{
    static const char *const dirs[] = {
        "", "/host", "/host/limits", "/host/slots", "/host/queue", "/lock",
        "/job", "/event",
    };
    static const char *const per_kind[] = { "slots", "queue" };
    char path[COORD_PATH_MAX], val[16];
    unsigned i, k;
    int rc = XLMIG_OK;

    (void)arg;
    for (i = 0; !rc && i < ARRAY_SIZE(dirs); i++) {
        coord_path(path, COORD_ROOT "%s", dirs[i]);
        rc = coord_ensure(c, t, path, "");
    }
    for (k = 0; !rc && k < COORD_NR_KINDS; k++) {
        for (i = 0; !rc && i < ARRAY_SIZE(per_kind); i++) {
            coord_path(path, COORD_ROOT "/host/%s/%s", per_kind[i],
                       coord_kind_names[k]);
            rc = coord_ensure(c, t, path, "");
        }
        /* A limit set in xenstore wins; the config file seeds it. */
        snprintf(val, sizeof(val), "%u",
                 conf_limit(c->ctx, coord_kind_names[k], COORD_LIMIT_DEFAULT,
                            COORD_LIMIT_MAX));
        coord_path(path, COORD_ROOT "/host/limits/%s", coord_kind_names[k]);
        if (!rc) rc = coord_ensure(c, t, path, val);
    }
    return rc;
}

int coord_open(struct xlmig_ctx *ctx, struct coord **c_r)
{
    struct coord *c = xcalloc(1, sizeof(*c));
    const char *sock;
    int rc;

    *c_r = NULL;
    c->ctx = ctx;
    c->stop[0] = c->stop[1] = -1;
    pthread_mutex_init(&c->lock, NULL);
    c->xs = xs_open(0);
    if (!c->xs) {
        sock = getenv("XENSTORED_PATH");
        LOGE(ctx, ERROR, "cannot connect to xenstored%s%s",
             sock ? " at " : "", sock ? sock : "");
        rc = XLMIG_E_XS;
        goto out;
    }
    rc = coord_tx(c, COORD_ROOT, coord_init_tx, NULL);
    if (rc) goto out;
    rc = coord_reap_stale(c, NULL);
    if (rc) goto out;
    *c_r = c;
    c = NULL;
out:
    coord_close(c);
    return rc;
}

void coord_close(struct coord *c)
{
    if (!c) return;
    coord_cancel_stop(c);
    if (c->xs) xs_close(c->xs);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int coord_set_limit(struct coord *c, enum coord_kind k, unsigned n)
{
    char path[COORD_PATH_MAX], val[16];

    if (coord_check_kind(c, k)) return XLMIG_E_INVAL;
    if (n > COORD_LIMIT_MAX) {
        LOG(c->ctx, ERROR, "limit %u of %s: the limit must be 0..%d", n,
            coord_kind_names[k], COORD_LIMIT_MAX);
        return XLMIG_E_INVAL;
    }
    coord_path(path, COORD_ROOT "/host/limits/%s", coord_kind_names[k]);
    snprintf(val, sizeof(val), "%u", n);
    return coord_put(c, XBT_NULL, path, val);
}

int coord_limit_read(struct coord *c, xs_transaction_t t,
                     enum coord_kind k, unsigned *n_r)
{
    char path[COORD_PATH_MAX], *v;
    int rc;

    *n_r = COORD_LIMIT_DEFAULT;
    coord_path(path, COORD_ROOT "/host/limits/%s", coord_kind_names[k]);
    rc = coord_read(c, t, path, &v);
    if (rc == XLMIG_E_NOTFOUND) return XLMIG_OK;
    if (rc) return rc;
    if (!coord_parse_uint(v, COORD_LIMIT_MAX, n_r)) {
        LOG(c->ctx, WARN, "%s: malformed limit '%s', using %u", path, v,
            COORD_LIMIT_DEFAULT);
        *n_r = COORD_LIMIT_DEFAULT;
    }
    free(v);
    return XLMIG_OK;
}

int coord_get_limit(struct coord *c, enum coord_kind k, unsigned *n_r)
{
    *n_r = COORD_LIMIT_DEFAULT;
    if (coord_check_kind(c, k)) return XLMIG_E_INVAL;
    return coord_limit_read(c, XBT_NULL, k, n_r);
}

/* ---- job records ---- */

struct coord_create {
    const char *const *keys;    /* NULL-terminated, with values */
    const char *const *values;
    time_t now;
    char id[COORD_ID_MAX];
};

static int coord_create_tx(struct coord *c, xs_transaction_t t, void *arg)
{
    struct coord_create *cr = arg;
    char path[COORD_PATH_MAX], val[16], *v;
    unsigned seq = 0, tries, i;
    int rc;

    cr->id[0] = '\0';
    rc = coord_read(c, t, COORD_ROOT "/host/job-seq", &v);
    if (rc && rc != XLMIG_E_NOTFOUND) return rc;
    if (v && !coord_parse_uint(v, COORD_SEQ_MAX, &seq)) seq = 0;
    free(v);
    /* Time makes ids unique across reboots, the counter within one. */
    for (tries = 0;; tries++) {
        if (tries == 1000) {
            LOG(c->ctx, ERROR, "no free job id under " COORD_ROOT "/job");
            return XLMIG_E_EXISTS;
        }
        seq = (seq + 1) % COORD_SEQ_MAX;
        snprintf(cr->id, sizeof(cr->id), "%08lx-%x",
                 (unsigned long)cr->now, seq);
        rc = coord_exists(c, t, cr->id);
        if (rc == XLMIG_E_NOTFOUND) break;
        if (rc) return rc;
    }
    snprintf(val, sizeof(val), "%u", seq);
    rc = coord_put(c, t, COORD_ROOT "/host/job-seq", val);
    if (rc) return rc;
    coord_path(path, COORD_ROOT "/job/%s", cr->id);
    rc = coord_put(c, t, path, "");
    for (i = 0; !rc && cr->keys[i]; i++) {
        coord_path(path, COORD_ROOT "/job/%s/%s", cr->id, cr->keys[i]);
        rc = coord_put(c, t, path, cr->values[i]);
    }
    return rc;
}

int coord_job_create(struct coord *c, const char *kind, const char *domain,
                     const char *uuid, const char *peer,
                     char id_r[COORD_ID_MAX])
{
    static const char *const keys[] = {
        "kind", "phase", "domain", "uuid", "peer", "started", "progress",
        "error", "owner", "cancel", "cancellable", "queue", NULL,
    };
    char started[32], owner[COORD_OWNER_MAX];
    const char *values[] = {
        kind, "admit", domain, uuid, peer, started, "", "", owner, "", "1",
        "0", NULL,
    };
    struct coord_create cr = { .keys = keys, .values = values };
    unsigned i;
    int rc;

    id_r[0] = '\0';
    snprintf(started, sizeof(started), "%.3f", coord_unix_now());
    coord_owner_self(owner);
    for (i = 0; values[i]; i++) {
        if (strlen(values[i]) >= COORD_VALUE_MAX) {
            LOG(c->ctx, ERROR, "job %s: value over %d bytes", keys[i],
                COORD_VALUE_MAX - 1);
            return XLMIG_E_TOOBIG;
        }
    }
    cr.now = time(NULL);
    rc = coord_tx(c, COORD_ROOT "/job", coord_create_tx, &cr);
    if (rc) return rc;
    snprintf(id_r, COORD_ID_MAX, "%s", cr.id);
    LOG(c->ctx, DEBUG, "job %s: created (%s of %s)", cr.id, kind, domain);
    return XLMIG_OK;
}

struct coord_set {
    const char *id, *key, *value;
};

static int coord_set_tx(struct coord *c, xs_transaction_t t, void *arg)
{
    const struct coord_set *s = arg;
    char path[COORD_PATH_MAX];
    int rc;

    rc = coord_exists(c, t, s->id);
    if (rc == XLMIG_E_NOTFOUND)
        LOG(c->ctx, ERROR, "no job %s under " COORD_ROOT "/job", s->id);
    if (rc) return rc;
    coord_path(path, COORD_ROOT "/job/%s/%s", s->id, s->key);
    return coord_put(c, t, path, s->value);
}

/* Checks a job id and key and makes the key's path in the job's record. */
static int coord_job_key_path(struct coord *c, const char *id,
                              const char *key, char path[COORD_PATH_MAX])
{
    int rc;

    rc = coord_check_id(c, id);
    if (rc) return rc;
    if (!coord_name_ok(key)) {
        LOG(c->ctx, ERROR, "job %s: invalid key '%.40s'", id, key);
        return XLMIG_E_INVAL;
    }
    coord_path(path, COORD_ROOT "/job/%s/%s", id, key);
    return XLMIG_OK;
}

int coord_job_set(struct coord *c, const char *id, const char *key,
                  const char *value)
{
    struct coord_set s = { .id = id, .key = key, .value = value };
    char path[COORD_PATH_MAX];
    int rc;

    rc = coord_job_key_path(c, id, key, path);
    if (rc) return rc;
    if (strlen(value) >= COORD_VALUE_MAX) {
        LOG(c->ctx, ERROR, "job %s: %s over %d bytes", id, key,
            COORD_VALUE_MAX - 1);
        return XLMIG_E_TOOBIG;
    }
    return coord_tx(c, path, coord_set_tx, &s);
}

int coord_job_value(struct coord *c, const char *id, const char *key,
                    char **v_r)
{
    char path[COORD_PATH_MAX];
    int rc;

    *v_r = NULL;
    rc = coord_job_key_path(c, id, key, path);
    if (rc) return rc;
    return coord_read(c, XBT_NULL, path, v_r);
}

int coord_rm_valued(struct coord *c, xs_transaction_t t,
                    const char *dir, const char *id)
{
    char path[COORD_PATH_MAX], **ents, *v;
    unsigned n, i;
    int rc;

    rc = coord_dir(c, t, dir, &ents, &n);
    for (i = 0; !rc && i < n; i++) {
        if (strlen(ents[i]) > COORD_ENTRY_MAX) continue;
        coord_path(path, "%s/%s", dir, ents[i]);
        rc = coord_read(c, t, path, &v);
        if (rc == XLMIG_E_NOTFOUND) {
            rc = XLMIG_OK;
            continue;
        }
        if (!rc && !strcmp(v, id)) rc = coord_rm(c, t, path);
        free(v);
    }
    free(ents);
    return rc;
}

/* Removes job id with its slots, queue entries and locks (in t). */
static int coord_purge(struct coord *c, xs_transaction_t t, const char *id)
{
    char path[COORD_PATH_MAX];
    unsigned k;
    int rc = XLMIG_OK;

    for (k = 0; !rc && k < COORD_NR_KINDS; k++) {
        coord_path(path, COORD_ROOT "/host/slots/%s/%s",
                   coord_kind_names[k], id);
        rc = coord_rm(c, t, path);
        coord_path(path, COORD_ROOT "/host/queue/%s", coord_kind_names[k]);
        if (!rc) rc = coord_rm_valued(c, t, path, id);
    }
    if (!rc) rc = coord_rm_valued(c, t, COORD_ROOT "/lock", id);
    coord_path(path, COORD_ROOT "/job/%s", id);
    if (!rc) rc = coord_rm(c, t, path);
    return rc;
}

static int coord_remove_tx(struct coord *c, xs_transaction_t t, void *arg)
{
    return coord_purge(c, t, arg);
}

int coord_job_remove(struct coord *c, const char *id)
{
    char path[COORD_PATH_MAX];
    int rc;

    rc = coord_check_id(c, id);
    if (rc) return rc;
    coord_path(path, COORD_ROOT "/job/%s", id);
    return coord_tx(c, path, coord_remove_tx, (void *)id);
}

/* Reads job id in t; XLMIG_E_NOTFOUND (not logged) if it has no record. */
static int coord_job_read(struct coord *c, xs_transaction_t t,
                          const char *id, struct coord_job *j)
{
    char path[COORD_PATH_MAX], owner[64], num[32], flag[8];
    struct {
        const char *key;
        char *buf;
        size_t size;
    } f[] = {
        { "kind", j->kind, sizeof(j->kind) },
        { "phase", j->phase, sizeof(j->phase) },
        { "domain", j->domain, sizeof(j->domain) },
        { "uuid", j->uuid, sizeof(j->uuid) },
        { "peer", j->peer, sizeof(j->peer) },
        { "progress", j->progress, sizeof(j->progress) },
        { "error", j->error, sizeof(j->error) },
        { "precopy", j->precopy, sizeof(j->precopy) },   /* may be absent */
    };
    unsigned long long start = 0;
    unsigned i, k;
    int rc;

    memset(j, 0, sizeof(*j));
    rc = coord_exists(c, t, id);
    if (rc) return rc;
    snprintf(j->id, sizeof(j->id), "%s", id);
    for (i = 0; i < ARRAY_SIZE(f); i++) {
        coord_path(path, COORD_ROOT "/job/%s/%s", id, f[i].key);
        rc = coord_read_buf(c, t, path, f[i].buf, f[i].size);
        if (rc) return rc;
    }
    coord_path(path, COORD_ROOT "/job/%s/started", id);
    rc = coord_read_buf(c, t, path, num, sizeof(num));
    if (rc) return rc;
    j->started = strtod(num, NULL);
    coord_path(path, COORD_ROOT "/job/%s/owner", id);
    rc = coord_read_buf(c, t, path, owner, sizeof(owner));
    if (rc) return rc;
    if (coord_owner_parse(owner, &j->pid, &start))
        j->alive = proc_alive((pid_t)j->pid, start);
    coord_path(path, COORD_ROOT "/job/%s/queue", id);
    rc = coord_read_buf(c, t, path, num, sizeof(num));
    if (rc) return rc;
    if (!coord_parse_uint(num, COORD_SEQ_MAX, &j->queue_pos))
        j->queue_pos = 0;
    coord_path(path, COORD_ROOT "/job/%s/cancel", id);
    rc = coord_read_buf(c, t, path, flag, sizeof(flag));
    if (rc) return rc;
    j->cancel_requested = flag[0] != '\0';
    coord_path(path, COORD_ROOT "/job/%s/cancellable", id);
    rc = coord_read_buf(c, t, path, flag, sizeof(flag));
    if (rc) return rc;
    j->cancellable = strcmp(flag, "0") != 0;
    for (k = 0; k < COORD_NR_KINDS && !j->slot[0]; k++) {
        coord_path(path, COORD_ROOT "/host/slots/%s/%s",
                   coord_kind_names[k], id);
        rc = coord_read_buf(c, t, path, num, sizeof(num));
        if (rc) return rc;
        if (num[0]) snprintf(j->slot, sizeof(j->slot), "%s",
                             coord_kind_names[k]);
    }
    return XLMIG_OK;
}

struct coord_get {
    const char *id;
    struct coord_job *j;
};

static int coord_get_tx(struct coord *c, xs_transaction_t t, void *arg)
{
    struct coord_get *g = arg;

    return coord_job_read(c, t, g->id, g->j);
}

int coord_job_get(struct coord *c, const char *id, struct coord_job *j_r)
{
    struct coord_get g = { .id = id, .j = j_r };
    char path[COORD_PATH_MAX];

    memset(j_r, 0, sizeof(*j_r));
    if (!coord_name_ok(id)) return XLMIG_E_NOTFOUND;
    coord_path(path, COORD_ROOT "/job/%s", id);
    return coord_tx(c, path, coord_get_tx, &g);
}

struct coord_list {
    struct coord_job *jobs;
    size_t n;
};

static int coord_list_tx(struct coord *c, xs_transaction_t t, void *arg)
{
    struct coord_list *l = arg;
    char **ents;
    unsigned n, i;
    int rc;

    free(l->jobs);
    l->jobs = NULL;
    l->n = 0;
    rc = coord_dir(c, t, COORD_ROOT "/job", &ents, &n);
    if (rc) return rc;
    l->jobs = xcalloc(n ? n : 1, sizeof(*l->jobs));
    for (i = 0; !rc && i < n; i++) {
        if (!coord_name_ok(ents[i])) continue;
        rc = coord_job_read(c, t, ents[i], &l->jobs[l->n]);
        if (rc == XLMIG_E_NOTFOUND) {
            rc = XLMIG_OK;
            continue;
        }
        if (!rc) l->n++;
    }
    free(ents);
    return rc;
}

static int coord_job_cmp(const void *a, const void *b)
{
    const struct coord_job *x = a, *y = b;

    if (x->started != y->started) return x->started < y->started ? -1 : 1;
    return strcmp(x->id, y->id);
}

int coord_job_list(struct coord *c, struct coord_job **list_r, size_t *n_r)
{
    struct coord_list l = { NULL, 0 };
    int rc;

    *list_r = NULL;
    *n_r = 0;
    rc = coord_tx(c, COORD_ROOT "/job", coord_list_tx, &l);
    if (rc || l.n == 0) {
        free(l.jobs);
        return rc;
    }
    qsort(l.jobs, l.n, sizeof(*l.jobs), coord_job_cmp);
    *list_r = l.jobs;
    *n_r = l.n;
    return XLMIG_OK;
}

/* ---- cancel requests ---- */

struct coord_request {
    const char *id;
    char *why;
};

static int coord_request_tx(struct coord *c, xs_transaction_t t, void *arg)
{
    struct coord_request *cc = arg;
    char path[COORD_PATH_MAX], flag[8];
    int rc;

    free(cc->why);
    cc->why = NULL;
    rc = coord_exists(c, t, cc->id);
    if (rc) return rc;
    coord_path(path, COORD_ROOT "/job/%s/cancellable", cc->id);
    rc = coord_read_buf(c, t, path, flag, sizeof(flag));
    if (rc) return rc;
    if (!strcmp(flag, "0")) {
        coord_path(path, COORD_ROOT "/job/%s/cancellable-why", cc->id);
        rc = coord_read(c, t, path, &cc->why);
        if (rc && rc != XLMIG_E_NOTFOUND) return rc;
        if (!cc->why || !cc->why[0]) {
            free(cc->why);
            cc->why = xstrdup("the job cannot be cancelled now");
        }
        cc->why[strcspn(cc->why, "\r\n")] = '\0';
        return XLMIG_E_BUSY;
    }
    coord_path(path, COORD_ROOT "/job/%s/cancel", cc->id);
    return coord_put(c, t, path, "requested");
}

int coord_request_cancel(struct coord *c, const char *id, char **why_r)
{
    struct coord_request cc = { .id = id };
    char path[COORD_PATH_MAX];
    int rc;

    if (why_r) *why_r = NULL;
    if (!coord_name_ok(id)) return XLMIG_E_NOTFOUND;
    coord_path(path, COORD_ROOT "/job/%s", id);
    rc = coord_tx(c, path, coord_request_tx, &cc);
    if (rc == XLMIG_E_BUSY && why_r) {
        *why_r = cc.why;
        cc.why = NULL;
    }
    if (!rc) LOG(c->ctx, INFO, "job %s: cancel requested", id);
    free(cc.why);
    return rc;
}

struct coord_refuse {
    const char *id, *why;
};

static int coord_refuse_tx(struct coord *c, xs_transaction_t t, void *arg)
{
    const struct coord_refuse *r = arg;
    char path[COORD_PATH_MAX], flag[8];
    int rc;

    rc = coord_exists(c, t, r->id);
    if (rc == XLMIG_E_NOTFOUND)
        LOG(c->ctx, ERROR, "no job %s under " COORD_ROOT "/job", r->id);
    if (rc) return rc;
    coord_path(path, COORD_ROOT "/job/%s/cancel", r->id);
    rc = coord_read_buf(c, t, path, flag, sizeof(flag));
    if (rc) return rc;
    if (flag[0]) return XLMIG_E_CANCELLED;
    coord_path(path, COORD_ROOT "/job/%s/cancellable-why", r->id);
    rc = coord_put(c, t, path, r->why);
    coord_path(path, COORD_ROOT "/job/%s/cancellable", r->id);
    if (!rc) rc = coord_put(c, t, path, "0");
    return rc;
}

int coord_refuse_cancel(struct coord *c, const char *id, const char *why)
{
    struct coord_refuse r = { .id = id, .why = why };
    char path[COORD_PATH_MAX];
    int rc;

    rc = coord_check_id(c, id);
    if (rc) return rc;
    if (strlen(why) >= COORD_VALUE_MAX || strpbrk(why, "\r\n")) {
        LOG(c->ctx, ERROR, "job %s: the reason must be one line under %d "
            "bytes", id, COORD_VALUE_MAX);
        return XLMIG_E_INVAL;
    }
    coord_path(path, COORD_ROOT "/job/%s", id);
    return coord_tx(c, path, coord_refuse_tx, &r);
}

/* ---- reaping ---- */

struct coord_reap {
    char (*ids)[COORD_ID_MAX];  /* dead jobs removed */
    unsigned n, orphans;
};

int coord_scan_dir(struct coord *c, xs_transaction_t t, const char *dir,
                   bool by_name, bool reap, unsigned *alive_r,
                   unsigned *dead_r)
{
    char path[COORD_PATH_MAX], **ents, *v = NULL;
    unsigned n, i;
    bool alive;
    int rc;

    rc = coord_dir(c, t, dir, &ents, &n);
    for (i = 0; !rc && i < n; i++) {
        if (strlen(ents[i]) > COORD_ENTRY_MAX) continue;
        coord_path(path, "%s/%s", dir, ents[i]);
        if (!by_name) {
            rc = coord_read(c, t, path, &v);
            if (rc == XLMIG_E_NOTFOUND) {
                rc = XLMIG_OK;
                continue;
            }
        }
        if (!rc) rc = coord_alive(c, t, by_name ? ents[i] : v, &alive);
        if (!rc && alive && alive_r) (*alive_r)++;
        if (!rc && !alive) {
            if (reap) rc = coord_rm(c, t, path);
            if (dead_r) (*dead_r)++;
        }
        free(v);
        v = NULL;
    }
    free(ents);
    return rc;
}

/* Removes entries of dir naming a job that is not alive: by their name
 * (slots) or by their value (queue entries, locks). */
static int coord_reap_dir(struct coord *c, xs_transaction_t t,
                          const char *dir, bool by_name, unsigned *n_r)
{
    return coord_scan_dir(c, t, dir, by_name, true, NULL, n_r);
}

static int coord_reap_tx(struct coord *c, xs_transaction_t t, void *arg)
{
    struct coord_reap *r = arg;
    char path[COORD_PATH_MAX], **ents;
    unsigned n, i, k;
    bool alive;
    int rc;

    free(r->ids);
    r->ids = NULL;
    r->n = r->orphans = 0;
    rc = coord_dir(c, t, COORD_ROOT "/job", &ents, &n);
    if (rc) return rc;
    r->ids = xcalloc(n ? n : 1, sizeof(*r->ids));
    for (i = 0; !rc && i < n; i++) {
        if (!coord_name_ok(ents[i])) continue;
        rc = coord_alive(c, t, ents[i], &alive);
        if (rc || alive) continue;
        rc = coord_purge(c, t, ents[i]);
        snprintf(r->ids[r->n++], COORD_ID_MAX, "%s", ents[i]);
    }
    free(ents);
    for (k = 0; !rc && k < COORD_NR_KINDS; k++) {
        coord_path(path, COORD_ROOT "/host/slots/%s", coord_kind_names[k]);
        rc = coord_reap_dir(c, t, path, true, &r->orphans);
        coord_path(path, COORD_ROOT "/host/queue/%s", coord_kind_names[k]);
        if (!rc) rc = coord_reap_dir(c, t, path, false, &r->orphans);
    }
    if (!rc) rc = coord_reap_dir(c, t, COORD_ROOT "/lock", false,
                                 &r->orphans);
    return rc;
}

int coord_reap_stale(struct coord *c, unsigned *n_r)
{
    struct coord_reap r = { NULL, 0, 0 };
    unsigned i;
    int rc;

    if (n_r) *n_r = 0;
    rc = coord_tx(c, COORD_ROOT, coord_reap_tx, &r);
    if (!rc) {
        for (i = 0; i < r.n; i++)
            LOG(c->ctx, INFO, "job %s: its process is gone; removed its "
                "record, slots, queue entries and locks", r.ids[i]);
        if (r.orphans)
            LOG(c->ctx, INFO, "removed %u slots, queue entries or locks "
                "of jobs that are gone", r.orphans);
        if (n_r) *n_r = r.n;
    }
    free(r.ids);
    return rc;
}

/* ---- maintenance mode ---- */

#define COORD_MAINT_PATH COORD_ROOT "/host/maintenance"

int coord_set_maintenance(struct coord *c, const char *reason)
{
    if (!reason) return coord_rm(c, XBT_NULL, COORD_MAINT_PATH);
    if (strlen(reason) >= COORD_VALUE_MAX || strchr(reason, '\n')) {
        LOG(c->ctx, ERROR, "maintenance reason: one line of under %d "
            "characters", COORD_VALUE_MAX);
        return XLMIG_E_INVAL;
    }
    /* An empty reason still means "on". */
    return coord_put(c, XBT_NULL, COORD_MAINT_PATH,
                     *reason ? reason : "maintenance");
}

int coord_get_maintenance(struct coord *c, char **reason_r)
{
    int rc;

    *reason_r = NULL;
    rc = coord_read(c, XBT_NULL, COORD_MAINT_PATH, reason_r);
    if (rc == XLMIG_E_NOTFOUND) return XLMIG_OK;
    return rc;
}

/* /libxlmig/measured/KEY, KEY's bytes outside xenstore's set made '_'. */
static void coord_measured_path(const char *key, char path[COORD_PATH_MAX])
{
    char name[COORD_NAME_MAX + 1];
    size_t i;

    for (i = 0; key[i] && i < COORD_NAME_MAX; i++)
        name[i] = isalnum((unsigned char)key[i]) || key[i] == '-' ||
                          key[i] == '_' || key[i] == '@'
                      ? key[i] : '_';
    name[i] = '\0';
    snprintf(path, COORD_PATH_MAX, COORD_ROOT "/measured/%s", name);
}

int coord_measured_get(struct coord *c, const char *key, char **v_r)
{
    char path[COORD_PATH_MAX];

    coord_measured_path(key, path);
    return coord_read(c, XBT_NULL, path, v_r);
}

int coord_measured_set(struct coord *c, const char *key, const char *v)
{
    char path[COORD_PATH_MAX];

    coord_measured_path(key, path);
    return coord_put(c, XBT_NULL, path, v);
}
