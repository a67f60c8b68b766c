/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv-libxl.h - what the libxl backend's files share (hv-libxl.c: context,
 * event loop, domain operations; hv-libxl-monitor.c: the lifecycle
 * monitor; hv-libxl-facts.c: pre-flight facts). Only these files
 * include libxl.h.
 */
#ifndef XLMIG_HV_LIBXL_H
#define XLMIG_HV_LIBXL_H

#define LIBXL_API_VERSION 0x041400
#include <libxl.h>
#include <libxl_utils.h>
#include <poll.h>

#include "hv.h"

/* Whether xlmig-save-helper serves this libxl (hv-libxl-helper.c). */
enum hv_libxl_helper_state {
    HV_LIBXL_HELPER_UNCHECKED,
    HV_LIBXL_HELPER_OK,
    HV_LIBXL_HELPER_NO,
};

struct hv_libxl_helper {
    enum hv_libxl_helper_state state;   /* checked once */
    char *path;                 /* the helper's */
    char why[256];              /* HV_LIBXL_HELPER_NO: one line */
    bool env_set;               /* a save runs with it */
    char *prev;                 /* LIBXL_SAVE_HELPER before it */
    bool aborted;               /* its policy stopped the running save */
};

struct hv_libxl {
    struct hv base;             /* first: struct hv * converts back */
    xentoollog_logger lg;       /* handed to libxl, forwards to ctx->lg */
    libxl_ctx *lctx;
    const struct hv_wait *wait; /* of the running save, for progress */
    struct pollfd *fds;         /* poll set: HV_WAIT_FDS ours, then libxl's */
    size_t nfds_alloc;
    int lock_fd;                /* xl's global lock while ballooning */
    struct hv_libxl_helper helper;
};

/* A libxl asynchronous operation, completed through a callback. */
struct hv_libxl_ao {
    libxl_asyncop_how how;
    bool done;
    int rc;                     /* libxl's code */
};

static inline struct hv_libxl *hv_libxl_of(struct hv *hv)
{
    return (struct hv_libxl *)hv;
}

/* hv-libxl.c */
/* Maps a libxl error to ours, logging what failed. */
int hv_libxl_rc(struct hv_libxl *h, int r, const char *fmt, ...)
    PRINTF_LIKE(3, 4);
/*
 * One turn of libxl's event machinery and our abort fds (w may be NULL),
 * at most about a second long. *abort_r is set if an abort fd fired.
 */
void hv_libxl_poll(struct hv_libxl *h, const struct hv_wait *w,
                   bool *abort_r);
/* Parses and checks a JSON config into cfg (initialised by the caller). */
MUST_CHECK int hv_libxl_config_parse(struct hv_libxl *h, const char *json,
                                     libxl_domain_config *cfg);
/* A config file (JSON or xl.cfg) parsed into cfg. */
MUST_CHECK int hv_libxl_config_file(struct hv_libxl *h, const char *path,
                                    libxl_domain_config *cfg);
/* Makes room for a domain as xl does when autoballooning (takes xl's lock,
 * released by hv_libxl_unlock). */
MUST_CHECK int hv_libxl_freemem(struct hv_libxl *h,
                                const libxl_domain_config *cfg);
void hv_libxl_unlock(struct hv_libxl *h);

/* hv-libxl-facts.c: pre-flight facts (hv.h) */
/* xl.conf's autoballoon, decided as xl decides it. */
bool hv_libxl_autoballoon(struct hv_libxl *h);
int hv_libxl_host_facts(struct hv *hv, struct hv_host_facts *f);
int hv_libxl_domain_facts(struct hv *hv, uint32_t domid,
                          struct hv_domain_facts *f);
int hv_libxl_need_memory(struct hv *hv, const char *json, uint64_t *kb_r);
int hv_libxl_have_bridge(struct hv *hv, const char *bridge, bool *yes_r);
int hv_libxl_have_script(struct hv *hv, const char *script, bool *yes_r);
int hv_libxl_have_cpupool(struct hv *hv, const char *pool, bool *yes_r);
int hv_libxl_pci_assignable(struct hv *hv, const char *bdf, bool *yes_r);

/* hv-libxl-disk.c */
int hv_libxl_disk_live(struct hv *hv, uint32_t domid, const char *vdev,
                       struct hv_disk_live *d);

/*
 * hv-libxl-helper.c: live saves with xlmig's precopy policy run libxl's
 * save helper as xlmig-save-helper. These take no libxl context (tests
 * call them as they are): major.minor is libxl_get_version_info's.
 */
void hv_libxl_helper_init(struct hv_libxl_helper *hs);
void hv_libxl_helper_dispose(struct hv_libxl_helper *hs);
/*
 * Whether xlmig-save-helper (XLMIG_SAVE_HELPER, else the installed one)
 * serves a libxl of Xen major.minor and starts: checked on the first
 * call only; false gives the reason in hs->why.
 */
bool hv_libxl_helper_usable(struct xlmig_ctx *ctx,
                            struct hv_libxl_helper *hs, int major,
                            int minor);
/*
 * Before a live save with w->precopy: if the helper is usable, sets the
 * environment libxl runs it with (LIBXL_SAVE_HELPER, PRECOPY_ENV, and
 * SHMSG_THROTTLE_ENV when w->throttle_vcpus); else warns, once for this
 * save, and leaves libxl's helper. Nothing without w->precopy.
 */
MUST_CHECK int hv_libxl_helper_begin(struct xlmig_ctx *ctx,
                                     struct hv_libxl_helper *hs, int major,
                                     int minor, const struct hv_wait *w);
/* After it: the environment as it was (no-op if begin set nothing). */
void hv_libxl_helper_end(struct hv_libxl_helper *hs);
/*
 * A log message of context PRECOPY_LOG_CONTEXT, from the helper through
 * libxl: a round's report for w->precopy_round (one that aborts sets
 * hs->aborted), the suspend request for w->progress, or a malformed one
 * that is logged and ignored.
 */
void hv_libxl_helper_report(struct xlmig_ctx *ctx, struct hv_libxl_helper *hs,
                            const struct hv_wait *w, const char *text);

/* hv-libxl-sched.c: the scheduler cap (hv.h hv_sched_cap_get/set) */
int hv_libxl_sched_cap_get(struct hv *hv, uint32_t domid, bool *capable_r,
                           unsigned *cap_r, unsigned *vcpus_r);
int hv_libxl_sched_cap_set(struct hv *hv, uint32_t domid, unsigned cap);

/* hv-libxl-monitor.c */
int hv_libxl_monitor(struct hv *hv, uint32_t domid, const struct hv_wait *w);

#endif /* XLMIG_HV_LIBXL_H */
