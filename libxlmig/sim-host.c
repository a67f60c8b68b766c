/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sim-host.c - the public API of sim hosts (libxlmig.h): making and
 * removing hosts, making sim domains with a workload, reading a guest's
 * view of itself. The backend itself is hv-sim*.c.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "hv-sim.h"
#include "sim-xenstored.h"

#define SIM_DEFAULT_MEMORY_MB 64
#define SIM_MAX_MEMORY_MB (64u << 10)
#define SIM_CONFIG_FILE_MAX (1u << 20)

int xlmig_sim_host_create(struct xlmig_ctx *ctx, const char *dir)
{
    char *dom = xasprintf("%s/dom", dir);
    int rc = XLMIG_OK;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        LOGE(ctx, ERROR, "create %s", dir);
        rc = err_from_errno(errno);
        goto out;
    }
    if (mkdir(dom, 0700) < 0 && errno != EEXIST) {
        LOGE(ctx, ERROR, "create %s", dom);
        rc = err_from_errno(errno);
        goto out;
    }
    rc = hv_sim_facts_init(ctx, dir);
    if (!rc) rc = simxs_start(ctx, dir);
out:
    free(dom);
    return rc;
}

int xlmig_sim_host_destroy(struct xlmig_ctx *ctx, const char *dir)
{
    int rc, r;

    rc = hv_sim_host_wipe(ctx, dir);
    r = simxs_stop(ctx, dir);
    return rc ? rc : r;
}

/* The context's backend, which must be sim. */
static int sim_backend(struct xlmig_ctx *ctx, struct hv_sim **s_r)
{
    struct hv *hv;
    int rc;

    rc = ctx_hv(ctx, &hv);
    if (rc) return rc;
    if (hv->ops != &hv_sim_ops) {
        LOG(ctx, ERROR, "this needs the sim backend (XLMIG_BACKEND=sim and "
            "XLMIG_SIM_HOST=DIR)");
        return XLMIG_E_INVAL;
    }
    *s_r = hv_sim_of(hv);
    return XLMIG_OK;
}

static const char *const sim_shapes[] = {
    [SIM_SHAPE_UNIFORM] = "uniform",
    [SIM_SHAPE_HOT] = "hot",
    [SIM_SHAPE_SWEEP] = "sweep",
};

static char *sim_new_uuid(void)
{
    char text[HV_UUID_STR_LEN];
    uint8_t u[16];

    if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u)) abort();
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);     /* version 4 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);     /* variant 1 */
    hv_uuid_str(u, text);
    return xstrdup(text);
}

/* Writes the guest's header page into a fresh image. */
static int sim_write_header(struct hv_sim *s, uint32_t domid,
                            const struct sim_hdr *h)
{
    char *path = hv_sim_path(s, domid, "mem");
    int fd, rc = XLMIG_OK;

    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || pwrite(fd, h, sizeof(*h), 0) != (ssize_t)sizeof(*h)) {
        LOGE(s->base.ctx, ERROR, "write the guest header into %s", path);
        rc = XLMIG_E_SYSTEM;
    }
    if (fd >= 0) close(fd);
    free(path);
    return rc;
}

/* xorshift64: fast, and good enough to defeat a compressor. */
static uint64_t sim_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* One page of fill: 0 zero, 1 text-like, 2 random. */
static void sim_fill_page(uint8_t *pg, int kind, uint64_t *x)
{
    static const char *const words[] = {
        "the ", "domain ", "migrates ", "to ", "a ", "host ", "page ",
        "memory ", "stream ", "xen ", "of ", "and ", "guest ", "dirty ",
        "round ", "\n",
    };
    size_t i = 0, n;
    const char *w;

    if (kind == 0) {
        memset(pg, 0, SIM_PAGE_SIZE);
    } else if (kind == 2) {
        for (i = 0; i < SIM_PAGE_SIZE; i += 8) {
            uint64_t v = sim_rand(x);

            memcpy(pg + i, &v, 8);
        }
    } else {
        while (i < SIM_PAGE_SIZE) {
            w = words[sim_rand(x) % (sizeof(words) / sizeof(words[0]))];
            n = strlen(w);
            if (n > SIM_PAGE_SIZE - i) n = SIM_PAGE_SIZE - i;
            memcpy(pg + i, w, n);
            i += n;
        }
    }
}

/* Fills the image's pages after the header (o->fill). */
static int sim_fill(struct hv_sim *s, uint32_t domid, const char *fill,
                    const struct sim_hdr *h)
{
    char *path = hv_sim_path(s, domid, "mem");
    uint8_t *pg = xmalloc(SIM_PAGE_SIZE);
    uint64_t x = h->seed | 1, i, r;
    int fd, kind, rc = XLMIG_OK;

    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) rc = XLMIG_E_SYSTEM;
    for (i = 1; !rc && i < h->pages; i++) {
        r = sim_rand(&x) % 10;
        kind = !strcmp(fill, "random") ? 2 : r < 4 ? 0 : r < 7 ? 1 : 2;
        if (!kind) continue;        /* the file is sparse: zero already */
        sim_fill_page(pg, kind, &x);
        if (pwrite(fd, pg, SIM_PAGE_SIZE, (off_t)(i * SIM_PAGE_SIZE)) !=
            SIM_PAGE_SIZE)
            rc = XLMIG_E_SYSTEM;
    }
    if (rc) LOGE(s->base.ctx, ERROR, "fill the memory image %s", path);
    if (fd >= 0) close(fd);
    free(pg);
    free(path);
    return rc;
}

/* A config file's JSON under a new name, and its memory in MiB. */
static int sim_config_file(struct hv_sim *s, const char *path,
                           const char *name, char **json_r, uint64_t *mb_r)
{
    struct xlmig_ctx *ctx = s->base.ctx;
    struct sim_config c;
    char *text = NULL, *uuid = NULL;
    int rc;

    *json_r = NULL;
    rc = fdio_read_file(ctx, path, SIM_CONFIG_FILE_MAX, &text);
    if (rc == XLMIG_E_NOTFOUND) LOG(ctx, ERROR, "no config file %s", path);
    if (!rc) rc = hv_sim_config_rewrite(ctx, text, name, NULL, false, 0,
                                        json_r);
    if (!rc) rc = hv_sim_config_parse(ctx, *json_r, &c);
    if (rc) goto out;
    /* As libxl: a domain without a uuid (or a nil one) gets a fresh one. */
    if (!strcmp(c.uuid, SIM_NIL_UUID)) {
        hv_sim_config_dispose(&c);
        free(*json_r);
        *json_r = NULL;
        uuid = sim_new_uuid();
        rc = hv_sim_config_rewrite(ctx, text, name, uuid, false, 0, json_r);
        if (!rc) rc = hv_sim_config_parse(ctx, *json_r, &c);
        if (rc) goto out;
    }
    *mb_r = c.max_memkb / 1024;
    hv_sim_config_dispose(&c);
    if (!*mb_r || *mb_r > SIM_MAX_MEMORY_MB) {
        LOG(ctx, ERROR, "%s: memory must be 1..%u MiB", path,
            SIM_MAX_MEMORY_MB);
        rc = XLMIG_E_INVAL;
    }
out:
    if (rc) {
        free(*json_r);
        *json_r = NULL;
    }
    free(uuid);
    free(text);
    return rc;
}

int xlmig_sim_domain_create(struct xlmig_ctx *ctx,
                            const struct xlmig_sim_domain_opts *o,
                            uint32_t *domid_r)
{
    const char *type = o->type ? o->type : "pvh";
    uint64_t mb = o->memory_mb ? o->memory_mb : SIM_DEFAULT_MEMORY_MB;
    uint64_t wss_mb = o->wss_mb ? o->wss_mb : (mb / 4 ? mb / 4 : 1);
    unsigned vcpus = o->vcpus ? o->vcpus : 1;
    struct sim_hdr h;
    struct hv_sim *s;
    uint32_t domid = HV_INVALID_DOMID, shape = SIM_SHAPE_UNIFORM;
    char *uuid = NULL, *json = NULL;
    int rc;

    *domid_r = HV_INVALID_DOMID;
    rc = sim_backend(ctx, &s);
    if (rc) return rc;
    if (!o->name) {
        LOG(ctx, ERROR, "a sim domain needs a name");
        return XLMIG_E_INVAL;
    }
    if (strcmp(type, "pvh") && strcmp(type, "pv") && strcmp(type, "hvm")) {
        LOG(ctx, ERROR, "unknown guest type '%s' (pvh, pv or hvm)", type);
        return XLMIG_E_INVAL;
    }
    if (mb > SIM_MAX_MEMORY_MB || wss_mb >= mb + 1 || vcpus > 128) {
        LOG(ctx, ERROR, "memory must be 1..%u MiB, the working set at most "
            "the memory, vcpus 1..128", SIM_MAX_MEMORY_MB);
        return XLMIG_E_INVAL;
    }
    if (o->shape) {
        for (shape = 0; shape < ARRAY_SIZE(sim_shapes); shape++)
            if (!strcmp(o->shape, sim_shapes[shape])) break;
        if (shape == ARRAY_SIZE(sim_shapes)) {
            LOG(ctx, ERROR, "unknown workload shape '%s' (uniform, hot or "
                "sweep)", o->shape);
            return XLMIG_E_INVAL;
        }
    }
    if (o->fill && strcmp(o->fill, "zero") && strcmp(o->fill, "random") &&
        strcmp(o->fill, "mixed")) {
        LOG(ctx, ERROR, "unknown fill '%s' (zero, random or mixed)",
            o->fill);
        return XLMIG_E_INVAL;
    }
    if (o->config) {
        rc = sim_config_file(s, o->config, o->name, &json, &mb);
        if (rc) goto out;
        wss_mb = o->wss_mb ? o->wss_mb : (mb / 4 ? mb / 4 : 1);
        if (wss_mb > mb) wss_mb = mb;
    } else {
        uuid = sim_new_uuid();
        json = hv_sim_config_new(o->name, uuid, type, mb * 1024, vcpus);
    }
    rc = hv_sim_domain_make(s, json, o->name, &domid);
    if (rc) goto out;

    memset(&h, 0, sizeof(h));
    memcpy(h.magic, SIM_MAGIC, sizeof(h.magic));
    h.version = SIM_IMAGE_VERSION;
    h.shape = shape;
    h.pages = mb * 1024 * 1024 / SIM_PAGE_SIZE;
    h.wss_pages = wss_mb * 1024 * 1024 / SIM_PAGE_SIZE;
    if (h.wss_pages >= h.pages) h.wss_pages = h.pages - 1;
    h.rate = o->rate;
    if (getrandom(&h.seed, sizeof(h.seed), 0) != (ssize_t)sizeof(h.seed))
        abort();
    rc = sim_write_header(s, domid, &h);
    if (!rc && o->fill && strcmp(o->fill, "zero"))
        rc = sim_fill(s, domid, o->fill, &h);
    if (!rc && !o->paused) rc = hv_unpause(&s->base, domid);
    if (rc) {
        if (hv_destroy(&s->base, domid))
            LOG(ctx, ERROR, "could not remove the half-made domain %u",
                domid);
        goto out;
    }
    *domid_r = domid;
out:
    free(uuid);
    free(json);
    return rc;
}

int xlmig_sim_domain_info(struct xlmig_ctx *ctx, const char *domain,
                          struct xlmig_sim_domain_info *info)
{
    struct hv_dominfo di;
    struct sim_config c;
    struct sim_state st;
    struct sim_hdr h;
    struct hv_sim *s;
    char *json = NULL, *path = NULL, *name = NULL;
    uint32_t domid;
    unsigned vcpus;
    bool capable;
    int fd, rc;

    memset(info, 0, sizeof(*info));
    rc = sim_backend(ctx, &s);
    if (rc) return rc;
    rc = xlmig_domain_lookup(ctx, domain, &domid, &name);
    if (rc) return rc;
    rc = hv_domain_info(&s->base, domid, &di);
    if (!rc) rc = hv_config_get(&s->base, domid, 0, &json);
    if (!rc) rc = hv_sim_config_parse(ctx, json, &c);
    if (rc) goto out;
    info->domid = domid;
    snprintf(info->name, sizeof(info->name), "%s", name);
    snprintf(info->type, sizeof(info->type), "%s", c.type);
    hv_sim_config_dispose(&c);
    snprintf(info->state, sizeof(info->state), "%s",
             !di.shutdown ? (di.paused ? "paused" : "running")
             : di.shutdown_reason == HV_SHUTDOWN_SUSPEND ? "suspended"
             : di.shutdown_reason == HV_SHUTDOWN_CRASH ? "crashed"
                                                       : "shutdown");
    if (!hv_sim_state_read(s, domid, &st) && hv_sim_guest_alive(&st))
        info->guest_pid = (int)st.pid;
    path = hv_sim_path(s, domid, "mem");
    snprintf(info->image, sizeof(info->image), "%s", path);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
        LOGE(ctx, ERROR, "read the guest header of %s", path);
        rc = XLMIG_E_SYSTEM;
    }
    if (fd >= 0) close(fd);
    if (rc) goto out;
    info->memory_mb = h.pages * SIM_PAGE_SIZE >> 20;
    info->rate = h.rate;
    info->wss_mb = h.wss_pages * SIM_PAGE_SIZE >> 20;
    snprintf(info->shape, sizeof(info->shape), "%s",
             h.shape < ARRAY_SIZE(sim_shapes) ? sim_shapes[h.shape] : "?");
    info->counter = h.counter;
    info->writes = h.writes;
    info->boots = h.boots;
    info->resumes = h.resumes;
    /* The cap is the host's, beside the guest: not having it is no
     * reason to say nothing of the guest (logged). */
    if (hv_sched_cap_get(&s->base, domid, &capable, &info->sched_cap,
                         &vcpus))
        info->sched_cap = 0;
out:
    free(json);
    free(path);
    free(name);
    return rc;
}

int xlmig_sim_domain_shutdown(struct xlmig_ctx *ctx, const char *domain,
                              const char *how)
{
    static const struct {
        const char *how;
        enum sim_reason reason;
    } hows[] = {
        { "poweroff", SIM_REASON_POWEROFF }, { "reboot", SIM_REASON_REBOOT },
        { "crash", SIM_REASON_CRASH },
    };
    struct hv_sim *s;
    char *name = NULL;
    uint32_t domid;
    size_t i;
    int rc;

    for (i = 0; i < ARRAY_SIZE(hows); i++)
        if (!strcmp(how, hows[i].how)) break;
    if (i == ARRAY_SIZE(hows)) {
        LOG(ctx, ERROR, "'%s' is not poweroff, reboot or crash", how);
        return XLMIG_E_INVAL;
    }
    rc = sim_backend(ctx, &s);
    if (!rc) rc = xlmig_domain_lookup(ctx, domain, &domid, &name);
    if (!rc) rc = hv_sim_guest_stop(s, domid, hows[i].reason);
    free(name);
    return rc;
}
