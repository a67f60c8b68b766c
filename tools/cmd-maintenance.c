/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-maintenance.c - "xlmig maintenance on [REASON] | off | status":
 * while on, this host takes no incoming migrations (its pre-flight check
 * "maintenance" fails and migrate-receive refuses).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static int cmd_maintenance_exec(struct cmd_ctx *c, struct cmd_args *args);

const struct cmd_entry cmd_maintenance_entry = {
    .name = "maintenance",
    .usage = "on [REASON] | off | status",
    .help = "Put this host in or out of maintenance mode",
    .details = "In maintenance mode the host accepts no incoming\n"
               "migrations; outgoing ones (evacuation) go on.\n",
    .min_args = 1, .max_args = 2,
    .flags = CMD_MODIFIES,
    .exec = cmd_maintenance_exec,
};

static int cmd_maintenance_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    const char *what = args->argv[0];
    char *reason = NULL;
    int rc;

    if (strcmp(what, "on") && args->argc > 1) {
        cmd_error(c, "maintenance %s takes no reason", what);
        return CMD_EXIT_USAGE;
    }
    if (strcmp(what, "on") && strcmp(what, "off") && strcmp(what, "status")) {
        cmd_error(c, "maintenance: expected on, off or status, not '%s'",
                  what);
        return CMD_EXIT_USAGE;
    }
    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    if (!strcmp(what, "status")) {
        rc = xlmig_get_maintenance(c->lib, &reason);
        if (!rc && reason) printf("on: %s\n", reason);
        else if (!rc) printf("off\n");
        free(reason);
    } else {
        rc = xlmig_set_maintenance(c->lib, !strcmp(what, "on")
                                   ? (args->argc > 1 ? args->argv[1]
                                                     : "maintenance")
                                   : NULL);
    }
    if (rc) cmd_error(c, "maintenance %s: %s", what, xlmig_strerror(rc));
    return cmd_exit_status(rc);
}
