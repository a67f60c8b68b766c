/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-datach.c - the data connection (datach.c) on loopback: the sender
 * holding the key gets through whatever else connects first (a slow
 * loris, junk, a wrong key, a crowd), each refused address is logged
 * once, the decoder is not spoilt by a failed AUTH, and the receiver's
 * wait ends on the control channel, a cancel or the session's deadline;
 * a sender facing a closed port gets XLMIG_E_PEER and the cause.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "datach.h"

#define DT_TIMEOUT_S 20             /* a session deadline that fails a test */
#define DT_CLIENT_S 5               /* for a client's connect or send */
#define DT_LOG_MAX 65536
#define DT_JUNK 30

/* A logger that keeps every line of WARN and above, one per '\n'. */
struct dt_capture {
    xentoollog_logger vtable;
    char text[DT_LOG_MAX];
    size_t len;
    int last_errno;             /* of the last ERROR line */
};

struct dt {
    struct dt_capture cap;
    struct xlmig_ctx *ctx;
    struct frame_keys keys;
    struct frame_enc *enc;
    struct frame_dec *dec;
    uint8_t auth[FRAME_AUTH_LEN];   /* the sender's AUTH frame */
    uint8_t bad[FRAME_AUTH_LEN];    /* an AUTH frame under another key */
    int listen_fd;
    unsigned port;
    int ctl[2], cancel[2];
    struct fdio_wait w;
};

static void dt_vmessage(xentoollog_logger *lg, xentoollog_level level,
                        int errnoval, const char *context, const char *fmt,
                        va_list ap)
{
    struct dt_capture *cap = (struct dt_capture *)lg;
    char line[1024];
    int n;

    (void)context;
    vsnprintf(line, sizeof(line), fmt, ap);
    if (getenv("XLMIG_TEST_LOG")) fprintf(stderr, "%s\n", line);
    if (level < XTL_WARN) return;
    if (level >= XTL_ERROR) cap->last_errno = errnoval;
    n = snprintf(cap->text + cap->len, sizeof(cap->text) - cap->len, "%s\n",
                 line);
    if (n > 0) cap->len += (size_t)n;
    if (cap->len >= sizeof(cap->text)) cap->len = sizeof(cap->text) - 1;
}

static void dt_destroy(xentoollog_logger *lg)
{
    (void)lg;
}

/* How many lines of the log hold s. */
static unsigned dt_log_count(const struct dt *t, const char *s)
{
    const char *p = t->cap.text, *nl;
    unsigned n = 0;
    char *line;

    while ((nl = strchr(p, '\n'))) {
        line = xasprintf("%.*s", (int)(nl - p), p);
        if (strstr(line, s)) n++;
        free(line);
        p = nl + 1;
    }
    return n;
}

/* An AUTH frame of a session under keys k. */
static void dt_auth_frame(const struct frame_keys *k, uint8_t *out)
{
    struct frame_enc *e = frame_enc_new(k, true);
    size_t len;

    assert_non_null(e);
    assert_int_equal(frame_enc_auth(e, out, &len), 0);
    assert_int_equal(len, FRAME_AUTH_LEN);
    frame_enc_free(e);
}

static int dt_setup(void **state)
{
    struct dt *t = calloc(1, sizeof(*t));
    struct frame_keys other;
    size_t len;

    if (!t) return -1;
    t->cap.vtable.vmessage = dt_vmessage;
    t->cap.vtable.destroy = dt_destroy;
    if (xlmig_ctx_new(&t->ctx, &t->cap.vtable, "libxl")) return -1;
    if (frame_keys_new(&t->keys) || frame_keys_new(&other)) return -1;
    /* Same session id and salt, another key: only the tag is wrong. */
    memcpy(other.session, t->keys.session, sizeof(other.session));
    memcpy(other.salt, t->keys.salt, sizeof(other.salt));
    t->enc = frame_enc_new(&t->keys, true);
    t->dec = frame_dec_new(&t->keys, 1u << FRAME_CODEC_NONE, true);
    if (!t->enc || !t->dec) return -1;
    if (frame_enc_auth(t->enc, t->auth, &len) || len != FRAME_AUTH_LEN)
        return -1;
    dt_auth_frame(&other, t->bad);
    if (datach_listen(t->ctx, "127.0.0.1", 0, &t->listen_fd, &t->port))
        return -1;
    if (pipe2(t->ctl, O_CLOEXEC) || pipe2(t->cancel, O_CLOEXEC)) return -1;
    t->w = fdio_wait_make(DT_TIMEOUT_S, t->cancel[0]);
    *state = t;
    return 0;
}

static int dt_teardown(void **state)
{
    struct dt *t = *state;

    fdio_close(&t->listen_fd);
    fdio_close_pair(t->ctl);
    fdio_close_pair(t->cancel);
    frame_enc_free(t->enc);
    frame_dec_free(t->dec);
    xlmig_ctx_free(t->ctx);
    free(t);
    return 0;
}

/*
 * A blocking connection to 127.0.0.1:port, from the address from; connect
 * and send give up after DT_CLIENT_S (a receiver that stopped accepting
 * fails the test, it does not hang it).
 */
static int dt_connect_from(const char *from, unsigned port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    struct timeval tv = { .tv_sec = DT_CLIENT_S };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
        goto fail;
    if (from) {
        inet_pton(AF_INET, from, &sa.sin_addr);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) goto fail;
    }
    sa.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

static int dt_connect(unsigned port)
{
    return dt_connect_from(NULL, port);
}

/* A connection that sent len bytes of p (and stays open). */
static int dt_send(unsigned port, const void *p, size_t len)
{
    int fd = dt_connect(port);

    if (fd >= 0 && send(fd, p, len, MSG_NOSIGNAL) != (ssize_t)len) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Accepts with t->w and checks that the result is the real sender's. */
static void dt_accept_ok(struct dt *t, int sender)
{
    char buf[8];
    int fd;

    assert_int_equal(datach_accept(t->ctx, t->listen_fd, t->dec,
                                   t->ctl[0], 0, &t->w, &fd), XLMIG_OK);
    assert_true(fd >= 0);
    assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
    /* The stream follows the AUTH frame: nothing of it was eaten. */
    assert_int_equal(send(sender, "stream", 6, MSG_NOSIGNAL), 6);
    assert_int_equal(recv(fd, buf, 6, MSG_WAITALL), 6);
    assert_memory_equal(buf, "stream", 6);
    close(fd);
}

/* The decoder takes the sender's next frame: it counted one AUTH. */
static void dt_dec_in_step(struct dt *t)
{
    static uint8_t raw[FRAME_RAW_MAX];
    uint8_t data[64], *frame = malloc(frame_enc_bound(sizeof(data)));
    struct frame_hdr h;
    char *why = NULL;
    size_t len;

    assert_non_null(frame);
    memset(data, 'x', sizeof(data));
    assert_int_equal(frame_enc_data(t->enc, FRAME_CODEC_NONE, data,
                                    sizeof(data), frame, &len), 0);
    assert_int_equal(frame_dec_hdr(t->dec, frame, &h, &why), 0);
    assert_int_equal(h.seq, 1);
    assert_int_equal(frame_dec_open(t->dec, &h, frame, frame + FRAME_HDR_LEN,
                                    raw, &why), 0);
    assert_null(why);
    assert_memory_equal(raw, data, sizeof(data));
    free(frame);
}

static void test_right_key(void **state)
{
    struct dt *t = *state;
    int s = dt_send(t->port, t->auth, sizeof(t->auth));

    assert_true(s >= 0);
    dt_accept_ok(t, s);
    dt_dec_in_step(t);
    assert_int_equal(t->cap.len, 0);
    close(s);
}

/* Queued before the real sender: a connection that sent 1 byte. */
static void test_slow_loris_first(void **state)
{
    struct dt *t = *state;
    int loris = dt_send(t->port, "x", 1), s;
    double t0 = ctx_now(t->ctx);

    s = dt_send(t->port, t->auth, sizeof(t->auth));
    assert_true(loris >= 0 && s >= 0);
    dt_accept_ok(t, s);
    /* The old receiver sat on the loris for its 10 s stall timer. */
    assert_true(ctx_now(t->ctx) - t0 < DATACH_AUTH_S - 2);
    close(loris);
    close(s);
}

/* The monotonic clock, without a ctx (for the client threads). */
static double dt_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A loris that sends a byte a second until dropped, then the sender. */
struct dt_loris {
    unsigned port;
    const uint8_t *auth;
    double dropped_after;           /* s from connect to being closed */
    int sender;
    const char *fail;
};

static void *dt_loris_main(void *arg)
{
    struct dt_loris *l = arg;
    struct pollfd p = { .events = POLLIN };
    double t0 = 0, t1;
    char c;
    int i;

    l->sender = -1;
    p.fd = dt_connect(l->port);
    if (p.fd < 0) {
        l->fail = "loris connect";
        return NULL;
    }
    t0 = dt_now();
    for (i = 0; i < 3 * DATACH_AUTH_S; i++) {
        if (send(p.fd, "x", 1, MSG_NOSIGNAL) != 1) break;
        /* The scenario's pace: one byte a second, unless dropped. */
        if (poll(&p, 1, 1000) > 0) break;
    }
    t1 = dt_now();
    if (recv(p.fd, &c, 1, MSG_DONTWAIT) > 0) l->fail = "loris got data";
    else if (i == 3 * DATACH_AUTH_S) l->fail = "loris never dropped";
    l->dropped_after = t1 - t0;
    close(p.fd);
    l->sender = dt_send(l->port, l->auth, FRAME_AUTH_LEN);
    if (l->sender < 0 && !l->fail) l->fail = "sender connect";
    return NULL;
}

static void test_slow_loris_dropped_at_deadline(void **state)
{
    struct dt *t = *state;
    struct dt_loris l = { .port = t->port, .auth = t->auth };
    pthread_t th;

    int fd, rc;

    assert_int_equal(pthread_create(&th, NULL, dt_loris_main, &l), 0);
    rc = datach_accept(t->ctx, t->listen_fd, t->dec, t->ctl[0], 0, &t->w,
                       &fd);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_null(l.fail);
    assert_int_equal(rc, XLMIG_OK);
    close(fd);
    close(l.sender);
    assert_true(l.dropped_after > DATACH_AUTH_S - 0.5);
    assert_true(l.dropped_after < DATACH_AUTH_S + 1.5);
    assert_int_equal(dt_log_count(t, "too slow: it did not prove the "
                                  "session key within"), 1);
}

/* Junk of every kind, then the sender. */
struct dt_flood {
    unsigned port;
    const uint8_t *auth, *bad;
    int sender;
    const char *fail;
};

static void *dt_flood_main(void *arg)
{
    struct dt_flood *f = arg;
    uint8_t junk[FRAME_AUTH_LEN];
    int i, fd;

    for (i = 0; i < DT_JUNK && !f->fail; i++) {
        switch (i % 3) {
        case 0:
            if (getrandom(junk, sizeof(junk), 0) != sizeof(junk))
                f->fail = "getrandom";
            fd = dt_send(f->port, junk, sizeof(junk));
            break;
        case 1:
            fd = dt_send(f->port, f->bad, FRAME_AUTH_LEN);
            break;
        default:
            fd = dt_connect(f->port);
            break;
        }
        if (fd < 0) f->fail = "junk connect";
        else close(fd);
    }
    f->sender = dt_send(f->port, f->auth, FRAME_AUTH_LEN);
    if (f->sender < 0 && !f->fail) f->fail = "sender connect";
    return NULL;
}

static void test_junk_flood(void **state)
{
    struct dt *t = *state;
    struct dt_flood f = { .port = t->port, .auth = t->auth, .bad = t->bad };
    pthread_t th;
    int fd, rc;

    assert_int_equal(pthread_create(&th, NULL, dt_flood_main, &f), 0);
    rc = datach_accept(t->ctx, t->listen_fd, t->dec, t->ctl[0], 0, &t->w,
                       &fd);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_null(f.fail);
    assert_int_equal(rc, XLMIG_OK);
    close(fd);
    close(f.sender);
    /* One line for the address, one to say how many in all. */
    assert_int_equal(dt_log_count(t, "refused a data connection from "
                                  "127.0.0.1 "), 1);
    assert_int_equal(dt_log_count(t, "data connections in all"), 1);
    dt_dec_in_step(t);
}

static void test_bogus_auth_then_real(void **state)
{
    struct dt *t = *state;
    int bogus = dt_send(t->port, t->bad, sizeof(t->bad)), s;

    s = dt_send(t->port, t->auth, sizeof(t->auth));
    assert_true(bogus >= 0 && s >= 0);
    dt_accept_ok(t, s);
    assert_int_equal(dt_log_count(t, "did not prove the session key "
                                  "(frame 0 (auth): authentication "
                                  "failed"), 1);
    /* The failed AUTH did not move the decoder; the real one did. */
    dt_dec_in_step(t);
    close(bogus);
    close(s);
}

/* The same through datach_read_auth(): bogus, then real, one decoder. */
static void test_read_auth_after_bogus(void **state)
{
    struct dt *t = *state;
    int sp[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp),
                     0);
    assert_int_equal(write(sp[1], t->bad, sizeof(t->bad)), sizeof(t->bad));
    assert_int_equal(datach_read_auth(t->ctx, sp[0], t->dec, &t->w, "x"),
                     XLMIG_E_AUTH);
    assert_int_equal(write(sp[1], t->auth, sizeof(t->auth)),
                     sizeof(t->auth));
    assert_int_equal(datach_read_auth(t->ctx, sp[0], t->dec, &t->w, "x"),
                     XLMIG_OK);
    dt_dec_in_step(t);
    /* Not a frame at all: refused on its header, without waiting. */
    assert_int_equal(write(sp[1], "GET / HTTP/1.0\r\n\r\nxxxxxxxxxxxxxx", 32),
                     32);
    assert_int_equal(datach_read_auth(t->ctx, sp[0], t->dec, &t->w, "x"),
                     XLMIG_E_PROTO);
    fdio_close_pair(sp);
}

static void test_refusal_logged_once_per_address(void **state)
{
    struct dt *t = *state;
    int fds[5], s, i;

    for (i = 0; i < 4; i++) {
        fds[i] = dt_connect_from("127.0.0.1", t->port);
        assert_true(fds[i] >= 0);
        assert_int_equal(send(fds[i], t->bad, sizeof(t->bad), 0),
                         sizeof(t->bad));
    }
    fds[4] = dt_connect_from("127.0.0.2", t->port);
    assert_true(fds[4] >= 0);
    close(fds[4]);
    s = dt_send(t->port, t->auth, sizeof(t->auth));
    assert_true(s >= 0);
    dt_accept_ok(t, s);
    assert_int_equal(dt_log_count(t, "from 127.0.0.1 port"), 1);
    assert_int_equal(dt_log_count(t, "from 127.0.0.2 port"), 1);
    assert_int_equal(dt_log_count(t, "it closed early, after 0 bytes"), 1);
    assert_int_equal(dt_log_count(t, "refused 5 data connections in all"),
                     1);
    for (i = 0; i < 4; i++)
        close(fds[i]);
    close(s);
}

/* More connections than fit: the oldest is pushed out, the sender wins. */
static void test_crowd_pushes_out_oldest(void **state)
{
    struct dt *t = *state;
    int fds[DATACH_PENDING_MAX + 1], s, i;

    for (i = 0; i < DATACH_PENDING_MAX + 1; i++) {
        fds[i] = dt_send(t->port, "x", 1);
        assert_true(fds[i] >= 0);
    }
    s = dt_send(t->port, t->auth, sizeof(t->auth));
    assert_true(s >= 0);
    dt_accept_ok(t, s);
    assert_int_equal(dt_log_count(t, "newer connections pushed it out"), 1);
    for (i = 0; i < DATACH_PENDING_MAX + 1; i++)
        close(fds[i]);
    close(s);
}

static void test_ctl_eof_is_peer(void **state)
{
    struct dt *t = *state;
    int fd;

    fdio_close(&t->ctl[1]);
    assert_int_equal(datach_accept(t->ctx, t->listen_fd, t->dec,
                                   t->ctl[0], 0, &t->w, &fd), XLMIG_E_PEER);
    assert_int_equal(fd, -1);
    assert_int_equal(dt_log_count(t, "the sender closed the control "
                                  "connection"), 1);
}

/* DATACH_YIELD: the sender speaking first is no failure; nothing of it
 * is read, and the listener stays for later. */
static void test_ctl_yield(void **state)
{
    struct dt *t = *state;
    int loris = dt_send(t->port, "x", 1), fd;
    char c;

    assert_true(loris >= 0);
    assert_int_equal(write(t->ctl[1], "q", 1), 1);
    assert_int_equal(datach_accept(t->ctx, t->listen_fd, t->dec,
                                   t->ctl[0], DATACH_YIELD, &t->w, &fd),
                     XLMIG_OK);
    assert_int_equal(fd, -1);
    assert_int_equal(read(t->ctl[0], &c, 1), 1);
    assert_int_equal(c, 'q');
    assert_int_equal(dt_log_count(t, "the sender closed"), 0);
    close(loris);
}

static void test_ctl_data_is_peer(void **state)
{
    struct dt *t = *state;
    int loris = dt_send(t->port, "x", 1), fd;

    assert_true(loris >= 0);
    assert_int_equal(write(t->ctl[1], "q", 1), 1);
    assert_int_equal(datach_accept(t->ctx, t->listen_fd, t->dec,
                                   t->ctl[0], 0, &t->w, &fd), XLMIG_E_PEER);
    assert_int_equal(fd, -1);
    close(loris);
}

static void test_cancel(void **state)
{
    struct dt *t = *state;
    int loris = dt_send(t->port, "x", 1), fd;

    assert_true(loris >= 0);
    assert_int_equal(write(t->cancel[1], "c", 1), 1);
    assert_int_equal(datach_accept(t->ctx, t->listen_fd, t->dec,
                                   t->ctl[0], 0, &t->w, &fd),
                     XLMIG_E_CANCELLED);
    assert_int_equal(fd, -1);
    assert_int_equal(dt_log_count(t, "cancelled while waiting"), 1);
    close(loris);
}

/* The session's deadline ends the wait, a loris pending or not. */
static void test_session_deadline(void **state)
{
    struct dt *t = *state;
    int loris = dt_send(t->port, "x", 1), fd;
    double t0 = ctx_now(t->ctx);

    assert_true(loris >= 0);
    t->w.timeout_s = 1;
    assert_int_equal(datach_accept(t->ctx, t->listen_fd, t->dec,
                                   t->ctl[0], 0, &t->w, &fd), XLMIG_E_TIMEDOUT);
    assert_int_equal(fd, -1);
    assert_true(ctx_now(t->ctx) - t0 < DATACH_AUTH_S - 1);
    assert_int_equal(dt_log_count(t, "no data connection from the sender "
                                  "within 1 s"), 1);
    close(loris);
}

static void test_connect_closed_port(void **state)
{
    struct dt *t = *state;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof(sa);
    char *why = NULL;
    int hold, fd;

    /* A port of ours that nobody listens on: the reason, not logged (the
     * caller says what it means). */
    hold = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(hold >= 0);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(bind(hold, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(hold, (struct sockaddr *)&sa, &sl), 0);
    assert_int_equal(datach_connect(t->ctx, "127.0.0.1", ntohs(sa.sin_port),
                                    NULL, 2, t->enc, &t->w, &fd, &why),
                     XLMIG_E_PEER);
    assert_int_equal(fd, -1);
    assert_non_null(why);
    assert_string_equal(why, strerror(ECONNREFUSED));
    assert_int_equal(dt_log_count(t, "data connection"), 0);
    free(why);
    close(hold);
}

/* From a given address: the receiver sees it; from one that is not this
 * host's, the reason says so. */
static void test_connect_from(void **state)
{
    struct dt *t = *state;
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    char *why = NULL, from[INET_ADDRSTRLEN];
    int s, a;

    assert_int_equal(datach_connect(t->ctx, "127.0.0.1", t->port,
                                    "127.0.0.3", 2, t->enc, &t->w, &s, &why),
                     XLMIG_OK);
    assert_null(why);
    assert_int_equal(poll(&(struct pollfd){ .fd = t->listen_fd,
                                            .events = POLLIN }, 1, 5000), 1);
    a = accept(t->listen_fd, (struct sockaddr *)&sa, &sl);
    assert_true(a >= 0);
    inet_ntop(AF_INET, &sa.sin_addr, from, sizeof(from));
    assert_string_equal(from, "127.0.0.3");
    close(a);
    close(s);
    assert_int_equal(datach_connect(t->ctx, "127.0.0.1", t->port,
                                    "203.0.113.77", 2, t->enc, &t->w, &s,
                                    &why), XLMIG_E_PEER);
    assert_non_null(why);
    assert_non_null(strstr(why, "migration address"));
    free(why);
    why = NULL;
    /* Families that do not match. */
    assert_int_equal(datach_connect(t->ctx, "127.0.0.1", t->port, "::1", 2,
                                    t->enc, &t->w, &s, &why), XLMIG_E_PEER);
    assert_non_null(why);
    assert_non_null(strstr(why, "same family"));
    free(why);
}

/* And to the receiver: the AUTH frame goes out, the stream after it. */
static void test_connect_and_accept(void **state)
{
    struct dt *t = *state;
    struct frame_enc *enc = frame_enc_new(&t->keys, true);
    char *why = NULL;
    int s, fd;

    assert_non_null(enc);
    assert_int_equal(datach_connect(t->ctx, "127.0.0.1", t->port, NULL, 2,
                                    enc, &t->w, &s, &why), XLMIG_OK);
    assert_null(why);
    assert_int_equal(datach_accept(t->ctx, t->listen_fd, t->dec,
                                   t->ctl[0], 0, &t->w, &fd), XLMIG_OK);
    close(fd);
    close(s);
    frame_enc_free(enc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_right_key, dt_setup,
                                        dt_teardown),
        cmocka_unit_test_setup_teardown(test_slow_loris_first, dt_setup,
                                        dt_teardown),
        cmocka_unit_test_setup_teardown(test_slow_loris_dropped_at_deadline,
                                        dt_setup, dt_teardown),
        cmocka_unit_test_setup_teardown(test_junk_flood, dt_setup,
                                        dt_teardown),
        cmocka_unit_test_setup_teardown(test_bogus_auth_then_real, dt_setup,
                                        dt_teardown),
        cmocka_unit_test_setup_teardown(test_read_auth_after_bogus, dt_setup,
                                        dt_teardown),
        cmocka_unit_test_setup_teardown(test_refusal_logged_once_per_address,
                                        dt_setup, dt_teardown),
        cmocka_unit_test_setup_teardown(test_crowd_pushes_out_oldest,
                                        dt_setup, dt_teardown),
        cmocka_unit_test_setup_teardown(test_ctl_eof_is_peer, dt_setup,
                                        dt_teardown),
        cmocka_unit_test_setup_teardown(test_ctl_yield, dt_setup,
                                        dt_teardown),
        cmocka_unit_test_setup_teardown(test_ctl_data_is_peer, dt_setup,
                                        dt_teardown),
        cmocka_unit_test_setup_teardown(test_cancel, dt_setup, dt_teardown),
        cmocka_unit_test_setup_teardown(test_session_deadline, dt_setup,
                                        dt_teardown),
        cmocka_unit_test_setup_teardown(test_connect_closed_port, dt_setup,
                                        dt_teardown),
        cmocka_unit_test_setup_teardown(test_connect_from, dt_setup,
                                        dt_teardown),
        cmocka_unit_test_setup_teardown(test_connect_and_accept, dt_setup,
                                        dt_teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
