/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-sim-host.c - "xlmig sim-host-create DIR" and "xlmig sim-host-destroy
 * DIR": make a simulated host (a directory and its own xenstored) and take
 * it down again (its guests killed, its domains removed, xenstored
 * stopped). The twin commands share this file.
 */
#include "cmd.h"

static int cmd_sim_host_create_exec(struct cmd_ctx *c,
                                    struct cmd_args *args);
static int cmd_sim_host_destroy_exec(struct cmd_ctx *c,
                                     struct cmd_args *args);

const struct cmd_entry cmd_sim_host_create_entry = {
    .name = "sim-host-create",
    .usage = "DIR",
    .help = "Make a simulated host in DIR and start its xenstored",
    .details =
        "Then select it with XLMIG_BACKEND=sim XLMIG_SIM_HOST=DIR.\n",
    .min_args = 1, .max_args = 1,
    .exec = cmd_sim_host_create_exec,
};

const struct cmd_entry cmd_sim_host_destroy_entry = {
    .name = "sim-host-destroy",
    .usage = "DIR",
    .help = "Kill a simulated host's guests, remove its domains, stop it",
    .min_args = 1, .max_args = 1,
    .exec = cmd_sim_host_destroy_exec,
};

static int cmd_sim_host_create_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    int rc;

    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_sim_host_create(c->lib, args->argv[0]);
    if (rc) cmd_error(c, "%s: %s", args->argv[0], xlmig_strerror(rc));
    return cmd_exit_status(rc);
}

static int cmd_sim_host_destroy_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    int rc;

    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_sim_host_destroy(c->lib, args->argv[0]);
    if (rc) cmd_error(c, "%s: %s", args->argv[0], xlmig_strerror(rc));
    return cmd_exit_status(rc);
}
