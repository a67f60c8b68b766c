/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * transport.c - starts the receiver through a shell command with two
 * pipes, exactly like xl's create_migration_child(), so "-s" means what it
 * means to xl users and an xl receiver can sit at the other end.
 */
#include <stdlib.h>

#include "fdio.h"
#include "transport.h"

void transport_init(struct transport *t)
{
    child_init(&t->child);
    t->rune = NULL;
    t->send_fd = t->recv_fd = -1;
}

char *transport_rune(const struct transport_opts *o)
{
    const char *ssh = o->ssh_command ? o->ssh_command : "ssh";
    char offer[48] = "";

    if (!*ssh) return xstrdup(o->host);
    if (o->cold)
        return xasprintf("exec %s %s %s migrate-receive --cold --timeout %u",
                         ssh, o->host, o->program ? o->program : "xlmig",
                         o->timeout_s);
    /* Only xlmig takes these (xl would refuse the command line). */
    if (o->xlmig_proto)
        snprintf(offer, sizeof(offer), " --xlmig %u --timeout %u",
                 o->xlmig_proto, o->timeout_s);
    return xasprintf("exec %s %s %s migrate-receive%s%s%s%s", ssh, o->host,
                     o->program ? o->program : "xlmig",
                     o->no_monitor ? " -e" : "", o->debug ? " -d" : "",
                     o->paused ? " -p" : "", offer);
}

int transport_open(struct xlmig_ctx *ctx, const struct transport_opts *o,
                   struct transport *t)
{
    char *argv[4];
    int rc;

    transport_init(t);
    t->rune = transport_rune(o);
    argv[0] = (char *)"sh";
    argv[1] = (char *)"-c";
    argv[2] = t->rune;
    argv[3] = NULL;
    rc = child_start(ctx, &t->child, "transport command", argv,
                     CHILD_STDIN_PIPE | CHILD_STDOUT_PIPE);
    if (rc) return rc;
    t->send_fd = t->child.to_child;
    t->recv_fd = t->child.from_child;
    return XLMIG_OK;
}

void transport_hangup(struct transport *t)
{
    fdio_close(&t->child.to_child);
    fdio_close(&t->child.from_child);
    t->send_fd = t->recv_fd = -1;
}

void transport_close(struct xlmig_ctx *ctx, struct transport *t,
                     double grace_s)
{
    t->send_fd = t->recv_fd = -1;       /* owned by t->child */
    child_stop(ctx, &t->child, grace_s);
    child_dispose(&t->child);
    free(t->rune);
    t->rune = NULL;
}
