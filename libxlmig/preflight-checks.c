/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * preflight-checks.c - the pre-flight checks (research/libxl-api.md
 * section 5). Source checks look at the domain and this host; destination
 * checks look at what the sender described (struct pf_request) against
 * the receiving host. Every check adds at least one result, so a report
 * shows what was checked and not only what failed; a check that cannot
 * read its facts says so as a warning rather than passing silently.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coord.h"
#include "cpufeat.h"
#include "domcfg.h"
#include "preflight.h"
#include "sr.h"

#define PF_SAMPLE_LEN (64u << 10)   /* bytes hashed at each end of a disk */
#define PF_SRC false

/* ---- disk identity ---- */

/* FNV-1a, 64 bits: a fingerprint, not a defence against an attacker. */
static uint64_t pf_fnv(uint64_t h, const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/*
 * Hashes the first and last PF_SAMPLE_LEN bytes of fd into *sample_r.
 * Returns 0 or the errno of the failed read, not an XLMIG_E_* code: it
 * goes into pf_disk_ident.err, which is only ever shown with strerror().
 */
static int pf_sample(int fd, uint64_t size, uint64_t *sample_r)
{
    uint8_t *buf = xmalloc(PF_SAMPLE_LEN);
    uint64_t h = 0xcbf29ce484222325ULL, off[2];
    ssize_t n;
    int i, err = 0;

    off[0] = 0;
    off[1] = size > PF_SAMPLE_LEN ? size - PF_SAMPLE_LEN : 0;
    for (i = 0; i < 2; i++) {
        n = pread(fd, buf, PF_SAMPLE_LEN, (off_t)off[i]);
        if (n < 0) {
            err = errno;
            break;
        }
        h = pf_fnv(h, buf, (size_t)n);
    }
    free(buf);
    *sample_r = h;
    return err;
}

void pf_disk_ident_get(const char *path, struct pf_disk_ident *id)
{
    struct stat st;
    int fd;

    memset(id, 0, sizeof(*id));
    id->path = xstrdup(path);
    id->kind = PF_DISK_MISSING;
    if (stat(path, &st) < 0) {
        id->err = errno;
        return;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        id->kind = PF_DISK_OTHER;
        return;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        id->err = errno;
        return;
    }
    id->kind = S_ISREG(st.st_mode) ? PF_DISK_FILE : PF_DISK_BLOCK;
    id->size = (uint64_t)st.st_size;
    if (id->kind == PF_DISK_FILE) id->ino = (uint64_t)st.st_ino;
    else if (ioctl(fd, BLKGETSIZE64, &id->size) < 0) id->err = errno;
    if (!id->err) id->err = pf_sample(fd, id->size, &id->sample);
    close(fd);
}

/* ---- source checks ---- */

static void pf_check_busy(struct xlmig_ctx *ctx, const struct domcfg *c,
                          struct pf_report *rep)
{
    struct coord *co = NULL;
    char *holder = NULL;
    int rc;

    rc = coord_open(ctx, &co);
    if (!rc) rc = coord_lock_holder(co, c->uuid, &holder);
    if (rc)
        pf_add(rep, PF_SRC, "domain-busy", XLMIG_CHECK_WARNING,
               "check xenstore on this host",
               "cannot read the migration locks of this host: %s",
               xlmig_strerror(rc));
    else if (holder)
        pf_add(rep, PF_SRC, "domain-busy", XLMIG_CHECK_ERROR,
               "wait for the job to end (xlmig jobs), or cancel it",
               "domain %s is busy: job %s is migrating it", c->name,
               holder);
    else
        pf_add(rep, PF_SRC, "domain-busy", XLMIG_CHECK_INFO, NULL,
               "no other job holds domain %s", c->name);
    free(holder);
    coord_close(co);
}

/* One result per device of a kind that cannot migrate. */
static void pf_check_blocker(struct pf_report *rep, const char *id,
                             size_t n, const char *what,
                             const struct domcfg *c, const char *remedy)
{
    if (n)
        pf_add(rep, PF_SRC, id, XLMIG_CHECK_ERROR, remedy,
               "domain %s has %zu %s, which cannot be migrated", c->name,
               n, what);
    else
        pf_add(rep, PF_SRC, id, XLMIG_CHECK_INFO, NULL, "domain %s has no "
               "%s", c->name, what);
}

static void pf_check_devices(const struct domcfg *c, struct pf_report *rep)
{
    size_t i;

    if (c->disable_migrate)
        pf_add(rep, PF_SRC, "migrate-disabled", XLMIG_CHECK_ERROR,
               "remove disable_migrate from its config and restart it",
               "domain %s is configured with disable_migrate=1", c->name);
    else
        pf_add(rep, PF_SRC, "migrate-disabled", XLMIG_CHECK_INFO, NULL,
               "domain %s allows migration", c->name);
    /* Xen refuses log-dirty for a domain with assigned devices. */
    for (i = 0; i < c->n_pci; i++)
        pf_add(rep, PF_SRC, "pci-passthrough", XLMIG_CHECK_ERROR,
               "detach it first (xl pci-detach) and re-attach it on the "
               "destination", "PCI device %s is passed through to domain "
               "%s; passed-through devices cannot be migrated", c->pci[i],
               c->name);
    if (!c->n_pci)
        pf_add(rep, PF_SRC, "pci-passthrough", XLMIG_CHECK_INFO, NULL,
               "domain %s has no PCI devices passed through", c->name);
    pf_check_blocker(rep, "usb-passthrough", c->n_usbdevs,
                     "USB devices passed through", c,
                     "detach them first (xl usbdev-detach)");
    pf_check_blocker(rep, "dt-passthrough", c->n_dtdevs,
                     "device-tree devices passed through", c,
                     "remove them from its config and restart it");
    /* libxl refuses to save a domain with a vNUMA topology. */
    pf_check_blocker(rep, "vnuma", c->n_vnuma_nodes, "vNUMA nodes", c,
                     "remove vnuma from its config and restart it");
    pf_check_blocker(rep, "vtpm", c->n_vtpms, "vTPM devices", c,
                     "the vTPM's stub domain is not migrated: detach the "
                     "vTPM or move the domain cold");
}

static void pf_check_paging_source(const struct domcfg *c,
                                   const struct hv_host_facts *hf,
                                   struct pf_report *rep)
{
    if (c->type == DOMCFG_PV && !hf->cap_shadow) {
        pf_add(rep, PF_SRC, "paging-source", XLMIG_CHECK_ERROR,
               "run a Xen built with CONFIG_SHADOW_PAGING=y, or move the "
               "domain cold (xl save, copy, xl restore)",
               "Xen %s on this host has no shadow paging, which live "
               "migration of PV domain %s needs for log-dirty tracking",
               hf->xen_version, c->name);
    } else if (c->type != DOMCFG_PV && !hf->cap_hap && !hf->cap_shadow) {
        pf_add(rep, PF_SRC, "paging-source", XLMIG_CHECK_ERROR,
               "run a Xen with HAP or shadow paging",
               "Xen %s on this host has neither HAP nor shadow paging to "
               "track the pages domain %s dirties", hf->xen_version,
               c->name);
    } else {
        pf_add(rep, PF_SRC, "paging-source", XLMIG_CHECK_INFO, NULL,
               "this host can track the pages %s domain %s dirties (%s)",
               domcfg_type_name(c->type), c->name,
               c->type == DOMCFG_PV ? "shadow paging"
               : hf->cap_hap ? "HAP" : "shadow paging");
    }
}

/*
 * A PV or PVH guest suspends by itself when asked through xenstore; Linux
 * advertises that with control/feature-suspend at boot. The node does not
 * survive a migration (it lives in the old host's xenstore and the guest
 * does not write it again; seen in the lab), so its absence is only a
 * warning: a guest that cannot suspend makes libxl time out and resume
 * it, which loses nothing.
 */
static void pf_check_suspend(const struct domcfg *c,
                             const struct hv_domain_facts *df,
                             struct pf_report *rep)
{
    if (c->type == DOMCFG_HVM)
        pf_add(rep, PF_SRC, "guest-suspend", XLMIG_CHECK_INFO, NULL,
               "HVM domain %s is suspended by Xen if it has no PV drivers",
               c->name);
    else if (!df->suspend_feature)
        pf_add(rep, PF_SRC, "guest-suspend", XLMIG_CHECK_WARNING,
               "make sure its kernel has Xen suspend support; without it "
               "the final suspend times out and the domain stays here",
               "domain %s does not advertise suspend support "
               "(control/feature-suspend; a domain migrated before no "
               "longer shows it)", c->name);
    else
        pf_add(rep, PF_SRC, "guest-suspend", XLMIG_CHECK_INFO, NULL,
               "domain %s advertises suspend support", c->name);
}

/* Each disk in a declared SR carries that SR's identity: the destination
 * knows it for the same storage by it (pf_check_storage). */
static void pf_request_srs(struct xlmig_ctx *ctx, struct pf_request *req)
{
    struct sr *list = NULL;
    const struct sr *s;
    char *why = NULL;
    size_t n = 0, i;

    if (sr_load(ctx, &list, &n, &why)) {
        LOG(ctx, WARN, "%s: the disks' SRs are not named to the "
            "destination", why);
        free(why);
        return;
    }
    for (i = 0; i < req->n_disks; i++) {
        s = sr_of_path(list, n, req->disks[i].path);
        if (s && sr_identity(ctx, s, req->disks[i].sr_uuid, &why)) {
            req->disks[i].sr_uuid[0] = '\0';
            free(why);
            why = NULL;
        }
    }
    free(list);
}

static void pf_request_fill(const char *json, const struct domcfg *c,
                            const struct hv_host_facts *hf,
                            const struct hv_domain_facts *df,
                            struct pf_request *req)
{
    size_t i;

    memset(req, 0, sizeof(*req));
    req->config = xstrdup(json);
    snprintf(req->xen_version, sizeof(req->xen_version), "%s",
             hf->xen_version);
    req->xen_major = hf->xen_major;
    req->xen_minor = hf->xen_minor;
    req->nr_features = df->nr_features;
    memcpy(req->featureset, df->featureset, sizeof(req->featureset));
    if (gethostname(req->source, sizeof(req->source) - 1) < 0)
        snprintf(req->source, sizeof(req->source), "the source");
    req->disks = xcalloc(c->n_disks ? c->n_disks : 1, sizeof(*req->disks));
    for (i = 0; i < c->n_disks && req->n_disks < PF_DISKS_MAX; i++) {
        if (!c->disks[i].pdev_path || !*c->disks[i].pdev_path) continue;
        pf_disk_ident_get(c->disks[i].pdev_path,
                          &req->disks[req->n_disks++]);
    }
}

int pf_source_checks(struct xlmig_ctx *ctx, struct hv *hv, uint32_t domid,
                     const char *json, const struct domcfg *cfg,
                     bool check_busy, struct pf_request *req,
                     struct pf_report *rep)
{
    struct hv_host_facts hf;
    struct hv_domain_facts df;
    char *away;
    int rc;

    rc = hv_host_facts(hv, &hf);
    if (!rc) rc = hv_domain_facts(hv, domid, &df);
    if (rc) {
        /* The checks that need them cannot run; the admin may force. */
        pf_add(rep, PF_SRC, "host-facts", XLMIG_CHECK_ERROR, "see the "
               "log; --force=host-facts migrates without these checks",
               "cannot read the facts of this host or of domain %s: %s",
               cfg->name, xlmig_strerror(rc));
        memset(&hf, 0, sizeof(hf));
        memset(&df, 0, sizeof(df));
        snprintf(hf.xen_version, sizeof(hf.xen_version), "0.0");
    }
    pf_request_fill(json, cfg, &hf, &df, req);
    pf_request_srs(ctx, req);
    if (check_busy) pf_check_busy(ctx, cfg, rep);
    pf_check_devices(cfg, rep);
    if (!rc) {
        pf_check_paging_source(cfg, &hf, rep);
        pf_check_suspend(cfg, &df, rep);
    }
    away = xasprintf("%s--migratedaway", cfg->name);
    if (hv_name_in_use(hv, away))
        pf_add(rep, PF_SRC, "name-away", XLMIG_CHECK_ERROR,
               "a failed migration left it: run xlmig recover",
               "a domain named %s already exists on this host", away);
    else
        pf_add(rep, PF_SRC, "name-away", XLMIG_CHECK_INFO, NULL,
               "%s is free on this host", away);
    free(away);
    return XLMIG_OK;
}
