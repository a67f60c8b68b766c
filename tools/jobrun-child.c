/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jobrun-child.c - the runner's child processes: "xlmig SUBCOMMAND ..."
 * here (this very program) or over ssh on another host, each in a
 * process group of its own (a terminal's ^C reaches the runner, which
 * decides what each child is told), stdout read as lines, the last line
 * of stderr kept as the child's one-line error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jobrun.h"

/* s quoted for a POSIX shell, appended to *cmd. */
static void jobrun_child_quote(char **cmd, const char *s)
{
    size_t len = strlen(*cmd), i, n = 3;
    char *p;

    for (i = 0; s[i]; i++) n += s[i] == '\'' ? 4 : 1;
    *cmd = realloc(*cmd, len + n + 1);
    if (!*cmd) abort();
    p = *cmd + len;
    *p++ = ' ';
    *p++ = '\'';
    for (i = 0; s[i]; i++) {
        if (s[i] == '\'') {
            memcpy(p, "'\\''", 4);
            p += 4;
        } else {
            *p++ = s[i];
        }
    }
    *p++ = '\'';
    *p = '\0';
}

/* The argv to exec: this program, or sh running ssh with the command. */
static char **jobrun_child_argv(const struct jobrun_env *env,
                                const struct jobxml_host *host,
                                const char *const *argv)
{
    size_t n = 0, i;
    char **v, *remote;

    while (argv[n]) n++;
    if (!host) {
        v = calloc(n + 2, sizeof(*v));
        if (!v) abort();
        v[0] = (char *)"xlmig";
        for (i = 0; i < n; i++) v[i + 1] = (char *)argv[i];
        return v;
    }
    remote = strdup("xlmig");
    if (!remote) abort();
    for (i = 0; i < n; i++) jobrun_child_quote(&remote, argv[i]);
    v = calloc(7, sizeof(*v));
    if (!v) abort();
    v[0] = (char *)"sh";
    v[1] = (char *)"-c";
    if (asprintf(&v[2], "exec %s \"$@\"", env->ssh ? env->ssh : "ssh") < 0)
        abort();
    v[3] = (char *)"sh";
    v[4] = host->address;
    v[5] = remote;
    return v;
}

static void jobrun_child_argv_free(const struct jobxml_host *host, char **v)
{
    if (host) {
        free(v[2]);
        free(v[5]);
    }
    free(v);
}

/* Opens LOG.SUFFIX for the child (write) or for us (read). */
static int jobrun_child_file(const char *log, const char *suffix,
                             bool write, char **why_r)
{
    char *path = xasprintf("%s.%s", log, suffix);
    int fd = write ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
                                O_CLOEXEC, 0600)
                   : open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) *why_r = xasprintf("%s: %s", path, strerror(errno));
    free(path);
    return fd;
}

int jobrun_child_start(const struct jobrun_env *env,
                       const struct jobxml_host *host,
                       const char *const *argv, const char *log,
                       struct jobrun_child *ch, char **why_r)
{
    int out[2] = { -1, -1 }, err[2] = { -1, -1 }, null;
    char **v;
    pid_t pid;

    memset(ch, 0, sizeof(*ch));
    ch->out_fd = ch->err_fd = -1;
    ch->pid = -1;
    ch->files = log != NULL;
    if (log) {
        out[1] = jobrun_child_file(log, "out", true, why_r);
        err[1] = out[1] < 0 ? -1 : jobrun_child_file(log, "err", true, why_r);
        out[0] = err[1] < 0 ? -1 : jobrun_child_file(log, "out", false,
                                                     why_r);
        err[0] = out[0] < 0 ? -1 : jobrun_child_file(log, "err", false,
                                                     why_r);
        if (err[0] < 0) goto fail;
    } else if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
        *why_r = xasprintf("pipe: %s", strerror(errno));
        goto fail;
    }
    v = jobrun_child_argv(env, host, argv);
    pid = fork();
    if (pid < 0) {
        *why_r = xasprintf("fork: %s", strerror(errno));
        jobrun_child_argv_free(host, v);
        goto fail;
    }
    if (pid == 0) {
        sigset_t all;

        setpgid(0, 0);
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 ||
            dup2(err[1], 2) < 0)
            _exit(127);
        if (host) execv("/bin/sh", v);
        else execv(env->self, v);
        dprintf(2, "xlmig: cannot run %s: %s\n",
                host ? "/bin/sh" : env->self, strerror(errno));
        _exit(127);
    }
    jobrun_child_argv_free(host, v);
    setpgid(pid, pid);          /* both sides: no race with a signal */
    close(out[1]);
    close(err[1]);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    ch->pid = pid;
    ch->out_fd = out[0];
    ch->err_fd = err[0];
    return 0;
fail:
    if (out[0] >= 0) close(out[0]);
    if (out[1] >= 0) close(out[1]);
    if (err[0] >= 0) close(err[0]);
    if (err[1] >= 0) close(err[1]);
    return -1;
}

int jobrun_child_adopt(const char *log, struct jobrun_child *ch,
                       char **why_r)
{
    memset(ch, 0, sizeof(*ch));
    ch->pid = -1;
    ch->files = true;
    ch->out_fd = jobrun_child_file(log, "out", false, why_r);
    ch->err_fd = ch->out_fd < 0 ? -1
                                : jobrun_child_file(log, "err", false, why_r);
    if (ch->err_fd >= 0) return 0;
    if (ch->out_fd >= 0) close(ch->out_fd);
    ch->out_fd = -1;
    return -1;
}

/* Keeps the last non-empty line of stderr. */
static void jobrun_child_err(struct jobrun_child *ch, const char *buf,
                             size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            if (ch->err_part_len) {
                memcpy(ch->err_last, ch->err_part, ch->err_part_len);
                ch->err_last[ch->err_part_len] = '\0';
            }
            ch->err_part_len = 0;
        } else if (ch->err_part_len < sizeof(ch->err_part) - 1) {
            /* Printable only: it is shown and goes into reports. */
            ch->err_part[ch->err_part_len++] =
                (unsigned char)buf[i] < 0x20 || buf[i] == 0x7f ? '?'
                                                               : buf[i];
        }
    }
}

/* Hands complete lines of ch->out to line_fn and drops them. */
static void jobrun_child_lines(struct jobrun_child *ch,
                               void (*line_fn)(void *arg, char *line),
                               void *arg)
{
    char *nl, *start = ch->out;
    size_t left = ch->out_len;

    while (left && (nl = memchr(start, '\n', left))) {
        *nl = '\0';
        if (!ch->overflow) line_fn(arg, start);
        ch->overflow = false;
        left -= (size_t)(nl - start) + 1;
        start = nl + 1;
    }
    memmove(ch->out, start, left);
    ch->out_len = left;
    if (ch->out_len >= JOBRUN_LINE_MAX) {
        /* A line this long is not an event of ours: drop it whole. */
        ch->overflow = true;
        ch->out_len = 0;
    }
}

/* Reads fd until it has nothing more now: true at EOF of a pipe. */
static bool jobrun_child_drain(struct jobrun_child *ch, int fd, bool is_out,
                               void (*line_fn)(void *arg, char *line),
                               void *arg)
{
    char buf[16384];
    ssize_t r;
    size_t keep;

    for (;;) {
        r = read(fd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) return false;
        if (r <= 0) return !ch->files || r < 0;
        if (!is_out) {
            jobrun_child_err(ch, buf, (size_t)r);
            continue;
        }
        keep = (size_t)r;
        if (!line_fn && ch->out_len + keep > JOBRUN_OUT_MAX) {
            keep = JOBRUN_OUT_MAX - ch->out_len;
            ch->overflow = true;
        }
        ch->out = realloc(ch->out, ch->out_len + keep + 1);
        if (!ch->out) abort();
        memcpy(ch->out + ch->out_len, buf, keep);
        ch->out_len += keep;
        ch->out[ch->out_len] = '\0';
        if (line_fn) jobrun_child_lines(ch, line_fn, arg);
    }
}

bool jobrun_child_read(struct jobrun_child *ch,
                       void (*line_fn)(void *arg, char *line), void *arg)
{
    bool ended = false;
    pid_t r;

    /* A child writing into files has ended once reaped; read after. */
    if (ch->files && ch->pid > 0 && !ch->reaped) {
        r = waitpid(ch->pid, &ch->status, WNOHANG);
        ended = r == ch->pid;
    }
    if (ch->out_fd >= 0 &&
        jobrun_child_drain(ch, ch->out_fd, true, line_fn, arg)) {
        close(ch->out_fd);
        ch->out_fd = -1;
    }
    if (ch->err_fd >= 0 &&
        jobrun_child_drain(ch, ch->err_fd, false, line_fn, arg)) {
        close(ch->err_fd);
        ch->err_fd = -1;
        /* A last line without a newline counts too. */
        jobrun_child_err(ch, "\n", 1);
    }
    if (ch->files) {
        if (!ended) return ch->reaped;
        ch->reaped = true;
        jobrun_child_err(ch, "\n", 1);
        return true;
    }
    if (ch->out_fd < 0 && ch->err_fd < 0 && !ch->reaped) {
        while (waitpid(ch->pid, &ch->status, 0) < 0 && errno == EINTR) { }
        ch->reaped = true;
    }
    return ch->reaped;
}

void jobrun_child_signal(struct jobrun_child *ch, int sig)
{
    /* The child alone: what it started (its ssh transport) is its own
     * to stop, and must outlive a refused cancel. */
    if (ch->pid > 0 && !ch->reaped) kill(ch->pid, sig);
}

int jobrun_child_exit(const struct jobrun_child *ch)
{
    if (WIFEXITED(ch->status)) return WEXITSTATUS(ch->status);
    if (WIFSIGNALED(ch->status)) return 128 + WTERMSIG(ch->status);
    return 255;
}

void jobrun_child_dispose(struct jobrun_child *ch)
{
    if (ch->pid > 0 && !ch->reaped) {
        kill(-ch->pid, SIGKILL);
        while (waitpid(ch->pid, &ch->status, 0) < 0 && errno == EINTR) { }
        ch->reaped = true;
    }
    if (ch->out_fd >= 0) close(ch->out_fd);
    if (ch->err_fd >= 0) close(ch->err_fd);
    ch->out_fd = ch->err_fd = -1;
    free(ch->out);
    ch->out = NULL;
    ch->out_len = 0;
}

static double jobrun_child_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int jobrun_host_run(const struct jobrun_env *env,
                    const struct jobxml_host *host, const char *const *argv,
                    unsigned timeout_s, char **out_r, int *status_r,
                    char **why_r)
{
    struct jobrun_child ch;
    struct pollfd p[2];
    double end = jobrun_child_now() + timeout_s, left;
    nfds_t n;

    *out_r = NULL;
    if (jobrun_child_start(env, host, argv, NULL, &ch, why_r)) return -1;
    while (!jobrun_child_read(&ch, NULL, NULL)) {
        left = end - jobrun_child_now();
        if (left <= 0) {
            jobrun_child_dispose(&ch);
            *why_r = xasprintf("xlmig %s%s%s: no answer in %u s",
                                   argv[0], host ? " on " : "",
                                   host ? host->name : "", timeout_s);
            return -1;
        }
        n = 0;
        if (ch.out_fd >= 0) p[n++] = (struct pollfd){ ch.out_fd, POLLIN, 0 };
        if (ch.err_fd >= 0) p[n++] = (struct pollfd){ ch.err_fd, POLLIN, 0 };
        if (poll(p, n, (int)(left * 1000) + 1) < 0 && errno != EINTR) {
            *why_r = xasprintf("poll: %s", strerror(errno));
            jobrun_child_dispose(&ch);
            return -1;
        }
    }
    *status_r = jobrun_child_exit(&ch);
    if (*status_r && ch.err_last[0])
        *why_r = xasprintf("%s", ch.err_last);
    else if (*status_r)
        *why_r = xasprintf("xlmig %s%s%s exited with status %d",
                               argv[0], host ? " on " : "",
                               host ? host->name : "", *status_r);
    *out_r = ch.out ? ch.out : strdup("");
    if (!*out_r) abort();
    ch.out = NULL;
    jobrun_child_dispose(&ch);
    return 0;
}
