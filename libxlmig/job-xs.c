/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * job-xs.c - the stream session of xlmig/1 (proto.h, PROTO_X_STREAM...):
 * how the sender asks for a framed stream (over ssh, or over a direct
 * TCP data connection with a one-time key), what the receiver agrees,
 * and the receiver's PROGRESS and RESULT messages on the control channel.
 *
 * The control channel from the receiver also carries xl's messages
 * ("ready", the report), so the sender reads PROGRESS only as whole
 * messages while the stream moves, and puts back (job->x_back) the bytes
 * of anything that turns out not to be one of ours: a receiver that
 * failed early sends xl's report instead.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datach.h"
#include "job.h"
#include "proto.h"
#include "pump.h"
#include "xs-msg.h"

#define JOB_XS_DEFAULT_CODEC FRAME_CODEC_NONE

/* xs-msg.c is pure and knows "auto" by its own name. */
_Static_assert(XS_MSG_CODEC_AUTO == PUMP_CODEC_AUTO,
               "STREAM's codec auto is the pump's");

void job_xs_init(struct job_xs *xs)
{
    memset(xs, 0, sizeof(*xs));
    xs->codec = JOB_XS_DEFAULT_CODEC;
    xs->listen_fd = xs->data_fd = -1;
}

void job_xs_dispose(struct job_xs *xs)
{
    fdio_close(&xs->listen_fd);
    fdio_close(&xs->data_fd);
    frame_enc_free(xs->enc);
    frame_dec_free(xs->dec);
    /* The key is not left in freed memory. */
    explicit_bzero(&xs->keys, sizeof(xs->keys));
    job_xs_init(xs);
}

/* FRAME_CODEC_* or PUMP_CODEC_AUTO; false for an unknown name. */
static bool job_xs_codec(const char *name, int *codec_r)
{
    /* frame_codec_from_name()'s -1 for an unknown name is AUTO too. */
    *codec_r = !strcmp(name, "auto") ? PUMP_CODEC_AUTO
                                     : frame_codec_from_name(name);
    return *codec_r >= 0 || !strcmp(name, "auto");
}

int job_xs_parse(struct xlmig_ctx *ctx, const char *data,
                 const char *compress, bool encrypt, struct job_xs *xs)
{
    char *end;
    unsigned long port;
    int codec;

    job_xs_init(xs);
    xs->encrypt = encrypt;
    if (!data || !strcmp(data, "ssh")) {
        xs->tcp = false;
    } else if (!strncmp(data, "tcp", 3) && (!data[3] || data[3] == ':')) {
        xs->tcp = true;
        if (data[3]) {
            errno = 0;
            port = strtoul(data + 4, &end, 10);
            if (errno || end == data + 4 || *end || port < 1 ||
                port > 65535) {
                LOG(ctx, ERROR, "--data %s: the port must be 1..65535",
                    data);
                return XLMIG_E_INVAL;
            }
            xs->port = (unsigned)port;
        }
    } else {
        LOG(ctx, ERROR, "--data %s: expected ssh, tcp or tcp:PORT", data);
        return XLMIG_E_INVAL;
    }
    if (compress && !job_xs_codec(compress, &codec)) {
        LOG(ctx, ERROR, "--compress %s: expected none, lz4, zstd or auto",
            compress);
        return XLMIG_E_INVAL;
    }
    if (compress) xs->codec = codec;
    return XLMIG_OK;
}

/* ---- negotiation ---- */

int job_xs_offer(struct job *job, int send_fd, int recv_fd,
                 struct job_xs *xs)
{
    const struct xs_msg_stream req = {
        .tcp = xs->tcp, .port = xs->port, .codec = xs->codec,
        .encrypt = xs->encrypt,
    };
    struct xs_msg_stream_ok ans;
    char *body, *why = NULL, *esc = NULL;
    uint32_t type;
    int rc;

    memset(&ans, 0, sizeof(ans));
    body = xs_msg_stream_encode(&req);
    rc = job_x_write(job, send_fd, PROTO_X_STREAM, body);
    free(body);
    body = NULL;
    if (!rc) rc = job_x_read(job, recv_fd, &type, &body);
    if (rc) goto out;
    rc = XLMIG_E_PROTO;
    if (type != PROTO_X_STREAM_OK) {
        LOG(job->ctx, ERROR, "expected the stream answer, got the %s",
            proto_x_type_name(type));
        goto out;
    }
    if (xs_msg_stream_ok_decode(body, xs->tcp, &ans, &why)) {
        LOG(job->ctx, ERROR, "malformed stream answer from the receiver: "
            "%s", why);
        goto out;
    }
    if (ans.refused) {
        /* The receiver's text, on one line of our log. */
        esc = proto_escape((const uint8_t *)ans.error, strlen(ans.error),
                           XS_MSG_ERROR_MAX);
        LOG(job->ctx, ERROR, "the destination refused the stream: %s", esc);
        rc = XLMIG_E_PEER;
        goto out;
    }
    xs->keys = ans.keys;
    if (xs->tcp) {
        snprintf(xs->addr, sizeof(xs->addr), "%s", ans.addr);
        xs->port = ans.port;
    }
    /* Test hook: a sender that does not hold the receiver's key. */
    if (getenv("XLMIG_FAULT_STREAM") &&
        !strcmp(getenv("XLMIG_FAULT_STREAM"), "badkey")) {
        LOG(job->ctx, WARN, "test hook: using a wrong session key");
        xs->keys.key[0] ^= 1;
    }
    xs->enc = frame_enc_new(&xs->keys, xs->encrypt);
    if (!xs->enc) {
        LOG(job->ctx, ERROR, "cannot set up the cipher or the compressor "
            "of the stream");
        rc = XLMIG_E_INTERNAL;
        goto out;
    }
    xs->framed = true;
    rc = XLMIG_OK;
out:
    /* The answer holds the session key. */
    explicit_bzero(&ans, sizeof(ans));
    if (body) explicit_bzero(body, strlen(body));
    free(body);
    free(why);
    free(esc);
    return rc;
}

/* Listens for the data connection: the answer says where. */
static int job_xs_listen(struct job *job, struct job_xs *xs)
{
    datach_local_addr(xs->addr, sizeof(xs->addr));
    return datach_listen(job->ctx, xs->addr, xs->port, &xs->listen_fd,
                         &xs->port);
}

int job_xs_answer(struct job *job, int send_fd, const char *body,
                  bool require_encrypt, struct job_xs *xs)
{
    struct xs_msg_stream req;
    struct xs_msg_stream_ok ans;
    char *out = NULL, *why = NULL;
    int rc;

    job_xs_dispose(xs);
    memset(&ans, 0, sizeof(ans));
    if (xs_msg_stream_decode(body, &req, &why)) {
        LOG(job->ctx, ERROR, "malformed stream request from the sender: %s",
            why);
        free(why);
        return XLMIG_E_PROTO;
    }
    xs->tcp = req.tcp;
    xs->port = req.port;
    xs->encrypt = req.encrypt;
    xs->codec = req.codec;

    ans.refused = true;
    if (xs->tcp && !xs->encrypt && require_encrypt)
        snprintf(ans.error, sizeof(ans.error), "this host takes guest "
                 "memory over a data connection only encrypted (use "
                 "--encrypt; incoming_require_encrypt)");
    else if (req.codec >= 0 && !frame_codec_available(req.codec))
        snprintf(ans.error, sizeof(ans.error), "this host's xlmig cannot "
                 "decode %s", frame_codec_name(req.codec));
    else if (frame_keys_new(&xs->keys))
        snprintf(ans.error, sizeof(ans.error), "no random bytes for the "
                 "session key");
    else if (xs->tcp && job_xs_listen(job, xs))
        snprintf(ans.error, sizeof(ans.error), "cannot listen on %s port "
                 "%u (see its log)", xs->addr, xs->port);
    /* Every codec we have may come: auto picks per frame. */
    else if (!(xs->dec = frame_dec_new(&xs->keys, 1u << FRAME_CODEC_NONE |
                                       1u << FRAME_CODEC_LZ4 |
                                       1u << FRAME_CODEC_ZSTD,
                                       xs->encrypt)))
        snprintf(ans.error, sizeof(ans.error), "cannot set up the cipher "
                 "or the decompressor");
    else
        ans.refused = false;
    if (ans.refused) {
        out = xs_msg_stream_ok_encode(&ans);
        rc = job_x_write(job, send_fd, PROTO_X_STREAM_OK, out);
        goto out;
    }
    ans.keys = xs->keys;
    ans.tcp = xs->tcp;
    if (xs->tcp) {
        snprintf(ans.addr, sizeof(ans.addr), "%s", xs->addr);
        ans.port = xs->port;
    }
    out = xs_msg_stream_ok_encode(&ans);
    rc = job_x_write(job, send_fd, PROTO_X_STREAM_OK, out);
    if (rc) goto out;
    xs->framed = true;
    job_info(job, "stream in frames over %s%s", xs->tcp ? "a data "
             "connection" : "ssh", xs->encrypt ? ", encrypted" : "");
out:
    /* Both hold the session key. */
    explicit_bzero(&ans, sizeof(ans));
    if (out) explicit_bzero(out, strlen(out));
    free(out);
    return rc;
}

/* ---- the stream's two ends ---- */

int job_xs_send_open(struct job *job, struct job_xs *xs, int ssh_fd,
                     int *out_fd_r)
{
    int rc;

    *out_fd_r = -1;
    if (!xs->tcp) {
        rc = datach_send_auth(job->ctx, ssh_fd, xs->enc, &job->wait,
                              "stream to receiver");
        if (!rc) *out_fd_r = ssh_fd;
        return rc;
    }
    rc = datach_connect(job->ctx, xs->addr, xs->port, xs->enc, &job->wait,
                        &xs->data_fd);
    if (rc) return rc;
    job_info(job, "data connection to %s port %u%s", xs->addr, xs->port,
             xs->encrypt ? ", encrypted" : "");
    *out_fd_r = xs->data_fd;
    return XLMIG_OK;
}

int job_xs_recv_open(struct job *job, struct job_xs *xs, int ssh_fd,
                     int *in_fd_r)
{
    int rc;

    *in_fd_r = -1;
    if (!xs->tcp) {
        rc = datach_read_auth(job->ctx, ssh_fd, xs->dec, &job->wait,
                              "stream from sender");
        if (!rc) *in_fd_r = ssh_fd;
        return rc;
    }
    rc = datach_accept(job->ctx, xs->listen_fd, xs->dec, ssh_fd, &job->wait,
                       &xs->data_fd);
    fdio_close(&xs->listen_fd);
    if (!rc) *in_fd_r = xs->data_fd;
    return rc;
}

/* ---- PROGRESS and RESULT ---- */

int job_xs_progress_send(struct job *job, const struct xlmig_progress *prog,
                         bool done)
{
    const struct xs_msg_progress p = {
        .bytes = prog->bytes, .wire_bytes = prog->wire_bytes,
        .pages = prog->pages, .done = done,
    };
    char *body;
    int rc;

    body = xs_msg_progress_encode(&p);
    rc = job_x_write(job, job->x_progress_fd, PROTO_X_PROGRESS, body);
    free(body);
    return rc;
}

/* Takes one PROGRESS message (body) into the job. */
static int job_xs_progress_take(struct job *job, const char *body)
{
    struct xs_msg_progress p;
    char *why = NULL;

    if (xs_msg_progress_decode(body, &p, &why)) {
        LOG(job->ctx, ERROR, "malformed progress message from the "
            "receiver: %s", why);
        free(why);
        return XLMIG_E_PROTO;
    }
    job->peer_bytes = p.bytes;
    if (p.done) job->x_peer_done = true;
    return XLMIG_OK;
}

/*
 * Reads one message; one that is not ours (xl's report) goes back to
 * x_back and ends the reading.
 */
static int job_xs_read_one(struct job *job)
{
    uint8_t hdr[PROTO_X_HDR_LEN];
    uint32_t type;
    char *body = NULL;
    int rc;

    rc = fdio_read_exact(job->ctx, job->x_ctl_fd, hdr, 4, &job->wait,
                         "receiver's progress");
    if (rc) return rc;
    if (memcmp(hdr, PROTO_X_MAGIC, 4)) {
        memcpy(job->x_back, hdr, 4);
        job->x_back_len = 4;
        job->x_ctl_fd = -1;
        return XLMIG_OK;
    }
    memcpy(job->x_back, hdr, 4);
    job->x_back_len = 4;
    rc = job_x_read(job, job->x_ctl_fd, &type, &body);
    if (rc) return rc;
    if (type == PROTO_X_PROGRESS) {
        rc = job_xs_progress_take(job, body);
    } else {
        LOG(job->ctx, ERROR, "unexpected %s from the receiver",
            proto_x_type_name(type));
        rc = XLMIG_E_PROTO;
    }
    free(body);
    return rc;
}

void job_xs_poll(struct job *job)
{
    unsigned n;

    /* A handful at most: the receiver sends about one a second. */
    for (n = 0; n < 8 && job->x_ctl_fd >= 0 && !job->x_peer_done; n++) {
        if (!fdio_readable(job->x_ctl_fd)) return;
        if (job_xs_read_one(job)) {
            /* The stream's own end will tell what went wrong. */
            job->x_ctl_fd = -1;
            return;
        }
    }
}

/* Waits for the control channel; the data connection must not speak. */
static int job_xs_wait_ctl(struct job *job, int data_fd)
{
    struct pollfd pfd[2] = {
        { .fd = job->x_ctl_fd, .events = POLLIN },
        { .fd = data_fd, .events = POLLIN },
    };
    double deadline = job->wait.timeout_s
                      ? ctx_now(job->ctx) + job->wait.timeout_s : 0;
    int r;

    if (data_fd < 0) return XLMIG_OK;
    for (;;) {
        r = poll(pfd, 2, fdio_ms_until(job->ctx, deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            LOGE(job->ctx, ERROR, "poll");
            return XLMIG_E_SYSTEM;
        }
        break;
    }
    if (pfd[1].revents && !pfd[0].revents) {
        LOG(job->ctx, ERROR, "the receiver closed the data connection "
            "before it took the whole stream (see its error)");
        return XLMIG_E_PEER;
    }
    /* A timeout is reported by the read that follows. */
    return XLMIG_OK;
}

int job_xs_drain(struct job *job, int data_fd)
{
    int rc = XLMIG_OK;

    while (!rc && job->x_ctl_fd >= 0 && !job->x_peer_done) {
        rc = job_xs_wait_ctl(job, data_fd);
        if (!rc) rc = job_xs_read_one(job);
    }
    job->x_ctl_fd = -1;
    return rc;
}

int job_xs_result_send(struct job *job, int fd, bool ok,
                       double since_unpause_s, double restore_s)
{
    const struct xs_msg_result r = {
        .ok = ok, .since_unpause_s = since_unpause_s,
        .restore_s = restore_s,
    };
    char *body;
    int rc;

    body = xs_msg_result_encode(&r);
    rc = job_x_write(job, fd, PROTO_X_RESULT, body);
    free(body);
    return rc;
}

int job_xs_result_read(struct job *job, int fd, bool *got_r, bool *ok_r,
                       double *since_unpause_s_r, double *restore_s_r)
{
    struct xs_msg_result r;
    uint8_t magic[4];
    uint32_t type;
    char *body = NULL, *why = NULL;
    int rc;

    *got_r = *ok_r = false;
    /* A receiver that refused sends xl's report at once: no RESULT. */
    rc = job_read(job, fd, magic, sizeof(magic), "receiver's result");
    if (rc) return rc;
    memmove(job->x_back + sizeof(magic), job->x_back, job->x_back_len);
    memcpy(job->x_back, magic, sizeof(magic));
    job->x_back_len += sizeof(magic);
    if (memcmp(magic, PROTO_X_MAGIC, sizeof(magic))) return XLMIG_OK;
    rc = job_x_read(job, fd, &type, &body);
    if (rc) return rc;
    rc = XLMIG_E_PROTO;
    if (type != PROTO_X_RESULT) {
        LOG(job->ctx, ERROR, "expected the result, got the %s",
            proto_x_type_name(type));
        goto out;
    }
    if (xs_msg_result_decode(body, &r, &why)) {
        LOG(job->ctx, ERROR, "malformed result from the receiver: %s", why);
        goto out;
    }
    *got_r = true;
    *ok_r = r.ok;
    *since_unpause_s_r = r.since_unpause_s;
    *restore_s_r = r.restore_s;
    rc = XLMIG_OK;
out:
    free(body);
    free(why);
    return rc;
}
