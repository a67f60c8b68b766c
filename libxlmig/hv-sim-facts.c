/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv-sim-facts.c - what a sim host offers to an incoming domain, for the
 * pre-flight checks (hv.h host facts). They come from DIR/facts, lines of
 * "key = value" ('#' starts a comment; a later line overrides an earlier
 * one), so tests can craft a host that fails any one check:
 *
 *   xen_version = 4.17.5        Xen the host runs
 *   caps = pv hvm hap shadow    what the hypervisor supports
 *   cpus = 8                    physical CPUs 0..7
 *   nodes = 1                   NUMA nodes
 *   memory_mb = 16384           host memory
 *   dom0_mb = 1024              dom0's memory
 *   dom0_min_mb = 512           autoballoon takes dom0 no lower
 *   autoballoon = 0             dom0 balloons down for new domains
 *   claims_mb = 0               memory claimed by domains being built
 *   cpu_remove = avx2 sse4_2    features this host's CPU lacks (see below)
 *   bridges = xenbr0            bridges vifs may attach to
 *   scripts = block vif-bridge  hotplug scripts in /etc/xen/scripts
 *   cpupools = Pool-0
 *   pci_assignable =            PCI devices a guest may be given
 *
 * Free memory is memory_mb less dom0 and every domain's maximum. The
 * CPU featureset is this machine's (CPUID) less cpu_remove; a sim
 * domain's own featureset is that of the host it runs on.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <xenstore.h>

#include "cpufeat.h"
#include "domcfg.h"
#include "fdio.h"
#include "hv-sim.h"

#define SIM_FACTS_MAX (64u << 10)
#define SIM_FACTS_VALUE_MAX 1024
#define SIM_PV_EXTRA_KB 1024        /* libxl's LIBXL_PV_EXTRA_MEMORY */
#define SIM_HVM_EXTRA_KB 2048       /* libxl's LIBXL_HVM_EXTRA_MEMORY */

static const char sim_facts_default[] =
    "# sim host facts (see libxlmig/hv-sim-facts.c); later lines win\n"
    "xen_version = 4.17.5\n"
    "caps = pv hvm hap shadow\n"
    "cpus = 8\n"
    "nodes = 1\n"
    "memory_mb = 16384\n"
    "dom0_mb = 1024\n"
    "dom0_min_mb = 512\n"
    "autoballoon = 0\n"
    "claims_mb = 0\n"
    "cpu_remove =\n"
    "bridges = xenbr0\n"
    "scripts = block vif-bridge vif-route vif-nat\n"
    "cpupools = Pool-0\n"
    "pci_assignable =\n";

struct sim_facts {
    char xen_version[32];
    char caps[SIM_FACTS_VALUE_MAX];
    unsigned long long cpus, nodes, memory_mb, dom0_mb, dom0_min_mb;
    unsigned long long claims_mb, autoballoon;
    char cpu_remove[SIM_FACTS_VALUE_MAX];
    char bridges[SIM_FACTS_VALUE_MAX];
    char scripts[SIM_FACTS_VALUE_MAX];
    char cpupools[SIM_FACTS_VALUE_MAX];
    char pci_assignable[SIM_FACTS_VALUE_MAX];
};

int hv_sim_facts_init(struct xlmig_ctx *ctx, const char *dir)
{
    char *path = xasprintf("%s/facts", dir), *text = NULL;
    int rc;

    rc = fdio_read_file(ctx, path, SIM_FACTS_MAX, &text);
    if (rc == XLMIG_E_NOTFOUND)
        rc = fdio_write_file(ctx, path, sim_facts_default,
                             strlen(sim_facts_default));
    free(text);
    free(path);
    return rc;
}

static char *sim_facts_trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s)) s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
    return s;
}

static int sim_facts_set(struct sim_facts *f, const char *key,
                         const char *val)
{
    static const struct {
        const char *key;
        size_t off;
    } nums[] = {
        { "cpus", offsetof(struct sim_facts, cpus) },
        { "nodes", offsetof(struct sim_facts, nodes) },
        { "memory_mb", offsetof(struct sim_facts, memory_mb) },
        { "dom0_mb", offsetof(struct sim_facts, dom0_mb) },
        { "dom0_min_mb", offsetof(struct sim_facts, dom0_min_mb) },
        { "claims_mb", offsetof(struct sim_facts, claims_mb) },
        { "autoballoon", offsetof(struct sim_facts, autoballoon) },
    };
    static const struct {
        const char *key;
        size_t off, len;
    } strs[] = {
        { "xen_version", offsetof(struct sim_facts, xen_version), 32 },
        { "caps", offsetof(struct sim_facts, caps), SIM_FACTS_VALUE_MAX },
        { "cpu_remove", offsetof(struct sim_facts, cpu_remove),
          SIM_FACTS_VALUE_MAX },
        { "bridges", offsetof(struct sim_facts, bridges),
          SIM_FACTS_VALUE_MAX },
        { "scripts", offsetof(struct sim_facts, scripts),
          SIM_FACTS_VALUE_MAX },
        { "cpupools", offsetof(struct sim_facts, cpupools),
          SIM_FACTS_VALUE_MAX },
        { "pci_assignable", offsetof(struct sim_facts, pci_assignable),
          SIM_FACTS_VALUE_MAX },
    };
    unsigned long long v;
    char *end;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(nums); i++) {
        if (strcmp(key, nums[i].key)) continue;
        errno = 0;
        v = strtoull(val, &end, 10);
        if (errno || end == val || *end || val[0] == '-' ||
            v > (1ULL << 40))
            return XLMIG_E_INVAL;
        *(unsigned long long *)((char *)f + nums[i].off) = v;
        return XLMIG_OK;
    }
    for (i = 0; i < ARRAY_SIZE(strs); i++) {
        if (strcmp(key, strs[i].key)) continue;
        if (strlen(val) >= strs[i].len) return XLMIG_E_INVAL;
        memcpy((char *)f + strs[i].off, val, strlen(val) + 1);
        return XLMIG_OK;
    }
    return XLMIG_E_INVAL;
}

/* The defaults, then DIR/facts over them. */
static int sim_facts_read(struct hv_sim *s, struct sim_facts *f)
{
    struct xlmig_ctx *ctx = s->base.ctx;
    char *path = xasprintf("%s/facts", s->dir), *text = NULL;
    char *defaults = xstrdup(sim_facts_default);
    char *pass[2] = { defaults, NULL }, *line, *save, *eq;
    unsigned lineno, i;
    int rc;

    memset(f, 0, sizeof(*f));
    rc = fdio_read_file(ctx, path, SIM_FACTS_MAX, &text);
    if (rc == XLMIG_E_NOTFOUND) rc = XLMIG_OK;
    if (rc) goto out;
    pass[1] = text;
    for (i = 0; i < 2 && pass[i]; i++) {
        lineno = 0;
        for (line = strtok_r(pass[i], "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            lineno++;
            line[strcspn(line, "#")] = '\0';
            line = sim_facts_trim(line);
            if (!*line) continue;
            eq = strchr(line, '=');
            if (eq) *eq = '\0';
            if (!eq || sim_facts_set(f, sim_facts_trim(line),
                                     sim_facts_trim(eq + 1))) {
                LOG(ctx, ERROR, "%s:%u: not a known 'key = value'", path,
                    lineno);
                rc = XLMIG_E_INVAL;
                goto out;
            }
        }
    }
out:
    free(defaults);
    free(text);
    free(path);
    return rc;
}

/* Whether word is one of the space- or comma-separated words of list. */
static bool sim_facts_has(const char *list, const char *word)
{
    size_t n = strlen(word), len;
    const char *p = list;

    while (*p) {
        p += strspn(p, " ,\t");
        len = strcspn(p, " ,\t");
        if (len == n && len && !strncmp(p, word, n)) return true;
        p += len;
    }
    return false;
}

/* Sum of the maximum memory of every domain of the host. */
static int sim_facts_used_kb(struct hv *hv, uint64_t *kb_r)
{
    struct hv_domain *list;
    size_t n, i;
    int rc;

    *kb_r = 0;
    rc = hv_list(hv, &list, &n);
    if (rc) return rc;
    for (i = 0; i < n; i++)
        *kb_r += list[i].info.max_memkb;
    hv_list_free(list, n);
    return XLMIG_OK;
}

static int sim_facts_featureset(struct hv_sim *s, const struct sim_facts *sf,
                                uint32_t fs[HV_FEATURESET_WORDS])
{
    char *list = xstrdup(sf->cpu_remove), *why = NULL, *p;
    int rc;

    /* The list may be space-separated too. */
    for (p = list; *p; p++)
        if (*p == ' ' || *p == '\t') *p = ',';
    cpufeat_this_cpu(fs, HV_FEATURESET_WORDS);
    rc = *list ? cpufeat_clear_names(fs, HV_FEATURESET_WORDS, list, &why)
               : XLMIG_OK;
    if (rc) LOG(s->base.ctx, ERROR, "%s/facts: cpu_remove: %s", s->dir, why);
    free(why);
    free(list);
    return rc;
}

int hv_sim_host_facts(struct hv *hv, struct hv_host_facts *f)
{
    struct hv_sim *s = hv_sim_of(hv);
    struct sim_facts sf;
    unsigned major, minor;
    uint64_t used_kb, total_kb, taken_kb;
    int rc;

    rc = sim_facts_read(s, &sf);
    if (rc) return rc;
    if (sscanf(sf.xen_version, "%u.%u", &major, &minor) != 2) {
        LOG(hv->ctx, ERROR, "%s/facts: xen_version '%s' is not N.N[.N]",
            s->dir, sf.xen_version);
        return XLMIG_E_INVAL;
    }
    rc = sim_facts_used_kb(hv, &used_kb);
    if (rc) return rc;
    f->xen_major = major;
    f->xen_minor = minor;
    snprintf(f->xen_version, sizeof(f->xen_version), "%s", sf.xen_version);
    f->cap_pv = sim_facts_has(sf.caps, "pv");
    f->cap_hvm = sim_facts_has(sf.caps, "hvm");
    f->cap_hap = sim_facts_has(sf.caps, "hap");
    f->cap_shadow = sim_facts_has(sf.caps, "shadow");
    f->nr_cpus = (unsigned)sf.cpus;
    f->nr_nodes = (unsigned)sf.nodes;
    total_kb = sf.memory_mb * 1024;
    f->total_kb = total_kb;
    taken_kb = sf.dom0_mb * 1024 + used_kb;
    f->free_kb = total_kb > taken_kb ? total_kb - taken_kb : 0;
    f->claimed_kb = sf.claims_mb * 1024;
    f->dom0_kb = sf.dom0_mb * 1024;
    f->dom0_min_kb = sf.dom0_min_mb * 1024;
    f->autoballoon = sf.autoballoon != 0;
    f->nr_features = HV_FEATURESET_WORDS;
    rc = sim_facts_featureset(s, &sf, f->featureset_pv);
    if (rc) return rc;
    memcpy(f->featureset_hvm, f->featureset_pv, sizeof(f->featureset_hvm));
    return XLMIG_OK;
}

int hv_sim_domain_facts(struct hv *hv, uint32_t domid,
                        struct hv_domain_facts *f)
{
    struct hv_sim *s = hv_sim_of(hv);
    struct sim_facts sf;
    char path[64], *v;
    unsigned len;
    int rc;

    rc = sim_facts_read(s, &sf);
    if (rc) return rc;
    f->nr_features = HV_FEATURESET_WORDS;
    rc = sim_facts_featureset(s, &sf, f->featureset);
    if (rc) return rc;
    /* The guest advertises what it can do, as Linux's xenbus does. */
    snprintf(path, sizeof(path), "/local/domain/%u/control/feature-suspend",
             domid);
    v = xs_read(s->xs, XBT_NULL, path, &len);
    f->suspend_feature = v && len == 1 && v[0] == '1';
    free(v);
    return XLMIG_OK;
}

int hv_sim_need_memory(struct hv *hv, const char *json, uint64_t *kb_r)
{
    struct domcfg c;
    char *why = NULL;
    uint64_t kb, maxmem_mb;
    int rc;

    memset(&c, 0, sizeof(c));
    rc = domcfg_parse(json, &c, &why);
    if (rc) {
        LOG(hv->ctx, ERROR, "domain config: %s", why);
        free(why);
        return rc;
    }
    /* libxl_domain_need_memory (libxl_mem.c): the target, the extra of
     * the guest type, shadow memory for translated guests (libxl's
     * default: 4 KiB * (256 per vCPU + 2 per MiB)), in 2 MiB units. */
    kb = c.target_memkb ? c.target_memkb : c.max_memkb;
    if (c.type == DOMCFG_PV) {
        kb += SIM_PV_EXTRA_KB;
    } else {
        maxmem_mb = c.max_memkb / 1024;
        kb += SIM_HVM_EXTRA_KB +
              4 * (256 * (uint64_t)(c.max_vcpus ? c.max_vcpus : 1) +
                   2 * maxmem_mb);
    }
    if (kb % 2048) kb += 2048 - kb % 2048;
    *kb_r = kb;
    domcfg_dispose(&c);
    return XLMIG_OK;
}

/* Looks word up in the facts list named by key. */
static int sim_facts_list_has(struct hv *hv, const char *key,
                              const char *word, bool *yes_r)
{
    struct sim_facts sf;
    const char *list;
    int rc;

    rc = sim_facts_read(hv_sim_of(hv), &sf);
    if (rc) return rc;
    if (!strcmp(key, "bridges")) list = sf.bridges;
    else if (!strcmp(key, "scripts")) list = sf.scripts;
    else if (!strcmp(key, "pci_assignable")) list = sf.pci_assignable;
    else list = sf.cpupools;
    *yes_r = sim_facts_has(list, word);
    return XLMIG_OK;
}

int hv_sim_have_bridge(struct hv *hv, const char *bridge, bool *yes_r)
{
    return sim_facts_list_has(hv, "bridges", bridge, yes_r);
}

int hv_sim_have_script(struct hv *hv, const char *script, bool *yes_r)
{
    const char *base = strrchr(script, '/');

    /* A path names a script in /etc/xen/scripts by its last component. */
    return sim_facts_list_has(hv, "scripts", base ? base + 1 : script,
                              yes_r);
}

/*
 * A simulated domain's disks are files nothing serves, unless a QEMU
 * does: one listening on DIR/qmp/DOMID-VDEV.sock (a test starts it,
 * serving the image as a virtio-blk disk whose serial is VDEV"0") is the
 * domain's QEMU with a monitor of ours, as on a Xen host.
 */
int hv_sim_disk_live(struct hv *hv, uint32_t domid, const char *vdev,
                     struct hv_disk_live *d)
{
    struct hv_sim *s = hv_sim_of(hv);
    char *sock = xasprintf("%s/qmp/%u-%s.sock", s->dir, domid, vdev);
    struct stat st;

    if (strlen(sock) < sizeof(d->handle) && !stat(sock, &st) &&
        S_ISSOCK(st.st_mode)) {
        d->mover = HV_DISK_MOVER_QMP;
        strcpy(d->handle, sock);
        snprintf(d->prop, sizeof(d->prop), "serial");
    } else {
        d->mover = HV_DISK_MOVER_NONE;
        snprintf(d->why, sizeof(d->why), "a simulated host's disk (no "
                 "QEMU, no blkback)");
    }
    free(sock);
    return XLMIG_OK;
}

int hv_sim_have_cpupool(struct hv *hv, const char *pool, bool *yes_r)
{
    return sim_facts_list_has(hv, "cpupools", pool, yes_r);
}

int hv_sim_pci_assignable(struct hv *hv, const char *bdf, bool *yes_r)
{
    return sim_facts_list_has(hv, "pci_assignable", bdf, yes_r);
}
