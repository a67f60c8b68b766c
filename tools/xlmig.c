/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xlmig.c - the xlmig command: global options, the logger shared with
 * libxl and libxc, and dispatch through the command table (cmd.c); what
 * xlmig does not run goes to the real xl (xl-pass.c). Invoked as "xl",
 * it runs only xl's commands it implements (CMD_XL).
 */
#include <stdbool.h>
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
            "\nAny other command goes to xl, with the same arguments.\n"
            "\"xlmig help <command>\" describes a command.\n");
}

int main(int argc, char **argv)
{
    struct cmd_ctx c;
    struct cmd_args args;
    xentoollog_level level;
    char *cause = NULL;
    const char *cmd;
    bool as_xl = xl_pass_invoked_as_xl(argv[0]);
    bool xl_only = false;       /* a global option only xl has */
    int i, opt, status;

    memset(&c, 0, sizeof(c));
    c.argv = argv;
    /* As xl's: "+vftTN" (its -h is an error, ours is help). */
    opterr = !as_xl;
    while ((opt = getopt(argc, argv, "+vTtfNh")) != -1) {
        switch (opt) {
        case 'v':
            c.verbose++;
            break;
        case 'T':
            c.timestamps = true;
            break;
        case 't':
            /* xl: progress overwritten with \r, as ours is. A sender
             * xl adds it on a terminal: accepted, so who receives does
             * not depend on that. */
            break;
        case 'f':
        case 'N':
            xl_only = true;
            break;
        case 'h':
            if (as_xl) {
                xl_only = true;
                break;
            }
            xlmig_usage(stdout);
            return CMD_EXIT_OK;
        default:
            if (as_xl) {
                xl_only = true;
                break;
            }
            xlmig_usage(stderr);
            return CMD_EXIT_USAGE;
        }
    }
    i = optind;
    cmd = i < argc ? argv[i] : NULL;
    c.entry = cmd ? cmd_find(cmd) : NULL;
    /* Invoked as xl: only xl's own commands that xlmig implements. */
    if (as_xl && (xl_only || !c.entry || !(c.entry->flags & CMD_XL)))
        return xl_pass_exec(argv, cmd);
    if (!cmd) {
        xlmig_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    if (!c.entry) return xl_pass_exec(argv, cmd);
    if (xl_only) {
        cmd_error(&c, "-f and -N are xl's options (run xl)");
        return CMD_EXIT_USAGE;
    }
    if (cmd_parse(c.entry, argc - i, argv + i, &args, &cause)) {
        /* xl reports its own command line as xl does. */
        if (as_xl) {
            free(cause);
            return xl_pass_exec(argv, cmd);
        }
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
