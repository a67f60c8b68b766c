/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-scopy.c - the disk copier: raw copies stay sparse and equal (holes,
 * zero-filled blocks, unaligned tails, data at the very end, empty and
 * full files, block device targets written whole); an existing target is
 * refused; a cancel stops at once; a read-back that differs fails; a full
 * filesystem is XLMIG_E_NOSPACE. qemu-img: convert and compare, backing
 * chains, descriptors refused, measure. Root-only and qemu-img cases
 * skip without them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/loop.h>
#include <cmocka.h>

#include "storage-copy.h"
#include "test-util.h"

#define MIB (1u << 20)

struct st {
    struct test_ctx t;
    char dir[256];
    uint64_t seed;
    uint64_t last_done, last_total;
    unsigned reports;
};

static int test_setup(void **state)
{
    struct st *s = calloc(1, sizeof(*s));

    if (!s) return -1;
    test_ctx_open(&s->t);
    snprintf(s->dir, sizeof(s->dir), "%s/test-scopy.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp");
    if (!mkdtemp(s->dir)) return -1;
    s->seed = 0x9e3779b97f4a7c15ULL;
    *state = s;
    return 0;
}

static int test_teardown(void **state)
{
    struct st *s = *state;
    char *mnt = xasprintf("%s/small", s->dir);

    /* test_nospace's tmpfs, if it failed before unmounting it. */
    (void)umount2(mnt, MNT_DETACH);
    free(mnt);
    test_rm_rf(s->dir);
    test_ctx_close(&s->t);
    free(s);
    return 0;
}

static char *path(struct st *s, const char *name)
{
    return xasprintf("%s/%s", s->dir, name);
}

static void fill_random(struct st *s, char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        s->seed ^= s->seed << 13;
        s->seed ^= s->seed >> 7;
        s->seed ^= s->seed << 17;
        b[i] = (char)(s->seed | 1);       /* never a zero byte */
    }
}

/* Writes n random (or, zero, zero) bytes at off. */
static void put(struct st *s, int fd, uint64_t off, size_t n, bool zero)
{
    char *b = calloc(1, n);

    assert_non_null(b);
    if (!zero) fill_random(s, b, n);
    assert_int_equal(pwrite(fd, b, n, (off_t)off), (ssize_t)n);
    free(b);
}

static int make_file(const char *p, uint64_t size)
{
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    return fd;
}

/* Whether the first n bytes of a and b are equal. */
static bool same(const char *a, const char *b, uint64_t n)
{
    int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
    char *x = malloc(MIB), *y = malloc(MIB);
    uint64_t off;
    size_t k;
    bool eq = fa >= 0 && fb >= 0 && x && y;

    for (off = 0; eq && off < n; off += k) {
        k = n - off < MIB ? (size_t)(n - off) : MIB;
        eq = pread(fa, x, k, (off_t)off) == (ssize_t)k &&
             pread(fb, y, k, (off_t)off) == (ssize_t)k && !memcmp(x, y, k);
    }
    free(x);
    free(y);
    if (fa >= 0) close(fa);
    if (fb >= 0) close(fb);
    return eq;
}

static void progress(void *arg, uint64_t done, uint64_t total)
{
    struct st *s = arg;

    assert_true(done <= total);
    s->last_done = done;
    s->last_total = total;
    s->reports++;
}

static struct scopy_opts opts(struct st *s)
{
    struct scopy_opts o = { .cancel_fd = -1, .progress = progress,
                            .arg = s };

    s->reports = 0;
    s->last_done = s->last_total = 0;
    return o;
}

static uint64_t blocks(const char *p)
{
    struct stat st;

    assert_int_equal(stat(p, &st), 0);
    return (uint64_t)st.st_blocks;
}

/* Copies src to a new dst and checks it: equal, size, final progress. */
static void copy_ok(struct st *s, const char *src, const char *dst,
                    uint64_t size)
{
    struct scopy_opts o = opts(s);
    struct scopy_result res;
    struct stat st;

    assert_int_equal(scopy_raw(s->t.ctx, src, dst, &o, &res), XLMIG_OK);
    assert_int_equal(stat(dst, &st), 0);
    assert_int_equal(st.st_size, size);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_true(same(src, dst, size));
    assert_int_equal(res.size, size);
    assert_string_equal(res.method, "read-write");
    assert_true(res.written <= res.data && res.data <= size);
    assert_true(s->reports >= 1);
    assert_int_equal(s->last_done, size);
    assert_int_equal(s->last_total, size);
    assert_int_equal(scopy_verify(s->t.ctx, src, dst, NULL), XLMIG_OK);
}

/* A 64 MiB sparse file with an unaligned tail: data at a few offsets,
 * unaligned ones too, a zero-filled allocated region, data at the end. */
static void test_sparse_copy(void **state)
{
    struct st *s = *state;
    const uint64_t size = 64 * MIB + 1000;
    char *src = path(s, "sparse"), *dst = path(s, "sparse.copy");
    struct scopy_opts o = opts(s);
    struct scopy_result res;
    int fd = make_file(src, size);

    put(s, fd, 0, 4096, false);
    put(s, fd, MIB + 123, 10000, false);
    put(s, fd, 8 * MIB, 3 * MIB, true);             /* allocated zeros */
    put(s, fd, 20 * MIB - 7, 9 * MIB + 11, false);  /* over a block edge */
    put(s, fd, size - 1500, 1500, false);           /* to the very end */
    close(fd);
    copy_ok(s, src, dst, size);
    assert_true(blocks(dst) <= blocks(src));
    /* The zero-filled region was read but not written. */
    unlink(dst);
    assert_int_equal(scopy_raw(s->t.ctx, src, dst, &o, &res), XLMIG_OK);
    assert_true(res.data >= 3 * MIB + 9 * MIB);
    assert_true(res.written <= res.data - 3 * MIB);
    assert_true(res.copy_s >= 0 && res.verify_s >= 0);
    free(src);
    free(dst);
}

/* Random data over several blocks, no holes: every byte written. */
static void test_full_copy(void **state)
{
    struct st *s = *state;
    const uint64_t size = 21 * MIB + 513;
    char *src = path(s, "full"), *dst = path(s, "full.copy");
    struct scopy_opts o = opts(s);
    struct scopy_result res;
    int fd = make_file(src, size);

    put(s, fd, 0, size, false);
    close(fd);
    copy_ok(s, src, dst, size);
    unlink(dst);
    o.bandwidth = 400000000;        /* limited, but not to a crawl */
    assert_int_equal(scopy_raw(s->t.ctx, src, dst, &o, &res), XLMIG_OK);
    assert_int_equal(res.written, size);
    assert_int_equal(res.data, size);
    assert_true(same(src, dst, size));
    free(src);
    free(dst);
}

static void test_empty_copy(void **state)
{
    struct st *s = *state;
    char *src = path(s, "empty"), *dst = path(s, "empty.copy");

    close(make_file(src, 0));
    copy_ok(s, src, dst, 0);
    free(src);
    free(dst);
}

/* Nothing is written through an existing file or a symlink. */
static void test_dst_exists(void **state)
{
    struct st *s = *state;
    char *src = path(s, "ex"), *dst = path(s, "ex.copy");
    char *link = path(s, "ex.link"), *target = path(s, "ex.target");
    struct scopy_opts o = opts(s);
    struct scopy_result res;
    int fd = make_file(src, MIB);

    put(s, fd, 0, MIB, false);
    close(fd);
    close(make_file(dst, 5));
    assert_int_equal(scopy_raw(s->t.ctx, src, dst, &o, &res),
                     XLMIG_E_EXISTS);
    assert_int_equal(blocks(dst), 0);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(scopy_raw(s->t.ctx, src, link, &o, &res),
                     XLMIG_E_EXISTS);
    assert_int_equal(access(target, F_OK), -1);
    free(src);
    free(dst);
    free(link);
    free(target);
}

static void test_missing_src(void **state)
{
    struct st *s = *state;
    char *src = path(s, "nosuch"), *dst = path(s, "nosuch.copy");
    struct scopy_result res;

    assert_int_equal(scopy_raw(s->t.ctx, src, dst, NULL, &res),
                     XLMIG_E_NOTFOUND);
    assert_int_equal(access(dst, F_OK), -1);
    free(src);
    free(dst);
}

/* A cancel already asked for: stopped before reading anything. */
static void test_cancel(void **state)
{
    struct st *s = *state;
    char *src = path(s, "c"), *dst = path(s, "c.copy");
    struct scopy_opts o = opts(s);
    struct scopy_result res;
    int p[2], fd = make_file(src, 32 * MIB);

    put(s, fd, 0, 32 * MIB, false);
    close(fd);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "c", 1), 1);
    o.cancel_fd = p[0];
    assert_int_equal(scopy_raw(s->t.ctx, src, dst, &o, &res),
                     XLMIG_E_CANCELLED);
    assert_int_equal(res.data, 0);
    assert_int_equal(res.size, 32 * MIB);
    /* Also in the middle of a limited copy's wait. */
    unlink(dst);
    o.bandwidth = 1000;
    assert_int_equal(scopy_raw(s->t.ctx, src, dst, &o, &res),
                     XLMIG_E_CANCELLED);
    close(p[0]);
    close(p[1]);
    free(src);
    free(dst);
}

/* The verification compares content, holes counting as zeros. */
static void test_verify(void **state)
{
    struct st *s = *state;
    char *a = path(s, "va"), *b = path(s, "vb"), *c = path(s, "vc");
    int fa = make_file(a, 10 * MIB + 3), fb = make_file(b, 10 * MIB + 3);
    int fc = make_file(c, 10 * MIB + 3);
    uint64_t seed = s->seed;

    put(s, fa, 2 * MIB, MIB, false);
    s->seed = seed;
    put(s, fb, 2 * MIB, MIB, false);
    put(s, fb, 5 * MIB, 2 * MIB, true);     /* zeros where a has a hole */
    s->seed = seed;
    put(s, fc, 2 * MIB, MIB, false);
    put(s, fc, 10 * MIB + 2, 1, false);     /* the last byte differs */
    close(fa);
    close(fb);
    close(fc);
    assert_int_equal(scopy_verify(s->t.ctx, a, b, NULL), XLMIG_OK);
    assert_int_equal(scopy_verify(s->t.ctx, a, c, NULL), XLMIG_E_STORAGE);
    assert_int_equal(truncate(b, 10 * MIB), 0);
    assert_int_equal(scopy_verify(s->t.ctx, a, b, NULL), XLMIG_E_STORAGE);
    free(a);
    free(b);
    free(c);
}

static bool have_qemu_img(void);

/* In a mount namespace of our own (gone with us), a small tmpfs. */
static char *small_fs(struct st *s, const char *size)
{
    char *mnt = path(s, "small"), *opt = xasprintf("size=%s,mode=0700",
                                                   size);

    if (geteuid() != 0 || unshare(CLONE_NEWNS) ||
        mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL)) {
        free(mnt);
        free(opt);
        return NULL;
    }
    assert_int_equal(mkdir(mnt, 0700), 0);
    assert_int_equal(mount("tmpfs", mnt, "tmpfs", 0, opt), 0);
    free(opt);
    return mnt;
}

static void test_nospace(void **state)
{
    struct st *s = *state;
    char *src = path(s, "big"), *mnt = small_fs(s, "8m"), *dst;
    struct scopy_result res;
    int fd;

    if (!mnt) skip();
    fd = make_file(src, 16 * MIB);
    put(s, fd, 0, 16 * MIB, false);
    close(fd);
    dst = xasprintf("%s/big.copy", mnt);
    assert_int_equal(scopy_raw(s->t.ctx, src, dst, NULL, &res),
                     XLMIG_E_NOSPACE);
    assert_true(res.written <= 8 * MIB);
    unlink(dst);
    /* qemu-img's "No space left" too. */
    if (have_qemu_img()) {
        assert_int_equal(scopy_convert(s->t.ctx, src, "raw", dst, "qcow2",
                                       NULL, &res), XLMIG_E_NOSPACE);
        unlink(dst);
    }
    assert_int_equal(umount(mnt), 0);
    free(dst);
    free(mnt);
    free(src);
}

/* A loop device over a file of 0xff bytes: an LV holding old data. */
static char *loop_dev(const char *backing, int *loop_fd_r)
{
    int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC), n, bfd, lfd;
    char *dev;

    *loop_fd_r = -1;
    if (ctl < 0) return NULL;
    n = ioctl(ctl, LOOP_CTL_GET_FREE);
    close(ctl);
    if (n < 0) return NULL;
    dev = xasprintf("/dev/loop%d", n);
    bfd = open(backing, O_RDWR | O_CLOEXEC);
    lfd = open(dev, O_RDWR | O_CLOEXEC);
    if (bfd < 0 || lfd < 0 || ioctl(lfd, LOOP_SET_FD, bfd)) {
        if (lfd >= 0) close(lfd);
        if (bfd >= 0) close(bfd);
        free(dev);
        return NULL;
    }
    close(bfd);
    *loop_fd_r = lfd;
    return dev;
}

static void loop_free(char *dev, int lfd)
{
    if (lfd >= 0) {
        assert_int_equal(ioctl(lfd, LOOP_CLR_FD, 0), 0);
        close(lfd);
    }
    free(dev);
}

/* Every byte of a block device target is written, zeros included; what
 * lies past the image is left alone. */
static void test_block_target(void **state)
{
    struct st *s = *state;
    char *src = path(s, "bsrc"), *back = path(s, "lv"), *dev;
    char *tail = malloc(MIB), *ff = malloc(MIB);
    struct scopy_opts o = opts(s);
    struct scopy_result res;
    int fd = make_file(back, 16 * MIB), lfd;
    uint64_t size = 12 * MIB + 512;

    memset(ff, 0xff, MIB);
    for (uint64_t off = 0; off < 16 * MIB; off += MIB)
        assert_int_equal(pwrite(fd, ff, MIB, (off_t)off), MIB);
    close(fd);
    fd = make_file(src, size);
    put(s, fd, 3 * MIB, MIB, false);
    close(fd);
    dev = geteuid() == 0 ? loop_dev(back, &lfd) : NULL;
    if (!dev) {
        free(tail);
        free(ff);
        free(src);
        free(back);
        skip();
    }
    assert_int_equal(scopy_raw(s->t.ctx, src, dev, &o, &res), XLMIG_OK);
    assert_int_equal(res.written, size);
    assert_true(same(src, dev, size));
    assert_int_equal(pread(lfd, tail, MIB, 15 * MIB), MIB);
    assert_memory_equal(tail, ff, MIB);
    assert_int_equal(s->last_done, size);
    /* Too small for the source. */
    fd = make_file(src, 17 * MIB);
    close(fd);
    assert_int_equal(scopy_raw(s->t.ctx, src, dev, &o, &res),
                     XLMIG_E_NOSPACE);
    loop_free(dev, lfd);
    free(tail);
    free(ff);
    free(src);
    free(back);
}

/* ---- qemu-img ----------------------------------------------------------- */

static bool have_qemu_img(void)
{
    return !system("qemu-img --version >/dev/null 2>&1");
}

/* A shell command run in the test's directory. */
static void sh(struct st *s, const char *cmd)
{
    char *full = xasprintf("cd '%s' && %s", s->dir, cmd);

    if (system(full)) fail_msg("command failed: %s", cmd);
    free(full);
}

static void test_convert(void **state)
{
    struct st *s = *state;
    char *src = path(s, "conv.raw"), *dst = path(s, "conv.qcow2");
    char *q = path(s, "conv.qcow2");
    struct scopy_opts o = opts(s);
    struct scopy_result res;
    struct scopy_image img;
    const uint64_t size = 24 * MIB;
    int fd, p[2];

    if (!have_qemu_img()) skip();
    fd = make_file(src, size);
    put(s, fd, MIB, 5 * MIB, false);
    put(s, fd, size - 4096, 4096, false);
    close(fd);
    assert_int_equal(scopy_convert(s->t.ctx, src, "raw", dst, "qcow2", &o,
                                   &res), XLMIG_OK);
    assert_string_equal(res.method, "qemu-img");
    assert_int_equal(res.size, size);
    assert_true(res.written > 5 * MIB && res.written < size);
    assert_int_equal(s->last_done, size);
    assert_int_equal(s->last_total, size);
    assert_int_equal(scopy_image_info(s->t.ctx, dst, "qcow2", &img),
                     XLMIG_OK);
    assert_int_equal(img.virtual_size, size);
    assert_int_equal(img.n_chain, 0);
    assert_false(img.descriptor);
    scopy_image_dispose(&img);
    scopy_image_dispose(&img);
    /* Back to raw: the same bytes. */
    free(dst);
    dst = path(s, "conv.back");
    assert_int_equal(scopy_convert(s->t.ctx, q, "qcow2", dst, "raw", NULL,
                                   &res), XLMIG_OK);
    assert_true(same(src, dst, size));
    /* An existing target is refused, left as it was. */
    assert_int_equal(scopy_convert(s->t.ctx, src, "raw", dst, "qcow2", &o,
                                   &res), XLMIG_E_EXISTS);
    assert_true(same(src, dst, size));
    free(dst);
    /* A cancel kills qemu-img. */
    dst = path(s, "conv.cancelled");
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "c", 1), 1);
    o.cancel_fd = p[0];
    assert_int_equal(scopy_convert(s->t.ctx, src, "raw", dst, "qcow2", &o,
                                   &res), XLMIG_E_CANCELLED);
    close(p[0]);
    close(p[1]);
    free(dst);
    free(src);
    free(q);
}

/* Convert to a block device (an LV): written in place, compared over the
 * image's size only. */
static void test_convert_block(void **state)
{
    struct st *s = *state;
    char *src = path(s, "cb.raw"), *q = path(s, "cb.qcow2");
    char *back = path(s, "cb.lv"), *dev, *ff = malloc(MIB);
    struct scopy_result res;
    bool have;
    int fd, lfd;

    if (!have_qemu_img()) skip();
    memset(ff, 0xff, MIB);
    fd = make_file(back, 12 * MIB);
    for (uint64_t off = 0; off < 12 * MIB; off += MIB)
        assert_int_equal(pwrite(fd, ff, MIB, (off_t)off), MIB);
    close(fd);
    fd = make_file(src, 10 * MIB);
    put(s, fd, 2 * MIB, MIB, false);
    close(fd);
    sh(s, "qemu-img convert -q -f raw -O qcow2 cb.raw cb.qcow2");
    dev = geteuid() == 0 ? loop_dev(back, &lfd) : NULL;
    have = dev != NULL;
    if (have) {
        assert_int_equal(scopy_convert(s->t.ctx, q, "qcow2", dev, "raw",
                                       NULL, &res), XLMIG_OK);
        assert_true(same(src, dev, 10 * MIB));
        loop_free(dev, lfd);
    }
    free(ff);
    free(src);
    free(q);
    free(back);
    if (!have) skip();
}

static void test_info_chain(void **state)
{
    struct st *s = *state;
    char *top = path(s, "top.qcow2"), *mid = path(s, "mid.qcow2");
    char *base = path(s, "base.raw"), *bad = path(s, "net.qcow2");
    char *out = path(s, "flat.raw");
    struct scopy_image img;
    struct scopy_result res;
    uint64_t need;

    if (!have_qemu_img()) skip();
    sh(s, "qemu-img create -q -f raw base.raw 8M && "
          "qemu-img create -q -f qcow2 -b base.raw -F raw mid.qcow2 && "
          "qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2 && "
          "qemu-img create -q -u -f qcow2 -b nbd://192.0.2.9/x -F raw "
          "net.qcow2 8M && qemu-img create -q -f qcow -b mid.qcow2 -F qcow2 "
          "nofmt.qcow 8M");
    assert_int_equal(scopy_image_info(s->t.ctx, top, "qcow2", &img),
                     XLMIG_OK);
    assert_string_equal(img.format, "qcow2");
    assert_int_equal(img.virtual_size, 8 * MIB);
    assert_true(img.actual_size > 0);
    assert_int_equal(img.n_chain, 2);
    assert_string_equal(img.chain[0], mid);
    assert_string_equal(img.chain[1], base);
    assert_false(img.descriptor);
    scopy_image_dispose(&img);
    /* Flattened by a convert. */
    assert_int_equal(scopy_convert(s->t.ctx, top, "qcow2", out, "raw", NULL,
                                   &res), XLMIG_OK);
    assert_int_equal(res.size, 8 * MIB);
    /* A backing file that is no file, or has no format: refused before
     * qemu-img would open it. */
    assert_int_equal(scopy_image_info(s->t.ctx, bad, "qcow2", &img),
                     XLMIG_E_STORAGE);
    scopy_image_dispose(&img);
    free(bad);
    bad = path(s, "nofmt.qcow");     /* qcow v1 records no format */
    assert_int_equal(scopy_image_info(s->t.ctx, bad, "qcow", &img),
                     XLMIG_E_STORAGE);
    scopy_image_dispose(&img);
    /* Wrong arguments. */
    assert_int_equal(scopy_image_info(s->t.ctx, "top.qcow2", "qcow2", &img),
                     XLMIG_E_INVAL);
    assert_int_equal(scopy_image_info(s->t.ctx, top, "qcow2,x", &img),
                     XLMIG_E_INVAL);
    assert_int_equal(scopy_measure(s->t.ctx, top, "qcow2", "-O", &need),
                     XLMIG_E_INVAL);
    free(bad);
    bad = path(s, "absent.qcow2");
    assert_int_equal(scopy_image_info(s->t.ctx, bad, "qcow2", &img),
                     XLMIG_E_NOTFOUND);
    /* Not what it is said to be. */
    assert_int_equal(scopy_image_info(s->t.ctx, base, "qcow2", &img),
                     XLMIG_E_STORAGE);
    scopy_image_dispose(&img);
    free(top);
    free(mid);
    free(base);
    free(bad);
    free(out);
}

static void test_descriptors(void **state)
{
    struct st *s = *state;
    char *flat = path(s, "d.vmdk"), *sparse = path(s, "s.vmdk");
    char *ext = path(s, "ext.qcow2"), *dst = path(s, "d.copy");
    struct scopy_image img;
    struct scopy_result res;

    if (!have_qemu_img()) skip();
    sh(s, "qemu-img create -q -f vmdk -o subformat=monolithicFlat d.vmdk 4M"
          " && qemu-img create -q -f vmdk s.vmdk 4M && "
          "qemu-img create -q -f qcow2 -o data_file=ext.raw ext.qcow2 4M");
    assert_int_equal(scopy_image_info(s->t.ctx, flat, "vmdk", &img),
                     XLMIG_OK);
    assert_true(img.descriptor);
    scopy_image_dispose(&img);
    assert_int_equal(scopy_image_info(s->t.ctx, sparse, "vmdk", &img),
                     XLMIG_OK);
    assert_false(img.descriptor);
    assert_int_equal(img.virtual_size, 4 * MIB);
    scopy_image_dispose(&img);
    assert_int_equal(scopy_image_info(s->t.ctx, ext, "qcow2", &img),
                     XLMIG_OK);
    assert_true(img.descriptor);
    scopy_image_dispose(&img);
    assert_int_equal(scopy_convert(s->t.ctx, flat, "vmdk", dst, "raw", NULL,
                                   &res), XLMIG_E_INVAL);
    assert_int_equal(access(dst, F_OK), -1);
    free(flat);
    free(sparse);
    free(ext);
    free(dst);
}

static void test_measure(void **state)
{
    struct st *s = *state;
    char *src = path(s, "m.raw");
    uint64_t need = 0;
    int fd;

    if (!have_qemu_img()) skip();
    fd = make_file(src, 64 * MIB);
    put(s, fd, 0, 10 * MIB, false);
    close(fd);
    assert_int_equal(scopy_measure(s->t.ctx, src, "raw", "qcow2", &need),
                     XLMIG_OK);
    assert_true(need >= 10 * MIB && need < 12 * MIB);
    assert_int_equal(scopy_measure(s->t.ctx, src, "raw", "raw", &need),
                     XLMIG_OK);
    assert_int_equal(need, 64 * MIB);
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sparse_copy),
        cmocka_unit_test(test_full_copy),
        cmocka_unit_test(test_empty_copy),
        cmocka_unit_test(test_dst_exists),
        cmocka_unit_test(test_missing_src),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_block_target),
        cmocka_unit_test(test_convert),
        cmocka_unit_test(test_convert_block),
        cmocka_unit_test(test_info_chain),
        cmocka_unit_test(test_descriptors),
        cmocka_unit_test(test_measure),
        /* Last: it moves the process into a mount namespace of its own. */
        cmocka_unit_test(test_nospace),
    };

    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
