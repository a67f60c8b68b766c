/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xfer.c - the roles of the transport benchmark (bench/transport), one
 * process each, so that a measured transfer has the real process
 * structure of a migration: producer (libxc) -> pipe -> sender pump ->
 * TCP -> receiver pump -> pipe -> consumer (libxc on the far side).
 * Built on demand (make bench/xfer), not installed.
 *
 *   xfer gen-synthetic [--zero PCT] [--text PCT] FILE MIB
 *        a valid libxl stream of MIB MiB of pages: PCT % zero (40),
 *        PCT % text-like (30: 4 KiB slices of files under /usr/share and
 *        /usr/lib), the rest random; shuffled
 *   xfer gen-image [--p2m-pfns N] MEMFILE FILE
 *        MEMFILE, a guest's RAM from address 0 (QEMU's pmemsave; bench/
 *        guest-image), as the libxl stream xl save makes of a PVH guest
 *        of that memory: PAGE_DATA records of STREAM_BATCH_MAX
 *        consecutive pfns up to N (0xff000: the 4 GiB p2m of a PVH
 *        guest), the pfns past the RAM data-less (XTAB) but for the
 *        16 special pages below N (zero but their first words)
 *   xfer produce FILE -|ADDR:PORT
 *        writes FILE (prefaulted first) in 4 MiB writes to stdout or a
 *        TCP connection, as libxc writes a stream
 *   xfer send --connect ADDR:PORT [--in FD] [--codec none|lz4|zstd|auto]
 *        [--encrypt] [--raw] [--keys HEX] [--limit BYTES/S]
 *        [--own-loop] [--no-elide]
 *        the sending pump: the AUTH frame, then pump_start() from FD
 *        (default 0) to the connection; --raw: the unframed pump.
 *        --own-loop: this file's framing loop instead of the pump (page
 *        data as FRAME_PAGES); --no-elide: the same loop, page data as
 *        FRAME_DATA (no zero-page scan), to price the elision
 *   xfer recv --listen ADDR:PORT [--out FD] [--encrypt] [--raw] [--keys HEX]
 *        accepts one connection, checks its AUTH frame and runs the
 *        receiving pump into FD (default 1)
 *   xfer consume [--hash]     reads stdin to EOF in 1 MiB reads
 *   xfer direct-recv --listen ADDR:PORT [--hash]
 *        the same from one TCP connection (the baseline without pumps)
 *   xfer keys                 prints fresh session keys (hex)
 *
 * Pipes are enlarged to 1 MiB (research/perf.md section 5.1) unless
 * XFER_PIPE_SIZE says otherwise (0: as they are).
 * Each role reports one line on stderr, "xfer-report ROLE key=value...";
 * times are CLOCK_MONOTONIC seconds, comparable across the processes.
 * The producer's start is taken after the file is in memory, the
 * consumer's end at EOF: their difference is the transfer time. Exit
 * status 0, 1 on failure, 2 on misuse.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fdio.h"
#include "frame.h"
#include "pump.h"
#include "stream.h"

#define XFER_BLOCK (1u << 20)           /* consumer reads, hash blocks */
#define XFER_WRITE (4u << 20)           /* producer writes: one record */
#define XFER_PIPE_SIZE (1 << 20)        /* research/perf.md section 5.1 */
#define XFER_TIMEOUT_S 60               /* stall deadline of every wait */
#define XFER_CONNECT_S 10               /* the listener may come late */
#define XFER_PAGE 4096u
#define XFER_POOL_PAGES 8192u           /* 32 MiB from each tree */
#define XFER_FILE_PAGES 32u             /* pages taken from one file */
#define XFER_GEN_MAX_MIB (64u << 10)
#define XFER_BATCH_BUF (STREAM_BATCH_MAX * (XFER_PAGE + 8) + 4096)
#define XFER_HASH_P1 0x9e3779b185ebca87ULL
#define XFER_HASH_P2 0xc2b2ae3d27d4eb4fULL

struct xfer {
    xentoollog_logger_stdiostream *lg;
    struct xlmig_ctx *ctx;
};

static void xfer_usage(void)
{
    fprintf(stderr,
        "usage: xfer gen-synthetic [--zero PCT] [--text PCT] FILE MIB\n"
        "       xfer gen-image [--p2m-pfns N] MEMFILE FILE\n"
        "       xfer produce FILE -|ADDR:PORT\n"
        "       xfer send --connect ADDR:PORT [--in FD] [--codec C]"
        " [--encrypt] [--raw]\n"
        "                 [--keys HEX] [--limit BYTES/S] [--own-loop]"
        " [--no-elide]\n"
        "       xfer recv --listen ADDR:PORT [--out FD] [--encrypt] [--raw]"
        " [--keys HEX]\n"
        "       xfer consume [--hash]\n"
        "       xfer direct-recv --listen ADDR:PORT [--hash]\n"
        "       xfer keys\n");
    exit(2);
}

static void xfer_die(const char *fmt, ...) PRINTF_LIKE(1, 2);
static void xfer_die(const char *fmt, ...)
{
    va_list ap;

    fputs("xfer: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void xfer_check(int rc, const char *what)
{
    if (rc) xfer_die("%s: %s", what, xlmig_strerror(rc));
}

static double xfer_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void xfer_open(struct xfer *x)
{
    x->lg = xtl_createlogger_stdiostream(stderr, XTL_WARN, 0);
    if (!x->lg || xlmig_ctx_new(&x->ctx, (xentoollog_logger *)x->lg,
                                "libxl"))
        xfer_die("cannot make a context");
}

static void xfer_close(struct xfer *x)
{
    xlmig_ctx_free(x->ctx);
    xtl_logger_destroy((xentoollog_logger *)x->lg);
}

static uint64_t xfer_u64(const char *s, uint64_t max, const char *what)
{
    unsigned long long v;
    char *end;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-' || v > max)
        xfer_die("bad %s: %s", what, s);
    return v;
}

/*
 * Enlarges fd's pipe (a no-op on other fds) to XFER_PIPE_SIZE, or to
 * $XFER_PIPE_SIZE bytes; 0 there leaves the pipe as it is (xl's pipes
 * keep the default 64 KiB).
 */
static void xfer_pipe_size(int fd)
{
    const char *env = getenv("XFER_PIPE_SIZE");
    uint64_t size = XFER_PIPE_SIZE;
    struct stat st;

    if (env) size = xfer_u64(env, INT32_MAX, "XFER_PIPE_SIZE");
    if (!size || fstat(fd, &st) || !S_ISFIFO(st.st_mode)) return;
    if (fcntl(fd, F_SETPIPE_SZ, (int)size) < 0)
        fprintf(stderr, "xfer: warning: F_SETPIPE_SZ on fd %d: %s\n", fd,
                strerror(errno));
}

/* ---- hash: 64-bit, over 1 MiB blocks (so read sizes do not matter) ---- */

static inline uint64_t xfer_rotl(uint64_t v, unsigned r)
{
    return v << r | v >> (64 - r);
}

static inline uint64_t xfer_round(uint64_t acc, uint64_t w)
{
    return xfer_rotl(acc + w * XFER_HASH_P2, 31) * XFER_HASH_P1;
}

static uint64_t xfer_hash_block(uint64_t h, const uint8_t *p, size_t len)
{
    uint64_t l[4] = { 1, 2, 3, 4 }, w;
    size_t i = 0, j;

    for (; i + 32 <= len; i += 32) {
        for (j = 0; j < 4; j++) {
            memcpy(&w, p + i + 8 * j, 8);
            l[j] = xfer_round(l[j], w);
        }
    }
    for (; i < len; i++) l[0] = xfer_round(l[0], p[i]);
    for (j = 0; j < 4; j++) h = xfer_round(h ^ l[j], len);
    return h;
}

/* ---- sockets ---- */

static void xfer_addr(const char *spec, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(spec, ':');

    if (!colon || (size_t)(colon - spec) >= sizeof(host))
        xfer_die("not ADDR:PORT: %s", spec);
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = 0;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)xfer_u64(colon + 1, 65535, "port"));
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        xfer_die("not an IPv4 address: %s", host);
}

/* Connects to spec, retrying while nobody listens yet. */
static int xfer_connect(const char *spec)
{
    struct sockaddr_in sa;
    double deadline = xfer_now() + XFER_CONNECT_S;
    int fd;

    xfer_addr(spec, &sa);
    for (;;) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) xfer_die("socket: %s", strerror(errno));
        if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) return fd;
        if (errno != ECONNREFUSED || xfer_now() > deadline)
            xfer_die("connect %s: %s", spec, strerror(errno));
        close(fd);
        usleep(5000);
    }
}

/* Listens on spec and accepts one connection. */
static int xfer_accept(const char *spec)
{
    struct sockaddr_in sa;
    struct pollfd pfd;
    int one = 1, lfd, fd, n;

    xfer_addr(spec, &sa);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) xfer_die("socket: %s", strerror(errno));
    if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
        xfer_die("listen on %s: %s", spec, strerror(errno));
    pfd.fd = lfd;
    pfd.events = POLLIN;
    n = poll(&pfd, 1, XFER_TIMEOUT_S * 1000);
    if (n <= 0) xfer_die("no connection on %s", spec);
    fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) xfer_die("accept: %s", strerror(errno));
    close(lfd);
    return fd;
}

static void xfer_write_all(int fd, const uint8_t *p, size_t len)
{
    ssize_t r;

    while (len) {
        r = write(fd, p, len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) xfer_die("write: %s", strerror(errno));
        p += r;
        len -= (size_t)r;
    }
}

/* ---- gen-synthetic ---- */

struct xfer_gen {
    uint8_t *pool;              /* text-like pages */
    size_t pool_pages, pool_max;
    const char *tree;
    uint64_t rng;
};

/* nftw's callback has no argument. */
static struct xfer_gen *xfer_gen_cur;

static uint64_t xfer_rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static bool xfer_gen_skip_name(const char *path)
{
    static const char *const ext[] = {
        ".gz", ".xz", ".bz2", ".zst", ".lz4", ".lzma", ".zip", ".jar",
        ".png", ".jpg", ".jpeg", ".gif", ".ogg", ".mp3", ".woff", ".woff2",
        ".deb", ".svgz", ".tgz", ".7z", ".br", ".cpio", ".img",
    };
    size_t len = strlen(path), i, e;

    for (i = 0; i < ARRAY_SIZE(ext); i++) {
        e = strlen(ext[i]);
        if (len > e && !strcmp(path + len - e, ext[i])) return true;
    }
    return false;
}

static bool xfer_zero_page(const uint8_t *p)
{
    size_t i;

    for (i = 0; i < XFER_PAGE; i++)
        if (p[i]) return false;
    return true;
}

static int xfer_gen_file(const char *path, const struct stat *st, int type,
                         struct FTW *ftw)
{
    struct xfer_gen *g = xfer_gen_cur;
    uint8_t *page;
    unsigned n = 0;
    ssize_t r;
    int fd;

    (void)ftw;
    if (g->pool_pages >= g->pool_max) return 1;     /* stop the walk */
    if (type != FTW_F || !S_ISREG(st->st_mode) || st->st_size < XFER_PAGE ||
        xfer_gen_skip_name(path))
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return 0;
    while (n < XFER_FILE_PAGES && g->pool_pages < g->pool_max) {
        page = g->pool + g->pool_pages * XFER_PAGE;
        r = pread(fd, page, XFER_PAGE, (off_t)n * XFER_PAGE);
        if (r != XFER_PAGE) break;
        n++;
        if (!xfer_zero_page(page)) g->pool_pages++;
    }
    close(fd);
    return 0;
}

static void xfer_gen_pool(struct xfer_gen *g)
{
    static const char *const trees[] = { "/usr/share", "/usr/lib" };
    size_t i;

    g->pool = xmalloc((size_t)XFER_POOL_PAGES * ARRAY_SIZE(trees) *
                      XFER_PAGE);
    xfer_gen_cur = g;
    for (i = 0; i < ARRAY_SIZE(trees); i++) {
        g->pool_max = XFER_POOL_PAGES * (i + 1);
        if (nftw(trees[i], xfer_gen_file, 16, FTW_PHYS) < 0)
            xfer_die("cannot walk %s: %s", trees[i], strerror(errno));
    }
    xfer_gen_cur = NULL;
    if (g->pool_pages < 256) xfer_die("too few text pages found");
}

enum xfer_kind { XFER_ZERO, XFER_TEXT, XFER_RANDOM };

static void xfer_gen_page(struct xfer_gen *g, enum xfer_kind k, uint8_t *p)
{
    uint64_t v;
    size_t i;

    switch (k) {
    case XFER_ZERO:
        memset(p, 0, XFER_PAGE);
        break;
    case XFER_TEXT:
        memcpy(p, g->pool + xfer_rng(&g->rng) % g->pool_pages * XFER_PAGE,
               XFER_PAGE);
        break;
    case XFER_RANDOM:
        for (i = 0; i < XFER_PAGE; i += 8) {
            v = xfer_rng(&g->rng);
            memcpy(p + i, &v, 8);
        }
        break;
    }
}

static void xfer_put(int rc)
{
    xfer_check(rc, "stream encoder");
}

static void xfer_flush(struct buf *b, FILE *f, const char *file)
{
    if (fwrite(buf_ptr(b), 1, buf_len(b), f) != buf_len(b))
        xfer_die("write %s: %s", file, strerror(errno));
    buf_reset(b);
}

static const uint8_t xfer_blob[64];

/* The head and the tail of a generated PVH stream. */
static void xfer_put_head(struct buf *b)
{
    xfer_put(stream_put_libxl_hdr(b));
    xfer_put(stream_put_libxl_rec(b, STREAM_LIBXL_LIBXC_CONTEXT, NULL, 0));
    xfer_put(stream_put_libxc_hdrs(b, STREAM_DHDR_TYPE_X86_HVM, 4, 17));
    xfer_put(stream_put_libxc_rec(b, STREAM_LIBXC_X86_CPUID_POLICY,
                                  xfer_blob, 48));
    xfer_put(stream_put_libxc_rec(b, STREAM_LIBXC_X86_MSR_POLICY,
                                  xfer_blob, 16));
    xfer_put(stream_put_libxc_rec(b, STREAM_LIBXC_STATIC_DATA_END, NULL, 0));
}

static void xfer_put_tail(struct buf *b)
{
    xfer_put(stream_put_libxc_rec(b, STREAM_LIBXC_X86_TSC_INFO, xfer_blob,
                                  24));
    xfer_put(stream_put_libxc_rec(b, STREAM_LIBXC_HVM_CONTEXT, xfer_blob,
                                  37));
    xfer_put(stream_put_libxc_rec(b, STREAM_LIBXC_HVM_PARAMS, xfer_blob, 40));
    xfer_put(stream_put_libxc_rec(b, STREAM_LIBXC_END, NULL, 0));
    xfer_put(stream_put_libxl_rec(b, STREAM_LIBXL_END, NULL, 0));
}

static int xfer_gen_synthetic(int argc, char **argv)
{
    static const struct option opts[] = {
        { "zero", required_argument, NULL, 'z' },
        { "text", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    struct xfer_gen g = { .rng = 0x2545f4914f6cdd1dULL };
    unsigned zero = 40, text = 30;
    uint64_t npages, i, j, *pfns, counts[3] = { 0, 0, 0 };
    uint8_t *kinds, *pages, t;
    struct buf *b;
    const char *file;
    uint32_t n;
    FILE *f;
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'z': zero = (unsigned)xfer_u64(optarg, 100, "--zero"); break;
        case 't': text = (unsigned)xfer_u64(optarg, 100, "--text"); break;
        default: xfer_usage();
        }
    }
    if (argc - optind != 2 || zero + text > 100) xfer_usage();
    file = argv[optind];
    npages = xfer_u64(argv[optind + 1], XFER_GEN_MAX_MIB, "MIB") *
             ((1u << 20) / XFER_PAGE);
    if (!npages) xfer_usage();
    if (text) xfer_gen_pool(&g);

    /* The kinds, in their shares, then shuffled (Fisher-Yates). */
    kinds = xmalloc(npages);
    for (i = 0; i < npages; i++)
        kinds[i] = i < npages * zero / 100 ? XFER_ZERO :
                   i < npages * (zero + text) / 100 ? XFER_TEXT : XFER_RANDOM;
    for (i = npages - 1; i > 0; i--) {
        j = xfer_rng(&g.rng) % (i + 1);
        t = kinds[i];
        kinds[i] = kinds[j];
        kinds[j] = t;
    }

    f = fopen(file, "wbe");
    if (!f) xfer_die("%s: %s", file, strerror(errno));
    b = buf_new(XFER_BATCH_BUF);
    pfns = xcalloc(STREAM_BATCH_MAX, sizeof(*pfns));
    pages = xmalloc((size_t)STREAM_BATCH_MAX * XFER_PAGE);

    /* As tests/unit/mkstream.c: a PVH stream. */
    xfer_put_head(b);
    for (i = 0; i < npages; i += n) {
        n = npages - i < STREAM_BATCH_MAX ? (uint32_t)(npages - i)
                                          : STREAM_BATCH_MAX;
        for (j = 0; j < n; j++) {
            pfns[j] = i + j;
            xfer_gen_page(&g, kinds[i + j], pages + j * XFER_PAGE);
            counts[kinds[i + j]]++;
        }
        xfer_put(stream_put_page_data(b, pfns, n, pages));
        xfer_flush(b, f, file);
    }
    xfer_put_tail(b);
    xfer_flush(b, f, file);
    if (fclose(f)) xfer_die("%s: %s", file, strerror(errno));
    fprintf(stderr, "xfer-report gen pages=%" PRIu64 " zero=%" PRIu64
            " text=%" PRIu64 " random=%" PRIu64 " pool=%zu\n", npages,
            counts[XFER_ZERO], counts[XFER_TEXT], counts[XFER_RANDOM],
            g.pool_pages);
    buf_free(b);
    free(pfns);
    free(pages);
    free(kinds);
    free(g.pool);
    return 0;
}

/* ---- gen-image ---- */

#define XFER_P2M_PFNS 0xff000u          /* a PVH guest's 4 GiB p2m */
#define XFER_SPECIAL_PAGES 16u          /* libxc's HVM special pages */

static int xfer_gen_image(int argc, char **argv)
{
    static const struct option opts[] = {
        { "p2m-pfns", required_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 },
    };
    uint64_t p2m = XFER_P2M_PFNS, ram, pfn, i, *pfns, data = 0;
    const char *file;
    uint8_t *map, *pages;
    struct stat st;
    struct buf *b;
    uint32_t n, nd;
    FILE *f;
    int c, fd;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'p') xfer_usage();
        p2m = xfer_u64(optarg, STREAM_PFN_MASK, "--p2m-pfns");
    }
    if (argc - optind != 2) xfer_usage();
    file = argv[optind + 1];
    fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st))
        xfer_die("%s: %s", argv[optind], strerror(errno));
    ram = (uint64_t)st.st_size / XFER_PAGE;
    if (!ram) xfer_die("%s holds no page", argv[optind]);
    if (p2m < ram + XFER_SPECIAL_PAGES) p2m = ram + XFER_SPECIAL_PAGES;
    map = mmap(NULL, ram * XFER_PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) xfer_die("mmap: %s", strerror(errno));
    close(fd);
    f = fopen(file, "wbe");
    if (!f) xfer_die("%s: %s", file, strerror(errno));
    b = buf_new(XFER_BATCH_BUF);
    pfns = xcalloc(STREAM_BATCH_MAX, sizeof(*pfns));
    pages = xmalloc((size_t)STREAM_BATCH_MAX * XFER_PAGE);
    xfer_put_head(b);
    for (pfn = 0; pfn < p2m; pfn += n) {
        n = p2m - pfn < STREAM_BATCH_MAX ? (uint32_t)(p2m - pfn)
                                         : STREAM_BATCH_MAX;
        for (i = 0, nd = 0; i < n; i++) {
            pfns[i] = pfn + i;
            if (pfn + i < ram) {
                memcpy(pages + (size_t)nd++ * XFER_PAGE,
                       map + (pfn + i) * XFER_PAGE, XFER_PAGE);
            } else if (pfn + i >= p2m - XFER_SPECIAL_PAGES) {
                memset(pages + (size_t)nd * XFER_PAGE, 0, XFER_PAGE);
                memcpy(pages + (size_t)nd++ * XFER_PAGE, &pfns[i], 8);
            } else {
                pfns[i] |= (uint64_t)STREAM_PFN_TYPE_XTAB
                           << STREAM_PFN_TYPE_SHIFT;
            }
        }
        data += nd;
        xfer_put(stream_put_page_data(b, pfns, n, pages));
        xfer_flush(b, f, file);
    }
    xfer_put_tail(b);
    xfer_flush(b, f, file);
    if (fclose(f)) xfer_die("%s: %s", file, strerror(errno));
    fprintf(stderr, "xfer-report gen-image ram_pages=%" PRIu64
            " p2m_pfns=%" PRIu64 " data_pages=%" PRIu64 "\n", ram, p2m,
            data);
    buf_free(b);
    free(pfns);
    free(pages);
    munmap(map, ram * XFER_PAGE);
    return 0;
}

/* ---- produce ---- */

static int xfer_produce(int argc, char **argv)
{
    const char *file, *to;
    struct stat st;
    double t0, t1;
    uint8_t *map;
    size_t off, n;
    int fd, out;

    if (argc != 3) xfer_usage();
    file = argv[1];
    to = argv[2];
    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st)) xfer_die("%s: %s", file, strerror(errno));
    if (!st.st_size) xfer_die("%s is empty", file);
    map = mmap(NULL, (size_t)st.st_size, PROT_READ,
               MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (map == MAP_FAILED) xfer_die("mmap %s: %s", file, strerror(errno));
    close(fd);
    if (!strcmp(to, "-")) {
        out = 1;
        xfer_pipe_size(out);
    } else {
        out = xfer_connect(to);
    }
    t0 = xfer_now();
    for (off = 0; off < (size_t)st.st_size; off += n) {
        n = (size_t)st.st_size - off;
        if (n > XFER_WRITE) n = XFER_WRITE;
        xfer_write_all(out, map + off, n);
    }
    if (close(out)) xfer_die("close: %s", strerror(errno));
    t1 = xfer_now();
    fprintf(stderr, "xfer-report produce bytes=%jd start=%.6f end=%.6f\n",
            (intmax_t)st.st_size, t0, t1);
    munmap(map, (size_t)st.st_size);
    return 0;
}

/* ---- consume / direct-recv ---- */

/* Reads fd to EOF; with hash, hashes it in XFER_BLOCK blocks. */
static void xfer_drain(int fd, bool hash, const char *role)
{
    uint8_t *buf = xmalloc(XFER_BLOCK);
    uint64_t total = 0, h = 0;
    double t_first = 0, t_end;
    size_t fill = 0;
    ssize_t r;

    for (;;) {
        r = read(fd, buf + fill, XFER_BLOCK - fill);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) xfer_die("read: %s", strerror(errno));
        if (r == 0) break;
        if (!t_first) t_first = xfer_now();
        total += (uint64_t)r;
        if (!hash) continue;
        fill += (size_t)r;
        if (fill == XFER_BLOCK) {
            h = xfer_hash_block(h, buf, fill);
            fill = 0;
        }
    }
    t_end = xfer_now();
    if (fill) h = xfer_hash_block(h, buf, fill);
    fprintf(stderr, "xfer-report %s bytes=%" PRIu64 " hash=%s%016" PRIx64
            " first=%.6f end=%.6f\n", role, total, hash ? "" : "none-",
            h, t_first, t_end);
    free(buf);
}

static bool xfer_hash_opt(int argc, char **argv, int first)
{
    if (argc == first) return false;
    if (argc == first + 1 && !strcmp(argv[first], "--hash")) return true;
    xfer_usage();
    return false;
}

static int xfer_consume(int argc, char **argv)
{
    bool hash = xfer_hash_opt(argc, argv, 1);

    xfer_pipe_size(0);
    xfer_drain(0, hash, "consume");
    return 0;
}

static int xfer_direct_recv(int argc, char **argv)
{
    bool hash;
    int fd;

    if (argc < 3 || strcmp(argv[1], "--listen")) xfer_usage();
    hash = xfer_hash_opt(argc, argv, 3);
    fd = xfer_accept(argv[2]);
    xfer_drain(fd, hash, "direct-recv");
    close(fd);
    return 0;
}

/* ---- send / recv ---- */

struct xfer_opts {
    const char *addr;
    int fd;
    int codec;
    bool encrypt, raw, own_loop, no_elide;
    const char *keys;
    uint64_t limit;
};

static void xfer_parse_opts(int argc, char **argv, bool send,
                            struct xfer_opts *o)
{
    enum { O_IN = 1, O_OUT, O_CONNECT, O_LISTEN, O_CODEC, O_ENCRYPT, O_RAW,
           O_KEYS, O_LIMIT, O_OWN, O_NOELIDE };
    static const struct option opts[] = {
        { "in", required_argument, NULL, O_IN },
        { "out", required_argument, NULL, O_OUT },
        { "connect", required_argument, NULL, O_CONNECT },
        { "listen", required_argument, NULL, O_LISTEN },
        { "codec", required_argument, NULL, O_CODEC },
        { "encrypt", no_argument, NULL, O_ENCRYPT },
        { "raw", no_argument, NULL, O_RAW },
        { "keys", required_argument, NULL, O_KEYS },
        { "limit", required_argument, NULL, O_LIMIT },
        { "own-loop", no_argument, NULL, O_OWN },
        { "no-elide", no_argument, NULL, O_NOELIDE },
        { NULL, 0, NULL, 0 },
    };
    int c;

    memset(o, 0, sizeof(*o));
    o->fd = send ? 0 : 1;
    o->codec = FRAME_CODEC_NONE;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_IN:
        case O_OUT:
            if ((c == O_IN) != send) xfer_usage();
            o->fd = (int)xfer_u64(optarg, 1023, "fd");
            break;
        case O_CONNECT:
        case O_LISTEN:
            if ((c == O_CONNECT) != send) xfer_usage();
            o->addr = optarg;
            break;
        case O_CODEC:
            if (!send) xfer_usage();
            if (!strcmp(optarg, "auto")) {
                o->codec = PUMP_CODEC_AUTO;
                break;
            }
            o->codec = frame_codec_from_name(optarg);
            if (o->codec < 0) xfer_die("unknown codec %s", optarg);
            if (!frame_codec_available((enum frame_codec)o->codec))
                xfer_die("codec %s is not in this build", optarg);
            break;
        case O_ENCRYPT: o->encrypt = true; break;
        case O_RAW: o->raw = true; break;
        case O_KEYS: o->keys = optarg; break;
        case O_LIMIT:
            if (!send) xfer_usage();
            o->limit = xfer_u64(optarg, UINT64_MAX / 2, "--limit");
            break;
        case O_OWN:
        case O_NOELIDE:
            if (!send) xfer_usage();
            o->own_loop = true;
            if (c == O_NOELIDE) o->no_elide = true;
            break;
        default:
            xfer_usage();
        }
    }
    if (optind != argc || !o->addr) xfer_usage();
    if (!o->raw && !o->keys) xfer_die("framed modes need --keys");
    if (o->raw && (o->encrypt || o->own_loop || o->codec))
        xfer_die("--raw takes no framing options");
}

static void xfer_keys_of(const struct xfer_opts *o, struct frame_keys *k)
{
    xfer_check(frame_keys_parse(o->keys, k), "--keys");
}

static struct pump_opts xfer_pump_opts(int in_fd, int out_fd)
{
    struct pump_opts po;

    memset(&po, 0, sizeof(po));
    po.in_fd = in_fd;
    po.out_fd = out_fd;
    po.wait = fdio_wait_make(XFER_TIMEOUT_S, -1);
    po.in_what = "stream in";
    po.out_what = "stream out";
    po.codec = FRAME_CODEC_NONE;
    return po;
}

static int xfer_run_pump(struct xfer *x, const struct pump_opts *po,
                         uint64_t *bytes_r)
{
    struct xlmig_progress prog;
    struct pump *p;
    int rc;

    rc = pump_start(x->ctx, po, &p);
    if (rc) return rc;
    rc = pump_join(p);
    pump_progress(p, &prog);
    *bytes_r = prog.bytes;
    pump_free(p);
    return rc;
}

/*
 * The sending loop of --own-loop / --no-elide: the stream parsed as the
 * pump parses it, page data in frames of up to FRAME_RAW_MAX, everything
 * between it coalesced into FRAME_DATA frames.
 */
struct xfer_loop {
    struct xfer *x;
    struct frame_enc *enc;
    int codec, in, out;
    bool no_elide;
    struct fdio_wait w;
    uint8_t *in_buf, *out_buf;
    uint64_t bytes;
};

static void xfer_loop_emit(struct xfer_loop *l, bool pages, size_t len)
{
    size_t out_len;
    int rc;

    if (pages)
        rc = frame_enc_pages(l->enc, (enum frame_codec)l->codec, l->in_buf,
                             len, l->out_buf, &out_len);
    else
        rc = frame_enc_data(l->enc, (enum frame_codec)l->codec, l->in_buf,
                            len, l->out_buf, &out_len);
    xfer_check(rc, "frame encoder");
    xfer_check(fdio_write_all(l->x->ctx, l->out, l->out_buf, out_len, &l->w,
                              "frames"), "send");
    l->bytes += len;
}

static void xfer_loop(struct xfer_loop *l)
{
    struct stream *s = stream_new(NULL, NULL);
    size_t fill = 0, want, got, used, pb, out_len;

    l->in_buf = xmalloc(FRAME_RAW_MAX);
    l->out_buf = xmalloc(frame_enc_bound(FRAME_RAW_MAX));
    while (!stream_done(s)) {
        pb = stream_page_body_left(s);
        if (pb) {
            if (fill) xfer_loop_emit(l, false, fill);
            fill = pb < FRAME_RAW_MAX ? pb : FRAME_RAW_MAX;
            xfer_check(fdio_read_exact(l->x->ctx, l->in, l->in_buf, fill,
                                       &l->w, "stream"), "read");
            xfer_check(stream_skip(s, fill), "stream_skip");
            xfer_loop_emit(l, !l->no_elide, fill);
            fill = 0;
            continue;
        }
        want = stream_want(s);
        if (want > FRAME_RAW_MAX - fill) want = FRAME_RAW_MAX - fill;
        if (!want) {
            xfer_loop_emit(l, false, fill);
            fill = 0;
            continue;
        }
        xfer_check(fdio_read_some(l->x->ctx, l->in, l->in_buf + fill, want,
                                  &l->w, "stream", &got), "read");
        if (!got) break;
        if (stream_feed(s, l->in_buf + fill, got, &used) || used != got)
            xfer_die("malformed stream: %s", stream_error(s));
        fill += got;
    }
    if (fill) xfer_loop_emit(l, false, fill);
    xfer_check(stream_finish(s), "the stream ended early");
    xfer_check(frame_enc_end(l->enc, l->out_buf, &out_len), "END frame");
    xfer_check(fdio_write_all(l->x->ctx, l->out, l->out_buf, out_len, &l->w,
                              "frames"), "send");
    stream_free(s);
    free(l->in_buf);
    free(l->out_buf);
}

static int xfer_send(int argc, char **argv)
{
    struct xfer x;
    struct xfer_opts o;
    struct frame_keys k;
    struct frame_enc *enc = NULL;
    struct frame_enc_stats st;
    struct pump_opts po;
    uint8_t auth[FRAME_HDR_LEN + FRAME_SESSION_LEN + FRAME_TAG_LEN + 64];
    size_t auth_len = 0;
    uint64_t bytes = 0, wire;
    double t0, t1;
    int fd, rc;

    xfer_parse_opts(argc, argv, true, &o);
    xfer_open(&x);
    xfer_pipe_size(o.fd);
    fd = xfer_connect(o.addr);
    if (!o.raw) {
        xfer_keys_of(&o, &k);
        enc = frame_enc_new(&k, o.encrypt);
        if (!enc) xfer_die("frame_enc_new failed");
        if (frame_enc_bound(FRAME_SESSION_LEN) > sizeof(auth))
            xfer_die("AUTH frame too large");
        xfer_check(frame_enc_auth(enc, auth, &auth_len), "AUTH frame");
        xfer_write_all(fd, auth, auth_len);
    }
    t0 = xfer_now();
    if (o.own_loop) {
        struct xfer_loop l = {
            .x = &x, .enc = enc, .codec = o.codec, .in = o.fd, .out = fd,
            .no_elide = o.no_elide,
            .w = fdio_wait_make(XFER_TIMEOUT_S, -1),
        };

        if (o.codec == PUMP_CODEC_AUTO)
            xfer_die("--own-loop takes no auto codec");
        xfer_loop(&l);
        bytes = l.bytes;
        rc = XLMIG_OK;
    } else {
        po = xfer_pump_opts(o.fd, fd);
        po.limit = o.limit;
        po.enc = enc;
        po.codec = o.codec;
        rc = xfer_run_pump(&x, &po, &bytes);
    }
    t1 = xfer_now();
    if (rc) xfer_die("sending pump failed: %s", xlmig_strerror(rc));
    if (close(fd)) xfer_die("close: %s", strerror(errno));
    wire = bytes;
    if (enc) {
        frame_enc_get_stats(enc, &st);
        wire = st.wire_bytes;
        fprintf(stderr, "xfer-report send-frames frames=%" PRIu64
                " raw=%" PRIu64 " pages=%" PRIu64 " zero_pages=%" PRIu64
                " auth=%zu\n", st.frames, st.raw_bytes, st.pages,
                st.zero_pages, auth_len);
    }
    fprintf(stderr, "xfer-report send bytes=%" PRIu64 " wire=%" PRIu64
            " start=%.6f end=%.6f secs=%.6f\n", bytes, wire, t0, t1,
            t1 - t0);
    frame_enc_free(enc);
    xfer_close(&x);
    return 0;
}

/* Reads and checks the AUTH frame that opens a framed connection. */
static void xfer_recv_auth(struct xfer *x, struct frame_dec *dec, int fd)
{
    uint8_t hdr[FRAME_HDR_LEN], body[FRAME_SESSION_LEN + FRAME_TAG_LEN];
    struct fdio_wait w = fdio_wait_make(XFER_TIMEOUT_S, -1);
    struct frame_hdr h;
    uint8_t *out;
    char *why = NULL;
    int rc;

    xfer_check(fdio_read_exact(x->ctx, fd, hdr, sizeof(hdr), &w,
                               "AUTH frame"), "AUTH frame");
    rc = frame_dec_hdr(dec, hdr, &h, &why);
    if (rc) xfer_die("AUTH frame: %s", why ? why : xlmig_strerror(rc));
    if (h.type != FRAME_AUTH || h.wire_len != FRAME_SESSION_LEN)
        xfer_die("the first frame is not AUTH (type %" PRIu32 ")", h.type);
    xfer_check(fdio_read_exact(x->ctx, fd, body, sizeof(body), &w,
                               "AUTH frame"), "AUTH frame");
    out = xmalloc(FRAME_RAW_MAX);
    rc = frame_dec_open(dec, &h, hdr, body, out, &why);
    if (rc) xfer_die("AUTH frame: %s", why ? why : xlmig_strerror(rc));
    free(out);
}

static int xfer_recv(int argc, char **argv)
{
    struct xfer x;
    struct xfer_opts o;
    struct frame_keys k;
    struct frame_dec *dec = NULL;
    struct pump_opts po;
    unsigned codecs = 0;
    uint64_t bytes = 0;
    double t0, t1;
    int fd, rc, c;

    xfer_parse_opts(argc, argv, false, &o);
    xfer_open(&x);
    xfer_pipe_size(o.fd);
    if (!o.raw) {
        xfer_keys_of(&o, &k);
        for (c = 0; c < FRAME_CODEC_NR; c++)
            if (frame_codec_available((enum frame_codec)c))
                codecs |= 1u << c;
        dec = frame_dec_new(&k, codecs, o.encrypt);
        if (!dec) xfer_die("frame_dec_new failed");
    }
    fd = xfer_accept(o.addr);
    if (dec) xfer_recv_auth(&x, dec, fd);
    t0 = xfer_now();
    po = xfer_pump_opts(fd, o.fd);
    po.dec = dec;
    rc = xfer_run_pump(&x, &po, &bytes);
    t1 = xfer_now();
    if (rc) xfer_die("receiving pump failed: %s", xlmig_strerror(rc));
    if (close(o.fd)) xfer_die("close: %s", strerror(errno));
    close(fd);
    fprintf(stderr, "xfer-report recv bytes=%" PRIu64
            " start=%.6f end=%.6f\n", bytes, t0, t1);
    frame_dec_free(dec);
    xfer_close(&x);
    return 0;
}

static int xfer_keys(int argc, char **argv)
{
    char hex[FRAME_KEYS_HEX_LEN + 1];
    struct frame_keys k;

    (void)argv;
    if (argc != 1) xfer_usage();
    xfer_check(frame_keys_new(&k), "frame_keys_new");
    frame_keys_hex(&k, hex);
    printf("%s\n", hex);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
    } cmds[] = {
        { "gen-synthetic", xfer_gen_synthetic },
        { "gen-image", xfer_gen_image },
        { "produce", xfer_produce },
        { "send", xfer_send },
        { "recv", xfer_recv },
        { "consume", xfer_consume },
        { "direct-recv", xfer_direct_recv },
        { "keys", xfer_keys },
    };
    size_t i;

    if (argc < 2) xfer_usage();
    for (i = 0; i < ARRAY_SIZE(cmds); i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    xfer_usage();
    return 2;
}
