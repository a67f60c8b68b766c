/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sig.c - turns SIGINT, SIGTERM and SIGHUP into a readable fd (the
 * self-pipe trick), which the library watches as its cancel fd: a signal
 * then rolls the operation back instead of killing it half-way.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

static int sig_pipe[2] = { -1, -1 };

static void sig_handler(int sig)
{
    int saved = errno;
    char c = (char)sig;

    if (write(sig_pipe[1], &c, 1) < 0) { /* full: already cancelling */ }
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
