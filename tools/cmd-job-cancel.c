/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-job-cancel.c - "xlmig job-cancel ID": asks a job to stop. Before the
 * point of no return it rolls back and the domain keeps running where it
 * was; after it the request is refused with the reason.
 */
#include <stdlib.h>

#include "cmd.h"

static int cmd_job_cancel_exec(struct cmd_ctx *c, struct cmd_args *args);

const struct cmd_entry cmd_job_cancel_entry = {
    .name = "job-cancel",
    .usage = "ID",
    .help = "Cancel a migration job before its point of no return",
    .min_args = 1, .max_args = 1,
    .flags = CMD_MODIFIES,
    .exec = cmd_job_cancel_exec,
};

static int cmd_job_cancel_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    char *why = NULL;
    int rc;

    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_job_cancel(c->lib, args->argv[0], &why);
    if (rc == XLMIG_E_BUSY && why)
        cmd_error(c, "%s: cannot cancel: %s", args->argv[0], why);
    else if (rc)
        cmd_error(c, "%s: %s", args->argv[0], xlmig_strerror(rc));
    free(why);
    return cmd_exit_status(rc);
}
