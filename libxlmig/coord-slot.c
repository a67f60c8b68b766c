/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * coord-slot.c - admission slots: at most limit jobs of a kind at once
 * (/libxlmig/host/slots/<kind>/<job>), the others waiting in a FIFO
 * queue (/libxlmig/host/queue/<kind>/<seq>). A waiter re-checks in one
 * transaction whenever its watches on both fire, and every
 * COORD_SLOT_RECHECK_MS, taking the slot once it is at the head and one
 * is free; entries of dead jobs are dropped on the way.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord-priv.h"

#define COORD_SLOT_RECHECK_MS 1000  /* re-check without events */
#define COORD_SLOT_TOKEN "slot"

struct coord_slot {
    const char *id;
    enum coord_kind k;
    bool join;              /* queue up if no slot is granted */
    bool granted;           /* results */
    unsigned pos, reclaimed;
};

static int coord_slot_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Counts the live slots of kind k held by others (reclaiming dead ones)
 * and says whether s->id holds one. */
static int coord_slot_count(struct coord *c, xs_transaction_t t,
                            struct coord_slot *s, unsigned *held_r,
                            bool *mine_r)
{
    char path[COORD_PATH_MAX], **ents;
    unsigned n, i;
    bool alive;
    int rc;

    *held_r = 0;
    *mine_r = false;
    coord_path(path, COORD_ROOT "/host/slots/%s", coord_kind_name(s->k));
    rc = coord_dir(c, t, path, &ents, &n);
    for (i = 0; !rc && i < n; i++) {
        if (!strcmp(ents[i], s->id)) {
            *mine_r = true;
            continue;
        }
        rc = coord_alive(c, t, ents[i], &alive);
        if (rc || alive) {
            (*held_r)++;
            continue;
        }
        if (strlen(ents[i]) > COORD_ENTRY_MAX) continue;
        coord_path(path, COORD_ROOT "/host/slots/%s/%s",
                   coord_kind_name(s->k), ents[i]);
        rc = coord_rm(c, t, path);
        s->reclaimed++;
    }
    free(ents);
    return rc;
}

/*
 * Walks the queue of kind k in order, reclaiming the entries of dead jobs:
 * *ahead_r live entries before s->id's, *mine_r the name of its entry
 * (caller frees; NULL if none). Later duplicates of its entry go.
 */
static int coord_slot_queue_scan(struct coord *c, xs_transaction_t t,
                                 struct coord_slot *s, unsigned *ahead_r,
                                 char **mine_r)
{
    char dir[COORD_PATH_MAX], path[COORD_PATH_MAX], **ents, *v = NULL;
    unsigned n, i;
    bool alive;
    int rc;

    *ahead_r = 0;
    *mine_r = NULL;
    coord_path(dir, COORD_ROOT "/host/queue/%s", coord_kind_name(s->k));
    rc = coord_dir(c, t, dir, &ents, &n);
    if (!rc) qsort(ents, n, sizeof(*ents), coord_slot_name_cmp);
    for (i = 0; !rc && i < n; i++, free(v), v = NULL) {
        if (strlen(ents[i]) > COORD_NAME_MAX) continue;
        coord_path(path, "%s/%s", dir, ents[i]);
        rc = coord_read(c, t, path, &v);
        if (rc == XLMIG_E_NOTFOUND) {
            rc = XLMIG_OK;
            continue;
        }
        if (rc) break;
        if (!strcmp(v, s->id) && !*mine_r) {
            *mine_r = xstrdup(ents[i]);
            continue;
        }
        if (!strcmp(v, s->id)) {
            rc = coord_rm(c, t, path);
            continue;
        }
        rc = coord_alive(c, t, v, &alive);
        if (!rc && alive && !*mine_r) (*ahead_r)++;
        if (!rc && !alive) {
            rc = coord_rm(c, t, path);
            s->reclaimed++;
        }
    }
    free(ents);
    if (rc) {
        free(*mine_r);
        *mine_r = NULL;
    }
    return rc;
}

/* Writes job/<id>/queue = pos unless it says so already. */
static int coord_slot_show_pos(struct coord *c, xs_transaction_t t,
                               const char *id, unsigned pos)
{
    char path[COORD_PATH_MAX], val[16], cur[16];
    int rc;

    coord_path(path, COORD_ROOT "/job/%s/queue", id);
    snprintf(val, sizeof(val), "%u", pos);
    rc = coord_read_buf(c, t, path, cur, sizeof(cur));
    if (rc || !strcmp(cur, val)) return rc;
    return coord_put(c, t, path, val);
}

/* Adds s->id at the tail of the queue of kind k. */
static int coord_slot_join(struct coord *c, xs_transaction_t t,
                           const struct coord_slot *s)
{
    char path[COORD_PATH_MAX], val[16], *v;
    unsigned seq = 0;
    int rc;

    rc = coord_read(c, t, COORD_ROOT "/host/queue-seq", &v);
    if (rc && rc != XLMIG_E_NOTFOUND) return rc;
    if (v && !coord_parse_uint(v, COORD_SEQ_MAX, &seq)) seq = 0;
    free(v);
    seq = (seq + 1) % COORD_SEQ_MAX;
    snprintf(val, sizeof(val), "%u", seq);
    rc = coord_put(c, t, COORD_ROOT "/host/queue-seq", val);
    coord_path(path, COORD_ROOT "/host/queue/%s/%010u",
               coord_kind_name(s->k), seq);
    if (!rc) rc = coord_put(c, t, path, s->id);
    return rc;
}

static int coord_slot_tx(struct coord *c, xs_transaction_t t, void *arg)
{
    struct coord_slot *s = arg;
    char path[COORD_PATH_MAX], *mine = NULL;
    unsigned held, limit, ahead;
    bool have;
    int rc;

    s->granted = false;
    s->pos = s->reclaimed = 0;
    rc = coord_exists(c, t, s->id);
    if (rc == XLMIG_E_NOTFOUND)
        LOG(c->ctx, ERROR, "no job %s under " COORD_ROOT "/job", s->id);
    if (!rc) rc = coord_slot_count(c, t, s, &held, &have);
    if (!rc) rc = coord_limit_read(c, t, s->k, &limit);
    if (!rc) rc = coord_slot_queue_scan(c, t, s, &ahead, &mine);
    if (rc) goto out;
    if (have || (held < limit && ahead == 0)) {
        coord_path(path, COORD_ROOT "/host/slots/%s/%s",
                   coord_kind_name(s->k), s->id);
        if (!have) rc = coord_put(c, t, path, s->id);
        if (!rc && mine) {
            coord_path(path, COORD_ROOT "/host/queue/%s/%s",
                       coord_kind_name(s->k), mine);
            rc = coord_rm(c, t, path);
        }
        if (!rc) rc = coord_slot_show_pos(c, t, s->id, 0);
        s->granted = true;
        goto out;
    }
    if (!s->join) goto out;
    if (!mine) rc = coord_slot_join(c, t, s);
    s->pos = ahead + 1;
    if (!rc) rc = coord_slot_show_pos(c, t, s->id, s->pos);
out:
    free(mine);
    return rc;
}

/* Leaves the queue of kind k (a wait that ended without a slot). */
static int coord_slot_leave_tx(struct coord *c, xs_transaction_t t, void *arg)
{
    const struct coord_slot *s = arg;
    char path[COORD_PATH_MAX];
    int rc;

    coord_path(path, COORD_ROOT "/host/queue/%s", coord_kind_name(s->k));
    rc = coord_rm_valued(c, t, path, s->id);
    if (rc) return rc;
    rc = coord_exists(c, t, s->id);
    if (rc == XLMIG_E_NOTFOUND) return XLMIG_OK;
    if (!rc) rc = coord_slot_show_pos(c, t, s->id, 0);
    return rc;
}

/* Registers (on) or removes the watches on the slots and queue of k. */
static int coord_slot_watch(struct coord *c, enum coord_kind k, bool on)
{
    char path[COORD_PATH_MAX];
    const char *dir[] = { "slots", "queue" };
    unsigned i;
    int rc = XLMIG_OK;

    for (i = 0; i < ARRAY_SIZE(dir); i++) {
        coord_path(path, COORD_ROOT "/host/%s/%s", dir[i],
                   coord_kind_name(k));
        if (on && !xs_watch(c->xs, path, COORD_SLOT_TOKEN)) {
            LOGE(c->ctx, ERROR, "xenstore watch %s", path);
            rc = XLMIG_E_XS;
        }
        if (!on && !xs_unwatch(c->xs, path, COORD_SLOT_TOKEN))
            LOGE(c->ctx, WARN, "xenstore unwatch %s", path);
    }
    return rc;
}

int coord_slot_take(struct coord *c, const char *id, enum coord_kind k,
                    bool wait, const struct fdio_wait *w, int hup_fd,
                    void (*queued)(void *arg, unsigned pos), void *arg)
{
    struct coord_slot s = { .id = id, .k = k, .join = wait };
    char path[COORD_PATH_MAX], what[64];
    double deadline = 0;
    unsigned shown = 0;
    bool watching = false;
    int rc;

    rc = coord_check_id(c, id);
    if (!rc) rc = coord_check_kind(c, k);
    if (rc) return rc;
    coord_path(path, COORD_ROOT "/host/slots/%s", coord_kind_name(k));
    snprintf(what, sizeof(what), "an admission slot (%s)",
             coord_kind_name(k));
    if (wait && w && w->timeout_s)
        deadline = ctx_now(c->ctx) + w->timeout_s;
    if (wait) {
        /* Watch before the first look, so no release goes unseen. */
        if (xs_fileno(c->xs) < 0) {
            LOGE(c->ctx, ERROR, "xenstore watch fd");
            return XLMIG_E_XS;
        }
        watching = true;
        rc = coord_slot_watch(c, k, true);
        if (rc) goto out;
    }
    for (;;) {
        if (watching) coord_watch_drain(c);
        rc = coord_tx(c, path, coord_slot_tx, &s);
        if (rc) goto out;
        if (s.reclaimed)
            LOG(c->ctx, INFO, "%s: removed %u slots or queue entries of "
                "jobs that are gone", path, s.reclaimed);
        if (s.granted) break;
        if (!wait) {
            LOG(c->ctx, DEBUG, "%s: all taken or queued for", path);
            rc = XLMIG_E_BUSY;
            goto out;
        }
        if (s.pos != shown) {
            shown = s.pos;
            LOG(c->ctx, DEBUG, "job %s: position %u in the %s queue", id,
                shown, coord_kind_name(k));
            if (queued) queued(arg, shown);
        }
        rc = coord_sleep(c, w, hup_fd, deadline, COORD_SLOT_RECHECK_MS,
                         what);
        if (rc) goto out;
    }
    LOG(c->ctx, DEBUG, "job %s: took a slot (%s)", id, coord_kind_name(k));
out:
    if (rc && shown && coord_tx(c, path, coord_slot_leave_tx, &s))
        LOG(c->ctx, WARN, "job %s: could not leave the %s queue", id,
            coord_kind_name(k));
    if (watching) {
        coord_slot_watch(c, k, false);
        coord_watch_drain(c);
    }
    return rc;
}

int coord_slot_release(struct coord *c, const char *id, enum coord_kind k)
{
    char path[COORD_PATH_MAX];
    int rc;

    rc = coord_check_id(c, id);
    if (!rc) rc = coord_check_kind(c, k);
    if (rc) return rc;
    coord_path(path, COORD_ROOT "/host/slots/%s/%s", coord_kind_name(k),
               id);
    return coord_rm(c, XBT_NULL, path);
}

struct coord_usage {
    enum coord_kind k;
    unsigned held, queued;
};

static int coord_usage_tx(struct coord *c, xs_transaction_t t, void *arg)
{
    struct coord_usage *u = arg;
    char path[COORD_PATH_MAX];
    int rc;

    u->held = u->queued = 0;
    coord_path(path, COORD_ROOT "/host/slots/%s", coord_kind_name(u->k));
    rc = coord_scan_dir(c, t, path, true, false, &u->held, NULL);
    if (rc) return rc;
    coord_path(path, COORD_ROOT "/host/queue/%s", coord_kind_name(u->k));
    return coord_scan_dir(c, t, path, false, false, &u->queued, NULL);
}

int coord_slot_usage(struct coord *c, enum coord_kind k, unsigned *held_r,
                     unsigned *queued_r)
{
    struct coord_usage u = { .k = k };
    int rc;

    *held_r = *queued_r = 0;
    if (coord_check_kind(c, k)) return XLMIG_E_INVAL;
    rc = coord_tx(c, "slot usage", coord_usage_tx, &u);
    if (rc) return rc;
    *held_r = u.held;
    *queued_r = u.queued;
    return XLMIG_OK;
}
