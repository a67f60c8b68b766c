/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-version.c - "xlmig version".
 */
#include <stdio.h>

#include "cmd.h"

static int cmd_version_exec(struct cmd_ctx *c, struct cmd_args *args);

const struct cmd_entry cmd_version_entry = {
    .name = "version",
    .usage = "",
    .help = "Print the xlmig version",
    .min_args = 0, .max_args = 0,
    .exec = cmd_version_exec,
};

static int cmd_version_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    (void)c;
    (void)args;
    printf("xlmig %s (libxlmig %s)\n", PACKAGE_VERSION, xlmig_version());
    return CMD_EXIT_OK;
}
