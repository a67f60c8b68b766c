/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-destroy.c - "xlmig destroy DOMAIN", as "xl destroy".
 */
#include "cmd.h"

static int cmd_destroy_exec(struct cmd_ctx *c, struct cmd_args *args);

const struct cmd_entry cmd_destroy_entry = {
    .name = "destroy",
    .usage = "DOMAIN",
    .help = "Terminate a domain immediately (as xl destroy)",
    .min_args = 1, .max_args = 1,
    .flags = CMD_MODIFIES,
    .exec = cmd_destroy_exec,
};

static int cmd_destroy_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    int rc;

    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_domain_destroy(c->lib, args->argv[0]);
    if (rc) cmd_error(c, "%s: %s", args->argv[0], xlmig_strerror(rc));
    return cmd_exit_status(rc);
}
