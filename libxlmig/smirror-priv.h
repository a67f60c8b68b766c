/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * smirror-priv.h - what the two movers (smirror-qmp.c, smirror-dm.c)
 * share with the dispatcher (smirror.c).
 */
#ifndef XLMIG_SMIRROR_PRIV_H
#define XLMIG_SMIRROR_PRIV_H

#include "smirror.h"

/* A mover's operations, called only in the states smirror.c allows. */
struct smirror_ops {
    const char *name;           /* "qmp", "dm": for messages */
    int (*poll)(struct xlmig_ctx *ctx, struct smirror *m,
                struct smirror_status *st);
    int (*pivot)(struct xlmig_ctx *ctx, struct smirror *m);
    int (*detach)(struct xlmig_ctx *ctx, struct smirror *m);
    int (*cancel)(struct xlmig_ctx *ctx, struct smirror *m);
    void (*dispose)(struct xlmig_ctx *ctx, struct smirror *m);
};

enum smirror_state {
    SMIRROR_RUNNING,            /* started; poll until ready */
    SMIRROR_PIVOTED,            /* on the target: done */
    SMIRROR_DETACHED,           /* point-in-time copy made: done */
    SMIRROR_CANCELLED,          /* on the source, target closed: done */
    SMIRROR_BROKEN,             /* pivot/detach/cancel failed midway */
};

struct smirror {
    const struct smirror_ops *ops;
    void *priv;                 /* the mover's own state */
    enum smirror_state state;
    bool ready;                 /* the last poll said in sync */
};

/* A new mirror in state RUNNING (xcalloc'd). */
struct smirror *smirror_new(const struct smirror_ops *ops, void *priv);

#endif /* XLMIG_SMIRROR_PRIV_H */
