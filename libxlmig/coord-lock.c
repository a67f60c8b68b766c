/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * coord-lock.c - per-domain locks, /libxlmig/lock/<uuid> = job id: one job
 * at a time may move a domain; the lock of a job that is gone is taken
 * over.
 */
#include <stdlib.h>
#include <string.h>

#include "coord-priv.h"

struct coord_lock {
    const char *id, *uuid;
    char *holder;           /* a live job holding it */
    char *reclaimed;        /* a dead job whose lock was taken over */
};

/* Checks the arguments of a lock call and makes the lock's path. */
static int coord_lock_path(struct coord *c, const char *id,
                           const char *uuid, char path[COORD_PATH_MAX])
{
    int rc;

    rc = coord_check_id(c, id);
    if (rc) return rc;
    if (!coord_uuid_ok(uuid)) {
        LOG(c->ctx, ERROR, "invalid domain uuid '%.40s'", uuid);
        return XLMIG_E_INVAL;
    }
    coord_path(path, COORD_ROOT "/lock/%s", uuid);
    return XLMIG_OK;
}

/* The job named in uuid's lock (*v_r, NULL if free) and whether it runs. */
static int coord_lock_owner(struct coord *c, xs_transaction_t t,
                            const char *uuid, char **v_r, bool *alive_r)
{
    char path[COORD_PATH_MAX];
    int rc;

    *v_r = NULL;
    *alive_r = false;
    coord_path(path, COORD_ROOT "/lock/%s", uuid);
    rc = coord_read(c, t, path, v_r);
    if (rc == XLMIG_E_NOTFOUND) return XLMIG_OK;
    if (!rc) rc = coord_alive(c, t, *v_r, alive_r);
    if (rc) {
        free(*v_r);
        *v_r = NULL;
    }
    return rc;
}

static int coord_lock_tx(struct coord *c, xs_transaction_t t, void *arg)
{
    struct coord_lock *l = arg;
    char path[COORD_PATH_MAX], *v;
    bool alive;
    int rc;

    free(l->holder);
    free(l->reclaimed);
    l->holder = l->reclaimed = NULL;
    coord_path(path, COORD_ROOT "/lock/%s", l->uuid);
    rc = coord_lock_owner(c, t, l->uuid, &v, &alive);
    if (rc) return rc;
    if (!v) return coord_put(c, t, path, l->id);
    if (!strcmp(v, l->id)) {
        free(v);
        return XLMIG_OK;
    }
    if (alive) {
        l->holder = v;
        return XLMIG_E_BUSY;
    }
    l->reclaimed = v;
    return coord_put(c, t, path, l->id);
}

int coord_lock_domain(struct coord *c, const char *id, const char *uuid,
                      char **holder_r)
{
    struct coord_lock l = { .id = id, .uuid = uuid };
    char path[COORD_PATH_MAX];
    int rc;

    if (holder_r) *holder_r = NULL;
    rc = coord_lock_path(c, id, uuid, path);
    if (rc) return rc;
    rc = coord_tx(c, path, coord_lock_tx, &l);
    if (rc == XLMIG_E_BUSY) {
        LOG(c->ctx, DEBUG, "%s: held by job %s", path, l.holder);
        if (holder_r) {
            *holder_r = l.holder;
            l.holder = NULL;
        }
    } else if (!rc && l.reclaimed) {
        LOG(c->ctx, INFO, "%s: took over the lock of job %s, which is "
            "gone", path, l.reclaimed);
    }
    free(l.holder);
    free(l.reclaimed);
    return rc;
}

static int coord_unlock_tx(struct coord *c, xs_transaction_t t, void *arg)
{
    struct coord_lock *l = arg;
    char path[COORD_PATH_MAX], *v;
    int rc;

    free(l->holder);
    l->holder = NULL;
    coord_path(path, COORD_ROOT "/lock/%s", l->uuid);
    rc = coord_read(c, t, path, &v);
    if (rc == XLMIG_E_NOTFOUND) return XLMIG_OK;
    if (rc) return rc;
    if (strcmp(v, l->id)) {
        l->holder = v;
        return XLMIG_E_BUSY;
    }
    free(v);
    return coord_rm(c, t, path);
}

int coord_unlock_domain(struct coord *c, const char *id, const char *uuid)
{
    struct coord_lock l = { .id = id, .uuid = uuid };
    char path[COORD_PATH_MAX];
    int rc;

    rc = coord_lock_path(c, id, uuid, path);
    if (rc) return rc;
    rc = coord_tx(c, path, coord_unlock_tx, &l);
    if (rc == XLMIG_E_BUSY)
        LOG(c->ctx, ERROR, "%s: held by job %s, not by job %s", path,
            l.holder, id);
    free(l.holder);
    return rc;
}

static int coord_holder_tx(struct coord *c, xs_transaction_t t, void *arg)
{
    struct coord_lock *l = arg;
    char *v;
    bool alive;
    int rc;

    free(l->holder);
    l->holder = NULL;
    rc = coord_lock_owner(c, t, l->uuid, &v, &alive);
    if (!rc && alive) l->holder = v;
    else free(v);
    return rc;
}

int coord_lock_holder(struct coord *c, const char *uuid, char **holder_r)
{
    struct coord_lock l = { .uuid = uuid };
    int rc;

    *holder_r = NULL;
    if (!coord_uuid_ok(uuid)) {
        LOG(c->ctx, ERROR, "invalid domain uuid '%.40s'", uuid);
        return XLMIG_E_INVAL;
    }
    rc = coord_tx(c, "domain lock", coord_holder_tx, &l);
    if (rc) {
        free(l.holder);
        return rc;
    }
    *holder_r = l.holder;
    return XLMIG_OK;
}
