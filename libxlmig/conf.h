/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * conf.h - xlmig's configuration file (see conf.c).
 */
#ifndef XLMIG_CONF_H
#define XLMIG_CONF_H

#include "internal.h"

#define CONF_PATH_DEFAULT "/etc/xen/xlmig.conf"

/* $XLMIG_CONF if set, else CONF_PATH_DEFAULT. */
const char *conf_path(void);
/* limit_KIND from the file, or dflt if absent or out of 0..max (logged). */
unsigned conf_limit(struct xlmig_ctx *ctx, const char *kind, unsigned dflt,
                    unsigned max);

#endif /* XLMIG_CONF_H */
