/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-job-validate.c - "xlmig job-validate FILE": a job file checked
 * against the schema and for what a schema cannot say, each error as
 * FILE:LINE: message. Also the loading both job commands share.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobrun.h"

#define CMD_JOB_VALIDATE_HOSTS (CMD_OPT_LONG + 0)
/* A uuid no host has: what --check-hosts asks each host about. */
#define CMD_JOB_VALIDATE_PROBE "00000000-0000-0000-0000-000000000000"

static int cmd_job_validate_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_job_validate_longopts[] = {
    { "check-hosts", no_argument, NULL, CMD_JOB_VALIDATE_HOSTS },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_job_validate_entry = {
    .name = "job-validate",
    .usage = "[--check-hosts] [-s SSHCMD] FILE",
    .help = "Check a job file (see xlmig-jobs(5)) without running it",
    .details =
        "Checks FILE against the schema of job files, then ids, after=\n"
        "references and cycles, hosts, check ids, rates, and that each\n"
        "domain named for this host is here. Errors are printed one per\n"
        "line as FILE:LINE: message. Nothing else is contacted unless:\n"
        "  --check-hosts  reach every declared host over ssh (as job-run\n"
        "                 would) and look up domains of jobs with from=\n"
        "  -s SSHCMD      the ssh command (default ssh)\n"
        "\nExit status: 0 valid; 1 not; 2 usage.\n",
    .opts = "s:",
    .longopts = cmd_job_validate_longopts,
    .min_args = 1, .max_args = 1,
    .exec = cmd_job_validate_exec,
};

int jobrun_load_file(struct cmd_ctx *c, const char *path,
                     struct jobxml_file *f)
{
    struct jobxml_errors errs;
    char *text = NULL, *why = NULL;
    size_t len, i;
    int r, rc;

    r = jobrun_read_file(path, JOBXML_FILE_MAX, &text, &len, &why);
    if (r) {
        if (r > 0) cmd_error(c, "%s: %s", path, strerror(ENOENT));
        else cmd_error(c, "%s", why);
        free(why);
        return CMD_EXIT_FAILED;
    }
    rc = jobxml_load(path, text, len, f, &errs);
    free(text);
    for (i = 0; i < errs.n; i++) fprintf(stderr, "%s\n", errs.line[i]);
    if (errs.more) fprintf(stderr, "%s: more errors left out\n", path);
    jobxml_errors_dispose(&errs);
    return rc ? CMD_EXIT_FAILED : CMD_EXIT_OK;
}

int jobrun_env_init(struct jobrun_env *env, struct cmd_ctx *c,
                    const char *ssh, const struct jobxml_file *f)
{
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

    memset(env, 0, sizeof(*env));
    if (n <= 0) {
        cmd_error(c, "cannot find this program (/proc/self/exe): %s",
                  strerror(errno));
        return -1;
    }
    buf[n] = '\0';
    env->c = c;
    env->self = xstrdup(buf);
    env->ssh = ssh;
    env->f = f;
    return 0;
}

void jobrun_env_dispose(struct jobrun_env *env)
{
    free(env->self);
    env->self = NULL;
}

/* Each host answers (a query of a uuid none has). */
static bool cmd_job_validate_hosts(const struct jobrun_env *env)
{
    const struct jobxml_file *f = env->f;
    char *why = NULL;
    bool ok = true;
    size_t i;

    for (i = 0; i < f->n_hosts; i++) {
        if (jobrun_host_has(env, &f->hosts[i], CMD_JOB_VALIDATE_PROBE,
                            &why) < 0) {
            fprintf(stderr, "%s:%ld: host %s (%s) does not answer: %s\n",
                    f->path, f->hosts[i].line, f->hosts[i].name,
                    f->hosts[i].address, why ? why : "?");
            ok = false;
        }
        free(why);
        why = NULL;
    }
    return ok;
}

/* Each domain a job names is on its source; each config file is there. */
static bool cmd_job_validate_domains(const struct jobrun_env *env,
                                     bool remote)
{
    const struct jobxml_file *f = env->f;
    const struct jobxml_job *j;
    struct jobrun_domain *doms;
    size_t i, n;
    char *why = NULL;
    bool ok = true;

    for (i = 0; i < f->n_jobs; i++) {
        j = &f->jobs[i];
        if (j->config && !j->from && access(j->config, R_OK)) {
            fprintf(stderr, "%s:%ld: job %s: config %s: %s\n", f->path,
                    j->line, j->id, j->config, strerror(errno));
            ok = false;
        }
        if (!j->domain || j->config || (j->from && !remote)) continue;
        if (jobrun_host_domains(env, j->from ? jobxml_host(f, j->from)
                                             : NULL, &doms, &n, &why)) {
            fprintf(stderr, "%s:%ld: job %s: %s\n", f->path, j->line, j->id,
                    why);
            free(why);
            why = NULL;
            ok = false;
            continue;
        }
        if (!jobrun_domain_find(doms, n, j->domain)) {
            fprintf(stderr, "%s:%ld: job %s: domain %s is not on %s\n",
                    f->path, j->line, j->id, j->domain,
                    j->from ? j->from : "this host");
            ok = false;
        }
        free(doms);
    }
    return ok;
}

static int cmd_job_validate_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct jobxml_file f;
    struct jobrun_env env;
    bool hosts = cmd_has(args, CMD_JOB_VALIDATE_HOSTS), ok;
    int status;

    status = jobrun_load_file(c, args->argv[0], &f);
    if (status) return status;
    if (jobrun_env_init(&env, c, cmd_get(args, 's'), &f)) {
        jobxml_dispose(&f);
        return CMD_EXIT_FAILED;
    }
    ok = cmd_job_validate_domains(&env, hosts);
    if (hosts && !cmd_job_validate_hosts(&env)) ok = false;
    if (ok)
        printf("%s: valid: %zu job%s, %zu host%s\n", f.path, f.n_jobs,
               f.n_jobs == 1 ? "" : "s", f.n_hosts,
               f.n_hosts == 1 ? "" : "s");
    jobrun_env_dispose(&env);
    jobxml_dispose(&f);
    return ok ? CMD_EXIT_OK : CMD_EXIT_FAILED;
}
