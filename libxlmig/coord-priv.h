/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * coord-priv.h - what the files of the coord module share (coord.c: the
 * tree, job records and reaping; coord-lock.c: domain locks;
 * coord-slot.c: admission slots; coord-cancel.c: the cancel watch
 * thread): the handle, xenstore helpers and the transaction runner.
 * Nothing outside coord*.c includes it.
 */
#ifndef XLMIG_COORD_PRIV_H
#define XLMIG_COORD_PRIV_H

#include <pthread.h>

#include <xenstore.h>

#include "coord.h"

#define COORD_XS_RETRIES 100        /* transaction attempts on EAGAIN */
#define COORD_RETRY 1               /* a body saw EAGAIN: restart */
#define COORD_PATH_MAX 256
#define COORD_NAME_MAX 31           /* ids, keys, path components */
#define COORD_ENTRY_MAX (COORD_NAME_MAX + 10)   /* directory entries used */
#define COORD_SEQ_MAX 1000000000u   /* queue and job counters wrap here */

struct coord_watcher {
    char id[COORD_ID_MAX];
    int pipe[2];            /* [0] handed out, [1] written once */
    bool fired;
};

struct coord {
    struct xlmig_ctx *ctx;
    struct xs_handle *xs;
    /* The cancel watch thread (started by the first coord_cancel_fd). */
    pthread_mutex_t lock;   /* wxs requests and the watcher list */
    struct xs_handle *wxs;
    pthread_t thread;
    bool thread_on;
    int stop[2];
    struct coord_watcher **w;
    size_t nw;
};

/*
 * A transaction body: returns XLMIG_OK to commit, COORD_RETRY to start
 * again, or a failure (the transaction is aborted). It may run several
 * times, so it resets its outputs first, and logs only hard failures.
 */
typedef int coord_tx_fn(struct coord *c, xs_transaction_t t, void *arg);

/* Runs body until it commits; XLMIG_E_XS (logged naming what) if the
 * transaction cannot start or end or keeps conflicting. */
MUST_CHECK int coord_tx(struct coord *c, const char *what,
                        coord_tx_fn *body, void *arg);

/* Names: 1..COORD_NAME_MAX of [A-Za-z0-9_-]; uuids: hex digits and '-'. */
bool coord_name_ok(const char *s);
bool coord_uuid_ok(const char *s);
/* XLMIG_E_INVAL (logged) unless id is a name. */
MUST_CHECK int coord_check_id(struct coord *c, const char *id);
/* XLMIG_E_INVAL (logged) unless k is a kind. */
MUST_CHECK int coord_check_kind(struct coord *c, enum coord_kind k);
/* Formats a path of checked names; aborts if it would not fit. */
void coord_path(char path[COORD_PATH_MAX], const char *fmt, ...)
    PRINTF_LIKE(2, 3);
/* A decimal number 0..max, nothing else. */
bool coord_parse_uint(const char *s, unsigned max, unsigned *v_r);

/*
 * xenstore operations in transaction t (XBT_NULL: none). Each returns
 * XLMIG_OK, COORD_RETRY (EAGAIN inside a transaction), or XLMIG_E_XS
 * logged with the path.
 */
/* *v_r (caller frees): the value, under COORD_VALUE_MAX bytes; a
 * missing node is XLMIG_E_NOTFOUND (not logged). */
MUST_CHECK int coord_read(struct coord *c, xs_transaction_t t,
                          const char *path, char **v_r);
/* The value cut to size, "" if the node is missing. */
MUST_CHECK int coord_read_buf(struct coord *c, xs_transaction_t t,
                              const char *path, char *buf, size_t size);
/* Writes (creating) path with the owner-only perms {0, XS_PERM_NONE}. */
MUST_CHECK int coord_put(struct coord *c, xs_transaction_t t,
                         const char *path, const char *value);
/* Removes path and its children; a missing path is fine. */
MUST_CHECK int coord_rm(struct coord *c, xs_transaction_t t,
                        const char *path);
/* Children of path in *ents_r (one free); a missing path has none. */
MUST_CHECK int coord_dir(struct coord *c, xs_transaction_t t,
                         const char *path, char ***ents_r, unsigned *n_r);
/* Removes every entry of dir whose value is id. */
MUST_CHECK int coord_rm_valued(struct coord *c, xs_transaction_t t,
                               const char *dir, const char *id);

#define COORD_OWNER_MAX 64          /* "PID STARTTIME" with the NUL */

/* Parses an owner, "PID STARTTIME". */
bool coord_owner_parse(const char *s, int *pid_r,
                       unsigned long long *start_r);
/* Whether owner s names a process that runs (pid and start time). */
bool coord_owner_alive(const char *s);
/* This process as an owner. */
void coord_owner_self(char buf[COORD_OWNER_MAX]);

/* *alive_r: job id has a record whose owner process runs (pid and start
 * time match). An invalid id is not alive. */
MUST_CHECK int coord_alive(struct coord *c, xs_transaction_t t,
                           const char *id, bool *alive_r);
/*
 * Walks dir, whose entries name a job by their name (by_name: slots) or
 * by their value (queue entries, locks): adds the live ones to *alive_r
 * and the dead ones to *dead_r (either may be NULL), removing the dead
 * ones if reap.
 */
MUST_CHECK int coord_scan_dir(struct coord *c, xs_transaction_t t,
                              const char *dir, bool by_name, bool reap,
                              unsigned *alive_r, unsigned *dead_r);
/* XLMIG_OK if job id (a checked name) has a record, else
 * XLMIG_E_NOTFOUND (not logged). */
MUST_CHECK int coord_exists(struct coord *c, xs_transaction_t t,
                            const char *id);
/* The limit of kind k; a missing or malformed one is the default. */
MUST_CHECK int coord_limit_read(struct coord *c, xs_transaction_t t,
                                enum coord_kind k, unsigned *n_r);

/*
 * Sleeps until a watch on c's handle fires, recheck_ms pass, w's cancel
 * fds fire (XLMIG_E_CANCELLED), hup_fd (-1: none) hangs up (XLMIG_E_PEER)
 * or the monotonic deadline (0: none) passes (XLMIG_E_TIMEDOUT); each
 * logged naming what was waited for. Watches fired are not drained.
 */
MUST_CHECK int coord_sleep(struct coord *c, const struct fdio_wait *w,
                           int hup_fd, double deadline, int recheck_ms,
                           const char *what);

/* coord-cancel.c: stops the watch thread and frees what it used. */
void coord_cancel_stop(struct coord *c);

#endif /* XLMIG_COORD_PRIV_H */
