/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-pause.c - "xlmig pause DOMAIN" and "xlmig unpause DOMAIN", as xl's
 * twin commands (they share this file).
 */
#include <string.h>

#include "cmd.h"

static int cmd_pause_exec(struct cmd_ctx *c, struct cmd_args *args);

const struct cmd_entry cmd_pause_entry = {
    .name = "pause",
    .usage = "DOMAIN",
    .help = "Pause a domain (as xl pause)",
    .min_args = 1, .max_args = 1,
    .flags = CMD_MODIFIES,
    .exec = cmd_pause_exec,
};

const struct cmd_entry cmd_unpause_entry = {
    .name = "unpause",
    .usage = "DOMAIN",
    .help = "Unpause a domain (as xl unpause)",
    .min_args = 1, .max_args = 1,
    .flags = CMD_MODIFIES,
    .exec = cmd_pause_exec,
};

static int cmd_pause_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    bool pause = c->entry == &cmd_pause_entry;
    int rc;

    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_domain_pause(c->lib, args->argv[0], pause);
    if (rc) cmd_error(c, "%s: %s", args->argv[0], xlmig_strerror(rc));
    return cmd_exit_status(rc);
}
