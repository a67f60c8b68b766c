/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-set-limit.c - "xlmig set-limit out|in|storage N": how many outgoing,
 * incoming or storage operations this host runs at once (default 2 each).
 */
#include <stdlib.h>

#include "cmd.h"

static int cmd_set_limit_exec(struct cmd_ctx *c, struct cmd_args *args);

const struct cmd_entry cmd_set_limit_entry = {
    .name = "set-limit",
    .usage = "out|in|storage N",
    .help = "Set how many migrations of a kind this host runs at once",
    .details = "N is 0..64; 0 admits none (jobs queue). Default 2 each.\n",
    .min_args = 2, .max_args = 2,
    .flags = CMD_MODIFIES,
    .exec = cmd_set_limit_exec,
};

static int cmd_set_limit_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    char *cause = NULL;
    long long n;
    int rc;

    if (cmd_strtonum(args->argv[1], 0, 64, &n, &cause)) {
        cmd_error(c, "%s: %s", args->argv[1], cause);
        free(cause);
        return CMD_EXIT_USAGE;
    }
    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_set_limit(c->lib, args->argv[0], (unsigned)n);
    if (rc) cmd_error(c, "%s: %s", args->argv[0], xlmig_strerror(rc));
    return cmd_exit_status(rc);
}
