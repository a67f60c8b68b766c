/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * preflight-dest.c - the destination's pre-flight checks: can this host
 * take the domain the sender described (struct pf_request)? Run by the
 * receiver before any state changes; the sender decides what to do with
 * the results. Each check adds at least one result.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "cpufeat.h"
#include "domcfg.h"
#include "policy.h"
#include "preflight.h"
#include "sr.h"

#define PF_DST true
#define PF_MIB(kb) ((kb) / 1024)
#define PF_LIBXL_STREAM 2           /* libxl migration stream we restore */
#define PF_LIBXC_STREAM 3           /* libxc migration stream we restore */

static void pf_check_versions(const struct pf_request *req,
                              const struct hv_host_facts *hf,
                              struct pf_report *rep)
{
    if (hf->xen_major < req->xen_major ||
        (hf->xen_major == req->xen_major && hf->xen_minor < req->xen_minor))
        pf_add(rep, PF_DST, "xen-version", XLMIG_CHECK_ERROR,
               "migrate only to a host with the same or a newer Xen",
               "this host runs Xen %s, older than the source's %s",
               hf->xen_version, req->xen_version);
    else
        pf_add(rep, PF_DST, "xen-version", XLMIG_CHECK_INFO, NULL,
               "this host runs Xen %s (source: %s)", hf->xen_version,
               req->xen_version);
    pf_add(rep, PF_DST, "stream-version", XLMIG_CHECK_INFO, NULL,
           "this host restores libxl stream v%d carrying libxc stream v%d",
           PF_LIBXL_STREAM, PF_LIBXC_STREAM);
}

static void pf_check_type(const struct domcfg *c,
                          const struct hv_host_facts *hf,
                          struct pf_report *rep)
{
    bool pv = c->type == DOMCFG_PV;

    if ((pv && !hf->cap_pv) || (!pv && !hf->cap_hvm))
        pf_add(rep, PF_DST, "guest-type", XLMIG_CHECK_ERROR,
               "choose a host whose Xen and CPU run this kind of guest",
               "this host cannot run %s guests, and %s is one",
               domcfg_type_name(c->type), c->name);
    else
        pf_add(rep, PF_DST, "guest-type", XLMIG_CHECK_INFO, NULL,
               "this host runs %s guests", domcfg_type_name(c->type));
    if (pv) {
        pf_add(rep, PF_DST, "paging", XLMIG_CHECK_INFO, NULL,
               "PV domain %s needs neither HAP nor shadow paging here",
               c->name);
    } else if (hf->cap_hap && c->hap != DOMCFG_FALSE) {
        pf_add(rep, PF_DST, "paging", XLMIG_CHECK_INFO, NULL,
               "domain %s runs with HAP here", c->name);
    } else if (hf->cap_shadow && c->hap != DOMCFG_TRUE) {
        pf_add(rep, PF_DST, "paging", c->hap == DOMCFG_FALSE
               ? XLMIG_CHECK_INFO : XLMIG_CHECK_WARNING,
               c->hap == DOMCFG_FALSE ? NULL : "expect it to run slower",
               "domain %s runs with shadow paging here (no HAP)", c->name);
    } else {
        pf_add(rep, PF_DST, "paging", XLMIG_CHECK_ERROR,
               "choose a host with HAP (or shadow paging for hap=0)",
               "this host has %s, which domain %s (hap=%s) needs",
               c->hap == DOMCFG_FALSE ? "no shadow paging" : "no HAP",
               c->name, c->hap == DOMCFG_TRUE ? "1"
               : c->hap == DOMCFG_FALSE ? "0" : "default");
    }
}

static void pf_check_cpu(const struct pf_request *req, const struct domcfg *c,
                         const struct hv_host_facts *hf,
                         struct pf_report *rep)
{
    const uint32_t *host = c->type == DOMCFG_PV ? hf->featureset_pv
                                                 : hf->featureset_hvm;
    unsigned nr = req->nr_features < hf->nr_features ? req->nr_features
                                                     : hf->nr_features;
    uint32_t guest[HV_FEATURESET_WORDS];
    char *names = NULL;
    size_t n;

    if (!nr) {
        pf_add(rep, PF_DST, "cpu-features", XLMIG_CHECK_WARNING,
               "compare the CPUs by hand",
               "no CPU featureset to compare (source sent %u words, this "
               "host has %u)", req->nr_features, hf->nr_features);
        return;
    }
    /* Only what Xen manages can be missing. */
    memcpy(guest, req->featureset, sizeof(guest));
    cpufeat_keep_named(guest, nr);
    n = cpufeat_missing(guest, host, nr, &names);
    if (n)
        pf_add(rep, PF_DST, "cpu-features", XLMIG_CHECK_ERROR,
               "choose a host with the same or a newer CPU, or mask the "
               "features in the domain's cpuid= and restart it",
               "domain %s uses %zu CPU feature%s this host lacks: %s",
               c->name, n, n == 1 ? "" : "s", names);
    else
        pf_add(rep, PF_DST, "cpu-features", XLMIG_CHECK_INFO, NULL,
               "this host has every CPU feature domain %s uses", c->name);
    free(names);
}

static void pf_check_memory(struct hv *hv, const struct pf_request *req,
                            const struct domcfg *c,
                            const struct hv_host_facts *hf,
                            struct pf_report *rep)
{
    uint64_t need, avail, balloon = 0;
    int rc;

    rc = hv_need_memory(hv, req->config, &need);
    if (rc) {
        pf_add(rep, PF_DST, "memory", XLMIG_CHECK_WARNING,
               "check free memory by hand (xl info)",
               "cannot compute the memory domain %s needs here: %s",
               c->name, xlmig_strerror(rc));
        return;
    }
    avail = hf->free_kb > hf->claimed_kb ? hf->free_kb - hf->claimed_kb : 0;
    rep->mem_known = true;
    rep->mem_need_kb = need;
    rep->mem_free_kb = avail;
    if (hf->autoballoon && hf->dom0_kb > hf->dom0_min_kb)
        balloon = hf->dom0_kb - hf->dom0_min_kb;
    if (need <= avail)
        pf_add(rep, PF_DST, "memory", XLMIG_CHECK_INFO, NULL,
               "domain %s needs %" PRIu64 " MiB; this host has %" PRIu64
               " MiB free", c->name, PF_MIB(need), PF_MIB(avail));
    else if (need <= avail + balloon)
        pf_add(rep, PF_DST, "memory", XLMIG_CHECK_WARNING,
               "nothing to do, or give dom0 less memory by hand first",
               "domain %s needs %" PRIu64 " MiB; this host has %" PRIu64
               " MiB free, so dom0 will balloon down by %" PRIu64 " MiB",
               c->name, PF_MIB(need), PF_MIB(avail),
               PF_MIB(need - avail));
    else
        pf_add(rep, PF_DST, "memory", XLMIG_CHECK_ERROR,
               "free memory on this host, or choose another",
               "domain %s needs %" PRIu64 " MiB; this host has %" PRIu64
               " MiB free%s", c->name, PF_MIB(need), PF_MIB(avail),
               balloon ? " even after ballooning dom0 down" : "");
}

/* Whether any CPU of map exists here. */
static bool pf_map_fits(const struct domcfg_cpumap *m, unsigned nr_cpus)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        if (m->cpus[i] < nr_cpus) return true;
    return false;
}

static void pf_check_affinity(const struct domcfg *c,
                              const struct hv_host_facts *hf,
                              struct pf_report *rep)
{
    size_t i, bad = 0;

    for (i = 0; i < c->n_hard; i++) {
        if (pf_map_fits(&c->hard_affinity[i], hf->nr_cpus)) continue;
        bad++;
        pf_add(rep, PF_DST, "vcpu-affinity", XLMIG_CHECK_ERROR,
               "change the pinning (xl vcpu-pin) to CPUs both hosts have",
               "vCPU %zu of domain %s is pinned to CPUs this host lacks "
               "(it has CPUs 0-%u)", i, c->name,
               hf->nr_cpus ? hf->nr_cpus - 1 : 0);
    }
    for (i = 0; i < c->n_soft; i++) {
        if (pf_map_fits(&c->soft_affinity[i], hf->nr_cpus)) continue;
        bad++;
        pf_add(rep, PF_DST, "vcpu-affinity", XLMIG_CHECK_WARNING,
               "change the soft affinity to CPUs both hosts have",
               "vCPU %zu of domain %s prefers CPUs this host lacks (it has "
               "CPUs 0-%u)", i, c->name,
               hf->nr_cpus ? hf->nr_cpus - 1 : 0);
    }
    if (!bad)
        pf_add(rep, PF_DST, "vcpu-affinity", XLMIG_CHECK_INFO, NULL,
               "the vCPU affinity of domain %s fits this host's %u CPUs",
               c->name, hf->nr_cpus);
}

static void pf_check_pool(struct hv *hv, const struct domcfg *c,
                          struct pf_report *rep)
{
    const char *pool = c->pool_name ? c->pool_name : "Pool-0";
    bool yes;
    int rc;

    rc = hv_have_cpupool(hv, pool, &yes);
    if (rc)
        pf_add(rep, PF_DST, "cpupool", XLMIG_CHECK_WARNING,
               "check with xl cpupool-list", "cannot list cpupools: %s",
               xlmig_strerror(rc));
    else if (!yes)
        pf_add(rep, PF_DST, "cpupool", XLMIG_CHECK_ERROR,
               "create the cpupool here (xl cpupool-create) first",
               "domain %s belongs to cpupool %s, which this host lacks",
               c->name, pool);
    else
        pf_add(rep, PF_DST, "cpupool", XLMIG_CHECK_INFO, NULL,
               "cpupool %s exists here", pool);
}

/* A result for a yes/no host fact, or a warning when it cannot be read. */
static void pf_check_have(struct pf_report *rep, const char *id, int rc,
                          bool yes, const char *remedy, const char *what,
                          const char *name, const char *user)
{
    if (rc)
        pf_add(rep, PF_DST, id, XLMIG_CHECK_WARNING, "check by hand",
               "cannot tell whether %s %s exists here: %s", what, name,
               xlmig_strerror(rc));
    else if (!yes)
        pf_add(rep, PF_DST, id, XLMIG_CHECK_ERROR, remedy,
               "%s has no %s %s here", user, what, name);
    else
        pf_add(rep, PF_DST, id, XLMIG_CHECK_INFO, NULL, "%s %s of %s "
               "exists here", what, name, user);
}

static const struct pf_disk_ident *pf_source_disk(const struct pf_request *r,
                                                  const char *path)
{
    size_t i;

    for (i = 0; i < r->n_disks; i++)
        if (!strcmp(r->disks[i].path, path)) return &r->disks[i];
    return NULL;
}

/* A disk in an SR on the source: the same storage here if it is in an SR
 * of the same identity here (an SR is compared, not the disk's bytes). */
static void pf_check_sr(struct xlmig_ctx *ctx, const struct pf_disk_ident *src,
                        const struct domcfg_disk *d, const char *who,
                        struct pf_report *rep)
{
    struct sr *list = NULL;
    const struct sr *s = NULL;
    char uuid[SR_UUID_MAX] = "", *why = NULL;
    size_t n = 0;

    if (!sr_load(ctx, &list, &n, &why))
        s = sr_of_path(list, n, d->pdev_path);
    if (s && !sr_identity(ctx, s, uuid, &why) && !strcmp(uuid, src->sr_uuid))
        pf_add(rep, PF_DST, "disk-storage", XLMIG_CHECK_INFO, NULL,
               "%s: %s is in SR %s, the source's (identity %s)", who,
               d->pdev_path, s->name, uuid);
    else
        pf_add(rep, PF_DST, "disk-storage", XLMIG_CHECK_ERROR,
               "declare the source's SR here (xlmig sr-list on both "
               "hosts), or move the disk with xlmig storage-move",
               "%s: %s is in the source's SR %s, which this host %s", who,
               d->pdev_path, src->sr_uuid,
               !s ? "does not declare at that path"
                  : uuid[0] ? "sees as another SR (not shared)"
                            : "cannot read");
    free(why);
    free(list);
}

/* The disk at d->pdev_path here against what the source saw there. */
static void pf_check_storage(struct xlmig_ctx *ctx,
                             const struct pf_request *req,
                             const struct domcfg_disk *d, const char *who,
                             struct pf_report *rep)
{
    const struct pf_disk_ident *src = pf_source_disk(req, d->pdev_path);
    struct pf_disk_ident here;
    const char *differs = NULL;

    pf_disk_ident_get(d->pdev_path, &here);
    if (here.kind == PF_DISK_MISSING) {
        pf_add(rep, PF_DST, "disk-visible", XLMIG_CHECK_ERROR,
               "put the disk on storage both hosts share, at the same path",
               "%s: %s is not visible here: %s", who, d->pdev_path,
               strerror(here.err ? here.err : ENOENT));
        goto out;
    }
    pf_add(rep, PF_DST, "disk-visible", XLMIG_CHECK_INFO, NULL,
           "%s: %s is visible here", who, d->pdev_path);
    if (src && src->sr_uuid[0]) {
        pf_check_sr(ctx, src, d, who, rep);
        goto out;
    }
    if (!src || src->kind == PF_DISK_MISSING || src->err || here.err) {
        pf_add(rep, PF_DST, "disk-storage", XLMIG_CHECK_WARNING,
               "make sure both hosts see the same storage",
               "%s: cannot compare %s with the source's (%s)", who,
               d->pdev_path, here.err ? strerror(here.err)
               : "the source could not read it");
        goto out;
    }
    if (src->kind != here.kind) differs = "a different kind of file";
    else if (src->size != here.size) differs = "a different size";
    else if (src->kind == PF_DISK_FILE && src->ino != here.ino)
        differs = "a different inode";
    else if (src->sample != here.sample) differs = "different data";
    if (differs)
        pf_add(rep, PF_DST, "disk-storage", XLMIG_CHECK_ERROR,
               "put the disk on storage both hosts share (the same file, "
               "not a copy), or move it with xlmig storage-move",
               "%s: %s here is not the source's disk (%s): not shared "
               "storage", who, d->pdev_path, differs);
    else
        pf_add(rep, PF_DST, "disk-storage", XLMIG_CHECK_INFO, NULL,
               "%s: %s is the same storage as on the source (%" PRIu64
               " bytes)", who, d->pdev_path, here.size);
out:
    free(here.path);
}

static void pf_check_disks(struct hv *hv, const struct pf_request *req,
                           const struct domcfg *c, struct pf_report *rep)
{
    const struct domcfg_disk *d;
    char who[160];
    bool yes;
    size_t i;
    int rc;

    for (i = 0; i < c->n_disks; i++) {
        d = &c->disks[i];
        snprintf(who, sizeof(who), "disk %s of %s",
                 d->vdev ? d->vdev : "?", c->name);
        if (d->backend && !strcmp(d->backend, "tap"))
            pf_add(rep, PF_DST, "disk-backend", XLMIG_CHECK_ERROR,
                   "use backendtype=qdisk", "%s uses the tap backend, "
                   "which Xen 4.17's libxl does not provide", who);
        else if (d->backend && !strcmp(d->backend, "phy") && d->format &&
                 strcmp(d->format, "raw") && strcmp(d->format, "empty"))
            pf_add(rep, PF_DST, "disk-backend", XLMIG_CHECK_ERROR,
                   "use backendtype=qdisk for non-raw images",
                   "%s is %s, which the phy backend cannot serve", who,
                   d->format);
        else if (d->script) {
            rc = hv_have_script(hv, d->script, &yes);
            pf_check_have(rep, "disk-backend", rc, yes,
                          "install the script in /etc/xen/scripts",
                          "hotplug script", d->script, who);
        } else {
            pf_add(rep, PF_DST, "disk-backend", XLMIG_CHECK_INFO, NULL,
                   "%s: backend %s is available here", who,
                   d->backend ? d->backend : "default");
        }
        if (d->backend_domname)
            pf_add(rep, PF_DST, "disk-visible", XLMIG_CHECK_WARNING,
                   "make sure the driver domain serves it here too",
                   "%s is served by driver domain %s; not checked", who,
                   d->backend_domname);
        else if (d->pdev_path && *d->pdev_path)
            pf_check_storage(hv->ctx, req, d, who, rep);
    }
    if (!c->n_disks)
        pf_add(rep, PF_DST, "disk-visible", XLMIG_CHECK_INFO, NULL,
               "domain %s has no disks", c->name);
}

static void pf_check_nics(struct hv *hv, const struct domcfg *c,
                          struct pf_report *rep)
{
    const struct domcfg_nic *n;
    const char *script, *bridge;
    char who[160];
    bool yes;
    size_t i;
    int rc;

    for (i = 0; i < c->n_nics; i++) {
        n = &c->nics[i];
        snprintf(who, sizeof(who), "vif %u of %s", n->devid, c->name);
        script = n->script ? n->script : "vif-bridge";
        bridge = n->bridge ? n->bridge : "xenbr0";
        rc = hv_have_script(hv, script, &yes);
        pf_check_have(rep, "nic-script", rc, yes,
                      "install the script in /etc/xen/scripts",
                      "hotplug script", script, who);
        /* vif-route and vif-nat attach to no bridge. */
        if (strstr(script, "vif-route") || strstr(script, "vif-nat"))
            continue;
        rc = hv_have_bridge(hv, bridge, &yes);
        pf_check_have(rep, "nic-bridge", rc, yes,
                      "create the bridge here, or name one that exists in "
                      "the domain's config", "bridge", bridge, who);
    }
    if (!c->n_nics)
        pf_add(rep, PF_DST, "nic-bridge", XLMIG_CHECK_INFO, NULL,
               "domain %s has no network interfaces", c->name);
}

static void pf_check_names(struct hv *hv, const struct domcfg *c,
                           struct pf_report *rep)
{
    char *in = xasprintf("%s--incoming", c->name), u[HV_UUID_STR_LEN];
    struct hv_domain *list;
    size_t n, i;
    int rc;

    if (hv_name_in_use(hv, c->name) || hv_name_in_use(hv, in))
        pf_add(rep, PF_DST, "name-free", XLMIG_CHECK_ERROR,
               "rename or remove that domain, or run xlmig recover if a "
               "failed migration left it", "a domain named %s (or %s) "
               "already exists here", c->name, in);
    else
        pf_add(rep, PF_DST, "name-free", XLMIG_CHECK_INFO, NULL,
               "no domain here is named %s", c->name);
    free(in);
    rc = hv_list(hv, &list, &n);
    if (rc) {
        pf_add(rep, PF_DST, "uuid-free", XLMIG_CHECK_WARNING,
               "check with xl list -v", "cannot list the domains here: %s",
               xlmig_strerror(rc));
        return;
    }
    for (i = 0; i < n; i++) {
        hv_uuid_str(list[i].info.uuid, u);
        if (c->uuid[0] && !strcmp(u, c->uuid)) break;
    }
    if (i < n)
        pf_add(rep, PF_DST, "uuid-free", XLMIG_CHECK_ERROR,
               "two domains must not share a uuid: remove the other one",
               "domain %s here (%u) already has uuid %s", list[i].name,
               list[i].domid, c->uuid);
    else
        pf_add(rep, PF_DST, "uuid-free", XLMIG_CHECK_INFO, NULL,
               "no domain here has uuid %s", c->uuid[0] ? c->uuid : "(none)");
    hv_list_free(list, n);
}

static void pf_check_coord(struct xlmig_ctx *ctx, struct pf_report *rep)
{
    unsigned limit = 0, held = 0, queued = 0;
    struct coord *co = NULL;
    char *reason = NULL;
    int rc;

    rc = coord_open(ctx, &co);
    if (!rc) rc = coord_get_maintenance(co, &reason);
    if (rc)
        pf_add(rep, PF_DST, "maintenance", XLMIG_CHECK_WARNING,
               "check xenstore on the destination",
               "cannot read this host's maintenance mode: %s",
               xlmig_strerror(rc));
    else if (reason)
        pf_add(rep, PF_DST, "maintenance", XLMIG_CHECK_ERROR,
               "end it there (xlmig maintenance off) or choose another host",
               "this host is in maintenance mode: %s", reason);
    else
        pf_add(rep, PF_DST, "maintenance", XLMIG_CHECK_INFO, NULL,
               "this host is not in maintenance mode");
    if (!rc) rc = coord_get_limit(co, COORD_IN, &limit);
    if (!rc) rc = coord_slot_usage(co, COORD_IN, &held, &queued);
    if (rc)
        pf_add(rep, PF_DST, "admission", XLMIG_CHECK_WARNING, NULL,
               "cannot read this host's incoming slots: %s",
               xlmig_strerror(rc));
    else if (held >= limit)
        pf_add(rep, PF_DST, "admission", XLMIG_CHECK_WARNING,
               "wait, or raise the limit there (xlmig set-limit in N)",
               "all %u incoming migration slots here are in use (%u "
               "queued): the migration will wait its turn", limit, queued);
    else
        pf_add(rep, PF_DST, "admission", XLMIG_CHECK_INFO, NULL,
               "%u of %u incoming migration slots here are in use", held,
               limit);
    free(reason);
    coord_close(co);
}

/* The sender's config against this host's incoming policy, in the form
 * this backend reads it (what would be restored). */
static void pf_check_policy(struct xlmig_ctx *ctx, struct hv *hv,
                            const struct policy *pol,
                            const struct pf_request *req,
                            struct pf_report *rep)
{
    static const char remedy[] = "change the domain's config, or allow it "
        "in the destination's /etc/xen/xlmig.conf (xlmig.conf(5))";
    struct policy_report pr = { NULL, 0 };
    char *canon = NULL;
    size_t i;
    int rc;

    rc = hv_config_canonical(hv, req->config, &canon);
    /* Unreadable here: the policy on the config as sent still names the
     * fields it refuses, which "cannot read" does not. */
    if (!rc)
        rc = policy_check(ctx, hv, pol, canon, &pr);
    else if (policy_check(ctx, hv, pol, req->config, &pr))
        policy_report_dispose(&pr);
    if (rc && !pr.n)
        pf_add(rep, PF_DST, "incoming-policy", XLMIG_CHECK_ERROR, remedy,
               "this host cannot read the domain's config: %s",
               xlmig_strerror(rc));
    for (i = 0; i < pr.n; i++)
        pf_add(rep, PF_DST, "incoming-policy", XLMIG_CHECK_ERROR, remedy,
               "refused by this host's incoming policy: %s", pr.v[i]);
    if (!rc && !pr.n)
        pf_add(rep, PF_DST, "incoming-policy", XLMIG_CHECK_INFO, NULL,
               "the domain's config meets this host's incoming policy");
    policy_report_dispose(&pr);
    free(canon);
}

int pf_dest_checks(struct xlmig_ctx *ctx, struct hv *hv,
                   const struct policy *pol, const struct pf_request *req,
                   struct pf_report *rep)
{
    struct hv_host_facts hf;
    struct domcfg c;
    char *why = NULL;
    int rc;

    memset(&c, 0, sizeof(c));
    rc = domcfg_parse(req->config, &c, &why);
    if (rc) {
        LOG(ctx, ERROR, "domain config from the sender: %s", why);
        free(why);
        return XLMIG_E_PROTO;
    }
    rc = hv_host_facts(hv, &hf);
    if (rc) {
        /* The checks that need them cannot run; the admin may force. */
        pf_add(rep, PF_DST, "host-facts", XLMIG_CHECK_ERROR, "see the "
               "destination's log; --force=host-facts migrates without "
               "these checks", "cannot read the facts of this host: %s",
               xlmig_strerror(rc));
    } else {
        pf_check_versions(req, &hf, rep);
        pf_check_type(&c, &hf, rep);
        pf_check_cpu(req, &c, &hf, rep);
        pf_check_memory(hv, req, &c, &hf, rep);
        pf_check_affinity(&c, &hf, rep);
    }
    pf_check_policy(ctx, hv, pol, req, rep);
    pf_check_pool(hv, &c, rep);
    pf_check_disks(hv, req, &c, rep);
    pf_check_nics(hv, &c, rep);
    pf_check_names(hv, &c, rep);
    pf_check_coord(ctx, rep);
    domcfg_dispose(&c);
    return XLMIG_OK;
}
