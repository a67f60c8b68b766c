/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv-libxl-monitor.c - the per-domain monitor. libxl does not restart
 * domains; xl's monitor process does (xl_vmcontrol.c, handle_domain_death),
 * so a domain that arrives by migration needs one of ours to keep its
 * on_poweroff / on_reboot / on_crash / on_watchdog / on_soft_reset
 * actions working.
 *
 * States: watching -> (shutdown) act -> watching a new domid (restart,
 * soft reset) | done (destroy, preserve, gone). A suspend is not an end:
 * xl's monitor exits there, so a domain whose migration failed and was
 * resumed lost its monitor. Ours waits while the domain is suspended and
 * re-arms if it is resumed, and ends when it is destroyed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hv-libxl.h"
#include "policy.h"

#define HV_LIBXL_MONITOR_DUMP_DIR "/var/lib/xen/dump"
#define HV_LIBXL_MONITOR_GONE_S 10.0    /* wait for a destroyed domid */

struct hv_libxl_monitor {
    struct hv_libxl *h;
    const struct hv_wait *w;
    uint32_t domid;
    libxl_domain_config cfg;
    libxl_evgen_domain_death *deathw;
    libxl_evgen_disk_eject **diskws;
    int ndiskws;
    bool suspended;
};

static int hv_libxl_monitor_arm(struct hv_libxl_monitor *m)
{
    libxl_ctx *lctx = m->h->lctx;
    int i, r;

    r = libxl_evenable_domain_death(lctx, m->domid, 0, &m->deathw);
    if (r) return hv_libxl_rc(m->h, r, "watch of domain %u", m->domid);
    m->diskws = xcalloc((size_t)m->cfg.num_disks + 1, sizeof(*m->diskws));
    m->ndiskws = m->cfg.num_disks;
    for (i = 0; i < m->ndiskws; i++) {
        if (!m->cfg.disks[i].removable) continue;
        r = libxl_evenable_disk_eject(lctx, m->domid, m->cfg.disks[i].vdev,
                                      0, &m->diskws[i]);
        if (r)
            return hv_libxl_rc(m->h, r, "eject watch of %s",
                               m->cfg.disks[i].vdev);
    }
    return XLMIG_OK;
}

static void hv_libxl_monitor_disarm(struct hv_libxl_monitor *m)
{
    libxl_ctx *lctx = m->h->lctx;
    libxl_event *ev;
    int i;

    if (m->deathw) libxl_evdisable_domain_death(lctx, m->deathw);
    m->deathw = NULL;
    for (i = 0; i < m->ndiskws; i++)
        if (m->diskws[i]) libxl_evdisable_disk_eject(lctx, m->diskws[i]);
    free(m->diskws);
    m->diskws = NULL;
    m->ndiskws = 0;
    /* Events generated before the disable are still queued: drop them. */
    while (!libxl_event_check(lctx, &ev, LIBXL_EVENTMASK_ALL, NULL, NULL))
        libxl_event_free(lctx, ev);
}

/*
 * Waits up to about a second for an event. *ev_r stays NULL when none
 * came; XLMIG_E_CANCELLED when an abort fd fired.
 */
static int hv_libxl_monitor_event(struct hv_libxl_monitor *m,
                                  const struct hv_wait *w,
                                  libxl_event **ev_r)
{
    bool fired;

    *ev_r = NULL;
    if (!libxl_event_check(m->h->lctx, ev_r, LIBXL_EVENTMASK_ALL, NULL,
                           NULL))
        return XLMIG_OK;
    hv_libxl_poll(m->h, w, &fired);
    if (fired) return XLMIG_E_CANCELLED;
    if (w && w->tick) w->tick(w->arg);
    if (libxl_event_check(m->h->lctx, ev_r, LIBXL_EVENTMASK_ALL, NULL, NULL))
        *ev_r = NULL;
    return XLMIG_OK;
}

/*
 * The xl.cfg text that "xl config-update" stored as userdata "xl", parsed
 * into fresh; false if there is none or it does not parse.
 */
static bool hv_libxl_monitor_xl_update(struct hv_libxl_monitor *m,
                                       libxl_domain_config *fresh)
{
    char path[] = "/tmp/xlmig-config-XXXXXX";
    uint8_t *data = NULL;
    int len = 0, fd;
    bool ok;

    if (libxl_userdata_retrieve(m->h->lctx, m->domid, "xl", &data, &len) ||
        len <= 0) {
        free(data);
        return false;
    }
    fd = mkostemp(path, O_CLOEXEC);
    ok = fd >= 0 && write(fd, data, (size_t)len) == len;
    if (fd >= 0 && close(fd)) ok = false;
    ok = ok && !hv_libxl_config_file(m->h, path, fresh);
    if (fd >= 0) unlink(path);
    free(data);
    if (!ok) {
        LOG(m->h->base.ctx, WARN, "cannot use the config stored by xl "
            "config-update for domain %u", m->domid);
        return false;
    }
    LOG(m->h->base.ctx, INFO, "using the config stored by xl config-update");
    libxl_userdata_unlink(m->h->lctx, m->domid, "xl");
    return true;
}

/* Picks up a config changed since start, as xl does before a restart. */
static void hv_libxl_monitor_reload(struct hv_libxl_monitor *m)
{
    libxl_domain_config fresh;
    int r;

    libxl_domain_config_init(&fresh);
    if (!hv_libxl_monitor_xl_update(m, &fresh)) {
        libxl_domain_config_dispose(&fresh);
        libxl_domain_config_init(&fresh);
        r = libxl_retrieve_domain_configuration(m->h->lctx, m->domid,
                                                &fresh, NULL);
        if (r) {
            LOG(m->h->base.ctx, WARN, "cannot reload the config of domain "
                "%u (libxl error %d); reusing the one from start", m->domid,
                r);
            libxl_domain_config_dispose(&fresh);
            return;
        }
    }
    libxl_domain_config_dispose(&m->cfg);
    m->cfg = fresh;                     /* takes over the allocations */
}

/* Waits (bounded) until a destroyed domid is really gone. */
static void hv_libxl_monitor_wait_gone(struct hv_libxl_monitor *m,
                                       uint32_t domid)
{
    struct xlmig_ctx *ctx = m->h->base.ctx;
    double until = ctx_now(ctx) + HV_LIBXL_MONITOR_GONE_S;
    bool fired;

    while (!libxl_domain_info(m->h->lctx, NULL, domid) &&
           ctx_now(ctx) < until)
        hv_libxl_poll(m->h, NULL, &fired);
}

/* libxl leaves a created or soft-reset domain paused; xl unpauses it. */
static int hv_libxl_monitor_unpause(struct hv_libxl_monitor *m)
{
    int r = libxl_domain_unpause(m->h->lctx, m->domid, NULL);

    return hv_libxl_rc(m->h, r, "unpause of domain %u", m->domid);
}

/* Creates the domain again from m->cfg and watches the new domid. */
static int hv_libxl_monitor_restart(struct hv_libxl_monitor *m)
{
    struct xlmig_ctx *ctx = m->h->base.ctx;
    uint32_t domid = INVALID_DOMID;
    int r, rc;

    hv_libxl_monitor_wait_gone(m, m->domid);
    m->cfg.c_info.domid = INVALID_DOMID;
    if (m->w && m->w->restart_ok) {
        char *json = libxl_domain_config_to_json(m->h->lctx, &m->cfg);

        rc = json ? m->w->restart_ok(m->w->arg, json) : XLMIG_E_HV;
        free(json);
        if (rc) {
            LOG(ctx, ERROR, "not restarting %s: %s", m->cfg.c_info.name,
                xlmig_strerror(rc));
            return rc;
        }
    }
    rc = hv_libxl_freemem(m->h, &m->cfg);
    if (!rc) {
        r = libxl_domain_create_new(m->h->lctx, &m->cfg, &domid, NULL, NULL);
        rc = hv_libxl_rc(m->h, r, "restart of %s", m->cfg.c_info.name);
    }
    hv_libxl_unlock(m->h);
    if (rc) return rc;
    m->domid = domid;
    rc = hv_libxl_monitor_unpause(m);
    if (rc) return rc;
    LOG(ctx, INFO, "restarted %s as domain %u", m->cfg.c_info.name, domid);
    return hv_libxl_monitor_arm(m);
}

/* Keeps the dead domain under a dated name with a new uuid (xl's way). */
static int hv_libxl_monitor_preserve(struct hv_libxl_monitor *m)
{
    char suffix[24];
    libxl_uuid uuid;
    struct tm tm;
    time_t now = time(NULL);
    int r;

    if (!gmtime_r(&now, &tm) ||
        !strftime(suffix, sizeof(suffix), "-%Y%m%dT%H%MZ", &tm)) {
        LOG(m->h->base.ctx, ERROR, "cannot format the preserve suffix");
        return XLMIG_E_SYSTEM;
    }
    libxl_uuid_generate(&uuid);
    r = libxl_domain_preserve(m->h->lctx, m->domid, &m->cfg.c_info, suffix,
                              uuid);
    return hv_libxl_rc(m->h, r, "preserve of domain %u", m->domid);
}

static libxl_action_on_shutdown hv_libxl_monitor_action(
    const libxl_domain_config *cfg, int reason)
{
    switch (reason) {
    case LIBXL_SHUTDOWN_REASON_POWEROFF: return cfg->on_poweroff;
    case LIBXL_SHUTDOWN_REASON_REBOOT: return cfg->on_reboot;
    case LIBXL_SHUTDOWN_REASON_CRASH: return cfg->on_crash;
    case LIBXL_SHUTDOWN_REASON_WATCHDOG: return cfg->on_watchdog;
    case LIBXL_SHUTDOWN_REASON_SOFT_RESET: return cfg->on_soft_reset;
    default: return LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
    }
}

/* Carries out the action for a shutdown; *done_r when watching ends. */
static int hv_libxl_monitor_act(struct hv_libxl_monitor *m, int reason,
                                bool *done_r)
{
    struct xlmig_ctx *ctx = m->h->base.ctx;
    libxl_action_on_shutdown action = hv_libxl_monitor_action(&m->cfg,
                                                              reason);
    char *core;
    int r, rc;

    *done_r = false;
    LOG(ctx, INFO, "domain %u (%s) shut down: %s; action %s", m->domid,
        m->cfg.c_info.name, libxl_shutdown_reason_to_string(reason),
        libxl_action_on_shutdown_to_string(action));
    if (action == LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY ||
        action == LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART) {
        /* The name came from whoever made the domain, maybe a peer: a
         * file name only if it is a safe one. */
        core = policy_name_ok(m->cfg.c_info.name)
               ? xasprintf(HV_LIBXL_MONITOR_DUMP_DIR "/%s",
                           m->cfg.c_info.name)
               : xasprintf(HV_LIBXL_MONITOR_DUMP_DIR "/domain-%u", m->domid);
        r = libxl_domain_core_dump(m->h->lctx, m->domid, core, NULL);
        if (r) LOG(ctx, WARN, "core dump to %s failed (libxl error %d)",
                   core, r);
        free(core);
        action = action == LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY ?
                 LIBXL_ACTION_ON_SHUTDOWN_DESTROY :
                 LIBXL_ACTION_ON_SHUTDOWN_RESTART;
    }
    switch (action) {
    case LIBXL_ACTION_ON_SHUTDOWN_PRESERVE:
        *done_r = true;
        return XLMIG_OK;
    case LIBXL_ACTION_ON_SHUTDOWN_SOFT_RESET:
        hv_libxl_monitor_reload(m);
        hv_libxl_monitor_disarm(m);
        r = libxl_domain_soft_reset(m->h->lctx, &m->cfg, m->domid, NULL,
                                    NULL);
        rc = hv_libxl_rc(m->h, r, "soft reset of domain %u", m->domid);
        if (!rc) rc = hv_libxl_monitor_unpause(m);
        return rc ? rc : hv_libxl_monitor_arm(m);
    case LIBXL_ACTION_ON_SHUTDOWN_RESTART_RENAME:
        hv_libxl_monitor_reload(m);
        hv_libxl_monitor_disarm(m);
        rc = hv_libxl_monitor_preserve(m);
        return rc ? rc : hv_libxl_monitor_restart(m);
    case LIBXL_ACTION_ON_SHUTDOWN_RESTART:
        hv_libxl_monitor_reload(m);
        hv_libxl_monitor_disarm(m);
        r = libxl_domain_destroy(m->h->lctx, m->domid, NULL);
        rc = hv_libxl_rc(m->h, r, "destroy of domain %u", m->domid);
        return rc ? rc : hv_libxl_monitor_restart(m);
    case LIBXL_ACTION_ON_SHUTDOWN_DESTROY:
    default:
        *done_r = true;
        r = libxl_domain_destroy(m->h->lctx, m->domid, NULL);
        return hv_libxl_rc(m->h, r, "destroy of domain %u", m->domid);
    }
}

/* While suspended: has the domain been resumed (re-arm) or gone? */
static int hv_libxl_monitor_check_suspended(struct hv_libxl_monitor *m,
                                            bool *done_r)
{
    libxl_dominfo di;
    int r;

    *done_r = false;
    libxl_dominfo_init(&di);
    r = libxl_domain_info(m->h->lctx, &di, m->domid);
    if (r == ERROR_DOMAIN_NOTFOUND) {
        *done_r = true;
    } else if (!r && !di.shutdown) {
        LOG(m->h->base.ctx, INFO, "domain %u resumed; watching again",
            m->domid);
        m->suspended = false;
        hv_libxl_monitor_disarm(m);
        libxl_dominfo_dispose(&di);
        return hv_libxl_monitor_arm(m);
    }
    libxl_dominfo_dispose(&di);
    return XLMIG_OK;
}

static int hv_libxl_monitor_loop(struct hv_libxl_monitor *m,
                                 const struct hv_wait *w)
{
    struct xlmig_ctx *ctx = m->h->base.ctx;
    libxl_event *ev;
    bool done = false;
    int rc = XLMIG_OK;

    while (!done && !rc) {
        rc = hv_libxl_monitor_event(m, w, &ev);
        if (rc == XLMIG_E_CANCELLED) {
            LOG(ctx, INFO, "monitor of domain %u stopped", m->domid);
            return XLMIG_OK;
        }
        if (rc) break;
        if (!ev) {
            if (m->suspended)
                rc = hv_libxl_monitor_check_suspended(m, &done);
            continue;
        }
        if (ev->domid != m->domid) {
            libxl_event_free(m->h->lctx, ev);
            continue;
        }
        switch (ev->type) {
        case LIBXL_EVENT_TYPE_DOMAIN_DEATH:
            LOG(ctx, INFO, "domain %u is gone", m->domid);
            done = true;
            break;
        case LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN:
            if (ev->u.domain_shutdown.shutdown_reason ==
                LIBXL_SHUTDOWN_REASON_SUSPEND) {
                LOG(ctx, INFO, "domain %u suspended; waiting", m->domid);
                m->suspended = true;
                break;
            }
            rc = hv_libxl_monitor_act(m, ev->u.domain_shutdown.shutdown_reason,
                                      &done);
            break;
        case LIBXL_EVENT_TYPE_DISK_EJECT:
            if (libxl_cdrom_insert(m->h->lctx, m->domid,
                                   &ev->u.disk_eject.disk, NULL))
                LOG(ctx, WARN, "cannot empty ejected %s of domain %u",
                    ev->u.disk_eject.vdev, m->domid);
            break;
        default:
            break;
        }
        libxl_event_free(m->h->lctx, ev);
    }
    return rc;
}

int hv_libxl_monitor(struct hv *hv, uint32_t domid, const struct hv_wait *w)
{
    struct hv_libxl_monitor m;
    int r, rc;

    memset(&m, 0, sizeof(m));
    m.h = hv_libxl_of(hv);
    m.w = w;
    m.domid = domid;
    libxl_domain_config_init(&m.cfg);
    r = libxl_retrieve_domain_configuration(m.h->lctx, domid, &m.cfg, NULL);
    if (r) {
        rc = hv_libxl_rc(m.h, r, "config of domain %u", domid);
        goto out;
    }
    LOG(hv->ctx, INFO, "watching domain %u (%s)", domid, m.cfg.c_info.name);
    rc = hv_libxl_monitor_arm(&m);
    if (!rc) rc = hv_libxl_monitor_loop(&m, w);
out:
    hv_libxl_monitor_disarm(&m);
    libxl_domain_config_dispose(&m.cfg);
    return rc;
}
