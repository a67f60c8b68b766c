/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * domain.c - public entry points on the domains of this host, whatever the
 * backend: lookup, list (as xl list), destroy, pause and unpause.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* xl list's state column: running, blocked, paused, shutdown, crashed,
 * dying, each its letter or '-'. */
static void domain_state(const struct hv_dominfo *i, char state[7])
{
    bool crashed = i->shutdown && i->shutdown_reason == HV_SHUTDOWN_CRASH;

    state[0] = i->running ? 'r' : '-';
    state[1] = i->blocked ? 'b' : '-';
    state[2] = i->paused ? 'p' : '-';
    state[3] = i->shutdown && !crashed ? 's' : '-';
    state[4] = crashed ? 'c' : '-';
    state[5] = i->dying ? 'd' : '-';
    state[6] = '\0';
}

int xlmig_domain_list(struct xlmig_ctx *ctx, struct xlmig_domain **list_r,
                      size_t *n_r)
{
    struct hv_domain *hl = NULL;
    struct xlmig_domain *list;
    struct hv *hv;
    size_t n = 0, i;
    int rc;

    *list_r = NULL;
    *n_r = 0;
    rc = ctx_hv(ctx, &hv);
    if (rc) return rc;
    rc = hv_list(hv, &hl, &n);
    if (rc) return rc;
    list = xcalloc(n ? n : 1, sizeof(*list));
    for (i = 0; i < n; i++) {
        list[i].domid = hl[i].domid;
        snprintf(list[i].name, sizeof(list[i].name), "%s", hl[i].name);
        list[i].memkb = hl[i].info.current_memkb;
        list[i].vcpus = hl[i].vcpus;
        domain_state(&hl[i].info, list[i].state);
        hv_uuid_str(hl[i].info.uuid, list[i].uuid);
    }
    hv_list_free(hl, n);
    *list_r = list;
    *n_r = n;
    return XLMIG_OK;
}

int domain_open(struct xlmig_ctx *ctx, const char *domain, struct hv **hv_r,
                uint32_t *domid_r)
{
    int rc;

    rc = xlmig_domain_lookup(ctx, domain, domid_r, NULL);
    if (rc) return rc;
    return ctx_hv(ctx, hv_r);
}

int xlmig_domain_destroy(struct xlmig_ctx *ctx, const char *domain)
{
    struct hv *hv;
    uint32_t domid;
    int rc;

    rc = domain_open(ctx, domain, &hv, &domid);
    if (rc) return rc;
    rc = hv_destroy(hv, domid);
    if (rc) LOGR(ctx, ERROR, rc, "destroy of domain %s (%u)", domain, domid);
    return rc;
}

int xlmig_domain_pause(struct xlmig_ctx *ctx, const char *domain, bool pause)
{
    struct hv *hv;
    uint32_t domid;
    int rc;

    rc = domain_open(ctx, domain, &hv, &domid);
    if (rc) return rc;
    rc = pause ? hv_pause(hv, domid) : hv_unpause(hv, domid);
    if (rc)
        LOGR(ctx, ERROR, rc, "%s of domain %s (%u)",
             pause ? "pause" : "unpause", domain, domid);
    return rc;
}
