/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-sr-list.c - "xlmig sr-list [--json]": the storage repositories this
 * host declares, with their identity, space and the disks of running
 * domains in them.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"

#define CMD_SR_LIST_JSON (CMD_OPT_LONG + 0)

static int cmd_sr_list_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_sr_list_longopts[] = {
    { "json", no_argument, NULL, CMD_SR_LIST_JSON },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_sr_list_entry = {
    .name = "sr-list",
    .usage = "[--json]",
    .help = "List the storage repositories of this host",
    .details =
        "Columns: name, type, location, identity (uuid, or why the SR is\n"
        "unavailable here), size, free, and the disks of running domains\n"
        "it holds.\n",
    .opts = "",
    .longopts = cmd_sr_list_longopts,
    .min_args = 0, .max_args = 0,
    .exec = cmd_sr_list_exec,
};

/* One SR as a JSON object on stdout (shared with sr-show). */
void cmd_sr_json(const struct xlmig_sr *s)
{
    size_t i;

    printf("{\"name\": ");
    cmd_json_str(s->name);
    printf(", \"type\": ");
    cmd_json_str(s->type);
    printf(", \"location\": ");
    cmd_json_str(s->location);
    printf(", \"uuid\": ");
    cmd_json_str(s->uuid);
    printf(", \"state\": ");
    cmd_json_str(s->state);
    printf(", \"size\": %llu, \"free\": %llu, \"disks\": [",
           (unsigned long long)s->size, (unsigned long long)s->free);
    for (i = 0; i < s->n_disks; i++) {
        printf("%s{\"domid\": %u, \"domain\": ", i ? ", " : "",
               s->disks[i].domid);
        cmd_json_str(s->disks[i].domain);
        printf(", \"vdev\": ");
        cmd_json_str(s->disks[i].vdev);
        printf(", \"path\": ");
        cmd_json_str(s->disks[i].path);
        printf("}");
    }
    printf("]}");
}

/* Bytes as "12.3G". */
void cmd_sr_size(char *out, size_t size, uint64_t bytes)
{
    static const char units[] = "KMGTPE";
    double v = (double)bytes;
    int u = -1;

    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u < 0) snprintf(out, size, "%llu", (unsigned long long)bytes);
    else snprintf(out, size, "%.1f%c", v, units[u]);
}

static int cmd_sr_list_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct xlmig_sr *list = NULL;
    char size[16], fr[16];
    size_t n = 0, i, k;
    int rc;

    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_sr_list(c->lib, &list, &n);
    if (rc) {
        cmd_error(c, "cannot list the SRs: %s", xlmig_strerror(rc));
        return cmd_exit_status(rc);
    }
    if (cmd_has(args, CMD_SR_LIST_JSON)) {
        printf("[");
        for (i = 0; i < n; i++) {
            printf(i ? ",\n " : "\n ");
            cmd_sr_json(&list[i]);
        }
        printf("%s]\n", n ? "\n" : "");
        xlmig_sr_list_free(list, n);
        return CMD_EXIT_OK;
    }
    printf("%-16s %-4s %-30s %-36s %8s %8s  %s\n", "NAME", "TYPE",
           "LOCATION", "IDENTITY", "SIZE", "FREE", "DISKS");
    for (i = 0; i < n; i++) {
        cmd_sr_size(size, sizeof(size), list[i].size);
        cmd_sr_size(fr, sizeof(fr), list[i].free);
        printf("%-16s %-4s %-30s %-36s %8s %8s  ", list[i].name,
               list[i].type, list[i].location,
               list[i].uuid[0] ? list[i].uuid : "-", size, fr);
        for (k = 0; k < list[i].n_disks; k++)
            printf("%s%s:%s", k ? " " : "", list[i].disks[k].domain,
                   list[i].disks[k].vdev);
        printf("%s\n", list[i].n_disks ? "" : "-");
        if (!list[i].uuid[0]) printf("  %s\n", list[i].state);
    }
    xlmig_sr_list_free(list, n);
    return CMD_EXIT_OK;
}
