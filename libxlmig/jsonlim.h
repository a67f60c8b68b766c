/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jsonlim.h - the one way xlmig parses JSON it did not write itself (peer
 * messages, domain configs, journals, images): strict JSON, bounded size
 * and depth, checked by a first pass over yajl's callback parser before
 * yajl builds a tree. yajl builds its tree without recursion but frees it
 * recursively, and yajl_tree_parse() accepts comments, so a depth count
 * over the raw text can be fooled (a comment may hide a quote) and a few
 * MB of "[" exhaust the stack. Pure: no I/O, no context; fuzzed.
 */
#ifndef XLMIG_JSONLIM_H
#define XLMIG_JSONLIM_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

/*
 * Parses text into a yajl tree (free it with yajl_tree_free()). The text
 * must be one JSON value and nothing else: no comments, valid UTF-8 in
 * strings, no "\u0000" in a string or key (C strings would be cut short
 * silently), at most max_len bytes, objects and arrays nested at most
 * max_depth deep. On failure returns NULL and *why_r (allocated, one
 * line, printable) says what is wrong; on success *why_r is NULL.
 */
yajl_val jsonlim_parse(const char *text, size_t max_len, unsigned max_depth,
                       char **why_r);

#endif /* XLMIG_JSONLIM_H */
