/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cfgfile-priv.h - what the files of cfgfile.h share: cfgfile.c (the API
 * and small helpers), cfgfile-json.c (libxl JSON), cfgfile-xl.c (xl.cfg).
 */
#ifndef XLMIG_CFGFILE_PRIV_H
#define XLMIG_CFGFILE_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "cfgfile.h"

#define CFGFILE_DEPTH_MAX 64            /* nested objects, arrays, lists */

/* A replacement of text[off, off + len); len 0 is an insertion. */
struct cfgfile_edit {
    size_t off, len;
    char *with;                 /* allocated; NULL: no edit */
};

static inline bool cfgfile_lower(char c) { return c >= 'a' && c <= 'z'; }
static inline bool cfgfile_digit(char c) { return c >= '0' && c <= '9'; }

/* cfgfile.c */
/* An allocated cause: one line, printable ASCII ('?' for the rest). */
char *cfgfile_cause(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* s[0, n) is one of set's strings. */
bool cfgfile_in(const char *s, size_t n, const char *const *set,
                size_t nset);
/* The disk format s names (any case), as libxl spells it; or NULL. */
const char *cfgfile_format(const char *s);
/* text with the edits (at most two, not overlapping, e[1].with NULL for
 * one) made; allocated and NUL-terminated. */
char *cfgfile_splice(const char *text, size_t len, struct cfgfile_edit *e,
                     size_t *out_len_r);

/*
 * The two syntaxes (cfgfile-json.c, cfgfile-xl.c): cfgfile_disk_get()
 * and cfgfile_disk_retarget() once the input is checked (size, no NUL,
 * vdev and the new target and format valid; outputs cleared).
 */
MUST_CHECK int cfgfile_json_get(const char *text, size_t len,
                                const char *vdev, struct cfgfile_disk *d,
                                char **cause_r);
MUST_CHECK int cfgfile_json_retarget(const char *text, size_t len,
                                     const char *vdev, const char *target,
                                     const char *format, char **out_r,
                                     size_t *out_len_r, char **cause_r);
MUST_CHECK int cfgfile_xl_get(const char *text, size_t len,
                              const char *vdev, struct cfgfile_disk *d,
                              char **cause_r);
/* script (NULL: none; only without format): added to the spec unless
 * it has it; another script there is XLMIG_E_INVAL. */
MUST_CHECK int cfgfile_xl_retarget(const char *text, size_t len,
                                   const char *vdev, const char *target,
                                   const char *format, const char *script,
                                   char **out_r, size_t *out_len_r,
                                   char **cause_r);
MUST_CHECK int cfgfile_xl_info(const char *text, size_t len,
                               const char *vdev, struct cfgfile_info *inf,
                               char **cause_r);

#endif /* XLMIG_CFGFILE_PRIV_H */
