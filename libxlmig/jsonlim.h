/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jsonlim.h - a check to run on peer JSON before yajl sees it: yajl
 * builds its tree without recursion but frees it recursively, so a body
 * of a few MB of "[" would exhaust the stack. Pure.
 */
#ifndef XLMIG_JSONLIM_H
#define XLMIG_JSONLIM_H

#include <stdbool.h>

/* Whether no object or array in json is nested deeper than max. */
bool json_depth_ok(const char *json, unsigned max);

#endif /* XLMIG_JSONLIM_H */
