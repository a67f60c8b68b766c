/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * recover.c - `xlmig recover`: brings every interrupted migration on this
 * host to exactly one running copy, from the journals (journal.c) of jobs
 * whose process is gone and the domains present, found by their uuid.
 *
 * What a journal and the domains say, and what is done:
 *   send, no GO     the guest never left: NAME--migratedaway is renamed
 *                   back, a suspended guest resumed
 *   send, GO        the receiver may have it: ask the peer (`xlmig recover
 *                   --query UUID` over ssh). It runs there, or its journal
 *                   says GO came: destroy ours, then tell the peer to drop
 *                   that journal (--release). Absent there, and never
 *                   handed over: rename back and resume ours. Still
 *                   NAME--incoming there without GO: the peer must recover
 *                   first (left pending, exit status 3)
 *   recv, no GO     the sender kept it: destroy NAME--incoming
 *   recv, GO        it is ours: rename NAME--incoming to NAME, unpause
 *                   (unless -p asked otherwise); the journal then stays,
 *                   marked done, until the sender's recover releases it,
 *                   so that the answer stays "taken" even if the guest
 *                   stops here meanwhile
 * Recovering the receiving host first settles a pending sender.
 * Storage moves (kind "storage") are recovered by storage-recover.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "coord.h"
#include "domcfg.h"
#include "hv.h"
#include "job-storage.h"
#include "journal.h"
#include "storage-move.h"

#define RECOVER_QUERY_TIMEOUT_S 60
#define RECOVER_AWAY_SUFFIX "--migratedaway"
#define RECOVER_IN_SUFFIX "--incoming"
#define RECOVER_PHASE_DONE "done"

struct recover {
    struct xlmig_ctx *ctx;
    struct hv *hv;
    const struct xlmig_recover_opts *o;
    unsigned done, pending, failed, kept;
};

static void recover_say(struct recover *r, const char *fmt, ...)
    PRINTF_LIKE(2, 3);

static void recover_say(struct recover *r, const char *fmt, ...)
{
    char *line = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&line, fmt, ap) < 0) line = NULL;
    va_end(ap);
    LOG(r->ctx, INFO, "%s", line ? line : "");
    if (line && r->o && r->o->report) r->o->report(r->o->report_arg, line);
    free(line);
}

/* A uuid as our journals and hv_uuid_str() write it (lower case): the
 * one word of a peer's that goes through the shells. */
static bool recover_uuid_ok(const char *s)
{
    return domcfg_uuid_ok(s) && strspn(s, "0123456789abcdef-") == 36;
}

/*
 * The domain of the journal here: by its uuid (which survives renames and
 * names reused by others), or by its names when the journal has none.
 * HV_INVALID_DOMID if none; *name_r (allocated) its current name.
 */
static uint32_t recover_find(struct recover *r, const struct journal_rec *j,
                             char **name_r)
{
    char *in = xasprintf("%s" RECOVER_IN_SUFFIX, j->name);
    char *away = xasprintf("%s" RECOVER_AWAY_SUFFIX, j->name);
    uint32_t domid = HV_INVALID_DOMID;
    struct hv_domain *list = NULL;
    char u[HV_UUID_STR_LEN];
    size_t n = 0, i;

    *name_r = NULL;
    if (hv_list(r->hv, &list, &n)) n = 0;
    for (i = 0; i < n && domid == HV_INVALID_DOMID; i++) {
        hv_uuid_str(list[i].info.uuid, u);
        if (j->uuid[0] ? !strcmp(u, j->uuid)
                       : !strcmp(list[i].name, j->name) ||
                         !strcmp(list[i].name, in) ||
                         !strcmp(list[i].name, away)) {
            domid = list[i].domid;
            *name_r = xstrdup(list[i].name);
        }
    }
    hv_list_free(list, n);
    free(in);
    free(away);
    return domid;
}

static bool recover_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n > m && !strcmp(s + n - m, suffix);
}

/* The domain found, back under its own name (if it was renamed). */
static int recover_rename_back(struct recover *r, const struct journal_rec *j,
                               uint32_t domid, const char *name,
                               const char *suffix, bool *renamed_r)
{
    *renamed_r = false;
    if (!recover_has_suffix(name, suffix)) return XLMIG_OK;
    *renamed_r = true;
    return hv_rename(r->hv, domid, name, j->name);
}

static int recover_resume_here(struct recover *r, const struct journal_rec *j,
                               uint32_t domid, const char *name)
{
    bool resumed = false, renamed = false;
    int rc = XLMIG_OK;

    if (domid == HV_INVALID_DOMID) {
        recover_say(r, "%s: %s is not on this host (nothing to do)", j->id,
                    j->name);
        return XLMIG_OK;
    }
    rc = recover_rename_back(r, j, domid, name, RECOVER_AWAY_SUFFIX,
                             &renamed);
    if (!rc) rc = hv_resume_if_suspended(r->hv, domid, &resumed);
    if (rc)
        recover_say(r, "%s: could not bring %s back on this host: %s", j->id,
                    j->name, xlmig_strerror(rc));
    else
        recover_say(r, "%s: %s runs here%s%s", j->id, j->name,
                    renamed ? ", renamed back" : "",
                    resumed ? ", resumed" : "");
    return rc;
}

/* Runs "ssh PEER xlmig recover ARG UUID" and returns its first line. The
 * words for the peer's shell are ours and checked: no quoting to get
 * wrong twice. */
static int recover_peer_run(struct recover *r, const struct journal_rec *j,
                            const char *arg, char **out_r)
{
    const char *ssh = r->o->ssh_command ? r->o->ssh_command : "ssh";
    char *argv[] = { (char *)"/bin/sh", (char *)"-c", NULL, NULL };
    char *cmd;
    int rc;

    *out_r = NULL;
    if (!recover_uuid_ok(j->uuid) || j->peer[0] == '-' ||
        j->peer[strspn(j->peer, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
                       "QRSTUVWXYZ0123456789.:_@[]-")]) {
        LOG(r->ctx, ERROR, "job %s: peer '%s' or uuid '%s' is not one recover "
            "can ask about", j->id, j->peer, j->uuid);
        return XLMIG_E_INVAL;
    }
    if (*ssh)
        cmd = xasprintf("exec %s %s xlmig recover %s %s", ssh, j->peer, arg,
                        j->uuid);
    else
        cmd = xasprintf("exec %s recover %s %s", j->peer, arg, j->uuid);
    argv[2] = cmd;
    rc = child_capture(r->ctx, "peer query", argv, 64,
                       RECOVER_QUERY_TIMEOUT_S, out_r);
    if (!rc) (*out_r)[strcspn(*out_r, "\n")] = '\0';
    free(cmd);
    return rc;
}

/* What the peer has of the domain: "running", "incoming", "taken" (its
 * journal says GO came; the guest may have stopped since) or "absent". */
static int recover_ask_peer(struct recover *r, const struct journal_rec *j,
                            char **state_r)
{
    char *out = NULL, *uuid;
    int rc;

    *state_r = NULL;
    rc = recover_peer_run(r, j, "--query", &out);
    if (rc) return rc;
    uuid = strchr(out, ' ');
    if (uuid) *uuid++ = '\0';
    if ((strcmp(out, "running") && strcmp(out, "incoming") &&
         strcmp(out, "taken") && strcmp(out, "absent")) ||
        (strcmp(out, "absent") && (!uuid || strcmp(uuid, j->uuid)))) {
        LOG(r->ctx, ERROR, "peer %s answered '%.40s'", j->peer, out);
        free(out);
        return XLMIG_E_PROTO;
    }
    *state_r = out;
    return XLMIG_OK;
}

static void recover_line(void *arg, const char *line);

/* The disks a migration moved (--storage) follow the domain: forward
 * if it left for good, else back onto their sources. */
static int recover_send_disks(struct recover *r, const struct journal_rec *j,
                              bool forward)
{
    return job_storage_recover(r->ctx, j, forward, recover_line, r);
}

/* A guest the precopy policy may have throttled gets its own cap back. */
static void recover_unthrottle(struct recover *r, const struct journal_rec *j,
                               uint32_t here)
{
    unsigned cap;
    int rc;

    if (!j->throttle || here == HV_INVALID_DOMID) return;
    /* Silent where there was nothing to put back, or no cap to read. */
    rc = hv_sched_cap_restore(r->hv, here, j->sched_cap, &cap);
    if (cap == HV_CAP_UNKNOWN || cap == j->sched_cap) return;
    if (rc)
        recover_say(r, "%s: %s's scheduler cap could not be put back to %u "
                    "(it is %u): %s", j->id, j->name, j->sched_cap, cap,
                    xlmig_strerror(rc));
    else
        recover_say(r, "%s: %s's scheduler cap put back to %u (it was "
                    "throttled to %u)", j->id, j->name, j->sched_cap, cap);
}

static int recover_send(struct recover *r, const struct journal_rec *j)
{
    char *name = NULL, *peer = NULL, *out = NULL;
    uint32_t here = recover_find(r, j, &name);
    int rc;

    recover_unthrottle(r, j, here);

    if (!j->go) {
        rc = recover_resume_here(r, j, here, name);
        if (!rc) rc = recover_send_disks(r, j, false);
        goto out;
    }
    if (here == HV_INVALID_DOMID) {
        recover_say(r, "%s: %s already left this host", j->id, j->name);
        rc = recover_send_disks(r, j, true);
        goto out;
    }
    if (strchr(j->peer, ' ')) {
        recover_say(r, "%s: %s may run on the host of '%s', given as a "
                    "command (migrate -s ''), which recover cannot ask: "
                    "check there, then destroy or resume %s here", j->id,
                    j->name, j->peer, name);
        rc = XLMIG_E_UNSAFE;
        goto out;
    }
    rc = recover_ask_peer(r, j, &peer);
    if (rc) {
        recover_say(r, "%s: %s may run on %s but it cannot be asked (%s); "
                    "left as it is", j->id, j->name, j->peer,
                    xlmig_strerror(rc));
        rc = XLMIG_E_UNSAFE;
        goto out;
    }
    if (!strcmp(peer, "running") || !strcmp(peer, "taken")) {
        rc = hv_destroy(r->hv, here);
        if (rc) goto out;
        recover_say(r, "%s: %s was handed over to %s (%s there); destroyed "
                    "the copy here", j->id, j->name, j->peer, peer);
        rc = recover_send_disks(r, j, true);
        if (recover_peer_run(r, j, "--release", &out))
            recover_say(r, "%s: %s could not be told to drop its journal of "
                        "%s: run xlmig recover --release %s there", j->id,
                        j->peer, j->name, j->uuid);
    } else if (!strcmp(peer, "absent")) {
        rc = recover_resume_here(r, j, here, name);
        if (!rc) rc = recover_send_disks(r, j, false);
    } else {
        recover_say(r, "%s: %s is still %s" RECOVER_IN_SUFFIX " on %s, "
                    "without GO: run xlmig recover there first", j->id,
                    j->name, j->name, j->peer);
        rc = XLMIG_E_UNSAFE;
    }
out:
    free(out);
    free(peer);
    free(name);
    return rc;
}

/*
 * A receiver's kept journal: whether its source has let go of the domain
 * (no copy of it there any more, asked as a sender's recover asks us). A
 * source that cannot be asked has not.
 */
static bool recover_source_let_go(struct recover *r,
                                  const struct journal_rec *j)
{
    char *state = NULL;
    bool gone;

    if (!r->o || !strcmp(j->peer, "local") || strchr(j->peer, ' ') ||
        recover_ask_peer(r, j, &state))
        return false;
    gone = !strcmp(state, "absent");
    free(state);
    return gone;
}

/* GO came: the domain is ours; start it as the receiver would have. */
static int recover_start(struct recover *r, const struct journal_rec *j,
                         uint32_t domid, const char *name)
{
    struct hv_dominfo info;
    bool renamed = false;
    int rc;

    rc = recover_rename_back(r, j, domid, name, RECOVER_IN_SUFFIX,
                             &renamed);
    if (!rc) rc = hv_domain_info(r->hv, domid, &info);
    if (!rc && info.paused && !j->paused) rc = hv_unpause(r->hv, domid);
    if (rc)
        recover_say(r, "%s: %s was handed over (GO) but could not be "
                    "started here: %s", j->id, j->name, xlmig_strerror(rc));
    else
        recover_say(r, "%s: %s was handed over (GO); it runs here%s%s",
                    j->id, j->name, renamed ? ", renamed" : "",
                    info.paused && !j->paused ? ", unpaused" : "");
    return rc;
}

/* Returns XLMIG_OK and *keep_r when the journal must stay for the peer. */
static int recover_recv(struct recover *r, const struct journal_rec *j,
                        bool *keep_r)
{
    struct journal_rec done;
    char *name = NULL;
    uint32_t domid = recover_find(r, j, &name);
    int rc = XLMIG_OK;

    *keep_r = false;
    if (!j->go) {
        if (domid == HV_INVALID_DOMID) {
            recover_say(r, "%s: no %s" RECOVER_IN_SUFFIX " here (nothing "
                        "to do)", j->id, j->name);
        } else if (!recover_has_suffix(name, RECOVER_IN_SUFFIX)) {
            recover_say(r, "%s: %s here is not the copy of an unfinished "
                        "migration (no GO); left alone", j->id, name);
        } else {
            rc = hv_destroy(r->hv, domid);
            if (!rc)
                recover_say(r, "%s: %s never got GO; destroyed %s", j->id,
                            j->name, name);
        }
        goto out;
    }
    if (!strcmp(j->phase, RECOVER_PHASE_DONE)) {
        *keep_r = !recover_source_let_go(r, j);
        if (*keep_r)
            recover_say(r, "%s: %s came here (GO); its journal stays until "
                        "the source host's recover settles it (or xlmig "
                        "recover --release %s)", j->id, j->name, j->uuid);
        else
            recover_say(r, "%s: %s came here (GO) and its source holds no "
                        "copy; journal dropped", j->id, j->name);
        goto out;
    }
    if (domid != HV_INVALID_DOMID) rc = recover_start(r, j, domid, name);
    else
        recover_say(r, "%s: %s was handed over (GO) and is no longer here",
                    j->id, j->name);
    if (rc) goto out;
    /* Kept, marked done: the sender may still ask. */
    done = *j;
    snprintf(done.phase, sizeof(done.phase), RECOVER_PHASE_DONE);
    rc = journal_write(r->ctx, &done);
    if (!rc) *keep_r = true;
out:
    free(name);
    return rc;
}

/*
 * Domains that look like a migration's leftovers but that no journal here
 * explains (xl's, or a journal lost with the disk): named, not touched.
 */
static void recover_orphans(struct recover *r, char **paths, size_t n)
{
    struct hv_domain *list = NULL;
    struct journal_rec j;
    char u[HV_UUID_STR_LEN];
    size_t count = 0, i, k;
    bool known;

    if (hv_list(r->hv, &list, &count)) return;
    for (i = 0; i < count; i++) {
        if (!recover_has_suffix(list[i].name, RECOVER_IN_SUFFIX) &&
            !recover_has_suffix(list[i].name, RECOVER_AWAY_SUFFIX))
            continue;
        hv_uuid_str(list[i].info.uuid, u);
        known = false;
        for (k = 0; k < n && !known; k++)
            known = !journal_read(r->ctx, paths[k], &j) &&
                    (j.uuid[0] ? !strcmp(u, j.uuid)
                               : !strncmp(list[i].name, j.name,
                                          strlen(j.name)));
        if (!known)
            recover_say(r, "%s (domain %u): no journal explains it; left as "
                        "it is (check the peer, then destroy or rename it)",
                        list[i].name, list[i].domid);
    }
    hv_list_free(list, count);
}

/* One line of the storage mover's recovery. */
static void recover_line(void *arg, const char *line)
{
    recover_say(arg, "%s", line);
}

/* true if the job still runs (its record names a live process). */
static bool recover_job_alive(struct coord *c, const char *id)
{
    struct coord_job cj;

    return c && !coord_job_get(c, id, &cj) && cj.alive;
}

/* One journal; counts it in r. */
static void recover_one(struct recover *r, struct coord *c, const char *path)
{
    struct journal_rec j;
    bool keep = false;
    int rc;

    if (journal_read(r->ctx, path, &j)) {
        recover_say(r, "%s: unreadable journal, left for inspection", path);
        r->failed++;
        return;
    }
    if (recover_job_alive(c, j.id)) {
        recover_say(r, "%s: still running (pid alive); not touched", j.id);
        return;
    }
    if (!strcmp(j.kind, "storage"))
        rc = smove_recover(r->ctx, r->hv, &j, recover_line, r);
    else if (!strcmp(j.role, "send")) rc = recover_send(r, &j);
    else rc = recover_recv(r, &j, &keep);
    if (rc == XLMIG_E_UNSAFE) {
        r->pending++;
        return;
    }
    if (rc) {
        r->failed++;
        return;
    }
    if (coord_job_remove(c, j.id))
        LOG(r->ctx, WARN, "job %s: record not removed", j.id);
    if (keep) {
        r->kept++;
        return;
    }
    if (journal_remove(r->ctx, j.id)) r->failed++;
    else r->done++;
}

int xlmig_recover(struct xlmig_ctx *ctx, const struct xlmig_recover_opts *o)
{
    struct recover r = { .ctx = ctx, .o = o };
    struct coord *c = NULL;
    char **paths = NULL;
    size_t n = 0, i;
    int rc;

    rc = ctx_hv(ctx, &r.hv);
    if (rc) return rc;
    /* Opening the subtree also reclaims the slots and locks of the dead. */
    rc = coord_open(ctx, &c);
    if (rc) return rc;
    rc = journal_list(ctx, &paths, &n);
    if (rc) goto out;
    for (i = 0; i < n; i++)
        recover_one(&r, c, paths[i]);
    recover_orphans(&r, paths, n);
    smove_recover_orphans(ctx, recover_line, &r);
    if (n == r.kept) recover_say(&r, "no interrupted migration on this host");
    rc = r.failed ? XLMIG_E_HV : r.pending ? XLMIG_E_UNSAFE : XLMIG_OK;
out:
    for (i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    coord_close(c);
    return rc;
}

/* The receiving journals here of uuid that say GO came; *n_r of them.
 * With release, those marked done are removed. */
static int recover_go_journals(struct xlmig_ctx *ctx, const char *uuid,
                               bool release, unsigned *n_r)
{
    struct journal_rec j;
    char **paths = NULL;
    size_t n = 0, i;
    int rc;

    *n_r = 0;
    rc = journal_list(ctx, &paths, &n);
    for (i = 0; !rc && i < n; i++) {
        if (journal_read(ctx, paths[i], &j) || strcmp(j.role, "recv") ||
            !j.go || strcmp(j.uuid, uuid))
            continue;
        if (release && strcmp(j.phase, RECOVER_PHASE_DONE)) continue;
        (*n_r)++;
        if (release) rc = journal_remove(ctx, j.id);
    }
    for (i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    return rc;
}

int xlmig_recover_query(struct xlmig_ctx *ctx, const char *uuid,
                        const char **state_r)
{
    struct recover r = { .ctx = ctx };
    struct journal_rec j;
    char *name = NULL;
    unsigned gone = 0;
    uint32_t domid;
    int rc;

    *state_r = "absent";
    if (!recover_uuid_ok(uuid)) {
        LOG(ctx, ERROR, "'%.40s' is not a uuid", uuid);
        return XLMIG_E_INVAL;
    }
    rc = ctx_hv(ctx, &r.hv);
    if (!rc) rc = recover_go_journals(ctx, uuid, false, &gone);
    if (rc) return rc;
    memset(&j, 0, sizeof(j));
    snprintf(j.uuid, sizeof(j.uuid), "%s", uuid);
    domid = recover_find(&r, &j, &name);
    /* GO came here: ours, whatever became of the guest since. */
    if (gone) *state_r = "taken";
    else if (domid != HV_INVALID_DOMID)
        *state_r = recover_has_suffix(name, RECOVER_IN_SUFFIX) ? "incoming"
                                                                : "running";
    free(name);
    return XLMIG_OK;
}

int xlmig_recover_release(struct xlmig_ctx *ctx, const char *uuid,
                          unsigned *n_r)
{
    *n_r = 0;
    if (!recover_uuid_ok(uuid)) {
        LOG(ctx, ERROR, "'%.40s' is not a uuid", uuid);
        return XLMIG_E_INVAL;
    }
    return recover_go_journals(ctx, uuid, true, n_r);
}
