/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * job-downtime.c - the fixed part of a migration's downtime, measured per
 * destination: what a measured downtime (suspend here to unpause there)
 * held beyond sending the final round (the suspend, the last records, the
 * receiver's restore and unpause). The next migration to that host
 * predicts with it (precopy.h fixed_ms). Kept in this host's xenstore
 * (coord_measured_*, "downtime-HOST", milliseconds) until it reboots; a
 * value that is not a number in range is ignored (the default applies)
 * and replaced by the next measurement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"

#define JOB_FIXED_MS_MIN 1u
#define JOB_FIXED_MS_MAX 10000u

unsigned job_fixed_ms(struct job *job, const char *host)
{
    char *key = xasprintf("downtime-%s", host), *v = NULL, *end;
    unsigned long n;
    unsigned ms = PRECOPY_FIXED_MS_DEFAULT;

    if (job->coord && !coord_measured_get(job->coord, key, &v)) {
        n = strtoul(v, &end, 10);
        if (end != v && !*end && v[0] != '-' && n >= JOB_FIXED_MS_MIN &&
            n <= JOB_FIXED_MS_MAX)
            ms = (unsigned)n;
        else
            LOG(job->ctx, WARN, "the fixed downtime measured to %s is not "
                "a number of milliseconds in %u..%u: ignored", host,
                JOB_FIXED_MS_MIN, JOB_FIXED_MS_MAX);
    }
    free(v);
    free(key);
    return ms;
}

void job_fixed_measured(struct job *job, const char *host, double downtime_s,
                        uint64_t final_bytes, double rate)
{
    char *key = xasprintf("downtime-%s", host), v[24];
    double fixed_ms = downtime_s * 1e3;

    if (rate > 0) fixed_ms -= (double)final_bytes / rate * 1e3;
    if (fixed_ms < JOB_FIXED_MS_MIN) fixed_ms = JOB_FIXED_MS_MIN;
    if (fixed_ms > JOB_FIXED_MS_MAX) fixed_ms = JOB_FIXED_MS_MAX;
    snprintf(v, sizeof(v), "%.0f", fixed_ms);
    if (!job->coord || coord_measured_set(job->coord, key, v))
        LOG(job->ctx, WARN, "the fixed part of the downtime to %s (%s ms) "
            "is not kept for next time", host, v);
    else
        LOG(job->ctx, DETAIL, "fixed part of the downtime to %s: %s ms",
            host, v);
    free(key);
}
