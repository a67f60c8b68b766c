/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * datach.c - the direct data connection of xlmig/1 (datach.h).
 *
 * Anyone who can reach the port may connect, so the receiver never waits
 * on one connection: it polls the listening socket, the control channel,
 * the cancel fds and every connection still proving itself, each of which
 * has DATACH_AUTH_S in all to deliver a whole AUTH frame that checks. It
 * holds at most DATACH_PENDING_MAX of them (a new one pushes the oldest
 * out) and names each refused address once, so neither a slow connection
 * nor a flood of junk can hold it up, make it give up, or fill its log.
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

#define DATACH_SOCKBUF (4 << 20)
#define DATACH_BACKLOG 64
/* Accepted per wake-up: a connection lives through the next poll. */
#define DATACH_TAKE_MAX (DATACH_PENDING_MAX / 2)
#define DATACH_NAMED_MAX 16         /* refused addresses named in the log */
#define DATACH_ADDR_LEN 64
#define DATACH_WHY_LEN 384          /* a refusal, frame.c's reason included */
#define DATACH_PFD_MAX (2 + FDIO_CANCEL_FDS + DATACH_PENDING_MAX)

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
    int fd = -1, one = 1, err, rc;

    *fd_r = -1;
    if (port > 65535) {
        LOG(ctx, ERROR, "data connection: port %u is not a TCP port", port);
        return XLMIG_E_INVAL;
    }
    rc = datach_resolve(ctx, addr, port, true, &ai);
    if (rc) return rc;
    /* Non-blocking: datach_accept() takes what is there and goes on. */
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
        LOGE(ctx, ERROR, "data connection: socket");
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    datach_tune(fd);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
        listen(fd, DATACH_BACKLOG) < 0) {
        err = errno;
        LOGEV(ctx, ERROR, err, "data connection: cannot listen on %s port "
              "%u", addr, port);
        rc = err == EADDRINUSE ? XLMIG_E_BUSY : XLMIG_E_SYSTEM;
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

/*
 * Checks the first len (<= FRAME_AUTH_LEN) bytes of an AUTH frame in buf:
 * its header once it is there, the whole frame once that is. dec moves on
 * only for a frame that checks (frame_dec_open() counts seq on success
 * only), so a failed attempt leaves it ready for the real one. *why_r
 * (allocated) on failure.
 */
static int datach_auth_check(struct frame_dec *dec, uint8_t *buf,
                             size_t len, char **why_r)
{
    struct frame_hdr h;
    int rc;

    *why_r = NULL;
    if (len < FRAME_HDR_LEN) return XLMIG_OK;
    rc = frame_dec_hdr(dec, buf, &h, why_r);
    if (rc) return rc;
    /* An AUTH header says FRAME_SESSION_LEN bytes: FRAME_AUTH_LEN in all. */
    if (h.type != FRAME_AUTH) {
        *why_r = xasprintf("the first frame is not the session's AUTH "
                           "frame");
        return XLMIG_E_AUTH;
    }
    if (len < FRAME_AUTH_LEN) return XLMIG_OK;
    return frame_dec_open(dec, &h, buf, buf + FRAME_HDR_LEN, NULL, why_r);
}

/* ---- the receiver: connections proving themselves, side by side ---- */

enum datach_refusal {
    DATACH_REFUSED_KEY,         /* sent something that does not check */
    DATACH_REFUSED_SLOW,        /* no whole AUTH frame in DATACH_AUTH_S */
    DATACH_REFUSED_CLOSED,      /* closed (or reset) before that */
    DATACH_REFUSED_CROWDED,     /* pushed out by newer connections */
};

/* A connection that has not proved the session key yet. */
struct datach_pending {
    int fd;                     /* non-blocking */
    double deadline;            /* accepted + DATACH_AUTH_S */
    size_t got;                 /* bytes of the AUTH frame in buf */
    uint8_t buf[FRAME_AUTH_LEN];
    char addr[DATACH_ADDR_LEN];
    char port[16];
};

/* A listening socket's connections, proving themselves (datach.h). */
struct datach_acc {
    struct xlmig_ctx *ctx;
    struct frame_dec *dec;
    int listen_fd;
    /* Oldest first: accepted in order, all with the same time to live. */
    struct datach_pending pend[DATACH_PENDING_MAX];
    unsigned n_pend;
    /* listen_fd, ctl_fd, the cancel fds, then pend[] from pend_at. */
    struct pollfd pfd[DATACH_PFD_MAX];
    nfds_t pend_at;
    /* Each refused address is named once. */
    char named[DATACH_NAMED_MAX][DATACH_ADDR_LEN];
    unsigned n_named;
    bool named_full;            /* said that no more would be named */
    unsigned refused, logged;
};

/* Whether a refusal of p goes in the log: the first of each address. */
static bool datach_acc_name(struct datach_acc *acc,
                            const struct datach_pending *p)
{
    unsigned i;

    for (i = 0; i < acc->n_named; i++)
        if (!strcmp(acc->named[i], p->addr)) return false;
    if (acc->n_named == DATACH_NAMED_MAX) {
        if (!acc->named_full)
            LOG(acc->ctx, WARN, "refusing data connections from more than "
                "%u addresses; not naming any more", DATACH_NAMED_MAX);
        acc->named_full = true;
        return false;
    }
    memcpy(acc->named[acc->n_named++], p->addr, sizeof(p->addr));
    return true;
}

/* Closes pend[i] and drops it, saying why the first time for its address. */
static void datach_acc_refuse(struct datach_acc *acc, unsigned i,
                              enum datach_refusal why, const char *detail)
{
    struct datach_pending *p = &acc->pend[i];
    char text[DATACH_WHY_LEN] = "";

    switch (why) {
    case DATACH_REFUSED_KEY:
        snprintf(text, sizeof(text), "it did not prove the session key "
                 "(%s)", detail ? detail : "?");
        break;
    case DATACH_REFUSED_SLOW:
        snprintf(text, sizeof(text), "too slow: it did not prove the "
                 "session key within %d s", DATACH_AUTH_S);
        break;
    case DATACH_REFUSED_CLOSED:
        snprintf(text, sizeof(text), "it closed early, after %zu bytes, "
                 "without proving the session key", p->got);
        break;
    case DATACH_REFUSED_CROWDED:
        snprintf(text, sizeof(text), "too slow: %d newer connections "
                 "pushed it out before it proved the session key",
                 DATACH_PENDING_MAX);
        break;
    }
    acc->refused++;
    if (datach_acc_name(acc, p)) {
        LOG(acc->ctx, WARN, "refused a data connection from %s port %s: %s",
            p->addr, p->port, text);
        acc->logged++;
    }
    close(p->fd);
    memmove(p, p + 1, (acc->n_pend - i - 1) * sizeof(*p));
    acc->n_pend--;
}

/*
 * Reads what pend[i] has sent, never past its AUTH frame (the stream
 * follows). true once the whole frame checks; what does not check, or
 * ends early, is refused.
 */
static bool datach_acc_read(struct datach_acc *acc, unsigned i)
{
    struct datach_pending *p = &acc->pend[i];
    char *why = NULL;
    ssize_t n;
    bool ok = false;

    n = recv(p->fd, p->buf + p->got, FRAME_AUTH_LEN - p->got, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return false;
    if (n <= 0) {
        datach_acc_refuse(acc, i, DATACH_REFUSED_CLOSED, NULL);
        return false;
    }
    p->got += (size_t)n;
    if (datach_auth_check(acc->dec, p->buf, p->got, &why))
        datach_acc_refuse(acc, i, DATACH_REFUSED_KEY, why);
    else
        ok = p->got == FRAME_AUTH_LEN;
    free(why);
    return ok;
}

/* accept(2) failures that are the new connection's, not ours (TCP/IP). */
static bool datach_acc_transient(int err)
{
    switch (err) {
    case EINTR: case ECONNABORTED: case EPROTO: case ENETDOWN:
    case ENOPROTOOPT: case EHOSTDOWN: case ENONET: case EHOSTUNREACH:
    case EOPNOTSUPP: case ENETUNREACH:
        return true;
    }
    return false;
}

/*
 * Accepts what waits on listen_fd (DATACH_TAKE_MAX at most) and reads
 * what each has sent already: *win_r the index of one that proved the key
 * at once, else -1.
 */
static int datach_acc_take(struct datach_acc *acc, int listen_fd,
                           int *win_r)
{
    struct sockaddr_storage ss;
    struct datach_pending *p;
    socklen_t sl;
    unsigned k;
    int fd, err;

    *win_r = -1;
    for (k = 0; k < DATACH_TAKE_MAX; k++) {
        sl = sizeof(ss);
        fd = accept4(listen_fd, (struct sockaddr *)&ss, &sl,
                     SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            err = errno;
            if (err == EAGAIN) return XLMIG_OK;
            if (datach_acc_transient(err)) continue;
            LOGEV(acc->ctx, ERROR, err, "data connection: accept");
            return XLMIG_E_SYSTEM;
        }
        if (acc->n_pend == DATACH_PENDING_MAX)
            datach_acc_refuse(acc, 0, DATACH_REFUSED_CROWDED, NULL);
        p = &acc->pend[acc->n_pend++];
        memset(p, 0, sizeof(*p));
        p->fd = fd;
        p->deadline = ctx_now(acc->ctx) + DATACH_AUTH_S;
        if (getnameinfo((struct sockaddr *)&ss, sl, p->addr,
                        sizeof(p->addr), p->port, sizeof(p->port),
                        NI_NUMERICHOST | NI_NUMERICSERV)) {
            snprintf(p->addr, sizeof(p->addr), "?");
            snprintf(p->port, sizeof(p->port), "?");
        }
        if (datach_acc_read(acc, acc->n_pend - 1)) {
            *win_r = (int)acc->n_pend - 1;
            return XLMIG_OK;
        }
    }
    return XLMIG_OK;
}

/* Refuses the connections whose time is up (the oldest come first). */
static void datach_acc_expire(struct datach_acc *acc)
{
    double now = ctx_now(acc->ctx);

    while (acc->n_pend && acc->pend[0].deadline <= now)
        datach_acc_refuse(acc, 0, DATACH_REFUSED_SLOW, NULL);
}

/*
 * Waits until a fd of the set is ready, the oldest connection's time is
 * up, or the session's deadline: XLMIG_E_CANCELLED if a cancel fd is
 * readable, else the revents of pfd[] say what to do.
 */
static int datach_acc_poll(struct datach_acc *acc, int listen_fd,
                           int ctl_fd, const struct fdio_wait *w,
                           double deadline)
{
    nfds_t n = 0, i;
    int ms, pms, r;

    /* Whole structs, revents 0: gcc's access checks lose track of an
     * array filled member by member (a false -Wstringop-overflow). */
    acc->pfd[n++] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
    acc->pfd[n++] = (struct pollfd){ .fd = ctl_fd, .events = POLLIN };
    for (i = 0; i < FDIO_CANCEL_FDS; i++)       /* poll skips -1 */
        acc->pfd[n++] = (struct pollfd){ .fd = w->cancel_fds[i],
                                         .events = POLLIN };
    acc->pend_at = n;
    for (i = 0; i < acc->n_pend; i++)
        acc->pfd[n++] = (struct pollfd){ .fd = acc->pend[i].fd,
                                         .events = POLLIN };
    ms = fdio_ms_until(acc->ctx, deadline);
    if (acc->n_pend) {
        pms = fdio_ms_until(acc->ctx, acc->pend[0].deadline);
        if (ms < 0 || pms < ms) ms = pms;
    }
    r = poll(acc->pfd, n, ms);
    if (r < 0 && errno == EINTR) return XLMIG_OK;
    if (r < 0) {
        LOGE(acc->ctx, ERROR, "poll while waiting for the data connection");
        return XLMIG_E_SYSTEM;
    }
    for (i = 2; i < acc->pend_at; i++)
        if (acc->pfd[i].revents) {
            LOG(acc->ctx, ERROR, "cancelled while waiting for the data "
                "connection");
            return XLMIG_E_CANCELLED;
        }
    return XLMIG_OK;
}

/* Reads every connection poll found ready: the index of a winner, or -1. */
static int datach_acc_read_ready(struct datach_acc *acc)
{
    unsigned i = acc->n_pend;

    /* From the last: a refusal moves only those already read. */
    while (i-- > 0)
        if (acc->pfd[acc->pend_at + i].revents && datach_acc_read(acc, i))
            return (int)i;
    return -1;
}

/* Hands out pend[i], blocking again, as the data connection. */
static int datach_acc_win(struct datach_acc *acc, unsigned i, int *fd_r)
{
    struct datach_pending *p = &acc->pend[i];

    if (fdio_set_nonblock(acc->ctx, p->fd, false) < 0)
        return XLMIG_E_SYSTEM;
    LOG(acc->ctx, DEBUG, "data connection from %s port %s", p->addr,
        p->port);
    *fd_r = p->fd;
    memmove(p, p + 1, (acc->n_pend - i - 1) * sizeof(*p));
    acc->n_pend--;
    return XLMIG_OK;
}

static void datach_acc_dispose(struct datach_acc *acc)
{
    unsigned i;

    for (i = 0; i < acc->n_pend; i++)
        if (acc->pend[i].fd >= 0) close(acc->pend[i].fd);
    acc->n_pend = 0;
    if (acc->refused > acc->logged)
        LOG(acc->ctx, WARN, "refused %u data connections in all; only the "
            "first from each address was logged", acc->refused);
}

struct datach_acc *datach_acc_new(struct xlmig_ctx *ctx, int listen_fd,
                                  struct frame_dec *dec)
{
    struct datach_acc *acc = xcalloc(1, sizeof(*acc));

    acc->ctx = ctx;
    acc->dec = dec;
    acc->listen_fd = listen_fd;
    return acc;
}

void datach_acc_free(struct datach_acc *acc)
{
    if (!acc) return;
    datach_acc_dispose(acc);
    free(acc);
}

int datach_acc_run(struct datach_acc *acc, int ctl_fd, unsigned flags,
                   const struct fdio_wait *w, int *fd_r)
{
    struct xlmig_ctx *ctx = acc->ctx;
    double deadline = w->timeout_s ? ctx_now(ctx) + w->timeout_s : 0;
    int win, rc;

    *fd_r = -1;
    for (;;) {
        rc = datach_acc_poll(acc, acc->listen_fd, ctl_fd, w, deadline);
        if (rc) return rc;
        win = datach_acc_read_ready(acc);
        if (win >= 0) break;
        if (acc->pfd[1].revents && (flags & DATACH_YIELD)) return XLMIG_OK;
        if (acc->pfd[1].revents) {
            LOG(ctx, ERROR, "the sender closed the control connection "
                "before its data connection was accepted");
            return XLMIG_E_PEER;
        }
        datach_acc_expire(acc);
        if (acc->pfd[0].revents) {
            rc = datach_acc_take(acc, acc->listen_fd, &win);
            if (rc) return rc;
            if (win >= 0) break;
        }
        if (deadline && ctx_now(ctx) >= deadline) {
            LOG(ctx, ERROR, "no data connection from the sender within %u s",
                w->timeout_s);
            return XLMIG_E_TIMEDOUT;
        }
    }
    return datach_acc_win(acc, (unsigned)win, fd_r);
}

int datach_accept(struct xlmig_ctx *ctx, int listen_fd,
                  struct frame_dec *dec, int ctl_fd, unsigned flags,
                  const struct fdio_wait *w, int *fd_r)
{
    struct datach_acc *acc = datach_acc_new(ctx, listen_fd, dec);
    int rc;

    rc = datach_acc_run(acc, ctl_fd, flags, w, fd_r);
    datach_acc_free(acc);
    return rc;
}

/* ---- the sender ---- */

/*
 * Waits until the connect of fd ends, at most until deadline; a cancel fd
 * of w ends it too (XLMIG_E_CANCELLED, logged). *err_r: 0, or the errno
 * of a connection that failed (ETIMEDOUT: not made in time).
 */
static int datach_connect_wait(struct xlmig_ctx *ctx, int fd,
                               double deadline, const struct fdio_wait *w,
                               int *err_r)
{
    struct pollfd p[1 + FDIO_CANCEL_FDS];
    socklen_t sl = sizeof(int);
    int i, r;

    *err_r = 0;
    for (;;) {
        p[0] = (struct pollfd){ .fd = fd, .events = POLLOUT };
        for (i = 0; i < FDIO_CANCEL_FDS; i++)
            p[1 + i] = (struct pollfd){ .fd = w->cancel_fds[i],
                                        .events = POLLIN };
        r = poll(p, ARRAY_SIZE(p), fdio_ms_until(ctx, deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            LOGE(ctx, ERROR, "poll while connecting the data connection");
            return XLMIG_E_SYSTEM;
        }
        for (i = 0; i < FDIO_CANCEL_FDS; i++)
            if (p[1 + i].revents) {
                LOG(ctx, ERROR, "cancelled while connecting the data "
                    "connection");
                return XLMIG_E_CANCELLED;
            }
        if (p[0].revents) break;
        if (fdio_ms_until(ctx, deadline) == 0) {
            *err_r = ETIMEDOUT;
            return XLMIG_OK;
        }
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err_r, &sl) < 0) *err_r = errno;
    return XLMIG_OK;
}

/*
 * One non-blocking connect to a from from (NULL: any), until deadline.
 * A connection that cannot be made sets *err_r to its errno and returns
 * XLMIG_E_PEER, not logged; other failures are logged (*err_r 0).
 */
static int datach_connect_one(struct xlmig_ctx *ctx, const struct addrinfo *a,
                              const struct addrinfo *from, double deadline,
                              const struct fdio_wait *w, int *fd_r,
                              int *err_r)
{
    int fd, rc;

    *fd_r = -1;
    *err_r = 0;
    fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        LOGE(ctx, ERROR, "data connection: socket");
        return XLMIG_E_SYSTEM;
    }
    datach_tune(fd);
    if (from && bind(fd, from->ai_addr, from->ai_addrlen) < 0) {
        *err_r = errno;
        rc = XLMIG_E_PEER;
        goto out;
    }
    if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS &&
        errno != EINTR) {
        *err_r = errno;
        rc = XLMIG_E_PEER;
        goto out;
    }
    rc = datach_connect_wait(ctx, fd, deadline, w, err_r);
    if (!rc && *err_r) rc = XLMIG_E_PEER;
    if (!rc && fdio_set_nonblock(ctx, fd, false) < 0) rc = XLMIG_E_SYSTEM;
    if (rc) goto out;
    *fd_r = fd;
    fd = -1;
out:
    if (fd >= 0) close(fd);
    return rc;
}

/* Why a connection was not made, in words (allocated). */
static char *datach_why(int err, unsigned timeout_s, bool bound)
{
    if (err == ETIMEDOUT)
        return xasprintf("no answer within %u s (a firewall that drops "
                         "it, or no route back)", timeout_s);
    if (bound && (err == EADDRNOTAVAIL || err == EINVAL))
        return xasprintf("cannot connect from this host's migration "
                         "address: %s", strerror(err));
    return xstrdup(strerror(err));
}

int datach_connect(struct xlmig_ctx *ctx, const char *addr, unsigned port,
                   const char *from_addr, unsigned timeout_s,
                   struct frame_enc *enc, const struct fdio_wait *w,
                   int *fd_r, char **why_r)
{
    struct addrinfo *ai = NULL, *from = NULL;
    struct addrinfo hints = {
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
    };
    char serv[8];
    double deadline = ctx_now(ctx) + (timeout_s ? timeout_s : 1);
    int fd = -1, rc, err = 0, r;

    *fd_r = -1;
    *why_r = NULL;
    snprintf(serv, sizeof(serv), "%u", port);
    r = getaddrinfo(addr, serv, &hints, &ai);
    if (r) {
        *why_r = xasprintf("%s is not a numeric address: %s", addr,
                           gai_strerror(r));
        rc = XLMIG_E_PEER;
        goto out;
    }
    if (from_addr && *from_addr) {
        hints.ai_family = ai->ai_family;
        r = getaddrinfo(from_addr, NULL, &hints, &from);
        if (r) {
            *why_r = xasprintf("this host's migration address %s is not "
                               "of the same family as %s", from_addr, addr);
            rc = XLMIG_E_PEER;
            goto out;
        }
    }
    rc = datach_connect_one(ctx, ai, from, deadline, w, &fd, &err);
    if (rc) {
        if (err) *why_r = datach_why(err, timeout_s, from != NULL);
        if (err == ETIMEDOUT) rc = XLMIG_E_TIMEDOUT;
        goto out;
    }
    rc = datach_send_auth(ctx, fd, enc, w, "data connection");
    if (rc) goto out;
    *fd_r = fd;
    fd = -1;
out:
    if (fd >= 0) close(fd);
    if (ai) freeaddrinfo(ai);
    if (from) freeaddrinfo(from);
    return rc;
}

/* ---- the AUTH frame on a stream ---- */

int datach_read_auth(struct xlmig_ctx *ctx, int fd, struct frame_dec *dec,
                     const struct fdio_wait *w, const char *what)
{
    uint8_t buf[FRAME_AUTH_LEN];
    char *why = NULL;
    int rc;

    /* The header first: a stream that is no session is refused early. */
    rc = fdio_read_exact(ctx, fd, buf, FRAME_HDR_LEN, w, what);
    if (!rc) rc = datach_auth_check(dec, buf, FRAME_HDR_LEN, &why);
    if (!rc)
        rc = fdio_read_exact(ctx, fd, buf + FRAME_HDR_LEN,
                             FRAME_AUTH_LEN - FRAME_HDR_LEN, w, what);
    if (!rc) rc = datach_auth_check(dec, buf, FRAME_AUTH_LEN, &why);
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
