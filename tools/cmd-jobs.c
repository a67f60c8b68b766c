/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-jobs.c - "xlmig jobs [--json]": the migrations this host runs, queues
 * or was running when their process died, with the limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cmd.h"

#define CMD_JOBS_JSON (CMD_OPT_LONG + 0)

static int cmd_jobs_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_jobs_longopts[] = {
    { "json", no_argument, NULL, CMD_JOBS_JSON },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_jobs_entry = {
    .name = "jobs",
    .usage = "[--json]",
    .help = "List this host's migration jobs",
    .details =
        "Columns: job id, phase (or queue position), domain, peer, age,\n"
        "progress. A job whose process is gone shows as \"dead\" until\n"
        "xlmig reclaims it.\n",
    .opts = "",
    .longopts = cmd_jobs_longopts,
    .min_args = 0, .max_args = 0,
    .exec = cmd_jobs_exec,
};

/* One job as a JSON object on stdout (shared with job-show). */
void cmd_job_json(const struct xlmig_job *j)
{
    printf("{\"id\": ");
    cmd_json_str(j->id);
    printf(", \"kind\": ");
    cmd_json_str(j->kind);
    printf(", \"phase\": ");
    cmd_json_str(j->phase);
    printf(", \"domain\": ");
    cmd_json_str(j->domain);
    printf(", \"uuid\": ");
    cmd_json_str(j->uuid);
    printf(", \"peer\": ");
    cmd_json_str(j->peer);
    printf(", \"progress\": ");
    cmd_json_str(j->progress);
    printf(", \"error\": ");
    cmd_json_str(j->error);
    printf(", \"slot\": ");
    cmd_json_str(j->slot);
    printf(", \"precopy\": ");
    cmd_json_str(j->precopy);
    printf(", \"started\": %.3f, \"pid\": %d, \"alive\": %s, "
           "\"queue_position\": %u, \"cancel_requested\": %s, "
           "\"cancellable\": %s}", j->started, j->pid,
           j->alive ? "true" : "false", j->queue_pos,
           j->cancel_requested ? "true" : "false",
           j->cancellable ? "true" : "false");
}

static int cmd_jobs_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    static const char *const kinds[] = { "out", "in", "storage" };
    struct xlmig_job *list = NULL;
    unsigned limits[3];
    char state[24];
    size_t n = 0, i;
    int rc;

    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_job_list(c->lib, &list, &n);
    for (i = 0; !rc && i < 3; i++)
        rc = xlmig_get_limit(c->lib, kinds[i], &limits[i]);
    if (rc) {
        cmd_error(c, "cannot read the jobs: %s", xlmig_strerror(rc));
        free(list);
        return cmd_exit_status(rc);
    }
    if (cmd_has(args, CMD_JOBS_JSON)) {
        printf("{\"limits\": {\"out\": %u, \"in\": %u, \"storage\": %u}, "
               "\"jobs\": [", limits[0], limits[1], limits[2]);
        for (i = 0; i < n; i++) {
            printf(i ? ",\n  " : "\n  ");
            cmd_job_json(&list[i]);
        }
        printf("%s]}\n", n ? "\n" : "");
        free(list);
        return CMD_EXIT_OK;
    }
    printf("limits: out %u, in %u, storage %u\n", limits[0], limits[1],
           limits[2]);
    printf("%-20s %-12s %-24s %-16s %6s  %s\n", "ID", "STATE", "DOMAIN",
           "PEER", "AGE", "PROGRESS");
    for (i = 0; i < n; i++) {
        if (!list[i].alive) snprintf(state, sizeof(state), "dead");
        else if (list[i].queue_pos)
            snprintf(state, sizeof(state), "queued #%u", list[i].queue_pos);
        else snprintf(state, sizeof(state), "%s", list[i].phase);
        printf("%-20s %-12s %-24s %-16s %5.0fs  %s\n", list[i].id, state,
               list[i].domain, list[i].peer,
               list[i].started ? (double)time(NULL) - list[i].started : 0,
               list[i].progress);
    }
    free(list);
    return CMD_EXIT_OK;
}
