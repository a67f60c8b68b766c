/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * monitor.c - the public lifecycle monitor (the backend does the watching,
 * see hv.h). Before a domain is created again on reboot, its config goes
 * through this host's incoming policy once more: a restart loads the
 * kernel and ramdisk and attaches the disks it names, and what they are
 * (on storage another host can write) may have changed since arrival.
 */
#include <stdlib.h>

#include "hv.h"
#include "policy.h"

struct monitor {
    struct xlmig_ctx *ctx;
    struct hv *hv;
};

static int monitor_restart_ok(void *arg, const char *json)
{
    struct monitor *m = arg;
    struct policy_report rep = { NULL, 0 };
    struct policy p;
    char *cause = NULL;
    size_t i;
    int rc;

    rc = policy_load(m->ctx, &p, &cause);
    if (rc) {
        LOG(m->ctx, ERROR, "this host's incoming policy cannot be read: %s",
            cause);
        free(cause);
        return rc;
    }
    rc = policy_check(m->ctx, m->hv, &p, json, &rep);
    for (i = 0; !rc && i < rep.n; i++)
        LOG(m->ctx, ERROR, "refused by this host's incoming policy: %s",
            rep.v[i]);
    if (!rc && rep.n) rc = XLMIG_E_PREFLIGHT;
    policy_report_dispose(&rep);
    policy_dispose(&p);
    return rc;
}

int xlmig_monitor(struct xlmig_ctx *ctx, const char *domain, int cancel_fd)
{
    struct monitor m = { .ctx = ctx };
    struct hv_wait w;
    uint32_t domid;
    int rc;

    rc = domain_open(ctx, domain, &m.hv, &domid);
    if (rc) return rc;
    hv_wait_init(&w);
    w.abort_fds[0] = cancel_fd;
    w.restart_ok = monitor_restart_ok;
    w.arg = &m;
    return hv_monitor(m.hv, domid, &w);
}
