/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-help.c - "xlmig help [COMMAND]": the table is the documentation,
 * and, one item a line, what shell completion asks (completion/xlmig).
 */
#include <stdbool.h>
#include <stdio.h>

#include "cmd.h"

#define CMD_HELP_COMMANDS (CMD_OPT_LONG + 0)
#define CMD_HELP_OPTIONS (CMD_OPT_LONG + 1)

static int cmd_help_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_help_longopts[] = {
    { "commands", no_argument, NULL, CMD_HELP_COMMANDS },
    { "options", no_argument, NULL, CMD_HELP_OPTIONS },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_help_entry = {
    .name = "help",
    .usage = "[<command>] | --commands | --options <command>",
    .help = "Describe xlmig or one of its commands",
    .details =
        "For shell completion, one item a line:\n"
        "  --commands  every command name (and alias)\n"
        "  --options   every option of <command> as typed, followed by\n"
        "              \" ARG\" when it takes a value\n",
    .opts = "",
    .longopts = cmd_help_longopts,
    .min_args = 0, .max_args = 1,
    .exec = cmd_help_exec,
};

static int cmd_help_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    const struct cmd_entry *const *e, *one = NULL;
    bool commands = cmd_has(args, CMD_HELP_COMMANDS);
    bool options = cmd_has(args, CMD_HELP_OPTIONS);

    if (commands && (options || args->argc)) {
        cmd_error(c, "--commands takes no command and no other option");
        return CMD_EXIT_USAGE;
    }
    if (options && !args->argc) {
        cmd_error(c, "--options needs a command");
        return CMD_EXIT_USAGE;
    }
    if (args->argc == 1) {
        one = cmd_find(args->argv[0]);
        if (!one) {
            cmd_error(c, "no command '%s'", args->argv[0]);
            return CMD_EXIT_USAGE;
        }
    }
    if (commands) {
        for (e = cmd_table; *e; e++) {
            printf("%s\n", (*e)->name);
            if ((*e)->alias) printf("%s\n", (*e)->alias);
        }
        return CMD_EXIT_OK;
    }
    if (options) {
        cmd_options_print(stdout, one);
        return CMD_EXIT_OK;
    }
    if (one) {
        cmd_usage(stdout, one);
        return CMD_EXIT_OK;
    }
    printf("Usage: xlmig [-v...] [-T] <command> [args]\n\nCommands:\n");
    for (e = cmd_table; *e; e++)
        printf("  %-16s %s\n", (*e)->name, (*e)->help);
    return CMD_EXIT_OK;
}
