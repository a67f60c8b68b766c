/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * child.c - child processes with posix_spawn (no async-signal-safety traps
 * between fork and exec in a threaded process) and deadline-bounded reaping
 * through pidfd_open(2).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdio.h"
#include "child.h"

extern char **environ;

void child_init(struct child *sp)
{
    sp->pid = -1;
    sp->pidfd = -1;
    sp->to_child = -1;
    sp->from_child = -1;
    sp->what = NULL;
    sp->status = 0;
}

static void child_close_pipes(struct child *sp)
{
    if (sp->to_child >= 0) close(sp->to_child);
    if (sp->from_child >= 0) close(sp->from_child);
    sp->to_child = sp->from_child = -1;
}

void child_dispose(struct child *sp)
{
    child_close_pipes(sp);
    if (sp->pidfd >= 0) close(sp->pidfd);
    sp->pidfd = -1;
    free(sp->what);
    sp->what = NULL;
}

/*
 * Signals a child gets back to default, whatever its parent set; with
 * CHILD_SETSID it leads a new session (and process group, pgid = pid).
 */
static int child_attr(posix_spawnattr_t *attr, unsigned flags)
{
    sigset_t none, dfl;
    short sflags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;

    if (flags & CHILD_SETSID) sflags |= POSIX_SPAWN_SETSID;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGCHLD);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGHUP);
    if (posix_spawnattr_init(attr)) return -1;
    if (posix_spawnattr_setsigmask(attr, &none) ||
        posix_spawnattr_setsigdefault(attr, &dfl) ||
        posix_spawnattr_setflags(attr, sflags)) {
        posix_spawnattr_destroy(attr);
        return -1;
    }
    return 0;
}

int child_start(struct xlmig_ctx *ctx, struct child *sp, const char *what,
                char *const argv[], unsigned flags)
{
    return child_start_env(ctx, sp, what, argv, NULL, flags);
}

static int child_spawn(struct xlmig_ctx *ctx, struct child *sp,
                       const char *what, char *const argv[],
                       char *const envp[], unsigned flags,
                       const char *stdin_path);

int child_start_env(struct xlmig_ctx *ctx, struct child *sp,
                    const char *what, char *const argv[], char *const envp[],
                    unsigned flags)
{
    return child_spawn(ctx, sp, what, argv, envp, flags, NULL);
}

/* child_start_env, with stdin from stdin_path (not NULL) and, with
 * CHILD_STDERR_PIPE, stderr into the stdout pipe. */
static int child_spawn(struct xlmig_ctx *ctx, struct child *sp,
                       const char *what, char *const argv[],
                       char *const envp[], unsigned flags,
                       const char *stdin_path)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    bool fa_ok = false, attr_ok = false;
    int in[2] = { -1, -1 }, out[2] = { -1, -1 };
    pid_t pid;
    int r, rc;

    child_init(sp);
    sp->what = xstrdup(what);
    if ((flags & CHILD_STDIN_PIPE) && fdio_pipe(ctx, in)) {
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    if ((flags & CHILD_STDOUT_PIPE) && fdio_pipe(ctx, out)) {
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    r = posix_spawn_file_actions_init(&fa);
    if (r) { LOGEV(ctx, ERROR, r, "%s: spawn setup", what);
             rc = XLMIG_E_SYSTEM; goto out; }
    fa_ok = true;
    r = 0;
    /* dup2 onto 0/1 clears O_CLOEXEC there; the originals stay cloexec. */
    if (flags & CHILD_STDIN_PIPE)
        r = posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    else if (stdin_path)
        r = posix_spawn_file_actions_addopen(&fa, 0, stdin_path,
                                             O_RDONLY, 0);
    else if (flags & CHILD_STDIN_NULL)
        r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
                                             O_RDONLY, 0);
    if (!r && (flags & CHILD_STDOUT_PIPE))
        r = posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    if (!r && (flags & CHILD_STDOUT_PIPE) && (flags & CHILD_STDERR_PIPE))
        r = posix_spawn_file_actions_adddup2(&fa, out[1], 2);
    /* Last: it would close the pipes' originals before their dup2. */
    if (!r && (flags & CHILD_CLOSE_FDS))
        r = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (r || child_attr(&attr, flags)) {
        LOGEV(ctx, ERROR, r ? r : errno, "%s: spawn setup", what);
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    attr_ok = true;
    r = posix_spawnp(&pid, argv[0], &fa, &attr, argv,
                     envp ? envp : environ);
    if (r) {
        LOGEV(ctx, ERROR, r, "%s: cannot run %s", what, argv[0]);
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    sp->pid = pid;
    sp->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (sp->pidfd < 0)
        LOGE(ctx, WARN, "%s: pidfd_open; reaping without deadline", what);
    if (flags & CHILD_STDIN_PIPE) { sp->to_child = in[1]; in[1] = -1; }
    if (flags & CHILD_STDOUT_PIPE) { sp->from_child = out[0]; out[0] = -1; }
    LOG(ctx, DEBUG, "%s: started %s as pid %ld", what, argv[0], (long)pid);
    rc = XLMIG_OK;
out:
    if (fa_ok) posix_spawn_file_actions_destroy(&fa);
    if (attr_ok) posix_spawnattr_destroy(&attr);
    fdio_close_pair(in);
    fdio_close_pair(out);
    /* Nothing started: nothing for the caller to dispose of. */
    if (rc) child_dispose(sp);
    return rc;
}

const char *child_status_str(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, len, "ended with wait status %#x", status);
    return buf;
}

int child_wait(struct xlmig_ctx *ctx, struct child *sp, double deadline,
               int *status_r)
{
    struct pollfd pfd;
    pid_t r;
    int ms;

    *status_r = 0;
    if (sp->pid < 0) return XLMIG_E_INTERNAL;
    while (sp->pidfd >= 0) {
        ms = fdio_ms_until(ctx, deadline);
        if (ms == 0) return XLMIG_E_TIMEDOUT;
        pfd.fd = sp->pidfd;
        pfd.events = POLLIN;
        if (poll(&pfd, 1, ms) < 0) {
            if (errno == EINTR) continue;
            LOGE(ctx, ERROR, "%s: poll", sp->what);
            return XLMIG_E_SYSTEM;
        }
        if (pfd.revents) break;
    }
    do {
        r = waitpid(sp->pid, status_r, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        LOGE(ctx, ERROR, "%s: waitpid %ld", sp->what, (long)sp->pid);
        return XLMIG_E_SYSTEM;
    }
    sp->pid = -1;
    sp->status = *status_r;
    return XLMIG_OK;
}

void child_stop(struct xlmig_ctx *ctx, struct child *sp, double grace_s)
{
    char why[64];
    int status, rc;

    child_close_pipes(sp);
    if (sp->pid < 0) return;
    rc = child_wait(ctx, sp, ctx_now(ctx) + grace_s, &status);
    if (rc == XLMIG_E_TIMEDOUT) {
        kill(sp->pid, SIGTERM);
        rc = child_wait(ctx, sp, ctx_now(ctx) + grace_s, &status);
    }
    if (rc == XLMIG_E_TIMEDOUT) {
        kill(sp->pid, SIGKILL);
        rc = child_wait(ctx, sp, 0, &status);
    }
    if (rc) return;
    if (status)
        LOG(ctx, INFO, "%s %s", sp->what,
            child_status_str(status, why, sizeof(why)));
}

int child_run(struct xlmig_ctx *ctx, const char *what, char *const argv[],
              size_t max, unsigned timeout_s, char **out_r, int *status_r)
{
    struct fdio_wait w = fdio_wait_make(timeout_s, -1);
    struct child sp;
    char *out = xmalloc(max + 1);
    size_t len = 0, got;
    int rc;

    *out_r = NULL;
    *status_r = 0;
    /* Nothing of ours but its stdout: LVM's tools complain of any other
     * fd they inherit (ours are close-on-exec; our caller's may not be). */
    rc = child_start(ctx, &sp, what, argv,
                     CHILD_STDIN_NULL | CHILD_STDOUT_PIPE | CHILD_CLOSE_FDS);
    if (rc) goto out;
    do {
        if (len == max) {
            LOG(ctx, ERROR, "%s: output over %zu bytes", what, max);
            rc = XLMIG_E_TOOBIG;
            break;
        }
        rc = fdio_read_some(ctx, sp.from_child, out + len, max - len, &w,
                            what, &got);
        len += got;
    } while (!rc && got);
    child_stop(ctx, &sp, rc ? 0 : timeout_s);
    *status_r = sp.status;
    child_dispose(&sp);
    if (rc) goto out;
    out[len] = '\0';
    *out_r = out;
    out = NULL;
out:
    free(out);
    return rc;
}

int child_capture(struct xlmig_ctx *ctx, const char *what,
                  char *const argv[], size_t max, unsigned timeout_s,
                  char **out_r)
{
    char why[64];
    int rc, status;

    rc = child_run(ctx, what, argv, max, timeout_s, out_r, &status);
    if (!rc && status) {
        LOG(ctx, ERROR, "%s: %s %s", what, argv[0],
            child_status_str(status, why, sizeof(why)));
        free(*out_r);
        *out_r = NULL;
        rc = XLMIG_E_SYSTEM;
    }
    return rc;
}

/*
 * Whether the child has exited. It is not reaped yet, so its pid, which is
 * also its process group's id, cannot be reused by another process.
 */
bool child_exited(struct child *sp)
{
    siginfo_t si;

    if (sp->pidfd >= 0) return fdio_readable(sp->pidfd);
    memset(&si, 0, sizeof(si));
    return !waitid(P_PID, (id_t)sp->pid, &si,
                   WEXITED | WNOHANG | WNOWAIT) && si.si_pid == sp->pid;
}

/* One read of the child's stdout into out; at end of file it is closed. */
static int child_read(struct xlmig_ctx *ctx, struct child *sp, char *out,
                      size_t max, bool keep_tail, size_t *len_r)
{
    ssize_t r;

    /* The older half goes: what a program says last tells most. */
    if (*len_r == max && keep_tail && max >= 2) {
        memmove(out, out + max / 2, max - max / 2);
        *len_r = max - max / 2;
    }
    if (*len_r == max) {
        LOG(ctx, ERROR, "%s: output over %zu bytes", sp->what, max);
        return XLMIG_E_TOOBIG;
    }
    r = read(sp->from_child, out + *len_r, max - *len_r);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) return XLMIG_OK;
    if (r < 0) {
        LOGE(ctx, ERROR, "%s: read its output", sp->what);
        return XLMIG_E_SYSTEM;
    }
    if (r == 0) fdio_close(&sp->from_child);
    *len_r += (size_t)r;
    return XLMIG_OK;
}

/*
 * Reads the child's stdout until the child exits (not until end of file:
 * what it started may hold the pipe open). Without a pidfd, looks every
 * 100 ms.
 */
static int child_collect(struct xlmig_ctx *ctx, struct child *sp,
                         const struct child_run_opts *o, char *out,
                         size_t *len_r)
{
    struct pollfd p[2];
    int ms, rc;

    while (!child_exited(sp)) {
        ms = fdio_ms_until(ctx, o->deadline);
        if (ms == 0) {
            LOG(ctx, ERROR, "%s: still running at its deadline, killing "
                "its process group", sp->what);
            return XLMIG_E_TIMEDOUT;
        }
        if (sp->pidfd < 0 && (ms < 0 || ms > 100)) ms = 100;
        p[0].fd = sp->from_child;       /* poll ignores fd < 0 */
        p[0].events = POLLIN;
        p[1].fd = sp->pidfd;
        p[1].events = POLLIN;
        if (poll(p, ARRAY_SIZE(p), ms) < 0) {
            if (errno == EINTR) continue;
            LOGE(ctx, ERROR, "%s: poll", sp->what);
            return XLMIG_E_SYSTEM;
        }
        if (p[0].revents) {
            rc = child_read(ctx, sp, out, o->max, o->keep_tail, len_r);
            if (rc) return rc;
        }
    }
    return XLMIG_OK;
}

int child_run_group(struct xlmig_ctx *ctx, const char *what,
                    char *const argv[], const struct child_run_opts *o,
                    char **out_r, int *status_r)
{
    struct child sp;
    char *out = xmalloc(o->max + 1);
    size_t len = 0;
    int rc, status;

    *out_r = NULL;
    *status_r = 0;
    rc = child_spawn(ctx, &sp, what, argv, o->envp,
                     CHILD_STDIN_NULL | CHILD_STDOUT_PIPE | CHILD_SETSID |
                     CHILD_CLOSE_FDS |
                     (o->stderr_too ? CHILD_STDERR_PIPE : 0),
                     o->stdin_path);
    if (rc) goto out;
    rc = child_collect(ctx, &sp, o, out, &len);
    /* Before the reap: until then the group's id is still ours. */
    if (kill(-sp.pid, SIGKILL) && errno != ESRCH)
        LOGE(ctx, WARN, "%s: kill its process group %ld", what,
             (long)sp.pid);
    /* What it wrote before it exited; the killed write no more. */
    while (!rc && sp.from_child >= 0 && fdio_readable(sp.from_child))
        rc = child_read(ctx, &sp, out, o->max, o->keep_tail, &len);
    if (child_wait(ctx, &sp, 0, &status) == XLMIG_OK)
        *status_r = status;
    if (rc) goto out;
    out[len] = '\0';
    *out_r = out;
    out = NULL;
out:
    child_dispose(&sp);
    free(out);
    return rc;
}
