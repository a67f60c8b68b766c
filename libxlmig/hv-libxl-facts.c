/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv-libxl-facts.c - the libxl backend's pre-flight facts (hv.h): what
 * this host offers (libxl's version and physinfo, libxc's featuresets,
 * xl.conf's autoballoon) and what a running domain needs (its CPU policy
 * from libxc, its suspend feature from xenstore). Judging them is left to
 * the pre-flight checks.
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenguest.h>
#include <xenstore.h>
#include <libxlutil.h>

#include "cpufeat.h"
#include "hv-libxl.h"

/* libxl never balloons dom0 below this (LIBXL_MIN_DOM0_MEM,
 * tools/libs/light/libxl_internal.h). */
#define HV_LIBXL_FACTS_DOM0_MIN_KB (128u * 1024)
/* physinfo counts 4 KiB pages (libxl_get_free_memory, libxl_mem.c). */
#define HV_LIBXL_FACTS_PAGE_KB 4u
#define HV_LIBXL_FACTS_XL_CONF "/etc/xen/xl.conf"
/* libxl__xen_script_dir_path() of Debian's and upstream's builds. */
#define HV_LIBXL_FACTS_SCRIPT_DIR "/etc/xen/scripts"
#define HV_LIBXL_FACTS_SYS_NET "/sys/class/net"
/* Xen 4.17 serialises at most a few hundred leaves and a few MSRs. */
#define HV_LIBXL_FACTS_LEAVES_MAX 4096u
#define HV_LIBXL_FACTS_MSRS_MAX 1024u

/* ---- host facts ---- */

/* xl's auto_autoballoon() (tools/xl/xl.c): on unless Xen got dom0_mem=. */
static bool hv_libxl_facts_auto_autoballoon(struct hv_libxl *h)
{
    const libxl_version_info *vi = libxl_get_version_info(h->lctx);
    regex_t re;
    bool on;

    if (!vi || !vi->commandline) return true;
    if (regcomp(&re, "(^| )dom0_mem=((|min:|max:)[0-9]+[bBkKmMgG]?,?)+($| )",
                REG_NOSUB | REG_EXTENDED))
        return true;
    on = regexec(&re, vi->commandline, 0, NULL, 0) == REG_NOMATCH;
    regfree(&re);
    return on;
}

/*
 * xl.conf "autoballoon" as xl reads it: "on"/"1", "off"/"0", or "auto"
 * (also when unset, unreadable or invalid). XLMIG_XL_CONF overrides the
 * path. hv-libxl.c's ballooning and the pre-flight facts both ask here.
 */
bool hv_libxl_autoballoon(struct hv_libxl *h)
{
    const char *path = getenv("XLMIG_XL_CONF"), *s = NULL;
    XLU_Config *cfg = NULL;
    int r, on = -1;

    if (!path || !*path) path = HV_LIBXL_FACTS_XL_CONF;
    if (access(path, F_OK) < 0) goto out;   /* as xl: no file, auto */
    cfg = xlu_cfg_init(stderr, path);
    if (!cfg) goto out;
    r = xlu_cfg_readfile(cfg, path);
    if (r) {
        LOGEV(h->base.ctx, WARN, r, "%s: unreadable, autoballoon is auto",
              path);
        goto out;
    }
    if (xlu_cfg_get_string(cfg, "autoballoon", &s, 0) || !s) goto out;
    if (!strcmp(s, "on") || !strcmp(s, "1")) on = 1;
    else if (!strcmp(s, "off") || !strcmp(s, "0")) on = 0;
    else if (strcmp(s, "auto"))
        LOG(h->base.ctx, WARN, "%s: autoballoon=\"%s\" is invalid, using "
            "auto", path, s);
out:
    if (cfg) xlu_cfg_destroy(cfg);
    return on < 0 ? hv_libxl_facts_auto_autoballoon(h) : on == 1;
}

static unsigned hv_libxl_facts_nr_words(void)
{
    uint32_t nr = xc_get_cpu_featureset_size();

    return nr < HV_FEATURESET_WORDS ? nr : HV_FEATURESET_WORDS;
}

/* One of Xen's featuresets; all zero if Xen was built without it. */
static int hv_libxl_facts_featureset(struct hv_libxl *h, xc_interface *xch,
                                     uint32_t index, const char *what,
                                     uint32_t *fs, unsigned nr)
{
    uint32_t got = nr;

    if (!xc_get_cpu_featureset(xch, index, &got, fs)) return XLMIG_OK;
    if (errno == EOPNOTSUPP) {
        LOG(h->base.ctx, DEBUG, "Xen has no %s featureset", what);
        memset(fs, 0, nr * sizeof(*fs));
        return XLMIG_OK;
    }
    LOGE(h->base.ctx, ERROR, "cannot get Xen's %s featureset", what);
    return XLMIG_E_HV;
}

static int hv_libxl_facts_featuresets(struct hv_libxl *h,
                                      struct hv_host_facts *f)
{
    xc_interface *xch;
    int rc;

    xch = xc_interface_open(&h->lg, NULL, 0);
    if (!xch) {
        LOGE(h->base.ctx, ERROR, "cannot open libxc");
        return XLMIG_E_HV;
    }
    f->nr_features = hv_libxl_facts_nr_words();
    rc = hv_libxl_facts_featureset(h, xch, XEN_SYSCTL_cpu_featureset_pv_max,
                                   "PV max", f->featureset_pv,
                                   f->nr_features);
    if (rc) goto out;
    rc = hv_libxl_facts_featureset(h, xch, XEN_SYSCTL_cpu_featureset_hvm_max,
                                   "HVM max", f->featureset_hvm,
                                   f->nr_features);
out:
    xc_interface_close(xch);
    return rc;
}

int hv_libxl_host_facts(struct hv *hv, struct hv_host_facts *f)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    const libxl_version_info *vi;
    libxl_physinfo pi;
    libxl_dominfo d0;
    int r, rc;

    libxl_physinfo_init(&pi);
    libxl_dominfo_init(&d0);
    vi = libxl_get_version_info(h->lctx);
    if (!vi) {
        LOG(hv->ctx, ERROR, "libxl cannot tell Xen's version");
        rc = XLMIG_E_HV;
        goto out;
    }
    f->xen_major = (unsigned)vi->xen_version_major;
    f->xen_minor = (unsigned)vi->xen_version_minor;
    snprintf(f->xen_version, sizeof(f->xen_version), "%d.%d%s",
             vi->xen_version_major, vi->xen_version_minor,
             vi->xen_version_extra ? vi->xen_version_extra : "");
    r = libxl_get_physinfo(h->lctx, &pi);
    rc = hv_libxl_rc(h, r, "physinfo query");
    if (rc) goto out;
    f->cap_pv = pi.cap_pv;
    f->cap_hvm = pi.cap_hvm;
    f->cap_hap = pi.cap_hap;
    f->cap_shadow = pi.cap_shadow;
    f->nr_cpus = pi.max_cpu_id + 1;
    f->nr_nodes = pi.nr_nodes;
    f->total_kb = pi.total_pages * HV_LIBXL_FACTS_PAGE_KB;
    f->free_kb = (pi.free_pages + pi.scrub_pages) * HV_LIBXL_FACTS_PAGE_KB;
    f->claimed_kb = pi.outstanding_pages * HV_LIBXL_FACTS_PAGE_KB;
    r = libxl_domain_info(h->lctx, &d0, 0);
    rc = hv_libxl_rc(h, r, "info of dom0");
    if (rc) goto out;
    f->dom0_kb = d0.current_memkb;
    f->dom0_min_kb = HV_LIBXL_FACTS_DOM0_MIN_KB;
    f->autoballoon = hv_libxl_autoballoon(h);
    rc = hv_libxl_facts_featuresets(h, f);
out:
    libxl_dominfo_dispose(&d0);
    libxl_physinfo_dispose(&pi);
    return rc;
}

/* ---- domain facts ---- */

/* The domain's policy from libxc, serialised and copied into ours. */
static int hv_libxl_facts_policy(struct hv_libxl *h, xc_interface *xch,
                                 uint32_t domid, struct hv_domain_facts *f)
{
    xc_cpu_policy_t *p = NULL;
    xen_cpuid_leaf_t *xleaves = NULL;
    xen_msr_entry_t *xmsrs = NULL;
    struct cpufeat_leaf *leaves = NULL;
    struct cpufeat_msr *msrs = NULL;
    uint32_t nl, nm, i;
    int rc;

    p = xc_cpu_policy_init();
    if (!p) {
        LOGE(h->base.ctx, ERROR, "cannot allocate a libxc CPU policy");
        rc = XLMIG_E_HV;
        goto out;
    }
    if (xc_cpu_policy_get_domain(xch, domid, p)) {
        LOGE(h->base.ctx, ERROR, "cannot get the CPU policy of domain %u",
             domid);
        rc = errno == ESRCH ? XLMIG_E_NOTFOUND : XLMIG_E_HV;
        goto out;
    }
    if (xc_cpu_policy_get_size(xch, &nl, &nm)) {
        LOGE(h->base.ctx, ERROR, "cannot get Xen's CPU policy size");
        rc = XLMIG_E_HV;
        goto out;
    }
    if (nl > HV_LIBXL_FACTS_LEAVES_MAX || nm > HV_LIBXL_FACTS_MSRS_MAX) {
        LOG(h->base.ctx, ERROR, "Xen's CPU policy size (%u leaves, %u MSRs) "
            "is over our limit", (unsigned)nl, (unsigned)nm);
        rc = XLMIG_E_TOOBIG;
        goto out;
    }
    xleaves = xcalloc(nl, sizeof(*xleaves));
    xmsrs = xcalloc(nm, sizeof(*xmsrs));
    if (xc_cpu_policy_serialise(xch, p, xleaves, &nl, xmsrs, &nm)) {
        LOGE(h->base.ctx, ERROR, "cannot serialise the CPU policy of "
             "domain %u", domid);
        rc = XLMIG_E_HV;
        goto out;
    }
    leaves = xcalloc(nl, sizeof(*leaves));
    for (i = 0; i < nl; i++)
        leaves[i] = (struct cpufeat_leaf){
            .leaf = xleaves[i].leaf, .subleaf = xleaves[i].subleaf,
            .a = xleaves[i].a, .b = xleaves[i].b,
            .c = xleaves[i].c, .d = xleaves[i].d,
        };
    msrs = xcalloc(nm, sizeof(*msrs));
    for (i = 0; i < nm; i++)
        msrs[i] = (struct cpufeat_msr){
            .index = xmsrs[i].idx, .val = xmsrs[i].val,
        };
    f->nr_features = hv_libxl_facts_nr_words();
    cpufeat_from_policy(leaves, nl, msrs, nm, f->featureset, f->nr_features);
    rc = XLMIG_OK;
out:
    free(msrs);
    free(leaves);
    free(xmsrs);
    free(xleaves);
    xc_cpu_policy_destroy(p);           /* NULL is fine */
    return rc;
}

/* control/feature-suspend is guest-written: only exactly "1" counts. */
static int hv_libxl_facts_suspend(struct hv_libxl *h, uint32_t domid,
                                  bool *yes_r)
{
    struct xs_handle *xs;
    char path[64];
    char *val = NULL;
    unsigned len = 0;
    int rc;

    xs = xs_open(0);
    if (!xs) {
        LOGE(h->base.ctx, ERROR, "cannot connect to xenstored");
        return XLMIG_E_XS;
    }
    snprintf(path, sizeof(path), "/local/domain/%u/control/feature-suspend",
             domid);
    val = xs_read(xs, XBT_NULL, path, &len);
    if (!val && errno != ENOENT) {
        LOGE(h->base.ctx, ERROR, "cannot read %s", path);
        rc = XLMIG_E_XS;
        goto out;
    }
    *yes_r = val && len == 1 && val[0] == '1';
    rc = XLMIG_OK;
out:
    free(val);
    xs_close(xs);
    return rc;
}

int hv_libxl_domain_facts(struct hv *hv, uint32_t domid,
                          struct hv_domain_facts *f)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    xc_interface *xch;
    int rc;

    xch = xc_interface_open(&h->lg, NULL, 0);
    if (!xch) {
        LOGE(hv->ctx, ERROR, "cannot open libxc");
        return XLMIG_E_HV;
    }
    rc = hv_libxl_facts_policy(h, xch, domid, f);
    xc_interface_close(xch);
    if (rc) return rc;
    return hv_libxl_facts_suspend(h, domid, &f->suspend_feature);
}

/* ---- needs of an incoming config ---- */

int hv_libxl_need_memory(struct hv *hv, const char *json, uint64_t *kb_r)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    libxl_domain_config cfg;
    uint64_t need = 0;
    int r, rc;

    libxl_domain_config_init(&cfg);
    rc = hv_libxl_config_parse(h, json, &cfg);
    if (rc) goto out;
    /* This defaults cfg in place: it is our own throw-away copy. */
    r = libxl_domain_need_memory(h->lctx, &cfg, INVALID_DOMID, &need);
    rc = hv_libxl_rc(h, r, "memory estimate for %s", cfg.c_info.name);
    if (rc) goto out;
    *kb_r = need;
out:
    libxl_domain_config_dispose(&cfg);
    return rc;
}

/* stat(), with a missing path (or parent) as *exists_r false. */
static int hv_libxl_facts_stat(struct hv_libxl *h, const char *path,
                               struct stat *st, bool *exists_r)
{
    *exists_r = false;
    if (stat(path, st) == 0) {
        *exists_r = true;
        return XLMIG_OK;
    }
    if (errno == ENOENT || errno == ENOTDIR) return XLMIG_OK;
    LOGE(h->base.ctx, ERROR, "cannot stat %s", path);
    return XLMIG_E_SYSTEM;
}

static int hv_libxl_facts_is_bridge(struct hv_libxl *h, const char *dev,
                                    bool *yes_r)
{
    char *path = xasprintf(HV_LIBXL_FACTS_SYS_NET "/%s/bridge", dev);
    struct stat st;
    bool exists;
    int rc;

    rc = hv_libxl_facts_stat(h, path, &st, &exists);
    *yes_r = !rc && exists && S_ISDIR(st.st_mode);
    free(path);
    return rc;
}

/*
 * DEV/bridge is there for Linux bridges only. vif-bridge takes ethX for a
 * xenbrX that does not exist, if ethX is a bridge (/etc/xen/scripts/
 * vif-bridge, "Old style bridge setup").
 */
int hv_libxl_have_bridge(struct hv *hv, const char *bridge, bool *yes_r)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    char *path = NULL, *eth = NULL;
    struct stat st;
    bool exists;
    int rc;

    *yes_r = false;
    if (!*bridge || strchr(bridge, '/') || !strcmp(bridge, ".") ||
        !strcmp(bridge, ".."))
        return XLMIG_OK;
    path = xasprintf(HV_LIBXL_FACTS_SYS_NET "/%s", bridge);
    rc = hv_libxl_facts_stat(h, path, &st, &exists);
    if (rc) goto out;
    if (exists || strncmp(bridge, "xenbr", 5)) {
        rc = hv_libxl_facts_is_bridge(h, bridge, yes_r);
        goto out;
    }
    eth = xasprintf("eth%s", bridge + 5);
    rc = hv_libxl_facts_is_bridge(h, eth, yes_r);
out:
    free(eth);
    free(path);
    return rc;
}

/* As libxl__abs_path(): a relative script is under the script dir. */
int hv_libxl_have_script(struct hv *hv, const char *script, bool *yes_r)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    struct stat st;
    char *path;
    bool exists;
    int rc;

    *yes_r = false;
    if (!*script) return XLMIG_OK;
    path = script[0] == '/'
           ? xstrdup(script)
           : xasprintf(HV_LIBXL_FACTS_SCRIPT_DIR "/%s", script);
    rc = hv_libxl_facts_stat(h, path, &st, &exists);
    if (rc || !exists || !S_ISREG(st.st_mode)) goto out;
    if (access(path, X_OK) == 0) {
        *yes_r = true;
    } else if (errno != EACCES) {
        LOGE(h->base.ctx, ERROR, "cannot check %s", path);
        rc = XLMIG_E_SYSTEM;
    }
out:
    free(path);
    return rc;
}

/* c_info.pool_name is a name: libxl's create looks it up by name. */
int hv_libxl_have_cpupool(struct hv *hv, const char *pool, bool *yes_r)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    uint32_t poolid;
    int r;

    *yes_r = false;
    r = libxl_name_to_cpupoolid(h->lctx, pool, &poolid);
    if (r == ERROR_INVAL) return XLMIG_OK;      /* no pool of that name */
    if (r) return hv_libxl_rc(h, r, "cpupool lookup of %s", pool);
    *yes_r = true;
    return XLMIG_OK;
}

int hv_libxl_pci_assignable(struct hv *hv, const char *bdf, bool *yes_r)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    libxl_device_pci *list;
    char one[16];
    int n = 0, i;

    list = libxl_device_pci_assignable_list(h->lctx, &n);
    for (i = 0; i < n && !*yes_r; i++) {
        snprintf(one, sizeof(one), "%04x:%02x:%02x.%x",
                 (unsigned)list[i].domain, list[i].bus, list[i].dev,
                 list[i].func);
        *yes_r = !strcmp(one, bdf);
    }
    if (list) libxl_device_pci_assignable_list_free(list, n);
    return XLMIG_OK;
}
