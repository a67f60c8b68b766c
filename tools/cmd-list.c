/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-list.c - "xlmig list": the domains of this host, byte for byte as
 * xl list (and xl list -l) prints them, for scripts that parse xl; the
 * options xlmig does not implement go to xl.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

#define CMD_LIST_JSON (CMD_OPT_LONG + 0)

static int cmd_list_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_list_longopts[] = {
    { "json", no_argument, NULL, CMD_LIST_JSON },
    { "long", no_argument, NULL, 'l' },
    { "verbose", no_argument, NULL, 'v' },
    { "context", no_argument, NULL, 'Z' },
    { "cpupool", no_argument, NULL, 'c' },
    { "numa", no_argument, NULL, 'n' },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_list_entry = {
    .name = "list",
    .usage = "[-l | --json] [<domain>]",
    .help = "List the domains of this host (as xl list)",
    .details =
        "  -l, --long  each domain's libxl configuration, as xl list -l\n"
        "  --json    one JSON object: {\"domains\": [{\"name\", \"domid\",\n"
        "            \"uuid\", \"memory_kib\", \"vcpus\", \"state\"}]}\n"
        "  -v, -Z, -c, -n  xl's: run by xl\n",
    .opts = "lvZcn",
    .longopts = cmd_list_longopts,
    .min_args = 0, .max_args = 1,
    .flags = CMD_XL,
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

void cmd_list_row(FILE *f, const struct xlmig_domain *d)
{
    /* xl divides through float, which rounds large times: the same. */
    float cpu = (float)d->cpu_time_ns / 1e9;

    fprintf(f, "%-40s %5u %5llu %5u     %s  %8.1f\n", d->name, d->domid,
            (unsigned long long)((d->memkb + d->claimed_kb) / 1024),
            d->vcpus, d->state, cpu);
}

void cmd_list_header(FILE *f)
{
    fputs("Name                                        ID   Mem VCPUs\t"
          "State\tTime(s)\n", f);
}

/*
 * One element of xl list -l's array: libxl's pretty JSON is indented by
 * 4 per level, and the config sits two levels in, so each of its lines
 * after the first moves 8 columns right (but for the empty line inside
 * an empty map or array). Strings hold no raw newline.
 */
void cmd_list_long_item(FILE *f, bool first, uint32_t domid,
                        const char *json)
{
    size_t len = strlen(json);
    const char *p, *nl;

    while (len && (json[len - 1] == '\n' || json[len - 1] == ' '))
        len--;
    fprintf(f, "%s    {\n        \"domid\": %u,\n        \"config\": ",
            first ? "" : ",\n", domid);
    for (p = json; p < json + len; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(json + len - p));
        if (!nl) nl = json + len;
        if (p != json && nl != p) fputs("        ", f);
        fwrite(p, 1, (size_t)(nl - p), f);
        if (nl < json + len) fputc('\n', f);
    }
    fputs("\n    }", f);
}

/* As xl: the array, then a blank line (yajl's newline, then puts'). */
static void cmd_list_long(struct cmd_ctx *c,
                          const struct xlmig_domain *list, size_t n)
{
    char *json;
    bool first = true;
    size_t i;

    fputs("[\n", stdout);
    for (i = 0; i < n; i++) {
        /* Gone meanwhile or no config stored: left out, as xl does. */
        if (xlmig_domain_config(c->lib, list[i].domid, &json)) continue;
        cmd_list_long_item(stdout, first, list[i].domid, json);
        first = false;
        free(json);
    }
    fputs("\n]\n\n", stdout);
}

static int cmd_list_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct xlmig_domain *list = NULL;
    size_t n = 0, i, k;
    uint32_t domid;
    int rc;

    if (cmd_has(args, 'v') || cmd_has(args, 'Z') || cmd_has(args, 'c') ||
        cmd_has(args, 'n'))
        return xl_pass_cmd(c);
    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_domain_list(c->lib, &list, &n);
    if (rc) {
        cmd_error(c, "cannot list domains: %s", xlmig_strerror(rc));
        return cmd_exit_status(rc);
    }
    if (args->argc == 1) {
        rc = xlmig_domain_lookup(c->lib, args->argv[0], &domid, NULL);
        if (rc) {
            cmd_error(c, "no domain '%s'", args->argv[0]);
            free(list);
            return cmd_exit_status(rc);
        }
        for (i = k = 0; i < n; i++)
            if (list[i].domid == domid) list[k++] = list[i];
        n = k;
    }
    if (cmd_has(args, CMD_LIST_JSON)) {
        cmd_list_json(list, n);
    } else if (cmd_has(args, 'l')) {
        cmd_list_long(c, list, n);
    } else {
        cmd_list_header(stdout);
        for (i = 0; i < n; i++) cmd_list_row(stdout, &list[i]);
    }
    free(list);
    return CMD_EXIT_OK;
}
