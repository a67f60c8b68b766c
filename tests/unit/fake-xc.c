/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake-xc.c - LD_PRELOADed into xlmig-save-helper by test-savehelper: the
 * few libxenctrl/libxenguest calls it makes, without Xen. Its
 * xc_domain_save follows libxc 4.17's live loop (xg_sr_save.c
 * send_memory_live: the precopy policy before and after each round,
 * stats as libxc keeps them, the round's pages written to io_fd), then
 * suspends through the callback and sends the rest, switching QEMU's
 * log-dirty on and off around it as for an HVM/PVH guest. It logs what
 * it does through the helper's logger, context "fake-xc", so the test
 * sees it in the helper's messages, in order.
 *
 * Environment: FAKE_XC_ROUNDS "N,N,..." the dirty pages of each round
 * (the last repeats; default 1000); FAKE_XC_SCHED "credit", "credit2"
 * (default) or "null"; FAKE_XC_CAP_FAIL set: setting a cap fails;
 * FAKE_XC_ROUND_MS: how long a live round takes (the guest's time to
 * dirty, which a policy measures; default: no time); FAKE_XC_BLOCK set:
 * the first round after a cap was set writes until a write fails (the
 * test signals the helper).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenguest.h>

#define FAKE_PAGE 4096              /* bytes a page puts on the stream */
#define FAKE_ROUNDS_MAX 64

static xentoollog_logger *fake_lg;
static int fake_capped;             /* a cap was set */
static struct { uint16_t weight, cap; } fake_sdom = { 256, 0 };

__attribute__((format(printf, 1, 2)))
static void fake_log(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (fake_lg)
        fake_lg->vmessage(fake_lg, XTL_DEBUG, -1, "fake-xc", fmt, ap);
    va_end(ap);
}

xc_interface *xc_interface_open(xentoollog_logger *logger,
                                xentoollog_logger *dombuild_logger,
                                unsigned open_flags)
{
    static int handle;

    (void)dombuild_logger;
    (void)open_flags;
    fake_lg = logger;
    fake_log("open");
    return (xc_interface *)&handle;
}

int xc_interface_close(xc_interface *xch)
{
    (void)xch;
    return 0;
}

int xc_domain_getinfo(xc_interface *xch, uint32_t first_domid,
                      unsigned int max_doms, xc_dominfo_t *info)
{
    (void)xch;
    if (!max_doms) return 0;
    memset(info, 0, sizeof(*info));
    info->domid = first_domid;
    info->cpupool = 0;
    return 1;
}

xc_cpupoolinfo_t *xc_cpupool_getinfo(xc_interface *xch, uint32_t poolid)
{
    const char *s = getenv("FAKE_XC_SCHED");
    xc_cpupoolinfo_t *p = calloc(1, sizeof(*p));

    (void)xch;
    if (!p) abort();
    p->cpupool_id = poolid;
    p->sched_id = !s || !strcmp(s, "credit2") ? XEN_SCHEDULER_CREDIT2 :
                  !strcmp(s, "credit") ? XEN_SCHEDULER_CREDIT :
                  XEN_SCHEDULER_NULL;
    return p;
}

void xc_cpupool_infofree(xc_interface *xch, xc_cpupoolinfo_t *info)
{
    (void)xch;
    free(info);
}

/* Either scheduler's set: one cap, logged under the scheduler's name. */
static int fake_cap_set(const char *sched, uint32_t domid, unsigned weight,
                        unsigned cap)
{
    if (getenv("FAKE_XC_CAP_FAIL")) {
        errno = EPERM;
        return -1;
    }
    fake_sdom.weight = weight;
    fake_sdom.cap = cap;
    fake_capped = 1;
    fake_log("%s cap of %u: %u (weight %u)", sched, domid, cap, weight);
    return 0;
}

int xc_sched_credit_domain_get(xc_interface *xch, uint32_t domid,
                               struct xen_domctl_sched_credit *sdom)
{
    (void)xch;
    (void)domid;
    sdom->weight = fake_sdom.weight;
    sdom->cap = fake_sdom.cap;
    return 0;
}

int xc_sched_credit_domain_set(xc_interface *xch, uint32_t domid,
                               struct xen_domctl_sched_credit *sdom)
{
    (void)xch;
    return fake_cap_set("credit", domid, sdom->weight, sdom->cap);
}

int xc_sched_credit2_domain_get(xc_interface *xch, uint32_t domid,
                                struct xen_domctl_sched_credit2 *sdom)
{
    (void)xch;
    (void)domid;
    sdom->weight = fake_sdom.weight;
    sdom->cap = fake_sdom.cap;
    return 0;
}

int xc_sched_credit2_domain_set(xc_interface *xch, uint32_t domid,
                                struct xen_domctl_sched_credit2 *sdom)
{
    (void)xch;
    return fake_cap_set("credit2", domid, sdom->weight, sdom->cap);
}

/* The time a live round takes (FAKE_XC_ROUND_MS). */
static void fake_round_time(void)
{
    const char *ms = getenv("FAKE_XC_ROUND_MS");
    struct timespec ts;

    if (!ms) return;
    ts.tv_sec = 0;
    ts.tv_nsec = strtol(ms, NULL, 10) % 1000 * 1000000L;
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/* Writes pages' worth of bytes to fd (forever if block): 0, or -1. */
static int fake_send(int fd, long pages, int block)
{
    static const char page[FAKE_PAGE * 64];
    long left = pages * FAKE_PAGE;
    ssize_t r;

    if (block) fake_log("writing until it fails");
    while (block || left > 0) {
        r = write(fd, page, block || left > (long)sizeof(page)
                                ? sizeof(page) : (size_t)left);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            fake_log("write to fd %d failed: %s", fd, strerror(errno));
            return -1;
        }
        left -= r;
    }
    return 0;
}

int xc_domain_save(xc_interface *xch, int io_fd, uint32_t dom,
                   uint32_t flags, struct save_callbacks *callbacks,
                   xc_stream_type_t stream_type, int recv_fd)
{
    const char *s = getenv("FAKE_XC_ROUNDS");
    int block = getenv("FAKE_XC_BLOCK") != NULL;
    long rounds[FAKE_ROUNDS_MAX], dirty;
    struct precopy_stats st;
    unsigned n = 0, x = 0;
    int d = XGS_POLICY_CONTINUE_PRECOPY, e;
    char *end;

    (void)xch;
    fake_log("save of %u: fd %d, flags %u, stream %d, recv_fd %d", dom,
             io_fd, flags, (int)stream_type, recv_fd);
    for (; s && *s && n < FAKE_ROUNDS_MAX; s = *end ? end + 1 : end)
        rounds[n++] = strtol(s, &end, 10);
    if (!n) rounds[n++] = 1000;
    if (callbacks->switch_qemu_logdirty(dom, 1, callbacks->data)) {
        fake_log("Couldn't enable qemu log-dirty mode");
        return -1;
    }
    if (flags & XCFLAGS_LIVE) {
        st.iteration = 0;
        st.total_written = 0;
        st.dirty_count = dirty = rounds[0];
        for (;;) {
            d = callbacks->precopy_policy(st, callbacks->data);
            x++;
            fake_round_time();
            if (dirty > 0 && d != XGS_POLICY_ABORT &&
                fake_send(io_fd, dirty, block && fake_capped))
                goto fail;
            if (d != XGS_POLICY_CONTINUE_PRECOPY) break;
            st.iteration = x;
            st.total_written += (unsigned long)st.dirty_count;
            st.dirty_count = -1;
            d = callbacks->precopy_policy(st, callbacks->data);
            if (d != XGS_POLICY_CONTINUE_PRECOPY) break;
            st.dirty_count = dirty = rounds[x < n ? x : n - 1];
        }
        if (d == XGS_POLICY_ABORT) {
            fake_log("Abort precopy loop");
            errno = 0;
            goto fail;
        }
    }
    if (!callbacks->suspend(callbacks->data)) {
        fake_log("the guest did not suspend");
        goto fail;
    }
    if (fake_send(io_fd, 10, 0)) goto fail;
    fake_log("End of stream");
    callbacks->switch_qemu_logdirty(dom, 0, callbacks->data);
    return 0;
fail:
    e = errno;
    callbacks->switch_qemu_logdirty(dom, 0, callbacks->data);
    errno = e;
    return -1;
}
