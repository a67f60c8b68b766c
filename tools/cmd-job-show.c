/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-job-show.c - "xlmig job-show [--json] ID": one job in full.
 */
#include <stdio.h>

#include "cmd.h"

#define CMD_JOB_SHOW_JSON (CMD_OPT_LONG + 0)

static int cmd_job_show_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_job_show_longopts[] = {
    { "json", no_argument, NULL, CMD_JOB_SHOW_JSON },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_job_show_entry = {
    .name = "job-show",
    .usage = "[--json] ID",
    .help = "Show one migration job",
    .opts = "",
    .longopts = cmd_job_show_longopts,
    .min_args = 1, .max_args = 1,
    .exec = cmd_job_show_exec,
};

static int cmd_job_show_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct xlmig_job j;
    int rc;

    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_job_get(c->lib, args->argv[0], &j);
    if (rc) {
        cmd_error(c, "%s: %s", args->argv[0], xlmig_strerror(rc));
        return cmd_exit_status(rc);
    }
    if (cmd_has(args, CMD_JOB_SHOW_JSON)) {
        cmd_job_json(&j);
        putchar('\n');
        return CMD_EXIT_OK;
    }
    printf("id:          %s\nkind:        %s\nphase:       %s\n"
           "domain:      %s\nuuid:        %s\npeer:        %s\n"
           "process:     %d (%s)\nslot:        %s\nqueue:       %u\n"
           "progress:    %s\nprecopy:     %s\nerror:       %s\n"
           "cancel:      %s\n",
           j.id, j.kind, j.phase, j.domain, j.uuid, j.peer, j.pid,
           j.alive ? "running" : "gone", j.slot[0] ? j.slot : "none",
           j.queue_pos, j.progress, j.precopy, j.error,
           j.cancel_requested ? "requested"
           : j.cancellable ? "possible" : "refused (past the point of no "
                                          "return)");
    return CMD_EXIT_OK;
}
