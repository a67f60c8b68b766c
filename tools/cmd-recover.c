/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-recover.c - "xlmig recover [-s SSHCMD]": settles the migrations that
 * were interrupted on this host (their process died, the host rebooted),
 * printing what it did; "--query UUID" and "--release UUID" are what a
 * peer's recover asks.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#define CMD_RECOVER_QUERY (CMD_OPT_LONG + 0)
#define CMD_RECOVER_RELEASE (CMD_OPT_LONG + 1)

static int cmd_recover_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_recover_longopts[] = {
    { "query", required_argument, NULL, CMD_RECOVER_QUERY },
    { "release", required_argument, NULL, CMD_RECOVER_RELEASE },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_recover_entry = {
    .name = "recover",
    .usage = "[-s SSHCMD] | --query UUID | --release UUID",
    .help = "Bring interrupted migrations to exactly one running copy",
    .details =
        "Reads the journals of jobs whose process is gone and the domains\n"
        "present, and per migration resumes the guest here, destroys a\n"
        "stale copy, or starts a handed-over one; when the guest may run\n"
        "on the peer, asks it over SSHCMD (as migrate -s; default ssh).\n"
        "Recover the receiving host first. A receiving host keeps its\n"
        "journal of a domain that came to it until the source's recover\n"
        "releases it. Exit status: 0 all settled; 1 some could not be\n"
        "acted on; 3 some wait for the peer.\n"
        "  -s SSHCMD       how to reach peers\n"
        "  --query UUID    print what this host has of the domain (for\n"
        "                  peers): taken, running, incoming or absent\n"
        "  --release UUID  drop the kept journals of a domain that came\n"
        "                  here, once its source has settled\n",
    .opts = "s:",
    .longopts = cmd_recover_longopts,
    .min_args = 0, .max_args = 0,
    .flags = CMD_MODIFIES,
    .exec = cmd_recover_exec,
};

bool cmd_recover_asks(const struct cmd_args *args)
{
    return cmd_has(args, CMD_RECOVER_QUERY) != cmd_has(args,
                                                       CMD_RECOVER_RELEASE);
}

static void cmd_recover_report(void *arg, const char *line)
{
    (void)arg;
    printf("%s\n", line);
    fflush(stdout);
}

static int cmd_recover_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct xlmig_recover_opts o = { .report = cmd_recover_report };
    const char *state, *uuid;
    unsigned n;
    int rc;

    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    if (cmd_has(args, CMD_RECOVER_QUERY)) {
        uuid = cmd_get(args, CMD_RECOVER_QUERY);
        rc = xlmig_recover_query(c->lib, uuid, &state);
        if (rc) {
            cmd_error(c, "%s", xlmig_strerror(rc));
            return cmd_exit_status(rc);
        }
        if (strcmp(state, "absent")) printf("%s %s\n", state, uuid);
        else printf("%s\n", state);
        return CMD_EXIT_OK;
    }
    if (cmd_has(args, CMD_RECOVER_RELEASE)) {
        rc = xlmig_recover_release(c->lib, cmd_get(args,
                                                   CMD_RECOVER_RELEASE), &n);
        if (rc) {
            cmd_error(c, "%s", xlmig_strerror(rc));
            return cmd_exit_status(rc);
        }
        printf("released %u\n", n);
        return CMD_EXIT_OK;
    }
    o.ssh_command = cmd_get(args, 's');
    cmd_hide_progress(c, true);
    rc = xlmig_recover(c->lib, &o);
    if (rc == XLMIG_E_UNSAFE) return CMD_EXIT_UNSAFE;
    if (rc) cmd_error(c, "%s", xlmig_strerror(rc));
    return cmd_exit_status(rc);
}
