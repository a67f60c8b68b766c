/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jobs.c - the public view of this host's jobs and limits (libxlmig.h):
 * thin wrappers over coord.c, after the backend is open (a sim backend
 * points libxenstore at its host's xenstored).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"

static void jobs_copy(struct xlmig_job *d, const struct coord_job *s)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->id, sizeof(d->id), "%s", s->id);
    snprintf(d->kind, sizeof(d->kind), "%s", s->kind);
    snprintf(d->phase, sizeof(d->phase), "%s", s->phase);
    snprintf(d->domain, sizeof(d->domain), "%s", s->domain);
    snprintf(d->uuid, sizeof(d->uuid), "%s", s->uuid);
    snprintf(d->peer, sizeof(d->peer), "%s", s->peer);
    snprintf(d->progress, sizeof(d->progress), "%s", s->progress);
    snprintf(d->error, sizeof(d->error), "%s", s->error);
    snprintf(d->slot, sizeof(d->slot), "%s", s->slot);
    snprintf(d->precopy, sizeof(d->precopy), "%s", s->precopy);
    d->started = s->started;
    d->pid = s->pid;
    d->alive = s->alive;
    d->queue_pos = s->queue_pos;
    d->cancel_requested = s->cancel_requested;
    d->cancellable = s->cancellable;
}

int xlmig_job_list(struct xlmig_ctx *ctx, struct xlmig_job **list_r,
                   size_t *n_r)
{
    struct coord_job *cl = NULL;
    struct coord *c = NULL;
    size_t n = 0, i;
    int rc;

    *list_r = NULL;
    *n_r = 0;
    rc = ctx_coord(ctx, &c);
    if (!rc) rc = coord_job_list(c, &cl, &n);
    if (!rc) {
        *list_r = xcalloc(n ? n : 1, sizeof(**list_r));
        for (i = 0; i < n; i++)
            jobs_copy(&(*list_r)[i], &cl[i]);
        *n_r = n;
    }
    free(cl);
    coord_close(c);
    return rc;
}

int xlmig_job_get(struct xlmig_ctx *ctx, const char *id,
                  struct xlmig_job *job)
{
    struct coord_job cj;
    struct coord *c = NULL;
    int rc;

    rc = ctx_coord(ctx, &c);
    if (!rc) rc = coord_job_get(c, id, &cj);
    if (!rc) jobs_copy(job, &cj);
    else if (rc == XLMIG_E_NOTFOUND) LOG(ctx, ERROR, "no job %s here", id);
    coord_close(c);
    return rc;
}

int xlmig_job_cancel(struct xlmig_ctx *ctx, const char *id, char **why_r)
{
    struct coord *c = NULL;
    int rc;

    *why_r = NULL;
    rc = ctx_coord(ctx, &c);
    if (!rc) rc = coord_request_cancel(c, id, why_r);
    if (rc == XLMIG_E_NOTFOUND) LOG(ctx, ERROR, "no job %s here", id);
    coord_close(c);
    return rc;
}

/* The subtree, for the limit of kind (logged if unknown). */
static int jobs_limit_coord(struct xlmig_ctx *ctx, const char *kind,
                            struct coord **c_r, enum coord_kind *k_r)
{
    int rc;

    *c_r = NULL;
    rc = coord_kind_parse(kind, k_r);
    if (rc) {
        LOG(ctx, ERROR, "unknown limit '%s' (out, in or storage)", kind);
        return rc;
    }
    return ctx_coord(ctx, c_r);
}

int xlmig_set_limit(struct xlmig_ctx *ctx, const char *kind, unsigned limit)
{
    struct coord *c;
    enum coord_kind k;
    int rc;

    rc = jobs_limit_coord(ctx, kind, &c, &k);
    if (!rc) rc = coord_set_limit(c, k, limit);
    coord_close(c);
    return rc;
}

int xlmig_get_limit(struct xlmig_ctx *ctx, const char *kind,
                    unsigned *limit_r)
{
    struct coord *c;
    enum coord_kind k;
    int rc;

    rc = jobs_limit_coord(ctx, kind, &c, &k);
    if (!rc) rc = coord_get_limit(c, k, limit_r);
    coord_close(c);
    return rc;
}

int xlmig_set_maintenance(struct xlmig_ctx *ctx, const char *reason)
{
    struct coord *c;
    int rc;

    rc = ctx_coord(ctx, &c);
    if (rc) return rc;
    rc = coord_set_maintenance(c, reason);
    coord_close(c);
    return rc;
}

int xlmig_get_maintenance(struct xlmig_ctx *ctx, char **reason_r)
{
    struct coord *c;
    int rc;

    *reason_r = NULL;
    rc = ctx_coord(ctx, &c);
    if (rc) return rc;
    rc = coord_get_maintenance(c, reason_r);
    coord_close(c);
    return rc;
}

int xlmig_job_set(struct xlmig_ctx *ctx, const char *id, const char *key,
                  const char *value)
{
    struct coord *c;
    uint64_t rate;
    char num[24];
    int rc;

    if (strcmp(key, "bandwidth")) {
        LOG(ctx, ERROR, "job-set: unknown key '%.40s' (bandwidth)", key);
        return XLMIG_E_INVAL;
    }
    if (xlmig_parse_rate(value, &rate)) {
        LOG(ctx, ERROR, "bandwidth '%.40s': give bytes/s as N, NK, NM or "
            "NG, or bits as NMbit, NGbit", value);
        return XLMIG_E_INVAL;
    }
    snprintf(num, sizeof(num), "%llu", (unsigned long long)rate);
    rc = ctx_coord(ctx, &c);
    if (rc) return rc;
    rc = coord_job_set(c, id, key, num);
    coord_close(c);
    return rc;
}
