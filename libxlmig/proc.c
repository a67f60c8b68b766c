/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proc.c - process identity from /proc/PID/stat, so that a recorded
 * owner (pid and start time) can be told from a later process that
 * reuses the pid.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

#define PROC_STAT_START_FIELD 22    /* proc(5): starttime */

unsigned long long proc_start_time(pid_t pid)
{
    char path[64], buf[1024], state;
    unsigned long long start = 0;
    const char *p;
    ssize_t n;
    int fd, field;

    if (pid <= 0) return 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    /* The name may hold spaces and ')': fields follow the last ')'. */
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 1, " %c", &state) != 1 || state == 'Z' ||
        state == 'X')
        return 0;
    for (field = 2; *p && field < PROC_STAT_START_FIELD; p++)
        if (*p == ' ') field++;
    if (field != PROC_STAT_START_FIELD || sscanf(p, "%llu", &start) != 1)
        return 0;
    return start;
}

bool proc_alive(pid_t pid, unsigned long long start)
{
    return start != 0 && proc_start_time(pid) == start;
}
