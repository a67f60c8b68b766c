/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-disk-prepare.c - "xlmig disk-prepare [--link-dir DIR] CONFIG VDEV":
 * rewrites a domain's xl.cfg so that the disk can move live from its
 * next boot (xlmig_disk_prepare).
 */
#include <stdio.h>

#include "cmd.h"

#define CMD_DPREP_LINK_DIR (CMD_OPT_LONG + 0)

static int cmd_disk_prepare_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_disk_prepare_longopts[] = {
    { "link-dir", required_argument, NULL, CMD_DPREP_LINK_DIR },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_disk_prepare_entry = {
    .name = "disk-prepare",
    .usage = "[--link-dir DIR] CONFIG VDEV",
    .help = "Make a disk movable live from the domain's next boot",
    .details =
        "Rewrites CONFIG (the domain's xl.cfg) in place, every other byte\n"
        "kept: disk VDEV names its image by a stable name, the symlink\n"
        "DIR/NAME-VDEV (default /var/lib/xlmig/disk), which a live move\n"
        "re-points; a qdisk (backendtype=qdisk) gets xlmig's QMP monitor\n"
        "in device_model_args_pv (or _hvm), any other disk xlmig's block\n"
        "script (script=block-xlmig; raw images). A running domain keeps\n"
        "its disks as they are until it is started again from CONFIG.\n",
    .opts = "",
    .longopts = cmd_disk_prepare_longopts,
    .min_args = 2, .max_args = 2,
    .flags = CMD_MODIFIES,
    .exec = cmd_disk_prepare_exec,
};

static int cmd_disk_prepare_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct xlmig_disk_prepare_opts o = {
        .config_file = args->argv[0], .vdev = args->argv[1],
        .link_dir = cmd_get(args, CMD_DPREP_LINK_DIR),
    };
    struct xlmig_disk_prepare_result res;
    int rc;

    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_disk_prepare(c->lib, &o, &res);
    if (rc) {
        cmd_error(c, "disk %s of %s not prepared: %s", o.vdev,
                  o.config_file, xlmig_strerror(rc));
        return cmd_exit_status(rc);
    }
    if (res.changed)
        printf("%s: disk %s names %s (-> %s), moved live through %s from "
               "the domain's next boot\n", o.config_file, o.vdev, res.link,
               res.image, res.how);
    else
        printf("%s: disk %s is prepared already (%s -> %s, %s)\n",
               o.config_file, o.vdev, res.link, res.image, res.how);
    return CMD_EXIT_OK;
}
