/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sim-image.h - what a sim domain's memory image and dirty map look like,
 * shared by the sim backend (hv-sim*.c) and the guest process
 * (tools/xlmig-simguest.c), which does not link libxlmig.
 *
 * A sim domain's memory is a file of pages (4 KiB each). Page 0 is the
 * guest's own header: its workload (how many pages it dirties per second,
 * over which working set, in which pattern) and its counter. Because it
 * lives in guest memory, the workload and the counter travel with the
 * domain in the migration stream like any other page, and the guest goes
 * on where it stopped. The toolstack talks to the guest through the
 * request field and SIGUSR1 (as libxl writes control/shutdown and fires
 * the event channel); the guest says why it stopped in shutdown_reason.
 *
 * The dirty map is a second file: one bit per page, set by the guest after
 * each write to that page (the sim's log-dirty bitmap); the saver reads and
 * clears it word by word with atomic exchanges.
 *
 * Every field is little-endian (the sim runs on x86 only, like Xen here).
 */
#ifndef XLMIG_SIM_IMAGE_H
#define XLMIG_SIM_IMAGE_H

#include <stdint.h>

#define SIM_PAGE_SIZE       4096u
#define SIM_MAGIC           "XLMIGSIM"
#define SIM_IMAGE_VERSION   1

enum sim_shape {
    SIM_SHAPE_UNIFORM = 0,      /* random pages of the working set */
    SIM_SHAPE_HOT = 1,          /* 80 % of writes in its first 20 % */
    SIM_SHAPE_SWEEP = 2,        /* the working set in order, wrapping */
};

/* What the toolstack asks of the guest (request) and why it stopped. */
enum sim_reason {
    SIM_REASON_NONE = 0,
    SIM_REASON_POWEROFF = 1,
    SIM_REASON_REBOOT = 2,
    SIM_REASON_SUSPEND = 3,
    SIM_REASON_CRASH = 4,
};

struct sim_hdr {
    char magic[8];              /* SIM_MAGIC, no NUL */
    uint32_t version;           /* SIM_IMAGE_VERSION */
    uint32_t shape;             /* enum sim_shape */
    uint64_t pages;             /* pages in the image, header included */
    uint64_t wss_pages;         /* working set: pages 1..wss_pages */
    uint64_t rate;              /* page writes per second (0: idle) */
    uint64_t counter;           /* +1 every tick (10 ms) while running */
    uint64_t writes;            /* page writes since the first boot */
    uint64_t boots;             /* starts from power-on (not resumes) */
    uint64_t resumes;           /* starts after a suspend */
    uint32_t request;           /* enum sim_reason, set by the toolstack */
    uint32_t shutdown_reason;   /* enum sim_reason, set by the guest */
    uint64_t seed;              /* state of the guest's random numbers */
};

/*
 * The domain's scheduler parameters (the file DIR/dom/ID/sched, a page):
 * the host's, not the guest's, so they do not travel with it. cap as
 * Xen's credit scheduler has it: % of one CPU for the whole domain, 0 for
 * none; the guest writes at rate * min(1, cap / (100 * vcpus)).
 */
#define SIM_SCHED_CAP_MAX 65535         /* as Xen's, a uint16_t */
struct sim_sched {
    uint32_t cap;
    uint32_t vcpus;
};

/* Bytes of dirty map for pages (a whole number of 64-bit words). */
static inline uint64_t sim_dirty_map_bytes(uint64_t pages)
{
    return (pages + 63) / 64 * 8;
}

#endif /* XLMIG_SIM_IMAGE_H */
