/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * job-recv.c - the receiving side of a migration, speaking xl's protocol
 * on two fds (stdin/stdout under ssh), for an xl or an xlmig sender. The
 * sender is hostile until checked: nothing is created before its config
 * has passed this host's incoming policy (policy.h).
 *
 * Phases and what undoes them:
 *   connect     this host's policy loaded (none: nothing is taken), the
 *               banner; xlmig/1: pre-flight, with the policy
 *   preflight   the saved-config header; the config must be the one
 *               checked (xlmig/1), pass the policy (every sender), and
 *               its name and NAME--incoming be free; then a slot
 *   transfer    the pump feeds the stream to libxl, which creates
 *               NAME--incoming, paused, from the config as checked;
 *               "ready" goes back
 *   switchover  wait for GO, journal it, rename to NAME, unpause
 *   commit      report the result; on failure destroy our copy and hand
 *               the domain back with a GO of our own
 * Until the sender's GO our copy never runs, and every failure destroys
 * it, so the guest keeps running on the sender. A refusal is one line
 * naming the field and the rule, on stderr (which an ssh sender shows),
 * in this host's log of refusals and in the job's record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "domcfg.h"
#include "fdio.h"
#include "hv.h"
#include "job.h"
#include "job-storage.h"
#include "policy.h"
#include "proto.h"
#include "pump.h"

struct job_recv {
    struct job job;
    const struct xlmig_receive_opts *opts;
    struct hv *hv;
    struct policy policy;
    bool policy_loaded;
    char *json;                 /* as checked and restored (canonical) */
    char *name;                 /* final name */
    char *in_name;              /* NAME--incoming */
    char peer[64];              /* the ssh client's address, or "local" */
    char uuid[37];              /* the config's, or "" */
    struct job_x_session xsess; /* xlmig/1: what pre-flight checked */
    uint32_t domid;             /* our copy, HV_INVALID_DOMID if none */
    struct job_xs xs;           /* how the stream comes (xlmig/1) */
    double restore_s;           /* first frame to the restore's end */
    double t_unpaused;          /* when the domain was unpaused */
    struct job_links links;     /* stable names made for its disks */
    bool hooked;                /* pre-incoming went to the hooks */
};

/* Refuses the domain: the one line, the log, the job's record. */
static int job_recv_refuse(struct job_recv *jr, int rc, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

static int job_recv_refuse(struct job_recv *jr, int rc, const char *fmt, ...)
{
    char *raw, *what, *name;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&raw, fmt, ap) < 0) abort();
    va_end(ap);
    /* The sender's name and values go to its terminal: escaped. */
    what = proto_clean_text(raw);
    name = proto_clean_text(jr->name ? jr->name : "the domain");
    LOG(jr->job.ctx, ERROR, "refused %s: %s", name, what);
    job_log_refusal(&jr->job, jr->name, jr->peer, what);
    job_why(&jr->job, "refused: %s", what);
    free(name);
    free(what);
    free(raw);
    return rc;
}

/* This host's policy, before anything else: none means no domain. */
static int job_recv_policy(struct job_recv *jr)
{
    char *cause = NULL;
    int rc;

    rc = policy_load(jr->job.ctx, &jr->policy, &cause);
    if (rc) {
        rc = job_recv_refuse(jr, rc, "this host's incoming policy cannot "
                             "be read (%s), so it takes no domain", cause);
        free(cause);
        return rc;
    }
    jr->policy_loaded = true;
    if (jr->policy.require_xlmig && !jr->opts->xlmig_proto)
        return job_recv_refuse(jr, XLMIG_E_PREFLIGHT, "this host takes "
                               "domains only from xlmig senders, with "
                               "pre-flight checks (incoming_require_xlmig)");
    return XLMIG_OK;
}

static int job_recv_header(struct job_recv *jr, char **raw_r)
{
    struct xlmig_ctx *ctx = jr->job.ctx;
    uint8_t hdr[PROTO_SAVE_HDR_LEN];
    struct proto_save_hdr h;
    uint8_t *opt = NULL;
    char *why = NULL;
    int rc;

    rc = fdio_read_exact(ctx, jr->opts->recv_fd, hdr, sizeof(hdr),
                         &jr->job.wait, "saved-config header");
    if (rc) goto out;
    rc = proto_parse_save_hdr(hdr, sizeof(hdr), &h, &why);
    if (rc) {
        LOG(ctx, ERROR, "%s", why);
        goto out;
    }
    opt = xmalloc(h.optional_data_len);
    rc = fdio_read_exact(ctx, jr->opts->recv_fd, opt, h.optional_data_len,
                         &jr->job.wait, "domain config");
    if (rc) goto out;
    rc = proto_parse_optdata(opt, h.optional_data_len, raw_r, &why);
    if (rc) LOG(ctx, ERROR, "%s", why);
out:
    free(opt);
    free(why);
    return rc;
}

/*
 * The policy on json: XLMIG_E_PREFLIGHT (refused, the first field named;
 * the others logged) if it refuses anything.
 */
static int job_recv_policy_check(struct job_recv *jr, const char *json)
{
    struct policy_report pr;
    size_t i;
    int rc;

    rc = policy_check(jr->job.ctx, jr->hv, &jr->policy, json, &pr);
    if (rc) return rc;
    for (i = 1; i < pr.n; i++)
        LOG(jr->job.ctx, INFO, "also refused: %s", pr.v[i]);
    if (pr.n)
        rc = job_recv_refuse(jr, XLMIG_E_PREFLIGHT, "incoming policy: %s%s",
                             pr.v[0], pr.n > 1 ? " (and more: see the log)"
                                               : "");
    policy_report_dispose(&pr);
    return rc;
}

/*
 * The backend does not take the config (rc): the policy on it as sent
 * names the field the backend's refusal does not.
 */
static int job_recv_unreadable(struct job_recv *jr, const char *raw, int rc)
{
    if (job_recv_policy_check(jr, raw) == XLMIG_E_PREFLIGHT)
        return XLMIG_E_PREFLIGHT;
    return job_recv_refuse(jr, rc, "this host's backend does not take its "
                           "config");
}

/*
 * The config from the stream: bounded and strict before libxl sees it,
 * the one pre-flight checked, then in the form this backend reads it
 * (jr->json), which is what the policy judges and what is restored.
 */
static int job_recv_config(struct job_recv *jr, const char *raw)
{
    struct xlmig_ctx *ctx = jr->job.ctx;
    struct domcfg c;
    char *why = NULL;
    int rc;

    rc = domcfg_parse(raw, &c, &why);
    if (rc) {
        rc = job_recv_refuse(jr, XLMIG_E_PROTO, "its config: %s", why);
        goto out;
    }
    domcfg_dispose(&c);
    if (jr->opts->xlmig_proto && strcmp(raw, jr->xsess.checked)) {
        rc = job_recv_refuse(jr, XLMIG_E_PROTO, "the config in the stream "
                             "is not the one checked in pre-flight");
        goto out;
    }
    rc = hv_config_canonical(jr->hv, raw, &jr->json);
    if (rc) {
        rc = job_recv_unreadable(jr, raw, rc);
        goto out;
    }
    rc = domcfg_parse(jr->json, &c, &why);
    if (rc) {
        rc = job_recv_refuse(jr, XLMIG_E_PROTO, "its config, as this host "
                             "reads it: %s", why);
        goto out;
    }
    jr->name = c.name;
    c.name = NULL;
    snprintf(jr->uuid, sizeof(jr->uuid), "%s", c.uuid);
    /* The guest's size, for progress. */
    jr->job.total_pages = c.max_memkb / 4;
    domcfg_dispose(&c);
    if (jr->opts->debug)
        LOG(ctx, INFO, "received config of %s:\n%s", jr->name, jr->json);
out:
    free(why);
    return rc;
}

/* The policy on the config as it will be restored, whoever sent it. */
static int job_recv_check(struct job_recv *jr)
{
    char *coord_reason = NULL;
    struct coord *co = NULL;
    int rc;

    rc = job_recv_policy_check(jr, jr->json);
    if (rc) return rc;
    jr->in_name = xasprintf("%s--incoming", jr->name);
    if (hv_name_in_use(jr->hv, jr->name) ||
        hv_name_in_use(jr->hv, jr->in_name))
        return job_recv_refuse(jr, XLMIG_E_BUSY, "a domain named '%s' (or "
                               "'%s') already exists on this host",
                               jr->name, jr->in_name);
    /* Maintenance mode takes no domain, whatever a sender says. */
    rc = coord_open(jr->job.ctx, &co);
    if (!rc) rc = coord_get_maintenance(co, &coord_reason);
    coord_close(co);
    if (rc) return rc;
    if (coord_reason)
        rc = job_recv_refuse(jr, XLMIG_E_BUSY, "this host is in maintenance "
                             "mode (%s)", coord_reason);
    free(coord_reason);
    return rc;
}

/* The job's record, then (once the domain passed) an incoming slot. */
static int job_recv_admit(struct job_recv *jr)
{
    int rc;

    /* No lock: the sender holds it when both ends are this host. */
    rc = job_register(&jr->job, "recv", jr->name, NULL, jr->peer);
    if (rc) {
        LOGR(jr->job.ctx, ERROR, rc, "cannot record the job of %s",
             jr->name);
        return rc;
    }
    /* recover finds the domain by its uuid. */
    snprintf(jr->job.jr.uuid, sizeof(jr->job.jr.uuid), "%s", jr->uuid);
    jr->job.jr.paused = jr->opts->paused;
    job_phase(&jr->job, XLMIG_PHASE_PREFLIGHT, "receiving %s from %s",
              jr->name, jr->peer);
    rc = job_recv_check(jr);
    if (rc) return rc;
    /* Its movable disks get their stable names here, as at home. */
    job_storage_relink(jr->job.ctx, jr->name, &jr->json, &jr->links);
    /* While we queue, the sender's stream stalls: wait no longer than
     * its stall timer, and not at all once it has gone. */
    rc = job_admit(&jr->job, COORD_IN, false, jr->job.wait.timeout_s,
                   jr->opts->recv_fd);
    if (rc == XLMIG_E_BUSY || rc == XLMIG_E_TIMEDOUT)
        LOGR(jr->job.ctx, ERROR, rc, "cannot admit %s on this host",
             jr->name);
    return rc;
}

/* The pump feeds libxl through a pipe and stops right after END. */
static int job_recv_transfer(struct job_recv *jr)
{
    struct xlmig_ctx *ctx = jr->job.ctx;
    struct pump_opts po = {
        .in_fd = jr->opts->recv_fd, .wait = jr->job.wait,
        .in_what = "stream from sender", .out_what = "stream to libxl",
    };
    struct xlmig_progress prog;
    struct hv_wait w;
    int lpipe[2] = { -1, -1 };
    double t0;
    int rc, prc;

    job_phase(&jr->job, XLMIG_PHASE_TRANSFER, "restoring %s as %s",
              jr->name, jr->in_name);
    if (jr->job.journal_rc) return jr->job.journal_rc;
    t0 = ctx_now(ctx);
    if (jr->xs.framed) {
        rc = job_xs_recv_open(&jr->job, &jr->xs, jr->opts->recv_fd,
                              &po.in_fd);
        if (rc) return rc;
        po.dec = jr->xs.dec;
        po.in_what = jr->xs.tcp ? "data connection" : po.in_what;
        jr->job.x_progress_fd = jr->opts->send_fd;
    }
    if (fdio_pipe(ctx, lpipe)) return XLMIG_E_SYSTEM;
    po.out_fd = lpipe[1];
    rc = pump_start(ctx, &po, &jr->job.pump);
    if (rc) goto out;
    job_hv_wait(&jr->job, &w);
    rc = hv_restore(jr->hv, jr->json, jr->in_name, lpipe[0], &w,
                    &jr->domid);
    if (rc) pump_stop(jr->job.pump);
    prc = pump_join(jr->job.pump);
    /* A pump failure is what made libxl stop: it is the cause. */
    if (prc && prc != XLMIG_E_CANCELLED) rc = prc;
    else if (!rc) rc = prc;
    job_progress(&jr->job, true);
    jr->restore_s = ctx_now(ctx) - t0;
    /* The last PROGRESS: all frames are in (before "ready"). */
    if (!rc && jr->xs.framed) {
        pump_progress(jr->job.pump, &prog);
        rc = job_xs_progress_send(&jr->job, &prog, true);
    }
    /* The data connection stays open to the end of the session: the
     * sender takes its closing as our refusal of the stream. */
    jr->job.x_progress_fd = -1;
out:
    pump_free(jr->job.pump);
    jr->job.pump = NULL;
    fdio_close_pair(lpipe);
    return rc;
}

static void job_recv_destroy(struct job_recv *jr)
{
    int rc;

    if (jr->domid == HV_INVALID_DOMID) return;
    rc = hv_destroy(jr->hv, jr->domid);
    if (rc) {
        LOG(jr->job.ctx, ERROR, "could not destroy our copy of %s "
            "(domain %u); destroy it by hand", jr->name, jr->domid);
        return;
    }
    job_info(&jr->job, "destroyed our copy of %s", jr->name);
    jr->domid = HV_INVALID_DOMID;
}

/*
 * GO came: the domain is ours once the journal says so (a crash from
 * here on is finished by recover, which must know). Cancels are refused.
 */
static int job_recv_start(struct job_recv *jr)
{
    int rc;

    jr->job.jr.go = true;
    rc = job_journal(&jr->job);
    if (rc) {
        /* Not ours then: destroy our copy and hand the domain back. */
        jr->job.jr.go = false;
        return rc;
    }
    job_fault(&jr->job, "go");
    job_phase(&jr->job, XLMIG_PHASE_SWITCHOVER, "starting %s", jr->name);
    rc = hv_rename(jr->hv, jr->domid, jr->in_name, jr->name);
    if (rc) return rc;
    job_fault(&jr->job, "renamed");
    if (jr->opts->paused) {
        job_info(&jr->job, "leaving %s paused (-p)", jr->name);
        return XLMIG_OK;
    }
    rc = hv_unpause(jr->hv, jr->domid);
    if (!rc) jr->t_unpaused = ctx_now(jr->job.ctx);
    return rc;
}

/*
 * Sends the result (xlmig/1 framed: RESULT first) and xl's report; on
 * failure destroys our copy first and then hands the domain back to the
 * sender with GO, as xl does.
 */
static int job_recv_report(struct job_recv *jr, int result)
{
    struct xlmig_ctx *ctx = jr->job.ctx;
    struct fdio_wait w = fdio_wait_make(jr->job.wait.timeout_s, -1);
    uint8_t status = result ? (uint8_t)(-result) : 0;
    int rc = XLMIG_OK, i;

    /* The answer goes out whatever cancel came: it is what tells the
     * sender to resume its copy. */
    for (i = 0; i < FDIO_CANCEL_FDS; i++)
        jr->job.wait.cancel_fds[i] = -1;
    if (result) job_recv_destroy(jr);
    /* The sender learns when the guest ran again, for its downtime. */
    if (jr->xs.framed)
        rc = job_xs_result_send(&jr->job, jr->opts->send_fd, !result,
                                jr->t_unpaused ? ctx_now(ctx) -
                                jr->t_unpaused : 0, jr->restore_s);
    if (!rc)
        rc = fdio_write_all(ctx, jr->opts->send_fd, proto_report.text,
                            proto_report.len, &w, proto_report.what);
    if (!rc)
        rc = fdio_write_all(ctx, jr->opts->send_fd, &status, 1, &w,
                            "report status");
    if (!rc && result && jr->domid == HV_INVALID_DOMID)
        rc = fdio_write_all(ctx, jr->opts->send_fd, proto_go.text,
                            proto_go.len, &w, "permission to resume");
    return rc;
}

/*
 * xlmig/1: the sender's DONE says its copy is gone. Without it the
 * journal stays (GO received, phase done), so that a sender that died
 * learns from this host's recover --query that the domain came here,
 * even if it has stopped here since.
 */
#define JOB_RECV_DONE_WAIT_S 30

static bool job_recv_done(struct job_recv *jr)
{
    uint32_t type = 0;
    char *body = NULL;
    int rc;

    if (!jr->job.wait.timeout_s ||
        jr->job.wait.timeout_s > JOB_RECV_DONE_WAIT_S)
        jr->job.wait.timeout_s = JOB_RECV_DONE_WAIT_S;
    rc = job_x_read(&jr->job, jr->opts->recv_fd, &type, &body);
    free(body);
    if (!rc && type == PROTO_X_DONE) return true;
    LOG(jr->job.ctx, WARN, "no word from the sender that its copy of %s is "
        "gone: this host's journal of job %s stays for xlmig recover",
        jr->name, jr->job.id);
    return false;
}

/* The admin's pre-incoming hooks, the last word before the domain is
 * made here: a veto is a refusal like the policy's. */
static int job_recv_hooks(struct job_recv *jr)
{
    char why[sizeof(jr->job.why)];
    int rc;

    jr->hooked = true;
    rc = job_hook(&jr->job, HOOKS_PRE_INCOMING, "destination", XLMIG_OK,
                  HOOKS_NO_DOMID, jr->json);
    if (rc != XLMIG_E_PREFLIGHT) return rc;
    snprintf(why, sizeof(why), "%s", jr->job.why);
    return job_recv_refuse(jr, rc, "%s", why);
}

/* Up to "ready": nothing of the domain exists here before transfer. */
static int job_recv_take(struct job_recv *jr)
{
    char *raw = NULL;
    int rc;

    rc = job_recv_header(jr, &raw);
    if (!rc) rc = job_recv_config(jr, raw);
    free(raw);
    if (!rc) rc = job_recv_admit(jr);
    if (!rc) rc = job_recv_hooks(jr);
    if (!rc) rc = job_recv_transfer(jr);
    if (rc) return rc;
    jr->job.jr.domid = jr->domid;
    rc = job_journal(&jr->job);
    if (!rc) rc = job_write_msg(&jr->job, jr->opts->send_fd, &proto_ready);
    if (!rc) job_fault(&jr->job, "ready");
    return rc;
}

int xlmig_migrate_receive(struct xlmig_ctx *ctx,
                          const struct xlmig_receive_opts *opts,
                          uint32_t *domid_r)
{
    const char *ssh = getenv("SSH_CLIENT");
    struct job_recv jr;
    unsigned chosen;
    bool go = false;
    int rc, rrc = XLMIG_OK;

    *domid_r = HV_INVALID_DOMID;
    if (opts->cold)
        return job_cold_receive(ctx, opts->recv_fd, opts->send_fd,
                                opts->timeout_s);
    memset(&jr, 0, sizeof(jr));
    job_init(&jr.job, ctx, opts->event_fn, opts->event_arg,
             opts->timeout_s, opts->cancel_fd);
    jr.opts = opts;
    jr.domid = HV_INVALID_DOMID;
    job_xs_init(&jr.xs);
    snprintf(jr.peer, sizeof(jr.peer), "local");
    if (ssh && *ssh)
        snprintf(jr.peer, sizeof(jr.peer), "%.*s", (int)strcspn(ssh, " "),
                 ssh);

    rc = ctx_hv(ctx, &jr.hv);
    if (!rc) rc = job_recv_policy(&jr);
    if (rc) goto out;
    job_phase(&jr.job, XLMIG_PHASE_CONNECT, "ready to receive a domain");
    rc = job_write_msg(&jr.job, opts->send_fd, &proto_banner);
    if (rc) goto out;
    if (opts->xlmig_proto) {
        rc = job_x_hello_send(&jr.job, opts->send_fd, opts->xlmig_proto,
                              &chosen);
        if (!rc)
            rc = job_x_serve(&jr.job, jr.hv, &jr.policy, jr.peer,
                             opts->recv_fd, opts->send_fd, &jr.xs,
                             &jr.xsess);
        /* A refusal (job_why()), not a hangup or a garbled message. */
        if (rc && jr.job.why[0])
            job_log_refusal(&jr.job, NULL, jr.peer, jr.job.why);
        /* A sender that only checks leaves here, nothing changed. */
        if (rc || !jr.xsess.proceed) goto out;
    }
    rc = job_recv_take(&jr);
    if (rc) goto out;
    rc = job_read_msg(&jr.job, opts->recv_fd, &proto_go);
    if (rc) {
        /*
         * No GO: the sender keeps the domain. Tell it we let go, in case
         * it is still listening (a late GO then meets our refusal).
         */
        rrc = job_recv_report(&jr, rc);
        if (rrc) LOGR(ctx, DEBUG, rrc, "sender no longer listening");
        goto out;
    }
    /* GO is the sender's commitment: a cancel that raced it is moot. */
    if (job_no_more_cancel(&jr.job, "the sender has handed the domain "
                           "over (GO received)"))
        LOG(ctx, INFO, "ignoring a cancel that came with GO");
    rc = job_recv_start(&jr);
    go = jr.job.jr.go;
    /* A failed start still destroys our copy and hands the domain back. */
    rrc = job_recv_report(&jr, rc);
    if (!rc && rrc) {
        /* We run it, the sender may not know: it keeps its copy suspended
         * and renamed, so the guest still runs exactly once. */
        LOG(ctx, ERROR, "%s runs here but the sender did not get the "
            "report; its suspended copy is left for it to clean up",
            jr.name);
    }
    if (rc) goto out;
    job_phase(&jr.job, XLMIG_PHASE_DONE, "%s runs here as domain %u",
              jr.name, jr.domid);
    /* Never fails: not a pre-event. */
    (void)!job_hook(&jr.job, HOOKS_INCOMING_DONE, "destination", XLMIG_OK,
                    jr.domid, jr.json);
    *domid_r = jr.domid;
    jr.domid = HV_INVALID_DOMID;
    if (!rrc && opts->xlmig_proto && !job_recv_done(&jr)) rrc = XLMIG_E_PEER;

out:
    if (rc) job_failed(&jr.job, rc);
    if (rc && !go) job_recv_destroy(&jr);
    /* Hooks heard of it (pre-incoming): they hear how it ended. */
    if (rc && jr.hooked)
        (void)!job_hook(&jr.job, job_hook_end(rc, HOOKS_INCOMING_DONE),
                        "destination", rc, HOOKS_NO_DOMID, jr.json);
    /* Not started here (refused, no GO, handed back): no names for it. */
    if (rc) job_storage_unlink(ctx, &jr.links);
    /* Keep the journal while the sender may not know we run the domain. */
    job_unregister(&jr.job, go && !rc && rrc);
    if (jr.policy_loaded) policy_dispose(&jr.policy);
    free(jr.json);
    free(jr.name);
    free(jr.in_name);
    job_links_dispose(&jr.links);
    job_x_session_dispose(&jr.xsess);
    job_xs_dispose(&jr.xs);
    return rc;
}
