/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * datach.c - the direct data connection of xlmig/1 (datach.h).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "datach.h"

#define DATACH_AUTH_S 10            /* for a connection to prove itself */
#define DATACH_SOCKBUF (4 << 20)

void datach_local_addr(char *addr, size_t len)
{
    const char *ssh = getenv("SSH_CONNECTION");
    char a[4][64];

    /* "client-addr client-port server-addr server-port" */
    if (ssh && sscanf(ssh, "%63s %63s %63s %63s", a[0], a[1], a[2],
                      a[3]) == 4) {
        snprintf(addr, len, "%s", a[2]);
        return;
    }
    snprintf(addr, len, "127.0.0.1");
}

static int datach_resolve(struct xlmig_ctx *ctx, const char *addr,
                          unsigned port, bool passive, struct addrinfo **ai_r)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
        .ai_flags = passive ? AI_PASSIVE | AI_NUMERICHOST : 0,
    };
    char serv[8];
    int r;

    snprintf(serv, sizeof(serv), "%u", port);
    r = getaddrinfo(addr, serv, &hints, ai_r);
    if (r) {
        LOG(ctx, ERROR, "data connection: cannot resolve %s: %s", addr,
            gai_strerror(r));
        return XLMIG_E_INVAL;
    }
    return XLMIG_OK;
}

/* Bigger socket buffers: the stream moves in 1 MiB frames. */
static void datach_tune(int fd)
{
    int v = DATACH_SOCKBUF;

    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

int datach_listen(struct xlmig_ctx *ctx, const char *addr, unsigned port,
                  int *fd_r, unsigned *port_r)
{
    struct addrinfo *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = -1, one = 1, rc;

    *fd_r = -1;
    if (port > 65535) {
        LOG(ctx, ERROR, "data connection: port %u is not a TCP port", port);
        return XLMIG_E_INVAL;
    }
    rc = datach_resolve(ctx, addr, port, true, &ai);
    if (rc) return rc;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
        LOGE(ctx, ERROR, "data connection: socket");
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    datach_tune(fd);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4) < 0) {
        LOGE(ctx, ERROR, "data connection: cannot listen on %s port %u",
             addr, port);
        rc = errno == EADDRINUSE ? XLMIG_E_BUSY : XLMIG_E_SYSTEM;
        goto out;
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        LOGE(ctx, ERROR, "data connection: getsockname");
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    *port_r = ntohs(ss.ss_family == AF_INET6
                    ? ((struct sockaddr_in6 *)&ss)->sin6_port
                    : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_r = fd;
    fd = -1;
    rc = XLMIG_OK;
out:
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return rc;
}

static void datach_peer_name(int fd, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[64] = "?", serv[16] = "?";

    if (!getpeername(fd, (struct sockaddr *)&ss, &sl))
        (void)getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host),
                          serv, sizeof(serv),
                          NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(out, len, "%s port %s", host, serv);
}

/* Waits for a connection, a word (EOF) on ctl_fd, a cancel or the end. */
static int datach_wait(struct xlmig_ctx *ctx, int listen_fd, int ctl_fd,
                       const struct fdio_wait *w, double deadline)
{
    struct pollfd pfd[2 + FDIO_CANCEL_FDS];
    nfds_t n = 0, i;
    int r;

    pfd[n].fd = listen_fd;
    pfd[n++].events = POLLIN;
    pfd[n].fd = ctl_fd;
    pfd[n++].events = POLLIN;
    for (i = 0; i < FDIO_CANCEL_FDS; i++) {
        if (w->cancel_fds[i] < 0) continue;
        pfd[n].fd = w->cancel_fds[i];
        pfd[n++].events = POLLIN;
    }
    for (;;) {
        r = poll(pfd, n, fdio_ms_until(ctx, deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            LOGE(ctx, ERROR, "poll");
            return XLMIG_E_SYSTEM;
        }
        break;
    }
    if (r == 0) {
        LOG(ctx, ERROR, "no data connection from the sender within %u s",
            w->timeout_s);
        return XLMIG_E_TIMEDOUT;
    }
    for (i = 2; i < n; i++)
        if (pfd[i].revents) {
            LOG(ctx, ERROR, "cancelled while waiting for the data "
                "connection");
            return XLMIG_E_CANCELLED;
        }
    if (pfd[1].revents) {
        LOG(ctx, ERROR, "the sender closed the control connection before "
            "its data connection was accepted");
        return XLMIG_E_PEER;
    }
    return XLMIG_OK;
}

int datach_accept(struct xlmig_ctx *ctx, int listen_fd,
                  struct frame_dec *dec, int ctl_fd,
                  const struct fdio_wait *w, int *fd_r)
{
    struct fdio_wait aw = *w;
    double deadline = w->timeout_s ? ctx_now(ctx) + w->timeout_s : 0;
    char peer[96];
    unsigned tries;
    int fd, rc;

    *fd_r = -1;
    aw.timeout_s = DATACH_AUTH_S;
    for (tries = 0; tries < DATACH_TRIES; tries++) {
        rc = datach_wait(ctx, listen_fd, ctl_fd, w, deadline);
        if (rc) return rc;
        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            LOGE(ctx, ERROR, "data connection: accept");
            return XLMIG_E_SYSTEM;
        }
        datach_peer_name(fd, peer, sizeof(peer));
        rc = datach_read_auth(ctx, fd, dec, &aw, "data connection");
        if (!rc) {
            LOG(ctx, DEBUG, "data connection from %s", peer);
            *fd_r = fd;
            return XLMIG_OK;
        }
        LOG(ctx, WARN, "refused a data connection from %s: it did not "
            "prove the session key", peer);
        close(fd);
    }
    LOG(ctx, ERROR, "%u data connections failed to authenticate; giving up",
        DATACH_TRIES);
    return XLMIG_E_AUTH;
}

/* Non-blocking connect bounded by the wait. */
static int datach_connect_one(struct xlmig_ctx *ctx, const struct addrinfo *a,
                              const struct fdio_wait *w, int *fd_r)
{
    socklen_t sl = sizeof(int);
    int fd, err = 0, rc;

    fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    datach_tune(fd);
    if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
        err = errno;
        close(fd);
        return -err;
    }
    rc = fdio_ready(ctx, fd, POLLOUT, w, "data connection");
    if (rc) {
        close(fd);
        return rc;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0) err = errno;
    if (err) {
        close(fd);
        return -err;
    }
    if (fdio_set_nonblock(ctx, fd, false) < 0) {
        close(fd);
        return XLMIG_E_SYSTEM;
    }
    *fd_r = fd;
    return XLMIG_OK;
}

int datach_connect(struct xlmig_ctx *ctx, const char *addr, unsigned port,
                   struct frame_enc *enc, const struct fdio_wait *w,
                   int *fd_r)
{
    struct addrinfo *ai = NULL, *a;
    int fd = -1, rc, err = 0;

    *fd_r = -1;
    rc = datach_resolve(ctx, addr, port, false, &ai);
    if (rc) return rc;
    rc = XLMIG_E_PEER;
    for (a = ai; a; a = a->ai_next) {
        rc = datach_connect_one(ctx, a, w, &fd);
        if (rc >= 0 || rc == XLMIG_E_CANCELLED || rc == XLMIG_E_TIMEDOUT)
            break;
        err = -rc;
        rc = XLMIG_E_PEER;
    }
    freeaddrinfo(ai);
    if (rc == XLMIG_E_PEER) {
        LOGEV(ctx, ERROR, err, "cannot open the data connection to %s port "
              "%u", addr, port);
        return rc;
    }
    if (rc) return rc;
    rc = datach_send_auth(ctx, fd, enc, w, "data connection");
    if (rc) {
        close(fd);
        return rc;
    }
    *fd_r = fd;
    return XLMIG_OK;
}

int datach_read_auth(struct xlmig_ctx *ctx, int fd, struct frame_dec *dec,
                     const struct fdio_wait *w, const char *what)
{
    uint8_t buf[FRAME_AUTH_LEN];
    struct frame_hdr h;
    char *why = NULL;
    int rc;

    rc = fdio_read_exact(ctx, fd, buf, FRAME_HDR_LEN, w, what);
    if (rc) return rc;
    rc = frame_dec_hdr(dec, buf, &h, &why);
    if (!rc && h.type != FRAME_AUTH) {
        why = xasprintf("the first frame is not the session's AUTH frame");
        rc = XLMIG_E_AUTH;
    }
    if (!rc)
        rc = fdio_read_exact(ctx, fd, buf + FRAME_HDR_LEN,
                             h.wire_len + FRAME_TAG_LEN, w, what);
    if (!rc && !why)
        rc = frame_dec_open(dec, &h, buf, buf + FRAME_HDR_LEN, NULL, &why);
    if (why) LOG(ctx, ERROR, "%s: %s", what, why);
    free(why);
    return rc;
}

int datach_send_auth(struct xlmig_ctx *ctx, int fd, struct frame_enc *enc,
                     const struct fdio_wait *w, const char *what)
{
    uint8_t buf[FRAME_AUTH_LEN];
    size_t len;
    int rc;

    rc = frame_enc_auth(enc, buf, &len);
    if (rc) {
        LOGR(ctx, ERROR, rc, "cannot make the AUTH frame");
        return rc;
    }
    return fdio_write_all(ctx, fd, buf, len, w, what);
}
