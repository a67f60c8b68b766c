/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv-libxl-disk.c - how a running domain's disk is attached, for a live
 * move (hv_disk_live): read from the disk's backend in xenstore and, for
 * a qdisk, from the command line of the domain's QEMU.
 *  - qdisk (backend/qdisk/D/N): movable if the domain's QEMU (pid in
 *    /local/domain/D/image/device-model-pid) was started with a QMP
 *    monitor of ours, `-qmp unix:PATH,...` (device_model_args_pv/_hvm):
 *    libxl's own monitors are -chardev/-mon pairs, never -qmp.
 *  - blkback (backend/vbd/D/N): movable if attached by block-xlmig,
 *    whose dm device is physical-device-path /dev/mapper/xlmig-*.
 * Everything read here is written by dom0 (libxl, the hotplug script),
 * but it is still checked: bounded, one value of the expected shape.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenstore.h>

#include "hv-libxl.h"

#define DISK_SCRIPT "block-xlmig"
#define DISK_DM_PREFIX "/dev/mapper/xlmig-"
#define DISK_CMDLINE_MAX (64u << 10)

/* The value at path, NULL if absent (*rc_r XLMIG_OK) or unreadable. */
static char *disk_xs_read(struct xlmig_ctx *ctx, struct xs_handle *xs,
                          const char *path, int *rc_r)
{
    unsigned len = 0;
    char *v = xs_read(xs, XBT_NULL, path, &len);

    *rc_r = XLMIG_OK;
    if (!v) {
        if (errno != ENOENT) {
            LOGE(ctx, ERROR, "cannot read %s", path);
            *rc_r = XLMIG_E_XS;
        }
        return NULL;
    }
    if (strlen(v) != len) {     /* a NUL inside: not a value of ours */
        free(v);
        return NULL;
    }
    return v;
}

/* The backend path of domid's disk vdev (frontend's "backend", whose
 * "dev" is vdev), or NULL with *rc_r XLMIG_E_NOTFOUND. */
static char *disk_backend(struct xlmig_ctx *ctx, struct xs_handle *xs,
                          uint32_t domid, const char *vdev, int *rc_r)
{
    char path[128], *be = NULL, *dev, **ents;
    unsigned i, n = 0;

    snprintf(path, sizeof(path), "/local/domain/%u/device/vbd", domid);
    ents = xs_directory(xs, XBT_NULL, path, &n);
    *rc_r = XLMIG_OK;
    for (i = 0; ents && i < n && !be; i++) {
        char *p = xasprintf("%s/%s/backend", path, ents[i]), *dp;

        be = disk_xs_read(ctx, xs, p, rc_r);
        free(p);
        if (*rc_r) break;
        if (!be) continue;
        dp = xasprintf("%s/dev", be);
        dev = disk_xs_read(ctx, xs, dp, rc_r);
        free(dp);
        if (!dev || strcmp(dev, vdev)) {
            free(be);
            be = NULL;
        }
        free(dev);
        if (*rc_r) break;
    }
    free(ents);
    if (!be && !*rc_r) *rc_r = XLMIG_E_NOTFOUND;
    return be;
}

/* /proc/PID/cmdline: NUL-separated, its size unknown to stat. */
static int disk_read_cmdline(struct xlmig_ctx *ctx, const char *path,
                             char **buf_r, size_t *len_r)
{
    char *buf = xmalloc(DISK_CMDLINE_MAX);
    size_t len = 0;
    ssize_t r;
    int fd;

    *buf_r = NULL;
    *len_r = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        free(buf);
        return XLMIG_E_NOTFOUND;
    }
    while (len < DISK_CMDLINE_MAX) {
        r = read(fd, buf + len, DISK_CMDLINE_MAX - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    if (len == 0 || len == DISK_CMDLINE_MAX) {
        LOG(ctx, ERROR, "%s: %s", path, len ? "too long" : "empty");
        free(buf);
        return XLMIG_E_NOTFOUND;
    }
    *buf_r = buf;
    *len_r = len;
    return XLMIG_OK;
}

/* The socket of a `-qmp unix:PATH[,...]` in QEMU's command line. */
static int disk_qmp_socket(struct xlmig_ctx *ctx, const char *pid,
                           struct hv_disk_live *d)
{
    char path[64], *buf = NULL, *a, *end, *next;
    size_t len = 0, n;
    bool qmp = false;
    int rc;

    if (strspn(pid, "0123456789") != strlen(pid) || !*pid ||
        strlen(pid) > 9) {
        snprintf(d->why, sizeof(d->why), "its QEMU's pid is '%.32s'", pid);
        return XLMIG_OK;
    }
    snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
    rc = disk_read_cmdline(ctx, path, &buf, &len);
    if (rc) {
        snprintf(d->why, sizeof(d->why), "its QEMU (pid %s) is not running",
                 pid);
        return XLMIG_OK;
    }
    end = buf + len;
    for (a = buf; a < end; a = next) {
        next = memchr(a, '\0', (size_t)(end - a));
        if (!next) break;
        next++;
        if (qmp && !strncmp(a, "unix:", 5)) {
            n = strcspn(a + 5, ",");
            if (n > 0 && n < sizeof(d->handle) && a[5] == '/') {
                memcpy(d->handle, a + 5, n);
                d->handle[n] = '\0';
                d->mover = HV_DISK_MOVER_QMP;
                snprintf(d->prop, sizeof(d->prop), "vdev");
                break;
            }
        }
        qmp = !strcmp(a, "-qmp");
    }
    if (d->mover != HV_DISK_MOVER_QMP)
        snprintf(d->why, sizeof(d->why), "a qdisk whose QEMU has no QMP "
                 "monitor of xlmig's (-qmp unix:PATH in "
                 "device_model_args_pv/_hvm)");
    free(buf);
    return XLMIG_OK;
}

int hv_libxl_disk_live(struct hv *hv, uint32_t domid, const char *vdev,
                       struct hv_disk_live *d)
{
    struct xlmig_ctx *ctx = hv->ctx;
    struct xs_handle *xs;
    char *be = NULL, *p = NULL, *v = NULL, *script = NULL;
    const char *base;
    int rc;

    xs = xs_open(0);
    if (!xs) {
        LOGE(ctx, ERROR, "cannot connect to xenstored");
        return XLMIG_E_XS;
    }
    be = disk_backend(ctx, xs, domid, vdev, &rc);
    if (rc) {
        if (rc == XLMIG_E_NOTFOUND)
            LOGD(ctx, ERROR, domid, "no disk %s in xenstore", vdev);
        goto out;
    }
    d->mover = HV_DISK_MOVER_NONE;
    if (strstr(be, "/backend/qdisk/")) {
        p = xasprintf("/local/domain/%u/image/device-model-pid", domid);
        v = disk_xs_read(ctx, xs, p, &rc);
        if (rc) goto out;
        if (!v) {
            snprintf(d->why, sizeof(d->why), "a qdisk without a running "
                     "QEMU");
            goto out;
        }
        rc = disk_qmp_socket(ctx, v, d);
        goto out;
    }
    if (!strstr(be, "/backend/vbd/")) {
        snprintf(d->why, sizeof(d->why), "served by backend %.200s", be);
        goto out;
    }
    p = xasprintf("%s/script", be);
    script = disk_xs_read(ctx, xs, p, &rc);
    if (rc) goto out;
    free(p);
    p = xasprintf("%s/physical-device-path", be);
    v = disk_xs_read(ctx, xs, p, &rc);
    if (rc) goto out;
    base = script ? strrchr(script, '/') : NULL;
    base = base ? base + 1 : script;
    if (!base || strcmp(base, DISK_SCRIPT)) {
        snprintf(d->why, sizeof(d->why), "a blkback disk attached by script"
                 " %.64s, not " DISK_SCRIPT " (%.100s)",
                 script ? script : "(none)", v ? v : "no device");
        goto out;
    }
    if (!v || strncmp(v, DISK_DM_PREFIX, strlen(DISK_DM_PREFIX)) ||
        strlen(v) - strlen("/dev/mapper/") >= sizeof(d->handle) ||
        strchr(v + strlen("/dev/mapper/"), '/')) {
        snprintf(d->why, sizeof(d->why), "attached by " DISK_SCRIPT " but "
                 "its device is %.100s", v ? v : "missing");
        goto out;
    }
    strcpy(d->handle, v + strlen("/dev/mapper/"));
    d->mover = HV_DISK_MOVER_DM;
out:
    free(script);
    free(v);
    free(p);
    free(be);
    xs_close(xs);
    return rc;
}
