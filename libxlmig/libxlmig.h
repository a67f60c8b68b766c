/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libxlmig.h - public API of libxlmig: managed live migration of Xen domains
 * on top of libxl. A process makes one context, then runs operations on it
 * (migrate, migrate-receive, monitor). The library never prints and never
 * exits: it logs through the caller's xentoollog logger and returns codes.
 */
#ifndef LIBXLMIG_H
#define LIBXLMIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xentoollog.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XLMIG_API __attribute__((visibility("default")))

/*
 * One error space for the whole project. Values are append-only: they are
 * sent to peers and written to journals. Failures are negative.
 */
enum xlmig_err {
    XLMIG_OK = 0,
    XLMIG_E_INTERNAL = -1,      /* a bug in xlmig */
    XLMIG_E_INVAL = -2,         /* bad argument, option, config or file */
    XLMIG_E_SYSTEM = -3,        /* a system call failed (errno logged) */
    XLMIG_E_NOTFOUND = -4,      /* no such domain, file or job */
    XLMIG_E_BUSY = -5,          /* lock or slot held by someone else */
    XLMIG_E_PROTO = -6,         /* peer input malformed or out of order */
    XLMIG_E_TRUNC = -7,         /* input ended early */
    XLMIG_E_TOOBIG = -8,        /* a length over its limit */
    XLMIG_E_PEER = -9,          /* peer failed or hung up */
    XLMIG_E_PREFLIGHT = -10,    /* a pre-flight check failed */
    XLMIG_E_CANCELLED = -11,    /* cancelled by request or signal */
    XLMIG_E_TIMEDOUT = -12,     /* a deadline passed */
    XLMIG_E_HV = -13,           /* the hypervisor backend failed */
    XLMIG_E_XS = -14,           /* xenstore failed */
    XLMIG_E_STORAGE = -15,      /* storage operation failed */
    XLMIG_E_UNSAFE = -16,       /* ownership of the domain is unknown */
    XLMIG_E_EXISTS = -17,       /* it already exists (name, host, daemon) */
    XLMIG_E_NOSPACE = -18,      /* no space left (disk, memory image) */
    XLMIG_E_AUTH = -19,         /* peer data failed authentication */
    XLMIG_E_CONVERGE = -20,     /* the guest dirties faster than the
                                   downtime asked for allows */
};

/* Lower-case phrase for rc; never NULL. */
XLMIG_API const char *xlmig_strerror(int rc);
/* Stable token for rc ("E_PROTO"); never NULL. */
XLMIG_API const char *xlmig_errname(int rc);

/*
 * Whether name is one this host takes for an incoming domain: 1..64 of
 * A-Z a-z 0-9 _ . + -, starting with a letter or digit, not all digits,
 * not ending in --incoming or --migratedaway (safe in a file name).
 */
XLMIG_API bool xlmig_name_ok(const char *name);

/* Version string of the library ("0.1.0"). */
XLMIG_API const char *xlmig_version(void);

/*
 * Context. One per process. lg must outlive the context and is shared with
 * libxl and libxc. backend is "libxl" or NULL; NULL means the environment
 * variable XLMIG_BACKEND, else "libxl". The backend is opened on first use.
 * Returns XLMIG_OK and sets *ctx_r, or a code (*ctx_r untouched).
 */
struct xlmig_ctx;
XLMIG_API int xlmig_ctx_new(struct xlmig_ctx **ctx_r, xentoollog_logger *lg,
                            const char *backend);
/* Frees the context and closes its backend; NULL is fine. */
XLMIG_API void xlmig_ctx_free(struct xlmig_ctx *ctx);

/*
 * Phases of a migration, in order (DESIGN.md "One migration, end to end").
 * The names ("connect", ...) are stable: see xlmig_phase_name().
 */
enum xlmig_phase {
    XLMIG_PHASE_ADMIT,
    XLMIG_PHASE_CONNECT,
    XLMIG_PHASE_PREFLIGHT,
    XLMIG_PHASE_TRANSFER,
    XLMIG_PHASE_SWITCHOVER,
    XLMIG_PHASE_COMMIT,
    XLMIG_PHASE_DONE,
    XLMIG_PHASE_ROLLBACK,
};
XLMIG_API const char *xlmig_phase_name(enum xlmig_phase phase);

/* Where the domain is when an operation returns. */
enum xlmig_where {
    XLMIG_WHERE_SOURCE,         /* running (or as it was) on the source */
    XLMIG_WHERE_DEST,           /* running on the destination */
    XLMIG_WHERE_UNKNOWN,        /* see the message; run recovery */
};

/* Progress of the memory stream, as seen by the pump. */
struct xlmig_progress {
    uint64_t bytes;             /* stream bytes moved so far */
    uint64_t pages;             /* data pages moved so far */
    unsigned round;             /* pre-copy round, 1-based; 0 before pages */
    uint64_t round_pages;       /* pages in the current round */
    bool suspended;             /* the guest is suspended (final round) */
    /*
     * The pages of the round before (what the guest dirtied while that
     * round before it was sent), the guest's size in pages (0: unknown),
     * the stream's recent rate in bytes/s, and the seconds left in this
     * round at that rate (-1: unknown).
     */
    uint64_t last_round_pages;
    uint64_t total_pages;
    double rate;
    double eta_s;
    /*
     * Bytes on the wire (after zero-page elision and compression; equal
     * to bytes for xl's raw stream), and the all-zero pages left out.
     */
    uint64_t wire_bytes;
    uint64_t zero_pages;
    /* Stream bytes the destination has taken (xlmig/1 peers; else 0). */
    uint64_t peer_bytes;
    /*
     * xlmig's precopy policy after the last live round (precopy_round 0:
     * none yet, or not xlmig's policy): the pages it sent, the pages the
     * guest dirties per second, the downtime of stopping then in ms (-1:
     * unknown), and the % of the guest's CPU throttled (0: none).
     */
    unsigned precopy_round;
    uint64_t precopy_pages;
    double dirty_rate;
    double predicted_downtime_ms;
    unsigned throttle;
};

/*
 * One result of a pre-flight check (xlmig_check, and the first phase of
 * xlmig_migrate). ids are stable ("memory", "paging-source", ...; admin
 * scripts give "script:NAME"); info means the check passed.
 */
enum xlmig_check_severity {
    XLMIG_CHECK_INFO,
    XLMIG_CHECK_WARNING,
    XLMIG_CHECK_ERROR,
};
struct xlmig_check_result {
    char id[48];
    enum xlmig_check_severity severity;
    bool destination;           /* ran on the destination host */
    bool forced;                /* an error skipped with --force */
    char *message;              /* one line naming the object */
    char *remedy;               /* "" when there is nothing to do */
};
/* "info", "warning", "error" */
XLMIG_API const char *xlmig_check_severity_name(enum xlmig_check_severity s);

enum xlmig_event_type {
    XLMIG_EV_PHASE,             /* phase entered; detail says what */
    XLMIG_EV_PROGRESS,          /* progress changed (at most ~1/s) */
    XLMIG_EV_INFO,              /* a notable fact; detail says it */
    XLMIG_EV_CHECK,             /* a pre-flight result; see check */
    /*
     * The point of no return is passed: from now on a cancel (the cancel
     * fd, xlmig job-cancel) is refused, and the caller should refuse its
     * signals too, with detail as the reason. Before it, a cancel rolls
     * back.
     */
    XLMIG_EV_NO_RETURN,
};

struct xlmig_event {
    enum xlmig_event_type type;
    enum xlmig_phase phase;
    double elapsed;             /* seconds since the operation started */
    const char *detail;         /* may be NULL; valid during the call */
    const struct xlmig_progress *progress;     /* XLMIG_EV_PROGRESS only */
    const struct xlmig_check_result *check;    /* XLMIG_EV_CHECK only */
};

/* Called in the thread that runs the operation; must not call back in. */
typedef void xlmig_event_fn(void *arg, const struct xlmig_event *ev);

/* Options of xlmig_migrate(); zero-initialise, then set what you need. */
struct xlmig_migrate_opts {
    /*
     * Transport, as xl's -s: NULL means "ssh". The receiver is started with
     * "exec SSHCMD HOST xlmig migrate-receive ..." (sh -c). If it is the
     * empty string, HOST itself is the shell command that runs a receiver,
     * which may be xlmig or xl ("ssh h xl migrate-receive").
     */
    const char *ssh_command;
    const char *receiver_program;   /* NULL: "xlmig" */
    const char *config_file;    /* -C: libxl JSON or xl.cfg; NULL: stored */
    bool debug;                 /* --debug: libxc verify pass */
    bool paused;                /* -p: leave paused at the destination */
    bool no_monitor;            /* -e: no monitor process at destination */
    bool preserve_domid;        /* -D: keep the domid in the sent config */
    unsigned timeout_s;         /* per read/stall deadline; 0: none */
    int cancel_fd;              /* readable means cancel; -1: none */
    xlmig_event_fn *event_fn;   /* may be NULL */
    void *event_arg;
    bool no_wait;               /* fail at once if the host is at its limit */
    /*
     * Pre-flight errors to skip: comma-separated check ids (--force).
     * The results stay in the report, marked forced.
     */
    const char *force;
    /*
     * Bandwidth limit of the stream in bytes per second (0: none); the
     * job's "bandwidth" (xlmig_job_set) changes it while it runs.
     */
    uint64_t bandwidth;
    /*
     * How the stream goes to an xlmig receiver (xlmig/1), which always
     * gets it in frames with all-zero pages left out and each frame
     * authenticated: data "auto" (a direct data connection if it can be
     * made within a few seconds, else inside ssh, announced), "ssh"
     * (inside the ssh connection), "tcp" or "tcp:PORT" (a direct TCP
     * connection to the receiver's migration address, or the address
     * ssh reached, keyed over ssh); compress "none", "lz4", "zstd",
     * "auto" (per frame, by measured link and codec speed); encrypt,
     * no_encrypt: AES-256-GCM on the stream, or not (default: on a
     * data connection). NULL (false) takes this host's xlmig.conf
     * (migrate_data, migrate_compress, migrate_encrypt), else auto,
     * auto, encrypted. What is asked here or in xlmig.conf is required:
     * a receiver that cannot do it (stock xl, an older xlmig) or a data
     * connection that cannot be made fails the migration in pre-flight;
     * defaults give way to what both ends can do, announced.
     */
    const char *data;
    const char *compress;
    bool encrypt;
    bool no_encrypt;
    /*
     * Disks that move with the domain (n_storage "VDEV=SR", SRs both
     * hosts see). A running domain: each disk is mirrored into its SR
     * while the guest runs, the copies stopped while it is suspended, and
     * the destination runs on them; the sources are removed after it
     * does, unless keep_source. Cold migration (a domain that is not
     * running here, with its config file): the disks move first, then
     * the file goes to the destination (its /etc/xen), not started.
     */
    const char *const *storage;
    size_t n_storage;
    bool keep_source;
    /*
     * Downtime (xlmig's precopy policy, precopy.h): the live rounds stop
     * when stopping is predicted to keep the guest paused at most
     * max_downtime_ms (0: this host's max_downtime_ms in xlmig.conf, else
     * 300). A guest that does not get there within max_rounds rounds (0:
     * xlmig.conf's, else 30) or max_precopy_s seconds of them (0:
     * xlmig.conf's, else none) or stops converging gets converge: "force"
     * (stop and copy anyway), "throttle" (cap its vCPUs in growing steps,
     * the cap always put back; the default) or "abort" (fail, naming the
     * rates; the guest runs on here). NULL: xlmig.conf's converge.
     * no_live: pause the guest, copy it once, resume it there.
     */
    unsigned max_downtime_ms;
    const char *converge;
    unsigned max_rounds;
    unsigned max_precopy_s;
    bool no_live;
};

struct xlmig_migrate_result {
    enum xlmig_where where;
    enum xlmig_phase failed_phase;  /* valid when the call failed */
    uint32_t domid;             /* source domid */
    char name[128];             /* domain name */
    double total_s;             /* wall time of the whole operation */
    double transfer_s;          /* from first stream byte to stream end */
    /*
     * From asking the guest to suspend here (else from libxc's "suspended")
     * to the unpause there (downtime_measured: an xlmig receiver said when
     * it unpaused; otherwise up to its report). suspend_s is the part the
     * guest took to suspend (0: not known).
     */
    double downtime_s, suspend_s;
    bool downtime_measured;
    double restore_s;           /* receiver: first frame to ready */
    struct xlmig_progress progress;
    /* A cold migration (a halted domain's config moved): where says
     * which host holds the config; disks_moved, its disks moved first. */
    bool cold;
    unsigned disks_moved;
};

/*
 * Live-migrates domain (name or domid) to host, speaking xl's migration
 * protocol (interoperates with "xl migrate-receive"). Returns XLMIG_OK when
 * the domain runs on the destination and the source copy is destroyed.
 * On failure the domain runs on the source unless the code is
 * XLMIG_E_UNSAFE (failure after the point of no return: see res->where).
 * res may be NULL; it is filled in either case.
 */
XLMIG_API int xlmig_migrate(struct xlmig_ctx *ctx, const char *domain,
                            const char *host,
                            const struct xlmig_migrate_opts *opts,
                            struct xlmig_migrate_result *res);

/* What xlmig_check found. */
struct xlmig_check_report {
    char domain[128];
    char peer[16];              /* "xlmig/1", or "xl" if not negotiated */
    bool destination_checked;   /* the destination ran its checks */
    size_t errors;              /* errors not forced */
    size_t n;
    struct xlmig_check_result *results;
    /*
     * The destination's memory figures (an xlmig/1 destination that could
     * compute them): what the domain needs there and what is free there.
     */
    bool memory_known;
    uint64_t memory_need_kib, memory_free_kib;
};

/*
 * Runs every pre-flight check of migrating domain to host without
 * changing anything on either host: the source checks here, the
 * destination checks there when the receiver speaks xlmig/1 (the
 * transport options of opts apply; opts->force marks errors forced).
 * XLMIG_OK when the checks ran (whatever they found: see rep->errors),
 * or a code when they could not run. rep is filled in either case;
 * xlmig_check_report_dispose() frees what it holds.
 */
XLMIG_API int xlmig_check(struct xlmig_ctx *ctx, const char *domain,
                          const char *host,
                          const struct xlmig_migrate_opts *opts,
                          struct xlmig_check_report *rep);
XLMIG_API void xlmig_check_report_dispose(struct xlmig_check_report *rep);
/* Whether id names a check (for --force): a known id or "script:NAME". */
XLMIG_API bool xlmig_check_id_known(const char *id);

/*
 * Maintenance mode: with reason non-NULL this host accepts no incoming
 * migrations (the destination check "maintenance" fails); NULL ends it.
 * xlmig_get_maintenance sets *reason_r (allocated) or NULL when off.
 */
XLMIG_API int xlmig_set_maintenance(struct xlmig_ctx *ctx,
                                    const char *reason);
XLMIG_API int xlmig_get_maintenance(struct xlmig_ctx *ctx, char **reason_r);

/* Options of xlmig_migrate_receive(); zero-initialise. */
struct xlmig_receive_opts {
    int recv_fd;                /* stream from the sender (stdin) */
    int send_fd;                /* replies to the sender (stdout) */
    bool paused;                /* -p: do not unpause after GO */
    bool debug;                 /* -d: log the received config */
    unsigned timeout_s;         /* per read deadline; 0: none */
    int cancel_fd;              /* readable means cancel; -1: none */
    xlmig_event_fn *event_fn;
    void *event_arg;
    /*
     * xlmig/1 offered by the sender (migrate-receive --xlmig N): the
     * highest version it speaks; 0 means stock xl's protocol only.
     */
    unsigned xlmig_proto;
    /* A cold migration's config file (migrate-receive --cold), written
     * to $XLMIG_CONFIG_DIR or /etc/xen; *domid_r stays invalid. */
    bool cold;
};

/*
 * Receives one domain on recv_fd/send_fd (xl's protocol, either an xl or an
 * xlmig sender). On XLMIG_OK the domain runs here (paused with opts->paused)
 * and *domid_r is set; on failure nothing of it is left on this host.
 * An xlmig/1 sender that only checks (xlmig check) ends the session after
 * the pre-flight: XLMIG_OK with *domid_r left invalid (0x7ff4).
 */
XLMIG_API int xlmig_migrate_receive(struct xlmig_ctx *ctx,
                                    const struct xlmig_receive_opts *opts,
                                    uint32_t *domid_r);

/*
 * Watches a domain and carries out its on_poweroff, on_reboot, on_crash,
 * on_watchdog and on_soft_reset actions, as xl's per-domain monitor does
 * (restart, rename-restart, preserve, coredump-*, soft-reset, destroy).
 * Blocks until the domain is gone for good or cancel_fd becomes readable
 * (-1: never). Returns XLMIG_OK, or a code if watching failed.
 */
XLMIG_API int xlmig_monitor(struct xlmig_ctx *ctx, const char *domain,
                            int cancel_fd);

/* Looks up a domain by name or domid; XLMIG_E_NOTFOUND if none. */
XLMIG_API int xlmig_domain_lookup(struct xlmig_ctx *ctx, const char *domain,
                                  uint32_t *domid_r, char **name_r);

/* A domain as "xl list" shows it. */
struct xlmig_domain {
    uint32_t domid;
    char name[128];
    uint64_t memkb;             /* current memory */
    unsigned vcpus;
    char state[7];              /* xl's flags: running, blocked, paused,
                                   shutdown, why (r s c w S: reboot,
                                   suspend, crash, watchdog, soft reset;
                                   '-' poweroff), dying; '-' if not */
    char uuid[37];              /* lower-case, with dashes */
    uint64_t claimed_kb;        /* outstanding claim (xl adds it to Mem) */
    uint64_t cpu_time_ns;       /* CPU time used (0 where unknown: sim) */
};

/* Every domain of this host by domid; free(*list_r) when done. */
XLMIG_API int xlmig_domain_list(struct xlmig_ctx *ctx,
                                struct xlmig_domain **list_r, size_t *n_r);
/*
 * A running domain's configuration as libxl JSON (xl list -l's "config":
 * libxl_retrieve_domain_configuration, domid as stored). *json_r is
 * allocated (free it), NULL on failure: XLMIG_E_NOTFOUND no such domain,
 * XLMIG_E_HV none stored (not made by libxl).
 */
XLMIG_API int xlmig_domain_config(struct xlmig_ctx *ctx, uint32_t domid,
                                  char **json_r);
/* Destroys a domain at once (xl destroy). */
XLMIG_API int xlmig_domain_destroy(struct xlmig_ctx *ctx, const char *domain);
/* Pauses or unpauses a domain (xl pause / xl unpause). */
XLMIG_API int xlmig_domain_pause(struct xlmig_ctx *ctx, const char *domain,
                                 bool pause);

/*
 * Jobs of this host (migrations in progress, queued or interrupted), from
 * the /libxlmig subtree of its xenstore.
 */
struct xlmig_job {
    char id[32];
    char kind[16];              /* "migrate" */
    char phase[16];             /* xlmig_phase_name() */
    char domain[128];
    char uuid[40];
    char peer[256];
    char progress[256];         /* "N bytes, N pages, round N" */
    char error[256];
    double started;             /* unix time */
    int pid;                    /* the process running it */
    bool alive;                 /* that process still runs */
    unsigned queue_pos;         /* 1-based place in the queue; 0: none */
    bool cancel_requested;
    bool cancellable;           /* false after the point of no return */
    char slot[16];              /* "out", "in", "storage" or "" */
    /* The precopy policy's last round (precopy.h report), "" if none. */
    char precopy[256];
};
/*
 * Hook events of this host (xlmig-hooks(7)): the last ones kept under
 * /libxlmig/event, oldest first, each with its hooks' runs in name order.
 * Free with xlmig_hook_events_free.
 */
struct xlmig_hook_run {
    char hook[32];
    char state[16];             /* "running", "done", "interrupted" */
    char status[64];            /* "exit 0", "killed at its deadline"... */
    char output[1024];          /* its output's tail, one line */
    double secs;
};
struct xlmig_hook_event {
    unsigned seq;
    char event[24], job[32], domain[128], uuid[40], domid[12], peer[256];
    char role[16], result[16], error[256];
    char state[16];             /* "new", "running", "done" */
    char verdict[8];            /* "go" or "veto" once done */
    char why[256];
    double time;                /* unix seconds */
    struct xlmig_hook_run *runs;
    size_t n_runs;
};
XLMIG_API int xlmig_hook_events(struct xlmig_ctx *ctx,
                                struct xlmig_hook_event **list_r,
                                size_t *n_r);
XLMIG_API void xlmig_hook_events_free(struct xlmig_hook_event *list,
                                      size_t n);
/* The pid of this host's running xlmig-hookd in *pid_r, 0 if none. */
XLMIG_API int xlmig_hookd_pid(struct xlmig_ctx *ctx, int *pid_r);

/* Every job by start time; free(*list_r). */
XLMIG_API int xlmig_job_list(struct xlmig_ctx *ctx, struct xlmig_job **list_r,
                             size_t *n_r);
XLMIG_API int xlmig_job_get(struct xlmig_ctx *ctx, const char *id,
                            struct xlmig_job *job);
/*
 * Asks a job to cancel. XLMIG_E_BUSY with *why_r (allocated, one line)
 * when it is past its point of no return; XLMIG_E_NOTFOUND if no such job.
 */
XLMIG_API int xlmig_job_cancel(struct xlmig_ctx *ctx, const char *id,
                               char **why_r);
/* Options of xlmig_recover(); zero-initialise. */
struct xlmig_recover_opts {
    const char *ssh_command;    /* to ask a peer, as migrate -s; NULL: ssh */
    void (*report)(void *arg, const char *line);   /* what was done */
    void *report_arg;
};
/*
 * Brings every interrupted migration on this host (journals of jobs whose
 * process is gone) to exactly one running copy, asking the peer where
 * needed. XLMIG_OK when all are settled; XLMIG_E_UNSAFE when some wait for
 * the peer (recover it first, then again here); another code if some
 * could not be acted on.
 */
XLMIG_API int xlmig_recover(struct xlmig_ctx *ctx,
                            const struct xlmig_recover_opts *o);
/*
 * What this host has of the domain with this uuid, for a peer's recover:
 * "taken" (a journal here says GO came: the domain is this host's, even
 * if it has stopped since), "running" (a domain of that uuid, under its
 * own name, in any state), "incoming" (NAME--incoming, no GO) or
 * "absent". XLMIG_E_INVAL if uuid is not one (lower-case hex).
 */
XLMIG_API int xlmig_recover_query(struct xlmig_ctx *ctx, const char *uuid,
                                  const char **state_r);
/*
 * Drops this host's kept journals of a domain that came here (GO, marked
 * done) once its source has settled: a sender's recover asks for it.
 * *n_r: how many.
 */
XLMIG_API int xlmig_recover_release(struct xlmig_ctx *ctx, const char *uuid,
                                    unsigned *n_r);

/*
 * A bandwidth as people write it: N bytes per second with an optional
 * decimal K, M or G ("100M"), or bits with "bit" ("800Mbit", "1Gbit");
 * "0" means no limit. XLMIG_E_INVAL if it is not one.
 */
XLMIG_API int xlmig_parse_rate(const char *s, uint64_t *bytes_per_s_r);

/*
 * Writes a file of this host atomically and durably: its directory and
 * missing parents made (0700), a temporary beside it created exclusively
 * (never through a link), fsync, rename, fsync of the directory. On
 * failure (logged) the file is as it was. For what the tools keep (xlmig
 * job-run's state file and report).
 */
XLMIG_API int xlmig_file_write(struct xlmig_ctx *ctx, const char *path,
                               const void *data, size_t len);
/*
 * Changes a running job: key "bandwidth" (a rate as xlmig_parse_rate
 * reads it; the sender applies it within a second). XLMIG_E_NOTFOUND if
 * no such job, XLMIG_E_INVAL for another key or a malformed value.
 */
XLMIG_API int xlmig_job_set(struct xlmig_ctx *ctx, const char *id,
                            const char *key, const char *value);

/* Admission limits of this host, kind "out", "in" or "storage". */
XLMIG_API int xlmig_set_limit(struct xlmig_ctx *ctx, const char *kind,
                              unsigned limit);
XLMIG_API int xlmig_get_limit(struct xlmig_ctx *ctx, const char *kind,
                              unsigned *limit_r);

/*
 * Sim hosts (backend "sim", for tests, benchmarks and demos): a directory
 * with its own xenstored, holding simulated domains whose guest process
 * writes into a memory image. Select one with XLMIG_BACKEND=sim and
 * XLMIG_SIM_HOST=DIR. Host creation and destruction work on any context.
 */
XLMIG_API int xlmig_sim_host_create(struct xlmig_ctx *ctx, const char *dir);
/* Kills every guest of the host, removes its domains, stops xenstored. */
XLMIG_API int xlmig_sim_host_destroy(struct xlmig_ctx *ctx, const char *dir);

/* Options of xlmig_sim_domain_create(); zero means the default. */
struct xlmig_sim_domain_opts {
    const char *name;
    const char *type;           /* "pvh" (default), "pv", "hvm" */
    uint64_t memory_mb;         /* default 64 */
    unsigned vcpus;             /* default 1 */
    uint64_t rate;              /* pages dirtied per second (default 0) */
    uint64_t wss_mb;            /* working set; default memory / 4 */
    const char *shape;          /* "uniform" (default), "hot", "sweep" */
    bool paused;                /* leave it paused (not started) */
    /*
     * What the memory holds at start: "zero" (default), "random", or
     * "mixed": 40 % zero pages, 30 % text-like, 30 % random, shuffled.
     */
    const char *fill;
    /*
     * A libxl JSON config file to use (disks, nics, ... as given; type,
     * memory, vcpus and uuid from the file; its name is replaced by name).
     */
    const char *config;
};
XLMIG_API int xlmig_sim_domain_create(struct xlmig_ctx *ctx,
                                      const struct xlmig_sim_domain_opts *o,
                                      uint32_t *domid_r);

/* What a sim domain's guest says about itself. */
struct xlmig_sim_domain_info {
    uint32_t domid;
    char name[128];
    char type[8];
    char state[16];             /* running paused suspended shutdown crashed */
    int guest_pid;              /* 0: none */
    uint64_t memory_mb, rate, wss_mb;
    char shape[8];
    uint64_t counter, writes, boots, resumes;
    char image[1024];           /* path of the memory image */
    unsigned sched_cap;         /* its scheduler cap (0: none) */
};
XLMIG_API int xlmig_sim_domain_info(struct xlmig_ctx *ctx, const char *domain,
                                    struct xlmig_sim_domain_info *info);
/*
 * The sim guest shuts itself down as a guest would: how is "poweroff",
 * "reboot" or "crash". Its monitor, if one runs, then acts on it.
 */
XLMIG_API int xlmig_sim_domain_shutdown(struct xlmig_ctx *ctx,
                                        const char *domain, const char *how);

/*
 * Storage repositories (SRs): shared storage declared in xlmig.conf
 * ("sr = [ \"NAME:dir:PATH\", \"NAME:lvm:VG\" ]") and proven the same
 * on every host by an identity written into it (xlmig_sr_create).
 */
struct xlmig_sr_disk {
    uint32_t domid;
    char domain[128];
    char vdev[32];
    char path[1024];
};
struct xlmig_sr {
    char name[64];
    char type[8];               /* "dir" or "lvm" */
    char location[1024];        /* a directory, or a VG name */
    char uuid[40];              /* its identity; "" when unavailable */
    char state[256];            /* "ok", or one line saying why not */
    uint64_t size, free;        /* bytes; 0 when unknown */
    size_t n_disks;             /* disks of running domains in it */
    struct xlmig_sr_disk *disks;
};
/* Every SR this host declares, in declaration order. XLMIG_E_INVAL
 * (logged) if xlmig.conf or a declaration is broken. */
XLMIG_API int xlmig_sr_list(struct xlmig_ctx *ctx, struct xlmig_sr **list_r,
                            size_t *n_r);
XLMIG_API void xlmig_sr_list_free(struct xlmig_sr *list, size_t n);
/*
 * Writes the identity of the SR declared as name here (type and location
 * given: "dir" PATH or "lvm" VG; they must match a declaration if there is
 * one) into the SR: *uuid_r (40 bytes) is it. XLMIG_E_EXISTS if it has one.
 */
XLMIG_API int xlmig_sr_create(struct xlmig_ctx *ctx, const char *name,
                              const char *type, const char *location,
                              char *uuid_r);

/* What a storage move reports while it copies. */
struct xlmig_storage_progress {
    uint64_t done, total;       /* bytes of the disk walked, its size */
    double rate;                /* bytes/s, recent; 0: unknown */
    double eta_s;               /* -1: unknown */
};

/* Options of xlmig_storage_move(); zero-initialise. */
struct xlmig_storage_opts {
    const char *domain;         /* a running domain, or NULL (config_file) */
    const char *config_file;    /* its xl.cfg or libxl JSON file, rewritten
                                   to name the copy; required without domain */
    const char *vdev;           /* the disk ("xvda") */
    const char *sr;             /* the target SR's name */
    const char *format;         /* "raw", "qcow2"; NULL: as it is */
    bool keep_source;           /* leave the source image */
    bool offline;               /* a running domain: save, copy, restore */
    const char *save_dir;       /* where the save image goes; NULL: the
                                   target SR (dir), else the state dir */
    uint64_t bandwidth;         /* bytes/s read; 0: none */
    bool no_wait;               /* fail at once if the storage slots are full */
    int cancel_fd;              /* readable means cancel; -1: none */
    xlmig_event_fn *event_fn;   /* phases, checks, info */
    void (*progress_fn)(void *arg, const struct xlmig_storage_progress *p);
    void *event_arg;            /* for both */
};
struct xlmig_storage_result {
    char source[1024], target[1024];
    uint64_t size, data, written;   /* virtual size, data read, written */
    double copy_s, verify_s, downtime_s, total_s;
    bool switched;              /* the config names the copy */
    uint32_t domid;             /* offline: the restored domain; else
                                   0x7ff4 (none) */
    char job[32];               /* its job id */
};
/*
 * Moves disk vdev of a halted domain (config_file) or of a running one
 * (offline: saved, destroyed, restored on the copy) to SR sr: copy,
 * verify, switch the config to the copy, remove the source. A running
 * domain without offline is refused (the live mover is another story).
 * On failure before the switch, the source stays in use and the partial
 * copy is removed; res->switched says which side is in use.
 */
XLMIG_API int xlmig_storage_move(struct xlmig_ctx *ctx,
                                 const struct xlmig_storage_opts *o,
                                 struct xlmig_storage_result *res);
/*
 * `xlmig disk-prepare`: makes disk vdev of the domain whose xl.cfg is
 * config_file movable live from its next boot. Its image gets a stable
 * name, the symlink link_dir/NAME-VDEV (link_dir NULL:
 * /var/lib/xlmig/disk; a target that is a symlink already is kept), which
 * the config then names; a qdisk gets a QMP monitor of xlmig's
 * (device_model_args_pv/_hvm "-qmp unix:/run/xen/xlmig-qmp-NAME.sock,
 * server=on,wait=off"), any other disk xlmig's block script
 * (script=block-xlmig; raw images only). The file is rewritten in place
 * (atomically, owner and mode kept), every other byte as it was; nothing
 * of a running domain changes. XLMIG_E_INVAL with the reason logged when
 * it cannot be done (a libxl JSON config, another hotplug script, device
 * model arguments of the admin's own, a non-raw blkback image).
 */
struct xlmig_disk_prepare_opts {
    const char *config_file;
    const char *vdev;
    const char *link_dir;
};
struct xlmig_disk_prepare_result {
    char link[1024];            /* the stable name the config names */
    char image[1024];           /* the image behind it */
    char how[16];               /* "qmp" or "block-xlmig" */
    bool changed;               /* the file was rewritten (false: it was
                                   prepared already) */
};
XLMIG_API int xlmig_disk_prepare(struct xlmig_ctx *ctx,
                                 const struct xlmig_disk_prepare_opts *o,
                                 struct xlmig_disk_prepare_result *res);

/*
 * The estimate of an offline move's downtime (save, copy, restore) in
 * seconds, for the confirmation asked before it: *size_r the disk's
 * virtual size and *data_r its allocated bytes.
 */
XLMIG_API int xlmig_storage_estimate(struct xlmig_ctx *ctx,
                                     const struct xlmig_storage_opts *o,
                                     uint64_t *size_r, uint64_t *data_r,
                                     double *seconds_r);

#ifdef __cplusplus
}
#endif

#endif /* LIBXLMIG_H */
