/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * job-x.c - the xlmig/1 part of a migration session (proto.h): message
 * I/O with the job's deadlines and cancel, the HELLO exchange, and the
 * pre-flight on both ends (sender: source checks, destination checks by
 * the peer, --force, the verdict; receiver: answer PREFLIGHT with this
 * host's checks until PROCEED or BYE).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "buf.h"
#include "domcfg.h"
#include "fdio.h"
#include "job.h"
#include "jsonlim.h"
#include "preflight.h"
#include "proto.h"

int job_x_write(struct job *job, int fd, uint32_t type, const char *body)
{
    struct buf *b = buf_new(PROTO_X_HDR_LEN + PROTO_X_BODY_MAX);
    int rc;

    rc = proto_x_put(b, type, body);
    if (rc)
        LOGR(job->ctx, ERROR, rc, "cannot encode the %s",
             proto_x_type_name(type));
    else
        rc = fdio_write_all(job->ctx, fd, buf_ptr(b), buf_len(b),
                            &job->wait, proto_x_type_name(type));
    buf_free(b);
    return rc;
}

int job_x_read(struct job *job, int fd, uint32_t *type_r, char **body_r)
{
    uint8_t hdr[PROTO_X_HDR_LEN], *body = NULL;
    char *why = NULL;
    uint32_t len;
    int rc;

    *body_r = NULL;
    rc = job_read(job, fd, hdr, sizeof(hdr), "xlmig/1 message");
    if (rc) return rc;
    rc = proto_x_parse_hdr(hdr, sizeof(hdr), type_r, &len, &why);
    if (rc) goto out;
    body = xmalloc(len ? len : 1);
    rc = job_read(job, fd, body, len, proto_x_type_name(*type_r));
    if (!rc) rc = proto_x_body(body, len, body_r, &why);
out:
    if (why) LOG(job->ctx, ERROR, "%s", why);
    free(why);
    free(body);
    return rc;
}

/* Reads a message that must be of type want. */
static int job_x_expect(struct job *job, int fd, uint32_t want,
                        char **body_r)
{
    uint32_t type;
    int rc;

    rc = job_x_read(job, fd, &type, body_r);
    if (rc) return rc;
    if (type == want) return XLMIG_OK;
    LOG(job->ctx, ERROR, "expected the %s, got the %s",
        proto_x_type_name(want), proto_x_type_name(type));
    free(*body_r);
    *body_r = NULL;
    return XLMIG_E_PROTO;
}

/* ---- HELLO ---- */

int job_x_hello_send(struct job *job, int fd, unsigned offered,
                     unsigned *chosen_r)
{
    const char *fake = getenv("XLMIG_FAULT_HELLO_VERSION");
    char *body;
    int rc;

    *chosen_r = offered < PROTO_X_VERSION ? offered : PROTO_X_VERSION;
    /* Test hook: a receiver of a version the sender does not speak. */
    if (fake) *chosen_r = (unsigned)strtoul(fake, NULL, 10);
    /* Test hook: an xlmig of before the stream session. */
    body = xasprintf("{\"xlmig\":%u,\"version\":\"%s\",\"caps\":[%s]}",
                     *chosen_r, xlmig_version(),
                     getenv("XLMIG_FAULT_NOSTREAM") ? "" : "\"stream\"");
    rc = job_x_write(job, fd, PROTO_X_HELLO, body);
    free(body);
    return rc;
}

/* Whether the array caps of HELLO names cap. */
static bool job_x_has_cap(yajl_val root, const char *cap)
{
    const char *path[] = { "caps", NULL };
    yajl_val v = yajl_tree_get(root, path, yajl_t_array);
    size_t i;

    for (i = 0; v && i < YAJL_GET_ARRAY(v)->len; i++) {
        const char *s = YAJL_GET_STRING(YAJL_GET_ARRAY(v)->values[i]);

        if (s && !strcmp(s, cap)) return true;
    }
    return false;
}

int job_x_hello_read(struct job *job, int fd, unsigned *version_r,
                     bool *stream_r)
{
    const char *path[] = { "xlmig", NULL };
    char *body = NULL, err[128] = "";
    yajl_val root = NULL, v;
    int rc;

    *version_r = 0;
    *stream_r = false;
    rc = job_x_expect(job, fd, PROTO_X_HELLO, &body);
    if (rc) return rc;
    root = json_depth_ok(body, 8) ? yajl_tree_parse(body, err, sizeof(err))
                                  : NULL;
    v = root ? yajl_tree_get(root, path, yajl_t_number) : NULL;
    if (!v || !YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 1 ||
        YAJL_GET_INTEGER(v) > PROTO_X_VERSION) {
        LOG(job->ctx, ERROR, "the receiver's hello names no xlmig/1 "
            "version we speak (we speak 1..%d)", PROTO_X_VERSION);
        rc = XLMIG_E_PROTO;
    } else {
        *version_r = (unsigned)YAJL_GET_INTEGER(v);
        *stream_r = job_x_has_cap(root, "stream");
    }
    yajl_tree_free(root);
    free(body);
    return rc;
}

/* ---- sender ---- */

/* Tells the caller each result, then decides. */
static int job_x_verdict(struct job *job, const struct job_x_pf *p,
                         struct pf_report *rep)
{
    struct xlmig_event ev = { .type = XLMIG_EV_CHECK, .phase = job->phase };
    char *ids;
    size_t i;

    for (i = 0; i < rep->n; i++) {
        LOG(job->ctx, DEBUG, "check %s %s: %s", rep->r[i].id,
            xlmig_check_severity_name(rep->r[i].severity),
            rep->r[i].message);
        ev.elapsed = job_elapsed(job);
        ev.check = &rep->r[i];
        if (job->event_fn) job->event_fn(job->event_arg, &ev);
    }
    if (!pf_errors(rep)) return XLMIG_OK;
    ids = pf_error_ids(rep);
    /* xlmig check reports the errors itself; a migration stops here. */
    if (!p->check_only)
        LOG(job->ctx, ERROR, "%s cannot migrate: pre-flight check%s "
            "failed: %s", p->name, strchr(ids, ' ') ? "s" : "", ids);
    free(ids);
    return XLMIG_E_PREFLIGHT;
}

/* The peer's answer to our request. */
static int job_x_ask(struct job *job, int send_fd, int recv_fd,
                     const struct pf_request *req, struct pf_report *rep)
{
    char *body = pf_request_encode(req), *why = NULL;
    int rc;

    rc = job_x_write(job, send_fd, PROTO_X_PREFLIGHT, body);
    free(body);
    body = NULL;
    if (!rc) rc = job_x_expect(job, recv_fd, PROTO_X_RESULTS, &body);
    if (rc) {
        LOG(job->ctx, ERROR, "the destination did not answer the "
            "pre-flight request");
        goto out;
    }
    rc = pf_report_decode(body, rep, &why);
    if (rc) LOG(job->ctx, ERROR, "the destination's results: %s", why);
out:
    free(why);
    free(body);
    return rc;
}

int job_x_preflight(struct job *job, const struct job_x_pf *p,
                    struct pf_report *rep)
{
    struct pf_request req;
    struct pf_report dest;
    struct domcfg cfg;
    char *why = NULL;
    int rc;

    memset(&req, 0, sizeof(req));
    memset(&cfg, 0, sizeof(cfg));
    pf_report_init(&dest);
    job_phase(job, XLMIG_PHASE_PREFLIGHT, "checking %s against %s", p->name,
              p->host);
    rc = domcfg_parse(p->json, &cfg, &why);
    if (rc) {
        LOG(job->ctx, ERROR, "the config of %s: %s", p->name, why);
        goto out;
    }
    rc = pf_source_checks(job->ctx, p->hv, p->domid, p->json, &cfg,
                          p->check_only, &req, rep);
    if (rc) goto out;
    checkd_run(job->ctx, false, p->json, &cfg, p->host, rep);
    if (p->peer_version) {
        rc = job_x_ask(job, p->send_fd, p->recv_fd, &req, &dest);
        if (rc) goto out;
        pf_merge(rep, &dest);
    } else {
        pf_add(rep, true, "destination-checks", XLMIG_CHECK_WARNING,
               p->why_no_peer ? "install xlmig on the destination and let "
               "xlmig start its receiver" : NULL,
               "destination checks not run: %s", p->why_no_peer
               ? p->why_no_peer : "the receiver does not speak xlmig/1");
    }
    pf_force(rep, p->force);
    rc = job_x_verdict(job, p, rep);
out:
    free(why);
    domcfg_dispose(&cfg);
    pf_request_dispose(&req);
    pf_report_dispose(&dest);
    return rc;
}

/* ---- receiver ---- */

/* Answers one PREFLIGHT. A config we cannot parse ends the session. */
static int job_x_answer(struct job *job, struct hv *hv, int send_fd,
                        const char *body)
{
    struct pf_request req;
    struct pf_report rep;
    struct domcfg cfg;
    char *why = NULL, *out = NULL;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    pf_report_init(&rep);
    rc = pf_request_decode(body, &req, &why);
    if (rc) {
        LOG(job->ctx, ERROR, "pre-flight request: %s", why);
        free(why);
        return rc;
    }
    rc = domcfg_parse(req.config, &cfg, &why);
    if (rc) {
        LOG(job->ctx, ERROR, "pre-flight request: domain config: %s", why);
        rc = XLMIG_E_PROTO;
        goto out;
    }
    job_phase(job, XLMIG_PHASE_PREFLIGHT, "checking %s from %s", cfg.name,
              req.source);
    rc = pf_dest_checks(job->ctx, hv, &req, &rep);
    if (rc) goto out;
    checkd_run(job->ctx, true, req.config, &cfg, req.source, &rep);
    out = pf_report_encode(&rep);
    rc = job_x_write(job, send_fd, PROTO_X_RESULTS, out);
out:
    free(out);
    free(why);
    domcfg_dispose(&cfg);
    pf_request_dispose(&req);
    pf_report_dispose(&rep);
    return rc;
}

int job_x_serve(struct job *job, struct hv *hv, int recv_fd, int send_fd,
                struct job_xs *xs, bool *proceed_r, char **force_r)
{
    uint32_t type;
    char *body;
    int rc;

    *proceed_r = false;
    *force_r = NULL;
    for (;;) {
        rc = job_x_read(job, recv_fd, &type, &body);
        if (rc) return rc;
        switch (type) {
        case PROTO_X_PREFLIGHT:
            rc = job_x_answer(job, hv, send_fd, body);
            break;
        case PROTO_X_STREAM:
            rc = job_xs_answer(job, send_fd, body, xs);
            break;
        case PROTO_X_PROCEED:
            *proceed_r = true;
            *force_r = body;
            return XLMIG_OK;
        case PROTO_X_BYE:
            job_info(job, "the sender ended the session%s%s",
                     *body ? ": " : "", body);
            free(body);
            return XLMIG_OK;
        default:
            LOG(job->ctx, ERROR, "unexpected %s from the sender",
                proto_x_type_name(type));
            rc = XLMIG_E_PROTO;
            break;
        }
        free(body);
        if (rc) return rc;
    }
}
