/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-events.c - "xlmig events [--json]": this host's last hook events
 * (xlmig-hooks(7)) and how each of their hooks ran.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cmd.h"

#define CMD_EVENTS_JSON (CMD_OPT_LONG + 0)

static int cmd_events_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_events_longopts[] = {
    { "json", no_argument, NULL, CMD_EVENTS_JSON },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_events_entry = {
    .name = "events",
    .usage = "[--json]",
    .help = "Show this host's hook events and their hooks' runs",
    .details =
        "One line per event (number, time, event, domain, role, job,\n"
        "state and verdict), then one per hook run: its status, time and\n"
        "the tail of its output. The last 64 finished events are kept.\n"
        "The first line says whether xlmig-hookd runs.\n"
        "  --json    {\"hookd_pid\": PID or 0, \"events\": [{...,\n"
        "            \"runs\": [...]}]}\n",
    .opts = "",
    .longopts = cmd_events_longopts,
    .min_args = 0, .max_args = 0,
    .exec = cmd_events_exec,
};

static void cmd_events_json_field(const char *key, const char *v)
{
    printf(", \"%s\": ", key);
    cmd_json_str(v);
}

static void cmd_events_json(const struct xlmig_hook_event *list, size_t n,
                            int hookd)
{
    const struct xlmig_hook_event *e;
    size_t i, j;

    printf("{\"hookd_pid\": %d, \"events\": [", hookd);
    for (i = 0; i < n; i++) {
        e = &list[i];
        printf("%s\n  {\"seq\": %u, \"time\": %.3f", i ? "," : "", e->seq,
               e->time);
        cmd_events_json_field("event", e->event);
        cmd_events_json_field("job", e->job);
        cmd_events_json_field("domain", e->domain);
        cmd_events_json_field("uuid", e->uuid);
        cmd_events_json_field("domid", e->domid);
        cmd_events_json_field("peer", e->peer);
        cmd_events_json_field("role", e->role);
        cmd_events_json_field("result", e->result);
        cmd_events_json_field("error", e->error);
        cmd_events_json_field("state", e->state);
        cmd_events_json_field("verdict", e->verdict);
        cmd_events_json_field("why", e->why);
        fputs(", \"runs\": [", stdout);
        for (j = 0; j < e->n_runs; j++) {
            printf("%s{\"hook\": ", j ? ", " : "");
            cmd_json_str(e->runs[j].hook);
            cmd_events_json_field("state", e->runs[j].state);
            cmd_events_json_field("status", e->runs[j].status);
            cmd_events_json_field("output", e->runs[j].output);
            printf(", \"secs\": %.3f}", e->runs[j].secs);
        }
        fputs("]}", stdout);
    }
    fputs("]}\n", stdout);
}

static void cmd_events_text(const struct xlmig_hook_event *list, size_t n,
                            int hookd)
{
    const struct xlmig_hook_event *e;
    char when[32];
    struct tm tm;
    time_t t;
    size_t i, j;

    if (hookd)
        printf("xlmig-hookd runs (pid %d)\n", hookd);
    else
        printf("xlmig-hookd does not run: each job runs its hooks\n");
    printf("%-5s %-19s %-18s %-20s %-11s %-18s %s\n", "SEQ", "TIME",
           "EVENT", "DOMAIN", "ROLE", "JOB", "STATE");
    for (i = 0; i < n; i++) {
        e = &list[i];
        t = (time_t)e->time;
        localtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        printf("%-5u %-19s %-18s %-20s %-11s %-18s %s%s%s%s%s\n", e->seq,
               when, e->event, e->domain, e->role, e->job[0] ? e->job : "-",
               e->state, e->verdict[0] ? " " : "", e->verdict,
               e->why[0] ? ": " : "", e->why);
        for (j = 0; j < e->n_runs; j++)
            printf("      hook %s: %s%s in %.2f s%s%s\n", e->runs[j].hook,
                   e->runs[j].status[0] ? e->runs[j].status
                                        : e->runs[j].state,
                   "", e->runs[j].secs, e->runs[j].output[0] ? ": " : "",
                   e->runs[j].output);
    }
}

static int cmd_events_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct xlmig_hook_event *list = NULL;
    size_t n = 0;
    int rc, hookd = 0;

    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_hookd_pid(c->lib, &hookd);
    if (!rc) rc = xlmig_hook_events(c->lib, &list, &n);
    if (rc) {
        cmd_error(c, "cannot read the events: %s", xlmig_strerror(rc));
        return cmd_exit_status(rc);
    }
    if (cmd_has(args, CMD_EVENTS_JSON))
        cmd_events_json(list, n, hookd);
    else
        cmd_events_text(list, n, hookd);
    xlmig_hook_events_free(list, n);
    return CMD_EXIT_OK;
}
