/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * transport.h - the sender's channel to the receiver, as xl makes it: a
 * shell command (by default "exec ssh HOST xlmig migrate-receive") whose
 * stdin carries the stream and whose stdout carries the replies.
 */
#ifndef XLMIG_TRANSPORT_H
#define XLMIG_TRANSPORT_H

#include <stdbool.h>

#include "internal.h"
#include "child.h"

struct transport {
    struct child child;
    char *rune;                 /* the shell command that was run */
    int send_fd;                /* to the receiver (child's stdin) */
    int recv_fd;                /* from the receiver (child's stdout) */
};

struct transport_opts {
    const char *ssh_command;    /* NULL: "ssh"; "": host is the command */
    const char *host;
    const char *program;        /* NULL: "xlmig" */
    bool no_monitor, debug, paused;     /* receiver's -e, -d, -p */
    unsigned xlmig_proto;       /* offer xlmig/1 up to this (--xlmig N) */
    unsigned timeout_s;         /* an xlmig receiver's too (--timeout) */
    bool cold;                  /* a halted domain's config (--cold) */
};

void transport_init(struct transport *t);
/* Builds the command line, as xl does (see xlmig_migrate_opts). */
char *transport_rune(const struct transport_opts *o);
MUST_CHECK int transport_open(struct xlmig_ctx *ctx,
                              const struct transport_opts *o,
                              struct transport *t);
/* Closes our ends of the pipes; the command learns it at once. */
void transport_hangup(struct transport *t);
/* Closes our ends, then reaps the command within grace_s (then kills). */
void transport_close(struct xlmig_ctx *ctx, struct transport *t,
                     double grace_s);

#endif /* XLMIG_TRANSPORT_H */
