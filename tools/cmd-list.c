/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-list.c - "xlmig list": the domains of this host, as "xl list".
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

static int cmd_list_exec(struct cmd_ctx *c, struct cmd_args *args);

const struct cmd_entry cmd_list_entry = {
    .name = "list",
    .usage = "",
    .help = "List the domains of this host (as xl list)",
    .min_args = 0, .max_args = 0,
    .exec = cmd_list_exec,
};

static int cmd_list_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct xlmig_domain *list = NULL;
    size_t n = 0, i;
    int rc;

    (void)args;
    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_domain_list(c->lib, &list, &n);
    if (rc) {
        cmd_error(c, "cannot list domains: %s", xlmig_strerror(rc));
        return cmd_exit_status(rc);
    }
    printf("%-40s %5s %5s %5s %6s\n", "Name", "ID", "Mem", "VCPUs", "State");
    for (i = 0; i < n; i++)
        printf("%-40s %5u %5llu %5u %6s\n", list[i].name, list[i].domid,
               (unsigned long long)(list[i].memkb / 1024), list[i].vcpus,
               list[i].state);
    free(list);
    return CMD_EXIT_OK;
}
