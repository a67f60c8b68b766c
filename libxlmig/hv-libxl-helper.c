/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv-libxl-helper.c - live saves with xlmig's precopy policy on real Xen:
 * libxl runs the save helper named by LIBXL_SAVE_HELPER, so for such a
 * save this points it at xlmig-save-helper, with the policy's params
 * (PRECOPY_ENV) and, when the guest may be throttled, its vCPUs and cap
 * (SHMSG_THROTTLE_ENV); and it turns the helper's per-round reports, which
 * come back as libxl log messages, into w->precopy_round calls.
 *
 * The helper speaks one Xen release's protocol and libxl has no version
 * field in it, so before the first such save this checks that libxl runs
 * on that release (the one built for, too) and that the helper starts
 * (--check); the answer is kept for the backend's life. If not, the save
 * runs with libxl's own helper and libxc's policy, after one warning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "hv-libxl.h"
#include "shmsg.h"

#define HV_LIBXL_HELPER_ENV "XLMIG_SAVE_HELPER"      /* tests: another */
#define HV_LIBXL_HELPER_DEFAULT PKGLIBEXECDIR "/xlmig-save-helper"
#define HV_LIBXL_HELPER_LIBXL_ENV "LIBXL_SAVE_HELPER"
#define HV_LIBXL_HELPER_CHECK_S 10
#define HV_LIBXL_HELPER_OUT_MAX 4096

void hv_libxl_helper_init(struct hv_libxl_helper *hs)
{
    memset(hs, 0, sizeof(*hs));
    hs->state = HV_LIBXL_HELPER_UNCHECKED;
}

void hv_libxl_helper_dispose(struct hv_libxl_helper *hs)
{
    hv_libxl_helper_end(hs);
    free(hs->path);
    hs->path = NULL;
}

/* Whether the helper at hs->path serves a libxl of Xen major.minor. */
static bool hv_libxl_helper_probe(struct xlmig_ctx *ctx,
                                  struct hv_libxl_helper *hs, int major,
                                  int minor)
{
    char *argv[] = { hs->path, (char *)"--check", NULL };
    char want[64], st[64], *out = NULL;
    int rc, status;
    bool ok = false;

    if (major < 0 || minor < 0) {
        snprintf(hs->why, sizeof(hs->why), "libxl does not say which Xen "
                 "it is");
        return false;
    }
    if (major != SHMSG_XEN_MAJOR || minor != SHMSG_XEN_MINOR) {
        snprintf(hs->why, sizeof(hs->why), "libxl is Xen %d.%d's, the "
                 "helper speaks Xen %d.%d's protocol", major, minor,
                 SHMSG_XEN_MAJOR, SHMSG_XEN_MINOR);
        return false;
    }
    if (major != XEN_BUILD_MAJOR || minor != XEN_BUILD_MINOR) {
        snprintf(hs->why, sizeof(hs->why), "libxl is Xen %d.%d's, xlmig "
                 "was built with Xen %d.%d", major, minor, XEN_BUILD_MAJOR,
                 XEN_BUILD_MINOR);
        return false;
    }
    if (access(hs->path, X_OK)) {
        snprintf(hs->why, sizeof(hs->why), "%s: %s", hs->path,
                 strerror(errno));
        return false;
    }
    rc = child_run(ctx, "xlmig-save-helper --check", argv,
                   HV_LIBXL_HELPER_OUT_MAX, HV_LIBXL_HELPER_CHECK_S, &out,
                   &status);
    if (rc) {
        snprintf(hs->why, sizeof(hs->why), "%s --check: %s", hs->path,
                 xlmig_strerror(rc));
        goto out;
    }
    if (status) {
        snprintf(hs->why, sizeof(hs->why), "%s --check %s", hs->path,
                 child_status_str(status, st, sizeof(st)));
        goto out;
    }
    snprintf(want, sizeof(want), "Xen %d.%d save helper protocol",
             SHMSG_XEN_MAJOR, SHMSG_XEN_MINOR);
    if (!strstr(out, want)) {
        snprintf(hs->why, sizeof(hs->why), "%s --check does not say \"%s\"",
                 hs->path, want);
        goto out;
    }
    ok = true;
out:
    free(out);
    return ok;
}

bool hv_libxl_helper_usable(struct xlmig_ctx *ctx, struct hv_libxl_helper *hs,
                            int major, int minor)
{
    const char *path;

    if (hs->state == HV_LIBXL_HELPER_UNCHECKED) {
        path = getenv(HV_LIBXL_HELPER_ENV);
        hs->path = xstrdup(path && *path ? path : HV_LIBXL_HELPER_DEFAULT);
        hs->state = hv_libxl_helper_probe(ctx, hs, major, minor)
                        ? HV_LIBXL_HELPER_OK : HV_LIBXL_HELPER_NO;
        if (hs->state == HV_LIBXL_HELPER_OK)
            LOG(ctx, DEBUG, "live saves with xlmig's precopy policy run %s",
                hs->path);
    }
    return hs->state == HV_LIBXL_HELPER_OK;
}

/* setenv, or the error. */
static int hv_libxl_helper_setenv(struct xlmig_ctx *ctx, const char *name,
                                  const char *value)
{
    if (setenv(name, value, 1)) {
        LOGE(ctx, ERROR, "cannot set %s", name);
        return XLMIG_E_SYSTEM;
    }
    return XLMIG_OK;
}

int hv_libxl_helper_begin(struct xlmig_ctx *ctx, struct hv_libxl_helper *hs,
                          int major, int minor, const struct hv_wait *w)
{
    char params[PRECOPY_PARAMS_TEXT_MAX], thr[SHMSG_THROTTLE_TEXT_MAX];
    const char *prev;
    int rc;

    hs->aborted = false;
    if (!w || !w->precopy || hs->env_set) return XLMIG_OK;
    if (!hv_libxl_helper_usable(ctx, hs, major, minor)) {
        LOG(ctx, WARN, "xlmig-save-helper not used: %s; libxc's own "
            "precopy policy applies", hs->why);
        return XLMIG_OK;
    }
    if (precopy_params_format(w->precopy, params, sizeof(params)) ||
        (w->throttle_vcpus &&
         shmsg_throttle_format(w->throttle_vcpus, w->orig_cap, thr,
                               sizeof(thr)))) {
        LOG(ctx, ERROR, "precopy parameters do not fit their text");
        return XLMIG_E_INTERNAL;
    }
    prev = getenv(HV_LIBXL_HELPER_LIBXL_ENV);
    hs->prev = prev ? xstrdup(prev) : NULL;
    hs->env_set = true;
    rc = hv_libxl_helper_setenv(ctx, HV_LIBXL_HELPER_LIBXL_ENV, hs->path);
    if (!rc) rc = hv_libxl_helper_setenv(ctx, PRECOPY_ENV, params);
    if (!rc && w->throttle_vcpus)
        rc = hv_libxl_helper_setenv(ctx, SHMSG_THROTTLE_ENV, thr);
    else if (!rc)
        unsetenv(SHMSG_THROTTLE_ENV);
    if (rc) {
        hv_libxl_helper_end(hs);
        return rc;
    }
    LOG(ctx, INFO, "precopy policy: %s%s%s", params,
        w->throttle_vcpus ? ", may throttle: " : "",
        w->throttle_vcpus ? thr : "");
    return XLMIG_OK;
}

void hv_libxl_helper_end(struct hv_libxl_helper *hs)
{
    if (!hs->env_set) return;
    unsetenv(PRECOPY_ENV);
    unsetenv(SHMSG_THROTTLE_ENV);
    /* An admin's own LIBXL_SAVE_HELPER is theirs again. */
    if (!hs->prev || setenv(HV_LIBXL_HELPER_LIBXL_ENV, hs->prev, 1))
        unsetenv(HV_LIBXL_HELPER_LIBXL_ENV);
    free(hs->prev);
    hs->prev = NULL;
    hs->env_set = false;
}

/* What a hostile or broken line shows in our log: printable ASCII. */
static void hv_libxl_helper_printable(const char *s, char *out, size_t len)
{
    size_t i;

    for (i = 0; s[i] && i + 1 < len; i++)
        out[i] = s[i] >= 0x20 && s[i] <= 0x7e ? s[i] : '?';
    out[i] = '\0';
}

void hv_libxl_helper_report(struct xlmig_ctx *ctx, struct hv_libxl_helper *hs,
                            const struct hv_wait *w, const char *text)
{
    struct precopy_report r;
    char shown[128];

    if (!strcmp(text, PRECOPY_SUSPEND_LINE)) {
        if (w && w->progress) w->progress(w->arg, HV_PROGRESS_SUSPENDING, 0, 0);
        return;
    }
    if (precopy_report_parse(text, &r)) {
        hv_libxl_helper_printable(text, shown, sizeof(shown));
        LOG(ctx, WARN, "malformed precopy report from the save helper "
            "ignored: \"%s\"", shown);
        return;
    }
    LOG(ctx, DEBUG, "precopy: %s", text);
    if (r.action == PRECOPY_ABORT) hs->aborted = true;
    if (w && w->precopy_round) w->precopy_round(w->arg, &r);
}
