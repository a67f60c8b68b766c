/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv-libxl-sched.c - a domain's scheduler cap through libxl, for the
 * precopy policy's throttle (hv.h hv_sched_cap_get/set): credit and
 * credit2 have one, in % of one CPU (0: none, at most 100 per vCPU);
 * other schedulers do not.
 */
#include <string.h>

#include "hv-libxl.h"
#include "shmsg.h"

static bool hv_libxl_sched_capped(libxl_scheduler s)
{
    return s == LIBXL_SCHEDULER_CREDIT || s == LIBXL_SCHEDULER_CREDIT2;
}

/* The domain's scheduler parameters (p initialised by the caller). */
static int hv_libxl_sched_get(struct hv_libxl *h, uint32_t domid,
                              libxl_domain_sched_params *p)
{
    return hv_libxl_rc(h, libxl_domain_sched_params_get(h->lctx, domid, p),
                       "scheduler parameters of domain %u", domid);
}

int hv_libxl_sched_cap_get(struct hv *hv, uint32_t domid, bool *capable_r,
                           unsigned *cap_r, unsigned *vcpus_r)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    libxl_domain_sched_params p;
    libxl_dominfo di;
    int rc;

    libxl_domain_sched_params_init(&p);
    libxl_dominfo_init(&di);
    rc = hv_libxl_rc(h, libxl_domain_info(h->lctx, &di, domid),
                     "info of domain %u", domid);
    if (rc) goto out;
    rc = hv_libxl_sched_get(h, domid, &p);
    if (rc) goto out;
    *capable_r = hv_libxl_sched_capped(p.sched);
    *cap_r = *capable_r && p.cap > 0 ? (unsigned)p.cap : 0;
    *vcpus_r = di.vcpu_online ? di.vcpu_online : di.vcpu_max_id + 1;
out:
    libxl_dominfo_dispose(&di);
    libxl_domain_sched_params_dispose(&p);
    return rc;
}

int hv_libxl_sched_cap_set(struct hv *hv, uint32_t domid, unsigned cap)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    libxl_domain_sched_params p, q;
    int rc;

    libxl_domain_sched_params_init(&p);
    libxl_domain_sched_params_init(&q);
    if (cap > SHMSG_CAP_MAX) {
        LOGD(hv->ctx, ERROR, domid, "scheduler cap %u is out of range", cap);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    rc = hv_libxl_sched_get(h, domid, &p);
    if (rc) goto out;
    if (!hv_libxl_sched_capped(p.sched)) {
        LOGD(hv->ctx, ERROR, domid, "its scheduler (%s) has no cap",
             libxl_scheduler_to_string(p.sched));
        rc = XLMIG_E_HV;
        goto out;
    }
    /* Only the cap: every other parameter at its default is unchanged. */
    q.sched = p.sched;
    q.cap = (int)cap;
    rc = hv_libxl_rc(h, libxl_domain_sched_params_set(h->lctx, domid, &q),
                     "setting the scheduler cap of domain %u to %u", domid,
                     cap);
out:
    libxl_domain_sched_params_dispose(&q);
    libxl_domain_sched_params_dispose(&p);
    return rc;
}
