/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * monitor.c - the public lifecycle monitor (the backend does the watching,
 * see hv.h).
 */
#include <stdlib.h>

#include "hv.h"

int xlmig_monitor(struct xlmig_ctx *ctx, const char *domain, int cancel_fd)
{
    struct hv_wait w;
    struct hv *hv;
    uint32_t domid;
    int rc;

    rc = domain_open(ctx, domain, &hv, &domid);
    if (rc) return rc;
    hv_wait_init(&w);
    w.abort_fds[0] = cancel_fd;
    return hv_monitor(hv, domid, &w);
}
