/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-check.c - "xlmig check": every pre-flight check of migrating a
 * domain to a host, on both hosts, changing nothing. Also the printing of
 * check results that "xlmig migrate" shares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

#define CMD_CHECK_JSON (CMD_OPT_LONG + 0)
#define CMD_CHECK_FORCE (CMD_OPT_LONG + 1)
#define CMD_CHECK_RECEIVER (CMD_OPT_LONG + 2)
#define CMD_CHECK_TIMEOUT (CMD_OPT_LONG + 3)
#define CMD_CHECK_DATA (CMD_OPT_LONG + 4)
#define CMD_CHECK_TIMEOUT_DEFAULT 60
#define CMD_CHECK_FORCE_MAX 1024

static int cmd_check_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_check_longopts[] = {
    { "json", no_argument, NULL, CMD_CHECK_JSON },
    { "force", required_argument, NULL, CMD_CHECK_FORCE },
    { "receiver", required_argument, NULL, CMD_CHECK_RECEIVER },
    { "timeout", required_argument, NULL, CMD_CHECK_TIMEOUT },
    { "data", required_argument, NULL, CMD_CHECK_DATA },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_check_entry = {
    .name = "check",
    .usage = "[options] <domain> <host>",
    .help = "Run every pre-flight check of a migration, changing nothing",
    .details =
        "Source checks run here; destination checks run on <host> when it\n"
        "runs xlmig (xlmig/1 is negotiated; with stock xl only the source\n"
        "is checked, and the report says so). Each result has an id, a\n"
        "severity (error, warning, ok), a message and a remedy.\n"
        "Options:\n"
        "  -s SSHCMD        as migrate -s\n"
        "  -C CONFIG        check CONFIG (xl.cfg or libxl JSON) instead of\n"
        "                   the stored configuration\n"
        "  --receiver PROG  program to run on <host> (default xlmig)\n"
        "  --force=ID,...   report these errors as forced (as migrate\n"
        "                   --force would skip them)\n"
        "  --json           one JSON object on stdout\n"
        "  --timeout SECS   fail when the peer is silent this long (60)\n"
        "  --data auto|ssh|tcp[:PORT]  as migrate --data (default: this\n"
        "                   host's migrate_data, else auto): a data\n"
        "                   connection is made to the destination and\n"
        "                   closed (check data-connection)\n"
        "Checks: domain-busy migrate-disabled pci-passthrough\n"
        "usb-passthrough dt-passthrough vnuma vtpm paging-source\n"
        "guest-suspend name-away destination-checks xen-version\n"
        "stream-version guest-type paging cpu-features memory\n"
        "vcpu-affinity cpupool disk-visible disk-storage disk-backend\n"
        "nic-bridge nic-script name-free uuid-free maintenance admission\n"
        "data-connection (the stream's way: from this host's migration\n"
        "address to the destination's), incoming-policy (the\n"
        "destination's own, with name-free, uuid-free, maintenance and\n"
        "its scripts: not forceable here),\n"
        "host-facts (facts of either host could not be read),\n"
        "and script:NAME for each /etc/xen/xlmig/checks.d/NAME.\n"
        "\nExit status: 0 no error (forced ones aside); 1 an error, or the\n"
        "checks could not run; 2 usage.\n",
    .opts = "s:C:",
    .longopts = cmd_check_longopts,
    .min_args = 2, .max_args = 2,
    .flags = CMD_MODIFIES,
    .exec = cmd_check_exec,
};

static const char *cmd_check_label(const struct xlmig_check_result *r)
{
    if (r->severity == XLMIG_CHECK_INFO) return "ok";
    return xlmig_check_severity_name(r->severity);
}

void cmd_check_print(FILE *f, const struct xlmig_check_result *r,
                     const char *indent)
{
    fprintf(f, "%s%-7s %s: %s%s\n", indent, cmd_check_label(r), r->id,
            r->message, r->forced ? " (forced)" : "");
    if (r->severity != XLMIG_CHECK_INFO && r->remedy[0])
        fprintf(f, "%s  remedy: %s\n", indent, r->remedy);
}

int cmd_check_force_arg(struct cmd_ctx *c, const char *list)
{
    char *copy, *id, *save;
    int rc = 0;

    if (!list) return 0;
    if (!*list || strlen(list) > CMD_CHECK_FORCE_MAX) {
        cmd_error(c, "--force: give check ids separated by commas");
        return -1;
    }
    copy = strdup(list);
    if (!copy) abort();
    for (id = strtok_r(copy, ",", &save); id && !rc;
         id = strtok_r(NULL, ",", &save)) {
        if (xlmig_check_id_known(id)) continue;
        cmd_error(c, "--force: '%s' is not a check id (see xlmig help "
                  "check)", id);
        rc = -1;
    }
    free(copy);
    return rc;
}

static void cmd_check_json(const char *host,
                           const struct xlmig_check_report *rep)
{
    const struct xlmig_check_result *r;
    size_t i;

    fputs("{\"domain\": ", stdout);
    cmd_json_str(rep->domain);
    fputs(", \"host\": ", stdout);
    cmd_json_str(host);
    fputs(", \"peer\": ", stdout);
    cmd_json_str(rep->peer);
    printf(", \"destination_checked\": %s, \"ok\": %s, \"errors\": %zu, "
           "\"results\": [", rep->destination_checked ? "true" : "false",
           rep->errors ? "false" : "true", rep->errors);
    for (i = 0; i < rep->n; i++) {
        r = &rep->results[i];
        fputs(i ? ",\n  {\"id\": " : "\n  {\"id\": ", stdout);
        cmd_json_str(r->id);
        printf(", \"severity\": \"%s\", \"side\": \"%s\", \"message\": ",
               xlmig_check_severity_name(r->severity),
               r->destination ? "destination" : "source");
        cmd_json_str(r->message);
        fputs(", \"remedy\": ", stdout);
        cmd_json_str(r->remedy);
        printf(", \"forced\": %s}", r->forced ? "true" : "false");
    }
    fputs("]", stdout);
    if (rep->memory_known)
        printf(", \"memory\": {\"need_kib\": %llu, \"free_kib\": %llu}",
               (unsigned long long)rep->memory_need_kib,
               (unsigned long long)rep->memory_free_kib);
    fputs("}\n", stdout);
}

static void cmd_check_text(const char *host,
                           const struct xlmig_check_report *rep)
{
    size_t i, warnings = 0;
    bool dest_header = false;

    printf("source checks (this host), %s to %s:\n", rep->domain, host);
    for (i = 0; i < rep->n; i++) {
        if (rep->results[i].destination && !dest_header) {
            printf("destination checks (%s, %s):\n", host, rep->peer);
            dest_header = true;
        }
        cmd_check_print(stdout, &rep->results[i], "  ");
        if (rep->results[i].severity == XLMIG_CHECK_WARNING) warnings++;
    }
    printf("%s %s migrate to %s: %zu error%s, %zu warning%s%s\n",
           rep->domain, rep->errors ? "cannot" : "can", host, rep->errors,
           rep->errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s",
           rep->destination_checked ? "" : " (destination not checked)");
}

static int cmd_check_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct xlmig_migrate_opts o;
    struct xlmig_check_report rep;
    long long timeout = CMD_CHECK_TIMEOUT_DEFAULT;
    char *cause = NULL;
    int rc;

    memset(&o, 0, sizeof(o));
    if (cmd_has(args, CMD_CHECK_TIMEOUT) &&
        cmd_strtonum(cmd_get(args, CMD_CHECK_TIMEOUT), 0, 86400, &timeout,
                     &cause)) {
        cmd_error(c, "--timeout: %s", cause);
        free(cause);
        return CMD_EXIT_USAGE;
    }
    o.force = cmd_get(args, CMD_CHECK_FORCE);
    if (cmd_check_force_arg(c, o.force)) return CMD_EXIT_USAGE;
    o.data = cmd_get(args, CMD_CHECK_DATA);
    if (cmd_stream_args(c, o.data, NULL)) return CMD_EXIT_USAGE;
    o.ssh_command = cmd_get(args, 's');
    o.receiver_program = cmd_get(args, CMD_CHECK_RECEIVER);
    o.config_file = cmd_get(args, 'C');
    o.timeout_s = (unsigned)timeout;
    o.cancel_fd = sig_cancel_fd();
    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_check(c->lib, args->argv[0], args->argv[1], &o, &rep);
    if (rc) {
        cmd_error(c, "cannot check %s against %s: %s", args->argv[0],
                  args->argv[1], xlmig_strerror(rc));
        xlmig_check_report_dispose(&rep);
        return CMD_EXIT_FAILED;
    }
    if (cmd_has(args, CMD_CHECK_JSON)) cmd_check_json(args->argv[1], &rep);
    else cmd_check_text(args->argv[1], &rep);
    rc = rep.errors ? CMD_EXIT_FAILED : CMD_EXIT_OK;
    xlmig_check_report_dispose(&rep);
    return rc;
}
