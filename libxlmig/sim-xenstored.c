/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sim-xenstored.c - starts and stops a sim host's xenstored (see
 * sim-xenstored.h). The daemon is forked twice into a session of its own,
 * so it is never our child: nothing is left for the caller to reap, and it
 * outlives the caller. A lock on the run directory serialises starts and
 * stops of one host; its pid file and command line identify the daemon.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>         /* needs stdint.h first */

#include "fdio.h"
#include "sim-xenstored.h"

extern char **environ;

#define SIMXS_DAEMON_ENV "XLMIG_XENSTORED"
#define SIMXS_DAEMON_CACHE \
    "/var/cache/xlmig/xen-utils-4.17/usr/lib/xen-4.17/bin/xenstored"
#define SIMXS_DAEMON_SYSTEM "/usr/lib/xen-4.17/bin/xenstored"
#define SIMXS_SHIM_ENV "XLMIG_XSSHIM"
#define SIMXS_SHIM_DEFAULT PKGLIBEXECDIR "/xlmig-xsshim.so"

#define SIMXS_START_S 10        /* until the daemon answers */
#define SIMXS_STOP_S 5          /* after SIGTERM, and again after SIGKILL */
#define SIMXS_PROBE_MS 10       /* between two start probes */
#define SIMXS_PID_LEN 32        /* of the pid file, at most */
#define SIMXS_CMDLINE_LEN 4096  /* of /proc/PID/cmdline, at most */
#define SIMXS_PROBE_PATH "/"
#define SIMXS_PROBE_REQ_ID 0x786c6d67u

#define SIMXS_SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

struct simxs_paths {
    char *rundir;               /* absolute: the daemon runs in "/" */
    char *socket;
    char *pidfile;
    char *log;
};

/* What the two forked processes report to the parent, in order. */
enum simxs_step {
    SIMXS_STEP_PID,             /* the daemon's pid; not a failure */
    SIMXS_STEP_SETSID,
    SIMXS_STEP_FORK,
    SIMXS_STEP_SETUP,           /* stdio, cwd */
    SIMXS_STEP_EXEC,
};

struct simxs_status {
    enum simxs_step step;
    int err;                    /* errno of the failed step */
    pid_t pid;
};

/*
 * Not inherited by the daemon: ours replace them. The daemon binds
 * XENSTORED_PATH rather than its run directory, and a caller that talks
 * to another host's store may have set it; a caller's LD_PRELOAD (say,
 * valgrind's) is not meant for the daemon.
 */
static const char *const simxs_env_replaced[] = {
    "LD_PRELOAD=", "XENSTORED_RUNDIR=", "XENSTORED_PATH=",
};

char *simxs_socket_path(const char *hostdir)
{
    return xasprintf("%s/xenstored/socket", hostdir);
}

static void simxs_paths_init(struct simxs_paths *p)
{
    p->rundir = p->socket = p->pidfile = p->log = NULL;
}

static void simxs_paths_dispose(struct simxs_paths *p)
{
    free(p->rundir);
    free(p->socket);
    free(p->pidfile);
    free(p->log);
    simxs_paths_init(p);
}

/* XLMIG_E_NOTFOUND, not logged, if hostdir does not exist. */
static int simxs_paths_make(struct xlmig_ctx *ctx, const char *hostdir,
                            struct simxs_paths *p)
{
    char *abs = realpath(hostdir, NULL);

    if (!abs) {
        if (errno == ENOENT) return XLMIG_E_NOTFOUND;
        LOGE(ctx, ERROR, "host directory %s", hostdir);
        return XLMIG_E_SYSTEM;
    }
    p->rundir = xasprintf("%s/xenstored", abs);
    p->socket = xasprintf("%s/socket", p->rundir);
    p->pidfile = xasprintf("%s/pid", p->rundir);
    p->log = xasprintf("%s/log", p->rundir);
    free(abs);
    return XLMIG_OK;
}

/* ---- locating the daemon and the shim ------------------------------ */

/* path made absolute if it exists with access mode; NULL (errno) if not. */
static char *simxs_usable(const char *path, int mode)
{
    char *abs = realpath(path, NULL);

    if (abs && access(abs, mode) < 0) {
        free(abs);
        abs = NULL;
    }
    return abs;
}

static int simxs_from_env(struct xlmig_ctx *ctx, const char *what,
                          const char *var, const char *val, int mode,
                          char **path_r)
{
    *path_r = simxs_usable(val, mode);
    if (*path_r) return XLMIG_OK;
    LOGE(ctx, ERROR, "%s %s (from %s)", what, val, var);
    return XLMIG_E_NOTFOUND;
}

static int simxs_find_daemon(struct xlmig_ctx *ctx, char **path_r)
{
    const char *env = getenv(SIMXS_DAEMON_ENV);

    if (env && *env)
        return simxs_from_env(ctx, "xenstored", SIMXS_DAEMON_ENV, env,
                              X_OK, path_r);
    *path_r = simxs_usable(SIMXS_DAEMON_CACHE, X_OK);
    if (!*path_r) *path_r = simxs_usable(SIMXS_DAEMON_SYSTEM, X_OK);
    if (*path_r) return XLMIG_OK;
    LOG(ctx, ERROR, "xenstored not found at %s or %s; scripts/install-deps "
        "provides it", SIMXS_DAEMON_CACHE, SIMXS_DAEMON_SYSTEM);
    return XLMIG_E_NOTFOUND;
}

static int simxs_find_shim(struct xlmig_ctx *ctx, char **path_r)
{
    const char *env = getenv(SIMXS_SHIM_ENV);
    int rc;

    if (env && *env) {
        rc = simxs_from_env(ctx, "xenstored shim", SIMXS_SHIM_ENV, env,
                            R_OK, path_r);
        if (rc) return rc;
    } else {
        *path_r = simxs_usable(SIMXS_SHIM_DEFAULT, R_OK);
        if (!*path_r) {
            LOG(ctx, ERROR, "xenstored shim not found at %s; make install "
                "provides it (or set %s)", SIMXS_SHIM_DEFAULT,
                SIMXS_SHIM_ENV);
            return XLMIG_E_NOTFOUND;
        }
    }
    /* LD_PRELOAD splits at both. */
    if (strpbrk(*path_r, ": ")) {
        LOG(ctx, ERROR, "xenstored shim %s: LD_PRELOAD cannot name a path "
            "with ':' or ' '", *path_r);
        free(*path_r);
        *path_r = NULL;
        return XLMIG_E_INVAL;
    }
    return XLMIG_OK;
}

/* ---- the daemon's process ------------------------------------------ */

static bool simxs_env_kept(const char *var)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(simxs_env_replaced); i++)
        if (!strncmp(var, simxs_env_replaced[i],
                     strlen(simxs_env_replaced[i])))
            return false;
    return true;
}

/* Ours, with the shim preloaded and the daemon's own run directory. */
static char **simxs_env_new(const char *shim, const char *rundir)
{
    size_t n = 0, i, j = 0;
    char **env;

    while (environ && environ[n]) n++;
    env = xcalloc(n + 3, sizeof(*env));
    for (i = 0; i < n; i++)
        if (simxs_env_kept(environ[i])) env[j++] = xstrdup(environ[i]);
    env[j++] = xasprintf("LD_PRELOAD=%s", shim);
    env[j] = xasprintf("XENSTORED_RUNDIR=%s", rundir);
    return env;
}

static void simxs_env_free(char **env)
{
    size_t i;

    for (i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

static const char *simxs_step_name(enum simxs_step step)
{
    switch (step) {
    case SIMXS_STEP_PID: return "pid";
    case SIMXS_STEP_SETSID: return "setsid for";
    case SIMXS_STEP_FORK: return "fork for";
    case SIMXS_STEP_SETUP: return "stdio or cwd for";
    case SIMXS_STEP_EXEC: return "execve";
    }
    return "unknown step of";
}

/*
 * Between fork and exec the caller may have other threads: only
 * async-signal-safe calls from here to simxs_detach().
 */
static void simxs_report(int fd, enum simxs_step step, int err, pid_t pid)
{
    struct simxs_status st = { .step = step, .err = err, .pid = pid };
    ssize_t r = write(fd, &st, sizeof(st));

    (void)r;                    /* nobody left to tell */
}

/*
 * The daemon: stdin /dev/null, stdout and stderr to the log, cwd "/",
 * default signals, no other fd. Never returns.
 */
static void simxs_exec(int status_fd, int log_fd, char *const argv[],
                       char *const envp[])
{
    static const int dfl[] = { SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa = { .sa_handler = SIG_DFL };
    sigset_t none;
    int null_fd;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(dfl); i++)
        sigaction(dfl[i], &sa, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Above 2 first, in case the caller closed its stdio: no dup2 below
     * may land on one of them. */
    status_fd = fcntl(status_fd, F_DUPFD_CLOEXEC, 3);
    if (status_fd < 0) _exit(127);
    log_fd = fcntl(log_fd, F_DUPFD_CLOEXEC, 3);
    null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd >= 0) null_fd = fcntl(null_fd, F_DUPFD_CLOEXEC, 3);
    if (log_fd < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 ||
        dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0 || chdir("/") < 0) {
        simxs_report(status_fd, SIMXS_STEP_SETUP, errno, 0);
        _exit(127);
    }
    /* An fd the caller left inheritable must not reach the daemon. */
    close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
    execve(argv[0], argv, envp);
    simxs_report(status_fd, SIMXS_STEP_EXEC, errno, 0);
    _exit(127);
}

/* The middle process: a new session, the daemon forked off, then gone. */
static void simxs_detach(int status_fd, int log_fd, char *const argv[],
                         char *const envp[])
{
    pid_t pid;

    if (setsid() < 0) {
        simxs_report(status_fd, SIMXS_STEP_SETSID, errno, 0);
        _exit(1);
    }
    pid = fork();
    if (pid < 0) {
        simxs_report(status_fd, SIMXS_STEP_FORK, errno, 0);
        _exit(1);
    }
    if (pid == 0) simxs_exec(status_fd, log_fd, argv, envp);
    simxs_report(status_fd, SIMXS_STEP_PID, 0, pid);
    _exit(0);
}

/*
 * Runs argv detached and sets *pid_r once execve succeeded. The status
 * pipe reaches end of file when the middle process has exited and the
 * daemon's execve closed its copy.
 */
static int simxs_spawn(struct xlmig_ctx *ctx, char *const argv[],
                       char *const envp[], int log_fd, pid_t *pid_r)
{
    struct fdio_wait w = fdio_wait_make(SIMXS_START_S, -1);
    struct simxs_status st;
    int fds[2] = { -1, -1 };
    pid_t mid, pid = -1, r;
    size_t got;
    int status, rc;

    *pid_r = -1;
    if (pipe2(fds, O_CLOEXEC) < 0) {
        LOGE(ctx, ERROR, "pipe");
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    mid = fork();
    if (mid < 0) {
        LOGE(ctx, ERROR, "fork");
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    if (mid == 0) simxs_detach(fds[1], log_fd, argv, envp);
    fdio_close(&fds[1]);
    for (;;) {
        rc = fdio_read_some(ctx, fds[0], &st, sizeof(st), &w,
                            "xenstored start status", &got);
        if (rc || !got) break;
        if (got != sizeof(st)) {
            LOG(ctx, ERROR, "status record of %zu bytes", got);
            rc = XLMIG_E_INTERNAL;
            break;
        }
        if (st.step == SIMXS_STEP_PID) {
            pid = st.pid;
            continue;
        }
        LOGEV(ctx, ERROR, st.err, "%s %s", simxs_step_name(st.step),
              argv[0]);
        rc = XLMIG_E_SYSTEM;
        break;
    }
    do {
        r = waitpid(mid, &status, 0);
    } while (r < 0 && errno == EINTR);
    /* ECHILD: the caller ignores SIGCHLD or reaped it itself. */
    if (r < 0 && errno != ECHILD)
        LOGE(ctx, WARN, "waitpid %ld", (long)mid);
    if (rc) goto out;
    if (pid <= 0) {
        LOG(ctx, ERROR, "no pid reported for %s", argv[0]);
        rc = XLMIG_E_INTERNAL;
        goto out;
    }
    *pid_r = pid;
out:
    fdio_close_pair(fds);
    return rc;
}

/* ---- processes that are not our children --------------------------- */

/*
 * One is followed through a pidfd where the kernel has them (valgrind
 * 3.19 does not), else by its pid alone: its exit is then polled in
 * /proc, and a signal could reach a process that took over the pid after
 * it was checked.
 */
struct simxs_proc {
    pid_t pid;                  /* -1: none */
    int pidfd;                  /* -1: none, see above */
};

static void simxs_proc_init(struct simxs_proc *pr)
{
    pr->pid = -1;
    pr->pidfd = -1;
}

static void simxs_proc_dispose(struct simxs_proc *pr)
{
    if (pr->pidfd >= 0) close(pr->pidfd);
    simxs_proc_init(pr);
}

/*
 * Up to size - 1 bytes of a small file, NUL-terminated. Returns 0 or the
 * errno of the failed open or read, not an XLMIG_E_* code: callers test
 * it (ENOENT) or log it, and map it themselves.
 */
static int simxs_read_file(const char *path, char *buf, size_t size,
                           size_t *len_r)
{
    size_t len = 0;
    ssize_t n;
    int fd, err = 0;

    *len_r = 0;
    buf[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    while (len < size - 1) {
        n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) err = errno;
        if (n <= 0) break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    *len_r = len;
    return err;
}

/* Gone, or a zombie: it has exited, whoever reaps it. */
static bool simxs_pid_exited(pid_t pid)
{
    char path[64], buf[512];
    const char *state;
    size_t len;
    int err;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    err = simxs_read_file(path, buf, sizeof(buf), &len);
    if (err) return err == ENOENT || err == ESRCH;
    state = strrchr(buf, ')');          /* the name may hold ')' too */
    return state && (!strncmp(state, ") Z", 3) || !strncmp(state, ") X", 3));
}

/* XLMIG_E_NOTFOUND, not logged, if it has exited already. */
static int simxs_proc_open(struct xlmig_ctx *ctx, pid_t pid,
                           struct simxs_proc *pr)
{
    simxs_proc_init(pr);
    pr->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pr->pidfd < 0 && errno == ESRCH) return XLMIG_E_NOTFOUND;
    if (pr->pidfd < 0 && errno != ENOSYS) {
        LOGE(ctx, ERROR, "pidfd_open %ld", (long)pid);
        return XLMIG_E_SYSTEM;
    }
    if (pr->pidfd < 0 && simxs_pid_exited(pid)) return XLMIG_E_NOTFOUND;
    pr->pid = pid;
    return XLMIG_OK;
}

/*
 * Whether it has exited within ms. A failed poll only means "not yet":
 * every caller loops until its own deadline.
 */
static bool simxs_proc_wait(const struct simxs_proc *pr, int ms)
{
    struct pollfd pfd = { .fd = pr->pidfd, .events = POLLIN };

    if (pr->pidfd >= 0) return poll(&pfd, 1, ms) > 0;
    if (simxs_pid_exited(pr->pid)) return true;
    poll(NULL, 0, ms < SIMXS_PROBE_MS ? ms : SIMXS_PROBE_MS);
    return simxs_pid_exited(pr->pid);
}

static int simxs_proc_signal(struct xlmig_ctx *ctx,
                             const struct simxs_proc *pr, int sig)
{
    long r;

    if (pr->pidfd >= 0)
        r = syscall(SYS_pidfd_send_signal, pr->pidfd, sig, NULL, 0);
    else
        r = kill(pr->pid, sig);
    if (r < 0 && errno != ESRCH) {
        LOGE(ctx, ERROR, "signal %d to xenstored pid %ld", sig,
             (long)pr->pid);
        return XLMIG_E_SYSTEM;
    }
    return XLMIG_OK;
}

/* Until it has exited, at most secs. */
static int simxs_wait_exit(struct xlmig_ctx *ctx,
                           const struct simxs_proc *pr, int secs)
{
    double deadline = ctx_now(ctx) + secs;
    int ms;

    do {
        ms = fdio_ms_until(ctx, deadline);
        if (simxs_proc_wait(pr, ms)) return XLMIG_OK;
    } while (ms > 0);
    return XLMIG_E_TIMEDOUT;
}

/* SIGTERM, then SIGKILL. Once it has exited, its new parent reaps it. */
static int simxs_kill(struct xlmig_ctx *ctx, const struct simxs_proc *pr)
{
    static const int sigs[] = { SIGTERM, SIGKILL };
    int rc = XLMIG_E_TIMEDOUT;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(sigs) && rc == XLMIG_E_TIMEDOUT; i++) {
        if (i)
            LOG(ctx, WARN, "xenstored pid %ld outlived SIGTERM by %d s; "
                "killing it", (long)pr->pid, SIMXS_STOP_S);
        rc = simxs_proc_signal(ctx, pr, sigs[i]);
        if (rc) return rc;
        rc = simxs_wait_exit(ctx, pr, SIMXS_STOP_S);
    }
    if (rc == XLMIG_E_TIMEDOUT)
        LOG(ctx, ERROR, "xenstored pid %ld outlived SIGKILL by %d s",
            (long)pr->pid, SIMXS_STOP_S);
    return rc;
}

/* ---- finding and probing the daemon -------------------------------- */

/*
 * Whether pid is the daemon started for this pid file: its command line
 * has "-F <pidfile>". A zombie's is empty, so it is not.
 */
static bool simxs_is_ours(pid_t pid, const char *pidfile)
{
    char path[64], buf[SIMXS_CMDLINE_LEN];
    const char *prev = "";
    size_t len, off;

    snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
    if (simxs_read_file(path, buf, sizeof(buf), &len)) return false;
    for (off = 0; off < len; off += strlen(buf + off) + 1) {
        if (!strcmp(prev, "-F") && !strcmp(buf + off, pidfile)) return true;
        prev = buf + off;
    }
    return false;
}

/*
 * The daemon that the pid file names, if it runs and is ours; else
 * pr->pid is -1 (no pid file, or a stale one).
 */
static int simxs_find_running(struct xlmig_ctx *ctx,
                              const struct simxs_paths *p,
                              struct simxs_proc *pr)
{
    char buf[SIMXS_PID_LEN], *end;
    size_t len;
    long v;
    int err, rc;

    simxs_proc_init(pr);
    err = simxs_read_file(p->pidfile, buf, sizeof(buf), &len);
    if (err == ENOENT) return XLMIG_OK;
    if (err) {
        LOGEV(ctx, ERROR, err, "read %s", p->pidfile);
        return XLMIG_E_SYSTEM;
    }
    errno = 0;
    v = strtol(buf, &end, 10);
    if (errno || end == buf || (*end && *end != '\n') || v <= 0 ||
        v > INT_MAX) {
        LOG(ctx, DEBUG, "%s holds no pid; ignored", p->pidfile);
        return XLMIG_OK;
    }
    rc = simxs_proc_open(ctx, (pid_t)v, pr);
    if (rc == XLMIG_E_NOTFOUND) {
        LOG(ctx, DEBUG, "%s: pid %ld is gone", p->pidfile, v);
        return XLMIG_OK;
    }
    if (rc) return rc;
    /* Checked once the pidfd is open: signals sent through it cannot
     * reach a process that takes over the pid later. */
    if (!simxs_is_ours(pr->pid, p->pidfile)) {
        LOG(ctx, DEBUG, "%s: pid %ld is not its xenstored", p->pidfile, v);
        simxs_proc_dispose(pr);
    }
    return XLMIG_OK;
}

/*
 * Whether the daemon serves requests: an XS_DIRECTORY of "/" is answered
 * within timeout_ms. Any failure only means "not yet".
 */
static bool simxs_answers(const char *path, int timeout_ms)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct xsd_sockmsg hdr = {
        .type = XS_DIRECTORY, .req_id = SIMXS_PROBE_REQ_ID,
        .tx_id = 0, .len = sizeof(SIMXS_PROBE_PATH),
    };
    char req[sizeof(hdr) + sizeof(SIMXS_PROBE_PATH)];
    struct pollfd pfd;
    bool ok = false;
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) return false;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    memcpy(req, &hdr, sizeof(hdr));
    memcpy(req + sizeof(hdr), SIMXS_PROBE_PATH, sizeof(SIMXS_PROBE_PATH));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    pfd.fd = fd;
    pfd.events = POLLIN;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        send(fd, req, sizeof(req), MSG_NOSIGNAL) == (ssize_t)sizeof(req) &&
        poll(&pfd, 1, timeout_ms) > 0 &&
        recv(fd, &hdr, sizeof(hdr), MSG_DONTWAIT) == (ssize_t)sizeof(hdr))
        ok = hdr.type == XS_DIRECTORY && hdr.req_id == SIMXS_PROBE_REQ_ID;
    close(fd);
    return ok;
}

static int simxs_wait_ready(struct xlmig_ctx *ctx,
                            const struct simxs_paths *p,
                            const struct simxs_proc *pr)
{
    double deadline = ctx_now(ctx) + SIMXS_START_S;
    int ms;

    while (!simxs_answers(p->socket, SIMXS_PROBE_MS)) {
        ms = fdio_ms_until(ctx, deadline);
        if (ms == 0) {
            LOG(ctx, ERROR, "xenstored pid %ld did not answer on %s within "
                "%d s; see %s", (long)pr->pid, p->socket, SIMXS_START_S,
                p->log);
            return XLMIG_E_TIMEDOUT;
        }
        if (simxs_proc_wait(pr, ms < SIMXS_PROBE_MS ? ms : SIMXS_PROBE_MS)) {
            LOG(ctx, ERROR, "xenstored exited while starting; see %s",
                p->log);
            return XLMIG_E_XS;
        }
    }
    return XLMIG_OK;
}

/* Cleanup: a failure is logged, never returned. */
static void simxs_remove(struct xlmig_ctx *ctx, const char *path)
{
    if (unlink(path) < 0 && errno != ENOENT)
        LOGE(ctx, WARN, "unlink %s", path);
}

/*
 * Serialises starts and stops of one host: a flock on the run directory,
 * so no lock file is left behind. Blocks only while another simxs_start
 * or simxs_stop runs, and they are bounded. XLMIG_E_NOTFOUND, not logged,
 * if the directory does not exist.
 */
static int simxs_lock(struct xlmig_ctx *ctx, const char *rundir, int *fd_r)
{
    int fd, r;

    *fd_r = -1;
    fd = open(rundir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return XLMIG_E_NOTFOUND;
    if (fd < 0) {
        LOGE(ctx, ERROR, "open %s", rundir);
        return XLMIG_E_SYSTEM;
    }
    do {
        r = flock(fd, LOCK_EX);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        LOGE(ctx, ERROR, "flock %s", rundir);
        close(fd);
        return XLMIG_E_SYSTEM;
    }
    *fd_r = fd;
    return XLMIG_OK;
}

/* ---- the API ------------------------------------------------------- */

/* Runs the daemon; the caller holds the lock and none runs. */
static int simxs_launch(struct xlmig_ctx *ctx, const struct simxs_paths *p,
                        const char *daemon, const char *shim)
{
    char *argv[] = { (char *)daemon, "-N", "-F", p->pidfile, NULL };
    char **envp = simxs_env_new(shim, p->rundir);
    struct simxs_proc pr;
    int log_fd = -1;
    pid_t pid;
    int rc;

    simxs_proc_init(&pr);
    /* The daemon does not truncate its pid file: a longer stale pid
     * would leave digits behind. */
    simxs_remove(ctx, p->pidfile);
    log_fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        LOGE(ctx, ERROR, "open %s", p->log);
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    rc = simxs_spawn(ctx, argv, envp, log_fd, &pid);
    if (rc) goto out;
    rc = simxs_proc_open(ctx, pid, &pr);
    if (rc == XLMIG_E_NOTFOUND) {
        LOG(ctx, ERROR, "xenstored exited while starting; see %s", p->log);
        rc = XLMIG_E_XS;
        goto out;
    }
    if (rc) {
        kill(pid, SIGKILL);     /* ours: it has just been started */
        goto out;
    }
    rc = simxs_wait_ready(ctx, p, &pr);
    if (rc) {
        if (!simxs_kill(ctx, &pr)) {
            simxs_remove(ctx, p->socket);
            simxs_remove(ctx, p->pidfile);
        }
        goto out;
    }
    LOG(ctx, DEBUG, "xenstored for %s runs as pid %ld", p->rundir,
        (long)pid);
out:
    simxs_proc_dispose(&pr);
    if (log_fd >= 0) close(log_fd);
    simxs_env_free(envp);
    return rc;
}

int simxs_start(struct xlmig_ctx *ctx, const char *hostdir)
{
    struct simxs_paths p;
    struct simxs_proc pr;
    char *daemon = NULL, *shim = NULL;
    int lock_fd = -1;
    int rc;

    simxs_paths_init(&p);
    simxs_proc_init(&pr);
    rc = simxs_paths_make(ctx, hostdir, &p);
    if (rc == XLMIG_E_NOTFOUND)
        LOG(ctx, ERROR, "host directory %s does not exist", hostdir);
    if (rc) goto out;
    rc = simxs_find_daemon(ctx, &daemon);
    if (rc) goto out;
    rc = simxs_find_shim(ctx, &shim);
    if (rc) goto out;
    if (strlen(p.socket) >= SIMXS_SUN_PATH_MAX) {
        LOG(ctx, ERROR, "socket path %s is over %zu bytes", p.socket,
            SIMXS_SUN_PATH_MAX - 1);
        rc = XLMIG_E_TOOBIG;
        goto out;
    }
    if (mkdir(p.rundir, 0755) < 0 && errno != EEXIST) {
        LOGE(ctx, ERROR, "mkdir %s", p.rundir);
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    rc = simxs_lock(ctx, p.rundir, &lock_fd);
    if (rc == XLMIG_E_NOTFOUND)
        LOG(ctx, ERROR, "%s vanished", p.rundir);
    if (rc) goto out;
    rc = simxs_find_running(ctx, &p, &pr);
    if (rc) goto out;
    if (pr.pid > 0) {
        LOG(ctx, ERROR, "xenstored already runs for %s (pid %ld)", hostdir,
            (long)pr.pid);
        rc = XLMIG_E_EXISTS;
        goto out;
    }
    rc = simxs_launch(ctx, &p, daemon, shim);
out:
    simxs_proc_dispose(&pr);
    if (lock_fd >= 0) close(lock_fd);
    free(daemon);
    free(shim);
    simxs_paths_dispose(&p);
    return rc;
}

int simxs_stop(struct xlmig_ctx *ctx, const char *hostdir)
{
    struct simxs_paths p;
    struct simxs_proc pr;
    int lock_fd = -1;
    int rc;

    simxs_paths_init(&p);
    simxs_proc_init(&pr);
    rc = simxs_paths_make(ctx, hostdir, &p);
    if (!rc) rc = simxs_lock(ctx, p.rundir, &lock_fd);
    if (rc == XLMIG_E_NOTFOUND) {
        rc = XLMIG_OK;          /* no directory, so no daemon either */
        goto out;
    }
    if (rc) goto out;
    rc = simxs_find_running(ctx, &p, &pr);
    if (rc) goto out;
    if (pr.pid > 0) {
        rc = simxs_kill(ctx, &pr);
        if (rc) goto out;
        LOG(ctx, DEBUG, "xenstored pid %ld for %s stopped", (long)pr.pid,
            hostdir);
    }
    simxs_remove(ctx, p.socket);
    simxs_remove(ctx, p.pidfile);
out:
    simxs_proc_dispose(&pr);
    if (lock_fd >= 0) close(lock_fd);
    simxs_paths_dispose(&p);
    return rc;
}
