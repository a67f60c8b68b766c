/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dirtier.c - the lab guest's memory dirtier and downtime probe (domu/init
 * starts it when the kernel command line has xlmig_dirty=MIB_PER_S).
 * Built -static by mkimages.sh into the guest's initramfs as /bin/dirtier.
 *
 * Usage: dirtier MIB_PER_S WSS_MIB [GAP_MS [CPU_PCT]]
 *
 * Every STEP_MS (10 ms) it writes one word into as many 4 KiB pages of its
 * WSS_MIB working set as keep it at MIB_PER_S MiB per second (a page
 * written is a page dirty for Xen's log-dirty, whatever the bytes), going
 * round the working set in order.  The working set is filled with
 * pseudo-random bytes first, so a dirty page does not compress.  With
 * CPU_PCT > 0 each page also costs a fixed amount of computation,
 * calibrated at start so that the asked rate takes about CPU_PCT % of a
 * vCPU: like a real workload, it then dirties less when it gets less CPU
 * (a scheduler cap, xlmig's throttle); with 0 (the default) it uses
 * almost no CPU and a cap does not slow it.
 *
 * Between two steps it reads CLOCK_MONOTONIC and CLOCK_BOOTTIME: Linux
 * stops CLOCK_MONOTONIC while the guest is suspended for the last copy of
 * a migration (the Xen suspend runs timekeeping's syscore suspend) and
 * adds the time asleep, read from the Xen wallclock, to CLOCK_BOOTTIME, so
 * BOOTTIME carries the downtime and MONOTONIC only the guest-side freeze
 * and thaw around it (the wallclock is the destination's after the resume
 * and the source's before: dom0/lab-clock makes the two hosts' agree,
 * lab.sh lab_sync_clocks).
 * Lines it prints on stdout (the console, hvc0):
 *   xlmig-dirty-start rate=R wss=W gap=G cpu=C spin=S pages=P clocksource=X
 *   xlmig-gap MS counter=N mono=M boot=B
 *       a gap of MS ms (the larger of the two clocks' gaps, M and B)
 *       before step N, printed when either is at least GAP_MS (50)
 *   xlmig-dirty counter=N maxgap=MS dirtied=MIB
 *       about once a second: the step count, the largest gap between two
 *       steps since the last such line (the baseline: scheduling under
 *       TCG), MiB dirtied so far
 * The step count N lives in guest memory, so it goes on across a
 * migration: dom0/lab-gap finds the largest gap after a given N.
 * After a gap, the pages owed for it are not made up (at most 100 ms of
 * them), so the rate stays what was asked for.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define DIRTIER_PAGE 4096UL
#define DIRTIER_STEP_NS 10000000LL          /* 10 ms between steps */
#define DIRTIER_REPORT_NS 1000000000LL      /* a status line a second */
#define DIRTIER_CATCHUP_NS 100000000LL      /* owed pages made up at most */
#define DIRTIER_CALIB_NS 20000000LL         /* one calibration window */
#define DIRTIER_CALIB_WINDOWS 10
#define DIRTIER_RATE_MAX 4096               /* MiB/s */
#define DIRTIER_WSS_MAX 1024                /* MiB */

static volatile uint64_t dirtier_sink;

static int64_t dirtier_now(clockid_t clk)
{
    struct timespec ts;

    if (clock_gettime(clk, &ts)) {
        fprintf(stderr, "dirtier: clock_gettime: %s\n", strerror(errno));
        exit(1);
    }
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The work a dirtied page costs with CPU_PCT > 0: N rounds of a loop the
 * compiler cannot drop. */
static void dirtier_spin(uint64_t n)
{
    uint64_t i, x = dirtier_sink;

    for (i = 0; i < n; i++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    dirtier_sink = x;
}

/* Rounds of dirtier_spin a second of CPU: the best of a few short windows
 * (the least disturbed by dom0 or the rest of the guest). */
static uint64_t dirtier_calibrate(void)
{
    uint64_t best = 0, n;
    int w;

    for (w = 0; w < DIRTIER_CALIB_WINDOWS; w++) {
        int64_t t0 = dirtier_now(CLOCK_MONOTONIC), t;

        n = 0;
        do {
            dirtier_spin(1000);
            n += 1000;
            t = dirtier_now(CLOCK_MONOTONIC);
        } while (t - t0 < DIRTIER_CALIB_NS);
        n = (uint64_t)((double)n * 1e9 / (double)(t - t0));
        if (n > best) best = n;
    }
    return best;
}

/* The kernel's clocksource (xen or tsc), "?" if unknown. */
static const char *dirtier_clocksource(char *buf, size_t size)
{
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/"
                    "current_clocksource", "r");
    size_t n;

    if (!f) return "?";
    n = fread(buf, 1, size - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) n--;
    buf[n] = 0;
    return n ? buf : "?";
}

static long dirtier_arg(const char *s, const char *what, long max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > max) {
        fprintf(stderr, "dirtier: %s '%s' is not a number 0..%ld\n",
                what, s, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    long rate, wss, gap_ms, cpu;
    size_t npages, next = 0;
    volatile uint64_t *mem;
    uint64_t counter = 0, dirtied = 0, spin = 0;
    int64_t prev_mono, prev_boot, last_report, deadline;
    int64_t win_max = 0;
    double pages_per_ns, cap, credit = 0;
    struct timespec ts;
    char cs[32];

    if (argc < 3 || argc > 5) {
        fprintf(stderr,
                "usage: dirtier MIB_PER_S WSS_MIB [GAP_MS [CPU_PCT]]\n");
        return 2;
    }
    rate = dirtier_arg(argv[1], "rate", DIRTIER_RATE_MAX);
    wss = dirtier_arg(argv[2], "working set", DIRTIER_WSS_MAX);
    gap_ms = argc > 3 ? dirtier_arg(argv[3], "gap", 60000) : 50;
    cpu = argc > 4 ? dirtier_arg(argv[4], "cpu share", 100) : 0;
    if (wss < 1) wss = 1;
    npages = (size_t)wss * (1048576UL / DIRTIER_PAGE);
    mem = mmap(NULL, npages * DIRTIER_PAGE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (mem == MAP_FAILED) {
        fprintf(stderr, "dirtier: cannot map %ld MiB: %s\n", wss,
                strerror(errno));
        return 1;
    }
    /* Incompressible content, so that a dirty page costs the link its
     * 4 KiB whatever the codec (a page with one word set would not). */
    {
        uint64_t x = 0x9e3779b97f4a7c15ULL;
        size_t i, n = npages * (DIRTIER_PAGE / sizeof(*mem));

        for (i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            mem[i] = x;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    pages_per_ns = (double)rate * (1048576.0 / DIRTIER_PAGE) / 1e9;
    if (cpu > 0 && rate > 0)
        spin = (uint64_t)((double)dirtier_calibrate() * (double)cpu / 100.0 /
                          (pages_per_ns * 1e9));
    printf("xlmig-dirty-start rate=%ld wss=%ld gap=%ld cpu=%ld spin=%llu "
           "pages=%zu clocksource=%s\n", rate, wss, gap_ms, cpu,
           (unsigned long long)spin, npages,
           dirtier_clocksource(cs, sizeof(cs)));

    cap = (double)DIRTIER_CATCHUP_NS * pages_per_ns;
    prev_mono = last_report = deadline = dirtier_now(CLOCK_MONOTONIC);
    prev_boot = dirtier_now(CLOCK_BOOTTIME);
    for (;;) {
        int64_t mono = dirtier_now(CLOCK_MONOTONIC);
        int64_t boot = dirtier_now(CLOCK_BOOTTIME);
        int64_t g_mono = mono - prev_mono, g_boot = boot - prev_boot;
        int64_t gap = g_boot > g_mono ? g_boot : g_mono;

        counter++;
        if (gap > win_max) win_max = gap;
        if (gap >= gap_ms * 1000000LL)
            printf("xlmig-gap %lld counter=%llu mono=%lld boot=%lld\n",
                   (long long)(gap / 1000000), (unsigned long long)counter,
                   (long long)(g_mono / 1000000),
                   (long long)(g_boot / 1000000));
        prev_mono = mono;
        prev_boot = boot;

        /* The pages due for the time since the last step, at most
         * DIRTIER_CATCHUP_NS of them. */
        credit += (double)g_mono * pages_per_ns;
        if (credit > cap) credit = cap;
        while (credit >= 1.0) {
            mem[next * (DIRTIER_PAGE / sizeof(*mem))] = counter;
            next = next + 1 < npages ? next + 1 : 0;
            dirtied++;
            credit -= 1.0;
            if (spin) dirtier_spin(spin);
        }

        if (mono - last_report >= DIRTIER_REPORT_NS) {
            printf("xlmig-dirty counter=%llu maxgap=%lld dirtied=%llu\n",
                   (unsigned long long)counter,
                   (long long)(win_max / 1000000),
                   (unsigned long long)(dirtied * DIRTIER_PAGE / 1048576));
            win_max = 0;
            last_report = mono;
        }

        deadline += DIRTIER_STEP_NS;
        if (deadline < mono) deadline = mono + DIRTIER_STEP_NS;
        ts.tv_sec = deadline / 1000000000LL;
        ts.tv_nsec = deadline % 1000000000LL;
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
               EINTR)
            ;
    }
}
