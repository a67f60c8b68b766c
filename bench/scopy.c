/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * scopy.c - the storage benchmark's own program (bench/storage): makes
 * test images and runs the disk copier (libxlmig/storage-copy.c) directly.
 * Built on demand (make bench/scopy), not installed.
 *
 *   scopy gen FILE MIB PCT
 *        a raw image of MIB MiB whose PCT % (0-100) is random data, in
 *        extents of 1-7 MiB at random places of each 16 MiB (100: all of
 *        it), the rest holes; written, then fsynced
 *   scopy copy [--bandwidth BYTES/S] SRC DST
 *        scopy_raw(SRC, DST)
 *   scopy convert SRC SRC_FMT DST DST_FMT
 *        scopy_convert
 *   scopy cancel SRC DST AFTER_S
 *        scopy_raw, cancelled after AFTER_S seconds; reports how long the
 *        copy took to stop (latency)
 *   scopy mirror SRC DST
 *        the live mover (smirror-qmp.c) as storage-move runs it: a QEMU
 *        (qemu-system-x86_64 -M pc -S, no guest running) serves SRC as a
 *        virtio-blk disk whose serial names it xvdb0, DST is made
 *        (scopy_create) and mirrored to until in sync, then the disk
 *        switched to it and fdatasync'ed; secs from the target's creation
 *        to then, QEMU's start excluded
 *
 * Each prints one line on stdout, "scopy-report ROLE key=value...",
 * with secs the wall time of the call; exit status 0, 1 on failure (the
 * library's log on stderr), 2 on misuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smirror-qmp.h"
#include "storage-copy.h"

#define SCOPY_BENCH_EXTENT (4u << 20)       /* generator's write unit */
#define SCOPY_BENCH_REGION (16u << 20)

struct bench {
    xentoollog_logger_stdiostream *lg;
    struct xlmig_ctx *ctx;
};

static void bench_open(struct bench *b)
{
    b->lg = xtl_createlogger_stdiostream(stderr, XTL_INFO, 0);
    if (!b->lg || xlmig_ctx_new(&b->ctx, (xentoollog_logger *)b->lg,
                                "libxl")) {
        fprintf(stderr, "scopy: cannot make a context\n");
        exit(1);
    }
}

static void bench_close(struct bench *b)
{
    xlmig_ctx_free(b->ctx);
    xtl_logger_destroy((xentoollog_logger *)b->lg);
}

static uint64_t bench_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Random data to [off, off + len) of fd. */
static int bench_fill(int fd, uint64_t off, uint64_t len, uint64_t *x,
                      uint64_t *buf)
{
    uint64_t n, i;

    while (len) {
        n = len < SCOPY_BENCH_EXTENT ? len : SCOPY_BENCH_EXTENT;
        for (i = 0; i < (n + 7) / 8; i++) buf[i] = bench_rand(x);
        if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n) return -1;
        off += n;
        len -= n;
    }
    return 0;
}

static int bench_gen(const char *file, uint64_t mib, unsigned pct)
{
    uint64_t size = mib << 20, x = 0x2545f4914f6cdd1dULL, reg, len, at;
    uint64_t *buf = malloc(SCOPY_BENCH_EXTENT), data = 0;
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int rc = 1;

    if (fd < 0 || !buf || ftruncate(fd, (off_t)size)) goto out;
    for (reg = 0; reg < size; reg += SCOPY_BENCH_REGION) {
        uint64_t room = size - reg < SCOPY_BENCH_REGION ? size - reg
                                                        : SCOPY_BENCH_REGION;

        if (pct >= 100) {
            len = room;
            at = 0;
        } else {
            /* 1-7 MiB, 4 on average: a 16 MiB region is 25 % full. */
            len = (1 + bench_rand(&x) % 7) << 20;
            len = len * pct / 25;
            if (len > room) len = room;
            at = (bench_rand(&x) % (room - len + 1)) & ~4095ULL;
        }
        if (len && bench_fill(fd, reg + at, len, &x, buf)) goto out;
        data += len;
    }
    if (fsync(fd)) goto out;
    printf("scopy-report gen size=%" PRIu64 " data=%" PRIu64 "\n", size,
           data);
    rc = 0;
out:
    if (rc) perror(file);
    if (fd >= 0) close(fd);
    free(buf);
    return rc;
}

static void bench_report(const char *role, int rc, double secs,
                         const struct scopy_result *res)
{
    printf("scopy-report %s rc=%s secs=%.6f copy_s=%.6f verify_s=%.6f "
           "size=%" PRIu64 " data=%" PRIu64 " written=%" PRIu64
           " method=%s\n", role, xlmig_errname(rc), secs, res->copy_s,
           res->verify_s, res->size, res->data, res->written, res->method);
}

struct bench_cancel {
    int fd;
    double after_s;
    double t_sent;
    struct xlmig_ctx *ctx;
};

static void *bench_canceller(void *arg)
{
    struct bench_cancel *c = arg;

    poll(NULL, 0, (int)(c->after_s * 1000));
    c->t_sent = ctx_now(c->ctx);
    if (write(c->fd, "c", 1) != 1) abort();
    return NULL;
}

static int bench_copy(int argc, char **argv)
{
    static const struct option lo[] = {
        { "bandwidth", required_argument, NULL, 'b' }, { NULL, 0, NULL, 0 },
    };
    struct scopy_opts o = { .cancel_fd = -1 };
    struct scopy_result res;
    struct bench b;
    double t0;
    int c, rc;

    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c != 'b') return 2;
        o.bandwidth = strtoull(optarg, NULL, 10);
    }
    if (argc - optind != 2) return 2;
    bench_open(&b);
    t0 = ctx_now(b.ctx);
    rc = scopy_raw(b.ctx, argv[optind], argv[optind + 1], &o, &res);
    bench_report("copy", rc, ctx_now(b.ctx) - t0, &res);
    bench_close(&b);
    return rc ? 1 : 0;
}

static int bench_convert(char **argv)
{
    struct scopy_result res;
    struct bench b;
    double t0;
    int rc;

    bench_open(&b);
    t0 = ctx_now(b.ctx);
    rc = scopy_convert(b.ctx, argv[0], argv[1], argv[2], argv[3], NULL, &res);
    bench_report("convert", rc, ctx_now(b.ctx) - t0, &res);
    bench_close(&b);
    return rc ? 1 : 0;
}

static int bench_cancel(char **argv)
{
    struct scopy_opts o = { .cancel_fd = -1 };
    struct bench_cancel c;
    struct scopy_result res;
    struct bench b;
    pthread_t th;
    int p[2], rc;
    double t0, t1;

    bench_open(&b);
    if (pipe(p)) abort();
    c = (struct bench_cancel){ .fd = p[1], .after_s = atof(argv[2]),
                               .ctx = b.ctx };
    o.cancel_fd = p[0];
    if (pthread_create(&th, NULL, bench_canceller, &c)) abort();
    t0 = ctx_now(b.ctx);
    rc = scopy_raw(b.ctx, argv[0], argv[1], &o, &res);
    t1 = ctx_now(b.ctx);
    pthread_join(th, NULL);
    bench_report("cancel", rc, t1 - t0, &res);
    printf("scopy-report cancel-latency latency=%.6f\n",
           rc == XLMIG_E_CANCELLED ? t1 - c.t_sent : -1.0);
    close(p[0]);
    close(p[1]);
    bench_close(&b);
    return rc == XLMIG_E_CANCELLED ? 0 : 1;
}

/* QEMU serving src as disk "xvdb" (serial xvdb0), its monitor at sock. */
static pid_t bench_qemu(const char *src, const char *sock)
{
    char *node = xasprintf("{\"driver\":\"raw\",\"node-name\":\"xvdb-raw\","
                           "\"file\":{\"driver\":\"file\",\"filename\":"
                           "\"%s\"}}", src);
    char *qmp = xasprintf("unix:%s,server=on,wait=off", sock);
    char *argv[] = { (char *)"qemu-system-x86_64", (char *)"-M",
                     (char *)"pc", (char *)"-m", (char *)"16", (char *)"-S",
                     (char *)"-nodefaults", (char *)"-no-user-config",
                     (char *)"-display", (char *)"none", (char *)"-blockdev",
                     node, (char *)"-device",
                     (char *)"virtio-blk-pci,drive=xvdb-raw,serial=xvdb0",
                     (char *)"-qmp", qmp, NULL };
    struct timespec ts = { 0, 50 * 1000 * 1000 };
    struct stat st;
    pid_t pid;
    int i;

    if (strchr(src, '"') || strchr(src, '\\')) return -1;
    pid = fork();
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    free(node);
    free(qmp);
    for (i = 0; pid > 0 && i < 200 && stat(sock, &st); i++)
        nanosleep(&ts, NULL);
    return pid;
}

static int bench_mirror(char **argv)
{
    struct smirror_status st = { 0 };
    struct smirror *m = NULL;
    struct timespec ts = { 0, 100 * 1000 * 1000 };
    struct stat sst;
    struct bench b;
    char *sock = xasprintf("%s.qmp", argv[1]);
    double t0, t_ready = 0;
    pid_t qemu;
    int rc;

    bench_open(&b);
    if (stat(argv[0], &sst)) {
        perror(argv[0]);
        return 1;
    }
    qemu = bench_qemu(argv[0], sock);
    if (qemu < 0) return 1;
    t0 = ctx_now(b.ctx);
    rc = scopy_create(b.ctx, argv[1], "raw", (uint64_t)sst.st_size);
    if (!rc)
        rc = smirror_qmp_start_prop(b.ctx, sock, "xvdb", "serial", argv[1],
                                    "raw", 0, &m);
    while (!rc && !st.ready) {
        rc = smirror_poll(b.ctx, m, &st);
        if (!rc && !st.ready) nanosleep(&ts, NULL);
    }
    if (!rc) {
        t_ready = ctx_now(b.ctx) - t0;
        rc = smirror_pivot(b.ctx, m);
    }
    /* Durable, as the copy's fdatasync makes it: QEMU writes back. */
    if (!rc) {
        int fd = open(argv[1], O_RDONLY | O_CLOEXEC);

        if (fd < 0 || fdatasync(fd)) rc = XLMIG_E_STORAGE;
        if (fd >= 0) close(fd);
    }
    printf("scopy-report mirror rc=%s secs=%.6f ready_s=%.6f size=%"
           PRIu64 " written=%" PRIu64 "\n", xlmig_errname(rc),
           ctx_now(b.ctx) - t0, t_ready, st.total, st.done);
    smirror_free(b.ctx, m);
    kill(qemu, SIGKILL);
    while (waitpid(qemu, NULL, 0) < 0 && errno == EINTR) {}
    unlink(sock);
    free(sock);
    bench_close(&b);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[1], "gen"))
        return bench_gen(argv[2], strtoull(argv[3], NULL, 10),
                         (unsigned)atoi(argv[4]));
    if (argc >= 2 && !strcmp(argv[1], "copy"))
        return bench_copy(argc - 1, argv + 1);
    if (argc == 6 && !strcmp(argv[1], "convert"))
        return bench_convert(argv + 2);
    if (argc == 5 && !strcmp(argv[1], "cancel"))
        return bench_cancel(argv + 2);
    if (argc == 4 && !strcmp(argv[1], "mirror"))
        return bench_mirror(argv + 2);
    fprintf(stderr, "usage: scopy gen FILE MIB PCT | copy [--bandwidth B] "
            "SRC DST | convert SRC FMT DST FMT | cancel SRC DST AFTER_S | "
            "mirror SRC DST\n");
    return 2;
}
