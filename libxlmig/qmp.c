/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmp.c - a QMP client (qmp.h). QEMU writes one JSON object a line,
 * ending in "\r\n": the greeting, then replies (with the id we gave) and
 * events in any order. We send one command at a time and read lines
 * until its reply; events read meanwhile go to a bounded queue, the
 * oldest dropped when it is full (callers that wait for an event also
 * query the state it announces, so a lost one costs a second, no more).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <yajl/yajl_gen.h>

#include "fdio.h"
#include "proto.h"
#include "qmp.h"

#define QMP_READ_CHUNK 65536

/* ---- arguments ---- */

struct qmp_args {
    yajl_gen g;
    bool bad;                   /* a call failed: the text is unusable */
};

struct qmp_args *qmp_args_new(void)
{
    struct qmp_args *a = xcalloc(1, sizeof(*a));

    a->g = yajl_gen_alloc(NULL);
    if (!a->g) abort();
    yajl_gen_config(a->g, yajl_gen_validate_utf8, 1);
    a->bad = yajl_gen_map_open(a->g) != yajl_gen_status_ok;
    return a;
}

static void qmp_args_check(struct qmp_args *a, yajl_gen_status st)
{
    if (st != yajl_gen_status_ok) a->bad = true;
}

static void qmp_args_gen_str(struct qmp_args *a, const char *s)
{
    if (a->bad) return;
    qmp_args_check(a, yajl_gen_string(a->g, (const unsigned char *)s,
                                      strlen(s)));
}

void qmp_args_str(struct qmp_args *a, const char *key, const char *val)
{
    qmp_args_gen_str(a, key);
    qmp_args_gen_str(a, val);
}

void qmp_args_u64(struct qmp_args *a, const char *key, uint64_t val)
{
    char num[24];

    qmp_args_gen_str(a, key);
    if (a->bad) return;
    snprintf(num, sizeof(num), "%" PRIu64, val);
    qmp_args_check(a, yajl_gen_number(a->g, num, strlen(num)));
}

void qmp_args_bool(struct qmp_args *a, const char *key, bool val)
{
    qmp_args_gen_str(a, key);
    if (a->bad) return;
    qmp_args_check(a, yajl_gen_bool(a->g, val));
}

void qmp_args_open(struct qmp_args *a, const char *key)
{
    qmp_args_gen_str(a, key);
    if (a->bad) return;
    qmp_args_check(a, yajl_gen_map_open(a->g));
}

void qmp_args_close(struct qmp_args *a)
{
    if (a->bad) return;
    qmp_args_check(a, yajl_gen_map_close(a->g));
}

char *qmp_args_end(struct qmp_args *a)
{
    const unsigned char *buf;
    char *text = NULL;
    size_t len;

    if (!a->bad) qmp_args_check(a, yajl_gen_map_close(a->g));
    if (!a->bad) qmp_args_check(a, yajl_gen_get_buf(a->g, &buf, &len));
    if (!a->bad) {
        text = xmalloc(len + 1);
        memcpy(text, buf, len);
        text[len] = '\0';
    }
    yajl_gen_free(a->g);
    free(a);
    return text;
}

/* ---- the client ---- */

struct qmp {
    int fd;
    char *path;                 /* the socket, for messages */
    char *buf;                  /* bytes read, not yet a whole line */
    size_t len, cap;
    unsigned long seq;          /* ids given */
    struct qmp_msg ev[QMP_EVENTS_MAX];  /* queued events, oldest first */
    size_t n_ev;
    unsigned long dropped;
    int broken;                 /* a code: the connection is unusable */
};

yajl_val qmp_return(yajl_val reply)
{
    return qmp_msg_get(reply, "return");
}

yajl_val qmp_event_data(yajl_val ev)
{
    yajl_val d = qmp_msg_get(ev, "data");

    return YAJL_IS_OBJECT(d) ? d : NULL;
}

void qmp_close(struct qmp *q)
{
    size_t i;

    if (!q) return;
    if (q->fd >= 0) close(q->fd);
    for (i = 0; i < q->n_ev; i++)
        qmp_msg_dispose(&q->ev[i]);
    free(q->buf);
    free(q->path);
    free(q);
}

/* Once a read failed or QEMU sent what is not QMP, the line framing (or
 * the socket) is gone: every later call fails the same way. */
static int qmp_usable(struct xlmig_ctx *ctx, struct qmp *q)
{
    if (!q->broken) return XLMIG_OK;
    LOG(ctx, ERROR, "qemu monitor %s unusable after an earlier failure",
        q->path);
    return q->broken;
}

static void qmp_queue(struct xlmig_ctx *ctx, struct qmp *q,
                      struct qmp_msg *m)
{
    if (q->n_ev == QMP_EVENTS_MAX) {
        LOG(ctx, DEBUG, "qemu monitor %s: event queue full, dropped %s",
            q->path, q->ev[0].event);
        qmp_msg_dispose(&q->ev[0]);
        memmove(&q->ev[0], &q->ev[1], (q->n_ev - 1) * sizeof(q->ev[0]));
        q->n_ev--;
        q->dropped++;
    }
    q->ev[q->n_ev++] = *m;
    memset(m, 0, sizeof(*m));
}

/* Reads more bytes into q->buf by deadline. */
/* A read or send failed with err (0: end of file): the session is
 * broken for good. */
static int qmp_broken(struct xlmig_ctx *ctx, struct qmp *q, const char *what,
                      int err)
{
    if (err == 0 || err == EPIPE || err == ECONNRESET) {
        LOG(ctx, ERROR, "qemu closed its monitor %s: the domain's device "
            "model died?", q->path);
        q->broken = XLMIG_E_PEER;
    } else {
        LOGEV(ctx, ERROR, err, "%s qemu monitor %s", what, q->path);
        q->broken = XLMIG_E_SYSTEM;
    }
    return q->broken;
}

static int qmp_fill(struct xlmig_ctx *ctx, struct qmp *q, double deadline,
                    const char *what, bool quiet)
{
    struct pollfd p = { .fd = q->fd, .events = POLLIN };
    ssize_t r;
    int n;

    if (q->cap - q->len < QMP_READ_CHUNK + 1) {
        q->cap = q->len + QMP_READ_CHUNK + 1;
        q->buf = xrealloc(q->buf, q->cap);
    }
    for (;;) {
        n = poll(&p, 1, fdio_ms_until(ctx, deadline));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            LOGE(ctx, ERROR, "poll on qemu monitor %s", q->path);
            return XLMIG_E_SYSTEM;
        }
        if (n == 0) {
            if (quiet)
                LOG(ctx, DEBUG, "no %s from qemu at %s yet", what, q->path);
            else
                LOG(ctx, ERROR, "timed out waiting for %s from qemu at %s",
                    what, q->path);
            return XLMIG_E_TIMEDOUT;
        }
        r = read(q->fd, q->buf + q->len, q->cap - q->len - 1);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r <= 0) return qmp_broken(ctx, q, "read from", r ? errno : 0);
        q->len += (size_t)r;
        return XLMIG_OK;
    }
}

/* The next message from QEMU, by deadline. */
static int qmp_next(struct xlmig_ctx *ctx, struct qmp *q, double deadline,
                    const char *what, bool quiet, struct qmp_msg *m)
{
    char *nl, *why = NULL, *esc;
    size_t n, scanned = 0;
    int rc;

    for (;;) {
        nl = q->len > scanned ?
             memchr(q->buf + scanned, '\n', q->len - scanned) : NULL;
        if (!nl) {
            if (q->len > QMP_MSG_LINE_MAX + 1) {
                LOG(ctx, ERROR, "qemu monitor %s sent a line of over %u"
                    " bytes", q->path, QMP_MSG_LINE_MAX);
                q->broken = XLMIG_E_TOOBIG;
                return XLMIG_E_TOOBIG;
            }
            scanned = q->len;
            rc = qmp_fill(ctx, q, deadline, what, quiet);
            if (rc) return rc;
            continue;
        }
        n = (size_t)(nl - q->buf);
        if (n && q->buf[n - 1] == '\r') n--;
        if (n) rc = qmp_msg_parse(q->buf, n, m, &why);
        else rc = XLMIG_OK;     /* an empty line: nothing */
        if (rc) {
            esc = proto_escape((const uint8_t *)q->buf, n, 80);
            LOG(ctx, ERROR, "qemu monitor %s sent %s: \"%s\"", q->path, why,
                esc);
            free(esc);
            free(why);
            q->broken = rc;
        }
        n = (size_t)(nl - q->buf) + 1;
        memmove(q->buf, q->buf + n, q->len - n);
        q->len -= n;
        scanned = 0;
        if (rc || m->root) return rc;
    }
}

static int qmp_send(struct xlmig_ctx *ctx, struct qmp *q, const char *text,
                    double deadline)
{
    struct pollfd p = { .fd = q->fd, .events = POLLOUT };
    size_t len = strlen(text), done = 0;
    ssize_t r;
    int n;

    while (done < len) {
        n = poll(&p, 1, fdio_ms_until(ctx, deadline));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            LOGE(ctx, ERROR, "poll on qemu monitor %s", q->path);
            return XLMIG_E_SYSTEM;
        }
        if (n == 0) {
            LOG(ctx, ERROR, "timed out sending to qemu monitor %s",
                q->path);
            q->broken = XLMIG_E_TIMEDOUT;   /* a command half sent */
            return XLMIG_E_TIMEDOUT;
        }
        /* MSG_NOSIGNAL: a dead QEMU is an error, not our SIGPIPE. */
        r = send(q->fd, text + done, len - done, MSG_NOSIGNAL);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r < 0) return qmp_broken(ctx, q, "send to", errno);
        done += (size_t)r;
    }
    return XLMIG_OK;
}

static bool qmp_name_ok(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n < 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

/* The reply's error as "Class: desc", printable and bounded. */
static char *qmp_error_text(const struct qmp_msg *m)
{
    char *cls = proto_escape((const uint8_t *)m->err_class,
                             strlen(m->err_class), 64);
    char *desc = proto_escape((const uint8_t *)m->err_desc,
                              strlen(m->err_desc), QMP_DESC_MAX);
    char *text = xasprintf("%s: %s", cls, desc);

    free(cls);
    free(desc);
    return text;
}

static int qmp_run(struct xlmig_ctx *ctx, struct qmp *q, const char *command,
                   const char *args, double deadline, bool expect_error,
                   yajl_val *reply_r, char **err_r)
{
    struct qmp_msg m = { 0 };
    char id[32], *text = NULL, *what = NULL, *err = NULL;
    int rc;

    if (reply_r) *reply_r = NULL;
    if (err_r) *err_r = NULL;
    if (!qmp_name_ok(command)) {
        LOG(ctx, ERROR, "bad qmp command name");
        return XLMIG_E_INTERNAL;
    }
    rc = qmp_usable(ctx, q);
    if (rc) return rc;
    snprintf(id, sizeof(id), "xlmig-%lu", ++q->seq);
    /* command and id are ours (checked above); args is JSON text. */
    text = xasprintf("{\"execute\": \"%s\", \"id\": \"%s\"%s%s}\r\n",
                     command, id, args ? ", \"arguments\": " : "",
                     args ? args : "");
    rc = qmp_send(ctx, q, text, deadline);
    if (rc) goto out;
    what = xasprintf("the reply to %s", command);
    for (;;) {
        qmp_msg_dispose(&m);
        rc = qmp_next(ctx, q, deadline, what, false, &m);
        if (rc) goto out;
        if (m.type == QMP_MSG_EVENT) {
            qmp_queue(ctx, q, &m);
            continue;
        }
        if (m.type == QMP_MSG_GREETING) {
            LOG(ctx, ERROR, "qemu monitor %s greeted again instead of"
                " replying to %s", q->path, command);
            q->broken = XLMIG_E_PROTO;
            rc = XLMIG_E_PROTO;
            goto out;
        }
        /* No id: QEMU could not read a request (not ours, we send
         * JSON), and can only have answered the one it is reading. */
        if (m.id ? !strcmp(m.id, id) : m.error) break;
        LOG(ctx, DEBUG, "qemu monitor %s: skipped a late reply", q->path);
    }
    if (m.error) {
        err = qmp_error_text(&m);
        if (expect_error)
            LOG(ctx, DEBUG, "qemu refused %s: %s", command, err);
        else
            LOG(ctx, ERROR, "qemu refused %s: %s", command, err);
        if (err_r) {
            *err_r = err;
            err = NULL;
        }
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    if (reply_r) {
        *reply_r = m.root;
        m.root = NULL;
    }
    rc = XLMIG_OK;
out:
    qmp_msg_dispose(&m);
    free(err);
    free(what);
    free(text);
    return rc;
}

int qmp_exec(struct xlmig_ctx *ctx, struct qmp *q, const char *command,
             const char *args, double deadline, yajl_val *reply_r)
{
    return qmp_run(ctx, q, command, args, deadline, false, reply_r, NULL);
}

int qmp_exec_try(struct xlmig_ctx *ctx, struct qmp *q, const char *command,
                 const char *args, double deadline, yajl_val *reply_r,
                 char **err_r)
{
    return qmp_run(ctx, q, command, args, deadline, true, reply_r, err_r);
}

static bool qmp_event_is(const struct qmp_msg *m, const char *name,
                         const char *id)
{
    const char *job;

    if (strcmp(m->event, name)) return false;
    if (!id) return true;
    job = qmp_msg_get_str(m->data, "id");
    if (!job) job = qmp_msg_get_str(m->data, "device");
    return job && !strcmp(job, id);
}

int qmp_event_wait(struct xlmig_ctx *ctx, struct qmp *q, const char *name,
                   const char *id, double deadline, yajl_val *ev_r)
{
    struct qmp_msg m = { 0 };
    char *what = NULL;
    size_t i;
    int rc;

    if (ev_r) *ev_r = NULL;
    for (i = 0; i < q->n_ev; i++) {
        if (qmp_event_is(&q->ev[i], name, id)) {
            m = q->ev[i];
            memmove(&q->ev[i], &q->ev[i + 1],
                    (q->n_ev - i - 1) * sizeof(q->ev[0]));
            q->n_ev--;
            goto found;
        }
    }
    rc = qmp_usable(ctx, q);
    if (rc) return rc;
    what = xasprintf("event %s", name);
    for (;;) {
        qmp_msg_dispose(&m);
        rc = qmp_next(ctx, q, deadline, what, true, &m);
        if (rc) goto out;
        if (m.type == QMP_MSG_GREETING) {
            LOG(ctx, ERROR, "qemu monitor %s greeted again", q->path);
            q->broken = XLMIG_E_PROTO;
            rc = XLMIG_E_PROTO;
            goto out;
        }
        if (m.type == QMP_MSG_REPLY) continue;  /* a late reply */
        if (qmp_event_is(&m, name, id)) break;
        qmp_queue(ctx, q, &m);
    }
found:
    if (ev_r) {
        *ev_r = m.root;
        m.root = NULL;
    }
    rc = XLMIG_OK;
out:
    qmp_msg_dispose(&m);
    free(what);
    return rc;
}

static int qmp_open_socket(struct xlmig_ctx *ctx, const char *path,
                           int *fd_r)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, rc;

    *fd_r = -1;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        LOG(ctx, ERROR, "qemu monitor path too long: %s", path);
        return XLMIG_E_INVAL;
    }
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        LOGE(ctx, ERROR, "socket for qemu monitor %s", path);
        return XLMIG_E_SYSTEM;
    }
    if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        *fd_r = fd;
        return XLMIG_OK;
    }
    if (errno == ENOENT || errno == ECONNREFUSED) {
        LOGE(ctx, ERROR, "no qemu listens on monitor %s", path);
        rc = XLMIG_E_NOTFOUND;
    } else if (errno == EAGAIN) {
        LOG(ctx, ERROR, "qemu monitor %s: too many clients waiting", path);
        rc = XLMIG_E_BUSY;
    } else {
        LOGE(ctx, ERROR, "connect to qemu monitor %s", path);
        rc = err_from_errno(errno);
    }
    close(fd);
    return rc;
}

int qmp_connect(struct xlmig_ctx *ctx, const char *path, double deadline,
                struct qmp **q_r)
{
    struct qmp_msg m = { 0 };
    struct qmp *q = NULL;
    int fd, rc;

    *q_r = NULL;
    rc = qmp_open_socket(ctx, path, &fd);
    if (rc) goto out;
    q = xcalloc(1, sizeof(*q));
    q->fd = fd;
    q->path = xstrdup(path);
    /* QEMU serves one client a monitor: the others wait, unanswered. */
    rc = qmp_next(ctx, q, deadline, "the greeting (is another client on"
                  " the monitor?)", false, &m);
    if (rc) goto out;
    if (m.type != QMP_MSG_GREETING) {
        LOG(ctx, ERROR, "qemu monitor %s did not greet first", path);
        rc = XLMIG_E_PROTO;
        goto out;
    }
    rc = qmp_exec(ctx, q, "qmp_capabilities", NULL, deadline, NULL);
    if (rc) goto out;
    *q_r = q;
    q = NULL;
out:
    qmp_msg_dispose(&m);
    qmp_close(q);
    return rc;
}
