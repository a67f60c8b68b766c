/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * monitor.c - public entry points that act on one local domain: lookup and
 * the lifecycle monitor (the backend does the watching, see hv.h).
 */
#include <stdlib.h>

#include "hv.h"

int xlmig_domain_lookup(struct xlmig_ctx *ctx, const char *domain,
                        uint32_t *domid_r, char **name_r)
{
    struct hv *hv;
    uint32_t domid;
    int rc;

    rc = ctx_hv(ctx, &hv);
    if (rc) return rc;
    rc = hv_lookup(hv, domain, &domid);
    if (rc) {
        LOG(ctx, ERROR, "no domain '%s' on this host", domain);
        return rc;
    }
    if (name_r) {
        rc = hv_domain_name(hv, domid, name_r);
        if (rc) return rc;
    }
    *domid_r = domid;
    return XLMIG_OK;
}

int xlmig_monitor(struct xlmig_ctx *ctx, const char *domain, int cancel_fd)
{
    struct hv_wait w;
    struct hv *hv;
    uint32_t domid;
    int rc;

    rc = xlmig_domain_lookup(ctx, domain, &domid, NULL);
    if (rc) return rc;
    rc = ctx_hv(ctx, &hv);
    if (rc) return rc;
    hv_wait_init(&w);
    w.abort_fds[0] = cancel_fd;
    return hv_monitor(hv, domid, &w);
}
