/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-sim-shutdown.c - "xlmig sim-shutdown DOMAIN poweroff|reboot|crash":
 * a sim guest shuts itself down, as a real guest would, for tests of
 * what comes after (monitors, recover).
 */
#include "cmd.h"

static int cmd_sim_shutdown_exec(struct cmd_ctx *c, struct cmd_args *args);

const struct cmd_entry cmd_sim_shutdown_entry = {
    .name = "sim-shutdown",
    .usage = "DOMAIN poweroff|reboot|crash",
    .help = "Make a sim domain's guest shut itself down",
    .min_args = 2, .max_args = 2,
    .flags = CMD_MODIFIES,
    .exec = cmd_sim_shutdown_exec,
};

static int cmd_sim_shutdown_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    int rc;

    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_sim_domain_shutdown(c->lib, args->argv[0], args->argv[1]);
    if (rc) cmd_error(c, "%s: %s", args->argv[0], xlmig_strerror(rc));
    return cmd_exit_status(rc);
}
