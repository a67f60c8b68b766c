/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * coord.h - coordination between the xlmig processes of one host through
 * its xenstore: the /libxlmig subtree (job records, per-domain locks,
 * admission slots with a FIFO queue, cancel requests). xenstore does not
 * survive a reboot: what must, goes to the journal (journal.h).
 *
 *   /libxlmig                                 perms n0 on every node
 *   /libxlmig/host/limits/{out,in,storage}    admission limits
 *   /libxlmig/host/slots/<kind>/<job>         held slots (value: job id)
 *   /libxlmig/host/queue/<kind>/<seq>         FIFO waiters (value: job id)
 *   /libxlmig/host/queue-seq, job-seq         counters for the above
 *   /libxlmig/lock/<uuid>                     job id holding the domain
 *   /libxlmig/job/<id>/{kind,phase,domain,uuid,peer,started,progress,
 *                       error,owner,cancel,cancellable,cancellable-why,
 *                       queue,hooks/<seq>-<hook>}
 *   /libxlmig/host/event-seq                  counter of events
 *   /libxlmig/event/<seq>/{event,job,domain,uuid,domid,peer,role,result,
 *                       error,config,time,state,owner,verdict,why}
 *   /libxlmig/event/<seq>/run/<hook>/{state,owner,status,secs,output}
 *   /libxlmig/hookd                           "PID STARTTIME" of hookd
 *
 * A job is alive while its owner process ("PID STARTTIME") runs; the
 * slots, queue entries and locks of dead jobs are reclaimed by whoever
 * meets them. Every multi-key change is one transaction, retried on
 * EAGAIN. Failures of xenstore are XLMIG_E_XS, logged naming the path.
 * Events (hooks.h) outlive the job that made them: a job's record goes
 * when its process ends, before hookd may have run the hooks of its last
 * event. Each event is claimed by one live process at a time (owner),
 * each hook of it once (run/<hook>/state), so no hook runs twice for one
 * event whoever dies in between; the job's record gets a one-line copy
 * of each run while it exists.
 * Code: coord.c (tree, records, reaping), coord-lock.c, coord-slot.c,
 * coord-cancel.c, coord-event.c; coord-priv.h is what they share.
 */
#ifndef XLMIG_COORD_H
#define XLMIG_COORD_H

#include <stdbool.h>
#include <stddef.h>

#include "fdio.h"
#include "internal.h"

#define COORD_ROOT "/libxlmig"
#define COORD_LIMIT_MAX 64
#define COORD_LIMIT_DEFAULT 2
#define COORD_VALUE_MAX 1024        /* values are shorter than this */
#define COORD_ID_MAX 32             /* job ids, with the NUL */

enum coord_kind { COORD_OUT, COORD_IN, COORD_STORAGE, COORD_NR_KINDS };

/* "out", "in" or "storage"; "?" for a value out of range. */
const char *coord_kind_name(enum coord_kind k);
/* The kind named s; XLMIG_E_INVAL (not logged) if none. */
int coord_kind_parse(const char *s, enum coord_kind *k_r);

struct coord;

/*
 * Connects to this host's xenstored with xs_open(0) (for a sim host the
 * caller has set XENSTORED_PATH), creates /libxlmig with its perms and
 * the default limits where absent, and reclaims what dead jobs left
 * (coord_reap_stale). Free with coord_close.
 */
MUST_CHECK int coord_open(struct xlmig_ctx *ctx, struct coord **c_r);
/* Stops the cancel watch thread and disconnects; NULL is fine. */
void coord_close(struct coord *c);

/* Admission limit of kind k, 0..COORD_LIMIT_MAX (XLMIG_E_INVAL beyond);
 * 0 admits no one. Lowering it does not revoke slots already held. */
MUST_CHECK int coord_set_limit(struct coord *c, enum coord_kind k,
                               unsigned n);
/* A missing or malformed limit reads as COORD_LIMIT_DEFAULT. */
MUST_CHECK int coord_get_limit(struct coord *c, enum coord_kind k,
                               unsigned *n_r);

/*
 * Writes a new job record owned by this process (phase "admit",
 * cancellable "1", started = now) and its id, unique on this host
 * across reboots ("%08lx-%x": unix time, a host counter), into id_r.
 * domain, uuid and peer may be "" (a storage move has no peer).
 * XLMIG_E_TOOBIG if a value is COORD_VALUE_MAX or longer.
 */
MUST_CHECK int coord_job_create(struct coord *c, const char *kind,
                                const char *domain, const char *uuid,
                                const char *peer, char id_r[COORD_ID_MAX]);
/* Sets job/<id>/<key>; XLMIG_E_NOTFOUND if the job has no record,
 * XLMIG_E_INVAL for a key that is not a plain name. */
MUST_CHECK int coord_job_set(struct coord *c, const char *id,
                             const char *key, const char *value);
/* Removes the record, its slots, its queue entries and its locks, in one
 * transaction. XLMIG_OK if there was nothing to remove. */
MUST_CHECK int coord_job_remove(struct coord *c, const char *id);
/* One value of a job's record (*v_r allocated); XLMIG_E_NOTFOUND, not
 * logged, if the key is missing. */
MUST_CHECK int coord_job_value(struct coord *c, const char *id,
                               const char *key, char **v_r);

/*
 * Takes the lock of the domain uuid for job id (XLMIG_OK if id holds it
 * already). XLMIG_E_BUSY (not logged: the caller says which domain) if
 * a live job holds it, with *holder_r (if holder_r is not NULL; the
 * caller frees it) that job's id; NULL on any other outcome. A lock
 * whose job is dead or gone is taken over (logged).
 */
MUST_CHECK int coord_lock_domain(struct coord *c, const char *id,
                                 const char *uuid, char **holder_r);
/* Drops the lock if id holds it; XLMIG_OK if no one does, XLMIG_E_BUSY
 * (logged, lock left alone) if another job does. */
MUST_CHECK int coord_unlock_domain(struct coord *c, const char *id,
                                   const char *uuid);

/*
 * Takes an admission slot of kind k for job id (which must have a
 * record: XLMIG_E_NOTFOUND otherwise); XLMIG_OK at once if it holds one.
 * A slot is granted when fewer than the limit are held and no live job
 * waits ahead in the queue (FIFO). Otherwise, with wait false,
 * XLMIG_E_BUSY (not logged); with wait true the job joins the queue
 * (job/<id>/queue: its 1-based position), queued(arg, pos) is called (if
 * not NULL) each time the position changes, and the call returns once
 * the slot is granted, leaving the queue in the same transaction. Slots
 * and queue entries of dead jobs are reclaimed on the way. w (NULL: no
 * bound) ends the wait: a readable cancel fd gives XLMIG_E_CANCELLED, its
 * timeout_s (whole wait) XLMIG_E_TIMEDOUT, hup_fd (-1: none) hung up
 * (the peer left; data there does not count) XLMIG_E_PEER; either way
 * the job leaves the queue. Uses watches on this coord's handle: one call
 * at a time.
 */
MUST_CHECK int coord_slot_take(struct coord *c, const char *id,
                               enum coord_kind k, bool wait,
                               const struct fdio_wait *w, int hup_fd,
                               void (*queued)(void *arg, unsigned pos),
                               void *arg);
/* Releases the slot if held; XLMIG_OK if it was not. */
MUST_CHECK int coord_slot_release(struct coord *c, const char *id,
                                  enum coord_kind k);

/*
 * An fd (owned by c, valid until coord_close) that becomes readable, and
 * stays so, once job/<id>/cancel is non-empty, whenever it was written.
 * A thread with its own xenstore handle watches the node; calling again
 * for the same id returns the same fd.
 */
MUST_CHECK int coord_cancel_fd(struct coord *c, const char *id, int *fd_r);

/*
 * Asks job id to cancel by writing job/<id>/cancel = "requested".
 * XLMIG_E_NOTFOUND if there is no such job; XLMIG_E_BUSY if the job
 * marked itself not cancellable (job/<id>/cancellable "0"), with *why_r
 * (caller frees; NULL otherwise) its one-line reason from
 * job/<id>/cancellable-why. Neither is logged as an error: the caller
 * reports them.
 */
MUST_CHECK int coord_request_cancel(struct coord *c, const char *id,
                                    char **why_r);

/*
 * Marks job id not cancellable, with a one-line reason for refused
 * requests (job/<id>/cancellable-why), in one transaction with the check
 * that no cancel was requested before: XLMIG_E_CANCELLED (not logged,
 * nothing changed) if one was. Call it just before a point of no return;
 * unlike polling the cancel fd, it cannot miss a request that the watch
 * thread has not seen yet.
 */
MUST_CHECK int coord_refuse_cancel(struct coord *c, const char *id,
                                   const char *why);

struct coord_job {
    char id[COORD_ID_MAX], kind[16], phase[16], domain[128], uuid[40];
    char peer[256];
    char progress[256], error[256];   /* longer values are cut short */
    char precopy[256];      /* the precopy policy's last round, "" if none */
    double started;         /* unix seconds */
    int pid;                /* owner process */
    bool alive;             /* owner process alive (pid + start time) */
    unsigned queue_pos;     /* 0: not queued */
    bool cancel_requested, cancellable;
    char slot[16];          /* kind of the slot held, "" if none */
};

/* The record of job id; XLMIG_E_NOTFOUND (not logged) if none. */
MUST_CHECK int coord_job_get(struct coord *c, const char *id,
                             struct coord_job *j_r);
/* All job records, sorted by start time; *list_r is freed by the caller
 * (NULL when *n_r is 0). */
MUST_CHECK int coord_job_list(struct coord *c, struct coord_job **list_r,
                              size_t *n_r);
/*
 * Removes the records of jobs whose owner is dead with their slots,
 * queue entries and locks, and any slot, queue entry or lock naming a
 * job without a record; *n_r (may be NULL) is the number of job records
 * removed. Each is logged.
 */
MUST_CHECK int coord_reap_stale(struct coord *c, unsigned *n_r);

/*
 * The live job holding domain uuid's lock, in *holder_r (allocated), or
 * NULL when none does. Changes nothing (pre-flight checks).
 */
MUST_CHECK int coord_lock_holder(struct coord *c, const char *uuid,
                                 char **holder_r);

/* Live jobs holding a slot of kind k, and live jobs queued for one. */
MUST_CHECK int coord_slot_usage(struct coord *c, enum coord_kind k,
                                unsigned *held_r, unsigned *queued_r);

/*
 * Maintenance mode of the host (/libxlmig/host/maintenance): reason NULL
 * turns it off; on, the host accepts no incoming migrations (pre-flight
 * check "maintenance"). *reason_r is NULL when off.
 */
/*
 * What this host measured and keeps for next time, until it reboots
 * (/libxlmig/measured/KEY; KEY's bytes that xenstore does not take become
 * '_', at most 31 of them). get: XLMIG_E_NOTFOUND if none.
 */
MUST_CHECK int coord_measured_get(struct coord *c, const char *key,
                                  char **v_r);
MUST_CHECK int coord_measured_set(struct coord *c, const char *key,
                                  const char *v);
MUST_CHECK int coord_set_maintenance(struct coord *c, const char *reason);
MUST_CHECK int coord_get_maintenance(struct coord *c, char **reason_r);

/* ---- events and hookd (coord-event.c) ---- */

#define COORD_EVENT_KEEP 64         /* finished events kept for a look */

/* One event's record; text longer than a field is cut short. */
struct coord_event {
    unsigned seq;
    char event[24], job[COORD_ID_MAX], domain[128], uuid[40], domid[12];
    char peer[256], role[16], result[16], error[256], config[512];
    char state[16];         /* "new", "running", "done" */
    char verdict[8];        /* "go" or "veto" once done */
    char why[256];          /* a veto's reason */
    double time;            /* unix seconds, when it was made */
    bool owner_alive;       /* a live process has claimed it */
};

/* One hook's run of an event. */
struct coord_event_run {
    char hook[COORD_ID_MAX];
    char state[16];         /* "running", "done", "interrupted" */
    char status[64];        /* "exit 0", "killed at its deadline"... */
    char output[COORD_VALUE_MAX];   /* the tail, cleaned */
    double secs;
};

/*
 * Records a new event (seq from /libxlmig/host/event-seq; ev->seq, time,
 * state and verdict are ignored) in state "new", unowned.
 */
MUST_CHECK int coord_event_create(struct coord *c,
                                  const struct coord_event *ev,
                                  unsigned *seq_r);
/* XLMIG_E_NOTFOUND (not logged) if there is no such event. */
MUST_CHECK int coord_event_get(struct coord *c, unsigned seq,
                               struct coord_event *ev_r);
/* The events there are, oldest first (*seqs_r freed by the caller). */
MUST_CHECK int coord_event_list(struct coord *c, unsigned **seqs_r,
                                size_t *n_r);
/* The runs of an event, in the order they started. */
MUST_CHECK int coord_event_runs(struct coord *c, unsigned seq,
                                struct coord_event_run **runs_r,
                                size_t *n_r);
/*
 * Makes this process the event's owner if it is not done and no other
 * live process owns it (state "running"); *claimed_r says whether.
 */
MUST_CHECK int coord_event_claim(struct coord *c, unsigned seq,
                                 bool *claimed_r);
/*
 * Claims hook's run of the event: *claimed_r true if it never started.
 * A run that started under an owner now dead is marked "interrupted"
 * (its outcome unknown) and not claimed: a hook runs at most once.
 */
MUST_CHECK int coord_event_hook_claim(struct coord *c, unsigned seq,
                                      const char *hook, bool *claimed_r);
/* Records the end of hook's run (output cut to fit), and a line in the
 * record of the event's job if it still exists. */
MUST_CHECK int coord_event_hook_done(struct coord *c, unsigned seq,
                                     const char *hook, const char *status,
                                     double secs, const char *output);
/* State "done" with verdict ("go", "veto") and why ("" if none). */
MUST_CHECK int coord_event_finish(struct coord *c, unsigned seq,
                                  const char *verdict, const char *why);
/* Removes the oldest done events beyond keep; *n_r (may be NULL) those
 * removed. Config files are the caller's. */
MUST_CHECK int coord_event_trim(struct coord *c, unsigned keep,
                                unsigned *n_r);
/*
 * Waits until the event is done, or until it has no live owner and
 * hookd is not alive either (XLMIG_E_NOTFOUND: nobody will decide it),
 * the monotonic deadline passes (XLMIG_E_TIMEDOUT), or w's cancel fds
 * fire (XLMIG_E_CANCELLED). Uses a watch on c's handle: one at a time.
 */
MUST_CHECK int coord_event_wait(struct coord *c, unsigned seq,
                                const struct fdio_wait *w, double deadline);

/*
 * Makes this process the host's hookd (/libxlmig/hookd). XLMIG_E_BUSY
 * (not logged) if another live one is, *pid_r its pid.
 */
MUST_CHECK int coord_hookd_register(struct coord *c, int *pid_r);
/* Removes our registration (nothing if it is another's). */
MUST_CHECK int coord_hookd_unregister(struct coord *c);
/* Whether a live hookd is registered; coord_hookd_pid: and its pid. */
MUST_CHECK int coord_hookd_alive(struct coord *c, bool *alive_r);
MUST_CHECK int coord_hookd_pid(struct coord *c, bool *alive_r, int *pid_r);
/* The xenstore handle's fd, for a daemon's poll (xs_fileno): readable
 * when a watch fired. */
int coord_fd(struct coord *c);
/* Sets (on) or removes a watch on c's handle; path may be outside
 * /libxlmig (@introduceDomain, /local/domain/...). */
MUST_CHECK int coord_watch(struct coord *c, const char *path,
                           const char *token, bool on);
/* Takes every fired watch off the handle; how many there were. */
unsigned coord_watch_drain(struct coord *c);

/* A domain as /local/domain shows it. */
struct coord_dom {
    unsigned domid;
    char name[128];
    char uuid[40];              /* from its vm path, "" if none */
};
/* The domains other than dom0 that have a name (*doms_r freed by the
 * caller). */
MUST_CHECK int coord_domains(struct coord *c, struct coord_dom **doms_r,
                             size_t *n_r);

#endif /* XLMIG_COORD_H */
