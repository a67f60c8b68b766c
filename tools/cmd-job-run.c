/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-job-run.c - "xlmig job-run FILE": runs a job file (xlmig-jobs(5)):
 * its migrations, disk moves, checks, evacuations and barriers, in
 * dependency order under its limits, resumable (jobrun.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobrun.h"

#define CMD_JOB_RUN_DRY (CMD_OPT_LONG + 0)
#define CMD_JOB_RUN_JSON (CMD_OPT_LONG + 1)
#define CMD_JOB_RUN_REPORT (CMD_OPT_LONG + 2)
#define CMD_JOB_RUN_STATE (CMD_OPT_LONG + 3)

static int cmd_job_run_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_job_run_longopts[] = {
    { "dry-run", no_argument, NULL, CMD_JOB_RUN_DRY },
    { "json", no_argument, NULL, CMD_JOB_RUN_JSON },
    { "report", required_argument, NULL, CMD_JOB_RUN_REPORT },
    { "state", required_argument, NULL, CMD_JOB_RUN_STATE },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_job_run_entry = {
    .name = "job-run",
    .usage = "[--dry-run] [--json] [--report FILE] [--state FILE] "
             "[-s SSHCMD] FILE",
    .help = "Run a job file: batches, evacuations (see xlmig-jobs(5))",
    .details =
        "Validates FILE as job-validate does, then runs its jobs in\n"
        "dependency order under its limits, each as an xlmig command here\n"
        "or, for from=HOST, over ssh on HOST.\n"
        "  --dry-run      resolve selections, run every migration's\n"
        "                 pre-flight checks, place evacuations, print the\n"
        "                 plan; change nothing\n"
        "  --json         one JSON object per event on stdout\n"
        "  --report FILE  write the outcome of each job (JSON) to FILE\n"
        "  --state FILE   the run's state (default: a file in\n"
        "                 /var/lib/xlmig/runs named after FILE)\n"
        "  -s SSHCMD      the ssh command, for migrations and hosts\n"
        "Running the same FILE again resumes an unfinished run: what is\n"
        "done is skipped, migrations still running are waited for, a\n"
        "domain already on its target is not moved again. SIGINT and\n"
        "SIGTERM cancel running jobs before their point of no return and\n"
        "start nothing new.\n"
        "\nExit status: 0 every job done; 1 some failed, were skipped or\n"
        "cancelled; 2 usage or an invalid file.\n",
    .opts = "s:",
    .longopts = cmd_job_run_longopts,
    .min_args = 1, .max_args = 1,
    .flags = CMD_MODIFIES,
    .exec = cmd_job_run_exec,
};

static int cmd_job_run_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct jobrun run;
    struct jobxml_file f;
    char *state = NULL;
    int status;

    memset(&run, 0, sizeof(run));
    status = jobrun_load_file(c, args->argv[0], &f);
    if (status) return CMD_EXIT_USAGE;
    if (jobrun_env_init(&run.env, c, cmd_get(args, 's'), &f)) {
        jobxml_dispose(&f);
        return CMD_EXIT_FAILED;
    }
    run.dry_run = cmd_has(args, CMD_JOB_RUN_DRY);
    run.json = cmd_has(args, CMD_JOB_RUN_JSON);
    run.tty = !run.json && isatty(STDOUT_FILENO) == 1;
    run.report_path = cmd_get(args, CMD_JOB_RUN_REPORT);
    if (!run.dry_run) {
        state = cmd_has(args, CMD_JOB_RUN_STATE)
                ? xstrdup(cmd_get(args, CMD_JOB_RUN_STATE))
                : jobrun_state_default(args->argv[0]);
        run.state_path = state;
    }
    cmd_hide_progress(c, true);
    status = jobrun_run(&run);
    jobrun_free(&run);
    jobrun_env_dispose(&run.env);
    jobxml_dispose(&f);
    free(state);
    return status;
}
