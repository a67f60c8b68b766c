/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-migrate.c - "xlmig migrate": live-migrate a domain to another host,
 * with xl migrate's options and meaning, printing each phase.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

#define CMD_MIGRATE_DEBUG (CMD_OPT_LONG + 0)
#define CMD_MIGRATE_LIVE (CMD_OPT_LONG + 1)
#define CMD_MIGRATE_TIMEOUT (CMD_OPT_LONG + 2)
#define CMD_MIGRATE_RECEIVER (CMD_OPT_LONG + 3)
#define CMD_MIGRATE_NO_WAIT (CMD_OPT_LONG + 4)
#define CMD_MIGRATE_FORCE (CMD_OPT_LONG + 5)
#define CMD_MIGRATE_TIMEOUT_DEFAULT 120

static int cmd_migrate_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_migrate_longopts[] = {
    { "debug", no_argument, NULL, CMD_MIGRATE_DEBUG },
    { "live", no_argument, NULL, CMD_MIGRATE_LIVE },
    { "timeout", required_argument, NULL, CMD_MIGRATE_TIMEOUT },
    { "receiver", required_argument, NULL, CMD_MIGRATE_RECEIVER },
    { "no-wait", no_argument, NULL, CMD_MIGRATE_NO_WAIT },
    { "force", required_argument, NULL, CMD_MIGRATE_FORCE },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_migrate_entry = {
    .name = "migrate",
    .usage = "[options] <domain> <host>",
    .help = "Live-migrate a domain to another host (like xl migrate)",
    .details =
        "Options:\n"
        "  -s SSHCMD       use SSHCMD instead of ssh; if empty, <host> is\n"
        "                  the whole command that runs a receiver (xlmig\n"
        "                  or xl migrate-receive)\n"
        "  -e, -F          no monitor process for the domain at the\n"
        "                  destination\n"
        "  -p              leave the domain paused at the destination\n"
        "  -C CONFIG       send CONFIG (xl.cfg or libxl JSON) instead of\n"
        "                  the stored configuration\n"
        "  -D              keep the same domid at the destination\n"
        "  --debug         libxc verify pass (slow)\n"
        "  --timeout SECS  fail when the peer is silent this long\n"
        "                  (default 120; 0 waits for ever, as xl)\n"
        "  --receiver PROG program to run on <host> (default xlmig)\n"
        "  --no-wait       fail at once if this host is at its limit of\n"
        "                  outgoing migrations instead of queueing\n"
        "  --force=ID,...  go on despite these pre-flight errors (ids as\n"
        "                  xlmig check prints them)\n"
        "  --live          accepted and ignored, as xl does\n"
        "\nThe pre-flight checks of xlmig check run first; an error stops\n"
        "the migration before anything changes.\n"
        "\nExit status: 0 migrated; 1 failed and the domain still runs\n"
        "here; 2 usage; 3 failed after the point of no return (check\n"
        "both hosts).\n",
    .opts = "s:eFpC:D",
    .longopts = cmd_migrate_longopts,
    .min_args = 2, .max_args = 2,
    .flags = CMD_MODIFIES,
    .exec = cmd_migrate_exec,
};

struct cmd_migrate_out {
    bool tty;
    bool progress_shown;        /* a \r progress line is on screen */
};

static void cmd_migrate_event(void *arg, const struct xlmig_event *ev)
{
    struct cmd_migrate_out *out = arg;
    const struct xlmig_progress *p = ev->progress;

    if (ev->type == XLMIG_EV_PROGRESS) {
        if (!out->tty) return;
        fprintf(stderr, "\r[%6.1fs] %s: %.1f MB, %llu pages, round %u%s",
                ev->elapsed, xlmig_phase_name(ev->phase),
                (double)p->bytes / 1e6, (unsigned long long)p->pages,
                p->round, p->suspended ? " (guest suspended)" : "");
        out->progress_shown = true;
        return;
    }
    if (ev->type == XLMIG_EV_CHECK && ev->check->severity ==
        XLMIG_CHECK_INFO)
        return;
    if (out->progress_shown) fputc('\n', stderr);
    out->progress_shown = false;
    if (ev->type == XLMIG_EV_CHECK)
        cmd_check_print(stderr, ev->check, "           ");
    else if (ev->type == XLMIG_EV_PHASE)
        fprintf(stderr, "[%6.1fs] %s: %s\n", ev->elapsed,
                xlmig_phase_name(ev->phase), ev->detail ? ev->detail : "");
    else
        fprintf(stderr, "[%6.1fs]   %s\n", ev->elapsed,
                ev->detail ? ev->detail : "");
}

static void cmd_migrate_report(struct cmd_ctx *c, int rc, const char *domain,
                               const char *host,
                               const struct xlmig_migrate_result *res)
{
    const char *name = res->name[0] ? res->name : domain;

    if (!rc) {
        printf("migrated %s to %s in %.1f s (downtime %.0f ms, %.1f MB in "
               "%u rounds)\n", name, host, res->total_s,
               res->downtime_s * 1000,
               (double)res->progress.bytes / 1e6, res->progress.round);
        return;
    }
    switch (res->where) {
    case XLMIG_WHERE_SOURCE:
        if (res->failed_phase <= XLMIG_PHASE_CONNECT)
            cmd_error(c, "migration of %s failed in phase %s: %s; nothing "
                      "was changed", name,
                      xlmig_phase_name(res->failed_phase),
                      xlmig_strerror(rc));
        else
            cmd_error(c, "migration of %s failed in phase %s: %s; %s "
                      "still runs on this host", name,
                      xlmig_phase_name(res->failed_phase),
                      xlmig_strerror(rc), name);
        break;
    case XLMIG_WHERE_DEST:
        cmd_error(c, "%s runs on %s, but cleaning up here failed: %s",
                  name, host, xlmig_strerror(rc));
        break;
    case XLMIG_WHERE_UNKNOWN:
        cmd_error(c, "migration of %s failed in phase %s: %s; check both "
                  "hosts before resuming any copy", name,
                  xlmig_phase_name(res->failed_phase), xlmig_strerror(rc));
        break;
    }
}

static int cmd_migrate_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct xlmig_migrate_opts o;
    struct xlmig_migrate_result res;
    struct cmd_migrate_out out = { .tty = isatty(STDERR_FILENO) == 1 };
    struct xlmig_ctx *lib;
    long long timeout = CMD_MIGRATE_TIMEOUT_DEFAULT;
    char *cause = NULL;
    int rc;

    memset(&o, 0, sizeof(o));
    if (cmd_has(args, CMD_MIGRATE_TIMEOUT) &&
        cmd_strtonum(cmd_get(args, CMD_MIGRATE_TIMEOUT), 0, 86400,
                     &timeout, &cause)) {
        cmd_error(c, "--timeout: %s", cause);
        free(cause);
        return CMD_EXIT_USAGE;
    }
    o.ssh_command = cmd_get(args, 's');
    o.receiver_program = cmd_get(args, CMD_MIGRATE_RECEIVER);
    o.config_file = cmd_get(args, 'C');
    o.debug = cmd_has(args, CMD_MIGRATE_DEBUG);
    o.paused = cmd_has(args, 'p');
    o.no_monitor = cmd_has(args, 'e') || cmd_has(args, 'F');
    o.preserve_domid = cmd_has(args, 'D');
    o.no_wait = cmd_has(args, CMD_MIGRATE_NO_WAIT);
    o.force = cmd_get(args, CMD_MIGRATE_FORCE);
    if (cmd_check_force_arg(c, o.force)) return CMD_EXIT_USAGE;
    o.timeout_s = (unsigned)timeout;
    o.cancel_fd = sig_cancel_fd();
    o.event_fn = cmd_migrate_event;
    o.event_arg = &out;
    lib = cmd_lib(c);
    if (!lib) return CMD_EXIT_FAILED;
    /* Our own progress line replaces libxc's, as xl hides its meter. */
    cmd_hide_progress(c, true);
    rc = xlmig_migrate(lib, args->argv[0], args->argv[1], &o, &res);
    if (out.progress_shown) fputc('\n', stderr);
    cmd_migrate_report(c, rc, args->argv[0], args->argv[1], &res);
    return cmd_exit_status(rc);
}
