/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sig.c - turns SIGINT, SIGTERM and SIGHUP into a readable fd (the
 * self-pipe trick), which the library watches as its cancel fd: a signal
 * then rolls the operation back instead of killing it half-way. Past the
 * point of no return (XLMIG_EV_NO_RETURN) a signal is refused instead,
 * with the reason on stderr: xendomains' watchdog and Debian's init
 * script stop a migration with signals, and must learn that it goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

static int sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t sig_refusing;
static char sig_refusal[256];       /* the line written when refusing */
static size_t sig_refusal_len;

static void sig_handler(int sig)
{
    int saved = errno;
    char c = (char)sig;

    if (sig_refusing) {
        if (write(STDERR_FILENO, sig_refusal, sig_refusal_len) < 0) { }
    } else if (write(sig_pipe[1], &c, 1) < 0) {
        /* full: already cancelling */
    }
    errno = saved;
}

int sig_cancel_fd(void)
{
    struct sigaction sa;

    if (sig_pipe[0] >= 0) return sig_pipe[0];
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK)) return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sig_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    return sig_pipe[0];
}

void sig_refuse(const char *cmd, const char *why)
{
    int n;

    /* The line is made before the flag is set: the handler only reads. */
    n = snprintf(sig_refusal, sizeof(sig_refusal), "xlmig %s: not "
                 "cancelling: %s\n", cmd, why ? why : "past the point of "
                 "no return");
    if (n < 0) n = 0;
    sig_refusal_len = (size_t)n < sizeof(sig_refusal)
                      ? (size_t)n : sizeof(sig_refusal) - 1;
    if (sig_refusal_len && sig_refusal[sig_refusal_len - 1] != '\n')
        sig_refusal[sig_refusal_len - 1] = '\n';
    sig_refusing = 1;
}
