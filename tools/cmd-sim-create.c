/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-sim-create.c - "xlmig sim-create": a sim domain of a given size and
 * workload on the sim host of XLMIG_SIM_HOST; prints its domid.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

#define CMD_SIM_CREATE_MEMORY (CMD_OPT_LONG + 0)
#define CMD_SIM_CREATE_TYPE (CMD_OPT_LONG + 1)
#define CMD_SIM_CREATE_VCPUS (CMD_OPT_LONG + 2)
#define CMD_SIM_CREATE_RATE (CMD_OPT_LONG + 3)
#define CMD_SIM_CREATE_WSS (CMD_OPT_LONG + 4)
#define CMD_SIM_CREATE_SHAPE (CMD_OPT_LONG + 5)
#define CMD_SIM_CREATE_FILL (CMD_OPT_LONG + 8)
#define CMD_SIM_CREATE_PAUSED (CMD_OPT_LONG + 6)
#define CMD_SIM_CREATE_CONFIG (CMD_OPT_LONG + 7)

static int cmd_sim_create_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_sim_create_longopts[] = {
    { "memory", required_argument, NULL, CMD_SIM_CREATE_MEMORY },
    { "type", required_argument, NULL, CMD_SIM_CREATE_TYPE },
    { "vcpus", required_argument, NULL, CMD_SIM_CREATE_VCPUS },
    { "rate", required_argument, NULL, CMD_SIM_CREATE_RATE },
    { "wss", required_argument, NULL, CMD_SIM_CREATE_WSS },
    { "shape", required_argument, NULL, CMD_SIM_CREATE_SHAPE },
    { "fill", required_argument, NULL, CMD_SIM_CREATE_FILL },
    { "paused", no_argument, NULL, CMD_SIM_CREATE_PAUSED },
    { "config", required_argument, NULL, CMD_SIM_CREATE_CONFIG },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_sim_create_entry = {
    .name = "sim-create",
    .usage = "[--memory MB] [--type pvh|pv|hvm] [--vcpus N] [--rate PAGES] "
             "[--wss MB] [--shape uniform|hot|sweep] [--fill zero|random|mixed] "
             "[--paused] [--config FILE] NAME",
    .help = "Create a simulated domain on the sim host (XLMIG_SIM_HOST)",
    .details =
        "Options:\n"
        "  --memory MB     guest memory (default 64)\n"
        "  --type T        guest type: pvh (default), pv or hvm\n"
        "  --vcpus N       virtual CPUs (default 1)\n"
        "  --rate PAGES    pages the guest dirties per second (default 0)\n"
        "  --wss MB        its working set (default a quarter of memory)\n"
        "  --shape S       uniform (default), hot (80 % of writes in a\n"
        "                  fifth of the working set) or sweep (in order)\n"
        "  --fill F        memory at start: zero (default), random, or\n"
        "                  mixed (40 % zero, 30 % text-like, 30 % random)\n"
        "  --paused        do not start the guest\n"
        "  --config FILE   a libxl JSON config (disks, nics, ...); type,\n"
        "                  memory, vcpus and uuid come from it\n",
    .longopts = cmd_sim_create_longopts,
    .opts = "",
    .min_args = 1, .max_args = 1,
    .flags = CMD_MODIFIES,
    .exec = cmd_sim_create_exec,
};

static int cmd_sim_create_num(struct cmd_ctx *c, struct cmd_args *args,
                              int opt, long long max, uint64_t *v_r)
{
    char *cause = NULL;
    long long v;

    if (!cmd_get(args, opt)) return 0;
    if (cmd_strtonum(cmd_get(args, opt), 0, max, &v, &cause)) {
        cmd_error(c, "%s", cause);
        free(cause);
        return -1;
    }
    *v_r = (uint64_t)v;
    return 0;
}

static int cmd_sim_create_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct xlmig_sim_domain_opts o = { .name = args->argv[0] };
    uint64_t vcpus = 0;
    uint32_t domid;
    int rc;

    o.type = cmd_get(args, CMD_SIM_CREATE_TYPE);
    o.shape = cmd_get(args, CMD_SIM_CREATE_SHAPE);
    o.fill = cmd_get(args, CMD_SIM_CREATE_FILL);
    o.paused = cmd_has(args, CMD_SIM_CREATE_PAUSED);
    o.config = cmd_get(args, CMD_SIM_CREATE_CONFIG);
    if (cmd_sim_create_num(c, args, CMD_SIM_CREATE_MEMORY, 65536,
                           &o.memory_mb) ||
        cmd_sim_create_num(c, args, CMD_SIM_CREATE_VCPUS, 128, &vcpus) ||
        cmd_sim_create_num(c, args, CMD_SIM_CREATE_RATE, 10000000,
                           &o.rate) ||
        cmd_sim_create_num(c, args, CMD_SIM_CREATE_WSS, 65536, &o.wss_mb))
        return CMD_EXIT_USAGE;
    o.vcpus = (unsigned)vcpus;
    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_sim_domain_create(c->lib, &o, &domid);
    if (rc) {
        cmd_error(c, "%s: %s", o.name, xlmig_strerror(rc));
        return cmd_exit_status(rc);
    }
    printf("%u\n", domid);
    return CMD_EXIT_OK;
}
