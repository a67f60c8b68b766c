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
#include "mignet.h"
#include "proto.h"
#include "pump.h"
#include "xs-msg.h"

#define JOB_XS_DEFAULT_CODEC PUMP_CODEC_AUTO

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
    datach_acc_free(xs->acc);
    fdio_close(&xs->listen_fd);
    fdio_close(&xs->data_fd);
    frame_enc_free(xs->enc);
    frame_dec_free(xs->dec);
    /* The key is not left in freed memory. */
    explicit_bzero(&xs->keys, sizeof(xs->keys));
    job_xs_init(xs);
}

/* ---- the sender's choice ---- */

/* The codec of o (a name) over conf's over auto; *asked_r if given. */
static int job_xs_parse_codec(struct xlmig_ctx *ctx, const char *name,
                              const struct mignet *m, struct job_xs *xs)
{
    char *why = NULL;
    int codec = m->codec_set ? m->codec : PUMP_CODEC_AUTO;

    xs->codec_asked = m->codec_set;
    if (name) {
        if (mignet_parse_codec(name, &codec, &why)) {
            LOG(ctx, ERROR, "--compress %s: %s", name, why);
            free(why);
            return XLMIG_E_INVAL;
        }
        xs->codec_asked = true;
    }
    xs->codec = codec;
    /* "none" asks nothing of the receiver. */
    if (codec == FRAME_CODEC_NONE) xs->codec_asked = false;
    return XLMIG_OK;
}

int job_xs_parse(struct xlmig_ctx *ctx, const struct xlmig_migrate_opts *o,
                 struct job_xs *xs)
{
    enum mignet_data d;
    struct mignet m;
    char *cause = NULL, *why = NULL;
    unsigned port;
    int rc;

    job_xs_init(xs);
    if (o->encrypt && o->no_encrypt) {
        LOG(ctx, ERROR, "--encrypt and --no-encrypt together");
        return XLMIG_E_INVAL;
    }
    rc = mignet_load(ctx, MIGNET_DEFAULTS | MIGNET_NETWORK, &m, &cause);
    if (rc) {
        LOG(ctx, ERROR, "%s", cause);
        free(cause);
        return rc;
    }
    /* The command line, over this host's xlmig.conf, over the defaults. */
    d = m.data_set ? m.data : MIGNET_DATA_AUTO;
    port = m.port;
    if (o->data && mignet_parse_data(o->data, &d, &port, &why)) {
        LOG(ctx, ERROR, "--data %s: %s", o->data, why);
        free(why);
        return XLMIG_E_INVAL;
    }
    xs->auto_data = d == MIGNET_DATA_AUTO;
    xs->tcp = d != MIGNET_DATA_SSH;
    xs->data_asked = d == MIGNET_DATA_TCP;
    xs->port = port;
    rc = job_xs_parse_codec(ctx, o->compress, &m, xs);
    if (rc) return rc;
    /* Encrypted where ssh does not encrypt: on a data connection. */
    xs->encrypt = m.encrypt_set ? m.encrypt : xs->tcp;
    xs->encrypt_asked = m.encrypt_set && m.encrypt;
    if (o->encrypt || o->no_encrypt) {
        xs->encrypt = o->encrypt;
        xs->encrypt_asked = o->encrypt;
    }
    xs->connect_s = m.connect_s;
    snprintf(xs->from_addr, sizeof(xs->from_addr), "%s", m.addr);
    return XLMIG_OK;
}

/* ---- negotiation (sender) ---- */

/* Adds a data-connection result to rep (source side). */
static void job_xs_result(struct pf_report *rep,
                          enum xlmig_check_severity sev, const char *remedy,
                          const char *msg)
{
    pf_add(rep, false, "data-connection", sev, remedy, "%s", msg);
}

/* The first option asked that a receiver without the session cannot do;
 * NULL if none. */
static const char *job_xs_asked(const struct job_xs *xs)
{
    if (xs->data_asked) return "--data tcp";
    if (xs->encrypt_asked) return "--encrypt";
    if (xs->codec_asked) return "--compress";
    return NULL;
}

/* Frames inside ssh: encrypted by ssh, unless asked otherwise. */
static void job_xs_to_ssh(struct job_xs *xs)
{
    xs->tcp = false;
    xs->port = 0;
    if (!xs->encrypt_asked) xs->encrypt = false;
}

bool job_xs_plan(struct job *job, struct job_xs *xs, unsigned caps,
                 const char *why_no_peer, bool check_only,
                 struct pf_report *rep)
{
    const char *asked = job_xs_asked(xs);
    char *msg;

    if (!(caps & JOB_X_CAP_STREAM)) {
        if (!why_no_peer) why_no_peer = "the receiver's xlmig is older";
        if (asked) {
            msg = xasprintf("%s needs an xlmig receiver that speaks the "
                            "xlmig/1 stream session (%s)", asked,
                            why_no_peer);
            job_xs_result(rep, XLMIG_CHECK_ERROR, "install this xlmig on "
                          "the destination, or leave --data, --compress "
                          "and --encrypt (and xlmig.conf's migrate_*) at "
                          "their defaults", msg);
        } else {
            msg = xasprintf("the stream goes as xl's, inside ssh (%s)",
                            why_no_peer);
            job_xs_result(rep, XLMIG_CHECK_INFO, NULL, msg);
            if (!check_only) job_info(job, "%s", msg);
        }
        free(msg);
        return false;
    }
    /* (With a migration network here, memory stays off ssh: the data
     * connection is tried, and must be made.) */
    if (xs->tcp && xs->auto_data && !(caps & JOB_X_CAP_RESTREAM) &&
        !xs->from_addr[0]) {
        msg = xstrdup("frames inside ssh: the destination's xlmig cannot "
                      "fall back to ssh within a session if a direct data "
                      "connection fails (--data tcp asks for one)");
        job_xs_result(rep, XLMIG_CHECK_INFO, NULL, msg);
        if (!check_only) job_info(job, "%s", msg);
        free(msg);
        job_xs_to_ssh(xs);
    }
    /* xlmig check asks only to check a data connection. */
    return !check_only || xs->tcp;
}

int job_xs_request(struct job *job, int send_fd, const struct job_xs *xs)
{
    const struct xs_msg_stream req = {
        .tcp = xs->tcp, .port = xs->port, .codec = xs->codec,
        .encrypt = xs->encrypt,
    };
    char *body;
    int rc;

    body = xs_msg_stream_encode(&req);
    rc = job_x_write(job, send_fd, PROTO_X_STREAM, body);
    free(body);
    return rc;
}

/*
 * Reads the STREAM_OK: the keys and, for tcp, where the receiver listens.
 * A refusal: XLMIG_OK with *refused_r (allocated, escaped: the receiver's
 * words).
 */
static int job_xs_reply(struct job *job, int recv_fd, struct job_xs *xs,
                        char **refused_r)
{
    struct xs_msg_stream_ok ans;
    char *body = NULL, *why = NULL;
    uint32_t type;
    int rc;

    *refused_r = NULL;
    memset(&ans, 0, sizeof(ans));
    rc = job_x_read(job, recv_fd, &type, &body);
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
    rc = XLMIG_OK;
    if (ans.refused) {
        /* The receiver's text, on one line. */
        *refused_r = proto_escape((const uint8_t *)ans.error,
                                  strlen(ans.error), XS_MSG_ERROR_MAX);
        goto out;
    }
    frame_enc_free(xs->enc);
    xs->enc = NULL;
    xs->keys = ans.keys;
    if (xs->tcp) {
        snprintf(xs->addr, sizeof(xs->addr), "%s", ans.addr);
        xs->port = ans.port;
        xs->peer_net = ans.network;
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
out:
    /* The answer holds the session key. */
    explicit_bzero(&ans, sizeof(ans));
    if (body) explicit_bzero(body, strlen(body));
    free(body);
    free(why);
    return rc;
}

/* " from ADDR" when this host connects from its migration address. */
static const char *job_xs_from(const struct job_xs *xs, char *buf,
                               size_t len)
{
    if (!xs->from_addr[0]) return "";
    snprintf(buf, len, " from %s", xs->from_addr);
    return buf;
}

/*
 * How long the data connection may take: with --data auto a few seconds
 * (a firewall that drops it), asked for as long as the peer may be
 * silent (--timeout; a busy receiver's port may need SYN retries), and
 * never for ever.
 */
static unsigned job_xs_connect_s(const struct job *job,
                                 const struct job_xs *xs)
{
    unsigned t = job->wait.timeout_s;

    if (xs->auto_data) return xs->connect_s;
    if (!t || t > MIGNET_CONNECT_S_MAX) t = MIGNET_CONNECT_S_MAX;
    return t > xs->connect_s ? t : xs->connect_s;
}

/*
 * Makes the data connection now (AUTH sent: the receiver takes it at
 * once, or when the transfer starts). *why_r: why it could not be made
 * (allocated); XLMIG_OK either way, unless the job was cancelled or a
 * local failure.
 */
static int job_xs_connect(struct job *job, struct job_xs *xs,
                          double *ms_r, char **why_r)
{
    double t0 = ctx_now(job->ctx);
    int rc;

    *why_r = NULL;
    rc = datach_connect(job->ctx, xs->addr, xs->port, xs->from_addr,
                        job_xs_connect_s(job, xs), xs->enc, &job->wait,
                        &xs->data_fd, why_r);
    *ms_r = (ctx_now(job->ctx) - t0) * 1e3;
    if ((rc == XLMIG_E_PEER || rc == XLMIG_E_TIMEDOUT) && *why_r)
        rc = XLMIG_OK;
    return rc;
}

/* The data connection failed (why): frames inside ssh, if allowed. */
static bool job_xs_may_fall_back(const struct job_xs *xs, unsigned caps)
{
    return xs->auto_data && !xs->from_addr[0] && !xs->peer_net &&
           (caps & JOB_X_CAP_RESTREAM);
}

/* What the admin can do about a data connection that failed. */
static char *job_xs_remedy(const struct job_xs *xs)
{
    if (xs->from_addr[0] || xs->peer_net)
        return xstrdup("make the two hosts' migration networks "
                       "(migration_address, migration_network in "
                       "xlmig.conf) reach each other, or use --data ssh "
                       "(guest memory then goes inside ssh)");
    return xasprintf("let this host reach TCP port %u of %s (a firewall "
                     "between them; --data tcp:PORT fixes the port), or "
                     "use --data ssh", xs->port, xs->addr);
}

/*
 * The data connection could not be made (why): an error, or (auto) frames
 * inside ssh, announced, with a second STREAM (none for xlmig check).
 */
static int job_xs_fail_connect(struct job *job, struct job_xs *xs,
                               int send_fd, int recv_fd, unsigned caps,
                               bool check_only, const char *why,
                               struct pf_report *rep)
{
    char from[80], *msg, *remedy = job_xs_remedy(xs), *refused = NULL;
    int rc = XLMIG_OK;

    if (!job_xs_may_fall_back(xs, caps)) {
        msg = xasprintf("no direct data connection to %s port %u%s: %s",
                        xs->addr, xs->port,
                        job_xs_from(xs, from, sizeof(from)), why);
        job_xs_result(rep, XLMIG_CHECK_ERROR, remedy, msg);
        goto out;
    }
    msg = xasprintf("no direct data connection to %s port %u: %s; the "
                    "stream goes in frames inside ssh (slower)", xs->addr,
                    xs->port, why);
    job_xs_result(rep, XLMIG_CHECK_WARNING, remedy, msg);
    if (check_only) goto out;
    job_info(job, "%s", msg);
    job_xs_to_ssh(xs);
    xs->framed = false;
    rc = job_xs_request(job, send_fd, xs);
    if (!rc) rc = job_xs_reply(job, recv_fd, xs, &refused);
    if (!rc && refused) {
        free(msg);
        msg = xasprintf("the destination refused the stream inside ssh: "
                        "%s", refused);
        pf_add(rep, true, "data-connection", XLMIG_CHECK_ERROR, NULL, "%s",
               msg);
    }
out:
    free(refused);
    free(remedy);
    free(msg);
    return rc;
}

int job_xs_settle(struct job *job, struct job_xs *xs, int send_fd,
                  int recv_fd, unsigned caps, bool check_only,
                  struct pf_report *rep)
{
    char from[80], *refused = NULL, *why = NULL;
    double ms;
    int rc;

    rc = job_xs_reply(job, recv_fd, xs, &refused);
    if (rc) goto out;
    if (refused) {
        pf_add(rep, true, "data-connection", XLMIG_CHECK_ERROR, NULL,
               "the destination refused the stream: %s", refused);
        goto out;
    }
    if (!xs->tcp) {
        pf_add(rep, false, "data-connection", XLMIG_CHECK_INFO, NULL,
               "the stream goes in frames inside ssh%s",
               xs->encrypt ? ", encrypted" : "");
        goto out;
    }
    rc = job_xs_connect(job, xs, &ms, &why);
    if (rc) goto out;
    if (why) {
        rc = job_xs_fail_connect(job, xs, send_fd, recv_fd, caps,
                                 check_only, why, rep);
        goto out;
    }
    pf_add(rep, false, "data-connection", XLMIG_CHECK_INFO, NULL,
           "direct data connection to %s port %u%s in %.0f ms%s", xs->addr,
           xs->port, job_xs_from(xs, from, sizeof(from)), ms,
           xs->encrypt ? ", encrypted" : ", not encrypted");
    /* xlmig check only tried it. */
    if (check_only) fdio_close(&xs->data_fd);
out:
    free(refused);
    free(why);
    return rc;
}

/* ---- negotiation (receiver) ---- */

/*
 * Listens for the data connection: on this host's migration address, else
 * where the sender's ssh came in. *why_r (allocated) on failure, for the
 * sender.
 */
static int job_xs_listen(struct job *job, struct job_xs *xs, bool *net_r,
                         char **why_r)
{
    struct mignet m;
    char *cause = NULL;
    int rc;

    *net_r = false;
    *why_r = NULL;
    rc = mignet_load(job->ctx, MIGNET_NETWORK, &m, &cause);
    if (rc) {
        LOG(job->ctx, ERROR, "%s", cause);
        *why_r = xasprintf("this host's migration network: %s", cause);
        free(cause);
        return rc;
    }
    if (m.addr[0]) {
        snprintf(xs->addr, sizeof(xs->addr), "%s", m.addr);
        *net_r = true;
    } else {
        datach_local_addr(xs->addr, sizeof(xs->addr));
    }
    rc = datach_listen(job->ctx, xs->addr, xs->port, &xs->listen_fd,
                       &xs->port);
    if (rc)
        *why_r = xasprintf("cannot listen on %s port %u (see its log)",
                           xs->addr, xs->port);
    return rc;
}

int job_xs_answer(struct job *job, int send_fd, const char *body,
                  bool require_encrypt, struct job_xs *xs)
{
    struct xs_msg_stream req;
    struct xs_msg_stream_ok ans;
    char *out = NULL, *why = NULL;
    bool net = false;
    int rc;

    /* A second request (the sender's fallback) replaces the first. */
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
                 "memory over a data connection only encrypted (leave out "
                 "--no-encrypt; incoming_require_encrypt)");
    else if (req.codec >= 0 && !frame_codec_available(req.codec))
        snprintf(ans.error, sizeof(ans.error), "this host's xlmig cannot "
                 "decode %s", frame_codec_name(req.codec));
    else if (frame_keys_new(&xs->keys))
        snprintf(ans.error, sizeof(ans.error), "no random bytes for the "
                 "session key");
    else if (xs->tcp && job_xs_listen(job, xs, &net, &why))
        snprintf(ans.error, sizeof(ans.error), "%s", why);
    /* Every codec we have may come: auto picks per frame. */
    else if (!(xs->dec = frame_dec_new(&xs->keys, 1u << FRAME_CODEC_NONE |
                                       1u << FRAME_CODEC_LZ4 |
                                       1u << FRAME_CODEC_ZSTD,
                                       xs->encrypt)))
        snprintf(ans.error, sizeof(ans.error), "cannot set up the cipher "
                 "or the decompressor");
    else
        ans.refused = false;
    free(why);
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
        ans.network = net;
        xs->acc = datach_acc_new(job->ctx, xs->listen_fd, xs->dec);
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
    char from[80], *why = NULL;
    int rc;

    *out_fd_r = -1;
    if (!xs->tcp) {
        rc = datach_send_auth(job->ctx, ssh_fd, xs->enc, &job->wait,
                              "stream to receiver");
        if (!rc) *out_fd_r = ssh_fd;
        return rc;
    }
    /* Made in pre-flight, unless its failure was forced past. */
    if (xs->data_fd < 0) {
        rc = datach_connect(job->ctx, xs->addr, xs->port, xs->from_addr,
                            job_xs_connect_s(job, xs), xs->enc, &job->wait,
                            &xs->data_fd, &why);
        if (why)
            LOG(job->ctx, ERROR, "cannot open the data connection to %s "
                "port %u%s: %s", xs->addr, xs->port,
                job_xs_from(xs, from, sizeof(from)), why);
        free(why);
        if (rc) return rc;
    }
    job_info(job, "data connection to %s port %u%s%s", xs->addr, xs->port,
             job_xs_from(xs, from, sizeof(from)),
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
    /* Taken in pre-flight (job_xs_accept_early), or from an older
     * sender, now. */
    rc = xs->data_fd >= 0 ? XLMIG_OK
         : datach_acc_run(xs->acc, ssh_fd, 0, &job->wait, &xs->data_fd);
    datach_acc_free(xs->acc);
    xs->acc = NULL;
    fdio_close(&xs->listen_fd);
    if (!rc) *in_fd_r = xs->data_fd;
    return rc;
}

int job_xs_accept_early(struct job *job, struct job_xs *xs, int ctl_fd)
{
    int rc;

    if (!xs->framed || !xs->acc || xs->data_fd >= 0) return XLMIG_OK;
    rc = datach_acc_run(xs->acc, ctl_fd, DATACH_YIELD, &job->wait,
                        &xs->data_fd);
    /* The sender's connection is in: nobody else may come. */
    if (!rc && xs->data_fd >= 0) {
        datach_acc_free(xs->acc);
        xs->acc = NULL;
        fdio_close(&xs->listen_fd);
    }
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
