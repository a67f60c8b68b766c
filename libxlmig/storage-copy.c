/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * storage-copy.c - copies a disk image for storage-move and proves the
 * copy (see storage-copy.h): raw images, by read/pwrite, hashed on the
 * way and verified by reading the target back. Other formats go through
 * qemu-img (storage-copy-qemu.c).
 *
 * The raw method, measured on this project's machine (2 vCPUs, virtio
 * disk, ext4; and tmpfs), 2 GiB images, page cache dropped before each
 * run, copy + fdatasync + verify by reading the target back, seconds,
 * medians of 5 round-robin runs (copy / verify / total):
 *
 *   method                        ext4 full      ext4 25%       tmpfs full
 *   read/pwrite 1 MiB, zero skip  10.1/2.0/12.0  .93/.54/1.46   1.11/.48/1.58
 *   read/pwrite 2 MiB             11.3/1.3/12.6  -              1.59/.52/2.08
 *   read/pwrite 4 MiB             4.4/1.3/5.7    .89/.59/1.43   1.09/.52/1.61
 *   read/pwrite 8 MiB             4.1/1.4/5.5    -              1.50/.55/2.03
 *   read/pwrite 16 MiB            5.2/1.7/6.8    .89/.54/1.43   2.48/.59/3.08
 *   4 MiB + sync_file_range 64M   5.2/1.4/6.7    .91/1.08/2.13  1.07/.52/1.59
 *   copy_file_range per extent,   3.5/3.2/6.4    1.52/.67/2.31  1.81/1.31/3.47
 *     16 MiB calls, then both
 *     sides hashed by reading
 *
 * (tmpfs 25 %: 0.40-0.46 s total for all.) copy_file_range copies faster
 * on ext4 (no user copy) but must read the source a second time to hash
 * it and cannot leave zero blocks unwritten; in total it is 10-60 %
 * slower. ext4 here is 2-2.5x slower with writes of 1-2 MiB than with
 * 4-8 MiB (in every run); tmpfs prefers 1-4 MiB. So: read and pwrite in
 * SCOPY_BLOCK (8 MiB) units; the 4 KiB zero check costs nothing
 * measurable. Then, on 4 GiB images (bench/scopy: 25 % data in 1-7 MiB
 * extents, and full), ext4, total seconds, medians of 3:
 *
 *   data asked for ahead (WILLNEED)  0     8     32    64    128 MiB
 *     25 %                           3.38  3.11  2.46  2.32  2.27
 *     full                           8.36  9.18  9.14  9.30  8.68
 *   dirty data written back in       16    64    256   (never) MiB windows
 *     25 %                           2.42  2.27  2.17  1.98
 *     full                           9.15  8.35  9.66  22.47
 *
 * A single reader keeps one request in flight, so a sparse image's many
 * short extents leave the disk idle; read-ahead SCOPY_AHEAD past the
 * reads fixes that (full images are bound by their writes). Leaving
 * writeback to the kernel makes the final fdatasync flush gigabytes
 * (2.7x slower, and no cancel for that long); SCOPY_WB_WINDOW windows
 * bound it and a cancel's wait. Cancel latency measured (bench/scopy
 * cancel, 4 GiB full, mid-copy): 2-22 ms.
 *
 * The hash is a two-level XXH3-128: each SCOPY_LEAF (1 MiB) leaf of the
 * virtual size (the last one shorter) is hashed, and the leaves' digests
 * (canonical, in order) are hashed again. A leaf of zeros has a constant
 * digest, so a hole of any size costs one 16-byte update per MiB.
 */
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "fdio.h"
#include "storage-copy.h"

#define SCOPY_BLOCK (8u << 20)          /* read/write unit, measured above */
#define SCOPY_GRAIN 4096u               /* zero check, as cp and qemu-img */
#define SCOPY_LEAF (1u << 20)           /* hash leaf */
#define SCOPY_HOLE_STEP (1ull << 30)    /* a hole is hashed in such steps */
#define SCOPY_WB_WINDOW (64u << 20)     /* dirty data written back in these */
#define SCOPY_AHEAD (64u << 20)         /* data asked for ahead of the reads */
#define SCOPY_SLICES 10                 /* a limited read: limit/10 at most */
#define SCOPY_SLICE_MIN (64u << 10)
#define SCOPY_BURST_S 0.25              /* unused limit saved up at most */
#define SCOPY_TICK_S 1.0                /* progress interval */

/* ---- the hash ------------------------------------------------------------ */

struct scopy_hash {
    XXH3_state_t *leaf, *root;
    uint64_t fill;                  /* bytes in the open leaf */
    XXH128_canonical_t zero_leaf;   /* digest of SCOPY_LEAF zeros */
    char *zeros;                    /* SCOPY_LEAF zero bytes */
};

static void scopy_hash_reset(struct scopy_hash *h)
{
    XXH3_128bits_reset(h->leaf);
    XXH3_128bits_reset(h->root);
    h->fill = 0;
}

static void scopy_hash_init(struct scopy_hash *h)
{
    h->leaf = XXH3_createState();
    h->root = XXH3_createState();
    if (!h->leaf || !h->root) abort();      /* out of memory, as xmalloc */
    h->zeros = xcalloc(1, SCOPY_LEAF);
    XXH128_canonicalFromHash(&h->zero_leaf,
                             XXH3_128bits(h->zeros, SCOPY_LEAF));
    scopy_hash_reset(h);
}

static void scopy_hash_dispose(struct scopy_hash *h)
{
    XXH3_freeState(h->leaf);
    XXH3_freeState(h->root);
    free(h->zeros);
    h->leaf = h->root = NULL;
    h->zeros = NULL;
}

static void scopy_hash_leaf_end(struct scopy_hash *h)
{
    XXH128_canonical_t c;

    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h->leaf));
    XXH3_128bits_update(h->root, &c, sizeof(c));
    XXH3_128bits_reset(h->leaf);
    h->fill = 0;
}

static void scopy_hash_data(struct scopy_hash *h, const char *p, uint64_t n)
{
    uint64_t k;

    while (n) {
        k = SCOPY_LEAF - h->fill;
        if (k > n) k = n;
        XXH3_128bits_update(h->leaf, p, k);
        h->fill += k;
        p += k;
        n -= k;
        if (h->fill == SCOPY_LEAF) scopy_hash_leaf_end(h);
    }
}

static void scopy_hash_zeros(struct scopy_hash *h, uint64_t n)
{
    uint64_t k;

    while (n) {
        if (!h->fill && n >= SCOPY_LEAF) {
            XXH3_128bits_update(h->root, &h->zero_leaf,
                                sizeof(h->zero_leaf));
            n -= SCOPY_LEAF;
            continue;
        }
        k = SCOPY_LEAF - h->fill;
        if (k > n) k = n;
        scopy_hash_data(h, h->zeros, k);
        n -= k;
    }
}

static XXH128_hash_t scopy_hash_final(struct scopy_hash *h)
{
    if (h->fill) scopy_hash_leaf_end(h);
    return XXH3_128bits_digest(h->root);
}

/* ---- one walk over an image ---------------------------------------------- */

/* What a copy and its verification share. */
struct scopy_run {
    struct xlmig_ctx *ctx;
    const struct scopy_opts *o;
    const char *src, *dst;          /* for messages */
    uint64_t size;                  /* virtual size */
    uint64_t walked;                /* bytes of both walks so far */
    double t_tick;                  /* of the last progress report */
    double tokens, t_tokens;        /* bandwidth limit: bytes in hand */
    char *buf;                      /* SCOPY_BLOCK, page-aligned */
    struct scopy_hash h;
};

/* One walk over [0, size) of fd, hashing; the copy also writes wfd. */
struct scopy_walk {
    int fd;
    const char *name;
    int wfd;                        /* -1: a verification */
    const char *wname;
    bool holes;                     /* fd's holes found by SEEK_DATA */
    bool sparse;                    /* holes and zero grains not written */
    uint64_t data, written;
    uint64_t wb_prev, wb_mark;      /* writeback: [prev, mark) in flight */
    uint64_t ahead;                 /* read ahead up to here */
};

static const struct scopy_opts scopy_no_opts = { .cancel_fd = -1 };

static void scopy_run_init(struct scopy_run *r, struct xlmig_ctx *ctx,
                           const struct scopy_opts *o, const char *src,
                           const char *dst)
{
    memset(r, 0, sizeof(*r));
    r->ctx = ctx;
    r->o = o ? o : &scopy_no_opts;
    r->src = src;
    r->dst = dst;
    r->t_tick = r->t_tokens = ctx_now(ctx);
    if (posix_memalign((void **)&r->buf, 4096, SCOPY_BLOCK)) abort();
    scopy_hash_init(&r->h);
}

static void scopy_run_dispose(struct scopy_run *r)
{
    free(r->buf);
    r->buf = NULL;
    scopy_hash_dispose(&r->h);
}

static void scopy_report(struct scopy_run *r)
{
    uint64_t done = r->walked / 2;

    if (!r->o->progress) return;
    r->o->progress(r->o->arg, done < r->size ? done : r->size, r->size);
}

/* Progress once a second; then XLMIG_E_CANCELLED if asked to stop (the
 * progress callback may be what asks). */
static int scopy_tick(struct scopy_run *r)
{
    double now = ctx_now(r->ctx);

    if (now - r->t_tick >= SCOPY_TICK_S) {
        r->t_tick = now;
        scopy_report(r);
    }
    if (fdio_readable(r->o->cancel_fd)) {
        LOG(r->ctx, ERROR, "copy of %s to %s cancelled", r->src, r->dst);
        return XLMIG_E_CANCELLED;
    }
    return XLMIG_OK;
}

/* Bytes to read next: a block, or a tenth of a second under a limit. */
static size_t scopy_chunk(const struct scopy_run *r)
{
    uint64_t bw = r->o->bandwidth, n;

    if (!bw) return SCOPY_BLOCK;
    n = bw / SCOPY_SLICES / SCOPY_GRAIN * SCOPY_GRAIN;
    if (n < SCOPY_SLICE_MIN) n = SCOPY_SLICE_MIN;
    return n < SCOPY_BLOCK ? (size_t)n : SCOPY_BLOCK;
}

/*
 * The bandwidth limit: the limit accrues (SCOPY_BURST_S of it at most), a
 * read spends it and may leave a debt, which is waited off before the
 * next read, in waits that a cancel ends.
 */
static int scopy_throttle(struct scopy_run *r, size_t n)
{
    double bw = (double)r->o->bandwidth, now, wait;
    struct pollfd p = { .fd = r->o->cancel_fd, .events = POLLIN };
    int rc;

    if (!r->o->bandwidth) return XLMIG_OK;
    for (;;) {
        now = ctx_now(r->ctx);
        r->tokens += (now - r->t_tokens) * bw;
        r->t_tokens = now;
        if (r->tokens > bw * SCOPY_BURST_S) r->tokens = bw * SCOPY_BURST_S;
        if (r->tokens >= 0) break;
        wait = -r->tokens / bw;
        if (wait > SCOPY_TICK_S) wait = SCOPY_TICK_S;
        if (poll(&p, 1, (int)(wait * 1000) + 1) < 0 && errno != EINTR) {
            LOGE(r->ctx, ERROR, "poll");
            return XLMIG_E_SYSTEM;
        }
        rc = scopy_tick(r);
        if (rc) return rc;
    }
    r->tokens -= (double)n;
    return XLMIG_OK;
}

/* A failed read or write of an image: XLMIG_E_NOSPACE or _STORAGE. */
static int scopy_io_error(struct scopy_run *r, int e, const char *what,
                          const char *name, uint64_t off)
{
    if (e == ENOSPC || e == EDQUOT) {
        LOGEV(r->ctx, ERROR, e, "no space left on %s (%s at byte %llu)",
              name, what, (unsigned long long)off);
        return XLMIG_E_NOSPACE;
    }
    LOGEV(r->ctx, ERROR, e, "%s %s at byte %llu", what, name,
          (unsigned long long)off);
    return XLMIG_E_STORAGE;
}

/* Reads [off, off + n) into r->buf. */
static int scopy_read(struct scopy_run *r, const struct scopy_walk *w,
                      uint64_t off, size_t n)
{
    size_t got = 0;
    ssize_t k;

    while (got < n) {
        k = pread(w->fd, r->buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return scopy_io_error(r, errno, "read", w->name,
                                         off + got);
        if (k == 0) {
            LOG(r->ctx, ERROR, "%s ends at byte %llu, before its size %llu: "
                "changed while read?", w->name,
                (unsigned long long)(off + got),
                (unsigned long long)r->size);
            return XLMIG_E_STORAGE;
        }
        got += (size_t)k;
    }
    return XLMIG_OK;
}

static int scopy_write(struct scopy_run *r, struct scopy_walk *w,
                       const char *b, size_t n, uint64_t off)
{
    size_t put = 0;
    ssize_t k;

    while (put < n) {
        k = pwrite(w->wfd, b + put, n - put, (off_t)(off + put));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return scopy_io_error(r, k < 0 ? errno : ENOSPC,
                                          "write", w->wname, off + put);
        put += (size_t)k;
    }
    w->written += n;
    return XLMIG_OK;
}

/* Writes r->buf's n bytes at off; sparse: only its runs of non-zero
 * grains. */
static int scopy_put(struct scopy_run *r, struct scopy_walk *w,
                     uint64_t off, size_t n)
{
    const char *b = r->buf, *z = r->h.zeros;
    size_t i = 0, j, g;
    int rc;

    if (!w->sparse) return scopy_write(r, w, b, n, off);
    while (i < n) {
        for (j = i; j < n; j += g) {
            g = n - j < SCOPY_GRAIN ? n - j : SCOPY_GRAIN;
            if (memcmp(b + j, z, g)) break;
        }
        for (i = j; j < n; j += g) {
            g = n - j < SCOPY_GRAIN ? n - j : SCOPY_GRAIN;
            if (!memcmp(b + j, z, g)) break;
        }
        if (j > i) {
            rc = scopy_write(r, w, b + i, j - i, off + i);
            if (rc) return rc;
        }
        i = j;
    }
    return XLMIG_OK;
}

/*
 * Keeps the page cache small and the final fdatasync short: past each
 * window, starts writing it back, waits for the window before it, and
 * drops both files' pages of that one. A verification only drops what
 * it has read. Failures here come back from fdatasync, or cost cache.
 */
static void scopy_writeback(struct scopy_run *r, struct scopy_walk *w,
                            uint64_t end)
{
    const unsigned wait = SYNC_FILE_RANGE_WAIT_BEFORE |
                          SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;

    if (end - w->wb_mark < SCOPY_WB_WINDOW && end < r->size) return;
    if (w->wfd >= 0 &&
        sync_file_range(w->wfd, (off_t)w->wb_mark,
                        (off_t)(end - w->wb_mark), SYNC_FILE_RANGE_WRITE))
        LOGE(r->ctx, DEBUG, "sync_file_range %s", w->wname);
    if (w->wb_mark > w->wb_prev) {
        if (w->wfd >= 0 &&
            sync_file_range(w->wfd, (off_t)w->wb_prev,
                            (off_t)(w->wb_mark - w->wb_prev), wait))
            LOGE(r->ctx, DEBUG, "sync_file_range %s", w->wname);
        if (w->wfd >= 0)
            (void)posix_fadvise(w->wfd, (off_t)w->wb_prev,
                                (off_t)(w->wb_mark - w->wb_prev),
                                POSIX_FADV_DONTNEED);
        (void)posix_fadvise(w->fd, (off_t)w->wb_prev,
                            (off_t)(w->wb_mark - w->wb_prev),
                            POSIX_FADV_DONTNEED);
    }
    w->wb_prev = w->wb_mark;
    w->wb_mark = end;
}

/* The extent at off: data or a hole, up to *end_r (at most the size). */
static int scopy_extent(struct scopy_run *r, struct scopy_walk *w,
                        uint64_t off, bool *data_r, uint64_t *end_r)
{
    off_t d, h;

    *data_r = true;
    *end_r = r->size;
    if (!w->holes) return XLMIG_OK;
    d = lseek(w->fd, (off_t)off, SEEK_DATA);
    if (d < 0 && errno == ENXIO) {
        *data_r = false;
        return XLMIG_OK;
    }
    if (d < 0 && (errno == EINVAL || errno == EOPNOTSUPP)) {
        LOGE(r->ctx, DEBUG, "no SEEK_DATA on %s: reading all of it",
             w->name);
        w->holes = false;
        return XLMIG_OK;
    }
    if (d < 0) {
        LOGE(r->ctx, ERROR, "lseek SEEK_DATA on %s", w->name);
        return XLMIG_E_STORAGE;
    }
    if ((uint64_t)d > off) {
        *data_r = false;
        if ((uint64_t)d < r->size) *end_r = (uint64_t)d;
        return XLMIG_OK;
    }
    h = lseek(w->fd, (off_t)off, SEEK_HOLE);
    if (h < 0) {
        LOGE(r->ctx, ERROR, "lseek SEEK_HOLE on %s", w->name);
        return XLMIG_E_STORAGE;
    }
    if ((uint64_t)h > off && (uint64_t)h < r->size) *end_r = (uint64_t)h;
    return XLMIG_OK;
}

/*
 * Keeps the disk busy: data up to SCOPY_AHEAD past off is asked for
 * (read-ahead, several requests in flight) while this chunk is hashed and
 * written. Without it each pread waits for the disk alone, one request at
 * a time (qemu-img gets its depth from 8 coroutines).
 */
static void scopy_prefetch(struct scopy_run *r, struct scopy_walk *w,
                           uint64_t off)
{
    uint64_t limit = off + SCOPY_AHEAD;
    uint64_t from = w->ahead > off ? w->ahead : off;
    off_t d, h;

    if (limit > r->size) limit = r->size;
    while (from < limit) {
        d = (off_t)from;
        h = (off_t)r->size;
        if (w->holes) {
            d = lseek(w->fd, (off_t)from, SEEK_DATA);
            if (d < 0 || (uint64_t)d >= limit) break;
            h = lseek(w->fd, d, SEEK_HOLE);
            if (h <= d) break;
        }
        if ((uint64_t)h > limit) h = (off_t)limit;
        (void)posix_fadvise(w->fd, d, h - d, POSIX_FADV_WILLNEED);
        from = (uint64_t)h;
    }
    w->ahead = limit;
}

/* n bytes of a hole at off: hashed as zeros, and written as zeros where
 * the target is not sparse. */
static int scopy_hole(struct scopy_run *r, struct scopy_walk *w,
                      uint64_t off, uint64_t n)
{
    scopy_hash_zeros(&r->h, n);
    if (w->wfd < 0 || w->sparse) return XLMIG_OK;
    return scopy_write(r, w, r->h.zeros, (size_t)n, off);
}

static int scopy_walk(struct scopy_run *r, struct scopy_walk *w)
{
    uint64_t off = 0, end, n;
    bool data;
    int rc;

    while (off < r->size) {
        rc = scopy_extent(r, w, off, &data, &end);
        if (rc) return rc;
        while (off < end) {
            rc = scopy_tick(r);
            if (rc) return rc;
            n = end - off;
            if (data) {
                if (n > scopy_chunk(r)) n = scopy_chunk(r);
                rc = scopy_throttle(r, (size_t)n);
                if (!rc) rc = scopy_read(r, w, off, (size_t)n);
                if (rc) return rc;
                scopy_prefetch(r, w, off + n);
                scopy_hash_data(&r->h, r->buf, n);
                w->data += n;
                if (w->wfd >= 0) rc = scopy_put(r, w, off, (size_t)n);
            } else {
                if (n > SCOPY_HOLE_STEP) n = SCOPY_HOLE_STEP;
                if (w->wfd >= 0 && !w->sparse && n > SCOPY_LEAF)
                    n = SCOPY_LEAF;
                rc = scopy_hole(r, w, off, n);
            }
            if (rc) return rc;
            off += n;
            r->walked += n;
            scopy_writeback(r, w, off);
        }
    }
    return XLMIG_OK;
}

/* ---- opening both ends --------------------------------------------------- */

/* Opens a source (or a target to verify): a regular file or a block
 * device; *size_r its size, *dev_r whether a device. */
static int scopy_open_in(struct xlmig_ctx *ctx, const char *path, int *fd_r,
                         uint64_t *size_r, bool *dev_r)
{
    struct stat st;
    uint64_t size = 0;
    int fd, rc;

    *fd_r = -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        LOGE(ctx, ERROR, "open %s", path);
        rc = err_from_errno(errno);
        goto out;
    }
    if (S_ISREG(st.st_mode)) {
        size = (uint64_t)st.st_size;
    } else if (!S_ISBLK(st.st_mode)) {
        LOG(ctx, ERROR, "%s is neither a regular file nor a block device",
            path);
        rc = XLMIG_E_INVAL;
        goto out;
    } else if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
        LOGE(ctx, ERROR, "size of %s (BLKGETSIZE64)", path);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    *size_r = size;
    *dev_r = S_ISBLK(st.st_mode);
    *fd_r = fd;
    fd = -1;
    rc = XLMIG_OK;
out:
    if (fd >= 0) close(fd);
    return rc;
}

/*
 * Opens the target: an existing block device (not the source) of at least
 * size bytes, or a new file of that size. *rfd_r reads it back: the same
 * fd for a file, the device reopened read-only through /proc/self/fd
 * (the same device, whatever its name points to by then).
 */
static int scopy_open_out(struct scopy_run *r, int sfd, int *fd_r,
                          int *rfd_r, bool *dev_r)
{
    struct stat st, sst;
    uint64_t dsize = 0;
    char proc[64];
    int fd = -1, rc;

    *fd_r = *rfd_r = -1;
    *dev_r = !stat(r->dst, &st) && S_ISBLK(st.st_mode);
    if (!*dev_r) {
        fd = open(r->dst, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
        if (fd < 0 && errno == EEXIST) {
            LOG(r->ctx, ERROR, "%s exists already", r->dst);
            rc = XLMIG_E_EXISTS;
            goto out;
        }
        if (fd < 0) {
            LOGE(r->ctx, ERROR, "create %s", r->dst);
            rc = err_from_errno(errno);
            goto out;
        }
        if (ftruncate(fd, (off_t)r->size) < 0) {
            rc = scopy_io_error(r, errno, "ftruncate", r->dst, r->size);
            goto out;
        }
        *rfd_r = fd;
        rc = XLMIG_OK;
        goto out;
    }
    fd = open(r->dst, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || fstat(sfd, &sst) < 0) {
        LOGE(r->ctx, ERROR, "open %s", r->dst);
        rc = err_from_errno(errno);
        goto out;
    }
    if (!S_ISBLK(st.st_mode) ||
        (S_ISBLK(sst.st_mode) && st.st_rdev == sst.st_rdev)) {
        LOG(r->ctx, ERROR, "%s is no longer a block device, or is the "
            "source %s", r->dst, r->src);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    if (ioctl(fd, BLKGETSIZE64, &dsize) < 0) {
        LOGE(r->ctx, ERROR, "size of %s (BLKGETSIZE64)", r->dst);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    if (dsize < r->size) {
        LOG(r->ctx, ERROR, "no space left on %s: %llu bytes, the copy "
            "needs %llu", r->dst, (unsigned long long)dsize,
            (unsigned long long)r->size);
        rc = XLMIG_E_NOSPACE;
        goto out;
    }
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    *rfd_r = open(proc, O_RDONLY | O_CLOEXEC);
    if (*rfd_r < 0) {
        LOGE(r->ctx, ERROR, "reopen %s for reading", r->dst);
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    rc = XLMIG_OK;
out:
    if (rc && fd >= 0) close(fd);
    else *fd_r = fd;
    return rc;
}

/* Reads the target back from its disk and compares its hash. */
static int scopy_check(struct scopy_run *r, int fd, bool dev,
                       XXH128_hash_t want)
{
    struct scopy_walk w = { .fd = fd, .name = r->dst, .wfd = -1,
                            .holes = !dev };
    XXH128_hash_t got;
    int rc;

    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    scopy_hash_reset(&r->h);
    rc = scopy_walk(r, &w);
    if (rc) return rc;
    got = scopy_hash_final(&r->h);
    if (!XXH128_isEqual(got, want)) {
        LOG(r->ctx, ERROR, "%s read back differs from %s (XXH3-128 tree "
            "%016llx%016llx, not %016llx%016llx)", r->dst, r->src,
            (unsigned long long)got.high64, (unsigned long long)got.low64,
            (unsigned long long)want.high64, (unsigned long long)want.low64);
        return XLMIG_E_STORAGE;
    }
    return XLMIG_OK;
}

int scopy_raw(struct xlmig_ctx *ctx, const char *src, const char *dst,
              const struct scopy_opts *o, struct scopy_result *res)
{
    struct scopy_run r;
    struct scopy_walk w = { .fd = -1, .wfd = -1 };
    XXH128_hash_t want;
    int sfd = -1, dfd = -1, rfd = -1;
    bool sdev, ddev, copied = false;
    double t0 = ctx_now(ctx), t1 = t0;
    int rc;

    memset(res, 0, sizeof(*res));
    snprintf(res->method, sizeof(res->method), "read-write");
    scopy_run_init(&r, ctx, o, src, dst);
    rc = scopy_open_in(ctx, src, &sfd, &r.size, &sdev);
    if (rc) goto out;
    res->size = r.size;
    rc = scopy_open_out(&r, sfd, &dfd, &rfd, &ddev);
    if (rc) goto out;
    w.fd = sfd;
    w.name = src;
    w.wfd = dfd;
    w.wname = dst;
    w.holes = true;
    w.sparse = !ddev;
    rc = scopy_walk(&r, &w);
    res->data = w.data;
    res->written = w.written;
    if (rc) goto out;
    want = scopy_hash_final(&r.h);
    if (fdatasync(dfd) < 0) {
        rc = scopy_io_error(&r, errno, "fdatasync", dst, r.size);
        goto out;
    }
    copied = true;
    t1 = ctx_now(ctx);
    rc = scopy_check(&r, rfd, ddev, want);
    if (rc) goto out;
    r.walked = 2 * r.size;
    scopy_report(&r);
out:
    if (copied) {
        res->copy_s = t1 - t0;
        res->verify_s = ctx_now(ctx) - t1;
    } else {
        res->copy_s = ctx_now(ctx) - t0;
    }
    if (rfd >= 0 && rfd != dfd) close(rfd);
    if (dfd >= 0) close(dfd);
    if (sfd >= 0) close(sfd);
    scopy_run_dispose(&r);
    return rc;
}

int scopy_verify(struct xlmig_ctx *ctx, const char *src, const char *dst,
                 const struct scopy_opts *o)
{
    struct scopy_run r;
    struct scopy_walk w = { .fd = -1, .name = src, .wfd = -1, .holes = true };
    uint64_t dsize = 0;
    int dfd = -1;
    bool sdev, ddev;
    int rc;

    scopy_run_init(&r, ctx, o, src, dst);
    rc = scopy_open_in(ctx, src, &w.fd, &r.size, &sdev);
    if (!rc) rc = scopy_open_in(ctx, dst, &dfd, &dsize, &ddev);
    if (rc) goto out;
    if (ddev ? dsize < r.size : dsize != r.size) {
        LOG(ctx, ERROR, "%s has %llu bytes, %s %llu", dst,
            (unsigned long long)dsize, src, (unsigned long long)r.size);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    rc = scopy_walk(&r, &w);
    if (!rc) rc = scopy_check(&r, dfd, ddev, scopy_hash_final(&r.h));
out:
    if (w.fd >= 0) close(w.fd);
    if (dfd >= 0) close(dfd);
    scopy_run_dispose(&r);
    return rc;
}
