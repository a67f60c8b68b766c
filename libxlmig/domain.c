/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * domain.c - public entry points on the domains of this host, whatever the
 * backend: lookup, list and configs (as xl list [-l]), destroy, pause and
 * unpause.
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

/* xl list's state column: running, blocked, paused, shutdown, why it
 * shut down (a letter per reason, '-' for poweroff), dying. */
static void domain_state(const struct hv_dominfo *i, char state[7])
{
    static const char why[] = {
        [HV_SHUTDOWN_POWEROFF] = '-', [HV_SHUTDOWN_REBOOT] = 'r',
        [HV_SHUTDOWN_SUSPEND] = 's', [HV_SHUTDOWN_CRASH] = 'c',
        [HV_SHUTDOWN_WATCHDOG] = 'w', [HV_SHUTDOWN_SOFT_RESET] = 'S',
        [HV_SHUTDOWN_UNKNOWN] = '?',
    };

    state[0] = i->running ? 'r' : '-';
    state[1] = i->blocked ? 'b' : '-';
    state[2] = i->paused ? 'p' : '-';
    state[3] = i->shutdown ? 's' : '-';
    state[4] = i->shutdown ? why[i->shutdown_reason] : '-';
    state[5] = i->dying ? 'd' : '-';
    state[6] = '\0';
}

static int domain_by_id(const void *a, const void *b)
{
    const struct xlmig_domain *x = a, *y = b;

    return x->domid < y->domid ? -1 : x->domid > y->domid;
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
        list[i].claimed_kb = hl[i].info.outstanding_memkb;
        list[i].cpu_time_ns = hl[i].info.cpu_time_ns;
    }
    hv_list_free(hl, n);
    qsort(list, n, sizeof(*list), domain_by_id);    /* sim: readdir order */
    *list_r = list;
    *n_r = n;
    return XLMIG_OK;
}

int xlmig_domain_config(struct xlmig_ctx *ctx, uint32_t domid,
                        char **json_r)
{
    struct hv_dominfo info;
    struct hv *hv;
    int rc;

    *json_r = NULL;
    rc = ctx_hv(ctx, &hv);
    if (rc) return rc;
    rc = hv_domain_info(hv, domid, &info);
    if (rc) return rc;
    return hv_config_get(hv, domid, HV_CONFIG_PRESERVE_DOMID, json_r);
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
