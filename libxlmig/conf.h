/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * conf.h - xlmig's configuration file (see conf.c).
 */
#ifndef XLMIG_CONF_H
#define XLMIG_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "internal.h"

#define CONF_PATH_DEFAULT "/etc/xen/xlmig.conf"

/* $XLMIG_CONF if set, else CONF_PATH_DEFAULT. */
const char *conf_path(void);
/* limit_KIND from the file, or dflt if absent or out of 0..max (logged). */
unsigned conf_limit(struct xlmig_ctx *ctx, const char *kind, unsigned dflt,
                    unsigned max);

/*
 * The file, parsed, for settings that must not fall back to a default
 * when the file is broken (the incoming policy fails closed). A missing
 * file is an empty one. A file that cannot be read or parsed is
 * XLMIG_E_INVAL with *cause_r ("PATH: LINE: what", allocated).
 */
struct conf;
MUST_CHECK int conf_open(struct xlmig_ctx *ctx, struct conf **c_r,
                         char **cause_r);
void conf_close(struct conf *c);        /* NULL is fine */
/*
 * A list of strings (key = [ "a", "b" ]). *found_r false and nothing
 * else set if the key is absent; XLMIG_E_INVAL and *cause_r if it is
 * not a list of strings. The caller frees each string and the array.
 */
MUST_CHECK int conf_strings(const struct conf *c, const char *key,
                            bool *found_r, char ***list_r, size_t *n_r,
                            char **cause_r);
/* A string (key = "v"), allocated; *found_r false if the key is absent. */
MUST_CHECK int conf_string(const struct conf *c, const char *key,
                           bool *found_r, char **v_r, char **cause_r);
/* An integer in min..max; *v_r untouched if the key is absent. */
MUST_CHECK int conf_long(const struct conf *c, const char *key, long min,
                         long max, long *v_r, char **cause_r);
/*
 * Where key is set, for a message: "PATH:LINE" (allocated), or "PATH" if
 * the key is absent or there is no file.
 */
char *conf_where(const struct conf *c, const char *key);

#endif /* XLMIG_CONF_H */
