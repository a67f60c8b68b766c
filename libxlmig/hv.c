/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv.c - backend selection and the thin, backend-independent layer over
 * struct hv_ops: the rules that hold for every backend live here (resume
 * only a suspended domain, numeric domids, name checks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"

static const struct hv_ops *const hv_backends[] = {
    &hv_libxl_ops,
    &hv_sim_ops,
};

const struct hv_ops *hv_find_ops(const char *name)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(hv_backends); i++)
        if (!strcmp(hv_backends[i]->name, name))
            return hv_backends[i];
    return NULL;
}

int hv_open(struct xlmig_ctx *ctx, const char *name, struct hv **hv_r)
{
    const struct hv_ops *ops = hv_find_ops(name);
    struct hv *hv = NULL;
    int rc;

    *hv_r = NULL;
    if (!ops) {
        LOG(ctx, ERROR, "unknown backend '%s'", name);
        return XLMIG_E_INVAL;
    }
    rc = ops->open(ctx, &hv);
    if (rc) return rc;
    hv->ops = ops;
    hv->ctx = ctx;
    *hv_r = hv;
    return XLMIG_OK;
}

void hv_close(struct hv *hv)
{
    if (hv) hv->ops->close(hv);
}

void hv_wait_init(struct hv_wait *w)
{
    size_t i;

    memset(w, 0, sizeof(*w));
    for (i = 0; i < HV_WAIT_FDS; i++)
        w->abort_fds[i] = -1;
}

int hv_lookup(struct hv *hv, const char *name_or_id, uint32_t *domid_r)
{
    return hv->ops->lookup(hv, name_or_id, domid_r);
}

int hv_domain_name(struct hv *hv, uint32_t domid, char **name_r)
{
    return hv->ops->domain_name(hv, domid, name_r);
}

int hv_domain_info(struct hv *hv, uint32_t domid, struct hv_dominfo *info_r)
{
    memset(info_r, 0, sizeof(*info_r));
    return hv->ops->domain_info(hv, domid, info_r);
}

bool hv_name_in_use(struct hv *hv, const char *name)
{
    uint32_t domid;

    return hv->ops->lookup(hv, name, &domid) == XLMIG_OK;
}

int hv_config_get(struct hv *hv, uint32_t domid, unsigned flags,
                  char **json_r)
{
    *json_r = NULL;
    return hv->ops->config_get(hv, domid, flags, json_r);
}

int hv_config_load(struct hv *hv, const char *path, unsigned flags,
                   char **json_r)
{
    *json_r = NULL;
    return hv->ops->config_load(hv, path, flags, json_r);
}

int hv_config_canonical(struct hv *hv, const char *json, char **json_r)
{
    *json_r = NULL;
    return hv->ops->config_canonical(hv, json, json_r);
}

int hv_save(struct hv *hv, uint32_t domid, int fd, unsigned flags,
            const struct hv_wait *w)
{
    return hv->ops->save(hv, domid, fd, flags, w);
}

int hv_restore(struct hv *hv, const char *json, const char *name, int fd,
               const struct hv_wait *w, uint32_t *domid_r)
{
    *domid_r = HV_INVALID_DOMID;
    return hv->ops->restore(hv, json, name, fd, w, domid_r);
}

int hv_resume_if_suspended(struct hv *hv, uint32_t domid, bool *resumed_r)
{
    struct hv_dominfo info;
    int rc;

    *resumed_r = false;
    rc = hv_domain_info(hv, domid, &info);
    if (rc) return rc;
    /*
     * A cooperative resume of a domain that is not shut down for suspend
     * fails (xg_resume.c), and after a failure in the live phase the guest
     * simply never stopped running: then there is nothing to do.
     */
    if (!info.shutdown || info.shutdown_reason != HV_SHUTDOWN_SUSPEND)
        return XLMIG_OK;
    rc = hv->ops->resume(hv, domid);
    if (rc) return rc;
    *resumed_r = true;
    return XLMIG_OK;
}

int hv_rename(struct hv *hv, uint32_t domid, const char *old_name,
              const char *new_name)
{
    return hv->ops->rename(hv, domid, old_name, new_name);
}

int hv_pause(struct hv *hv, uint32_t domid)
{
    return hv->ops->pause(hv, domid);
}

int hv_unpause(struct hv *hv, uint32_t domid)
{
    return hv->ops->unpause(hv, domid);
}

int hv_destroy(struct hv *hv, uint32_t domid)
{
    return hv->ops->destroy(hv, domid);
}

int hv_monitor(struct hv *hv, uint32_t domid, const struct hv_wait *w)
{
    return hv->ops->monitor(hv, domid, w);
}

static int hv_domain_cmp(const void *a, const void *b)
{
    const struct hv_domain *x = a, *y = b;

    return x->domid < y->domid ? -1 : x->domid > y->domid;
}

int hv_list(struct hv *hv, struct hv_domain **list_r, size_t *n_r)
{
    int rc;

    *list_r = NULL;
    *n_r = 0;
    rc = hv->ops->list(hv, list_r, n_r);
    if (rc) return rc;
    if (*n_r) qsort(*list_r, *n_r, sizeof(**list_r), hv_domain_cmp);
    return XLMIG_OK;
}

void hv_list_free(struct hv_domain *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(list[i].name);
    free(list);
}

void hv_uuid_str(const uint8_t u[16], char out[HV_UUID_STR_LEN])
{
    snprintf(out, HV_UUID_STR_LEN, "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
             u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
}

int hv_host_facts(struct hv *hv, struct hv_host_facts *f)
{
    memset(f, 0, sizeof(*f));
    return hv->ops->host_facts(hv, f);
}

int hv_domain_facts(struct hv *hv, uint32_t domid, struct hv_domain_facts *f)
{
    memset(f, 0, sizeof(*f));
    return hv->ops->domain_facts(hv, domid, f);
}

int hv_need_memory(struct hv *hv, const char *json, uint64_t *kb_r)
{
    *kb_r = 0;
    return hv->ops->need_memory(hv, json, kb_r);
}

int hv_have_bridge(struct hv *hv, const char *bridge, bool *yes_r)
{
    *yes_r = false;
    return hv->ops->have_bridge(hv, bridge, yes_r);
}

int hv_have_script(struct hv *hv, const char *script, bool *yes_r)
{
    *yes_r = false;
    return hv->ops->have_script(hv, script, yes_r);
}

int hv_have_cpupool(struct hv *hv, const char *pool, bool *yes_r)
{
    *yes_r = false;
    return hv->ops->have_cpupool(hv, pool, yes_r);
}

int hv_pci_assignable(struct hv *hv, const char *bdf, bool *yes_r)
{
    *yes_r = false;
    return hv->ops->pci_assignable(hv, bdf, yes_r);
}

int hv_disk_live(struct hv *hv, uint32_t domid, const char *vdev,
                 struct hv_disk_live *d)
{
    memset(d, 0, sizeof(*d));
    return hv->ops->disk_live(hv, domid, vdev, d);
}

int hv_sched_cap_get(struct hv *hv, uint32_t domid, bool *capable_r,
                     unsigned *cap_r, unsigned *vcpus_r)
{
    *capable_r = false;
    *cap_r = 0;
    *vcpus_r = 0;
    return hv->ops->sched_cap_get(hv, domid, capable_r, cap_r, vcpus_r);
}

int hv_sched_cap_set(struct hv *hv, uint32_t domid, unsigned cap)
{
    return hv->ops->sched_cap_set(hv, domid, cap);
}

int hv_sched_cap_restore(struct hv *hv, uint32_t domid, unsigned cap,
                         unsigned *was_r)
{
    bool capable;
    unsigned vcpus;
    int rc;

    rc = hv_sched_cap_get(hv, domid, &capable, was_r, &vcpus);
    if (rc) {
        *was_r = HV_CAP_UNKNOWN;
        return rc;
    }
    if (!capable) *was_r = cap;
    return *was_r == cap ? XLMIG_OK : hv_sched_cap_set(hv, domid, cap);
}
