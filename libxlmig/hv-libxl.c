/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv-libxl.c - the hypervisor backend over libxl (real Xen 4.17).
 *
 * One libxl_ctx per process, SIGCHLD in "always selective reap" mode so our
 * own children (the transport) are ours to reap, SIGPIPE ignored (libxl
 * writes streams with plain write()), every fd we make O_CLOEXEC. Long
 * operations run asynchronously and are driven here with
 * libxl_osevent_beforepoll/afterpoll together with our abort fds, so they
 * can be cut short with libxl_ao_abort. libxc's progress reaches us through
 * the logger we give libxl, which forwards everything to the caller's.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>


#include "fdio.h"
#include "hv-libxl.h"
#include "child.h"

#ifdef LIBXL_HAVE_NO_SUSPEND_RESUME
#error "xlmig needs a libxl with suspend/resume (x86)"
#endif

#define HV_LIBXL_CONFIG_MAX (1u << 20)
#define HV_LIBXL_XL_LOCK "/var/lock/xl"
#define HV_LIBXL_XL_TIMEOUT 60          /* seconds for "xl create -n" */

static const libxl_childproc_hooks hv_libxl_childproc_hooks = {
    .chldowner = libxl_sigchld_owner_libxl_always_selective_reap,
};

/* ---- logger: libxl and libxc log through this into the caller's ---- */

static struct hv_libxl *hv_libxl_of_lg(xentoollog_logger *lg)
{
    return (struct hv_libxl *)((char *)lg - offsetof(struct hv_libxl, lg));
}

/*
 * xlmig-save-helper's round reports arrive as log messages of their own
 * context (libxl's save callout logs them with "%s"): they go to the
 * save's hv_wait, not to the log as they are. Once its policy aborted the
 * save, the helper says why; the errors of libxl and libxc after that are
 * consequences, and misleading ones ("domain did not respond to suspend
 * request"): they are details.
 */
PRINTF_LIKE(5, 0)
static void hv_libxl_vmessage(xentoollog_logger *lg, xentoollog_level level,
                              int errnoval, const char *context,
                              const char *format, va_list al)
{
    struct hv_libxl *h = hv_libxl_of_lg(lg);
    xentoollog_logger *out = h->base.ctx->lg;
    char text[PRECOPY_REPORT_TEXT_MAX + 2];

    if (context && !strcmp(context, PRECOPY_LOG_CONTEXT)) {
        vsnprintf(text, sizeof(text), format, al);
        hv_libxl_helper_report(h->base.ctx, &h->helper, h->wait, text);
        return;
    }
    if (h->helper.aborted && level >= XTL_WARN &&
        (!context || strcmp(context, PRECOPY_HELPER_CONTEXT)))
        level = XTL_DETAIL;
    out->vmessage(out, level, errnoval, context, format, al);
}

static void hv_libxl_progress(xentoollog_logger *lg, const char *context,
                              const char *doing_what, int percent,
                              unsigned long done, unsigned long total)
{
    struct hv_libxl *h = hv_libxl_of_lg(lg);
    xentoollog_logger *out = h->base.ctx->lg;
    const struct hv_wait *w = h->wait;

    /* libxc's strings (xg_sr_save.c), research/libxl-api.md 3.5 */
    if (w && w->progress && doing_what) {
        if (!strcmp(doing_what, "Domain now suspended"))
            w->progress(w->arg, HV_PROGRESS_SUSPENDED, done, total);
        else if (!strncmp(doing_what, "Frames iteration", 16))
            w->progress(w->arg, HV_PROGRESS_ROUND, done, total);
    }
    if (out->progress)
        out->progress(out, context, doing_what, percent, done, total);
}

static void hv_libxl_lg_destroy(xentoollog_logger *lg)
{
    (void)lg;                   /* embedded in struct hv_libxl */
}

/* ---- errors and the event loop ---- */

int hv_libxl_rc(struct hv_libxl *h, int r, const char *fmt, ...)
{
    char what[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    switch (r) {
    case 0:
        return XLMIG_OK;
    case ERROR_ABORTED:
        LOG(h->base.ctx, ERROR, "%s: aborted", what);
        return XLMIG_E_CANCELLED;
    case ERROR_DOMAIN_NOTFOUND:
        LOG(h->base.ctx, ERROR, "%s: no such domain", what);
        return XLMIG_E_NOTFOUND;
    case ERROR_GUEST_TIMEDOUT:
        LOG(h->base.ctx, ERROR, "%s: the guest did not respond in time",
            what);
        return XLMIG_E_TIMEDOUT;
    default:
        LOG(h->base.ctx, ERROR, "%s failed (libxl error %d)", what, r);
        return XLMIG_E_HV;
    }
}

void hv_libxl_poll(struct hv_libxl *h, const struct hv_wait *w,
                   bool *abort_r)
{
    struct timeval now;
    int nlib, timeout = 1000, i, r;

    *abort_r = false;
    gettimeofday(&now, NULL);
    for (;;) {
        nlib = (int)(h->nfds_alloc - HV_WAIT_FDS);
        r = libxl_osevent_beforepoll(h->lctx, &nlib, h->fds + HV_WAIT_FDS,
                                     &timeout, now);
        if (r != ERROR_BUFFERFULL) break;
        h->nfds_alloc = HV_WAIT_FDS + (size_t)nlib;
        h->fds = xrealloc(h->fds, h->nfds_alloc * sizeof(*h->fds));
    }
    if (r) {
        /* Nothing recoverable can be done with a broken event loop. */
        LOG(h->base.ctx, CRITICAL, "libxl_osevent_beforepoll: %d", r);
        abort();
    }
    for (i = 0; i < HV_WAIT_FDS; i++) {
        h->fds[i].fd = w ? w->abort_fds[i] : -1;
        h->fds[i].events = POLLIN;
        h->fds[i].revents = 0;
    }
    r = poll(h->fds, HV_WAIT_FDS + (nfds_t)nlib, timeout);
    if (r < 0) {
        if (errno != EINTR) {
            LOGE(h->base.ctx, CRITICAL, "poll");
            abort();
        }
        for (i = 0; i < HV_WAIT_FDS + nlib; i++)
            h->fds[i].revents = 0;
    }
    gettimeofday(&now, NULL);
    libxl_osevent_afterpoll(h->lctx, nlib, h->fds + HV_WAIT_FDS, now);
    for (i = 0; i < HV_WAIT_FDS; i++)
        if (h->fds[i].revents) *abort_r = true;
}

static void hv_libxl_ao_done(libxl_ctx *lctx, int rc, void *for_callback)
{
    struct hv_libxl_ao *ao = for_callback;

    (void)lctx;
    ao->rc = rc;
    ao->done = true;
}

static void hv_libxl_ao_init(struct hv_libxl_ao *ao)
{
    memset(ao, 0, sizeof(*ao));
    ao->how.callback = hv_libxl_ao_done;
    ao->how.u.for_callback = ao;    /* unique while it runs: abortable */
}

/*
 * Drives a started operation to completion. An abort fd makes us ask libxl
 * to abort it, after which we still wait for it to finish: libxl holds
 * pointers into the caller's frame until then.
 */
static void hv_libxl_ao_run(struct hv_libxl *h, struct hv_libxl_ao *ao,
                            const struct hv_wait *w)
{
    bool aborting = false, fired;
    double next_tick = ctx_now(h->base.ctx) + 1.0;
    int r;

    while (!ao->done) {
        hv_libxl_poll(h, aborting ? NULL : w, &fired);
        if (fired && !aborting) {
            LOG(h->base.ctx, INFO, "aborting the running libxl operation");
            r = libxl_ao_abort(h->lctx, &ao->how);
            if (r && r != ERROR_NOTFOUND)
                LOG(h->base.ctx, WARN, "libxl_ao_abort: %d", r);
            aborting = true;
        }
        if (w && w->tick && ctx_now(h->base.ctx) >= next_tick) {
            w->tick(w->arg);
            next_tick = ctx_now(h->base.ctx) + 1.0;
        }
    }
}

/* ---- open / close ---- */

static int hv_libxl_open(struct xlmig_ctx *ctx, struct hv **hv_r)
{
    struct hv_libxl *h = xcalloc(1, sizeof(*h));
    int r;

    h->base.ctx = ctx;
    h->lg.vmessage = hv_libxl_vmessage;
    h->lg.progress = hv_libxl_progress;
    h->lg.destroy = hv_libxl_lg_destroy;
    h->lock_fd = -1;
    hv_libxl_helper_init(&h->helper);
    h->nfds_alloc = HV_WAIT_FDS + 16;
    h->fds = xcalloc(h->nfds_alloc, sizeof(*h->fds));
    r = libxl_ctx_alloc(&h->lctx, LIBXL_VERSION, 0, &h->lg);
    if (r) {
        LOG(ctx, ERROR, "cannot open libxl (error %d): this must run as "
            "root in a Xen dom0", r);
        free(h->fds);
        free(h);
        return XLMIG_E_HV;
    }
    libxl_childproc_setmode(h->lctx, &hv_libxl_childproc_hooks, NULL);
    /* libxl writes migration streams with write(): EPIPE, not death. */
    signal(SIGPIPE, SIG_IGN);
    *hv_r = &h->base;
    return XLMIG_OK;
}

static void hv_libxl_close(struct hv *hv)
{
    struct hv_libxl *h = hv_libxl_of(hv);

    hv_libxl_unlock(h);
    hv_libxl_helper_dispose(&h->helper);
    libxl_ctx_free(h->lctx);
    free(h->fds);
    free(h);
}

/* ---- domains ---- */

static int hv_libxl_lookup(struct hv *hv, const char *name_or_id,
                           uint32_t *domid_r)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    uint32_t domid;

    if (libxl_domain_qualifier_to_domid(h->lctx, name_or_id, &domid))
        return XLMIG_E_NOTFOUND;
    if (libxl_domain_info(h->lctx, NULL, domid))
        return XLMIG_E_NOTFOUND;
    *domid_r = domid;
    return XLMIG_OK;
}

static int hv_libxl_domain_name(struct hv *hv, uint32_t domid, char **name_r)
{
    char *name = libxl_domid_to_name(hv_libxl_of(hv)->lctx, domid);

    if (!name) return XLMIG_E_NOTFOUND;
    *name_r = name;
    return XLMIG_OK;
}

static enum hv_shutdown_reason hv_libxl_reason(int reason)
{
    switch (reason) {
    case LIBXL_SHUTDOWN_REASON_POWEROFF: return HV_SHUTDOWN_POWEROFF;
    case LIBXL_SHUTDOWN_REASON_REBOOT: return HV_SHUTDOWN_REBOOT;
    case LIBXL_SHUTDOWN_REASON_SUSPEND: return HV_SHUTDOWN_SUSPEND;
    case LIBXL_SHUTDOWN_REASON_CRASH: return HV_SHUTDOWN_CRASH;
    case LIBXL_SHUTDOWN_REASON_WATCHDOG: return HV_SHUTDOWN_WATCHDOG;
    case LIBXL_SHUTDOWN_REASON_SOFT_RESET: return HV_SHUTDOWN_SOFT_RESET;
    default: return HV_SHUTDOWN_UNKNOWN;
    }
}

static void hv_libxl_fill(const libxl_dominfo *di, struct hv_dominfo *info)
{
    info->domid = di->domid;
    memcpy(info->uuid, libxl_uuid_bytearray_const(&di->uuid), 16);
    info->running = di->running;
    info->blocked = di->blocked;
    info->paused = di->paused;
    info->shutdown = di->shutdown;
    info->dying = di->dying;
    info->shutdown_reason = hv_libxl_reason(di->shutdown_reason);
    info->current_memkb = di->current_memkb;
    info->max_memkb = di->max_memkb;
    info->outstanding_memkb = di->outstanding_memkb;
    info->cpu_time_ns = di->cpu_time;
}

static int hv_libxl_domain_info(struct hv *hv, uint32_t domid,
                                struct hv_dominfo *info_r)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    libxl_dominfo di;
    int r;

    libxl_dominfo_init(&di);
    r = libxl_domain_info(h->lctx, &di, domid);
    if (r == ERROR_DOMAIN_NOTFOUND) {
        libxl_dominfo_dispose(&di);
        return XLMIG_E_NOTFOUND;
    }
    if (r) {
        libxl_dominfo_dispose(&di);
        return hv_libxl_rc(h, r, "info of domain %u", domid);
    }
    hv_libxl_fill(&di, info_r);
    libxl_dominfo_dispose(&di);
    return XLMIG_OK;
}

static int hv_libxl_list(struct hv *hv, struct hv_domain **list_r,
                         size_t *n_r)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    struct hv_domain *list;
    libxl_dominfo *di;
    int nb = 0, i;

    di = libxl_list_domain(h->lctx, &nb);
    if (!di) {
        LOG(hv->ctx, ERROR, "libxl_list_domain failed");
        return XLMIG_E_HV;
    }
    list = xcalloc(nb ? (size_t)nb : 1, sizeof(*list));
    for (i = 0; i < nb; i++) {
        list[i].domid = di[i].domid;
        list[i].name = libxl_domid_to_name(h->lctx, di[i].domid);
        if (!list[i].name) list[i].name = xstrdup("(unnamed)");
        list[i].vcpus = di[i].vcpu_online;
        hv_libxl_fill(&di[i], &list[i].info);
    }
    libxl_dominfo_list_free(di, nb);
    *list_r = list;
    *n_r = (size_t)nb;
    return XLMIG_OK;
}

/* ---- configurations ---- */

int hv_libxl_config_parse(struct hv_libxl *h, const char *json,
                          libxl_domain_config *cfg)
{
    int r;

    /* xl ignores this result (xl_vmcontrol.c); a bad config must stop us. */
    r = libxl_domain_config_from_json(h->lctx, cfg, json);
    if (r) {
        LOG(h->base.ctx, ERROR, "libxl rejected the domain config JSON "
            "(error %d)", r);
        return XLMIG_E_INVAL;
    }
    if (!cfg->c_info.name || !*cfg->c_info.name) {
        LOG(h->base.ctx, ERROR, "the domain config has no name");
        return XLMIG_E_INVAL;
    }
    return XLMIG_OK;
}

/* Reads a whole small file (at most max bytes) as a string. */
/*
 * xl.cfg syntax is parsed by xl itself (xl_parse.c is not a library):
 * "xl create -n -q FILE" prints the resulting libxl JSON and creates
 * nothing.
 */
static int hv_libxl_xlcfg_to_json(struct hv_libxl *h, const char *path,
                                  char **json_r)
{
    const char *xl = getenv("XLMIG_XL");
    char *argv[] = { (char *)(xl ? xl : "xl"), (char *)"create",
                     (char *)"-n", (char *)"-q", (char *)path, NULL };

    return child_capture(h->base.ctx, "xl config conversion", argv,
                         HV_LIBXL_CONFIG_MAX, HV_LIBXL_XL_TIMEOUT, json_r);
}

int hv_libxl_config_file(struct hv_libxl *h, const char *path,
                         libxl_domain_config *cfg)
{
    char *data = NULL, *json = NULL;
    const char *p;
    int rc;

    rc = fdio_read_file(h->base.ctx, path, HV_LIBXL_CONFIG_MAX, &data);
    if (rc == XLMIG_E_NOTFOUND)
        LOG(h->base.ctx, ERROR, "cannot open %s: no such file", path);
    if (rc) goto out;
    for (p = data; *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'; p++)
        ;
    if (*p == '{') {
        json = data;
        data = NULL;
    } else {
        rc = hv_libxl_xlcfg_to_json(h, path, &json);
        if (rc) goto out;
    }
    rc = hv_libxl_config_parse(h, json, cfg);
    if (rc) LOG(h->base.ctx, ERROR, "in config file %s", path);
out:
    free(data);
    free(json);
    return rc;
}

/* Serialises cfg, zeroing its domid unless asked to keep it (as xl). */
static int hv_libxl_config_json(struct hv_libxl *h, libxl_domain_config *cfg,
                                unsigned flags, char **json_r)
{
    if (!(flags & HV_CONFIG_PRESERVE_DOMID)) cfg->c_info.domid = 0;
    *json_r = libxl_domain_config_to_json(h->lctx, cfg);
    if (!*json_r) {
        LOG(h->base.ctx, ERROR, "cannot convert the domain config to JSON");
        return XLMIG_E_HV;
    }
    return XLMIG_OK;
}

static int hv_libxl_config_get(struct hv *hv, uint32_t domid, unsigned flags,
                               char **json_r)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    libxl_domain_config cfg;
    int r, rc;

    libxl_domain_config_init(&cfg);
    r = libxl_retrieve_domain_configuration(h->lctx, domid, &cfg, NULL);
    if (r) {
        LOG(hv->ctx, ERROR, "no configuration stored for domain %u (not "
            "created by libxl?); give one with -C", domid);
        rc = XLMIG_E_HV;
        goto out;
    }
    rc = hv_libxl_config_json(h, &cfg, flags, json_r);
out:
    libxl_domain_config_dispose(&cfg);
    return rc;
}

static int hv_libxl_config_load(struct hv *hv, const char *path,
                                unsigned flags, char **json_r)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    libxl_domain_config cfg;
    int rc;

    libxl_domain_config_init(&cfg);
    rc = hv_libxl_config_file(h, path, &cfg);
    if (!rc) rc = hv_libxl_config_json(h, &cfg, flags, json_r);
    libxl_domain_config_dispose(&cfg);
    return rc;
}

static int hv_libxl_config_canonical(struct hv *hv, const char *json,
                                     char **json_r)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    libxl_domain_config cfg;
    int rc;

    libxl_domain_config_init(&cfg);
    rc = hv_libxl_config_parse(h, json, &cfg);
    if (!rc) {
        *json_r = libxl_domain_config_to_json(h->lctx, &cfg);
        if (!*json_r) {
            LOG(hv->ctx, ERROR, "cannot convert the domain config to JSON");
            rc = XLMIG_E_HV;
        }
    }
    libxl_domain_config_dispose(&cfg);
    return rc;
}

/* ---- dom0 ballooning, as xl does it (xl.conf autoballoon) ---- */

static int hv_libxl_lock(struct hv_libxl *h)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    int fd;

    fd = open(HV_LIBXL_XL_LOCK, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        LOGE(h->base.ctx, ERROR, "cannot open %s", HV_LIBXL_XL_LOCK);
        return XLMIG_E_SYSTEM;
    }
    while (fcntl(fd, F_SETLKW, &fl) < 0) {
        if (errno == EINTR) continue;
        LOGE(h->base.ctx, ERROR, "cannot lock %s", HV_LIBXL_XL_LOCK);
        close(fd);
        return XLMIG_E_SYSTEM;
    }
    h->lock_fd = fd;
    return XLMIG_OK;
}

void hv_libxl_unlock(struct hv_libxl *h)
{
    fdio_close(&h->lock_fd);            /* closing drops the fcntl lock */
}

int hv_libxl_freemem(struct hv_libxl *h, const libxl_domain_config *cfg)
{
    libxl_domain_config copy;
    uint64_t need, free_kb;
    int r, tries, rc;

    if (!hv_libxl_autoballoon(h)) return XLMIG_OK;
    rc = hv_libxl_lock(h);
    if (rc) return rc;
    libxl_domain_config_init(&copy);
    libxl_domain_config_copy(h->lctx, &copy, cfg);  /* need_memory edits */
    r = libxl_domain_need_memory(h->lctx, &copy, INVALID_DOMID, &need);
    libxl_domain_config_dispose(&copy);
    if (r) return hv_libxl_rc(h, r, "memory estimate");
    for (tries = 0; tries < 3; tries++) {
        r = libxl_get_free_memory(h->lctx, &free_kb);
        if (r) return hv_libxl_rc(h, r, "free memory query");
        if (free_kb >= need) return XLMIG_OK;
        r = libxl_set_memory_target(h->lctx, 0,
                                    (int64_t)free_kb - (int64_t)need, 1, 0);
        if (r) return hv_libxl_rc(h, r, "dom0 balloon down");
        r = libxl_wait_for_memory_target(h->lctx, 0, 10);
        if (r) return hv_libxl_rc(h, r, "dom0 balloon wait");
    }
    LOG(h->base.ctx, ERROR, "cannot free %lu KiB for the domain",
        (unsigned long)need);
    return XLMIG_E_HV;
}

/* ---- save, restore and the rest ---- */

/*
 * A live save with xlmig's precopy policy runs xlmig-save-helper in place
 * of libxl's (hv-libxl-helper.c); a non-live one has no precopy.
 */
static int hv_libxl_save(struct hv *hv, uint32_t domid, int fd,
                         unsigned flags, const struct hv_wait *w)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    const libxl_version_info *vi;
    struct hv_libxl_ao ao;
    int lflags = 0, r, rc;

    if (flags & HV_SAVE_LIVE) lflags |= LIBXL_SUSPEND_LIVE;
    if (flags & HV_SAVE_DEBUG) lflags |= LIBXL_SUSPEND_DEBUG;
    if ((flags & HV_SAVE_LIVE) && w && w->precopy) {
        vi = libxl_get_version_info(h->lctx);
        rc = hv_libxl_helper_begin(hv->ctx, &h->helper,
                                   vi ? vi->xen_version_major : -1,
                                   vi ? vi->xen_version_minor : -1, w);
        if (rc) return rc;
    }
    hv_libxl_ao_init(&ao);
    h->wait = w;
    r = libxl_domain_suspend(h->lctx, domid, fd, lflags, &ao.how);
    if (!r) {
        hv_libxl_ao_run(h, &ao, w);
        r = ao.rc;
    }
    h->wait = NULL;
    hv_libxl_helper_end(&h->helper);
    if (r && h->helper.aborted) {
        LOG(hv->ctx, DETAIL, "save of domain %u stopped by the precopy "
            "policy (libxl error %d)", domid, r);
        rc = XLMIG_E_CONVERGE;
    } else {
        rc = hv_libxl_rc(h, r, "save of domain %u", domid);
    }
    h->helper.aborted = false;
    return rc;
}

static int hv_libxl_restore(struct hv *hv, const char *json,
                            const char *name, int fd,
                            const struct hv_wait *w, uint32_t *domid_r)
{
    struct hv_libxl *h = hv_libxl_of(hv);
    libxl_domain_restore_params params;
    libxl_domain_config cfg;
    struct hv_libxl_ao ao;
    uint32_t domid = INVALID_DOMID;
    int r, rc;

    libxl_domain_config_init(&cfg);
    libxl_domain_restore_params_init(&params);
    rc = hv_libxl_config_parse(h, json, &cfg);
    if (rc) goto out;
    free(cfg.c_info.name);
    cfg.c_info.name = xstrdup(name);
    /* As xl: a domid is kept only when the sender asked (-D). */
    if (!libxl_domid_valid_guest(cfg.c_info.domid))
        cfg.c_info.domid = INVALID_DOMID;
    rc = hv_libxl_freemem(h, &cfg);
    if (rc) goto out;
    params.checkpointed_stream = LIBXL_CHECKPOINTED_STREAM_NONE;
    params.stream_version = 2;
    hv_libxl_ao_init(&ao);
    r = libxl_domain_create_restore(h->lctx, &cfg, &domid, fd, -1, &params,
                                    &ao.how, NULL);
    if (!r) {
        hv_libxl_ao_run(h, &ao, w);
        r = ao.rc;
    }
    rc = hv_libxl_rc(h, r, "restore of %s", name);
    /* A failed or aborted create may leave a half-made domain behind. */
    if (rc && libxl_domid_valid_guest(domid) &&
        !libxl_domain_info(h->lctx, NULL, domid)) {
        r = libxl_domain_destroy(h->lctx, domid, NULL);
        if (r)
            LOG(hv->ctx, ERROR, "could not destroy the partial domain %u "
                "(libxl error %d)", domid, r);
    }
    if (!rc) *domid_r = domid;
out:
    hv_libxl_unlock(h);
    libxl_domain_restore_params_dispose(&params);
    libxl_domain_config_dispose(&cfg);
    return rc;
}

static int hv_libxl_resume(struct hv *hv, uint32_t domid)
{
    struct hv_libxl *h = hv_libxl_of(hv);

    return hv_libxl_rc(h, libxl_domain_resume(h->lctx, domid, 1, NULL),
                       "resume of domain %u", domid);
}

static int hv_libxl_rename(struct hv *hv, uint32_t domid,
                           const char *old_name, const char *new_name)
{
    struct hv_libxl *h = hv_libxl_of(hv);

    return hv_libxl_rc(h, libxl_domain_rename(h->lctx, domid, old_name,
                                              new_name),
                       "rename of domain %u from %s to %s", domid, old_name,
                       new_name);
}

static int hv_libxl_pause(struct hv *hv, uint32_t domid)
{
    struct hv_libxl *h = hv_libxl_of(hv);

    return hv_libxl_rc(h, libxl_domain_pause(h->lctx, domid, NULL),
                       "pause of domain %u", domid);
}

static int hv_libxl_unpause(struct hv *hv, uint32_t domid)
{
    struct hv_libxl *h = hv_libxl_of(hv);

    return hv_libxl_rc(h, libxl_domain_unpause(h->lctx, domid, NULL),
                       "unpause of domain %u", domid);
}

static int hv_libxl_destroy(struct hv *hv, uint32_t domid)
{
    struct hv_libxl *h = hv_libxl_of(hv);

    return hv_libxl_rc(h, libxl_domain_destroy(h->lctx, domid, NULL),
                       "destroy of domain %u", domid);
}

const struct hv_ops hv_libxl_ops = {
    .name = "libxl",
    .open = hv_libxl_open,
    .close = hv_libxl_close,
    .lookup = hv_libxl_lookup,
    .domain_name = hv_libxl_domain_name,
    .domain_info = hv_libxl_domain_info,
    .config_get = hv_libxl_config_get,
    .config_load = hv_libxl_config_load,
    .config_canonical = hv_libxl_config_canonical,
    .save = hv_libxl_save,
    .restore = hv_libxl_restore,
    .resume = hv_libxl_resume,
    .rename = hv_libxl_rename,
    .pause = hv_libxl_pause,
    .unpause = hv_libxl_unpause,
    .destroy = hv_libxl_destroy,
    .monitor = hv_libxl_monitor,
    .list = hv_libxl_list,
    .host_facts = hv_libxl_host_facts,
    .domain_facts = hv_libxl_domain_facts,
    .need_memory = hv_libxl_need_memory,
    .have_bridge = hv_libxl_have_bridge,
    .have_script = hv_libxl_have_script,
    .disk_live = hv_libxl_disk_live,
    .have_cpupool = hv_libxl_have_cpupool,
    .pci_assignable = hv_libxl_pci_assignable,
    .sched_cap_get = hv_libxl_sched_cap_get,
    .sched_cap_set = hv_libxl_sched_cap_set,
};
