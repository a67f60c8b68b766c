/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-sr-show.c - "xlmig sr-show [--json] NAME": one storage repository.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#define CMD_SR_SHOW_JSON (CMD_OPT_LONG + 0)

static int cmd_sr_show_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_sr_show_longopts[] = {
    { "json", no_argument, NULL, CMD_SR_SHOW_JSON },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_sr_show_entry = {
    .name = "sr-show",
    .usage = "[--json] NAME",
    .help = "Show one storage repository",
    .opts = "",
    .longopts = cmd_sr_show_longopts,
    .min_args = 1, .max_args = 1,
    .exec = cmd_sr_show_exec,
};

static int cmd_sr_show_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct xlmig_sr *list = NULL, *s = NULL;
    char size[16], fr[16];
    size_t n = 0, i;
    int rc, status = CMD_EXIT_OK;

    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_sr_list(c->lib, &list, &n);
    if (rc) {
        cmd_error(c, "cannot list the SRs: %s", xlmig_strerror(rc));
        return cmd_exit_status(rc);
    }
    for (i = 0; i < n && !s; i++)
        if (!strcmp(list[i].name, args->argv[0])) s = &list[i];
    if (!s) {
        cmd_error(c, "no SR %s is declared here", args->argv[0]);
        status = CMD_EXIT_FAILED;
        goto out;
    }
    if (cmd_has(args, CMD_SR_SHOW_JSON)) {
        cmd_sr_json(s);
        printf("\n");
        goto out;
    }
    cmd_sr_size(size, sizeof(size), s->size);
    cmd_sr_size(fr, sizeof(fr), s->free);
    printf("name:      %s\ntype:      %s\nlocation:  %s\nidentity:  %s\n"
           "state:     %s\nsize:      %s\nfree:      %s\ndisks:     %s\n",
           s->name, s->type, s->location, s->uuid[0] ? s->uuid : "-",
           s->state, size, fr, s->n_disks ? "" : "-");
    for (i = 0; i < s->n_disks; i++)
        printf("  %s (domain %u) %s: %s\n", s->disks[i].domain,
               s->disks[i].domid, s->disks[i].vdev, s->disks[i].path);
out:
    xlmig_sr_list_free(list, n);
    return status;
}
