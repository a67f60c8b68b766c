/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lab-clock.c - brings the two lab dom0s' clocks, and with them the two
 * Xen wallclocks, into agreement, so that a guest's pause measured with
 * its CLOCK_BOOTTIME across a migration is the real one.  Built -static by
 * mkimages.sh into each dom0 as /usr/lib/xlmig-lab/lab-clock.
 *
 * Why: a migrated Linux guest adds the time it was suspended to
 * CLOCK_BOOTTIME (not to CLOCK_MONOTONIC) as the difference of the Xen
 * wallclock it reads after the resume (the destination's) and before the
 * suspend (the source's), and adds nothing when that difference is
 * negative.  Each lab Xen sets its wallclock from QEMU's RTC at boot
 * (about a second apart); a dom0 that sets its clock passes it on to Xen
 * (Linux's Xen pvclock notifier, XENPF_settime64).
 *
 *   lab-clock serve             answer each line read on stdin with this
 *                               host's CLOCK_REALTIME in ns
 *   lab-clock offset HOST [N]   N (20) exchanges with `ssh HOST
 *                               /usr/lib/xlmig-lab/lab-clock serve`;
 *                               print "OFFSET_NS RTT_NS" of the one with
 *                               the shortest round trip: HOST's clock
 *                               minus ours, within RTT_NS / 2
 *   lab-clock shift NS          add NS to this host's CLOCK_REALTIME
 *                               (adjtimex ADJ_SETOFFSET, in one step)
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LAB_CLOCK_SELF "/usr/lib/xlmig-lab/lab-clock"

static int64_t lab_clock_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int lab_clock_serve(void)
{
    char line[64];

    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof(line), stdin))
        printf("%lld\n", (long long)lab_clock_now());
    return 0;
}

static int lab_clock_offset(const char *host, int n)
{
    int to[2], from[2], status, i, rc = 1;
    int64_t best_rtt = INT64_MAX, best_off = 0;
    FILE *in = NULL;
    pid_t pid;
    char line[64];

    if (pipe(to) || pipe(from)) {
        fprintf(stderr, "lab-clock: pipe: %s\n", strerror(errno));
        return 1;
    }
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "lab-clock: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[0]); close(to[1]); close(from[0]); close(from[1]);
        execlp("ssh", "ssh", "-T", host, LAB_CLOCK_SELF, "serve",
               (char *)NULL);
        fprintf(stderr, "lab-clock: exec ssh: %s\n", strerror(errno));
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    in = fdopen(from[0], "r");
    if (!in) goto out;
    for (i = 0; i < n; i++) {
        int64_t t0, t1, tb;

        t0 = lab_clock_now();
        if (write(to[1], "x\n", 2) != 2) {
            fprintf(stderr, "lab-clock: write to ssh: %s\n", strerror(errno));
            goto out;
        }
        if (!fgets(line, sizeof(line), in)) {
            fprintf(stderr, "lab-clock: no answer from %s\n", host);
            goto out;
        }
        t1 = lab_clock_now();
        tb = strtoll(line, NULL, 10);
        if (t1 - t0 < best_rtt) {
            best_rtt = t1 - t0;
            best_off = tb - t0 - (t1 - t0) / 2;
        }
    }
    printf("%lld %lld\n", (long long)best_off, (long long)best_rtt);
    rc = 0;
out:
    close(to[1]);
    if (in) fclose(in); else close(from[0]);
    if (rc) kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    return rc;
}

static int lab_clock_shift(const char *arg)
{
    struct timex tx;
    long long ns;
    char *end;

    errno = 0;
    ns = strtoll(arg, &end, 10);
    if (errno || end == arg || *end) {
        fprintf(stderr, "lab-clock: shift '%s' is not a number of ns\n", arg);
        return 2;
    }
    memset(&tx, 0, sizeof(tx));
    tx.modes = ADJ_SETOFFSET | ADJ_NANO;
    tx.time.tv_sec = ns / 1000000000LL;
    tx.time.tv_usec = ns % 1000000000LL;     /* ns, with ADJ_NANO */
    if (tx.time.tv_usec < 0) {
        tx.time.tv_sec -= 1;
        tx.time.tv_usec += 1000000000LL;
    }
    if (adjtimex(&tx) < 0) {
        fprintf(stderr, "lab-clock: adjtimex: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "serve"))
        return lab_clock_serve();
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "offset"))
        return lab_clock_offset(argv[2], argc == 4 ? atoi(argv[3]) : 20);
    if (argc == 3 && !strcmp(argv[1], "shift"))
        return lab_clock_shift(argv[2]);
    fprintf(stderr, "usage: lab-clock serve | offset HOST [N] | shift NS\n");
    return 2;
}
