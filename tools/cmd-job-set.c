/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-job-set.c - "xlmig job-set ID KEY=VALUE": changes a running job;
 * for now its bandwidth limit, which the sender applies within a second.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static int cmd_job_set_exec(struct cmd_ctx *c, struct cmd_args *args);

const struct cmd_entry cmd_job_set_entry = {
    .name = "job-set",
    .usage = "ID bandwidth=RATE",
    .help = "Change a running migration job (its bandwidth limit)",
    .details = "RATE: bytes/s as N, NK, NM, NG (decimal), or bits as\n"
               "NKbit, NMbit, NGbit; 0 removes the limit.\n",
    .min_args = 2, .max_args = 2,
    .flags = CMD_MODIFIES,
    .exec = cmd_job_set_exec,
};

static int cmd_job_set_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    char *key, *value;
    int rc;

    key = strdup(args->argv[1]);
    if (!key) abort();
    value = strchr(key, '=');
    if (!value || value == key) {
        cmd_error(c, "expected KEY=VALUE, not '%s'", args->argv[1]);
        free(key);
        return CMD_EXIT_USAGE;
    }
    *value++ = '\0';
    rc = cmd_lib(c) ? xlmig_job_set(c->lib, args->argv[0], key, value)
                    : XLMIG_E_INTERNAL;
    if (rc == XLMIG_E_INVAL) {
        cmd_error(c, "%s: %s=%s: %s", args->argv[0], key, value,
                  xlmig_strerror(rc));
        free(key);
        return CMD_EXIT_USAGE;
    }
    if (rc) cmd_error(c, "%s: %s", args->argv[0], xlmig_strerror(rc));
    free(key);
    return cmd_exit_status(rc);
}
