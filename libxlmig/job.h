/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * job.h - what the sending and receiving sides of a migration share: the
 * phase the job is in, its clock, its events to the caller, and the
 * adapters that let libxl's long operations see the pump and the cancel fd.
 */
#ifndef XLMIG_JOB_H
#define XLMIG_JOB_H

#include "coord.h"
#include "hooks.h"
#include "fdio.h"
#include "frame.h"
#include "hv.h"
#include "internal.h"
#include "journal.h"
#include "preflight.h"

struct proto_msg;
struct pump;

#ifndef PROTO_X_HDR_LEN
#define PROTO_X_HDR_LEN 12          /* proto.h */
#endif

/* job->wait.cancel_fds: the caller's, the pump's stop (its copy), ours. */
#define JOB_CANCEL_FD_CALLER 0
#define JOB_CANCEL_FD_COORD 2

struct job {
    struct xlmig_ctx *ctx;
    enum xlmig_phase phase;
    double t0;                  /* ctx_now() at the start */
    xlmig_event_fn *event_fn;
    void *event_arg;
    struct fdio_wait wait;      /* timeout and cancel for peer I/O */
    struct pump *pump;          /* while the stream moves, else NULL */
    double last_progress;       /* when the last progress event went out */
    uint64_t total_pages;       /* the guest's size in pages; 0: unknown */
    uint64_t rate_bytes;        /* stream bytes at rate_t */
    double rate_t;              /* when the rate was last measured */
    double rate;                /* bytes/s, smoothed; 0: not yet known */
    uint64_t limit;             /* the pump's bandwidth limit; 0: none */
    bool suspended;             /* libxc reported the guest suspended */
    double t_suspended;
    /* When the guest was asked to suspend (0: not known): its own freeze
     * is downtime too. */
    double t_suspend_asked;

    /* xlmig/1 messages beside xl's while the stream moves (job-xs.c). */
    int x_progress_fd;          /* receiver: PROGRESS goes here; -1 */
    int x_ctl_fd;               /* sender: PROGRESS comes from here; -1 */
    bool x_peer_done;           /* the receiver's last PROGRESS came */
    uint8_t x_back[PROTO_X_HDR_LEN];    /* read ahead: xl's, not ours */
    size_t x_back_len;
    uint64_t peer_bytes;        /* stream bytes the receiver has taken */

    const char *kind;           /* "migrate" (NULL) or "storage" */
    /* The job's record in xenstore and its journal (job_register()). */
    struct coord *coord;        /* NULL until registered */
    char id[32];
    bool locked;                /* holds the domain's lock (uuid) */
    bool slotted;               /* holds a slot of slot_kind */
    enum coord_kind slot_kind;
    struct journal_rec jr;      /* what the journal says; jr.id[0] if any */
    int journal_rc;             /* the first failed journal write */
    char why[192];              /* job_why() */
    bool queued_told;           /* job-queued went to the hooks */
    /* Called once when the job starts to wait for an admission slot
     * (the sender stops a receiver it started early); may be NULL. */
    void (*queued_fn)(struct job *job);
    struct precopy_report precopy;  /* the policy's last round; round 0:
                                       none */
    uint64_t bytes_suspended;   /* stream bytes when it was suspended */
};

void job_init(struct job *job, struct xlmig_ctx *ctx, xlmig_event_fn *fn,
              void *arg, unsigned timeout_s, int cancel_fd);
/* Enters a phase: logs it and tells the caller (detail may be NULL). */
void job_phase(struct job *job, enum xlmig_phase phase, const char *fmt, ...)
    PRINTF_LIKE(3, 4);
/* Tells the caller a notable fact. */
void job_info(struct job *job, const char *fmt, ...) PRINTF_LIKE(2, 3);
double job_elapsed(const struct job *job);
/* An hv_wait that aborts on cancel or a pump failure and ticks progress. */
void job_hv_wait(struct job *job, struct hv_wait *w);
/*
 * The save's precopy policy (precopy.h) for opts: xlmig.conf's settings
 * under the options given; XLMIG_E_INVAL with the cause logged if either
 * is not one.
 */
MUST_CHECK int job_precopy_params(struct xlmig_ctx *ctx,
                                  const struct xlmig_migrate_opts *opts,
                                  struct precopy_params *p);
/*
 * job-downtime.c: the fixed part of the downtime of a migration to host
 * in ms, as last measured here (PRECOPY_FIXED_MS_DEFAULT before); and a
 * new measurement: the downtime, less final_bytes at rate bytes/s. Both
 * need job_register.
 */
unsigned job_fixed_ms(struct job *job, const char *host);
void job_fixed_measured(struct job *job, const char *host,
                        double downtime_s, uint64_t final_bytes,
                        double rate);
/* The precopy policy's last round into p (job->precopy). */
void job_progress_precopy(const struct job *job, struct xlmig_progress *p);
/* Emits a progress event now if the pump moved since the last one. */
void job_progress(struct job *job, bool force);

/*
 * Tells the hooks of this host (hooks.h) of event e of the job's domain:
 * its name, uuid and peer from the job's record, role "source",
 * "destination" or "local", result from rc (XLMIG_OK "ok", CANCELLED
 * "cancelled", UNSAFE "unsafe", else "failed"; "" for pre-events, begin
 * and queued), domid (HOOKS_NO_DOMID: none) and the config JSON (may be
 * NULL). A pre-event's veto is XLMIG_E_PREFLIGHT with the reason as the
 * job's why (job_why); other events never fail. Needs job_register.
 */
MUST_CHECK int job_hook(struct job *job, enum hooks_event e,
                        const char *role, int rc, uint32_t domid,
                        const char *json);
/* The event a job that ended with rc tells: post (XLMIG_OK), or
 * migrate-failed, -cancelled, -unsafe. */
enum hooks_event job_hook_end(int rc, enum hooks_event post);

/*
 * Registers the job on this host (DESIGN.md "xenstore, per host"): its
 * record under /libxlmig/job and the domain's lock (uuid, if not NULL). A
 * job-cancel request then reads as a cancel on every wait. Role "send" or
 * "recv" (the journal's). XLMIG_E_BUSY names the holder.
 */
MUST_CHECK int job_register(struct job *job, const char *role,
                            const char *domain, const char *uuid,
                            const char *peer);
/*
 * Takes an admission slot of kind k, waiting in the FIFO queue unless
 * no_wait: at most wait_s seconds (0: no limit), and only while peer_fd
 * (-1: none) stays quiet (readable: the peer left or spoke out of turn).
 * Then writes the journal: XLMIG_E_BUSY (the host is full), a failed
 * journal write (the job must stop) or a failed wait.
 */
MUST_CHECK int job_admit(struct job *job, enum coord_kind k, bool no_wait,
                         unsigned wait_s, int peer_fd);
/*
 * Test hook: if XLMIG_FAULT is "ROLE:POINT" (role "send" or "recv", point
 * a phase name or "go"), this process dies by SIGKILL here, as a crash
 * would; with "ROLE:POINT:hold" it stays here until a cancel comes (at
 * most a minute), so a test can cancel in any phase; with
 * "ROLE:POINT:wait" until the file $XLMIG_FAULT_RESUME exists (at most a
 * minute). Called on entering each phase (after the journal is written),
 * and at "journaled" (send: the GO journal written, GO not yet sent),
 * "go" (right after GO), "ready" (recv: "ready" sent, GO not yet read)
 * and "renamed" (recv: renamed, not yet unpaused).
 */
void job_fault(struct job *job, const char *point);
/* Waits at most ms for a cancel on the job's fds: whether one came. */
bool job_cancel_within(struct job *job, int ms);
/*
 * Appends a line to this host's log of refused incoming domains
 * ($XLMIG_LOG_DIR/xlmig-incoming.log, default /var/log/xen): a refusal
 * must be found after the sender's terminal is gone. Best effort.
 */
void job_log_refusal(struct job *job, const char *domain, const char *peer,
                     const char *what);
/* Says why the job fails in more words than its code (job_failed). */
void job_why(struct job *job, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Records why the job failed (in its phase) in its record and journal. */
void job_failed(struct job *job, int rc);
/*
 * Writes the journal now (after a change of jr's fields). A failure is
 * logged once and kept in journal_rc: a job must not pass its point of
 * no return, or go on changing things, without it.
 */
MUST_CHECK int job_journal(struct job *job);
/*
 * The point of no return: from now on a cancel request is refused with
 * why, no wait of the job's watches its cancel fds, and the caller is
 * told (XLMIG_EV_NO_RETURN) to refuse its signals. Returns
 * XLMIG_E_CANCELLED, and changes nothing, if a cancel came in before, so
 * the caller still rolls back.
 */
MUST_CHECK int job_no_more_cancel(struct job *job, const char *why);
/* Releases slot, lock and record; removes the journal unless keep. */
void job_unregister(struct job *job, bool keep_journal);

/*
 * Reads exactly len bytes from the peer on fd, first any that were read
 * ahead (x_back), with the job's deadline and cancel.
 */
MUST_CHECK int job_read(struct job *job, int fd, void *buf, size_t len,
                        const char *what);
/* Reads a fixed protocol message and checks it (logs on mismatch). */
MUST_CHECK int job_read_msg(struct job *job, int fd,
                            const struct proto_msg *msg);
MUST_CHECK int job_write_msg(struct job *job, int fd,
                             const struct proto_msg *msg);

/* ---- job-cold.c: a halted domain's config to another host ---- */

/* Sender: config file opts->config_file of halted domain to host, its
 * disks moved first (opts->storage), removed here once host has it. */
MUST_CHECK int job_cold_send(struct xlmig_ctx *ctx, const char *domain,
                             const char *host,
                             const struct xlmig_migrate_opts *opts,
                             struct xlmig_migrate_result *res);
/* Receiver (migrate-receive --cold): checks and writes one config. */
MUST_CHECK int job_cold_receive(struct xlmig_ctx *ctx, int recv_fd,
                                int send_fd, unsigned timeout_s);

/* ---- job-x.c: xlmig/1 (proto.h) ---- */

/* What the sender's pre-flight looks at. */
struct job_x_pf {
    struct hv *hv;
    uint32_t domid;
    const char *name, *host, *json;
    const char *force;          /* ids of errors to skip (--force) */
    bool check_only;            /* xlmig check: holds no lock, fails quietly */
    unsigned peer_version;      /* xlmig/1 version of the peer; 0: xl */
    unsigned peer_caps;         /* JOB_X_CAP_* of its HELLO */
    const char *why_no_peer;    /* why not negotiated, for the report */
    int send_fd, recv_fd;
    struct pf_request *req;     /* made by job_x_source, sent to the peer */
    /* How the stream goes (job-xs.c): settled in pre-flight, beside the
     * destination's checks. NULL: no stream session (xl's stream). */
    struct job_xs *xs;
};

/* Writes / reads one xlmig/1 message with the job's deadline and cancel;
 * *body_r is allocated. */
MUST_CHECK int job_x_write(struct job *job, int fd, uint32_t type,
                           const char *body);
MUST_CHECK int job_x_read(struct job *job, int fd, uint32_t *type_r,
                          char **body_r);
/*
 * Receiver: HELLO with the version chosen for the sender's offer and
 * what we can do ("caps": ["stream"]).
 */
MUST_CHECK int job_x_hello_send(struct job *job, int fd, unsigned offered,
                                unsigned *chosen_r);
/* What a receiver's HELLO says it can do (caps). */
#define JOB_X_CAP_STREAM (1u << 0)      /* the stream session (job-xs.c) */
#define JOB_X_CAP_RESTREAM (1u << 1)    /* a second STREAM replaces the
                                           first (the fallback to ssh) */
/*
 * Sender: reads HELLO; XLMIG_E_PROTO unless it names a version we speak.
 * *caps_r: JOB_X_CAP_* of the receiver.
 */
MUST_CHECK int job_x_hello_read(struct job *job, int fd,
                                unsigned *version_r, unsigned *caps_r);
/*
 * Sender: the source's checks and check scripts, into rep, and the
 * request for the destination (p->req). They need no peer: the sender
 * runs them while its transport connects.
 */
MUST_CHECK int job_x_source(struct job *job, const struct job_x_pf *p,
                            struct pf_report *rep);
/*
 * Sender: the pre-flight phase, after job_x_source: the destination's
 * checks through the peer (or a warning that they did not run), the
 * stream session (p->xs: its STREAM goes with the PREFLIGHT, the data
 * connection is made and checked while the destination answers), --force,
 * each result told to the caller as an XLMIG_EV_CHECK event.
 * XLMIG_E_PREFLIGHT (logged with the failed ids) if any error is left.
 */
MUST_CHECK int job_x_preflight(struct job *job, const struct job_x_pf *p,
                               struct pf_report *rep);
struct job_xs;
struct policy;
struct datach_acc;

/* What the receiver's xlmig/1 session settled (job_x_serve). */
struct job_x_session {
    bool proceed;               /* PROCEED came: xl's protocol follows */
    char *checked;              /* the config PREFLIGHT checked */
    char name[128];             /* its domain's name */
    struct pf_report rep;       /* this host's results for it */
};
/* BYE's body from a sender that only checked (xlmig check). */
#define JOB_X_BYE_CHECKED "checked"
void job_x_session_dispose(struct job_x_session *s);

/*
 * Receiver: answers PREFLIGHT (this host's checks, pol among them) and
 * STREAM requests until PROCEED (s->proceed: xl's protocol follows, with
 * the config s->checked) or BYE (the sender only checked). Each message
 * must come in turn: PREFLIGHT first and once, STREAM at most twice (a
 * second replaces the first: the sender's fallback to ssh); after a
 * STREAM_OK for a data connection the sender's connection is accepted at
 * once (job_xs_accept_early).
 * XLMIG_E_PREFLIGHT if the sender proceeds despite an error of this
 * host's that it may not force. xs: what a STREAM request agreed. peer:
 * the sender as this host sees it (its ssh address), for the log.
 */
MUST_CHECK int job_x_serve(struct job *job, struct hv *hv,
                           const struct policy *pol, const char *peer,
                           int recv_fd, int send_fd, struct job_xs *xs,
                           struct job_x_session *s);

/* ---- job-xs.c: the stream session of xlmig/1 (proto.h) ---- */

/* How the stream goes, as the sender asks and the receiver agrees. */
struct job_xs {
    bool framed;                /* frames (frame.h), not xl's raw stream */
    bool tcp;                   /* over a data connection, else over ssh */
    unsigned port;              /* sender: asked for (0: any); bound */
    char addr[64];              /* where the receiver listens */
    int codec;                  /* FRAME_CODEC_* or PUMP_CODEC_AUTO */
    bool encrypt;
    /* The sender's choice (job_xs_parse): what was asked on the command
     * line or in xlmig.conf is required; defaults give way to the peer. */
    bool auto_data;             /* --data auto: tcp, else frames in ssh */
    bool data_asked, codec_asked, encrypt_asked;
    unsigned connect_s;         /* the data connection's time to be made */
    char from_addr[64];         /* this host's migration address; "" */
    bool peer_net;              /* addr is the receiver's migration
                                   network (no fallback to ssh) */
    struct frame_keys keys;
    int listen_fd;              /* receiver's, -1 */
    struct datach_acc *acc;     /* receiver's: what listen_fd accepted */
    int data_fd;                /* the data connection, -1 */
    struct frame_enc *enc;      /* sender */
    struct frame_dec *dec;      /* receiver */
};

void job_xs_init(struct job_xs *xs);
void job_xs_dispose(struct job_xs *xs);
/*
 * Sender: how the stream should go: o's data ("auto", "ssh", "tcp",
 * "tcp:PORT"), compress ("none", "lz4", "zstd", "auto") and encrypt /
 * no_encrypt over this host's xlmig.conf (mignet.h) over the defaults
 * (auto, auto, encrypted on a data connection), and this host's
 * migration address. XLMIG_E_INVAL (logged: the option, or the file,
 * line and key) for anything else.
 */
MUST_CHECK int job_xs_parse(struct xlmig_ctx *ctx,
                            const struct xlmig_migrate_opts *o,
                            struct job_xs *xs);
/*
 * Sender, in pre-flight: whether to ask a receiver of caps (JOB_X_CAP_*;
 * 0: stock xl, or an xlmig without the stream session, why_no_peer) for
 * a stream session. What cannot be had is announced (an info event) when
 * it was a default, a pre-flight error in rep (id data-connection) when
 * it was asked. check_only: xlmig check, which asks only to check a data
 * connection.
 */
bool job_xs_plan(struct job *job, struct job_xs *xs, unsigned caps,
                 const char *why_no_peer, bool check_only,
                 struct pf_report *rep);
/* Sender: the STREAM request (answered by job_xs_settle). */
MUST_CHECK int job_xs_request(struct job *job, int send_fd,
                              const struct job_xs *xs);
/*
 * Sender, after the destination's results: reads STREAM_OK (a refusal is
 * an error in rep); for a data connection, makes it (and sends AUTH) and
 * says in rep whether it could (id data-connection): with --data auto,
 * a peer of JOB_X_CAP_RESTREAM and no migration network at either end,
 * one that cannot be made within xs->connect_s gives way to frames inside
 * ssh (a second STREAM, announced), else it is an error. check_only: the
 * connection is checked, nothing else asked. xs->framed after. Fails
 * only on a broken peer (XLMIG_E_PROTO) or a failed channel.
 */
MUST_CHECK int job_xs_settle(struct job *job, struct job_xs *xs,
                             int send_fd, int recv_fd, unsigned caps,
                             bool check_only, struct pf_report *rep);
/* Receiver: answers one STREAM request (listens for tcp); refuses a
 * data connection in clear if require_encrypt. */
MUST_CHECK int job_xs_answer(struct job *job, int send_fd, const char *body,
                             bool require_encrypt, struct job_xs *xs);
/*
 * Sender: opens the framed stream: the data connection made in
 * pre-flight (or connects now, if an error there was forced), or ssh_fd
 * with AUTH. *out_fd_r: where the frames go.
 */
MUST_CHECK int job_xs_send_open(struct job *job, struct job_xs *xs,
                                int ssh_fd, int *out_fd_r);
/*
 * Receiver, in pre-flight, right after a STREAM_OK for a data
 * connection: accepts the sender's (which it makes now, beside the
 * checks, and which a flood on the port must not crowd out) until it
 * comes or the sender speaks on ctl_fd first (an older sender connects
 * after PROCEED; a second STREAM, BYE). Failures as datach_accept's.
 */
MUST_CHECK int job_xs_accept_early(struct job *job, struct job_xs *xs,
                                   int ctl_fd);
/*
 * Receiver: the data connection accepted in pre-flight, or accepts it
 * now (tcp; ctl_fd is the control channel, which must stay quiet), or
 * reads AUTH on ssh_fd. *in_fd_r: where the frames come from.
 */
MUST_CHECK int job_xs_recv_open(struct job *job, struct job_xs *xs,
                                int ssh_fd, int *in_fd_r);
/* Receiver: one PROGRESS message (done: the last one). */
MUST_CHECK int job_xs_progress_send(struct job *job,
                                    const struct xlmig_progress *prog,
                                    bool done);
/* Sender: reads the PROGRESS messages that are there now (no waiting). */
void job_xs_poll(struct job *job);
/*
 * Sender: after the stream, reads PROGRESS up to the last one. data_fd
 * (-1: none), the data connection, must stay quiet meanwhile: the
 * receiver closing it means it refused or lost the stream.
 */
MUST_CHECK int job_xs_drain(struct job *job, int data_fd);
/* Receiver: RESULT (seconds since the unpause, restore time). */
MUST_CHECK int job_xs_result_send(struct job *job, int fd, bool ok,
                                  double since_unpause_s, double restore_s);
/*
 * Sender: reads RESULT (*got_r), or finds xl's report instead (a receiver
 * that refused, or an older one): *got_r false, the bytes put back.
 */
MUST_CHECK int job_xs_result_read(struct job *job, int fd, bool *got_r,
                                  bool *ok_r, double *since_unpause_s_r,
                                  double *restore_s_r);

#endif /* XLMIG_JOB_H */
