/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * child.h - child processes for libxlmig (transport command, xl config
 * conversion): posix_spawn with pipes, and reaping with a deadline through
 * a pidfd. Each child is reaped by its own pid, so this coexists with
 * libxl's "always selective reap" SIGCHLD mode.
 */
#ifndef XLMIG_CHILD_H
#define XLMIG_CHILD_H

#include <stdbool.h>
#include <sys/types.h>

#include "internal.h"

#define CHILD_STDIN_PIPE    (1u << 0)   /* sp->to_child writes its stdin */
#define CHILD_STDOUT_PIPE   (1u << 1)   /* sp->from_child reads stdout */
#define CHILD_STDIN_NULL    (1u << 2)   /* stdin is /dev/null */
#define CHILD_SETSID        (1u << 3)   /* own session and process group */
#define CHILD_CLOSE_FDS     (1u << 4)   /* fds above 2 closed, even those
                                           without O_CLOEXEC */
#define CHILD_STDERR_PIPE   (1u << 5)   /* stderr into sp->from_child too */

struct child {
    pid_t pid;                  /* -1: none */
    int pidfd;                  /* readable when the child exited */
    int to_child;               /* -1 unless CHILD_STDIN_PIPE */
    int from_child;             /* -1 unless CHILD_STDOUT_PIPE */
    char *what;                 /* for messages: "transport", ... */
    int status;                 /* wait status once reaped (pid -1) */
};

void child_init(struct child *sp);
/* Starts argv[0] (searched in PATH); all other fds stay closed to it. */
MUST_CHECK int child_start(struct xlmig_ctx *ctx, struct child *sp,
                           const char *what, char *const argv[],
                           unsigned flags);
/*
 * As child_start, with envp (NULL-terminated "NAME=VALUE") as the child's
 * whole environment; NULL: ours. argv[0] is still searched in our PATH.
 */
MUST_CHECK int child_start_env(struct xlmig_ctx *ctx, struct child *sp,
                               const char *what, char *const argv[],
                               char *const envp[], unsigned flags);
/*
 * Reaps the child, waiting until the monotonic deadline (0: forever).
 * XLMIG_E_TIMEDOUT leaves it running. *status_r is waitpid's status.
 */
MUST_CHECK int child_wait(struct xlmig_ctx *ctx, struct child *sp,
                          double deadline, int *status_r);
/*
 * Ends the child: SIGTERM, then SIGKILL after grace_s, then reaps it.
 * Logs a non-zero exit as a fact; never fails. Closes the pipes.
 */
void child_stop(struct xlmig_ctx *ctx, struct child *sp, double grace_s);
/* Whether the child has exited; not reaped yet, so its pid (and process
 * group id) stays ours. */
bool child_exited(struct child *sp);
/* Closes the pipes and frees; the child must already be reaped. */
void child_dispose(struct child *sp);
/*
 * Runs argv with stdin from /dev/null and returns its stdout (at most max
 * bytes, NUL-terminated, allocated) if it exits 0 within timeout_s.
 */
MUST_CHECK int child_capture(struct xlmig_ctx *ctx, const char *what,
                             char *const argv[], size_t max,
                             unsigned timeout_s, char **out_r);
/*
 * As child_capture, but whatever the exit status: *status_r is waitpid's.
 * XLMIG_E_TIMEDOUT (the child is killed) after timeout_s.
 */
MUST_CHECK int child_run(struct xlmig_ctx *ctx, const char *what,
                         char *const argv[], size_t max, unsigned timeout_s,
                         char **out_r, int *status_r);
/*
 * child_run_group: runs argv in a session and process group of its own
 * (CHILD_SETSID), with stdin /dev/null, every fd above 2 closed and envp
 * as its whole environment (NULL: ours), and collects its stdout (at most
 * max bytes, NUL-terminated, allocated in *out_r) until it exits. Then
 * whatever is left of its process group is killed (SIGKILL), so nothing
 * it started in the background survives it or holds its stdout open for
 * us. At the monotonic deadline (0: none), which bounds the whole run,
 * the whole group is killed: XLMIG_E_TIMEDOUT (logged), *out_r NULL.
 * Output over max: XLMIG_E_TOOBIG, the group killed too. *status_r is
 * waitpid's status (any, as in child_run). A process that leaves the
 * group (setsid) escapes the kill but not the deadline. A stdin_path that
 * cannot be opened is a failure to start, as a missing program is.
 */
struct child_run_opts {
    char *const *envp;          /* the whole environment; NULL: ours */
    size_t max;                 /* stdout bytes kept */
    double deadline;            /* monotonic seconds; 0: none */
    const char *stdin_path;     /* opened read-only as stdin; NULL:
                                   /dev/null */
    bool stderr_too;            /* stderr into the same pipe as stdout */
    bool keep_tail;             /* over max: keep the last max bytes
                                   instead of XLMIG_E_TOOBIG */
};
MUST_CHECK int child_run_group(struct xlmig_ctx *ctx, const char *what,
                               char *const argv[],
                               const struct child_run_opts *o,
                               char **out_r, int *status_r);
/* "exited with status 3", "killed by signal 9" (static storage). */
const char *child_status_str(int status, char *buf, size_t len);

#endif /* XLMIG_CHILD_H */
