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

struct hv_libxl {
    struct hv base;             /* first: struct hv * converts back */
    xentoollog_logger lg;       /* handed to libxl, forwards to ctx->lg */
    libxl_ctx *lctx;
    const struct hv_wait *wait; /* of the running save, for progress */
    struct pollfd *fds;         /* poll set: HV_WAIT_FDS ours, then libxl's */
    size_t nfds_alloc;
    int lock_fd;                /* xl's global lock while ballooning */
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

/* hv-libxl-monitor.c */
int hv_libxl_monitor(struct hv *hv, uint32_t domid, const struct hv_wait *w);

#endif /* XLMIG_HV_LIBXL_H */
