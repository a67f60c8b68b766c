/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proc.h - facts about processes from /proc: whether a pid still names
 * the process it named when it was recorded (a pid plus its start time
 * identifies a process for as long as the host is up).
 */
#ifndef XLMIG_PROC_H
#define XLMIG_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * Start time of pid in clock ticks since boot (field 22 of
 * /proc/PID/stat); 0 if there is no such process or it is a zombie.
 */
unsigned long long proc_start_time(pid_t pid);

/* true if pid runs and started at start (a value of proc_start_time). */
bool proc_alive(pid_t pid, unsigned long long start);

#endif /* XLMIG_PROC_H */
