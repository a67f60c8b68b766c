/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * job-send.c - the sending side of a migration, speaking xl's protocol
 * (research/libxl-api.md section 2) so that either end may be stock xl.
 *
 * Phases and what undoes them (DESIGN.md):
 *   admit       find the domain, refuse one that is mid-migration
 *   connect     start the transport, read the banner, send the config
 *   transfer    libxl saves into a pipe; the pump forwards it to the peer
 *   switchover  read "ready", rename to NAME--migratedaway, send GO
 *   commit      read the peer's report; destroy our copy
 * Before GO every failure leaves the domain running here: the peer gets
 * EOF and destroys its partial copy; we rename back and resume the guest
 * only if it really is suspended. GO is the point of no return: a failure
 * after it is XLMIG_E_UNSAFE and the result says where each copy is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fdio.h"
#include "hv.h"
#include "job.h"
#include "job-storage.h"
#include "preflight.h"
#include "proto.h"
#include "pump.h"
#include "transport.h"

#define JOB_SEND_AWAY_SUFFIX "--migratedaway"
#define JOB_SEND_IN_SUFFIX "--incoming"
#define JOB_SEND_REAP_S 2.0         /* as xl waits for its transport */

struct job_send {
    struct job job;
    const struct xlmig_migrate_opts *opts;
    const char *host;
    struct hv *hv;
    uint32_t domid;
    char *name;                 /* current name of the domain */
    char *away_name;            /* NAME--migratedaway once renamed */
    char *json;                 /* config sent to the receiver */
    struct transport tr;
    bool tr_open;
    bool handed_back;           /* receiver failed after GO, we resumed */
    unsigned offered;           /* xlmig/1 offered to the receiver */
    bool connected;             /* the receiver answered (banner) */
    unsigned peer_version;      /* xlmig/1 version negotiated; 0: xl's */
    unsigned peer_caps;         /* JOB_X_CAP_* of its HELLO */
    struct job_xs xs;           /* how the stream goes */
    char why_no_peer[160];      /* why xlmig/1 was not offered */
    struct pf_request req;      /* what the destination checks */
    struct pf_report checks;
    struct xlmig_migrate_result *res;
    struct job_storage *sto;    /* --storage: the disks that move */
    bool hooked;                /* pre-migrate went to the hooks */
    struct precopy_params pp;   /* the save's precopy policy */
    /* converge=throttle on a scheduler with caps: the domain's vCPUs and
     * its own cap, journaled before the save; restored after it. */
    bool throttle;
    unsigned vcpus, orig_cap;
};

static void job_send_unthrottle(struct job_send *js);

static bool job_send_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && !strcmp(s + n - m, suffix);
}

static int job_send_admit(struct job_send *js, const char *domain)
{
    struct xlmig_ctx *ctx = js->job.ctx;
    struct hv_dominfo info;
    unsigned flags = 0;
    int rc;

    rc = ctx_hv(ctx, &js->hv);
    if (rc) return rc;
    rc = hv_lookup(js->hv, domain, &js->domid);
    if (rc) {
        LOG(ctx, ERROR, "no domain '%s' on this host", domain);
        return rc;
    }
    rc = hv_domain_name(js->hv, js->domid, &js->name);
    if (rc) return rc;
    snprintf(js->res->name, sizeof(js->res->name), "%s", js->name);
    js->res->domid = js->domid;
    if (js->domid == 0) {
        LOG(ctx, ERROR, "domain 0 cannot be migrated");
        return XLMIG_E_INVAL;
    }
    if (job_send_has_suffix(js->name, JOB_SEND_AWAY_SUFFIX) ||
        job_send_has_suffix(js->name, JOB_SEND_IN_SUFFIX)) {
        LOG(ctx, ERROR, "domain '%s' is in the middle of a migration or "
            "left over by a failed one; not touching it", js->name);
        return XLMIG_E_BUSY;
    }
    rc = hv_domain_info(js->hv, js->domid, &info);
    if (rc) return rc;
    js->job.total_pages = info.current_memkb / 4;   /* KiB to pages */
    if (info.shutdown || info.dying) {
        LOG(ctx, ERROR, "domain '%s' is %s, not running", js->name,
            info.dying ? "dying" : "shut down");
        return XLMIG_E_INVAL;
    }
    if (js->opts->preserve_domid) flags |= HV_CONFIG_PRESERVE_DOMID;
    if (js->opts->config_file)
        rc = hv_config_load(js->hv, js->opts->config_file, flags,
                            &js->json);
    else
        rc = hv_config_get(js->hv, js->domid, flags, &js->json);
    return rc;
}

/* The job's record, the domain's lock and an outgoing slot (job.h). */
static int job_send_register(struct job_send *js)
{
    struct hv_dominfo info;
    char uuid[HV_UUID_STR_LEN];
    int rc;

    rc = hv_domain_info(js->hv, js->domid, &info);
    if (rc) return rc;
    hv_uuid_str(info.uuid, uuid);
    rc = job_register(&js->job, "send", js->name, uuid, js->host);
    if (rc) return rc;
    js->job.jr.domid = js->domid;
    return job_admit(&js->job, COORD_OUT, js->opts->no_wait, 0, -1);
}

/*
 * --storage: each disk's copy made in its SR and the config retargeted
 * (before pre-flight: the destination checks it sees the copies), then
 * every mirror in sync, before the receiver is started (it would wait
 * out the copy).
 */
static int job_send_storage(struct job_send *js)
{
    const struct xlmig_migrate_opts *o = js->opts;
    int rc;

    rc = job_storage_setup(&js->job, js->hv, js->domid, o->storage,
                           o->n_storage, o->keep_source, o->no_wait,
                           &js->json, &js->sto);
    if (!rc && job_storage_any(js->sto)) {
        js->res->disks_moved = (unsigned)js->job.jr.n_disks;
        rc = job_storage_mirror(js->sto);
    }
    return rc;
}

/*
 * Offers xlmig/1 only to a receiver we start ourselves as xlmig: a stock
 * xl there would take the option for a mistake.
 */
static unsigned job_send_offer(struct job_send *js)
{
    const struct xlmig_migrate_opts *o = js->opts;
    const char *prog = o->receiver_program, *base;

    if (o->ssh_command && !*o->ssh_command) {
        snprintf(js->why_no_peer, sizeof(js->why_no_peer), "the receiver "
                 "command was given whole (-s ''), so xlmig/1 was not "
                 "offered");
        return 0;
    }
    base = prog ? strrchr(prog, '/') : NULL;
    base = base ? base + 1 : prog;
    if (base && strcmp(base, "xlmig")) {
        snprintf(js->why_no_peer, sizeof(js->why_no_peer), "the receiver "
                 "is %.64s, not xlmig (stock xl speaks only xl's protocol)",
                 prog);
        return 0;
    }
    return PROTO_X_VERSION;
}

/* What pre-flight looks at. */
static void job_send_pf(struct job_send *js, bool check_only,
                        struct job_x_pf *p)
{
    *p = (struct job_x_pf){
        .hv = js->hv, .domid = js->domid, .name = js->name,
        .host = js->host, .json = js->json, .force = js->opts->force,
        .check_only = check_only, .peer_version = js->peer_version,
        .peer_caps = js->peer_caps,
        .why_no_peer = js->why_no_peer[0] ? js->why_no_peer : NULL,
        .send_fd = js->tr.send_fd, .recv_fd = js->tr.recv_fd,
        .req = &js->req, .xs = &js->xs,
    };
}

/*
 * Starts the receiver. ssh takes a while (seconds on a loaded dom0), so
 * it starts first and the admission and the source's checks run while it
 * connects; the receiver waits for the PREFLIGHT, changing nothing.
 */
static int job_send_start(struct job_send *js)
{
    const struct xlmig_migrate_opts *o = js->opts;
    struct transport_opts to = {
        .ssh_command = o->ssh_command, .host = js->host,
        .program = o->receiver_program, .no_monitor = o->no_monitor,
        .debug = o->debug, .paused = o->paused,
        .xlmig_proto = job_send_offer(js), .timeout_s = o->timeout_s,
    };
    int rc;

    js->offered = to.xlmig_proto;
    rc = transport_open(js->job.ctx, &to, &js->tr);
    if (!rc) js->tr_open = true;
    return rc;
}

/* A receiver started early must not sit through the admission queue (it
 * would give up): it is stopped, and started again once admitted. */
static void job_send_queued(struct job *job)
{
    struct job_send *js = (struct job_send *)job;   /* job is first */

    if (!js->tr_open || js->connected) return;
    transport_close(job->ctx, &js->tr, 0);
    js->tr_open = false;
}

/*
 * The receiver (started now if not yet), the source's checks while it
 * connects, then its banner (and HELLO, if offered).
 */
static int job_send_connect(struct job_send *js, bool check_only)
{
    struct job_x_pf p;
    int rc;

    if (!js->tr_open) {
        rc = job_send_start(js);
        if (rc) return rc;
    }
    job_phase(&js->job, XLMIG_PHASE_CONNECT, "%s", js->tr.rune);
    job_send_pf(js, check_only, &p);
    rc = job_x_source(&js->job, &p, &js->checks);
    if (rc) return rc;
    rc = job_read_msg(&js->job, js->tr.recv_fd, &proto_banner);
    if (rc) {
        LOG(js->job.ctx, ERROR, "no migration receiver answered (command "
            "run was: %s)", js->tr.rune);
        return rc;
    }
    js->connected = true;
    if (js->offered)
        rc = job_x_hello_read(&js->job, js->tr.recv_fd, &js->peer_version,
                              &js->peer_caps);
    return rc;
}

/* The destination's checks, the stream settled beside them, the hooks. */
static int job_send_preflight(struct job_send *js, bool check_only)
{
    struct job_x_pf p;
    int rc, brc;

    job_send_pf(js, check_only, &p);
    rc = job_x_preflight(&js->job, &p, &js->checks);
    /* The admin's pre-migrate hooks have the last word, checks passed. */
    if (!rc && !check_only) {
        js->hooked = true;
        rc = job_hook(&js->job, HOOKS_PRE_MIGRATE, "source", XLMIG_OK,
                      js->domid, js->json);
    }
    if (js->peer_version && (rc || check_only)) {
        /* The receiver ends its session at once, with nothing changed
         * (and logs a migration its policy stopped, not a check). */
        brc = job_x_write(&js->job, js->tr.send_fd, PROTO_X_BYE,
                          check_only ? JOB_X_BYE_CHECKED
                          : js->hooked ? "vetoed by a pre-migrate hook"
                                       : "pre-flight checks failed");
        if (!rc) rc = brc;
    }
    return rc;
}

/* xl's protocol from here: the saved-config header and the config. */
static int job_send_header(struct job_send *js)
{
    struct buf *b = buf_new(PROTO_OPTDATA_MAX + PROTO_SAVE_HDR_LEN);
    int rc = XLMIG_OK;

    /* PROCEED names what we forced, so the receiver does not refuse it. */
    if (js->peer_version)
        rc = job_x_write(&js->job, js->tr.send_fd, PROTO_X_PROCEED,
                         js->opts->force ? js->opts->force : "");
    if (rc) goto out;
    rc = proto_put_save(b, js->json);
    if (rc) {
        LOGR(js->job.ctx, ERROR, rc, "cannot encode the domain config");
        goto out;
    }
    rc = fdio_write_all(js->job.ctx, js->tr.send_fd, buf_ptr(b), buf_len(b),
                        &js->job.wait, "domain config");
out:
    buf_free(b);
    return rc;
}

/*
 * libxl writes the stream into a pipe; the pump forwards it to the peer.
 * The stream ends with libxl's END record and the pipe is then ours again.
 */
static int job_send_transfer(struct job_send *js)
{
    struct xlmig_ctx *ctx = js->job.ctx;
    struct pump_opts po = {
        .out_fd = js->tr.send_fd, .wait = js->job.wait,
        .in_what = "stream from libxl", .out_what = "stream to receiver",
        .limit = js->opts->bandwidth,
        .hold = job_storage_any(js->sto) ? job_storage_hold : NULL,
        .hold_arg = js->sto,
    };
    char num[24];
    const char *fault;
    struct hv_wait w;
    unsigned flags = HV_SAVE_LIVE;
    int lpipe[2] = { -1, -1 };
    int rc, prc;

    job_phase(&js->job, XLMIG_PHASE_TRANSFER, "live memory copy of %s%s",
              js->name, po.limit ? " (bandwidth limited)" : "");
    if (js->job.journal_rc) return js->job.journal_rc;
    /* The limit in the record is what job-set changes. */
    js->job.limit = po.limit;
    snprintf(num, sizeof(num), "%llu", (unsigned long long)po.limit);
    if (js->job.coord && coord_job_set(js->job.coord, js->job.id,
                                       "bandwidth", num))
        LOG(ctx, WARN, "job %s: bandwidth not recorded", js->job.id);
    if (js->xs.framed) {
        rc = job_xs_send_open(&js->job, &js->xs, js->tr.send_fd,
                              &po.out_fd);
        if (rc) return rc;
        po.enc = js->xs.enc;
        po.codec = js->xs.codec;
        fault = getenv("XLMIG_FAULT_STREAM");
        if (fault && !strncmp(fault, "corrupt:", 8))
            po.fault_frame = strtoul(fault + 8, NULL, 10);
        po.out_what = js->xs.tcp ? "data connection" : po.out_what;
        /* The receiver's PROGRESS comes on the control channel. */
        js->job.x_ctl_fd = js->tr.recv_fd;
    }
    if (fdio_pipe(ctx, lpipe)) return XLMIG_E_SYSTEM;
    po.in_fd = lpipe[0];
    rc = pump_start(ctx, &po, &js->job.pump);
    if (rc) goto out;
    if (js->opts->debug) flags |= HV_SAVE_DEBUG;
    if (js->opts->no_live) flags &= ~HV_SAVE_LIVE;
    job_hv_wait(&js->job, &w);
    if (flags & HV_SAVE_LIVE) {
        w.precopy = &js->pp;
        w.throttle_vcpus = js->throttle ? js->vcpus : 0;
        w.orig_cap = js->orig_cap;
    }
    rc = hv_save(js->hv, js->domid, lpipe[1], flags, &w);
    /* A save the policy gave up on (libxc says only that it failed). */
    if (rc && js->job.precopy.action == PRECOPY_ABORT) rc = XLMIG_E_CONVERGE;
    job_send_unthrottle(js);
    /* Stopped before the stream's end is seen: it ends mid-record. */
    if (rc) pump_stop(js->job.pump);
    fdio_close(&lpipe[1]);
    prc = pump_join(js->job.pump);
    /* A pump failure is what made libxl stop: it is the cause, unless
     * the policy stopped the save (its stream is cut short then). */
    if (prc && prc != XLMIG_E_CANCELLED && rc != XLMIG_E_CONVERGE) rc = prc;
    else if (!rc) rc = prc;
    if (!rc && po.hold && !pump_held(js->job.pump)) {
        LOG(ctx, ERROR, "the stream ended before the guest's memory did: "
            "the disks' copies were never stopped");
        rc = XLMIG_E_PROTO;
    }
    if (!rc && po.hold)
        job_info(&js->job, "the disks' copies were complete %.0f ms after "
                 "the guest's memory", job_storage_held(js->sto) * 1e3);
    /* The receiver's last PROGRESS: it has every frame. */
    if (!rc && js->xs.framed) rc = job_xs_drain(&js->job, js->xs.data_fd);
    js->job.x_ctl_fd = -1;
    job_progress(&js->job, true);
    pump_progress(js->job.pump, &js->res->progress);
    js->res->progress.suspended = js->job.suspended;
    job_progress_precopy(&js->job, &js->res->progress);
    js->res->transfer_s = pump_transfer_time(js->job.pump);
out:
    pump_free(js->job.pump);
    js->job.pump = NULL;
    fdio_close_pair(lpipe);
    fdio_close(&js->xs.data_fd);
    return rc;
}

/* Up to GO: "ready", rename away, GO. Returns whether GO went out. */
static int job_send_switchover(struct job_send *js, bool *go_sent_r)
{
    struct xlmig_ctx *ctx = js->job.ctx;
    int rc;

    *go_sent_r = false;
    job_phase(&js->job, XLMIG_PHASE_SWITCHOVER,
              "waiting for the receiver to take %s", js->name);
    if (js->job.journal_rc) return js->job.journal_rc;
    rc = job_read_msg(&js->job, js->tr.recv_fd, &proto_ready);
    if (rc) {
        LOG(ctx, ERROR, "receiver did not confirm the transfer");
        return rc;
    }
    js->away_name = xasprintf("%s" JOB_SEND_AWAY_SUFFIX, js->name);
    rc = hv_rename(js->hv, js->domid, js->name, js->away_name);
    if (rc) {
        free(js->away_name);
        js->away_name = NULL;
        return rc;
    }
    /*
     * Point of no return: once GO may have reached the receiver it may run
     * the domain, so from here on we never resume our copy on our own.
     * Cancels end here, and GO goes only once the journal says so: a crash
     * after it is for recover, which must find it.
     */
    rc = job_no_more_cancel(&js->job, "past the point of no return: the "
                            "destination may already run the domain");
    if (rc) return rc;
    js->job.jr.go = true;
    js->job.jr.suspended = js->job.suspended;
    rc = job_journal(&js->job);
    if (rc) {
        js->job.jr.go = false;
        return rc;
    }
    job_fault(&js->job, "journaled");
    *go_sent_r = true;
    rc = job_write_msg(&js->job, js->tr.send_fd, &proto_go);
    job_fault(&js->job, "go");
    return rc;
}

/* After GO: the receiver's report decides who owns the domain. */
static int job_send_commit(struct job_send *js)
{
    struct xlmig_ctx *ctx = js->job.ctx;
    double since_unpause = 0, restore_s = 0, t_result = 0, t_down;
    uint8_t status;
    bool resumed, got = false, ok = false;
    int rc = XLMIG_OK;

    if (js->xs.framed) {
        rc = job_xs_result_read(&js->job, js->tr.recv_fd, &got, &ok,
                                &since_unpause, &restore_s);
        t_result = ctx_now(ctx);
    }
    if (!rc) rc = job_read_msg(&js->job, js->tr.recv_fd, &proto_report);
    if (!rc)
        rc = job_read(&js->job, js->tr.recv_fd, &status, 1, "report status");
    if (rc) return XLMIG_E_UNSAFE;
    if (status) {
        LOG(ctx, ERROR, "receiver failed to start the domain (status %u)",
            status);
        /* The receiver destroys its copy, then hands the domain back. */
        rc = job_read_msg(&js->job, js->tr.recv_fd, &proto_go);
        if (rc) return XLMIG_E_UNSAFE;
        job_info(&js->job, "receiver destroyed its copy and gave %s back",
                 js->name);
        rc = hv_rename(js->hv, js->domid, js->away_name, js->name);
        if (rc) return XLMIG_E_UNSAFE;
        free(js->away_name);
        js->away_name = NULL;
        rc = hv_resume_if_suspended(js->hv, js->domid, &resumed);
        if (rc) return XLMIG_E_UNSAFE;
        js->handed_back = true;
        js->res->where = XLMIG_WHERE_SOURCE;
        job_info(&js->job, "resumed %s here", js->name);
        return XLMIG_E_PEER;
    }
    js->res->where = XLMIG_WHERE_DEST;
    /*
     * Downtime: from asking the guest to suspend here (its own freeze
     * counts) to the unpause there. An xlmig receiver says how long
     * before its RESULT it unpaused; what is left is the RESULT's way
     * here. Otherwise: up to the report.
     */
    if (js->job.suspended && js->job.t_suspend_asked) {
        t_down = js->job.t_suspend_asked;
        js->res->suspend_s = js->job.t_suspended - t_down;
    } else {
        t_down = js->job.t_suspended;
    }
    if (got && ok && t_result && js->job.suspended) {
        js->res->downtime_s = t_result - t_down - since_unpause;
        js->res->restore_s = restore_s;
        js->res->downtime_measured = true;
        if (js->job.precopy.round)
            job_fixed_measured(&js->job, js->host, js->res->downtime_s,
                               js->res->progress.bytes -
                                   js->job.bytes_suspended,
                               js->job.precopy.link_rate);
    } else {
        js->res->downtime_s = js->job.suspended ? ctx_now(ctx) - t_down : 0;
    }
    job_phase(&js->job, XLMIG_PHASE_COMMIT,
              "receiver runs %s; destroying the copy here", js->name);
    rc = hv_destroy(js->hv, js->domid);
    if (rc)
        LOG(ctx, ERROR, "migration succeeded but the old copy %s (domain "
            "%u) could not be destroyed here; destroy it by hand",
            js->away_name, js->domid);
    /* The receiver keeps its journal until it hears we let go. */
    if (js->peer_version &&
        job_x_write(&js->job, js->tr.send_fd, PROTO_X_DONE, ""))
        LOG(ctx, WARN, "the receiver did not get our word that the copy "
            "here is gone: its journal stays until xlmig recover here");
    return rc;
}

/*
 * The save's precopy policy, and with converge=throttle the domain's own
 * scheduler cap, journaled before anything may lower it: a crash while it
 * is throttled leaves recover the cap to put back. A scheduler without
 * caps (null, RTDS) cannot throttle: the policy then stops as force does,
 * and says so.
 */
static int job_send_precopy(struct job_send *js)
{
    struct xlmig_ctx *ctx = js->job.ctx;
    bool capable = false;
    int rc;

    rc = job_precopy_params(ctx, js->opts, &js->pp);
    js->pp.fixed_ms = job_fixed_ms(&js->job, js->host);
    if (rc || js->opts->no_live ||
        js->pp.converge != PRECOPY_CONVERGE_THROTTLE)
        return rc;
    /* Not knowing the cap only means not throttling (logged). */
    rc = hv_sched_cap_get(js->hv, js->domid, &capable, &js->orig_cap,
                          &js->vcpus);
    if (rc || !capable) {
        job_info(&js->job, "%s's scheduler cap %s: it cannot be "
                 "throttled if it does not converge", js->name,
                 rc ? "cannot be read" : "does not exist");
        return XLMIG_OK;
    }
    js->job.jr.throttle = true;
    js->job.jr.sched_cap = js->orig_cap;
    rc = job_journal(&js->job);
    if (rc) {
        js->job.jr.throttle = false;
        return rc;
    }
    js->throttle = true;
    return XLMIG_OK;
}

/* The domain's own cap back after the save, however it ended. */
static void job_send_unthrottle(struct job_send *js)
{
    unsigned was;

    if (!js->throttle) return;
    if (hv_sched_cap_restore(js->hv, js->domid, js->orig_cap, &was))
        LOG(js->job.ctx, ERROR, "%s's scheduler cap could not be put back "
            "to %u: set it with xl sched-credit2 (or sched-credit) -d %s "
            "-c %u", js->name, js->orig_cap, js->name, js->orig_cap);
    else if (was != js->orig_cap || js->job.precopy.throttle)
        job_info(&js->job, "%s's scheduler cap is %u again", js->name,
                 js->orig_cap);
}

/*
 * Before GO: make the domain run here as it did. The receiver sees our end
 * of the transport close and destroys what it has.
 */
static void job_send_rollback(struct job_send *js)
{
    struct xlmig_ctx *ctx = js->job.ctx;
    bool resumed = false;
    int rc;

    if (!js->hv || js->domid == HV_INVALID_DOMID) return;
    job_phase(&js->job, XLMIG_PHASE_ROLLBACK, "keeping %s on this host",
              js->name ? js->name : "the domain");
    /* Our end closes first: the receiver learns at once, and it never
     * unpauses without GO, so resuming here cannot run the guest twice. */
    if (js->tr_open) transport_hangup(&js->tr);
    if (js->away_name) {
        rc = hv_rename(js->hv, js->domid, js->away_name, js->name);
        if (rc)
            LOG(ctx, ERROR, "could not rename %s back to %s",
                js->away_name, js->name);
    }
    rc = hv_resume_if_suspended(js->hv, js->domid, &resumed);
    if (rc) {
        LOG(ctx, ERROR, "domain %s (%u) is suspended here and could not be "
            "resumed", js->name, js->domid);
        js->res->where = XLMIG_WHERE_UNKNOWN;
        return;
    }
    if (resumed) job_info(&js->job, "resumed %s here", js->name);
    js->res->where = XLMIG_WHERE_SOURCE;
}

static void job_send_report_unsafe(struct job_send *js)
{
    LOG(js->job.ctx, ERROR, "failure after the point of no return: %s "
        "(domain %u) is suspended here as %s and may be running on %s; "
        "check both hosts and resume at most one copy", js->name, js->domid,
        js->away_name ? js->away_name : js->name, js->host);
    js->res->where = XLMIG_WHERE_UNKNOWN;
}

/* Whether domain is not running here (a cold migration, with --config). */
static bool job_send_halted(struct xlmig_ctx *ctx, const char *domain)
{
    struct hv *hv;
    uint32_t domid;

    return !ctx_hv(ctx, &hv) &&
           hv_lookup(hv, domain, &domid) == XLMIG_E_NOTFOUND;
}

int xlmig_migrate(struct xlmig_ctx *ctx, const char *domain,
                  const char *host, const struct xlmig_migrate_opts *opts,
                  struct xlmig_migrate_result *res)
{
    struct xlmig_migrate_result dummy;
    struct job_send js;
    bool go_sent = false, disks_settled = true;
    int rc;

    if (!res) res = &dummy;
    memset(res, 0, sizeof(*res));
    if (opts->config_file && job_send_halted(ctx, domain))
        return job_cold_send(ctx, domain, host, opts, res);
    memset(&js, 0, sizeof(js));
    job_init(&js.job, ctx, opts->event_fn, opts->event_arg,
             opts->timeout_s, opts->cancel_fd);
    js.opts = opts;
    js.host = host;
    js.res = res;
    js.domid = HV_INVALID_DOMID;
    res->where = XLMIG_WHERE_SOURCE;
    transport_init(&js.tr);

    job_phase(&js.job, XLMIG_PHASE_ADMIT, "%s to %s", domain, host);
    rc = job_xs_parse(ctx, opts, &js.xs);
    /* Not before disks move (minutes): the receiver would give up; and
     * only an xlmig receiver, started by us: a command given whole (a
     * one-shot socat) must not be run twice if the job has to queue. */
    js.job.queued_fn = job_send_queued;
    if (!rc && !opts->n_storage && job_send_offer(&js))
        rc = job_send_start(&js);
    if (!rc) rc = job_send_admit(&js, domain);
    if (!rc) rc = job_storage_real_paths(ctx, &js.json);
    if (!rc) rc = job_send_register(&js);
    if (!rc && opts->n_storage)
        rc = job_send_storage(&js);
    if (!rc) rc = job_send_precopy(&js);
    if (rc) goto fail;
    rc = job_send_connect(&js, false);
    if (!rc) rc = js.job.journal_rc;
    if (!rc) rc = job_send_preflight(&js, false);
    if (!rc) rc = js.job.journal_rc;
    if (!rc) rc = job_send_header(&js);
    if (rc) goto fail;
    rc = job_send_transfer(&js);
    if (rc) goto fail;
    rc = job_send_switchover(&js, &go_sent);
    if (rc) goto fail;
    rc = job_send_commit(&js);
    if (rc) goto fail;
    if (!job_storage_commit(js.sto)) {
        LOG(ctx, WARN, "%s runs on %s, but the sources of its disks are "
            "not all removed here: xlmig recover removes them", js.name,
            host);
        disks_settled = false;
    }
    job_phase(&js.job, XLMIG_PHASE_DONE, "%s runs on %s", js.name, host);
    goto out;

fail:
    res->failed_phase = js.job.phase;
    job_failed(&js.job, rc);
    if (!go_sent) {
        job_send_rollback(&js);
    } else if (res->where != XLMIG_WHERE_DEST && !js.handed_back) {
        rc = XLMIG_E_UNSAFE;
        job_send_report_unsafe(&js);
    }
    /* The guest runs here on its sources: the copies go. */
    if ((!go_sent || js.handed_back) && !job_storage_rollback(js.sto))
        disks_settled = false;
out:
    res->total_s = job_elapsed(&js.job);
    /* A receiver that never answered is stopped at once: it has nothing
     * to say (that the sender left before its PREFLIGHT). */
    if (js.tr_open)
        transport_close(ctx, &js.tr, js.connected ? JOB_SEND_REAP_S : 0);
    /* The journal stays while the domain's owner is in doubt (recover),
     * or its disks are not settled. */
    job_storage_free(js.sto);
    /* Hooks heard of it (pre-migrate): they hear how it ended. */
    if (js.hooked)
        (void)!job_hook(&js.job, job_hook_end(rc, HOOKS_POST_MIGRATE),
                        "source", rc, js.domid, js.json);
    job_unregister(&js.job, res->where == XLMIG_WHERE_UNKNOWN ||
                                !disks_settled);
    free(js.name);
    free(js.away_name);
    free(js.json);
    pf_report_dispose(&js.checks);
    pf_request_dispose(&js.req);
    job_xs_dispose(&js.xs);
    return rc;
}

int xlmig_check(struct xlmig_ctx *ctx, const char *domain, const char *host,
                const struct xlmig_migrate_opts *opts,
                struct xlmig_check_report *rep)
{
    struct xlmig_migrate_result res;
    struct job_send js;
    size_t i;
    int rc;

    memset(rep, 0, sizeof(*rep));
    memset(&res, 0, sizeof(res));
    memset(&js, 0, sizeof(js));
    job_init(&js.job, ctx, opts->event_fn, opts->event_arg,
             opts->timeout_s, opts->cancel_fd);
    js.opts = opts;
    js.host = host;
    js.res = &res;
    js.domid = HV_INVALID_DOMID;
    transport_init(&js.tr);

    rc = job_xs_parse(ctx, opts, &js.xs);
    if (!rc) rc = job_send_start(&js);
    if (!rc) rc = job_send_admit(&js, domain);
    if (!rc) rc = job_storage_real_paths(ctx, &js.json);
    if (!rc) rc = job_send_connect(&js, true);
    if (!rc) rc = job_send_preflight(&js, true);
    /* Failed checks are the answer, not a failure to check. */
    if (rc == XLMIG_E_PREFLIGHT) rc = XLMIG_OK;
    snprintf(rep->domain, sizeof(rep->domain), "%s",
             js.name ? js.name : domain);
    snprintf(rep->peer, sizeof(rep->peer), "%s",
             js.peer_version ? "xlmig/1" : "xl");
    for (i = 0; i < js.checks.n; i++)
        if (js.checks.r[i].destination &&
            strcmp(js.checks.r[i].id, "destination-checks"))
            rep->destination_checked = true;
    rep->errors = pf_errors(&js.checks);
    rep->memory_known = js.checks.mem_known;
    rep->memory_need_kib = js.checks.mem_need_kb;
    rep->memory_free_kib = js.checks.mem_free_kb;
    rep->n = js.checks.n;
    rep->results = js.checks.r;
    pf_report_init(&js.checks);
    if (js.tr_open)
        transport_close(ctx, &js.tr, js.connected ? JOB_SEND_REAP_S : 0);
    free(js.name);
    free(js.json);
    pf_request_dispose(&js.req);
    job_xs_dispose(&js.xs);
    return rc;
}

void xlmig_check_report_dispose(struct xlmig_check_report *rep)
{
    struct pf_report r = { .r = rep->results, .n = rep->n, .alloc = rep->n };

    pf_report_dispose(&r);
    memset(rep, 0, sizeof(*rep));
}
