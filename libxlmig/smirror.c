/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * smirror.c - the one interface of the live disk mirrors (smirror.h):
 * the state machine every mover follows (running -> pivoted, detached
 * or cancelled), so that a mover is called only where it makes sense.
 */
#include <stdlib.h>

#include "smirror-priv.h"

struct smirror *smirror_new(const struct smirror_ops *ops, void *priv)
{
    struct smirror *m = xcalloc(1, sizeof(*m));

    m->ops = ops;
    m->priv = priv;
    m->state = SMIRROR_RUNNING;
    return m;
}

int smirror_poll(struct xlmig_ctx *ctx, struct smirror *m,
                 struct smirror_status *st)
{
    int rc;

    st->done = st->total = 0;
    st->ready = false;
    if (m->state != SMIRROR_RUNNING) {
        LOG(ctx, ERROR, "%s mirror: polled after it ended",
            m->ops->name);
        return XLMIG_E_INTERNAL;
    }
    rc = m->ops->poll(ctx, m, st);
    m->ready = rc == XLMIG_OK && st->ready;
    return rc;
}

/* pivot and detach: once, from a ready mirror. */
static int smirror_finish(struct xlmig_ctx *ctx, struct smirror *m,
                          bool pivot)
{
    const char *what = pivot ? "switch" : "point-in-time stop";
    int rc;

    if (m->state != SMIRROR_RUNNING) {
        LOG(ctx, ERROR, "%s mirror: %s after it ended", m->ops->name,
            what);
        return XLMIG_E_INTERNAL;
    }
    if (!m->ready) {
        LOG(ctx, ERROR, "%s mirror: %s before source and target are"
            " in sync", m->ops->name, what);
        return XLMIG_E_INVAL;
    }
    rc = pivot ? m->ops->pivot(ctx, m) : m->ops->detach(ctx, m);
    if (rc == XLMIG_OK)
        m->state = pivot ? SMIRROR_PIVOTED : SMIRROR_DETACHED;
    else
        m->state = SMIRROR_BROKEN;
    return rc;
}

int smirror_pivot(struct xlmig_ctx *ctx, struct smirror *m)
{
    return smirror_finish(ctx, m, true);
}

int smirror_detach(struct xlmig_ctx *ctx, struct smirror *m)
{
    return smirror_finish(ctx, m, false);
}

int smirror_cancel(struct xlmig_ctx *ctx, struct smirror *m)
{
    int rc;

    switch (m->state) {
    case SMIRROR_PIVOTED:
    case SMIRROR_DETACHED:
    case SMIRROR_CANCELLED:
        return XLMIG_OK;
    case SMIRROR_RUNNING:
    case SMIRROR_BROKEN:
        break;
    }
    rc = m->ops->cancel(ctx, m);
    if (rc == XLMIG_OK)
        m->state = SMIRROR_CANCELLED;
    else
        m->state = SMIRROR_BROKEN;
    return rc;
}

void smirror_free(struct xlmig_ctx *ctx, struct smirror *m)
{
    if (!m)
        return;
    if (m->state == SMIRROR_RUNNING) {
        if (smirror_cancel(ctx, m) != XLMIG_OK)
            LOG(ctx, ERROR, "%s mirror: could not be cancelled",
                m->ops->name);
    }
    m->ops->dispose(ctx, m);
    free(m);
}
