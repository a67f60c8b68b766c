/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv-sim-stream.c - save and restore of sim domains as real migration
 * streams: the libxl v2 framing around a libxc v3 stream, record for record
 * what Xen 4.17 emits (research/libxl-api.md 3.4):
 *
 *   libxl hdr, LIBXC_CONTEXT, libxc ihdr + dhdr,
 *   [PV: X86_PV_INFO], X86_CPUID_POLICY, X86_MSR_POLICY, STATIC_DATA_END,
 *   [PV: X86_PV_P2M_FRAMES],
 *   PAGE_DATA rounds (<= 1024 pfns per record, pfns ascending per round),
 *   end of checkpoint: PV: X86_TSC_INFO, SHARED_INFO, per vCPU
 *   X86_PV_VCPU_BASIC + X86_PV_VCPU_EXTENDED; HVM/PVH: X86_TSC_INFO,
 *   HVM_CONTEXT, HVM_PARAMS,
 *   libxc END, [HVM: libxl EMULATOR_CONTEXT], libxl END.
 *
 * The live rounds follow libxc's send_memory_live: with xlmig's precopy
 * policy when the caller gives one (precopy.h: asked before and after
 * each round, it may throttle the guest through its scheduler cap), else
 * libxc's simple policy: asked before each round; a round is sent even
 * when the answer is "stop"; it stops when fewer than 50 pages were
 * dirtied or after 5 iterations. Then the guest is suspended and the
 * pages dirtied since the last round go in the final round.
 *
 * Restore feeds every byte to the stream parser (stream.c) before acting
 * on it, so what the parser rejects is never applied.
 */
#include <cpuid.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fdio.h"
#include "hv-sim.h"
#include "stream.h"

#define SPP_MAX_ITERATIONS 5        /* libxc's simple precopy policy */
#define SPP_TARGET_DIRTY_COUNT 50
#define SIM_XEN_MAJOR 4
#define SIM_XEN_MINOR 17
#define SIM_PV_VCPU_BASIC_LEN 5168  /* vcpu_guest_context_x86_64_t */
#define SIM_PV_VCPU_EXT_LEN 128
#define SIM_EMU_QEMU_UPSTREAM 2
#define SIM_REC_HDR_LEN 8

struct sim_saver {
    struct hv_sim *s;
    uint32_t domid;
    int fd;
    const struct hv_wait *w;
    struct fdio_wait fw;
    struct sim_config c;
    uint8_t *mem;
    size_t mem_len;
    uint64_t *map;              /* the live dirty map */
    size_t map_len;
    uint64_t *bits;             /* this round's pages (a copy) */
    uint64_t pages;
    struct buf *b;
    uint64_t batch[STREAM_BATCH_MAX];
    uint32_t nbatch;
    unsigned long done, total;  /* progress of the current round */
    double next_tick;
    uint64_t bytes;             /* written to the stream */
    unsigned throttle;          /* the precopy policy's, applied */
};

/* I/O on the stream stops when one of the operation's abort fds fires. */
static struct fdio_wait sim_fdio_wait(const struct hv_wait *w)
{
    struct fdio_wait fw = fdio_wait_make(0, -1);
    size_t i;

    for (i = 0; w && i < HV_WAIT_FDS && i < FDIO_CANCEL_FDS; i++)
        fw.cancel_fds[i] = w->abort_fds[i];
    return fw;
}

/* ---- saving ---- */

static int saver_flush_buf(struct sim_saver *sv)
{
    int rc;

    rc = fdio_write_all(sv->s->base.ctx, sv->fd, buf_ptr(sv->b),
                        buf_len(sv->b), &sv->fw, "the save stream");
    sv->bytes += buf_len(sv->b);
    buf_reset(sv->b);
    return rc;
}

static void saver_tick(struct sim_saver *sv)
{
    double now = ctx_now(sv->s->base.ctx);

    if (sv->w && sv->w->progress)
        sv->w->progress(sv->w->arg, HV_PROGRESS_ROUND, sv->done, sv->total);
    if (sv->w && sv->w->tick && now >= sv->next_tick) {
        sv->w->tick(sv->w->arg);
        sv->next_tick = now + 1.0;
    }
}

/* Writes one PAGE_DATA record of the batched pfns, pages from memory. */
static int saver_flush_batch(struct sim_saver *sv)
{
    uint32_t n = sv->nbatch, i, run;
    int rc = XLMIG_OK;

    if (!n) return XLMIG_OK;
    if (buf_put_le32(sv->b, STREAM_LIBXC_PAGE_DATA) ||
        buf_put_le32(sv->b, 8 + n * 8 + n * STREAM_PAGE_SIZE) ||
        buf_put_le32(sv->b, n) || buf_put_le32(sv->b, 0))
        return XLMIG_E_INTERNAL;
    for (i = 0; i < n; i++)
        if (buf_put_le64(sv->b, sv->batch[i])) return XLMIG_E_INTERNAL;
    rc = saver_flush_buf(sv);
    /* Page data straight from the guest's memory, a run at a time. */
    for (i = 0; i < n && !rc; i += run) {
        for (run = 1; i + run < n && sv->batch[i + run] ==
                                         sv->batch[i] + run; run++)
            ;
        rc = fdio_write_all(sv->s->base.ctx, sv->fd,
                            sv->mem + sv->batch[i] * STREAM_PAGE_SIZE,
                            (size_t)run * STREAM_PAGE_SIZE, &sv->fw,
                            "the save stream");
        sv->bytes += (uint64_t)run * STREAM_PAGE_SIZE;
    }
    sv->done += n;
    sv->nbatch = 0;
    if (!rc) saver_tick(sv);
    return rc;
}

/* Sends every page (all) or those in sv->bits, in ascending order. */
static int saver_send_pages(struct sim_saver *sv, bool all,
                            unsigned long count)
{
    uint64_t pfn;
    int rc;

    sv->done = 0;
    sv->total = count;
    for (pfn = 0; pfn < sv->pages; pfn++) {
        if (!all && !(sv->bits[pfn / 64] & (1ULL << (pfn % 64)))) continue;
        sv->batch[sv->nbatch++] = pfn;      /* type NOTAB: bits 63-60 zero */
        if (sv->nbatch == STREAM_BATCH_MAX) {
            rc = saver_flush_batch(sv);
            if (rc) return rc;
        }
    }
    return saver_flush_batch(sv);
}

/* Log-dirty "clean": takes and clears the dirty map; returns its count. */
static unsigned long saver_clean(struct sim_saver *sv)
{
    unsigned long count = 0;
    size_t i, words = sv->map_len / 8;

    for (i = 0; i < words; i++) {
        sv->bits[i] = __atomic_exchange_n(&sv->map[i], 0, __ATOMIC_ACQ_REL);
        count += (unsigned long)__builtin_popcountll(sv->bits[i]);
    }
    return count;
}

static int saver_rec(struct sim_saver *sv, uint32_t type, const void *body,
                     uint32_t len)
{
    if (stream_put_libxc_rec(sv->b, type, body, len)) return XLMIG_E_INTERNAL;
    return saver_flush_buf(sv);
}

/* The host CPU's leaves, as a CPUID policy record (xen_cpuid_leaf_t). */
static int saver_cpuid_policy(struct sim_saver *sv)
{
    static const uint32_t leaves[][2] = {
        { 0x0, 0xffffffffu }, { 0x1, 0xffffffffu }, { 0x7, 0 },
        { 0xd, 0 }, { 0xd, 1 }, { 0x80000000u, 0xffffffffu },
        { 0x80000001u, 0xffffffffu },
    };
    uint32_t body[ARRAY_SIZE(leaves) * 6], r[4];
    size_t i;

    for (i = 0; i < ARRAY_SIZE(leaves); i++) {
        memset(r, 0, sizeof(r));
        __cpuid_count(leaves[i][0],
                      leaves[i][1] == 0xffffffffu ? 0 : leaves[i][1],
                      r[0], r[1], r[2], r[3]);
        body[i * 6] = leaves[i][0];
        body[i * 6 + 1] = leaves[i][1];
        memcpy(&body[i * 6 + 2], r, sizeof(r));
    }
    return saver_rec(sv, STREAM_LIBXC_X86_CPUID_POLICY, body, sizeof(body));
}

static int saver_static(struct sim_saver *sv)
{
    static const struct { uint32_t idx, flags; uint64_t val; } msrs[] = {
        { 0xce, 0, 0 },         /* MSR_INTEL_PLATFORM_INFO */
        { 0x10a, 0, 0 },        /* MSR_ARCH_CAPABILITIES */
    };
    uint8_t pv_info[8] = { 8, 4 };  /* guest width 8, 4 pt levels */
    uint64_t frames, i;
    uint32_t range[2];
    int rc;

    if (stream_put_libxl_hdr(sv->b) ||
        stream_put_libxl_rec(sv->b, STREAM_LIBXL_LIBXC_CONTEXT, NULL, 0) ||
        stream_put_libxc_hdrs(sv->b, sv->c.guest_type, SIM_XEN_MAJOR,
                              SIM_XEN_MINOR))
        return XLMIG_E_INTERNAL;
    rc = saver_flush_buf(sv);
    if (!rc && sv->c.guest_type == STREAM_DHDR_TYPE_X86_PV)
        rc = saver_rec(sv, STREAM_LIBXC_X86_PV_INFO, pv_info,
                       sizeof(pv_info));
    if (!rc) rc = saver_cpuid_policy(sv);
    if (!rc) rc = saver_rec(sv, STREAM_LIBXC_X86_MSR_POLICY, msrs,
                            sizeof(msrs));
    if (!rc) rc = saver_rec(sv, STREAM_LIBXC_STATIC_DATA_END, NULL, 0);
    if (rc || sv->c.guest_type != STREAM_DHDR_TYPE_X86_PV) return rc;
    /* The frames holding the guest's p2m (8-byte entries). */
    frames = (sv->pages * 8 + STREAM_PAGE_SIZE - 1) / STREAM_PAGE_SIZE;
    range[0] = 0;
    range[1] = (uint32_t)(sv->pages - 1);
    if (buf_put_le32(sv->b, STREAM_LIBXC_X86_PV_P2M_FRAMES) ||
        buf_put_le32(sv->b, (uint32_t)(8 + frames * 8)) ||
        buf_put_le32(sv->b, range[0]) || buf_put_le32(sv->b, range[1]))
        return XLMIG_E_INTERNAL;
    for (i = 0; i < frames; i++)
        if (buf_put_le64(sv->b, 0x100000 + i)) return XLMIG_E_INTERNAL;
    return saver_flush_buf(sv);
}

static int saver_end_of_checkpoint(struct sim_saver *sv)
{
    struct timespec ts;
    uint8_t tsc[24] = { 0 }, *blob = NULL;
    uint32_t khz = 2000000, vcpu;
    uint64_t nsec;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    nsec = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    memcpy(tsc + 4, &khz, 4);
    memcpy(tsc + 8, &nsec, 8);
    rc = saver_rec(sv, STREAM_LIBXC_X86_TSC_INFO, tsc, sizeof(tsc));
    if (rc) return rc;
    if (sv->c.guest_type == STREAM_DHDR_TYPE_X86_PV) {
        blob = xcalloc(1, 8 + SIM_PV_VCPU_BASIC_LEN);
        rc = saver_rec(sv, STREAM_LIBXC_SHARED_INFO, blob, STREAM_PAGE_SIZE);
        for (vcpu = 0; vcpu < sv->c.vcpus && !rc; vcpu++) {
            memcpy(blob, &vcpu, 4);
            rc = saver_rec(sv, STREAM_LIBXC_X86_PV_VCPU_BASIC, blob,
                           8 + SIM_PV_VCPU_BASIC_LEN);
            if (!rc)
                rc = saver_rec(sv, STREAM_LIBXC_X86_PV_VCPU_EXTENDED, blob,
                               8 + SIM_PV_VCPU_EXT_LEN);
        }
        free(blob);
        return rc;
    }
    {
        /* hvm_save_descriptor + hvm_save_header, then the END descriptor. */
        uint8_t ctxt[40] = { 0 };
        uint64_t params[1 + 4 * 2];
        uint32_t magic = 0x54381286, one = 1, len = 24;

        ctxt[0] = 1;                        /* HVM_SAVE_CODE(HEADER) */
        memcpy(ctxt + 4, &len, 4);
        memcpy(ctxt + 8, &magic, 4);
        memcpy(ctxt + 12, &one, 4);         /* HVM_FILE_VERSION */
        memcpy(ctxt + 28, &khz, 4);
        rc = saver_rec(sv, STREAM_LIBXC_HVM_CONTEXT, ctxt, sizeof(ctxt));
        /* u32 count + u32 res (one LE u64), then { index, value }. */
        params[0] = 4;
        params[1] = 1;  params[2] = sv->pages - 1;     /* STORE_PFN */
        params[3] = 2;  params[4] = 1;                 /* STORE_EVTCHN */
        params[5] = 17; params[6] = sv->pages - 2;     /* CONSOLE_PFN */
        params[7] = 18; params[8] = 2;                 /* CONSOLE_EVTCHN */
        if (!rc)
            rc = saver_rec(sv, STREAM_LIBXC_HVM_PARAMS, params,
                           sizeof(params));
    }
    return rc;
}

static int saver_trailer(struct sim_saver *sv)
{
    static const char qemu[] = "xlmig sim: no device model state";
    uint8_t emu[8 + sizeof(qemu)] = { 0 };
    uint32_t id = SIM_EMU_QEMU_UPSTREAM;

    if (stream_put_libxc_rec(sv->b, STREAM_LIBXC_END, NULL, 0))
        return XLMIG_E_INTERNAL;
    if (!strcmp(sv->c.type, "hvm")) {
        memcpy(emu, &id, 4);
        memcpy(emu + 8, qemu, sizeof(qemu));
        if (stream_put_libxl_rec(sv->b, STREAM_LIBXL_EMULATOR_CONTEXT, emu,
                                 sizeof(emu)))
            return XLMIG_E_INTERNAL;
    }
    if (stream_put_libxl_rec(sv->b, STREAM_LIBXL_END, NULL, 0))
        return XLMIG_E_INTERNAL;
    return saver_flush_buf(sv);
}

static bool saver_aborted(struct sim_saver *sv)
{
    size_t i;

    for (i = 0; i < FDIO_CANCEL_FDS; i++)
        if (sv->fw.cancel_fds[i] >= 0 && fdio_readable(sv->fw.cancel_fds[i]))
            return true;
    return false;
}

/* Caps the guest for the policy's throttle (w->throttle_vcpus allows). */
static int saver_throttle(struct sim_saver *sv, unsigned throttle)
{
    const struct hv_wait *w = sv->w;
    unsigned cap;
    int rc;

    if (throttle == sv->throttle) return XLMIG_OK;
    cap = precopy_cap(throttle, w->throttle_vcpus, w->orig_cap);
    rc = hv_sched_cap_set(&sv->s->base, sv->domid, cap);
    if (rc) return rc;
    if (throttle)
        LOG(sv->s->base.ctx, INFO, "domain %u throttled to %u %% of its CPU "
            "(cap %u) so that its memory converges", sv->domid,
            100 - throttle, cap);
    sv->throttle = throttle;
    return XLMIG_OK;
}

/*
 * The live rounds with xlmig's precopy policy (precopy.h), in libxc's
 * order: ask, send (also when told to stop), ask again after the round.
 */
static int saver_live_policy(struct sim_saver *sv)
{
    struct xlmig_ctx *ctx = sv->s->base.ctx;
    const struct hv_wait *w = sv->w;
    struct precopy_report r;
    struct precopy pc;
    enum precopy_action a;
    unsigned long dirty = (unsigned long)sv->pages;
    uint64_t bytes0;
    char text[PRECOPY_REPORT_TEXT_MAX];
    int rc;

    saver_clean(sv);
    precopy_init(&pc, w->precopy, w->throttle_vcpus > 0, ctx_now(ctx));
    for (;;) {
        if (saver_aborted(sv)) {
            LOG(ctx, INFO, "save of domain %u cancelled", sv->domid);
            return XLMIG_E_CANCELLED;
        }
        precopy_before(&pc, dirty, ctx_now(ctx));
        bytes0 = sv->bytes;
        if (dirty > 0) {
            rc = saver_send_pages(sv, pc.round == 1, dirty);
            if (rc) return rc;
        }
        a = precopy_after(&pc, sv->bytes - bytes0, ctx_now(ctx), &r);
        if (!precopy_report_format(&r, text, sizeof(text)))
            LOG(ctx, DETAIL, "domain %u precopy: %s", sv->domid, text);
        if (w->precopy_round) w->precopy_round(w->arg, &r);
        if (a == PRECOPY_ABORT) {
            LOG(ctx, ERROR, "domain %u does not converge: %s", sv->domid,
                r.why);
            return XLMIG_E_CONVERGE;
        }
        if (a == PRECOPY_STOP) {
            if (r.why[0])
                LOG(ctx, WARN, "domain %u: %s", sv->domid, r.why);
            return XLMIG_OK;
        }
        rc = saver_throttle(sv, r.throttle);
        if (rc) return rc;
        dirty = saver_clean(sv);
    }
}

/* The live rounds, as libxc's send_memory_live with its default policy. */
static int saver_live(struct sim_saver *sv)
{
    unsigned long dirty = (unsigned long)sv->pages;
    unsigned iteration = 0;
    bool stop;
    int rc;

    saver_clean(sv);        /* enable log-dirty: start from a clean map */
    for (;;) {
        stop = dirty < SPP_TARGET_DIRTY_COUNT ||
               iteration >= SPP_MAX_ITERATIONS;
        if (saver_aborted(sv)) {
            LOG(sv->s->base.ctx, INFO, "save of domain %u cancelled",
                sv->domid);
            return XLMIG_E_CANCELLED;
        }
        if (dirty > 0) {
            LOG(sv->s->base.ctx, DETAIL, "Frames iteration %u of domain %u: "
                "%lu pages", iteration, sv->domid, dirty);
            rc = saver_send_pages(sv, iteration == 0, dirty);
            if (rc) return rc;
        }
        if (stop) return XLMIG_OK;
        dirty = saver_clean(sv);
        iteration++;
    }
}

int hv_sim_save(struct hv *hv, uint32_t domid, int fd, unsigned flags,
                const struct hv_wait *w)
{
    struct hv_sim *s = hv_sim_of(hv);
    struct sim_saver sv;
    struct hv_dominfo info = { 0 };
    char *json = NULL, *name = NULL;
    unsigned long dirty;
    int rc, oflags = -1;

    memset(&sv, 0, sizeof(sv));
    sv.s = s;
    sv.domid = domid;
    sv.fd = fd;
    sv.w = w;
    sv.fw = sim_fdio_wait(w);
    sv.b = buf_new(64u << 10);
    /*
     * Non-blocking, so that a big write to a full pipe returns and the
     * abort fds are looked at: a stopped pump no longer reads.
     */
    oflags = fdio_set_nonblock(hv->ctx, fd, true);
    if (oflags < 0) {
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    rc = hv->ops->domain_info(hv, domid, &info);
    if (rc) goto out;
    if (info.shutdown || (!info.running && !info.paused)) {
        LOGD(hv->ctx, ERROR, domid, "is not running; cannot save it");
        rc = XLMIG_E_HV;
        goto out;
    }
    rc = hv->ops->config_get(hv, domid, 0, &json);
    if (!rc) rc = hv_sim_config_parse(hv->ctx, json, &sv.c);
    if (!rc) rc = hv->ops->domain_name(hv, domid, &name);
    if (!rc) rc = hv_sim_map(s, domid, "mem", false, (void **)&sv.mem,
                             &sv.mem_len);
    if (!rc) rc = hv_sim_map(s, domid, "dirty", true, (void **)&sv.map,
                             &sv.map_len);
    if (rc) goto out;
    sv.pages = sv.mem_len / STREAM_PAGE_SIZE;
    if (sv.map_len < sim_dirty_map_bytes(sv.pages)) {
        LOGD(hv->ctx, ERROR, domid, "dirty map too small for %" PRIu64
             " pages", sv.pages);
        rc = XLMIG_E_HV;
        goto out;
    }
    sv.bits = xcalloc(sv.map_len / 8, 8);
    sv.next_tick = ctx_now(hv->ctx) + 1.0;

    rc = saver_static(&sv);
    if (!rc && (flags & HV_SAVE_LIVE))
        rc = w && w->precopy ? saver_live_policy(&sv) : saver_live(&sv);
    if (rc) goto out;

    /* Its own cap back first: a throttled guest freezes slowly. */
    if (sv.throttle) rc = saver_throttle(&sv, 0);
    if (!rc && w && w->progress)
        w->progress(w->arg, HV_PROGRESS_SUSPENDING, 0, 0);
    if (!rc) rc = hv_sim_guest_stop(s, domid, SIM_REASON_SUSPEND);
    if (rc) goto out;
    LOGD(hv->ctx, DETAIL, domid, "Domain now suspended");
    if (w && w->progress) w->progress(w->arg, HV_PROGRESS_SUSPENDED, 0, 0);
    hv_sim_freeze_copy(s, domid, name);

    if (flags & HV_SAVE_LIVE) {
        dirty = saver_clean(&sv);
        rc = dirty ? saver_send_pages(&sv, false, dirty) : XLMIG_OK;
    } else {
        rc = saver_send_pages(&sv, true, (unsigned long)sv.pages);
    }
    if (!rc && (flags & HV_SAVE_DEBUG)) {
        /* libxc's debug mode: VERIFY, then every page again. */
        rc = saver_rec(&sv, STREAM_LIBXC_VERIFY, NULL, 0);
        if (!rc) rc = saver_send_pages(&sv, true, (unsigned long)sv.pages);
    }
    if (!rc) rc = saver_end_of_checkpoint(&sv);
    if (!rc) rc = saver_trailer(&sv);
out:
    /* A throttled guest gets its own cap back, however the save ended. */
    if (sv.throttle && saver_throttle(&sv, 0))
        LOG(hv->ctx, ERROR, "domain %u: its scheduler cap %u could not be "
            "put back", domid, w->orig_cap);
    if (oflags >= 0 && !(oflags & O_NONBLOCK))
        fdio_set_nonblock(hv->ctx, fd, false);
    if (sv.mem) munmap(sv.mem, sv.mem_len);
    if (sv.map) munmap(sv.map, sv.map_len);
    free(sv.bits);
    buf_free(sv.b);
    hv_sim_config_dispose(&sv.c);
    free(json);
    free(name);
    return rc;
}

/* ---- restoring ---- */

struct sim_restorer {
    struct hv_sim *s;
    int fd, memfd;
    struct fdio_wait fw;
    struct stream *st;
    uint8_t *page_buf;          /* one PAGE_DATA record's body */
    uint64_t pages;             /* the domain's memory in pages */
    uint64_t *written;          /* pages written at least once */
    uint32_t guest_type;
    const struct hv_wait *w;
    double next_tick;
};

/* Reads len bytes of stream into p and has the parser check them. */
static int rst_read(struct sim_restorer *r, void *p, size_t len)
{
    size_t used;
    int rc;

    rc = fdio_read_exact(r->s->base.ctx, r->fd, p, len, &r->fw,
                         "the migration stream");
    if (rc == XLMIG_E_PEER) {
        if (stream_finish(r->st) != XLMIG_OK)
            LOG(r->s->base.ctx, ERROR, "stream: %s", stream_error(r->st));
        return XLMIG_E_TRUNC;
    }
    if (rc) return rc;
    rc = stream_feed(r->st, p, len, &used);
    if (rc) {
        LOG(r->s->base.ctx, ERROR, "stream: %s", stream_error(r->st));
        return rc;
    }
    if (used != len) {
        LOG(r->s->base.ctx, ERROR, "stream: data inside the final record");
        return XLMIG_E_PROTO;
    }
    return XLMIG_OK;
}

/* Reads and checks len bytes that the restore does not need. */
static int rst_skip(struct sim_restorer *r, uint64_t len)
{
    size_t n;
    int rc;

    while (len > 0) {
        n = len < (1u << 20) ? (size_t)len : (1u << 20);
        rc = rst_read(r, r->page_buf, n);
        if (rc) return rc;
        len -= n;
    }
    return XLMIG_OK;
}

static bool page_is_zero(const uint8_t *p)
{
    static const uint8_t zero[STREAM_PAGE_SIZE];

    return !memcmp(p, zero, sizeof(zero));
}

/* One PAGE_DATA body: pfns, then the pages written into the image. */
static int rst_page_data(struct sim_restorer *r, uint32_t len)
{
    struct xlmig_ctx *ctx = r->s->base.ctx;
    uint64_t pfn, ent;
    uint32_t count, i, data = 0;
    const uint8_t *page;
    uint8_t *pfns;
    int rc;

    if (len > 8 + STREAM_BATCH_MAX * (8 + STREAM_PAGE_SIZE)) {
        LOG(ctx, ERROR, "stream: PAGE_DATA record of %" PRIu32 " bytes is "
            "over %u pfns", len, STREAM_BATCH_MAX);
        return XLMIG_E_TOOBIG;
    }
    rc = rst_read(r, r->page_buf, len);
    if (rc) return rc;
    count = buf_load_le32(r->page_buf);
    pfns = r->page_buf + 8;
    page = pfns + (size_t)count * 8;
    for (i = 0; i < count; i++, page += STREAM_PAGE_SIZE) {
        ent = buf_load_le64(pfns + (size_t)i * 8);
        pfn = ent & STREAM_PFN_MASK;
        if ((ent >> STREAM_PFN_TYPE_SHIFT) >= STREAM_PFN_TYPE_BROKEN) {
            page -= STREAM_PAGE_SIZE;       /* no data for this pfn */
            continue;
        }
        data++;
        if (pfn >= r->pages) {
            LOG(ctx, ERROR, "stream: pfn %#" PRIx64 " is beyond the "
                "domain's %" PRIu64 " pages", pfn, r->pages);
            return XLMIG_E_PROTO;
        }
        /* A fresh image reads as zeroes: skip zero pages never written. */
        if (!(r->written[pfn / 64] & (1ULL << (pfn % 64))) &&
            page_is_zero(page))
            continue;
        if (pwrite(r->memfd, page, STREAM_PAGE_SIZE,
                   (off_t)(pfn * STREAM_PAGE_SIZE)) != STREAM_PAGE_SIZE) {
            rc = errno == ENOSPC || errno == EDQUOT ? XLMIG_E_NOSPACE
                                                    : XLMIG_E_SYSTEM;
            LOGE(ctx, ERROR, "writing the domain's memory image");
            return rc;
        }
        r->written[pfn / 64] |= 1ULL << (pfn % 64);
    }
    (void)data;
    if (r->w && r->w->tick && ctx_now(ctx) >= r->next_tick) {
        r->w->tick(r->w->arg);
        r->next_tick = ctx_now(ctx) + 1.0;
    }
    return XLMIG_OK;
}

/* The libxc stream after LIBXC_CONTEXT, up to and including its END. */
static int rst_libxc(struct sim_restorer *r)
{
    uint8_t hdr[STREAM_LIBXC_IHDR_LEN + STREAM_LIBXC_DHDR_LEN];
    uint32_t type, len;
    int rc;

    rc = rst_read(r, hdr, sizeof(hdr));
    if (rc) return rc;
    type = buf_load_le32(hdr + STREAM_LIBXC_IHDR_LEN);
    if (type != r->guest_type) {
        LOG(r->s->base.ctx, ERROR, "stream: the stream holds a %s guest but "
            "the config describes a %s one",
            type == STREAM_DHDR_TYPE_X86_PV ? "PV" : "HVM/PVH",
            r->guest_type == STREAM_DHDR_TYPE_X86_PV ? "PV" : "HVM/PVH");
        return XLMIG_E_PROTO;
    }
    for (;;) {
        rc = rst_read(r, hdr, SIM_REC_HDR_LEN);
        if (rc) return rc;
        type = buf_load_le32(hdr);
        len = buf_load_le32(hdr + 4);
        if (type == STREAM_LIBXC_PAGE_DATA) rc = rst_page_data(r, len);
        else rc = rst_skip(r, (len + 7u) & ~7u);
        if (rc) return rc;
        if (type == STREAM_LIBXC_END) return XLMIG_OK;
    }
}

static int rst_stream(struct sim_restorer *r)
{
    uint8_t hdr[STREAM_LIBXL_HDR_LEN];
    uint32_t type, len;
    int rc;

    rc = rst_read(r, hdr, STREAM_LIBXL_HDR_LEN);
    while (!rc) {
        rc = rst_read(r, hdr, SIM_REC_HDR_LEN);
        if (rc) break;
        type = buf_load_le32(hdr);
        len = buf_load_le32(hdr + 4);
        if (type == STREAM_LIBXL_END) break;
        if (type == STREAM_LIBXL_LIBXC_CONTEXT) rc = rst_libxc(r);
        else rc = rst_skip(r, (len + 7u) & ~7u);
    }
    if (!rc && !stream_done(r->st)) {
        LOG(r->s->base.ctx, ERROR, "stream: not complete after END");
        rc = XLMIG_E_PROTO;
    }
    return rc;
}

int hv_sim_restore(struct hv *hv, const char *json, const char *name, int fd,
                   const struct hv_wait *w, uint32_t *domid_r)
{
    struct hv_sim *s = hv_sim_of(hv);
    struct sim_restorer r;
    struct sim_config c;
    struct sim_hdr h;
    uint32_t domid = HV_INVALID_DOMID;
    char *path = NULL;
    int rc;

    memset(&r, 0, sizeof(r));
    r.memfd = -1;
    rc = hv_sim_config_parse(hv->ctx, json, &c);
    if (rc) return rc;
    rc = hv_sim_domain_make(s, json, name, &domid);
    if (rc) goto out;
    r.s = s;
    r.fd = fd;
    r.w = w;
    r.fw = sim_fdio_wait(w);
    r.st = stream_new(NULL, NULL);
    r.pages = c.max_memkb * 1024 / STREAM_PAGE_SIZE;
    r.guest_type = c.guest_type;
    r.written = xcalloc(sim_dirty_map_bytes(r.pages) / 8, 8);
    r.page_buf = xmalloc(8 + STREAM_BATCH_MAX * (8 + STREAM_PAGE_SIZE));
    r.next_tick = ctx_now(hv->ctx) + 1.0;
    path = hv_sim_path(s, domid, "mem");
    r.memfd = open(path, O_RDWR | O_CLOEXEC);
    if (r.memfd < 0) {
        LOGE(hv->ctx, ERROR, "open %s", path);
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    rc = rst_stream(&r);
    if (rc) goto out;
    if (pread(r.memfd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
        memcmp(h.magic, SIM_MAGIC, sizeof(h.magic)) ||
        h.pages != r.pages) {
        LOG(hv->ctx, ERROR, "the restored memory of %s is not a sim guest "
            "of %" PRIu64 " pages", name, r.pages);
        rc = XLMIG_E_PROTO;
        goto out;
    }
    *domid_r = domid;
out:
    if (r.memfd >= 0) close(r.memfd);
    if (rc && domid != HV_INVALID_DOMID && hv->ops->destroy(hv, domid))
        LOG(hv->ctx, ERROR, "could not destroy the partial domain %u", domid);
    stream_free(r.st);
    free(r.written);
    free(r.page_buf);
    free(path);
    hv_sim_config_dispose(&c);
    return rc;
}
