/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-list.c - "xlmig list": the domains of this host, as "xl list".
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

#define CMD_LIST_JSON (CMD_OPT_LONG + 0)

static int cmd_list_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_list_longopts[] = {
    { "json", no_argument, NULL, CMD_LIST_JSON },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_list_entry = {
    .name = "list",
    .usage = "[--json]",
    .help = "List the domains of this host (as xl list)",
    .details = "  --json    one JSON object: {\"domains\": [{\"name\", \"domid\",\n"
               "            \"uuid\", \"memory_kib\", \"vcpus\", \"state\"}]}\n",
    .opts = "",
    .longopts = cmd_list_longopts,
    .min_args = 0, .max_args = 0,
    .exec = cmd_list_exec,
};

static void cmd_list_json(const struct xlmig_domain *list, size_t n)
{
    size_t i;

    fputs("{\"domains\": [", stdout);
    for (i = 0; i < n; i++) {
        fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", stdout);
        cmd_json_str(list[i].name);
        printf(", \"domid\": %u, \"uuid\": \"%s\", \"memory_kib\": %llu, "
               "\"vcpus\": %u, \"state\": ", list[i].domid, list[i].uuid,
               (unsigned long long)list[i].memkb, list[i].vcpus);
        cmd_json_str(list[i].state);
        fputc('}', stdout);
    }
    fputs("]}\n", stdout);
}

static int cmd_list_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct xlmig_domain *list = NULL;
    size_t n = 0, i;
    int rc;

    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_domain_list(c->lib, &list, &n);
    if (rc) {
        cmd_error(c, "cannot list domains: %s", xlmig_strerror(rc));
        return cmd_exit_status(rc);
    }
    if (cmd_has(args, CMD_LIST_JSON)) {
        cmd_list_json(list, n);
        free(list);
        return CMD_EXIT_OK;
    }
    printf("%-40s %5s %5s %5s %6s\n", "Name", "ID", "Mem", "VCPUs", "State");
    for (i = 0; i < n; i++)
        printf("%-40s %5u %5llu %5u %6s\n", list[i].name, list[i].domid,
               (unsigned long long)(list[i].memkb / 1024), list[i].vcpus,
               list[i].state);
    free(list);
    return CMD_EXIT_OK;
}
