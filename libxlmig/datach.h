/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * datach.h - the direct TCP data connection of xlmig/1 (--data tcp): the
 * receiver listens on the address the sender's ssh came in on, the sender
 * connects and proves with the AUTH frame that it holds the one-time key
 * the two agreed over ssh. Connections that cannot prove it are closed;
 * nothing they send reaches libxl.
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
/* Listens on addr:port (0: any free port); *port_r the port bound. */
MUST_CHECK int datach_listen(struct xlmig_ctx *ctx, const char *addr,
                             unsigned port, int *fd_r, unsigned *port_r);
/*
 * Accepts the sender's connection: the first whose AUTH frame checks
 * with dec (others are logged and closed, up to DATACH_TRIES). ctl_fd
 * (the control channel from the sender) readable means the sender is
 * gone: XLMIG_E_PEER. w: the deadline and cancel fds.
 */
#define DATACH_TRIES 8
MUST_CHECK int datach_accept(struct xlmig_ctx *ctx, int listen_fd,
                             struct frame_dec *dec, int ctl_fd,
                             const struct fdio_wait *w, int *fd_r);
/* Connects to addr:port within the deadline of w and sends AUTH. */
MUST_CHECK int datach_connect(struct xlmig_ctx *ctx, const char *addr,
                              unsigned port, struct frame_enc *enc,
                              const struct fdio_wait *w, int *fd_r);
/* Reads and checks the AUTH frame on fd (the stream over ssh, too). */
MUST_CHECK int datach_read_auth(struct xlmig_ctx *ctx, int fd,
                                struct frame_dec *dec,
                                const struct fdio_wait *w, const char *what);
/* Sends the AUTH frame on fd. */
MUST_CHECK int datach_send_auth(struct xlmig_ctx *ctx, int fd,
                                struct frame_enc *enc,
                                const struct fdio_wait *w, const char *what);

#endif /* XLMIG_DATACH_H */
