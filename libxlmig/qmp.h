/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmp.h - a small client of QEMU's QMP monitor over a unix socket: one
 * command at a time, each with an id, its reply read line by line while
 * the events that arrive meanwhile are queued (bounded) for
 * qmp_event_wait(). Every read has a monotonic deadline (ctx_now()), so
 * a dead or stuck QEMU is an error, never a hang. What QEMU sends is
 * parsed by qmp_msg_parse() (qmp-msg.h: pure, fuzzed); arguments are
 * built by qmp_args (yajl_gen: every string escaped).
 */
#ifndef XLMIG_QMP_H
#define XLMIG_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "internal.h"
#include "qmp-msg.h"

#define QMP_EVENTS_MAX 64           /* queued events; the oldest go first */
#define QMP_DESC_MAX 256            /* bytes of QEMU's error text logged */

/* ---- arguments ---- */

/*
 * A JSON object of arguments, written with yajl_gen so that every
 * string (a file name, say) is escaped. Calls after a failure (a string
 * that is not UTF-8) do nothing; qmp_args_end() then reports it.
 */
struct qmp_args;
struct qmp_args *qmp_args_new(void);
void qmp_args_str(struct qmp_args *a, const char *key, const char *val);
void qmp_args_u64(struct qmp_args *a, const char *key, uint64_t val);
void qmp_args_bool(struct qmp_args *a, const char *key, bool val);
/* An object member "key": {...}, closed by qmp_args_close(). */
void qmp_args_open(struct qmp_args *a, const char *key);
void qmp_args_close(struct qmp_args *a);
/*
 * Frees a and returns its JSON text (allocated), or NULL if a string
 * was not valid UTF-8 (nothing logged: the caller names the string).
 */
char *qmp_args_end(struct qmp_args *a);

/* ---- the client ---- */

struct qmp;

/*
 * Connects to the monitor at path, reads QEMU's greeting and leaves
 * capabilities negotiation (qmp_capabilities), all by the monotonic
 * deadline. XLMIG_E_NOTFOUND if nothing listens there (no socket,
 * connection refused: QEMU is gone); XLMIG_E_TIMEDOUT if no greeting
 * comes (another client holds the monitor: QEMU serves one at a time);
 * XLMIG_E_PEER, XLMIG_E_PROTO. All logged. *q_r: NULL on failure.
 */
MUST_CHECK int qmp_connect(struct xlmig_ctx *ctx, const char *path,
                           double deadline, struct qmp **q_r);
/* Closes the connection, drops queued events, frees; NULL is fine. */
void qmp_close(struct qmp *q);

/*
 * Runs command with args (a JSON object's text, e.g. from
 * qmp_args_end(); NULL: none) and waits for its reply by deadline.
 * XLMIG_OK: *reply_r (may be NULL: dropped) is the whole reply, for
 * yajl_tree_free(); qmp_return() gives its "return". An error reply is
 * XLMIG_E_STORAGE, logged naming the command and QEMU's reason. The
 * monitor closing is XLMIG_E_PEER; the deadline, XLMIG_E_TIMEDOUT (a
 * late reply is skipped by a later call); a message that is not QMP,
 * XLMIG_E_PROTO or XLMIG_E_TOOBIG. All logged; *reply_r NULL then.
 */
MUST_CHECK int qmp_exec(struct xlmig_ctx *ctx, struct qmp *q,
                        const char *command, const char *args,
                        double deadline, yajl_val *reply_r);
/*
 * As qmp_exec(), but an error reply is expected: it is logged at DEBUG
 * only, and *err_r (may be NULL) is "Class: desc", printable and bounded
 * (allocated), with XLMIG_E_STORAGE. Other failures are logged.
 */
MUST_CHECK int qmp_exec_try(struct xlmig_ctx *ctx, struct qmp *q,
                            const char *command, const char *args,
                            double deadline, yajl_val *reply_r,
                            char **err_r);
/* The "return" of a reply from qmp_exec(); never NULL for one. */
yajl_val qmp_return(yajl_val reply);

/*
 * Waits by deadline for event name whose data names id (its "id" or
 * "device" member, as job events do; id NULL: any), taking it from the
 * queue first. XLMIG_OK: *ev_r (may be NULL) is the whole event, for
 * yajl_tree_free(), and qmp_event_data() its "data". XLMIG_E_TIMEDOUT
 * is not logged (a caller may wait in short steps); other failures are
 * as qmp_exec()'s, logged. Replies to earlier commands are skipped.
 */
MUST_CHECK int qmp_event_wait(struct xlmig_ctx *ctx, struct qmp *q,
                              const char *name, const char *id,
                              double deadline, yajl_val *ev_r);
/* The "data" object of an event from qmp_event_wait(); may be NULL. */
yajl_val qmp_event_data(yajl_val ev);

#endif /* XLMIG_QMP_H */
