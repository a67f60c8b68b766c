/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xmalloc.c - allocation that aborts on out-of-memory, so no caller carries
 * an untested OOM path (tmux xmalloc.c; libxl does the same).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void __attribute__((noreturn)) xmalloc_oom(size_t size)
{
    fprintf(stderr, "libxlmig: out of memory allocating %zu bytes\n", size);
    abort();
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p) xmalloc_oom(size);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (!p) xmalloc_oom(nmemb * size);
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (!p) xmalloc_oom(size);
    return p;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s);

    if (!p) xmalloc_oom(strlen(s) + 1);
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int r;

    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) xmalloc_oom(strlen(fmt));
    return s;
}
