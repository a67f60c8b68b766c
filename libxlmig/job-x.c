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

#include "buf.h"
#include "domcfg.h"
#include "fdio.h"
#include "job.h"
#include "policy.h"
#include "preflight.h"
#include "proto.h"
#include "xs-msg.h"

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
    struct xs_msg_hello h = { .stream = true, .restream = true };
    char *body;
    int rc;

    *chosen_r = offered < PROTO_X_VERSION ? offered : PROTO_X_VERSION;
    /* Test hook: a receiver of a version the sender does not speak. */
    if (fake) *chosen_r = (unsigned)strtoul(fake, NULL, 10);
    /* Test hooks: an xlmig of before the stream session, of before its
     * fallback to ssh. */
    if (getenv("XLMIG_FAULT_NOSTREAM")) h.stream = h.restream = false;
    if (getenv("XLMIG_FAULT_NORESTREAM")) h.restream = false;
    h.version = *chosen_r;
    snprintf(h.sw, sizeof(h.sw), "%s", xlmig_version());
    body = xs_msg_hello_encode(&h);
    rc = job_x_write(job, fd, PROTO_X_HELLO, body);
    free(body);
    return rc;
}

int job_x_hello_read(struct job *job, int fd, unsigned *version_r,
                     unsigned *caps_r)
{
    struct xs_msg_hello h;
    char *body = NULL, *why = NULL;
    int rc;

    *version_r = 0;
    *caps_r = 0;
    rc = job_x_expect(job, fd, PROTO_X_HELLO, &body);
    if (rc) return rc;
    rc = xs_msg_hello_decode(body, PROTO_X_VERSION, &h, &why);
    if (rc) {
        LOG(job->ctx, ERROR, "the receiver's hello names no xlmig/1 "
            "version we speak (we speak 1..%d): %s", PROTO_X_VERSION, why);
    } else {
        *version_r = h.version;
        if (h.stream) *caps_r |= JOB_X_CAP_STREAM;
        if (h.stream && h.restream) *caps_r |= JOB_X_CAP_RESTREAM;
    }
    free(why);
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
    /* --force named one that is the destination's own to waive. */
    for (i = 0; p->force && i < rep->n; i++) {
        if (rep->r[i].severity != XLMIG_CHECK_ERROR || rep->r[i].forced ||
            pf_sender_may_force(&rep->r[i]) ||
            !pf_listed(p->force, rep->r[i].id))
            continue;
        LOG(job->ctx, ERROR, "--force=%s: only the destination's admin can "
            "waive its %s errors, there", rep->r[i].id, rep->r[i].id);
        break;
    }
    ids = pf_error_ids(rep);
    /* xlmig check reports the errors itself; a migration stops here. */
    if (!p->check_only)
        LOG(job->ctx, ERROR, "%s cannot migrate: pre-flight check%s "
            "failed: %s", p->name, strchr(ids, ' ') ? "s" : "", ids);
    free(ids);
    return XLMIG_E_PREFLIGHT;
}

/*
 * The peer's answer to our request; the STREAM request goes with it (xs,
 * if not NULL): the receiver answers it right after its results.
 */
static int job_x_ask(struct job *job, const struct job_x_pf *p,
                     const struct job_xs *xs, struct pf_report *rep)
{
    char *body = pf_request_encode(p->req), *why = NULL;
    int rc;

    rc = job_x_write(job, p->send_fd, PROTO_X_PREFLIGHT, body);
    free(body);
    body = NULL;
    if (!rc && xs) rc = job_xs_request(job, p->send_fd, xs);
    if (!rc) rc = job_x_expect(job, p->recv_fd, PROTO_X_RESULTS, &body);
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

int job_x_source(struct job *job, const struct job_x_pf *p,
                 struct pf_report *rep)
{
    struct domcfg cfg;
    char *why = NULL;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    rc = domcfg_parse(p->json, &cfg, &why);
    if (rc) {
        LOG(job->ctx, ERROR, "the config of %s: %s", p->name, why);
        goto out;
    }
    rc = pf_source_checks(job->ctx, p->hv, p->domid, p->json, &cfg,
                          p->check_only, p->req, rep);
    if (rc) goto out;
    checkd_run(job->ctx, false, p->json, &cfg, p->host, rep);
out:
    free(why);
    domcfg_dispose(&cfg);
    return rc;
}

/* With an xlmig/1 peer: its checks, and the stream settled meanwhile. */
static int job_x_peer(struct job *job, const struct job_x_pf *p,
                      struct pf_report *rep)
{
    struct pf_report dest;
    bool stream;
    int rc;

    pf_report_init(&dest);
    stream = p->xs && job_xs_plan(job, p->xs, p->peer_caps, NULL,
                                  p->check_only, rep);
    rc = job_x_ask(job, p, stream ? p->xs : NULL, &dest);
    /* A migration that the checks stop already needs no stream (nor
     * waits for a peer that answered them and nothing else). */
    pf_force(rep, p->force);
    pf_force(&dest, p->force);
    if (!p->check_only && pf_errors(rep) + pf_errors(&dest)) stream = false;
    /* The stream's results read as the source's, before the
     * destination's. */
    if (!rc && stream)
        rc = job_xs_settle(job, p->xs, p->send_fd, p->recv_fd,
                           p->peer_caps, p->check_only, rep);
    pf_merge(rep, &dest);
    pf_report_dispose(&dest);
    return rc;
}

int job_x_preflight(struct job *job, const struct job_x_pf *p,
                    struct pf_report *rep)
{
    const char *why = p->why_no_peer ? p->why_no_peer
                                     : "the receiver does not speak xlmig/1";
    int rc;

    job_phase(job, XLMIG_PHASE_PREFLIGHT, "checking %s against %s", p->name,
              p->host);
    if (p->peer_version) {
        rc = job_x_peer(job, p, rep);
        if (rc) return rc;
    } else {
        pf_add(rep, true, "destination-checks", XLMIG_CHECK_WARNING,
               p->why_no_peer ? "install xlmig on the destination and let "
               "xlmig start its receiver" : NULL,
               "destination checks not run: %s", why);
        if (p->xs)
            (void)job_xs_plan(job, p->xs, 0, p->why_no_peer ? why
                              : "it speaks only xl's protocol",
                              p->check_only, rep);
    }
    pf_force(rep, p->force);
    return job_x_verdict(job, p, rep);
}

/* ---- receiver ---- */

void job_x_session_dispose(struct job_x_session *s)
{
    free(s->checked);
    pf_report_dispose(&s->rep);
    memset(s, 0, sizeof(*s));
}

/* Answers the PREFLIGHT and keeps what it checked and found. A config we
 * cannot parse ends the session. */
static int job_x_answer(struct job *job, struct hv *hv,
                        const struct policy *pol, int send_fd,
                        const char *body, struct job_x_session *s)
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
        /* Refused, as the same config in xl's header is (job-recv.c). */
        job_why(job, "its config: %s", why);
        LOG(job->ctx, ERROR, "refused the domain: %s", job->why);
        rc = XLMIG_E_PROTO;
        goto out;
    }
    job_phase(job, XLMIG_PHASE_PREFLIGHT, "checking %s from %s", cfg.name,
              req.source);
    rc = pf_dest_checks(job->ctx, hv, pol, &req, &rep);
    if (rc) goto out;
    checkd_run(job->ctx, true, req.config, &cfg, req.source, &rep);
    out = pf_report_encode(&rep);
    rc = job_x_write(job, send_fd, PROTO_X_RESULTS, out);
    if (rc) goto out;
    /* PROCEED must be about exactly this config and these results. */
    s->checked = req.config;
    req.config = NULL;
    s->rep = rep;
    pf_report_init(&rep);
    snprintf(s->name, sizeof(s->name), "%s", cfg.name);
out:
    free(out);
    free(why);
    domcfg_dispose(&cfg);
    pf_request_dispose(&req);
    pf_report_dispose(&rep);
    return rc;
}

/*
 * PROCEED names the errors the sender forced. This host's own errors
 * stand unless a sender may force them (pf_sender_may_force), and it
 * checks that here: a sender that goes on anyway is refused.
 */
static int job_x_proceed(struct job *job, const char *force,
                         struct job_x_session *s)
{
    size_t n = strlen(force), i;
    char *ids;

    if (n > PF_RESULTS_MAX * PF_ID_MAX ||
        strspn(force, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
               "0123456789:._-,") != n) {
        LOG(job->ctx, ERROR, "the sender's PROCEED is not a list of check "
            "ids");
        return XLMIG_E_PROTO;
    }
    pf_force(&s->rep, force);
    if (!pf_errors(&s->rep)) {
        s->proceed = true;
        return XLMIG_OK;
    }
    ids = pf_error_ids(&s->rep);
    job_why(job, "the sender went on despite this host's pre-flight "
            "errors (%s), which only this host's admin can waive", ids);
    /* The refusal's one line names the field and the rule: the first
     * error (pf_errors() says there is one). */
    for (i = 0; i < s->rep.n; i++)
        if (s->rep.r[i].severity == XLMIG_CHECK_ERROR && !s->rep.r[i].forced)
            break;
    LOG(job->ctx, ERROR, "refused: %s; the first: %s", job->why,
        i < s->rep.n ? s->rep.r[i].message : "?");
    free(ids);
    return XLMIG_E_PREFLIGHT;
}

static void job_x_log_refused(struct job *job, const char *peer,
                              const struct job_x_session *s)
{
    static const char lead[] = "refused by this host's ";
    const char *m;
    size_t i;

    for (i = 0; i < s->rep.n; i++) {
        if (s->rep.r[i].severity != XLMIG_CHECK_ERROR ||
            strcmp(s->rep.r[i].id, "incoming-policy"))
            continue;
        /* As job-recv.c words it: "incoming policy: FIELD: RULE". */
        m = s->rep.r[i].message;
        if (!strncmp(m, lead, sizeof(lead) - 1)) m += sizeof(lead) - 1;
        job_log_refusal(job, s->name, peer, m);
    }
}

/* The receiver's protocol table (STYLE.md, wire codecs rule 4): how
 * often a message may come in a session, and whether only after a
 * PREFLIGHT. STREAM twice: the sender's fallback from a data connection
 * it could not make to frames inside ssh (HELLO's "restream"). */
#define JOB_X_CHECKED (1u << 0)     /* only after a PREFLIGHT */

static const struct {
    uint32_t type;
    unsigned max;
    unsigned flags;
} job_x_serve_table[] = {
    { PROTO_X_PREFLIGHT, 1, 0 },
    { PROTO_X_STREAM, 2, JOB_X_CHECKED },
    { PROTO_X_PROCEED, 1, JOB_X_CHECKED },
    { PROTO_X_BYE, 1, 0 },
};

/* Whether type may come now (seen: how often each did); logs why not. */
static bool job_x_in_turn(struct job *job, uint32_t type,
                          unsigned seen[ARRAY_SIZE(job_x_serve_table)],
                          const struct job_x_session *s)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(job_x_serve_table); i++)
        if (job_x_serve_table[i].type == type) break;
    if (i == ARRAY_SIZE(job_x_serve_table)) {
        LOG(job->ctx, ERROR, "unexpected %s from the sender",
            proto_x_type_name(type));
        return false;
    }
    if (seen[i] == job_x_serve_table[i].max) {
        LOG(job->ctx, ERROR, "the sender sent the %s %s", proto_x_type_name(
            type), job_x_serve_table[i].max == 1 ? "twice" : "too often");
        return false;
    }
    if ((job_x_serve_table[i].flags & JOB_X_CHECKED) && !s->checked) {
        LOG(job->ctx, ERROR, "the sender sent the %s before any pre-flight "
            "request", proto_x_type_name(type));
        return false;
    }
    seen[i]++;
    return true;
}

int job_x_serve(struct job *job, struct hv *hv, const struct policy *pol,
                const char *peer, int recv_fd, int send_fd,
                struct job_xs *xs, struct job_x_session *s)
{
    unsigned seen[ARRAY_SIZE(job_x_serve_table)] = { 0 };
    uint32_t type;
    char *body, *esc;
    int rc;

    memset(s, 0, sizeof(*s));
    for (;;) {
        rc = job_x_read(job, recv_fd, &type, &body);
        if (rc) return rc;
        if (!job_x_in_turn(job, type, seen, s)) {
            free(body);
            return XLMIG_E_PROTO;
        }
        switch (type) {
        case PROTO_X_PREFLIGHT:
            rc = job_x_answer(job, hv, pol, send_fd, body, s);
            break;
        case PROTO_X_STREAM:
            rc = job_xs_answer(job, send_fd, body, pol->require_encrypt, xs);
            if (!rc) rc = job_xs_accept_early(job, xs, recv_fd);
            break;
        case PROTO_X_PROCEED:
            rc = job_x_proceed(job, body, s);
            free(body);
            return rc;
        default:
            esc = proto_escape((const uint8_t *)body, strlen(body), 120);
            job_info(job, "the sender ended the session%s%s",
                     *body ? ": " : "", esc);
            /* A migration that stopped at this host's policy, not a
             * sender that only checked: the refusal goes in the log. */
            if (strcmp(body, JOB_X_BYE_CHECKED))
                job_x_log_refused(job, peer, s);
            free(esc);
            free(body);
            return XLMIG_OK;
        }
        free(body);
        if (rc) return rc;
    }
}
