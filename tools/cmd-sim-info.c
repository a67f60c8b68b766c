/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-sim-info.c - "xlmig sim-info DOMAIN": what a sim domain's guest says
 * about itself, as key=value lines for scripts and tests.
 */
#include <inttypes.h>
#include <stdio.h>

#include "cmd.h"

static int cmd_sim_info_exec(struct cmd_ctx *c, struct cmd_args *args);

const struct cmd_entry cmd_sim_info_entry = {
    .name = "sim-info",
    .usage = "DOMAIN",
    .help = "Show a sim domain's state, guest process and counter",
    .min_args = 1, .max_args = 1,
    .exec = cmd_sim_info_exec,
};

static int cmd_sim_info_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct xlmig_sim_domain_info i;
    int rc;

    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_sim_domain_info(c->lib, args->argv[0], &i);
    if (rc) {
        cmd_error(c, "%s: %s", args->argv[0], xlmig_strerror(rc));
        return cmd_exit_status(rc);
    }
    printf("name=%s\ndomid=%u\ntype=%s\nstate=%s\nguest_pid=%d\n"
           "memory_mb=%" PRIu64 "\nrate=%" PRIu64 "\nwss_mb=%" PRIu64 "\n"
           "shape=%s\ncounter=%" PRIu64 "\nwrites=%" PRIu64 "\n"
           "boots=%" PRIu64 "\nresumes=%" PRIu64 "\nimage=%s\ncap=%u\n",
           i.name, i.domid, i.type, i.state, i.guest_pid, i.memory_mb,
           i.rate, i.wss_mb, i.shape, i.counter, i.writes, i.boots,
           i.resumes, i.image, i.sched_cap);
    return CMD_EXIT_OK;
}
