/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-sr-create.c - "xlmig sr-create NAME dir PATH | NAME lvm VG": writes
 * an SR's identity into the SR, once, on one of the hosts that see it.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static int cmd_sr_create_exec(struct cmd_ctx *c, struct cmd_args *args);

const struct cmd_entry cmd_sr_create_entry = {
    .name = "sr-create",
    .usage = "NAME dir PATH | NAME lvm VG",
    .help = "Make a shared directory or volume group a storage repository",
    .details =
        "Writes the SR's identity into it: PATH/.xlmig-sr (a new uuid) for\n"
        "a directory, which must exist; the tag xlmig_sr for a VG, whose\n"
        "uuid is the identity. Run it on one host; every host that sees\n"
        "the SR declares it in /etc/xen/xlmig.conf:\n"
        "  sr = [ \"NAME:dir:PATH\", \"NAME:lvm:VG\" ]\n"
        "and `xlmig sr-list` there shows the same uuid.\n",
    .opts = "",
    .min_args = 3, .max_args = 3,
    .flags = CMD_MODIFIES,
    .exec = cmd_sr_create_exec,
};

static int cmd_sr_create_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    char uuid[40];
    int rc;

    if (strcmp(args->argv[1], "dir") && strcmp(args->argv[1], "lvm")) {
        cmd_error(c, "type '%s' is not dir or lvm", args->argv[1]);
        return CMD_EXIT_USAGE;
    }
    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_sr_create(c->lib, args->argv[0], args->argv[1], args->argv[2],
                         uuid);
    if (rc) {
        cmd_error(c, "SR %s not created: %s", args->argv[0],
                  xlmig_strerror(rc));
        return cmd_exit_status(rc);
    }
    printf("%s\n", uuid);
    return CMD_EXIT_OK;
}
