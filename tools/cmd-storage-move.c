/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-storage-move.c - "xlmig storage-move": moves one disk of a domain
 * to another storage repository (a halted domain's; a running one's
 * live, or with --offline), as one job with progress, cancel and
 * recover.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

#define CMD_SMOVE_FORMAT (CMD_OPT_LONG + 0)
#define CMD_SMOVE_KEEP (CMD_OPT_LONG + 1)
#define CMD_SMOVE_OFFLINE (CMD_OPT_LONG + 2)
#define CMD_SMOVE_PROGRESS (CMD_OPT_LONG + 3)
#define CMD_SMOVE_BANDWIDTH (CMD_OPT_LONG + 4)
#define CMD_SMOVE_CONFIG (CMD_OPT_LONG + 5)
#define CMD_SMOVE_YES (CMD_OPT_LONG + 6)
#define CMD_SMOVE_SAVE_DIR (CMD_OPT_LONG + 7)
#define CMD_SMOVE_NO_WAIT (CMD_OPT_LONG + 8)

static int cmd_storage_move_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_storage_move_longopts[] = {
    { "format", required_argument, NULL, CMD_SMOVE_FORMAT },
    { "keep-source", no_argument, NULL, CMD_SMOVE_KEEP },
    { "offline", no_argument, NULL, CMD_SMOVE_OFFLINE },
    { "progress", required_argument, NULL, CMD_SMOVE_PROGRESS },
    { "bandwidth", required_argument, NULL, CMD_SMOVE_BANDWIDTH },
    { "config", required_argument, NULL, CMD_SMOVE_CONFIG },
    { "yes", no_argument, NULL, CMD_SMOVE_YES },
    { "save-dir", required_argument, NULL, CMD_SMOVE_SAVE_DIR },
    { "no-wait", no_argument, NULL, CMD_SMOVE_NO_WAIT },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_storage_move_entry = {
    .name = "storage-move",
    .usage = "[options] DOMAIN VDEV SR | --config FILE [options] VDEV SR",
    .help = "Move a domain's disk to another storage repository",
    .details =
        "Copies disk VDEV (sparse, verified) into SR, points the domain at\n"
        "the copy, then removes the source. A running domain's disk moves\n"
        "live: mirrored while the guest runs, then switched; the domain's\n"
        "config must name it by a symlink (re-pointed at the switch), and\n"
        "it must be a qdisk whose QEMU has a QMP monitor of xlmig's or a\n"
        "disk attached by script=block-xlmig (see xlmig-storage(1)).\n"
        "  --config FILE     the domain's config file (xl.cfg or libxl\n"
        "                    JSON): a halted domain's; for a running one,\n"
        "                    rewritten too. Only its disk line changes.\n"
        "  --offline         a running domain: save it to a file, destroy\n"
        "                    it, copy, restore it on the copy (the guest\n"
        "                    is stopped for the copy; confirm with --yes\n"
        "                    when not on a terminal)\n"
        "  --format raw|qcow2  the copy's format (default: the source's;\n"
        "                    vmdk, vhdx and vpc sources become raw)\n"
        "  --keep-source     leave the source image\n"
        "  --save-dir DIR    where an offline move saves the guest\n"
        "                    (default: the target SR, else /var/lib/xlmig)\n"
        "  --bandwidth RATE  read at most RATE (100M, 800Mbit, ...; a\n"
        "                    device-mapper mirror runs at the kernel's pace)\n"
        "  --progress MODE   tty (default on a terminal), json or none\n"
        "  --no-wait         fail if the storage slots are all taken\n"
        "\nxlmig job-cancel stops it before the switch to the copy; xlmig\n"
        "recover finishes or undoes a move whose process died.\n"
        "\nExit status: 0 moved; 1 failed and the domain uses its source;\n"
        "2 usage; 3 interrupted after the switch began (run xlmig "
        "recover).\n",
    .opts = "",
    .longopts = cmd_storage_move_longopts,
    .min_args = 2, .max_args = 3,
    .flags = CMD_MODIFIES,
    .exec = cmd_storage_move_exec,
};

struct cmd_smove_out {
    enum cmd_progress mode;
    bool shown;
};

static void cmd_storage_move_event(void *arg, const struct xlmig_event *ev)
{
    struct cmd_smove_out *out = arg;

    if (ev->type == XLMIG_EV_NO_RETURN) sig_refuse("storage-move", ev->detail);
    if (out->mode == CMD_PROGRESS_JSON) cmd_event_json(ev);
    else cmd_event_text(ev, &out->shown);
}

/* Progress events in the event's JSON shape, or a \r line. */
static void cmd_storage_move_progress(void *arg,
                                      const struct xlmig_storage_progress *p)
{
    struct cmd_smove_out *out = arg;

    if (out->mode == CMD_PROGRESS_JSON) {
        printf("{\"event\": \"progress\", \"phase\": \"transfer\", "
               "\"bytes\": %llu, \"total\": %llu, \"rate\": %.0f, "
               "\"eta\": %.1f}\n", (unsigned long long)p->done,
               (unsigned long long)p->total, p->rate, p->eta_s);
        fflush(stdout);
        return;
    }
    if (out->mode != CMD_PROGRESS_TTY) return;
    fprintf(stderr, "\r  %llu of %llu MiB (%.0f %%)",
            (unsigned long long)(p->done >> 20),
            (unsigned long long)(p->total >> 20),
            p->total ? 100.0 * (double)p->done / (double)p->total : 100.0);
    if (p->rate > 0) fprintf(stderr, ", %.1f MiB/s", p->rate / (1 << 20));
    if (p->eta_s >= 0) fprintf(stderr, ", %.0f s left", p->eta_s);
    fputs("\033[K", stderr);
    out->shown = true;
}

/* An offline move stops the guest: say for how long, and ask. */
static int cmd_storage_move_confirm(struct cmd_ctx *c,
                                    const struct xlmig_storage_opts *o,
                                    bool yes)
{
    uint64_t size, data;
    double secs;
    char answer[16];
    int rc;

    rc = xlmig_storage_estimate(c->lib, o, &size, &data, &secs);
    if (rc) {
        cmd_error(c, "%s: %s", o->domain, xlmig_strerror(rc));
        return cmd_exit_status(rc);
    }
    fprintf(stderr, "%s will be stopped while disk %s (%llu MiB, %llu MiB "
            "allocated) is copied: about %.0f s, an estimate\n", o->domain,
            o->vdev, (unsigned long long)(size >> 20),
            (unsigned long long)(data >> 20), secs);
    if (yes) return CMD_EXIT_OK;
    if (!isatty(STDIN_FILENO)) {
        cmd_error(c, "an offline move stops the guest: confirm with --yes");
        return CMD_EXIT_USAGE;
    }
    fprintf(stderr, "go on? [y/N] ");
    if (!fgets(answer, sizeof(answer), stdin) ||
        (answer[0] != 'y' && answer[0] != 'Y')) {
        cmd_error(c, "not moved");
        return CMD_EXIT_FAILED;
    }
    return CMD_EXIT_OK;
}

static int cmd_storage_move_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct xlmig_storage_opts o;
    struct xlmig_storage_result res;
    struct cmd_smove_out out;
    int rc, i = 0, status;

    memset(&o, 0, sizeof(o));
    o.config_file = cmd_get(args, CMD_SMOVE_CONFIG);
    if (args->argc == 3) o.domain = args->argv[i++];
    else if (!o.config_file) {
        cmd_error(c, "give DOMAIN VDEV SR, or --config FILE VDEV SR for a "
                  "domain that is not running");
        return CMD_EXIT_USAGE;
    }
    o.vdev = args->argv[i++];
    o.sr = args->argv[i];
    o.format = cmd_get(args, CMD_SMOVE_FORMAT);
    if (o.format && strcmp(o.format, "raw") && strcmp(o.format, "qcow2")) {
        cmd_error(c, "--format: expected raw or qcow2, not '%s'", o.format);
        return CMD_EXIT_USAGE;
    }
    o.keep_source = cmd_has(args, CMD_SMOVE_KEEP);
    o.offline = cmd_has(args, CMD_SMOVE_OFFLINE);
    o.save_dir = cmd_get(args, CMD_SMOVE_SAVE_DIR);
    o.no_wait = cmd_has(args, CMD_SMOVE_NO_WAIT);
    if (o.offline && !o.domain) {
        cmd_error(c, "--offline moves a running domain: give DOMAIN");
        return CMD_EXIT_USAGE;
    }
    if (cmd_has(args, CMD_SMOVE_BANDWIDTH) &&
        xlmig_parse_rate(cmd_get(args, CMD_SMOVE_BANDWIDTH), &o.bandwidth)) {
        cmd_error(c, "--bandwidth: '%s' is not a rate (100M, 800Mbit, ...)",
                  cmd_get(args, CMD_SMOVE_BANDWIDTH));
        return CMD_EXIT_USAGE;
    }
    memset(&out, 0, sizeof(out));
    if (cmd_progress_arg(c, cmd_get(args, CMD_SMOVE_PROGRESS), &out.mode))
        return CMD_EXIT_USAGE;
    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    if (o.offline) {
        status = cmd_storage_move_confirm(c, &o, cmd_has(args, CMD_SMOVE_YES));
        if (status) return status;
    }
    cmd_hide_progress(c, out.mode != CMD_PROGRESS_NONE);
    o.cancel_fd = sig_cancel_fd();
    o.event_fn = cmd_storage_move_event;
    o.progress_fn = cmd_storage_move_progress;
    o.event_arg = &out;
    rc = xlmig_storage_move(c->lib, &o, &res);
    if (out.shown) fputc('\n', stderr);
    if (rc == XLMIG_OK && res.domid != 0x7ff4u)
        (void)cmd_start_monitor(c, res.domid);
    if (out.mode == CMD_PROGRESS_JSON) {
        printf("{\"event\": \"result\", \"ok\": %s, \"error\": \"%s\", "
               "\"job\": ", rc ? "false" : "true", rc ? xlmig_errname(rc)
                                                      : "");
        cmd_json_str(res.job);
        printf(", \"source\": ");
        cmd_json_str(res.source);
        printf(", \"target\": ");
        cmd_json_str(res.target);
        printf(", \"switched\": %s, \"size\": %llu, \"data\": %llu, "
               "\"written\": %llu, \"copy_s\": %.3f, \"verify_s\": %.3f, "
               "\"total_s\": %.3f}\n", res.switched ? "true" : "false",
               (unsigned long long)res.size, (unsigned long long)res.data,
               (unsigned long long)res.written, res.copy_s, res.verify_s,
               res.total_s);
    }
    if (rc) {
        cmd_error(c, "disk %s not moved: %s; %s", o.vdev, xlmig_strerror(rc),
                  rc == XLMIG_E_UNSAFE ? "run xlmig recover"
                  : res.switched       ? "the domain uses the copy"
                                       : "the domain uses its source");
        return cmd_exit_status(rc);
    }
    if (out.mode != CMD_PROGRESS_JSON && !o.offline && res.domid == 0x7ff4u
        && o.domain)
        printf("moved %s to %s live in %.1f s (in sync after %.1f s)\n",
               res.source, res.target, res.total_s, res.copy_s);
    else if (out.mode != CMD_PROGRESS_JSON)
        printf("moved %s to %s in %.1f s (%.1f MiB written, verified)\n",
               res.source, res.target, res.total_s,
               (double)res.written / (1 << 20));
    return CMD_EXIT_OK;
}
