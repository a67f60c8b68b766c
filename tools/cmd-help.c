/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-help.c - "xlmig help [COMMAND]": the table is the documentation.
 */
#include <stdio.h>

#include "cmd.h"

static int cmd_help_exec(struct cmd_ctx *c, struct cmd_args *args);

const struct cmd_entry cmd_help_entry = {
    .name = "help",
    .usage = "[<command>]",
    .help = "Describe xlmig or one of its commands",
    .min_args = 0, .max_args = 1,
    .exec = cmd_help_exec,
};

static int cmd_help_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    const struct cmd_entry *const *e, *one;

    if (args->argc == 1) {
        one = cmd_find(args->argv[0]);
        if (!one) {
            cmd_error(c, "no command '%s'", args->argv[0]);
            return CMD_EXIT_USAGE;
        }
        cmd_usage(stdout, one);
        return CMD_EXIT_OK;
    }
    printf("Usage: xlmig [-v...] [-T] <command> [args]\n\nCommands:\n");
    for (e = cmd_table; *e; e++)
        printf("  %-16s %s\n", (*e)->name, (*e)->help);
    return CMD_EXIT_OK;
}
