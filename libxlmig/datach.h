/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * datach.h - the direct TCP data connection of xlmig/1 (--data tcp): the
 * receiver listens on its migration address (mignet.h), else on the
 * address the sender's ssh came in on; the sender connects (from its own
 * migration address) and proves with the AUTH frame that it holds the
 * one-time key the two agreed over ssh. Connections that cannot prove it
 * are closed; nothing they send reaches libxl.
 */
#ifndef XLMIG_DATACH_H
#define XLMIG_DATACH_H

#include "fdio.h"
#include "frame.h"
#include "internal.h"

/*
 * The address to listen on: the local address of the ssh connection we
 * were started through ($SSH_CONNECTION), else the loopback address.
 */
void datach_local_addr(char *addr, size_t len);
/*
 * Listens on addr:port (0: any free port); *port_r the port bound. The
 * socket is non-blocking, for datach_accept().
 */
MUST_CHECK int datach_listen(struct xlmig_ctx *ctx, const char *addr,
                             unsigned port, int *fd_r, unsigned *port_r);
/*
 * Accepts the sender's connection on listen_fd (from datach_listen()):
 * the first whose AUTH frame checks with dec, returned blocking in *fd_r.
 * Connections prove themselves side by side, each within DATACH_AUTH_S
 * of its accept, at most DATACH_PENDING_MAX at a time (a new one pushes
 * the oldest out); those that do not are closed, and each address that
 * was refused is logged once. Accepting goes on until the session's
 * deadline, w->timeout_s (0: none): XLMIG_E_TIMEDOUT. ctl_fd (the
 * control channel from the sender) readable means the sender is gone:
 * XLMIG_E_PEER; with DATACH_YIELD in flags, that the sender has
 * something to say first: XLMIG_OK with *fd_r -1 (nothing of ctl_fd is
 * read). A cancel fd of w: XLMIG_E_CANCELLED. dec moves on only for the
 * connection that wins.
 */
#define DATACH_AUTH_S 5
#define DATACH_PENDING_MAX 16
#define DATACH_YIELD (1u << 0)
MUST_CHECK int datach_accept(struct xlmig_ctx *ctx, int listen_fd,
                             struct frame_dec *dec, int ctl_fd,
                             unsigned flags, const struct fdio_wait *w,
                             int *fd_r);
/*
 * The same over several waits (datach_acc_run each), for a receiver that
 * waits for the sender's connection in turns: the connections still
 * proving themselves, and the addresses named, carry over from one to
 * the next. datach_acc_free closes those connections, not listen_fd.
 */
struct datach_acc;
struct datach_acc *datach_acc_new(struct xlmig_ctx *ctx, int listen_fd,
                                  struct frame_dec *dec);
MUST_CHECK int datach_acc_run(struct datach_acc *acc, int ctl_fd,
                              unsigned flags, const struct fdio_wait *w,
                              int *fd_r);
void datach_acc_free(struct datach_acc *acc);      /* NULL is fine */
/*
 * Connects to addr:port (a numeric address) from from_addr (NULL or "":
 * the address the route gives) within timeout_s seconds (0: 1), then
 * sends AUTH with enc (its deadline w's). A connection that cannot be
 * made: XLMIG_E_PEER, or XLMIG_E_TIMEDOUT if it was not made in time,
 * with *why_r (allocated: the reason, without the addresses) and nothing
 * logged, since what that means is the caller's to say. A cancel (a
 * cancel fd of w: XLMIG_E_CANCELLED) and local failures are logged.
 */
MUST_CHECK int datach_connect(struct xlmig_ctx *ctx, const char *addr,
                              unsigned port, const char *from_addr,
                              unsigned timeout_s, struct frame_enc *enc,
                              const struct fdio_wait *w, int *fd_r,
                              char **why_r);
/* Reads and checks the AUTH frame on fd (the stream over ssh, too). */
MUST_CHECK int datach_read_auth(struct xlmig_ctx *ctx, int fd,
                                struct frame_dec *dec,
                                const struct fdio_wait *w, const char *what);
/* Sends the AUTH frame on fd. */
MUST_CHECK int datach_send_auth(struct xlmig_ctx *ctx, int fd,
                                struct frame_enc *enc,
                                const struct fdio_wait *w, const char *what);

#endif /* XLMIG_DATACH_H */
