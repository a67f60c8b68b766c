/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xlmig.c - the xlmig command: global options, the logger shared with
 * libxl and libxc, and dispatch through the command table (cmd.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

static void xlmig_usage(FILE *f)
{
    const struct cmd_entry *const *e;

    fprintf(f, "Usage: xlmig [-v...] [-T] <command> [args]\n\n"
            "Managed live migration for Xen.\n\nCommands:\n");
    for (e = cmd_table; *e; e++)
        fprintf(f, "  %-16s %s\n", (*e)->name, (*e)->help);
    fprintf(f, "\nGlobal options:\n"
            "  -v   more verbose (repeat for more)\n"
            "  -T   timestamps on log lines\n"
            "\n\"xlmig help <command>\" describes a command.\n");
}

int main(int argc, char **argv)
{
    struct cmd_ctx c;
    struct cmd_args args;
    xentoollog_level level;
    char *cause = NULL;
    int i, opt, status;

    memset(&c, 0, sizeof(c));
    while ((opt = getopt(argc, argv, "+vTh")) != -1) {
        switch (opt) {
        case 'v':
            c.verbose++;
            break;
        case 'T':
            c.timestamps = true;
            break;
        case 'h':
            xlmig_usage(stdout);
            return CMD_EXIT_OK;
        default:
            xlmig_usage(stderr);
            return CMD_EXIT_USAGE;
        }
    }
    i = optind;
    if (i == argc) {
        xlmig_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    c.entry = cmd_find(argv[i]);
    if (!c.entry) {
        fprintf(stderr, "xlmig: unknown command '%s' (see xlmig help)\n",
                argv[i]);
        return CMD_EXIT_USAGE;
    }
    if (cmd_parse(c.entry, argc - i, argv + i, &args, &cause)) {
        cmd_error(&c, "%s", cause);
        free(cause);
        return CMD_EXIT_USAGE;
    }
    if (cmd_has(&args, 'h')) {
        cmd_usage(stdout, c.entry);
        return CMD_EXIT_OK;
    }
    if ((c.entry->flags & CMD_MODIFIES) && geteuid() != 0) {
        cmd_error(&c, "must be run as root");
        return CMD_EXIT_FAILED;
    }
    /* As xl: progress and above by default, -v for more detail. */
    level = XTL_PROGRESS - c.verbose;
    if (level < XTL_DEBUG) level = XTL_DEBUG;
    c.logger = xtl_createlogger_stdiostream(stderr, level,
        c.timestamps ? XTL_STDIOSTREAM_SHOW_DATE : 0);
    if (!c.logger) return CMD_EXIT_FAILED;
    status = c.entry->exec(&c, &args);
    xlmig_ctx_free(c.lib);
    xtl_logger_destroy((xentoollog_logger *)c.logger);
    return status;
}
