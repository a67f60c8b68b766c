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

#include <yajl/yajl_tree.h>

#include "datach.h"
#include "job.h"
#include "proto.h"
#include "pump.h"

#define JOB_XS_DEFAULT_CODEC FRAME_CODEC_NONE

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

static const char *job_xs_codec_name(int codec)
{
    return codec == PUMP_CODEC_AUTO ? "auto" : frame_codec_name(codec);
}

static int job_xs_codec(const char *name)
{
    return !strcmp(name, "auto") ? PUMP_CODEC_AUTO
                                 : frame_codec_from_name(name);
}

int job_xs_parse(struct xlmig_ctx *ctx, const char *data,
                 const char *compress, bool encrypt, struct job_xs *xs)
{
    char *end;
    unsigned long port;

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
    if (compress) {
        xs->codec = job_xs_codec(compress);
        if (xs->codec < 0 && xs->codec != PUMP_CODEC_AUTO) {
            LOG(ctx, ERROR, "--compress %s: expected none, lz4, zstd or "
                "auto", compress);
            return XLMIG_E_INVAL;
        }
    }
    return XLMIG_OK;
}

/* ---- small JSON readers for the messages of this session ---- */

static yajl_val job_xs_json(struct job *job, const char *body,
                            const char *what)
{
    char err[128] = "";
    yajl_val root = yajl_tree_parse(body, err, sizeof(err));

    if (!root || !YAJL_IS_OBJECT(root)) {
        LOG(job->ctx, ERROR, "the %s is not a JSON object", what);
        yajl_tree_free(root);
        return NULL;
    }
    return root;
}

static yajl_val job_xs_get(yajl_val root, const char *key, yajl_type t)
{
    const char *path[] = { key, NULL };

    return yajl_tree_get(root, path, t);
}

static bool job_xs_u64(yajl_val root, const char *key, uint64_t *v_r)
{
    yajl_val v = job_xs_get(root, key, yajl_t_number);

    if (!v || !YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0) return false;
    *v_r = (uint64_t)YAJL_GET_INTEGER(v);
    return true;
}

static bool job_xs_double(yajl_val root, const char *key, double *v_r)
{
    yajl_val v = job_xs_get(root, key, yajl_t_number);

    if (!v || !YAJL_IS_DOUBLE(v)) return false;
    *v_r = YAJL_GET_DOUBLE(v);
    return *v_r >= 0 && *v_r < 1e9;
}

static bool job_xs_bool(yajl_val root, const char *key, bool *v_r)
{
    yajl_val v = job_xs_get(root, key, yajl_t_any);

    if (!v || (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))) return false;
    *v_r = YAJL_IS_TRUE(v);
    return true;
}

/* A string of at most max bytes, or NULL. */
static const char *job_xs_str(yajl_val root, const char *key, size_t max)
{
    yajl_val v = job_xs_get(root, key, yajl_t_string);
    const char *s = v ? YAJL_GET_STRING(v) : NULL;

    return s && strlen(s) <= max ? s : NULL;
}

/* Text for a JSON string: quotes, backslashes and controls become ' '. */
static void job_xs_plain(char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) *s = ' ';
}

/* ---- negotiation ---- */

int job_xs_offer(struct job *job, int send_fd, int recv_fd,
                 struct job_xs *xs)
{
    yajl_val root = NULL;
    const char *keys, *addr, *err;
    char *body;
    uint64_t port;
    uint32_t type;
    int rc;

    body = xasprintf("{\"data\":\"%s\",\"port\":%u,\"codec\":\"%s\","
                     "\"encrypt\":%s}", xs->tcp ? "tcp" : "ssh", xs->port,
                     job_xs_codec_name(xs->codec),
                     xs->encrypt ? "true" : "false");
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
    root = job_xs_json(job, body, "stream answer");
    if (!root) goto out;
    err = job_xs_str(root, "error", 512);
    if (err) {
        LOG(job->ctx, ERROR, "the destination refused the stream: %s", err);
        rc = XLMIG_E_PEER;
        goto out;
    }
    keys = job_xs_str(root, "keys", FRAME_KEYS_HEX_LEN);
    addr = job_xs_str(root, "addr", sizeof(xs->addr) - 1);
    if (!keys || frame_keys_parse(keys, &xs->keys) ||
        (xs->tcp && (!addr || !job_xs_u64(root, "port", &port) || !port ||
                     port > 65535))) {
        LOG(job->ctx, ERROR, "the stream answer lacks a valid key, "
            "address or port");
        goto out;
    }
    if (xs->tcp) {
        snprintf(xs->addr, sizeof(xs->addr), "%s", addr);
        xs->port = (unsigned)port;
    }
    /* Test hook: a sender that does not hold the receiver's key. */
    if (getenv("XLMIG_FAULT_STREAM") &&
        !strcmp(getenv("XLMIG_FAULT_STREAM"), "badkey")) {
        LOG(job->ctx, WARN, "test hook: using a wrong session key");
        xs->keys.key[0] ^= 1;
    }
    xs->enc = frame_enc_new(&xs->keys, xs->encrypt);
    xs->framed = true;
    rc = XLMIG_OK;
out:
    yajl_tree_free(root);
    free(body);
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
                  struct job_xs *xs)
{
    char hex[FRAME_KEYS_HEX_LEN + 1], *out = NULL, *err = NULL;
    const char *data, *codec;
    yajl_val root;
    uint64_t port = 0;
    bool encrypt = false;
    int c = -1, rc;

    job_xs_dispose(xs);
    root = job_xs_json(job, body, "stream request");
    if (!root) return XLMIG_E_PROTO;
    data = job_xs_str(root, "data", 8);
    codec = job_xs_str(root, "codec", 8);
    if (codec) c = job_xs_codec(codec);
    if (!data || (strcmp(data, "ssh") && strcmp(data, "tcp")) ||
        !job_xs_u64(root, "port", &port) || port > 65535 ||
        !job_xs_bool(root, "encrypt", &encrypt) ||
        (c < 0 && c != PUMP_CODEC_AUTO)) {
        yajl_tree_free(root);
        LOG(job->ctx, ERROR, "malformed stream request from the sender");
        return XLMIG_E_PROTO;
    }
    xs->tcp = !strcmp(data, "tcp");
    xs->port = (unsigned)port;
    xs->encrypt = encrypt;
    xs->codec = c;
    yajl_tree_free(root);

    if (c >= 0 && !frame_codec_available(c))
        err = xasprintf("this host's xlmig cannot decode %s", codec);
    else if (frame_keys_new(&xs->keys))
        err = xasprintf("no random bytes for the session key");
    else if (xs->tcp && job_xs_listen(job, xs))
        err = xasprintf("cannot listen on %s port %u (see its log)",
                        xs->addr, xs->port);
    if (err) {
        job_xs_plain(err);
        out = xasprintf("{\"error\":\"%s\"}", err);
        rc = job_x_write(job, send_fd, PROTO_X_STREAM_OK, out);
        goto out;
    }
    frame_keys_hex(&xs->keys, hex);
    out = xasprintf("{\"keys\":\"%s\",\"addr\":\"%s\",\"port\":%u}", hex,
                    xs->addr, xs->port);
    explicit_bzero(hex, sizeof(hex));
    rc = job_x_write(job, send_fd, PROTO_X_STREAM_OK, out);
    if (rc) goto out;
    /* Every codec we have may come: auto picks per frame. */
    xs->dec = frame_dec_new(&xs->keys, 1u << FRAME_CODEC_NONE |
                            1u << FRAME_CODEC_LZ4 | 1u << FRAME_CODEC_ZSTD,
                            xs->encrypt);
    xs->framed = true;
    job_info(job, "stream in frames over %s%s%s", xs->tcp ? "a data "
             "connection" : "ssh", xs->encrypt ? ", encrypted" : "",
             xs->tcp ? "" : "");
out:
    if (out) explicit_bzero(out, strlen(out));
    free(out);
    free(err);
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
    char *body;
    int rc;

    body = xasprintf("{\"bytes\":%llu,\"wire_bytes\":%llu,\"pages\":%llu,"
                     "\"done\":%s}", (unsigned long long)prog->bytes,
                     (unsigned long long)prog->wire_bytes,
                     (unsigned long long)prog->pages,
                     done ? "true" : "false");
    rc = job_x_write(job, job->x_progress_fd, PROTO_X_PROGRESS, body);
    free(body);
    return rc;
}

/* Takes one PROGRESS message (body) into the job. */
static int job_xs_progress_take(struct job *job, const char *body)
{
    yajl_val root = job_xs_json(job, body, "progress message");
    uint64_t bytes;
    bool done;
    int rc = XLMIG_E_PROTO;

    if (!root) return rc;
    if (job_xs_u64(root, "bytes", &bytes) &&
        job_xs_bool(root, "done", &done)) {
        job->peer_bytes = bytes;
        if (done) job->x_peer_done = true;
        rc = XLMIG_OK;
    } else {
        LOG(job->ctx, ERROR, "malformed progress message from the "
            "receiver");
    }
    yajl_tree_free(root);
    return rc;
}

/*
 * Reads one message if its first bytes are there; a message that is not
 * ours (xl's report) goes back to x_back and ends the reading.
 */
static int job_xs_read_one(struct job *job, bool wait)
{
    uint8_t hdr[PROTO_X_HDR_LEN];
    uint32_t type;
    char *body = NULL;
    int rc;

    if (!wait && !fdio_readable(job->x_ctl_fd)) return XLMIG_OK;
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
        if (job_xs_read_one(job, true)) {
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
        if (!rc) rc = job_xs_read_one(job, true);
    }
    job->x_ctl_fd = -1;
    return rc;
}

int job_xs_result_send(struct job *job, int fd, bool ok,
                       double since_unpause_s, double restore_s)
{
    char *body;
    int rc;

    body = xasprintf("{\"ok\":%s,\"since_unpause_s\":%.6f,"
                     "\"restore_s\":%.6f}", ok ? "true" : "false",
                     since_unpause_s, restore_s);
    rc = job_x_write(job, fd, PROTO_X_RESULT, body);
    free(body);
    return rc;
}

int job_xs_result_read(struct job *job, int fd, bool *ok_r,
                       double *since_unpause_s_r, double *restore_s_r)
{
    yajl_val root = NULL;
    uint32_t type;
    char *body = NULL;
    int rc;

    rc = job_x_read(job, fd, &type, &body);
    if (rc) return rc;
    rc = XLMIG_E_PROTO;
    if (type != PROTO_X_RESULT) {
        LOG(job->ctx, ERROR, "expected the result, got the %s",
            proto_x_type_name(type));
        goto out;
    }
    root = job_xs_json(job, body, "result");
    if (root && job_xs_bool(root, "ok", ok_r) &&
        job_xs_double(root, "since_unpause_s", since_unpause_s_r) &&
        job_xs_double(root, "restore_s", restore_s_r))
        rc = XLMIG_OK;
    else
        LOG(job->ctx, ERROR, "malformed result from the receiver");
out:
    yajl_tree_free(root);
    free(body);
    return rc;
}
