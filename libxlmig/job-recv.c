/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * job-recv.c - the receiving side of a migration, speaking xl's protocol
 * on two fds (stdin/stdout under ssh), for an xl or an xlmig sender.
 *
 * Phases and what undoes them:
 *   connect     send the banner, read and validate the saved-config header
 *   preflight   the name and NAME--incoming must be free here
 *   transfer    the pump feeds the stream to libxl, which creates
 *               NAME--incoming, paused; "ready" goes back
 *   switchover  wait for GO, rename to NAME, unpause (unless -p)
 *   commit      report the result; on failure destroy our copy and hand
 *               the domain back with a GO of our own
 * Until the sender's GO our copy never runs, and every failure destroys
 * it, so the guest keeps running on the sender.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "domcfg.h"
#include "fdio.h"
#include "hv.h"
#include "job.h"
#include "proto.h"
#include "pump.h"

struct job_recv {
    struct job job;
    const struct xlmig_receive_opts *opts;
    struct hv *hv;
    char *json;
    char *name;                 /* final name */
    char *in_name;              /* NAME--incoming */
    char *force;                /* what an xlmig/1 sender forced */
    uint32_t domid;             /* our copy, HV_INVALID_DOMID if none */
    struct job_xs xs;           /* how the stream comes (xlmig/1) */
    double restore_s;           /* first frame to the restore's end */
    double t_unpaused;          /* when the domain was unpaused */
};

/* Whether the sender forced check id (it names them in PROCEED). */
static bool job_recv_forced(const struct job_recv *jr, const char *id)
{
    size_t n = strlen(id);
    const char *p = jr->force;

    while (p && *p) {
        if (!strncmp(p, id, n) && (p[n] == ',' || !p[n])) return true;
        p = strchr(p, ',');
        if (p) p++;
    }
    return false;
}

/* A host in maintenance mode takes no domains, from xl or xlmig alike. */
static int job_recv_maintenance(struct job_recv *jr)
{
    struct coord *co = NULL;
    char *reason = NULL;
    int rc;

    rc = coord_open(jr->job.ctx, &co);
    if (!rc) rc = coord_get_maintenance(co, &reason);
    coord_close(co);
    if (rc) return rc;
    if (reason && job_recv_forced(jr, "maintenance")) {
        LOG(jr->job.ctx, WARN, "in maintenance mode (%s), but the sender "
            "forced it", reason);
    } else if (reason) {
        LOG(jr->job.ctx, ERROR, "this host is in maintenance mode (%s): "
            "not taking %s", reason, jr->name);
        rc = XLMIG_E_BUSY;
    }
    free(reason);
    return rc;
}

static int job_recv_header(struct job_recv *jr)
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
    rc = proto_parse_optdata(opt, h.optional_data_len, &jr->json, &why);
    if (rc) LOG(ctx, ERROR, "%s", why);
out:
    free(opt);
    free(why);
    return rc;
}

static int job_recv_preflight(struct job_recv *jr)
{
    struct xlmig_ctx *ctx = jr->job.ctx;
    struct domcfg c;
    char *why = NULL;
    int rc;

    rc = hv_config_name(jr->hv, jr->json, &jr->name);
    if (rc) return rc;
    /* The guest's size, for progress; the backend validated the config. */
    memset(&c, 0, sizeof(c));
    if (!domcfg_parse(jr->json, &c, &why)) {
        jr->job.total_pages = c.max_memkb / 4;
        domcfg_dispose(&c);
    }
    free(why);
    if (jr->opts->debug)
        LOG(ctx, INFO, "received config of %s:\n%s", jr->name, jr->json);
    jr->in_name = xasprintf("%s--incoming", jr->name);
    job_phase(&jr->job, XLMIG_PHASE_PREFLIGHT, "receiving %s", jr->name);
    if (hv_name_in_use(jr->hv, jr->name) ||
        hv_name_in_use(jr->hv, jr->in_name)) {
        LOG(ctx, ERROR, "a domain named '%s' (or '%s') already exists on "
            "this host", jr->name, jr->in_name);
        return XLMIG_E_BUSY;
    }
    return job_recv_maintenance(jr);
}

/* xlmig/1: HELLO, then pre-flight requests until PROCEED or BYE. */
static int job_recv_x(struct job_recv *jr, bool *proceed_r)
{
    unsigned chosen;
    int rc;

    rc = job_x_hello_send(&jr->job, jr->opts->send_fd, jr->opts->xlmig_proto,
                          &chosen);
    if (rc) return rc;
    return job_x_serve(&jr->job, jr->hv, jr->opts->recv_fd,
                       jr->opts->send_fd, &jr->xs, proceed_r, &jr->force);
}

/*
 * The job's record and an incoming slot. The peer is the ssh client's
 * address when the sender came in over ssh.
 */
static int job_recv_register(struct job_recv *jr)
{
    const char *ssh = getenv("SSH_CLIENT");
    char peer[64] = "local";
    int rc;

    if (ssh && *ssh) snprintf(peer, sizeof(peer), "%.*s",
                              (int)strcspn(ssh, " "), ssh);
    rc = job_register(&jr->job, "recv", jr->name, NULL, peer, COORD_IN,
                      false);
    if (rc) LOGR(jr->job.ctx, ERROR, rc, "cannot admit %s on this host",
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

/* After GO: the domain is ours. Cancels are ignored from here on. */
static int job_recv_start(struct job_recv *jr)
{
    int rc;

    job_phase(&jr->job, XLMIG_PHASE_SWITCHOVER, "starting %s", jr->name);
    rc = hv_rename(jr->hv, jr->domid, jr->in_name, jr->name);
    if (rc) return rc;
    if (jr->opts->paused) {
        job_info(&jr->job, "leaving %s paused (-p)", jr->name);
        return XLMIG_OK;
    }
    rc = hv_unpause(jr->hv, jr->domid);
    if (!rc) jr->t_unpaused = ctx_now(jr->job.ctx);
    return rc;
}

/*
 * Sends the report; on failure destroys our copy first and then hands the
 * domain back to the sender with GO, as xl does.
 */
static int job_recv_report(struct job_recv *jr, int result)
{
    struct xlmig_ctx *ctx = jr->job.ctx;
    struct fdio_wait w = fdio_wait_make(jr->job.wait.timeout_s, -1);
    uint8_t status = result ? (uint8_t)(-result) : 0;
    int rc;

    if (result) job_recv_destroy(jr);
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

int xlmig_migrate_receive(struct xlmig_ctx *ctx,
                          const struct xlmig_receive_opts *opts,
                          uint32_t *domid_r)
{
    struct job_recv jr;
    bool go = false, proceed = false;
    int rc, rrc = XLMIG_OK;

    *domid_r = HV_INVALID_DOMID;
    memset(&jr, 0, sizeof(jr));
    job_init(&jr.job, ctx, opts->event_fn, opts->event_arg,
             opts->timeout_s, opts->cancel_fd);
    jr.opts = opts;
    jr.domid = HV_INVALID_DOMID;
    job_xs_init(&jr.xs);

    rc = ctx_hv(ctx, &jr.hv);
    if (rc) goto out;
    job_phase(&jr.job, XLMIG_PHASE_CONNECT, "ready to receive a domain");
    rc = job_write_msg(&jr.job, opts->send_fd, &proto_banner);
    if (rc) goto out;
    if (opts->xlmig_proto) {
        rc = job_recv_x(&jr, &proceed);
        /* A sender that only checks leaves here, nothing changed. */
        if (rc || !proceed) goto out;
    }
    rc = job_recv_header(&jr);
    if (rc) goto out;
    rc = job_recv_preflight(&jr);
    if (!rc) rc = job_recv_register(&jr);
    if (rc) goto out;
    rc = job_recv_transfer(&jr);
    if (rc) goto out;
    jr.job.jr.domid = jr.domid;
    job_journal(&jr.job);
    rc = job_write_msg(&jr.job, opts->send_fd, &proto_ready);
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
    go = true;
    jr.job.jr.go = true;
    job_journal(&jr.job);
    job_fault(&jr.job, "go");
    /* GO is the sender's commitment: a cancel that raced it is moot. */
    if (job_no_more_cancel(&jr.job, "the sender has handed the domain "
                           "over (GO received)"))
        LOG(ctx, INFO, "ignoring a cancel that came with GO");
    rc = job_recv_start(&jr);
    /* The sender learns when the guest ran again, for its downtime. */
    if (jr.xs.framed)
        rrc = job_xs_result_send(&jr.job, opts->send_fd, !rc,
                                 jr.t_unpaused ? ctx_now(ctx) -
                                 jr.t_unpaused : 0, jr.restore_s);
    /* A failed start still destroys our copy and hands the domain back. */
    if (!rrc || rc) {
        int rep_rc = job_recv_report(&jr, rc);

        if (!rrc) rrc = rep_rc;
    }
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
    *domid_r = jr.domid;
    jr.domid = HV_INVALID_DOMID;

out:
    if (rc) job_failed(&jr.job, rc);
    if (rc && !go) job_recv_destroy(&jr);
    /* Keep the journal if the sender may not know we run the domain. */
    job_unregister(&jr.job, go && !rc && rrc);
    free(jr.json);
    free(jr.name);
    free(jr.in_name);
    free(jr.force);
    job_xs_dispose(&jr.xs);
    return rc;
}
