/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * storage-copy-qemu.c - the copier's qemu-img half (see storage-copy.h):
 * what an image is (info, one file of the chain at a time, each backing
 * file judged before qemu-img opens it), how much room it needs
 * (measure), and format-converting copies (convert, then compare), run
 * under resource limits in process groups that a cancel kills.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "child.h"
#include "fdio.h"
#include "jsonlim.h"
#include "proto.h"
#include "storage-copy.h"

#define SCOPY_TICK_S 1.0                    /* progress interval */
#define SCOPY_QEMU_AS "--as=1073741824"     /* qemu-img's RLIMIT_AS: 1 GiB */
#define SCOPY_QEMU_CPU "--cpu=30"           /* info, measure: RLIMIT_CPU */
#define SCOPY_QEMU_TIMEOUT_S 30             /* info, measure: wall clock */
#define SCOPY_QEMU_OUT_MAX (1u << 20)       /* info's or measure's output */
#define SCOPY_QEMU_DEPTH_MAX 16
#define SCOPY_QEMU_LINE_MAX 256             /* output line kept */
#define SCOPY_QEMU_WHY_MAX 200              /* of it logged, escaped */
#define SCOPY_CHAIN_MAX 64                  /* backing files */
#define SCOPY_FORMAT_MAX 15

static const struct scopy_opts scopy_qemu_no_opts = { .cancel_fd = -1 };

/* Paths absolute (qemu-img would read "proto:..." as a protocol). */
static int scopy_qemu_path(struct xlmig_ctx *ctx, const char *path)
{
    if (path[0] != '/') {
        LOG(ctx, ERROR, "%s: not an absolute path", path);
        return XLMIG_E_INVAL;
    }
    return XLMIG_OK;
}

/* Formats a plain word (qemu-img's name). */
static int scopy_qemu_format(struct xlmig_ctx *ctx, const char *format)
{
    size_t n = strlen(format);

    if (!n || n > SCOPY_FORMAT_MAX ||
        strspn(format, "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
        LOG(ctx, ERROR, "%.40s: not an image format name", format);
        return XLMIG_E_INVAL;
    }
    return XLMIG_OK;
}

/*
 * sh -c 'exec 2>&1; exec "$@"' sh prlimit LIMITS -- qemu-img ARGS...:
 * qemu-img's stderr with its stdout, for us to read; its limits set
 * before it runs (posix_spawn cannot set them). Allocated array.
 */
static char **scopy_qemu_argv(bool cpu_limit, char *const args[])
{
    static const char *const head[] = {
        "/bin/sh", "-c", "exec 2>&1; exec \"$@\"", "sh", "prlimit",
        SCOPY_QEMU_AS,
    };
    size_t n = 0, i, j = 0;
    char **argv;

    while (args[n]) n++;
    argv = xcalloc(ARRAY_SIZE(head) + n + 4, sizeof(*argv));
    for (i = 0; i < ARRAY_SIZE(head); i++) argv[j++] = (char *)head[i];
    if (cpu_limit) argv[j++] = (char *)SCOPY_QEMU_CPU;
    argv[j++] = (char *)"--";
    argv[j++] = (char *)"qemu-img";
    for (i = 0; i < n; i++) argv[j++] = args[i];
    return argv;
}

/* The last non-empty line of qemu-img's output, escaped (allocated). */
static char *scopy_last_line(const char *out)
{
    const char *end = out + strlen(out), *start;

    while (end > out && (end[-1] == '\n' || end[-1] == '\r' ||
                         end[-1] == ' '))
        end--;
    start = end;
    while (start > out && start[-1] != '\n' && start[-1] != '\r') start--;
    return proto_escape((const uint8_t *)start, (size_t)(end - start),
                        SCOPY_QEMU_WHY_MAX);
}

/*
 * Logs a failed qemu-img run of path: XLMIG_E_STORAGE, or XLMIG_E_NOSPACE
 * if it said "No space left" (then naming dst, what it writes; NULL: it
 * writes nothing).
 */
static int scopy_qemu_failed(struct xlmig_ctx *ctx, const char *what,
                             const char *path, const char *dst, int status,
                             const char *out, bool nospace)
{
    char why[64], *line = scopy_last_line(out);
    int rc = XLMIG_E_STORAGE;

    if (dst && (nospace || strstr(out, "No space left"))) {
        LOG(ctx, ERROR, "no space left on %s (%s of %s: %s)", dst, what,
            path, line);
        rc = XLMIG_E_NOSPACE;
    } else {
        LOG(ctx, ERROR, "%s of %s %s: %s", what, path,
            child_status_str(status, why, sizeof(why)),
            *line ? line : "(no output)");
    }
    free(line);
    return rc;
}

/* Runs a short qemu-img command and parses its JSON answer. */
static int scopy_qemu_json(struct xlmig_ctx *ctx, const char *what,
                           const char *path, char *const args[],
                           yajl_val *v_r)
{
    struct child_run_opts ro = {
        .max = SCOPY_QEMU_OUT_MAX,
        .deadline = ctx_now(ctx) + SCOPY_QEMU_TIMEOUT_S,
    };
    char **argv = scopy_qemu_argv(true, args);
    char *out = NULL, *why = NULL, *q, *json;
    int status, rc;

    *v_r = NULL;
    rc = child_run_group(ctx, what, argv, &ro, &out, &status);
    if (rc) goto out;
    if (status) {
        rc = scopy_qemu_failed(ctx, what, path, NULL, status, out, false);
        goto out;
    }
    /* Warnings (its stderr) may come first, a line each. */
    for (json = out; *json && *json != '{' && *json != '[';
         json = q ? q + 1 : json + strlen(json))
        q = strchr(json, '\n');
    *v_r = jsonlim_parse(json, SCOPY_QEMU_OUT_MAX, SCOPY_QEMU_DEPTH_MAX,
                         &why);
    if (!*v_r) {
        q = proto_escape((const uint8_t *)why, strlen(why), 120);
        LOG(ctx, ERROR, "%s of %s: its answer is no JSON: %s", what, path, q);
        free(q);
        rc = XLMIG_E_PROTO;
    }
out:
    free(why);
    free(out);
    free(argv);
    return rc;
}

static bool scopy_json_u64(yajl_val v, const char *key, uint64_t *n_r)
{
    const char *path[] = { key, NULL };
    yajl_val n = yajl_tree_get(v, path, yajl_t_number);

    if (!n || !YAJL_IS_INTEGER(n) || YAJL_GET_INTEGER(n) < 0) return false;
    *n_r = (uint64_t)YAJL_GET_INTEGER(n);
    return true;
}

static const char *scopy_json_str(yajl_val v, const char *const path[])
{
    yajl_val s = yajl_tree_get(v, (const char **)path, yajl_t_string);

    return s ? YAJL_GET_STRING(s) : NULL;
}

/* Whether a file of the chain names files of its own: a qcow2 data-file,
 * vmdk extents other than itself, a vmdk that is not one file. */
static bool scopy_names_files(yajl_val v)
{
    const char *data_file[] = { "format-specific", "data", "data-file",
                                NULL };
    const char *type[] = { "format-specific", "data", "create-type", NULL };
    const char *extents[] = { "format-specific", "data", "extents", NULL };
    const char *name[] = { "filename", NULL };
    const char *fmt[] = { "format", NULL };
    const char *t, *self = scopy_json_str(v, name), *f;
    yajl_val e;
    size_t i;

    if (yajl_tree_get(v, data_file, yajl_t_any)) return true;
    f = scopy_json_str(v, fmt);
    if (!f || strcmp(f, "vmdk")) return false;
    t = scopy_json_str(v, type);
    if (!t || (strcmp(t, "monolithicSparse") &&
               strcmp(t, "streamOptimized")))
        return true;
    e = yajl_tree_get(v, extents, yajl_t_array);
    for (i = 0; e && i < YAJL_GET_ARRAY(e)->len; i++) {
        const char *x = scopy_json_str(YAJL_GET_ARRAY(e)->values[i], name);

        if (!x || !self || strcmp(x, self)) return true;
    }
    return false;
}

/* Whether a vmdk file is a text descriptor (no sparse extent magic). */
static int scopy_vmdk_text(struct xlmig_ctx *ctx, const char *path,
                           bool *text_r)
{
    char magic[4] = { 0 };
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    ssize_t k;

    *text_r = false;
    if (fd < 0) {
        LOGE(ctx, ERROR, "open %s", path);
        return err_from_errno(errno);
    }
    k = pread(fd, magic, sizeof(magic), 0);
    close(fd);
    if (k < 0) {
        LOGE(ctx, ERROR, "read %s", path);
        return XLMIG_E_STORAGE;
    }
    *text_r = memcmp(magic, "KDMV", 4) && memcmp(magic, "COWD", 4);
    return XLMIG_OK;
}

/*
 * One file of the chain: qemu-img info (which opens no backing file) of
 * path as format; *next_r and *nfmt_r its backing file and that file's
 * format (allocated), or NULL.
 */
static int scopy_info_one(struct xlmig_ctx *ctx, const char *path,
                          const char *format, struct scopy_image *img,
                          bool first, char **next_r, char **nfmt_r)
{
    const char *bpath[] = { "full-backing-filename", NULL };
    const char *fpath[] = { "backing-filename-format", NULL };
    char *args[] = { (char *)"info", (char *)"-U", (char *)"--output=json",
                     (char *)"-f", (char *)format, (char *)"--",
                     (char *)path, NULL };
    const char *b, *f;
    yajl_val v = NULL;
    bool text = false;
    int rc;

    *next_r = *nfmt_r = NULL;
    rc = scopy_qemu_path(ctx, path);
    if (!rc) rc = scopy_qemu_format(ctx, format);
    if (!rc && !strcmp(format, "vmdk"))
        rc = scopy_vmdk_text(ctx, path, &text);
    if (rc || text) {
        img->descriptor = text;
        return rc;
    }
    rc = scopy_qemu_json(ctx, "qemu-img info", path, args, &v);
    if (rc) goto out;
    if (!YAJL_IS_OBJECT(v) ||
        (first && !scopy_json_u64(v, "virtual-size", &img->virtual_size))) {
        LOG(ctx, ERROR, "qemu-img info of %s: no virtual-size", path);
        rc = XLMIG_E_PROTO;
        goto out;
    }
    if (first) (void)scopy_json_u64(v, "actual-size", &img->actual_size);
    img->descriptor = scopy_names_files(v);
    b = scopy_json_str(v, bpath);
    f = scopy_json_str(v, fpath);
    if (img->descriptor || !b) goto out;
    /* Judged before qemu-img opens it: a file, of a known format. */
    if (b[0] != '/' || !f) {
        char *q = proto_escape((const uint8_t *)b, strlen(b), 120);

        LOG(ctx, ERROR, "%s names the backing file %s %s: refused", path, q,
            b[0] != '/' ? "(not an absolute file name)"
                        : "without its format");
        free(q);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    *next_r = xstrdup(b);
    *nfmt_r = xstrdup(f);
out:
    yajl_tree_free(v);
    return rc;
}

int scopy_image_info(struct xlmig_ctx *ctx, const char *path,
                     const char *format, struct scopy_image *img)
{
    char *cur = NULL, *fmt = NULL, *next = NULL, *nfmt = NULL;
    struct stat st;
    size_t i;
    int rc;

    memset(img, 0, sizeof(*img));
    rc = scopy_qemu_path(ctx, path);
    if (!rc) rc = scopy_qemu_format(ctx, format);
    if (rc) return rc;
    snprintf(img->format, sizeof(img->format), "%s", format);
    if (stat(path, &st) < 0) {
        LOGE(ctx, ERROR, "image %s", path);
        return err_from_errno(errno);
    }
    cur = xstrdup(path);
    fmt = xstrdup(format);
    for (;;) {
        rc = scopy_info_one(ctx, cur, fmt, img, !img->n_chain, &next,
                            &nfmt);
        if (rc || !next) break;
        for (i = 0; i < img->n_chain && strcmp(img->chain[i], next); i++)
            ;
        if (i < img->n_chain || !strcmp(next, path) ||
            img->n_chain == SCOPY_CHAIN_MAX) {
            LOG(ctx, ERROR, "the backing chain of %s %s", path,
                img->n_chain == SCOPY_CHAIN_MAX ? "is too long"
                                                : "is a loop");
            rc = XLMIG_E_STORAGE;
            break;
        }
        img->chain = xrealloc(img->chain,
                              (img->n_chain + 1) * sizeof(*img->chain));
        img->chain[img->n_chain++] = next;
        free(cur);
        free(fmt);
        cur = xstrdup(next);
        fmt = nfmt;
        next = nfmt = NULL;
    }
    free(next);
    free(nfmt);
    free(cur);
    free(fmt);
    return rc;
}

void scopy_image_dispose(struct scopy_image *img)
{
    size_t i;

    for (i = 0; i < img->n_chain; i++) free(img->chain[i]);
    free(img->chain);
    memset(img, 0, sizeof(*img));
}

int scopy_measure(struct xlmig_ctx *ctx, const char *src,
                  const char *src_format, const char *dst_format,
                  uint64_t *bytes_r)
{
    char *args[] = { (char *)"measure", (char *)"--output=json",
                     (char *)"-f", (char *)src_format, (char *)"-O",
                     (char *)dst_format, (char *)"--", (char *)src, NULL };
    yajl_val v = NULL;
    int rc;

    *bytes_r = 0;
    rc = scopy_qemu_path(ctx, src);
    if (!rc) rc = scopy_qemu_format(ctx, src_format);
    if (!rc) rc = scopy_qemu_format(ctx, dst_format);
    if (!rc) rc = scopy_qemu_json(ctx, "qemu-img measure", src, args, &v);
    if (!rc && (!YAJL_IS_OBJECT(v) || !scopy_json_u64(v, "required",
                                                      bytes_r))) {
        LOG(ctx, ERROR, "qemu-img measure of %s: no \"required\"", src);
        rc = XLMIG_E_PROTO;
    }
    yajl_tree_free(v);
    return rc;
}

int scopy_create(struct xlmig_ctx *ctx, const char *path, const char *format,
                 uint64_t size)
{
    struct child_run_opts ro = {
        .max = SCOPY_QEMU_OUT_MAX,
        .deadline = ctx_now(ctx) + SCOPY_QEMU_TIMEOUT_S,
    };
    char sz[32];
    char *args[] = { (char *)"create", (char *)"-q", (char *)"-f",
                     (char *)format, (char *)"--", (char *)path, sz, NULL };
    char **argv = NULL, *out = NULL;
    struct stat st;
    int status, rc, fd;

    rc = scopy_qemu_path(ctx, path);
    if (!rc) rc = scopy_qemu_format(ctx, format);
    if (rc) return rc;
    if (!strcmp(format, "raw")) {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
        if (fd < 0) {
            LOGE(ctx, ERROR, "create %s", path);
            return errno == EEXIST ? XLMIG_E_EXISTS : err_from_errno(errno);
        }
        if (ftruncate(fd, (off_t)size) < 0 || fsync(fd) < 0) {
            LOGE(ctx, ERROR, "size %s to %llu bytes", path,
                 (unsigned long long)size);
            rc = errno == ENOSPC || errno == EDQUOT ? XLMIG_E_NOSPACE
                                                    : XLMIG_E_STORAGE;
        }
        close(fd);
        return rc;
    }
    if (lstat(path, &st) == 0) {
        LOG(ctx, ERROR, "%s exists already", path);
        return XLMIG_E_EXISTS;
    }
    snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
    argv = scopy_qemu_argv(true, args);
    rc = child_run_group(ctx, "qemu-img create", argv, &ro, &out, &status);
    if (!rc && status)
        rc = scopy_qemu_failed(ctx, "qemu-img create", path, path, status,
                               out, false);
    free(out);
    free(argv);
    return rc;
}

/* ---- qemu-img convert and compare ---------------------------------------- */

/* A long qemu-img run, followed: its progress, its last words, cancel. */
struct scopy_qrun {
    struct xlmig_ctx *ctx;
    const struct scopy_opts *o;
    const char *what;               /* "qemu-img convert" */
    uint64_t size;                  /* virtual size: progress total */
    double base;                    /* progress before this run: 0, 1/2 */
    double pct;                     /* its own, 0-100 */
    double t_tick;
    char seg[SCOPY_QEMU_LINE_MAX];  /* output up to the next \r or \n */
    size_t len;
    char last[SCOPY_QEMU_LINE_MAX]; /* last line that was no progress */
    bool nospace;                   /* "No space left" was said */
};

static void scopy_qrun_report(struct scopy_qrun *q)
{
    double f = q->base + q->pct / 200;

    q->t_tick = ctx_now(q->ctx);
    if (q->o->progress)
        q->o->progress(q->o->arg, (uint64_t)(f * (double)q->size), q->size);
}

/* One segment of output: "    (12.34/100%)" or a message line. */
static void scopy_qrun_segment(struct scopy_qrun *q)
{
    const char *s = q->seg;
    double pct;

    q->seg[q->len] = '\0';
    q->len = 0;
    s += strspn(s, " \t");
    if (!*s) return;
    if (sscanf(s, "(%lf/100%%)", &pct) == 1) {
        if (pct >= 0 && pct <= 100) q->pct = pct;
        return;
    }
    snprintf(q->last, sizeof(q->last), "%s", s);
    if (strstr(s, "No space left")) q->nospace = true;
}

static void scopy_qrun_feed(struct scopy_qrun *q, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (b[i] == '\r' || b[i] == '\n') scopy_qrun_segment(q);
        else if (q->len < sizeof(q->seg) - 1) q->seg[q->len++] = b[i];
    }
}

/* Reads what the child wrote; at end of file, closes its pipe. */
static int scopy_qrun_read(struct scopy_qrun *q, struct child *sp)
{
    char b[4096];
    ssize_t k = read(sp->from_child, b, sizeof(b));

    if (k < 0 && (errno == EINTR || errno == EAGAIN)) return XLMIG_OK;
    if (k < 0) {
        LOGE(q->ctx, ERROR, "%s: read its output", q->what);
        return XLMIG_E_SYSTEM;
    }
    if (k == 0) fdio_close(&sp->from_child);
    scopy_qrun_feed(q, b, (size_t)k);
    return XLMIG_OK;
}

/*
 * Runs argv in a process group of its own until it exits or a cancel
 * comes, reporting progress each second; then kills what is left of the
 * group and reaps it. *status_r: its wait status.
 */
static int scopy_qrun(struct scopy_qrun *q, char *const argv[],
                      int *status_r)
{
    struct child sp;
    struct pollfd p[3];
    int ms, status, rc;

    *status_r = 0;
    q->len = 0;
    q->last[0] = '\0';
    q->pct = 0;
    rc = child_start(q->ctx, &sp, q->what, argv,
                     CHILD_STDIN_NULL | CHILD_STDOUT_PIPE | CHILD_SETSID |
                     CHILD_CLOSE_FDS);
    if (rc) return rc;
    while (!child_exited(&sp)) {
        ms = (int)((q->t_tick + SCOPY_TICK_S - ctx_now(q->ctx)) * 1000);
        if (ms <= 0) {
            scopy_qrun_report(q);
            continue;
        }
        if (sp.pidfd < 0 && ms > 100) ms = 100;
        p[0] = (struct pollfd){ .fd = sp.from_child, .events = POLLIN };
        p[1] = (struct pollfd){ .fd = q->o->cancel_fd, .events = POLLIN };
        p[2] = (struct pollfd){ .fd = sp.pidfd, .events = POLLIN };
        if (poll(p, ARRAY_SIZE(p), ms) < 0) {
            if (errno == EINTR) continue;
            LOGE(q->ctx, ERROR, "%s: poll", q->what);
            rc = XLMIG_E_SYSTEM;
            break;
        }
        if (p[1].revents) {
            LOG(q->ctx, ERROR, "%s cancelled", q->what);
            rc = XLMIG_E_CANCELLED;
            break;
        }
        if (p[0].revents) {
            rc = scopy_qrun_read(q, &sp);
            if (rc) break;
        }
    }
    while (!rc && sp.from_child >= 0 && fdio_readable(sp.from_child))
        rc = scopy_qrun_read(q, &sp);
    if (q->len) scopy_qrun_segment(q);
    if (kill(-sp.pid, SIGKILL) && errno != ESRCH)
        LOGE(q->ctx, WARN, "%s: kill its process group %ld", q->what,
             (long)sp.pid);
    if (child_wait(q->ctx, &sp, 0, &status) == XLMIG_OK) *status_r = status;
    child_dispose(&sp);
    return rc;
}

/* A QemuOpts value: commas doubled (allocated). */
static char *scopy_opt_value(const char *s)
{
    char *out = xmalloc(2 * strlen(s) + 1), *p = out;

    for (; *s; s++) {
        *p++ = *s;
        if (*s == ',') *p++ = ',';
    }
    *p = '\0';
    return out;
}

/*
 * qemu-img compare of src with dst. A raw block device is compared as
 * its first size bytes only (--image-opts with the raw driver's size):
 * beyond them lies what the LV held before, which compare would count as
 * a difference.
 */
static int scopy_compare(struct scopy_qrun *q, const char *src,
                         const char *src_format, const char *dst,
                         const char *dst_format, bool dev, bool src_dev)
{
    char *s = scopy_opt_value(src), *d = scopy_opt_value(dst);
    char *sopt = xasprintf("driver=%s,file.driver=%s,file.filename=%s",
                           src_format, src_dev ? "host_device" : "file", s);
    char *dopt = xasprintf("driver=raw,size=%llu,file.driver=host_device,"
                           "file.filename=%s", (unsigned long long)q->size,
                           d);
    char *plain[] = { (char *)"compare", (char *)"-p", (char *)"-f",
                      (char *)src_format, (char *)"-F", (char *)dst_format,
                      (char *)"--", (char *)src, (char *)dst, NULL };
    char *opts[] = { (char *)"compare", (char *)"-p",
                     (char *)"--image-opts", (char *)"--", sopt, dopt,
                     NULL };
    bool by_opts = dev && !strcmp(dst_format, "raw");
    char **argv = scopy_qemu_argv(false, by_opts ? opts : plain);
    int status, rc;

    q->what = "qemu-img compare";
    q->base = 0.5;
    rc = scopy_qrun(q, argv, &status);
    if (rc) goto out;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
        LOG(q->ctx, ERROR, "%s differs from %s (qemu-img compare: %s)", dst,
            src, q->last);
        rc = XLMIG_E_STORAGE;
    } else if (status) {
        rc = scopy_qemu_failed(q->ctx, q->what, dst, NULL, status, q->last,
                               false);
    }
out:
    free(argv);
    free(dopt);
    free(sopt);
    free(d);
    free(s);
    return rc;
}

/*
 * Takes dst's name with an empty file, or checks the block device that
 * is there; *dev_r whether it is one.
 */
static int scopy_convert_target(struct xlmig_ctx *ctx, const char *dst,
                                uint64_t size, bool *dev_r)
{
    struct stat st;
    uint64_t dsize = 0;
    int fd, rc = XLMIG_OK;

    *dev_r = !stat(dst, &st) && S_ISBLK(st.st_mode);
    fd = *dev_r ? open(dst, O_RDONLY | O_CLOEXEC)
                : open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                       O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) {
        LOG(ctx, ERROR, "%s exists already", dst);
        return XLMIG_E_EXISTS;
    }
    if (fd < 0) {
        LOGE(ctx, ERROR, "%s %s", *dev_r ? "open" : "create", dst);
        return err_from_errno(errno);
    }
    if (*dev_r && ioctl(fd, BLKGETSIZE64, &dsize) < 0) {
        LOGE(ctx, ERROR, "size of %s (BLKGETSIZE64)", dst);
        rc = XLMIG_E_STORAGE;
    } else if (*dev_r && dsize < size) {
        LOG(ctx, ERROR, "no space left on %s: %llu bytes, the image has "
            "%llu", dst, (unsigned long long)dsize,
            (unsigned long long)size);
        rc = XLMIG_E_NOSPACE;
    }
    close(fd);
    return rc;
}

/* Makes the converted copy durable and drops it from the cache, so that
 * compare reads it from the disk. */
static int scopy_sync(struct xlmig_ctx *ctx, const char *dst, bool dev,
                      uint64_t *written_r)
{
    struct stat st;
    int fd = open(dst, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = XLMIG_OK;

    if (fd < 0 || fstat(fd, &st) < 0) {
        LOGE(ctx, ERROR, "open %s", dst);
        rc = err_from_errno(errno);
    } else if (fsync(fd) < 0) {
        rc = errno == ENOSPC || errno == EDQUOT ? XLMIG_E_NOSPACE
                                                : XLMIG_E_STORAGE;
        LOGE(ctx, ERROR, "%sfsync %s", rc == XLMIG_E_NOSPACE ?
             "no space left: " : "", dst);
    } else {
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        if (!dev) *written_r = (uint64_t)st.st_blocks * 512;
    }
    if (fd >= 0) close(fd);
    return rc;
}

int scopy_convert(struct xlmig_ctx *ctx, const char *src,
                  const char *src_format, const char *dst,
                  const char *dst_format, const struct scopy_opts *o,
                  struct scopy_result *res)
{
    struct scopy_qrun q = { .ctx = ctx, .o = o ? o : &scopy_qemu_no_opts };
    struct scopy_image img = { .n_chain = 0 };
    char rate[32], **argv = NULL;
    char *args[16];
    double t0 = ctx_now(ctx), t1 = 0;
    struct stat sst;
    bool dev;
    int n = 0, status, rc;

    memset(res, 0, sizeof(*res));
    snprintf(res->method, sizeof(res->method), "qemu-img");
    q.t_tick = t0;
    rc = scopy_qemu_path(ctx, dst);
    if (!rc) rc = scopy_qemu_format(ctx, dst_format);
    if (!rc) rc = scopy_image_info(ctx, src, src_format, &img);
    if (rc) goto out;
    if (img.descriptor) {
        LOG(ctx, ERROR, "%s is, or is backed by, a descriptor naming other "
            "files: refused", src);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    res->size = q.size = img.virtual_size;
    res->data = img.actual_size;
    rc = scopy_convert_target(ctx, dst, img.virtual_size, &dev);
    if (rc) goto out;
    if (dev) res->written = img.virtual_size;
    args[n++] = (char *)"convert";
    args[n++] = (char *)"-p";
    if (dev) args[n++] = (char *)"-n";
    if (q.o->bandwidth) {
        snprintf(rate, sizeof(rate), "%llu",
                 (unsigned long long)q.o->bandwidth);
        args[n++] = (char *)"-r";
        args[n++] = rate;
    }
    args[n++] = (char *)"-f";
    args[n++] = (char *)src_format;
    args[n++] = (char *)"-O";
    args[n++] = (char *)dst_format;
    args[n++] = (char *)"--";
    args[n++] = (char *)src;
    args[n++] = (char *)dst;
    args[n] = NULL;
    argv = scopy_qemu_argv(false, args);
    q.what = "qemu-img convert";
    rc = scopy_qrun(&q, argv, &status);
    if (!rc && status)
        rc = scopy_qemu_failed(ctx, q.what, src, dst, status, q.last,
                               q.nospace);
    if (!rc) rc = scopy_sync(ctx, dst, dev, &res->written);
    t1 = ctx_now(ctx);
    res->copy_s = t1 - t0;
    if (rc) goto out;
    if (stat(src, &sst) < 0) {
        LOGE(ctx, ERROR, "stat %s", src);
        rc = err_from_errno(errno);
        goto out;
    }
    rc = scopy_compare(&q, src, src_format, dst, dst_format, dev,
                       S_ISBLK(sst.st_mode));
    res->verify_s = ctx_now(ctx) - t1;
    if (rc) goto out;
    q.base = 1;
    q.pct = 0;
    scopy_qrun_report(&q);
out:
    if (!t1) res->copy_s = ctx_now(ctx) - t0;
    free(argv);
    scopy_image_dispose(&img);
    return rc;
}

int scopy_raw_size(struct xlmig_ctx *ctx, const char *path, uint64_t *size_r,
                   uint64_t *data_r)
{
    struct stat st;
    off_t end;
    int fd, rc = XLMIG_OK;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        LOGE(ctx, ERROR, "open the source image %s", path);
        rc = err_from_errno(errno);
        goto out;
    }
    if (S_ISBLK(st.st_mode)) {
        end = lseek(fd, 0, SEEK_END);
        *size_r = *data_r = end > 0 ? (uint64_t)end : 0;
    } else {
        *size_r = (uint64_t)st.st_size;
        *data_r = (uint64_t)st.st_blocks * 512;
        if (*data_r > *size_r) *data_r = *size_r;
    }
out:
    if (fd >= 0) close(fd);
    return rc;
}
