/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jsonlim.c - bounds on peer JSON before parsing (jsonlim.h).
 */
#include "jsonlim.h"

bool json_depth_ok(const char *json, unsigned max)
{
    unsigned depth = 0;
    bool in_str = false;
    const char *p;

    for (p = json; *p; p++) {
        if (in_str) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_str = false;
        } else if (*p == '"') {
            in_str = true;
        } else if (*p == '{' || *p == '[') {
            if (++depth > max) return false;
        } else if ((*p == '}' || *p == ']') && depth) {
            depth--;
        }
    }
    return true;
}
