/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jobrun.h - the runner of job files (xlmig job-run, job-validate): what
 * cmd-job-run.c, cmd-job-validate.c and the jobrun-*.c files share.
 *
 * A job of the file becomes one or more tasks: one per domain it moves
 * (an evacuation's, a selection's), or one. Tasks run as child processes
 * of this program's own subcommands ("xlmig migrate --progress=json",
 * "xlmig storage-move", "xlmig check --json"), here or, for a job with
 * from=, over ssh on that host: the runner never touches a domain itself,
 * so everything a migration guarantees holds for each task, and a runner
 * that dies leaves migrations that finish or roll back on their own.
 */
#ifndef XLMIG_JOBRUN_H
#define XLMIG_JOBRUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <yajl/yajl_tree.h>

#include "cmd.h"
#include "internal.h"     /* xmalloc.c: x* abort on out-of-memory */
#include "jobxml.h"

#define JOBRUN_OUT_MAX (4 * 1024 * 1024)    /* a child's stdout kept */
#define JOBRUN_LINE_MAX 65536               /* one JSON event line */
#define JOBRUN_HOST_TIMEOUT_S 120           /* a query of a host */
#define JOBRUN_PHASES 16

/* Where the runner is: the program, the ssh command, the file. */
struct jobrun_env {
    struct cmd_ctx *c;
    char *self;                 /* this program, to run its subcommands */
    const char *ssh;            /* -s; NULL: "ssh" */
    const struct jobxml_file *f;
};

/* ---- jobrun-child.c: child processes ---------------------------------- */

struct jobrun_child {
    pid_t pid;                  /* -1: adopted (a child of a runner before) */
    bool files;                 /* output into files, not pipes */
    int out_fd, err_fd;         /* read ends; -1 once done with */
    char *out;                  /* stdout not yet consumed as lines */
    size_t out_len;
    char err_last[512];         /* the last line on stderr */
    char err_part[512];
    size_t err_part_len;
    bool overflow;              /* a stdout line was too long */
    int status;                 /* wait status, once reaped */
    bool reaped;
};

/*
 * Starts "xlmig ARGV..." on host (NULL: here, this program; else over
 * ssh to its address, quoted for the remote shell), in a process group of
 * its own, stdin /dev/null. With log (a path prefix) its stdout and
 * stderr go to LOG.out and LOG.err, so that it outlives this process
 * and a runner after it can read what it said; else into pipes. 0, or
 * -1 with *why_r.
 */
int jobrun_child_start(const struct jobrun_env *env,
                       const struct jobxml_host *host,
                       const char *const *argv, const char *log,
                       struct jobrun_child *ch, char **why_r);
/* Reads LOG.out and LOG.err of a child started by an earlier runner. */
int jobrun_child_adopt(const char *log, struct jobrun_child *ch,
                       char **why_r);
/*
 * Reads what is there: each complete stdout line goes to line_fn (if
 * set; else it is kept in ch->out up to JOBRUN_OUT_MAX). Reaps the child
 * when it has ended and all it wrote is read. true when it is done (an
 * adopted child never is: its caller watches its job instead).
 */
bool jobrun_child_read(struct jobrun_child *ch,
                       void (*line_fn)(void *arg, char *line), void *arg);
/* Signals the child (not its process group). */
void jobrun_child_signal(struct jobrun_child *ch, int sig);
/* Kills and reaps it (for errors only), frees what it holds. */
void jobrun_child_dispose(struct jobrun_child *ch);
/* Exit status 0..255 of a reaped child, or 128 + signal. */
int jobrun_child_exit(const struct jobrun_child *ch);
/*
 * Runs "xlmig ARGV..." on host to its end (at most timeout_s): its stdout
 * in *out_r (allocated), its exit status in *status_r. 0, or -1 with
 * *why_r when it could not run or timed out.
 */
int jobrun_host_run(const struct jobrun_env *env,
                    const struct jobxml_host *host, const char *const *argv,
                    unsigned timeout_s, char **out_r, int *status_r,
                    char **why_r);

/* ---- jobrun-host.c: what the runner asks of a host --------------------- */

struct jobrun_domain {
    char name[128];
    char uuid[37];
    uint32_t domid;
    uint64_t memory_kib;
};

/* Members of a JSON object the runner reads (a child's, a host's, the
 * state file): the string or NULL, the number or 0, whether it is true. */
const char *jobrun_json_str(yajl_val o, const char *key);
double jobrun_json_num(yajl_val o, const char *key);
bool jobrun_json_true(yajl_val o, const char *key);

/* The domains of host (NULL: here). 0, or -1 with *why_r. */
int jobrun_host_domains(const struct jobrun_env *env,
                        const struct jobxml_host *host,
                        struct jobrun_domain **list_r, size_t *n_r,
                        char **why_r);
/* The domain of that name or uuid in list, or NULL. */
const struct jobrun_domain *jobrun_domain_find(const struct jobrun_domain *l,
                                               size_t n, const char *dom);
/*
 * Whether host has the domain of that uuid running ("xlmig recover
 * --query", which a key restricted to ssh-serve may run too): 1 yes, 0
 * no, -1 could not ask (*why_r).
 */
int jobrun_host_has(const struct jobrun_env *env,
                    const struct jobxml_host *host, const char *uuid,
                    char **why_r);

/* One pre-flight check of a domain against a target, as placement uses. */
struct jobrun_check {
    bool ran;                   /* the checks could run */
    bool ok;                    /* no error (forced ones aside) */
    bool memory_known;
    uint64_t need_kib, free_kib;
    char *failed;               /* the ids of failing checks, "a,b" */
    char *remedy;               /* the first failing check's remedy */
    char *why;                  /* !ran: why not */
};
/* "xlmig check --json DOMAIN TARGET" run on from (NULL: here). */
void jobrun_host_check(const struct jobrun_env *env,
                       const struct jobxml_host *from, const char *domain,
                       const struct jobxml_host *to, const char *force,
                       struct jobrun_check *res);
/* Parses the output of xlmig check --json into res (ran stays false and
 * why is set when it is not one). */
void jobrun_check_parse(const char *json, struct jobrun_check *res);
void jobrun_check_dispose(struct jobrun_check *res);
/* "xlmig maintenance on REASON" / "off" on host. 0, or -1 with *why_r. */
int jobrun_host_maintenance(const struct jobrun_env *env,
                            const struct jobxml_host *host, bool on,
                            char **why_r);
/* Whether the xlmig job of that id still exists on host: 1, 0, -1. */
int jobrun_host_job_alive(const struct jobrun_env *env,
                          const struct jobxml_host *host, const char *id,
                          char **why_r);
/* "xlmig job-cancel ID" on host; its answer (a line) in *why_r. */
int jobrun_host_job_cancel(const struct jobrun_env *env,
                           const struct jobxml_host *host, const char *id,
                           char **why_r);

/* ---- jobrun.c: the run ------------------------------------------------- */

enum jobrun_state {
    JOBRUN_PENDING,
    JOBRUN_RUNNING,
    JOBRUN_DONE,
    JOBRUN_FAILED,
    JOBRUN_SKIPPED,
    JOBRUN_CANCELLED,
    JOBRUN_UNPLACED,
};

/* One domain moved, one disk, one check, one barrier. */
struct jobrun_task {
    char *id;                   /* the job's id, or "ID:DOMAIN" */
    size_t job;                 /* index into f->jobs */
    char *domain;               /* as its source names it; NULL: none */
    char uuid[37];              /* "" until known */
    char *to;                   /* target host name, or NULL */
    enum jobrun_state state;
    bool already;               /* nothing to do: it was there already */
    unsigned attempts;
    double started, ended;      /* unix time; 0: not yet */
    double next_try;            /* pending: not before (unix time) */
    char phase[16];             /* the phase it is in */
    double phase_at;            /* elapsed when it entered it */
    char phase_name[JOBRUN_PHASES][16];
    double phase_s[JOBRUN_PHASES];
    size_t n_phases;
    uint64_t bytes;             /* stream bytes (a disk move: written) */
    uint64_t wire_bytes;        /* what crossed the link */
    double rate, downtime_ms;
    bool has_downtime;
    char *error, *remedy;       /* one line each, or NULL */
    char *checks;               /* failing check ids ("B: memory; ...") */
    char xjob[32];              /* the xlmig job id, once it said */
    bool result_seen;           /* its result event came */
    bool result_ok;
    bool cancel_wanted, cancel_sent, timed_out, unsafe;
    bool adopting;              /* its child belongs to an earlier runner */
    bool adopted;               /* it did (its times come from its result) */
    double result_total;        /* the result's total_s */
    double adopt_poll;          /* next look at its job (monotonic) */
    double adopt_gone;          /* when its job was first seen gone */
    bool has_child;
    struct jobrun_child child;
};

/* A job of the file as the run sees it. */
struct jobrun_job {
    bool expanded;              /* its tasks exist */
    bool maintenance;           /* it put its source in maintenance */
};

struct jobrun {
    struct jobrun_env env;
    struct jobrun_task *t;
    size_t n_t;
    struct jobrun_job *jobs;    /* per job of the file */
    bool dry_run, json, tty;
    const char *state_path;     /* NULL: none (dry run) */
    char *log_dir;              /* the children's output */
    const char *report_path;
    double started;             /* unix time */
    bool stopping;              /* start nothing new */
    bool cancelled;             /* by a signal */
    char *stop_reason;
    int sig_fd;
    unsigned tty_lines;         /* live lines on screen */
};

const char *jobrun_state_name(enum jobrun_state s);
bool jobrun_state_parse(const char *name, enum jobrun_state *s_r);
/* Runs the file: exit status (0 all done, 1 not, 2 usage). */
int jobrun_run(struct jobrun *run);
/* A task appended to run (its id, job and domain copied). */
struct jobrun_task *jobrun_task_add(struct jobrun *run, size_t job,
                                    const char *id, const char *domain);
void jobrun_free(struct jobrun *run);

/* ---- jobrun-state.c: the state file and the report -------------------- */

/*
 * Reads a regular file of at most max bytes (NUL-terminated, allocated):
 * 0, 1 if it does not exist, -1 with *why_r ("PATH: what").
 */
int jobrun_read_file(const char *path, size_t max, char **text_r,
                     size_t *len_r, char **why_r);
/* The default state file of a job file: DIR/runs/NAME-HASH.json. */
char *jobrun_state_default(const char *file);
/*
 * Loads run->state_path if it exists: the tasks of an unfinished run.
 * 0 (nothing there is 0 too), or -1 with *why_r.
 */
int jobrun_state_load(struct jobrun *run, char **why_r);
/* Writes it durably (tmp, fsync, rename); -1 with *why_r. */
int jobrun_state_save(struct jobrun *run, char **why_r);
/* Removes it and the children's output (a run that ended all done). */
void jobrun_state_remove(struct jobrun *run);
/* The report, as the state file's tasks plus the outcome. */
int jobrun_report_write(struct jobrun *run, const char *path,
                        const char *result, char **why_r);

/* ---- cmd-job-validate.c: what both commands do first ------------------- */

/*
 * Reads and loads the job file at path into *f, printing each error as
 * "FILE:LINE: message" on stderr. CMD_EXIT_OK, or CMD_EXIT_FAILED (the
 * file is invalid or cannot be read).
 */
int jobrun_load_file(struct cmd_ctx *c, const char *path,
                     struct jobxml_file *f);
/* Fills env for the file (this program's path); -1 if it cannot. */
int jobrun_env_init(struct jobrun_env *env, struct cmd_ctx *c,
                    const char *ssh, const struct jobxml_file *f);
void jobrun_env_dispose(struct jobrun_env *env);

#endif /* XLMIG_JOBRUN_H */
