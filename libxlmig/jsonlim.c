/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * jsonlim.c - strict, bounded JSON parsing (jsonlim.h). A first pass runs
 * yajl's callback parser, comments off, counting depth and refusing NUL
 * in strings; only text that passes is given to yajl_tree_parse(), which
 * then sees exactly the same tokens.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "internal.h"
#include "jsonlim.h"

struct jsonlim_scan {
    unsigned depth, max_depth;
    bool too_deep, nul;
};

static int jsonlim_open(void *arg)
{
    struct jsonlim_scan *s = arg;

    if (++s->depth > s->max_depth) {
        s->too_deep = true;
        return 0;
    }
    return 1;
}

static int jsonlim_close(void *arg)
{
    struct jsonlim_scan *s = arg;

    s->depth--;
    return 1;
}

static int jsonlim_string(void *arg, const unsigned char *str, size_t len)
{
    struct jsonlim_scan *s = arg;

    if (memchr(str, 0, len)) {
        s->nul = true;
        return 0;
    }
    return 1;
}

/* Numbers are taken as text: no conversion, no overflow to report. */
static int jsonlim_number(void *arg, const char *num, size_t len)
{
    (void)arg;
    (void)num;
    (void)len;
    return 1;
}

static const yajl_callbacks jsonlim_callbacks = {
    .yajl_number = jsonlim_number,
    .yajl_string = jsonlim_string,
    .yajl_start_map = jsonlim_open,
    .yajl_map_key = jsonlim_string,
    .yajl_end_map = jsonlim_close,
    .yajl_start_array = jsonlim_open,
    .yajl_end_array = jsonlim_close,
};

/* The first pass; NULL if the text may be given to yajl_tree_parse(). */
static char *jsonlim_scan(const char *text, size_t len, unsigned max_depth)
{
    struct jsonlim_scan s = { .max_depth = max_depth };
    unsigned char *err;
    yajl_status st;
    yajl_handle h;
    char *why = NULL;
    size_t at;

    h = yajl_alloc(&jsonlim_callbacks, NULL, &s);
    if (!h) abort();
    yajl_config(h, yajl_allow_comments, 0);
    st = yajl_parse(h, (const unsigned char *)text, len);
    if (st == yajl_status_ok) st = yajl_complete_parse(h);
    if (st == yajl_status_ok) goto out;
    at = yajl_get_bytes_consumed(h);
    if (s.too_deep) {
        why = xasprintf("nested deeper than %u (at byte %zu)", max_depth, at);
    } else if (s.nul) {
        why = xasprintf("a string holds \\u0000 (at byte %zu)", at);
    } else {
        err = yajl_get_error(h, 0, (const unsigned char *)text, len);
        why = xasprintf("not JSON: %.*s (at byte %zu)",
                        err ? (int)strcspn((char *)err, "\r\n") : 0,
                        err ? (char *)err : "", at);
        yajl_free_error(h, err);
    }
out:
    yajl_free(h);
    return why;
}

yajl_val jsonlim_parse(const char *text, size_t max_len, unsigned max_depth,
                       char **why_r)
{
    size_t len = strnlen(text, max_len + 1);
    char err[128] = "";
    yajl_val root;

    *why_r = NULL;
    if (len > max_len) {
        *why_r = xasprintf("over %zu bytes", max_len);
        return NULL;
    }
    *why_r = jsonlim_scan(text, len, max_depth);
    if (*why_r) return NULL;
    root = yajl_tree_parse(text, err, sizeof(err));
    if (!root) {
        /* The first pass accepted it: yajl disagrees with itself. */
        *why_r = xasprintf("not JSON: %.*s", (int)strcspn(err, "\r\n"),
                           err);
    }
    return root;
}
