/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rate.c - bandwidths as people write them: "100M" (bytes per second,
 * decimal prefixes K, M, G), "800Mbit" (bits per second), "0" (no limit).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define RATE_MAX (1ULL << 40)       /* 1 TB/s: anything above is a typo */

int xlmig_parse_rate(const char *s, uint64_t *rate_r)
{
    static const struct {
        const char *suffix;
        uint64_t mul, div;
    } units[] = {
        { "", 1, 1 }, { "B", 1, 1 },
        { "K", 1000, 1 }, { "KB", 1000, 1 }, { "Kbit", 1000, 8 },
        { "M", 1000000, 1 }, { "MB", 1000000, 1 }, { "Mbit", 1000000, 8 },
        { "G", 1000000000, 1 }, { "GB", 1000000000, 1 },
        { "Gbit", 1000000000, 8 }, { "bit", 1, 8 },
    };
    unsigned long long n;
    char *end;
    size_t i;

    *rate_r = 0;
    if (!s || !isdigit((unsigned char)s[0])) return XLMIG_E_INVAL;
    errno = 0;
    n = strtoull(s, &end, 10);
    if (errno || n > RATE_MAX) return XLMIG_E_INVAL;
    for (i = 0; i < ARRAY_SIZE(units); i++) {
        if (strcasecmp(end, units[i].suffix)) continue;
        if (n > RATE_MAX / units[i].mul) return XLMIG_E_INVAL;
        *rate_r = n * units[i].mul / units[i].div;
        /* A non-zero rate that rounds to nothing is not "no limit". */
        if (n && !*rate_r) *rate_r = 1;
        return XLMIG_OK;
    }
    return XLMIG_E_INVAL;
}
