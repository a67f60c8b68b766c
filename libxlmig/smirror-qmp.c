/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * smirror-qmp.c - the QMP mover (smirror.h): a qdisk disk, served by the
 * domain's QEMU, mirrored by QEMU's own block job over a monitor of
 * ours. The disk's node is found, never guessed: query-block lists the
 * BlockBackends, the QOM property "vdev" of each one's device names the
 * disk, and its inserted.node-name is the disk's root node. Then:
 *   start   blockdev-add of the target as node "xlmig-tgt-<vdev>"
 *           (detect-zeroes=unmap), blockdev-mirror job "xlmig-<vdev>"
 *           (sync=full, auto-dismiss off: its outcome stays readable)
 *   poll    query-jobs: running, ready, or failed with QEMU's error
 *   pivot   job-complete; the job concludes without error; job-dismiss;
 *           the disk's node must now be the target's; blockdev-del of
 *           the source node (QEMU keeps it, and its file, open otherwise)
 *   detach  block-job-cancel, not forced, of the READY job: QEMU then
 *           completes it as a point-in-time copy (BLOCK_JOB_COMPLETED,
 *           no error; a forced or unready cancel concludes with error
 *           "Operation canceled"); job-dismiss; blockdev-del of the
 *           target (flushed, closed); the disk still on its source
 *   cancel  block-job-cancel force; job-dismiss; blockdev-del target
 * A job's end is awaited on JOB_STATUS_CHANGE and read from query-jobs.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "jsonlim.h"
#include "proto.h"
#include "qmp.h"
#include "smirror-priv.h"
#include "smirror-qmp.h"

#define SMIRROR_QMP_CMD_S 30.0      /* a command (QEMU under TCG is slow) */
#define SMIRROR_QMP_END_S 120.0     /* a job's conclusion */
#define SMIRROR_QMP_STEP_S 1.0      /* query again if an event was lost */
#define SMIRROR_QMP_VDEV_MAX 16     /* "xlmig-tgt-" + vdev: a node name
                                       must be under 32 bytes */
#define SMIRROR_QMP_LOG_MAX 200     /* bytes of a name of QEMU's logged */

struct smirror_qmp {
    struct qmp *q;
    char *sock;
    char *vdev;
    char *prop;                 /* the QOM property that names disks */
    char *job;                  /* "xlmig-<vdev>" */
    /*
     * The target node: "xlmig-tgt-<vdev>", or "xlmig-tgu-<vdev>" when
     * the disk already runs on a node of that first name (an earlier
     * move's target stays the disk's node for good).
     */
    char *tgt;
    bool recover;               /* opened by where/abort: no mirror of ours
                                   here; tgt is picked from the disk */
    char *src;                  /* the disk's node when it started */
};

/* What query-block says of the disk. */
struct smirror_qmp_disk {
    char *node;                 /* its root node */
    char *file;                 /* the image file under it */
    uint64_t size;              /* its virtual size */
    bool shared;                /* another device has the same image
                                   (an HVM guest's emulated disk, not
                                   unplugged): not to be mirrored */
};

static const struct smirror_ops smirror_qmp_ops;

static double smirror_qmp_in(const struct xlmig_ctx *ctx, double s)
{
    return ctx_now(ctx) + s;
}

/* A string of QEMU's, for a log line (allocated). */
static char *smirror_qmp_esc(const char *s)
{
    return proto_escape((const uint8_t *)s, strlen(s), SMIRROR_QMP_LOG_MAX);
}

static bool smirror_qmp_vdev_ok(const char *vdev)
{
    size_t n = strlen(vdev);

    return n > 0 && n <= SMIRROR_QMP_VDEV_MAX &&
           strspn(vdev, "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

static void smirror_qmp_disk_dispose(struct smirror_qmp_disk *d)
{
    free(d->node);
    free(d->file);
    memset(d, 0, sizeof(*d));
}

static void smirror_qmp_priv_free(struct smirror_qmp *p)
{
    if (!p) return;
    qmp_close(p->q);
    free(p->sock);
    free(p->vdev);
    free(p->prop);
    free(p->job);
    free(p->tgt);
    free(p->src);
    free(p);
}

/* The target's node name for disk node: never the disk's own. */
static void smirror_qmp_pick_tgt(struct smirror_qmp *p, const char *node)
{
    free(p->tgt);
    p->tgt = xasprintf("xlmig-tgt-%s", p->vdev);
    if (!strcmp(node, p->tgt)) {
        free(p->tgt);
        p->tgt = xasprintf("xlmig-tgu-%s", p->vdev);
    }
}

/* Our state for disk vdev, connected to the monitor sock. */
static int smirror_qmp_open(struct xlmig_ctx *ctx, const char *sock,
                            const char *vdev, const char *prop,
                            struct smirror_qmp **p_r)
{
    struct smirror_qmp *p = NULL;
    int rc;

    *p_r = NULL;
    if (!smirror_qmp_vdev_ok(vdev)) {
        LOG(ctx, ERROR, "disk name not fit for a qmp mirror (1..%d of"
            " a-z 0-9)", SMIRROR_QMP_VDEV_MAX);
        return XLMIG_E_INVAL;
    }
    p = xcalloc(1, sizeof(*p));
    p->sock = xstrdup(sock);
    p->vdev = xstrdup(vdev);
    p->prop = xstrdup(prop);
    p->job = xasprintf("xlmig-%s", vdev);
    p->tgt = xasprintf("xlmig-tgt-%s", vdev);
    rc = qmp_connect(ctx, sock, smirror_qmp_in(ctx, SMIRROR_QMP_CMD_S),
                     &p->q);
    if (rc) goto out;
    *p_r = p;
    p = NULL;
out:
    smirror_qmp_priv_free(p);
    return rc;
}

/*
 * Runs command with the arguments a (consumed; NULL: none) within a
 * command's time. err_r non-NULL: an error reply is expected (qmp.h).
 */
static int smirror_qmp_do(struct xlmig_ctx *ctx, struct smirror_qmp *p,
                          const char *command, struct qmp_args *a,
                          yajl_val *reply_r, char **err_r)
{
    double deadline = smirror_qmp_in(ctx, SMIRROR_QMP_CMD_S);
    char *args = NULL;
    int rc;

    if (reply_r) *reply_r = NULL;
    if (err_r) *err_r = NULL;
    if (a) {
        args = qmp_args_end(a);
        if (!args) {
            LOG(ctx, ERROR, "arguments of %s not valid UTF-8 (a file name?)",
                command);
            return XLMIG_E_INVAL;
        }
    }
    if (err_r)
        rc = qmp_exec_try(ctx, p->q, command, args, deadline, reply_r,
                          err_r);
    else
        rc = qmp_exec(ctx, p->q, command, args, deadline, reply_r);
    free(args);
    return rc;
}

/* The list a query-* command returns: NULL (logged) if it is none. */
static yajl_val smirror_qmp_list(struct xlmig_ctx *ctx,
                                 struct smirror_qmp *p, yajl_val reply,
                                 const char *command)
{
    yajl_val list = qmp_return(reply);

    if (YAJL_IS_ARRAY(list)) return list;
    LOG(ctx, ERROR, "qemu at %s answered %s with no list", p->sock, command);
    return NULL;
}

/* ---- finding the disk ---- */

/* Whether the QOM property of the device at qdev names our disk: xen-
 * block's "vdev" reads "xvdb0" for xvdb; exactly vdev or vdev "0". */
static int smirror_qmp_is_disk(struct xlmig_ctx *ctx, struct smirror_qmp *p,
                               const char *qdev, bool *is_r)
{
    struct qmp_args *a = qmp_args_new();
    yajl_val reply = NULL, v;
    size_t n = strlen(p->vdev);
    const char *s;
    char *err = NULL;
    int rc;

    *is_r = false;
    qmp_args_str(a, "path", qdev);
    qmp_args_str(a, "property", p->prop);
    rc = smirror_qmp_do(ctx, p, "qom-get", a, &reply, &err);
    if (rc == XLMIG_E_STORAGE && err) {
        rc = XLMIG_OK;          /* a device of another kind */
        goto out;
    }
    if (rc) goto out;
    v = qmp_return(reply);
    if (!YAJL_IS_STRING(v)) goto out;
    s = YAJL_GET_STRING(v);
    *is_r = !strncmp(s, p->vdev, n) && (!s[n] || !strcmp(s + n, "0"));
out:
    free(err);
    yajl_tree_free(reply);
    return rc;
}

/*
 * The file under a node named name: name itself, or for "json:{...}"
 * (options QEMU cannot fold into a plain name, such as raw's "size")
 * the "filename" of its innermost "file" object. Allocated.
 */
static char *smirror_qmp_plain_file(const char *name)
{
    yajl_val root, v, f;
    const char *s;
    char *why = NULL, *out;

    if (strncmp(name, "json:", 5)) return xstrdup(name);
    root = jsonlim_parse(name + 5, QMP_MSG_LINE_MAX, QMP_MSG_DEPTH_MAX, &why);
    if (!root) {
        free(why);
        return xstrdup(name);
    }
    for (v = root; (f = qmp_msg_get(v, "file")) && YAJL_IS_OBJECT(f); v = f)
        ;
    s = qmp_msg_get_str(v, "filename");
    out = xstrdup(s ? s : name);
    yajl_tree_free(root);
    return out;
}

static int smirror_qmp_disk_from(struct xlmig_ctx *ctx,
                                 const struct smirror_qmp *p, yajl_val ins,
                                 struct smirror_qmp_disk *d)
{
    yajl_val image = qmp_msg_get(ins, "image");
    const char *node = qmp_msg_get_str(ins, "node-name");
    const char *file = qmp_msg_get_str(image, "filename");

    if (!file) file = qmp_msg_get_str(ins, "file");
    if (!node || !file || !qmp_msg_get_u64(image, "virtual-size", &d->size)) {
        LOG(ctx, ERROR, "qemu at %s shows disk %s without node, file or"
            " size", p->sock, p->vdev);
        return XLMIG_E_PROTO;
    }
    d->node = xstrdup(node);
    d->file = smirror_qmp_plain_file(file);
    return XLMIG_OK;
}

/* The disk as query-block shows it: the one entry whose device's
 * property names it. XLMIG_E_NOTFOUND if none does. */
static int smirror_qmp_find_disk(struct xlmig_ctx *ctx,
                                 struct smirror_qmp *p,
                                 struct smirror_qmp_disk *d)
{
    yajl_val reply = NULL, list, e, ins, found = NULL;
    const char *qdev;
    size_t i;
    bool is;
    int rc;

    memset(d, 0, sizeof(*d));
    rc = smirror_qmp_do(ctx, p, "query-block", NULL, &reply, NULL);
    if (rc) goto out;
    list = smirror_qmp_list(ctx, p, reply, "query-block");
    if (!list) { rc = XLMIG_E_PROTO; goto out; }
    for (i = 0; i < list->u.array.len; i++) {
        e = list->u.array.values[i];
        qdev = qmp_msg_get_str(e, "qdev");
        ins = qmp_msg_get(e, "inserted");
        if (!qdev || !YAJL_IS_OBJECT(ins)) continue;
        rc = smirror_qmp_is_disk(ctx, p, qdev, &is);
        if (rc) goto out;
        if (!is) continue;
        if (found) {
            LOG(ctx, ERROR, "two devices of qemu at %s claim disk %s",
                p->sock, p->vdev);
            rc = XLMIG_E_STORAGE;
            goto out;
        }
        found = ins;
    }
    if (!found) {
        LOG(ctx, ERROR, "qemu at %s has no disk %s", p->sock, p->vdev);
        rc = XLMIG_E_NOTFOUND;
        goto out;
    }
    rc = smirror_qmp_disk_from(ctx, p, found, d);
    if (rc) goto out;
    for (i = 0; i < list->u.array.len; i++) {
        const char *f;

        ins = qmp_msg_get(list->u.array.values[i], "inserted");
        if (!YAJL_IS_OBJECT(ins) || ins == found) continue;
        f = qmp_msg_get_str(ins, "file");
        if (f && !strcmp(f, d->file)) d->shared = true;
    }
out:
    yajl_tree_free(reply);
    return rc;
}

/* ---- jobs and nodes ---- */

/* Our job in query-jobs: *job_r (NULL: none) points into *reply_r,
 * which the caller frees in any case. */
static int smirror_qmp_job(struct xlmig_ctx *ctx, struct smirror_qmp *p,
                           yajl_val *reply_r, yajl_val *job_r)
{
    yajl_val list, e;
    const char *id;
    size_t i;
    int rc;

    *job_r = NULL;
    rc = smirror_qmp_do(ctx, p, "query-jobs", NULL, reply_r, NULL);
    if (rc) return rc;
    list = smirror_qmp_list(ctx, p, *reply_r, "query-jobs");
    if (!list) return XLMIG_E_PROTO;
    for (i = 0; i < list->u.array.len; i++) {
        e = list->u.array.values[i];
        id = qmp_msg_get_str(e, "id");
        if (id && !strcmp(id, p->job)) {
            if (!qmp_msg_get_str(e, "status")) {
                LOG(ctx, ERROR, "qemu at %s shows job %s without a status",
                    p->sock, p->job);
                return XLMIG_E_PROTO;
            }
            *job_r = e;
            break;
        }
    }
    return XLMIG_OK;
}

/* Whether node is in QEMU's block graph, and its virtual size. */
static int smirror_qmp_node(struct xlmig_ctx *ctx, struct smirror_qmp *p,
                            const char *node, bool *exists_r,
                            uint64_t *size_r)
{
    struct qmp_args *a = qmp_args_new();
    yajl_val reply = NULL, list, e;
    const char *name;
    size_t i;
    int rc;

    *exists_r = false;
    *size_r = 0;
    qmp_args_bool(a, "flat", true);
    rc = smirror_qmp_do(ctx, p, "query-named-block-nodes", a, &reply, NULL);
    if (rc) goto out;
    list = smirror_qmp_list(ctx, p, reply, "query-named-block-nodes");
    if (!list) { rc = XLMIG_E_PROTO; goto out; }
    for (i = 0; i < list->u.array.len; i++) {
        e = list->u.array.values[i];
        name = qmp_msg_get_str(e, "node-name");
        if (name && !strcmp(name, node)) {
            *exists_r = true;
            (void)qmp_msg_get_u64(qmp_msg_get(e, "image"), "virtual-size",
                                  size_r);
            break;
        }
    }
out:
    yajl_tree_free(reply);
    return rc;
}

/* blockdev-del of node if it is there. */
static int smirror_qmp_del(struct xlmig_ctx *ctx, struct smirror_qmp *p,
                           const char *node)
{
    struct qmp_args *a;
    uint64_t size;
    bool exists;
    int rc;

    rc = smirror_qmp_node(ctx, p, node, &exists, &size);
    if (rc || !exists) return rc;
    a = qmp_args_new();
    qmp_args_str(a, "node-name", node);
    return smirror_qmp_do(ctx, p, "blockdev-del", a, NULL, NULL);
}

/*
 * Waits until our job has concluded, then dismisses it. *error_r: the
 * job's error (allocated, printable; the caller frees it whatever the
 * code) or NULL; *gone_r: the job was not there (someone dismissed it,
 * so how it ended is unknown).
 */
static int smirror_qmp_job_end(struct xlmig_ctx *ctx, struct smirror_qmp *p,
                               char **error_r, bool *gone_r)
{
    double deadline = smirror_qmp_in(ctx, SMIRROR_QMP_END_S), step;
    yajl_val reply = NULL, job;
    struct qmp_args *a;
    const char *err;
    char *esc;
    int rc;

    *error_r = NULL;
    *gone_r = false;
    for (;;) {
        yajl_tree_free(reply);
        rc = smirror_qmp_job(ctx, p, &reply, &job);
        if (rc) goto out;
        if (!job) {
            *gone_r = true;
            goto out;
        }
        if (!strcmp(qmp_msg_get_str(job, "status"), "concluded")) break;
        if (ctx_now(ctx) >= deadline) {
            esc = smirror_qmp_esc(qmp_msg_get_str(job, "status"));
            LOG(ctx, ERROR, "mirror job %s still %s after %.0f s", p->job,
                esc, SMIRROR_QMP_END_S);
            free(esc);
            rc = XLMIG_E_TIMEDOUT;
            goto out;
        }
        step = smirror_qmp_in(ctx, SMIRROR_QMP_STEP_S);
        rc = qmp_event_wait(ctx, p->q, "JOB_STATUS_CHANGE", p->job,
                            step < deadline ? step : deadline, NULL);
        if (rc && rc != XLMIG_E_TIMEDOUT) goto out;
    }
    err = qmp_msg_get_str(job, "error");
    if (err) *error_r = smirror_qmp_esc(err);
    a = qmp_args_new();
    qmp_args_str(a, "id", p->job);
    rc = smirror_qmp_do(ctx, p, "job-dismiss", a, NULL, NULL);
out:
    yajl_tree_free(reply);
    return rc;
}

/* Ends our job, if there is one, without completing it. */
static int smirror_qmp_job_stop(struct xlmig_ctx *ctx, struct smirror_qmp *p)
{
    yajl_val reply = NULL, job;
    struct qmp_args *a;
    const char *status;
    char *err = NULL;
    bool gone;
    int rc;

    rc = smirror_qmp_job(ctx, p, &reply, &job);
    if (rc || !job) goto out;
    status = qmp_msg_get_str(job, "status");
    if (strcmp(status, "concluded") && strcmp(status, "aborting")) {
        a = qmp_args_new();
        qmp_args_str(a, "device", p->job);
        qmp_args_bool(a, "force", true);
        rc = smirror_qmp_do(ctx, p, "block-job-cancel", a, NULL, NULL);
        if (rc) goto out;
    }
    rc = smirror_qmp_job_end(ctx, p, &err, &gone);
    if (err) LOG(ctx, DEBUG, "mirror job %s ended: %s", p->job, err);
out:
    free(err);
    yajl_tree_free(reply);
    return rc;
}

/*
 * The disk on its source alone: our job stopped, our target node gone.
 * If the disk already runs on the target, nothing is touched and the
 * code is on_target.
 */
static int smirror_qmp_undo(struct xlmig_ctx *ctx, struct smirror_qmp *p,
                            int on_target)
{
    struct smirror_qmp_disk d;
    int rc;

    rc = smirror_qmp_find_disk(ctx, p, &d);
    if (rc) goto out;
    if (p->recover) smirror_qmp_pick_tgt(p, d.node);
    if (!strcmp(d.node, p->tgt)) {
        LOG(ctx, ERROR, "disk %s already runs on its mirror's target (node"
            " %s): its source cannot be restored", p->vdev, p->tgt);
        rc = on_target;
        goto out;
    }
    rc = smirror_qmp_job_stop(ctx, p);
    if (rc) goto out;
    rc = smirror_qmp_del(ctx, p, p->tgt);
out:
    smirror_qmp_disk_dispose(&d);
    return rc;
}

/* ---- start ---- */

/* The size of target and the QEMU driver that opens it. */
static int smirror_qmp_target(struct xlmig_ctx *ctx, const char *target,
                              uint64_t *size_r, const char **driver_r)
{
    char *esc = smirror_qmp_esc(target);
    struct stat st;
    int fd = -1, rc;

    if (target[0] != '/') {
        LOG(ctx, ERROR, "mirror target %s: not an absolute path", esc);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    if (stat(target, &st)) {
        LOGE(ctx, ERROR, "mirror target %s", esc);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    if (S_ISREG(st.st_mode)) {
        *size_r = (uint64_t)st.st_size;
        *driver_r = "file";
        rc = XLMIG_OK;
        goto out;
    }
    if (!S_ISBLK(st.st_mode)) {
        LOG(ctx, ERROR, "mirror target %s: neither a file nor a block"
            " device", esc);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    fd = open(target, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ioctl(fd, BLKGETSIZE64, size_r)) {
        LOGE(ctx, ERROR, "size of mirror target %s", esc);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    *driver_r = "host_device";
    rc = XLMIG_OK;
out:
    if (fd >= 0) close(fd);
    free(esc);
    return rc;
}

/*
 * blockdev-add of target as our node, of exactly the disk's size, since
 * QEMU mirrors only between equal sizes: raw over a larger target (an
 * LV rounded up to its extents) is cut to it with raw's "size".
 */
static int smirror_qmp_add_target(struct xlmig_ctx *ctx,
                                  struct smirror_qmp *p,
                                  const struct smirror_qmp_disk *d,
                                  const char *target, const char *fmt)
{
    struct qmp_args *a;
    const char *driver;
    uint64_t tsize, nsize;
    bool exists;
    int rc;

    rc = smirror_qmp_target(ctx, target, &tsize, &driver);
    if (rc) return rc;
    a = qmp_args_new();
    qmp_args_str(a, "driver", fmt);
    qmp_args_str(a, "node-name", p->tgt);
    qmp_args_str(a, "detect-zeroes", "unmap");
    qmp_args_str(a, "discard", "unmap");
    if (!strcmp(fmt, "raw") && tsize > d->size)
        qmp_args_u64(a, "size", d->size);
    qmp_args_open(a, "file");
    qmp_args_str(a, "driver", driver);
    qmp_args_str(a, "filename", target);
    qmp_args_close(a);
    rc = smirror_qmp_do(ctx, p, "blockdev-add", a, NULL, NULL);
    if (rc) return rc;
    rc = smirror_qmp_node(ctx, p, p->tgt, &exists, &nsize);
    if (!rc && nsize != d->size) {
        LOG(ctx, ERROR, "mirror target of disk %s holds %" PRIu64 " bytes,"
            " the disk %" PRIu64 ": they must be equal", p->vdev, nsize,
            d->size);
        rc = XLMIG_E_STORAGE;
    }
    if (rc && smirror_qmp_del(ctx, p, p->tgt))
        LOG(ctx, ERROR, "node %s left in qemu at %s", p->tgt, p->sock);
    return rc;
}

/* XLMIG_E_BUSY if a job or node of ours is there already. */
static int smirror_qmp_idle(struct xlmig_ctx *ctx, struct smirror_qmp *p)
{
    yajl_val reply = NULL, job;
    uint64_t size;
    bool node;
    int rc;

    rc = smirror_qmp_job(ctx, p, &reply, &job);
    yajl_tree_free(reply);
    if (rc) return rc;
    if (job) {
        LOG(ctx, ERROR, "qemu at %s already runs mirror job %s: recover"
            " first", p->sock, p->job);
        return XLMIG_E_BUSY;
    }
    rc = smirror_qmp_node(ctx, p, p->tgt, &node, &size);
    if (rc) return rc;
    if (node) {
        LOG(ctx, ERROR, "qemu at %s already has node %s: recover first",
            p->sock, p->tgt);
        return XLMIG_E_BUSY;
    }
    return XLMIG_OK;
}

static int smirror_qmp_mirror(struct xlmig_ctx *ctx, struct smirror_qmp *p,
                              const char *node, uint64_t bandwidth)
{
    struct qmp_args *a = qmp_args_new();

    qmp_args_str(a, "job-id", p->job);
    qmp_args_str(a, "device", node);
    qmp_args_str(a, "target", p->tgt);
    qmp_args_str(a, "sync", "full");
    qmp_args_bool(a, "auto-dismiss", false);
    if (bandwidth) qmp_args_u64(a, "speed", bandwidth);
    return smirror_qmp_do(ctx, p, "blockdev-mirror", a, NULL, NULL);
}

int smirror_qmp_start_prop(struct xlmig_ctx *ctx, const char *sock,
                           const char *vdev, const char *prop,
                           const char *target, const char *fmt,
                           uint64_t bandwidth, struct smirror **m_r)
{
    struct smirror_qmp_disk d = { 0 };
    struct smirror_qmp *p = NULL;
    bool added = false;
    char *esc;
    int rc;

    *m_r = NULL;
    if (!fmt) fmt = "raw";
    if (strcmp(fmt, "raw") && strcmp(fmt, "qcow2")) {
        LOG(ctx, ERROR, "mirror target format %s: raw or qcow2 only", fmt);
        return XLMIG_E_INVAL;
    }
    if (bandwidth > INT64_MAX) {
        LOG(ctx, ERROR, "mirror bandwidth %" PRIu64 " too large", bandwidth);
        return XLMIG_E_INVAL;
    }
    rc = smirror_qmp_open(ctx, sock, vdev, prop, &p);
    if (rc) goto out;
    rc = smirror_qmp_find_disk(ctx, p, &d);
    if (rc) goto out;
    smirror_qmp_pick_tgt(p, d.node);
    if (d.shared) {
        LOG(ctx, ERROR, "disk %s: its image is open by another device of "
            "qemu at %s too (an emulated disk the guest has not unplugged)"
            ": a mirror would leave that one on the source", vdev, sock);
        rc = XLMIG_E_BUSY;
        goto out;
    }
    rc = smirror_qmp_idle(ctx, p);
    if (rc) goto out;
    rc = smirror_qmp_add_target(ctx, p, &d, target, fmt);
    if (rc) goto out;
    added = true;
    rc = smirror_qmp_mirror(ctx, p, d.node, bandwidth);
    if (rc) goto out;
    esc = smirror_qmp_esc(target);
    LOG(ctx, INFO, "disk %s mirrored to %s by qemu job %s", vdev, esc,
        p->job);
    free(esc);
    p->src = d.node;
    d.node = NULL;
    *m_r = smirror_new(&smirror_qmp_ops, p);
    p = NULL;
out:
    if (rc && added && smirror_qmp_del(ctx, p, p->tgt))
        LOG(ctx, ERROR, "node %s left in qemu at %s", p->tgt, sock);
    smirror_qmp_disk_dispose(&d);
    smirror_qmp_priv_free(p);
    return rc;
}

int smirror_qmp_start(struct xlmig_ctx *ctx, const char *sock,
                      const char *vdev, const char *target, const char *fmt,
                      uint64_t bandwidth, struct smirror **m_r)
{
    return smirror_qmp_start_prop(ctx, sock, vdev, SMIRROR_QMP_PROP, target,
                                  fmt, bandwidth, m_r);
}

/* ---- the mirror's operations ---- */

static int smirror_qmp_poll(struct xlmig_ctx *ctx, struct smirror *m,
                            struct smirror_status *st)
{
    struct smirror_qmp *p = m->priv;
    yajl_val reply = NULL, job;
    const char *status, *err;
    char *esc;
    int rc;

    rc = smirror_qmp_job(ctx, p, &reply, &job);
    if (rc) goto out;
    if (!job) {
        LOG(ctx, ERROR, "mirror job %s of disk %s is gone from qemu at %s",
            p->job, p->vdev, p->sock);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    status = qmp_msg_get_str(job, "status");
    err = qmp_msg_get_str(job, "error");
    if (err || !strcmp(status, "concluded") || !strcmp(status, "aborting")) {
        esc = smirror_qmp_esc(err ? err : status);
        LOG(ctx, ERROR, "mirror job %s of disk %s failed: %s", p->job,
            p->vdev, esc);
        free(esc);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    /* total-progress grows while the guest writes what is copied. */
    if (!qmp_msg_get_u64(job, "current-progress", &st->done) ||
        !qmp_msg_get_u64(job, "total-progress", &st->total)) {
        LOG(ctx, ERROR, "qemu at %s shows job %s without its progress",
            p->sock, p->job);
        rc = XLMIG_E_PROTO;
        goto out;
    }
    if (st->done > st->total) st->done = st->total;
    st->ready = !strcmp(status, "ready");
out:
    yajl_tree_free(reply);
    return rc;
}

static int smirror_qmp_pivot(struct xlmig_ctx *ctx, struct smirror *m)
{
    struct smirror_qmp *p = m->priv;
    struct smirror_qmp_disk d = { 0 };
    struct qmp_args *a = qmp_args_new();
    char *err = NULL, *esc;
    bool gone;
    int rc;

    qmp_args_str(a, "id", p->job);
    rc = smirror_qmp_do(ctx, p, "job-complete", a, NULL, NULL);
    if (rc) goto out;
    rc = smirror_qmp_job_end(ctx, p, &err, &gone);
    if (rc) goto out;
    if (err || gone) {
        LOG(ctx, ERROR, "mirror job %s of disk %s did not switch: %s",
            p->job, p->vdev, err ? err : "the job vanished");
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    rc = smirror_qmp_find_disk(ctx, p, &d);
    if (rc) goto out;
    if (strcmp(d.node, p->tgt)) {
        esc = smirror_qmp_esc(d.node);
        LOG(ctx, ERROR, "after its switch disk %s uses node %s, not %s",
            p->vdev, esc, p->tgt);
        free(esc);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    /* QEMU keeps the source node, and its file open, until deleted. */
    rc = smirror_qmp_del(ctx, p, p->src);
    if (rc) goto out;
    LOG(ctx, INFO, "disk %s switched to its mirror's target", p->vdev);
out:
    smirror_qmp_disk_dispose(&d);
    free(err);
    return rc;
}

/* The READY mirror stopped so that the target is a copy as of now. */
static int smirror_qmp_stop_copy(struct xlmig_ctx *ctx, struct smirror_qmp *p)
{
    yajl_val reply = NULL, job;
    struct qmp_args *a;
    char *err = NULL, *esc;
    bool gone;
    int rc;

    rc = smirror_qmp_job(ctx, p, &reply, &job);
    if (rc) goto out;
    if (!job || strcmp(qmp_msg_get_str(job, "status"), "ready")) {
        esc = smirror_qmp_esc(job ? qmp_msg_get_str(job, "status") : "gone");
        LOG(ctx, ERROR, "mirror job %s of disk %s is not in sync (%s): no"
            " point-in-time copy", p->job, p->vdev, esc);
        free(esc);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    /* Not forced: QEMU completes a READY mirror without switching. */
    a = qmp_args_new();
    qmp_args_str(a, "device", p->job);
    rc = smirror_qmp_do(ctx, p, "block-job-cancel", a, NULL, NULL);
    if (rc) goto out;
    rc = smirror_qmp_job_end(ctx, p, &err, &gone);
    if (rc) goto out;
    if (err || gone) {
        LOG(ctx, ERROR, "mirror job %s of disk %s did not stop as a copy:"
            " %s", p->job, p->vdev, err ? err : "the job vanished");
        rc = XLMIG_E_STORAGE;
    }
out:
    free(err);
    yajl_tree_free(reply);
    return rc;
}

static int smirror_qmp_detach(struct xlmig_ctx *ctx, struct smirror *m)
{
    struct smirror_qmp *p = m->priv;
    struct smirror_qmp_disk d = { 0 };
    char *esc;
    int rc;

    rc = smirror_qmp_stop_copy(ctx, p);
    if (rc) goto out;
    /* blockdev-del flushes the target and closes it. */
    rc = smirror_qmp_del(ctx, p, p->tgt);
    if (rc) goto out;
    rc = smirror_qmp_find_disk(ctx, p, &d);
    if (rc) goto out;
    if (strcmp(d.node, p->src)) {
        esc = smirror_qmp_esc(d.node);
        LOG(ctx, ERROR, "after its mirror stopped disk %s uses node %s,"
            " not its source", p->vdev, esc);
        free(esc);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    LOG(ctx, INFO, "disk %s: its mirror's target is a copy as of now",
        p->vdev);
out:
    smirror_qmp_disk_dispose(&d);
    return rc;
}

static int smirror_qmp_cancel(struct xlmig_ctx *ctx, struct smirror *m)
{
    return smirror_qmp_undo(ctx, m->priv, XLMIG_E_STORAGE);
}

static void smirror_qmp_dispose(struct xlmig_ctx *ctx, struct smirror *m)
{
    (void)ctx;
    smirror_qmp_priv_free(m->priv);
    m->priv = NULL;
}

static const struct smirror_ops smirror_qmp_ops = {
    .name = "qmp",
    .poll = smirror_qmp_poll,
    .pivot = smirror_qmp_pivot,
    .detach = smirror_qmp_detach,
    .cancel = smirror_qmp_cancel,
    .dispose = smirror_qmp_dispose,
};

/* ---- recover ---- */

/* Whether a and b name the same file or block device. */
static bool smirror_qmp_same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    if (!strcmp(a, b)) return true;
    if (stat(a, &sa) || stat(b, &sb)) return false;
    if (S_ISBLK(sa.st_mode) || S_ISBLK(sb.st_mode))
        return S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode) &&
               sa.st_rdev == sb.st_rdev;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* A mirror of ours, or what is left of one: a job or the target node. */
static int smirror_qmp_ours(struct xlmig_ctx *ctx, struct smirror_qmp *p,
                            bool *ours_r)
{
    yajl_val reply = NULL, job;
    uint64_t size;
    int rc;

    rc = smirror_qmp_job(ctx, p, &reply, &job);
    *ours_r = job != NULL;
    yajl_tree_free(reply);
    if (rc || *ours_r) return rc;
    return smirror_qmp_node(ctx, p, p->tgt, ours_r, &size);
}

int smirror_qmp_where_prop(struct xlmig_ctx *ctx, const char *sock,
                           const char *vdev, const char *prop,
                           const char *source, const char *target,
                           enum smirror_where *where_r)
{
    struct smirror_qmp_disk d = { 0 };
    struct smirror_qmp *p = NULL;
    char *esc;
    bool ours;
    int rc;

    rc = smirror_qmp_open(ctx, sock, vdev, prop, &p);
    if (rc) goto out;
    rc = smirror_qmp_find_disk(ctx, p, &d);
    if (rc) goto out;
    /* By file only: an earlier move's target node stays the disk's. */
    smirror_qmp_pick_tgt(p, d.node);
    if (smirror_qmp_same_file(d.file, target)) {
        *where_r = SMIRROR_ON_TARGET;
        goto out;
    }
    /*
     * Not on the target, so the move never switched. QEMU keeps the name
     * it opened a file by: after an earlier live move that is the copy's
     * name before its rename, which may exist no more.
     */
    if (!smirror_qmp_same_file(d.file, source)) {
        esc = smirror_qmp_esc(d.file);
        LOG(ctx, INFO, "disk %s: qemu names its image %s (the name it was "
            "opened by), not %s", vdev, esc, source);
        free(esc);
    }
    rc = smirror_qmp_ours(ctx, p, &ours);
    if (rc) goto out;
    *where_r = ours ? SMIRROR_MIRRORING : SMIRROR_ON_SOURCE;
out:
    smirror_qmp_disk_dispose(&d);
    smirror_qmp_priv_free(p);
    return rc;
}

int smirror_qmp_where(struct xlmig_ctx *ctx, const char *sock,
                      const char *vdev, const char *source,
                      const char *target, enum smirror_where *where_r)
{
    return smirror_qmp_where_prop(ctx, sock, vdev, SMIRROR_QMP_PROP, source,
                                  target, where_r);
}

int smirror_qmp_abort_prop(struct xlmig_ctx *ctx, const char *sock,
                           const char *vdev, const char *prop)
{
    struct smirror_qmp *p = NULL;
    int rc;

    rc = smirror_qmp_open(ctx, sock, vdev, prop, &p);
    if (!rc) {
        p->recover = true;
        rc = smirror_qmp_undo(ctx, p, XLMIG_E_INVAL);
    }
    smirror_qmp_priv_free(p);
    return rc;
}

int smirror_qmp_abort(struct xlmig_ctx *ctx, const char *sock,
                      const char *vdev)
{
    return smirror_qmp_abort_prop(ctx, sock, vdev, SMIRROR_QMP_PROP);
}
