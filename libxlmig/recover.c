/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * recover.c - `xlmig recover`: brings every interrupted migration on this
 * host to exactly one running copy, from the journals (journal.c) of jobs
 * whose process is gone and the domains present.
 *
 * What a journal and the domains say, and what is done:
 *   send, no GO     the guest never left: NAME--migratedaway is renamed
 *                   back, a suspended guest resumed
 *   send, GO        the receiver may run it: ask the peer (`xlmig recover
 *                   --query NAME` over ssh). Running there: destroy ours.
 *                   Absent there: rename back and resume ours. Still
 *                   NAME--incoming there: the peer must recover first
 *                   (left pending, exit status 3)
 *   recv, no GO     the sender kept it: destroy NAME--incoming
 *   recv, GO        it is ours: rename NAME--incoming to NAME, unpause
 * Recovering the receiving host first settles a pending sender.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "coord.h"
#include "hv.h"
#include "journal.h"

#define RECOVER_QUERY_TIMEOUT_S 60
#define RECOVER_AWAY_SUFFIX "--migratedaway"
#define RECOVER_IN_SUFFIX "--incoming"

struct recover {
    struct xlmig_ctx *ctx;
    struct hv *hv;
    const struct xlmig_recover_opts *o;
    unsigned done, pending, failed;
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
    if (line && r->o->report) r->o->report(r->o->report_arg, line);
    free(line);
}

/* The domain named name here, or HV_INVALID_DOMID. */
static uint32_t recover_find(struct recover *r, const char *name)
{
    uint32_t domid;

    return hv_lookup(r->hv, name, &domid) ? HV_INVALID_DOMID : domid;
}

static int recover_resume_here(struct recover *r, const struct journal_rec *j,
                               uint32_t away)
{
    char *away_name = xasprintf("%s" RECOVER_AWAY_SUFFIX, j->name);
    uint32_t domid = recover_find(r, j->name);
    bool resumed = false;
    int rc = XLMIG_OK;

    if (away != HV_INVALID_DOMID) {
        rc = hv_rename(r->hv, away, away_name, j->name);
        domid = away;
    }
    if (!rc && domid != HV_INVALID_DOMID)
        rc = hv_resume_if_suspended(r->hv, domid, &resumed);
    if (rc) {
        recover_say(r, "%s: could not bring %s back on this host: %s", j->id,
                    j->name, xlmig_strerror(rc));
    } else if (domid == HV_INVALID_DOMID) {
        recover_say(r, "%s: %s is not on this host (nothing to do)", j->id,
                    j->name);
    } else {
        recover_say(r, "%s: %s runs here%s%s", j->id, j->name,
                    away != HV_INVALID_DOMID ? ", renamed back" : "",
                    resumed ? ", resumed" : "");
    }
    free(away_name);
    return rc;
}

/* Single-quotes s for sh. */
static char *recover_sh_quote(const char *s)
{
    size_t n = 2, i, k = 0;
    char *q;

    for (i = 0; s[i]; i++)
        n += s[i] == '\'' ? 4 : 1;
    q = xmalloc(n + 1);
    q[k++] = '\'';
    for (i = 0; s[i]; i++) {
        if (s[i] == '\'') {
            memcpy(q + k, "'\\''", 4);
            k += 4;
        } else {
            q[k++] = s[i];
        }
    }
    q[k++] = '\'';
    q[k] = '\0';
    return q;
}

/* What the peer has of the domain: "running", "incoming" or "absent". */
static int recover_ask_peer(struct recover *r, const struct journal_rec *j,
                            char **state_r)
{
    const char *ssh = r->o->ssh_command ? r->o->ssh_command : "ssh";
    char *name = recover_sh_quote(j->name), *cmd, *out = NULL, *uuid;
    char *argv[] = { (char *)"/bin/sh", (char *)"-c", NULL, NULL };
    int rc;

    *state_r = NULL;
    if (*ssh)
        cmd = xasprintf("exec %s %s xlmig recover --query %s", ssh, j->peer,
                        name);
    else
        cmd = xasprintf("exec %s recover --query %s", j->peer, name);
    argv[2] = cmd;
    rc = child_capture(r->ctx, "peer query", argv, 64,
                       RECOVER_QUERY_TIMEOUT_S, &out);
    if (!rc) {
        /* "STATE [UUID]": another domain of that name is not ours. */
        out[strcspn(out, "\n")] = '\0';
        uuid = strchr(out, ' ');
        if (uuid) *uuid++ = '\0';
        if (strcmp(out, "running") && strcmp(out, "incoming") &&
            strcmp(out, "absent")) {
            LOG(r->ctx, ERROR, "peer %s answered '%s'", j->peer, out);
            rc = XLMIG_E_PROTO;
        } else if (strcmp(out, "absent") && j->uuid[0] &&
                   (!uuid || strcmp(uuid, j->uuid))) {
            LOG(r->ctx, INFO, "peer %s has another domain named %s",
                j->peer, j->name);
            snprintf(out, 64, "absent");
        }
    }
    if (!rc) *state_r = out;
    else free(out);
    free(cmd);
    free(name);
    return rc;
}

static int recover_send(struct recover *r, const struct journal_rec *j)
{
    char *away_name = xasprintf("%s" RECOVER_AWAY_SUFFIX, j->name);
    uint32_t away = recover_find(r, away_name);
    uint32_t here = recover_find(r, j->name);
    char *peer = NULL;
    int rc;

    if (!j->go) {
        rc = recover_resume_here(r, j, away);
        goto out;
    }
    if (away == HV_INVALID_DOMID && here == HV_INVALID_DOMID) {
        recover_say(r, "%s: %s already left this host", j->id, j->name);
        rc = XLMIG_OK;
        goto out;
    }
    if (strchr(j->peer, ' ')) {
        recover_say(r, "%s: %s may run on the host of '%s', given as a "
                    "command (migrate -s ''), which recover cannot ask: "
                    "check there, then destroy or resume %s here", j->id,
                    j->name, j->peer, away_name);
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
    if (!strcmp(peer, "running")) {
        rc = hv_destroy(r->hv, away != HV_INVALID_DOMID ? away : here);
        if (!rc)
            recover_say(r, "%s: %s runs on %s; destroyed the copy here",
                        j->id, j->name, j->peer);
    } else if (!strcmp(peer, "absent")) {
        rc = recover_resume_here(r, j, away);
    } else {
        recover_say(r, "%s: %s is still %s" RECOVER_IN_SUFFIX " on %s: run "
                    "xlmig recover there first", j->id, j->name, j->name,
                    j->peer);
        rc = XLMIG_E_UNSAFE;
    }
out:
    free(peer);
    free(away_name);
    return rc;
}

static int recover_recv(struct recover *r, const struct journal_rec *j)
{
    char *in_name = xasprintf("%s" RECOVER_IN_SUFFIX, j->name);
    uint32_t in = recover_find(r, in_name);
    int rc = XLMIG_OK;

    if (in == HV_INVALID_DOMID) {
        recover_say(r, "%s: no %s here (nothing to do)", j->id, in_name);
    } else if (!j->go) {
        rc = hv_destroy(r->hv, in);
        if (!rc)
            recover_say(r, "%s: %s never got GO; destroyed %s", j->id,
                        j->name, in_name);
    } else {
        rc = hv_rename(r->hv, in, in_name, j->name);
        if (!rc) rc = hv_unpause(r->hv, in);
        if (!rc)
            recover_say(r, "%s: %s was handed over (GO); started it here",
                        j->id, j->name);
    }
    free(in_name);
    return rc;
}

static bool recover_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n > m && !strcmp(s + n - m, suffix);
}

/*
 * Domains that look like a migration's leftovers but that no journal here
 * explains (xl's, or a journal lost with the disk): named, not touched.
 */
static void recover_orphans(struct recover *r, char **paths, size_t n)
{
    struct hv_domain *list = NULL;
    struct journal_rec j;
    size_t count = 0, i, k;
    bool known;

    if (hv_list(r->hv, &list, &count)) return;
    for (i = 0; i < count; i++) {
        if (!recover_has_suffix(list[i].name, RECOVER_IN_SUFFIX) &&
            !recover_has_suffix(list[i].name, RECOVER_AWAY_SUFFIX))
            continue;
        known = false;
        for (k = 0; k < n && !known; k++)
            known = !journal_read(r->ctx, paths[k], &j) &&
                    !strncmp(list[i].name, j.name, strlen(j.name));
        if (!known)
            recover_say(r, "%s (domain %u): no journal explains it; left as "
                        "it is (check the peer, then destroy or rename it)",
                        list[i].name, list[i].domid);
    }
    hv_list_free(list, count);
}

/* true if the job still runs (its record names a live process). */
static bool recover_job_alive(struct coord *c, const char *id)
{
    struct coord_job cj;

    return c && !coord_job_get(c, id, &cj) && cj.alive;
}

int xlmig_recover(struct xlmig_ctx *ctx, const struct xlmig_recover_opts *o)
{
    struct recover r = { .ctx = ctx, .o = o };
    struct journal_rec j;
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
    for (i = 0; i < n; i++) {
        if (journal_read(ctx, paths[i], &j)) {
            recover_say(&r, "%s: unreadable journal, left for inspection",
                        paths[i]);
            r.failed++;
            continue;
        }
        if (recover_job_alive(c, j.id)) {
            recover_say(&r, "%s: still running (pid alive); not touched",
                        j.id);
            continue;
        }
        rc = !strcmp(j.role, "send") ? recover_send(&r, &j)
                                     : recover_recv(&r, &j);
        if (rc == XLMIG_E_UNSAFE) {
            r.pending++;
            continue;
        }
        if (rc) {
            r.failed++;
            continue;
        }
        if (journal_remove(ctx, j.id)) r.failed++;
        if (coord_job_remove(c, j.id))
            LOG(ctx, WARN, "job %s: record not removed", j.id);
        r.done++;
    }
    recover_orphans(&r, paths, n);
    if (!n) recover_say(&r, "no interrupted migration on this host");
    rc = r.failed ? XLMIG_E_HV : r.pending ? XLMIG_E_UNSAFE : XLMIG_OK;
out:
    for (i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    coord_close(c);
    return rc;
}

int xlmig_recover_query(struct xlmig_ctx *ctx, const char *name,
                        const char **state_r, char uuid_r[37])
{
    char *in_name = xasprintf("%s" RECOVER_IN_SUFFIX, name);
    struct hv_dominfo info;
    struct hv *hv;
    uint32_t domid;
    int rc;

    *state_r = "absent";
    uuid_r[0] = '\0';
    rc = ctx_hv(ctx, &hv);
    if (rc) goto out;
    if (!hv_lookup(hv, name, &domid) && !hv_domain_info(hv, domid, &info) &&
        !info.shutdown) {
        *state_r = "running";
        hv_uuid_str(info.uuid, uuid_r);
    } else if (!hv_lookup(hv, in_name, &domid) &&
               !hv_domain_info(hv, domid, &info)) {
        *state_r = "incoming";
        hv_uuid_str(info.uuid, uuid_r);
    }
out:
    free(in_name);
    return rc;
}
