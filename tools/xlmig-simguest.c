/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xlmig-simguest - the "guest" of a sim domain: a process that writes into
 * the domain's memory image at the rate and over the working set that the
 * image's header page asks for, and sets a bit in the dirty map after each
 * page it writes (see libxlmig/sim-image.h). The sim backend starts it
 * when the domain is unpaused or resumed, stops it with SIGSTOP/SIGCONT for
 * pause/unpause, and asks it to shut down through the header's request
 * field and SIGUSR1 (SIGTERM means power off).
 *
 *   xlmig-simguest [--resume] IMAGE DIRTYMAP SCHED
 *
 * SCHED holds the domain's scheduler cap (struct sim_sched): a capped
 * guest writes its share of the rate, as a capped vCPU runs its share of
 * the time.
 *
 * Exit status: 0 after a requested shutdown (the reason is in the header),
 * 1 if the image is unusable.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sim-image.h"

#define TICK_NS 10000000L       /* 100 ticks a second */
#define TICKS_PER_S 100

static volatile sig_atomic_t got_request;
static volatile sig_atomic_t got_term;

static void on_signal(int sig)
{
    if (sig == SIGUSR1) got_request = 1;
    else got_term = 1;
}

static void die(const char *what, const char *path)
{
    fprintf(stderr, "xlmig-simguest: %s: %s: %s\n", path, what,
            strerror(errno));
    exit(1);
}

/* Maps a whole file read-write and shared. */
static void *map_file(const char *path, uint64_t *size_r)
{
    struct stat st;
    void *p;
    int fd;

    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) die("open", path);
    if (fstat(fd, &st) < 0) die("fstat", path);
    if (st.st_size <= 0) {
        errno = EINVAL;
        die("empty file", path);
    }
    p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
             fd, 0);
    if (p == MAP_FAILED) die("mmap", path);
    close(fd);
    *size_r = (uint64_t)st.st_size;
    return p;
}

static uint64_t next_random(struct sim_hdr *h)
{
    uint64_t x = h->seed ? h->seed : 0x9e3779b97f4a7c15ULL;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    h->seed = x;
    return x;
}

/* The page the next write goes to, in 1..wss_pages. */
static uint64_t pick_page(struct sim_hdr *h)
{
    uint64_t wss = h->wss_pages, r = next_random(h), hot;

    switch (h->shape) {
    case SIM_SHAPE_HOT:
        hot = wss / 5 ? wss / 5 : 1;
        if (r % 10 < 8) return 1 + (r >> 8) % hot;
        return 1 + (r >> 8) % wss;
    case SIM_SHAPE_SWEEP:
        return 1 + h->writes % wss;
    default:
        return 1 + (r >> 8) % wss;
    }
}

static void mark_dirty(uint64_t *map, uint64_t pfn)
{
    __atomic_fetch_or(&map[pfn / 64], 1ULL << (pfn % 64), __ATOMIC_RELEASE);
}

static void write_page(uint8_t *mem, uint64_t *map, struct sim_hdr *h,
                       uint64_t pfn)
{
    uint64_t stamp[2] = { pfn, h->counter };
    size_t off = (size_t)(h->writes % (SIM_PAGE_SIZE / sizeof(stamp))) *
                 sizeof(stamp);

    memcpy(mem + pfn * SIM_PAGE_SIZE + off, stamp, sizeof(stamp));
    h->writes++;
    mark_dirty(map, pfn);
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    struct timespec next, now;
    struct sim_hdr *h;
    const volatile struct sim_sched *sched;
    uint64_t *map, size, map_size, sched_size, credit = 0, n, share;
    uint8_t *mem;
    bool resume = false;
    int a = 1;

    if (argc > 1 && !strcmp(argv[1], "--resume")) {
        resume = true;
        a++;
    }
    if (argc - a != 3) {
        fprintf(stderr, "usage: xlmig-simguest [--resume] IMAGE DIRTYMAP "
                "SCHED\n");
        return 1;
    }
    mem = map_file(argv[a], &size);
    map = map_file(argv[a + 1], &map_size);
    sched = map_file(argv[a + 2], &sched_size);
    if (sched_size < sizeof(*sched)) {
        errno = EINVAL;
        die("not a scheduler file", argv[a + 2]);
    }
    h = (struct sim_hdr *)mem;
    if (memcmp(h->magic, SIM_MAGIC, sizeof(h->magic)) ||
        h->version != SIM_IMAGE_VERSION ||
        h->pages * SIM_PAGE_SIZE != size || h->pages < 2 ||
        h->wss_pages < 1 || h->wss_pages >= h->pages ||
        map_size < sim_dirty_map_bytes(h->pages)) {
        errno = EINVAL;
        die("not a sim memory image of this size", argv[a]);
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
        die("sigaction", argv[a]);

    if (resume) h->resumes++;
    else h->boots++;
    h->request = SIM_REASON_NONE;
    h->shutdown_reason = SIM_REASON_NONE;
    mark_dirty(map, 0);

    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        if (got_term) {
            h->shutdown_reason = SIM_REASON_POWEROFF;
            break;
        }
        if (got_request) {
            got_request = 0;
            if (h->request != SIM_REASON_NONE) {
                h->shutdown_reason = h->request;
                break;
            }
        }
        h->counter++;
        /* Per cent of the full rate the cap leaves it. */
        share = 100;
        if (sched->cap && sched->vcpus &&
            sched->cap < 100 * (uint64_t)sched->vcpus)
            share = sched->cap / sched->vcpus ? sched->cap / sched->vcpus : 1;
        credit += h->rate * share;
        for (n = credit / (TICKS_PER_S * 100); n > 0; n--)
            write_page(mem, map, h, pick_page(h));
        credit %= TICKS_PER_S * 100;
        mark_dirty(map, 0);

        next.tv_nsec += TICK_NS;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        /* After a pause (SIGSTOP) go on from now: no burst of ticks. */
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > next.tv_sec + 1) next = now;
        /* A signal cuts the sleep short; the loop looks at it at once. */
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    mark_dirty(map, 0);
    return 0;
}
