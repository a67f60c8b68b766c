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
#define CMD_MIGRATE_PROGRESS (CMD_OPT_LONG + 6)
#define CMD_MIGRATE_BANDWIDTH (CMD_OPT_LONG + 7)
#define CMD_MIGRATE_DATA (CMD_OPT_LONG + 8)
#define CMD_MIGRATE_COMPRESS (CMD_OPT_LONG + 9)
#define CMD_MIGRATE_ENCRYPT (CMD_OPT_LONG + 10)
#define CMD_MIGRATE_STORAGE (CMD_OPT_LONG + 11)
#define CMD_MIGRATE_KEEP (CMD_OPT_LONG + 12)
#define CMD_MIGRATE_MAX_DOWNTIME (CMD_OPT_LONG + 13)
#define CMD_MIGRATE_CONVERGE (CMD_OPT_LONG + 14)
#define CMD_MIGRATE_MAX_ROUNDS (CMD_OPT_LONG + 15)
#define CMD_MIGRATE_MAX_PRECOPY_TIME (CMD_OPT_LONG + 16)
#define CMD_MIGRATE_NO_LIVE (CMD_OPT_LONG + 17)
#define CMD_MIGRATE_NO_ENCRYPT (CMD_OPT_LONG + 18)
#define CMD_MIGRATE_STORAGE_MAX 8       /* a journal's disks */
#define CMD_MIGRATE_TIMEOUT_DEFAULT 120

static int cmd_migrate_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_migrate_longopts[] = {
    { "debug", no_argument, NULL, CMD_MIGRATE_DEBUG },
    { "live", no_argument, NULL, CMD_MIGRATE_LIVE },
    { "timeout", required_argument, NULL, CMD_MIGRATE_TIMEOUT },
    { "receiver", required_argument, NULL, CMD_MIGRATE_RECEIVER },
    { "no-wait", no_argument, NULL, CMD_MIGRATE_NO_WAIT },
    { "force", required_argument, NULL, CMD_MIGRATE_FORCE },
    { "progress", required_argument, NULL, CMD_MIGRATE_PROGRESS },
    { "bandwidth", required_argument, NULL, CMD_MIGRATE_BANDWIDTH },
    { "data", required_argument, NULL, CMD_MIGRATE_DATA },
    { "compress", required_argument, NULL, CMD_MIGRATE_COMPRESS },
    { "encrypt", no_argument, NULL, CMD_MIGRATE_ENCRYPT },
    { "no-encrypt", no_argument, NULL, CMD_MIGRATE_NO_ENCRYPT },
    { "config", required_argument, NULL, 'C' },
    { "storage", required_argument, NULL, CMD_MIGRATE_STORAGE },
    { "keep-source", no_argument, NULL, CMD_MIGRATE_KEEP },
    { "max-downtime", required_argument, NULL, CMD_MIGRATE_MAX_DOWNTIME },
    { "converge", required_argument, NULL, CMD_MIGRATE_CONVERGE },
    { "max-rounds", required_argument, NULL, CMD_MIGRATE_MAX_ROUNDS },
    { "max-precopy-time", required_argument, NULL,
      CMD_MIGRATE_MAX_PRECOPY_TIME },
    { "no-live", no_argument, NULL, CMD_MIGRATE_NO_LIVE },
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
        "  -C, --config CONFIG  send CONFIG (xl.cfg or libxl JSON)\n"
        "                  instead of the stored configuration. For a\n"
        "                  domain that is not running here: a cold\n"
        "                  migration, CONFIG goes to <host>'s /etc/xen\n"
        "                  (checked there, never replacing a file) and\n"
        "                  is removed here; nothing is started\n"
        "  --storage VDEV=SR[,VDEV=SR...]  move these disks into SRs\n"
        "                  both hosts see: mirrored while the guest runs,\n"
        "                  copies complete when it is suspended; the\n"
        "                  destination runs on the copies, the sources\n"
        "                  are then removed here (cold migration: moved\n"
        "                  first)\n"
        "  --keep-source   with --storage: leave the source images\n"
        "  -D              keep the same domid at the destination\n"
        "  --debug         libxc verify pass (slow)\n"
        "  --timeout SECS  fail when the peer is silent this long\n"
        "                  (default 120; 0 waits for ever, as xl)\n"
        "  --receiver PROG program to run on <host> (default xlmig;\n"
        "                  invoked as xl with -s: xl, as xl's rune)\n"
        "  --no-wait       fail at once if this host is at its limit of\n"
        "                  outgoing migrations instead of queueing\n"
        "  --force=ID,...  go on despite these pre-flight errors (ids as\n"
        "                  xlmig check prints them; not the destination's\n"
        "                  own: incoming-policy, maintenance, name-free,\n"
        "                  uuid-free, its check scripts)\n"
        "  --progress=MODE tty: a live progress line on stderr (the\n"
        "                  default on a terminal); json: one JSON object\n"
        "                  per event on stdout (phase, progress, check,\n"
        "                  info, and the result last); none\n"
        "  --bandwidth RATE  limit the stream to RATE: bytes/s as N, NK,\n"
        "                  NM, NG (decimal) or bits as NMbit, NGbit;\n"
        "                  xlmig job-set ID bandwidth=RATE changes it\n"
        "  --data auto|ssh|tcp[:PORT]  how the stream goes to an xlmig\n"
        "                  receiver: tcp, a direct TCP connection to its\n"
        "                  migration address (or the address ssh\n"
        "                  reached), keyed with a one-time key sent over\n"
        "                  ssh (PORT: the receiver's; default any); ssh,\n"
        "                  inside the ssh connection; auto (the default),\n"
        "                  tcp if it is made within a few seconds, else\n"
        "                  ssh, announced. tcp asked for must be made\n"
        "  --compress none|lz4|zstd|auto  compress the stream (auto, the\n"
        "                  default: per frame, by measured link and codec\n"
        "                  speed); all-zero pages are always left out\n"
        "  --encrypt, --no-encrypt  AES-256-GCM on the stream, or not\n"
        "                  (default: on a data connection; ssh encrypts\n"
        "                  its own); frames are always authenticated\n"
        "  --max-downtime MS  stop the live rounds when stopping is\n"
        "                  predicted to pause the guest at most MS\n"
        "                  (default 300, or max_downtime_ms in xlmig.conf)\n"
        "  --converge force|throttle|abort  a guest that does not get\n"
        "                  there: stop and copy anyway (xl's way), cap\n"
        "                  its vCPUs in growing steps until it does (the\n"
        "                  default; its own cap is always put back), or\n"
        "                  fail before it is paused, naming the rates\n"
        "  --max-rounds N  at most N live rounds (default 30)\n"
        "  --max-precopy-time SECS  at most SECS of live rounds (default\n"
        "                  no limit)\n"
        "  --no-live       pause the guest, copy it once, resume it there\n"
        "                  (the shortest total for a guest that dirties\n"
        "                  faster than the link)\n"
        "  --live          accepted and ignored, as xl does\n"
        "\nxlmig.conf's migrate_data, migrate_compress and migrate_encrypt\n"
        "set this host's defaults of --data, --compress and --encrypt.\n"
        "What is asked (here or there) is required; defaults give way to\n"
        "what the receiver can do, and say so.\n"
        "\nThe pre-flight checks of xlmig check run first; an error stops\n"
        "the migration before anything changes.\n"
        "\nExit status: 0 migrated; 1 failed and the domain still runs\n"
        "here; 2 usage; 3 failed after the point of no return (check\n"
        "both hosts).\n",
    .opts = "s:eFpC:D",
    .longopts = cmd_migrate_longopts,
    .min_args = 2, .max_args = 2,
    .flags = CMD_MODIFIES | CMD_XL,
    .exec = cmd_migrate_exec,
};

struct cmd_migrate_out {
    enum cmd_progress mode;
    bool progress_shown;        /* a \r progress line is on screen */
};

/* One event as a JSON object on a line of its own (--progress=json). */
void cmd_event_json(const struct xlmig_event *ev)
{
    static const char *const types[] = {
        [XLMIG_EV_PHASE] = "phase", [XLMIG_EV_PROGRESS] = "progress",
        [XLMIG_EV_INFO] = "info", [XLMIG_EV_CHECK] = "check",
        [XLMIG_EV_NO_RETURN] = "no-return",
    };
    const struct xlmig_progress *p = ev->progress;
    const struct xlmig_check_result *r = ev->check;

    printf("{\"event\": \"%s\", \"phase\": \"%s\", \"elapsed\": %.3f",
           types[ev->type], xlmig_phase_name(ev->phase), ev->elapsed);
    if (ev->type == XLMIG_EV_PROGRESS) {
        printf(", \"bytes\": %llu, \"pages\": %llu, \"round\": %u, "
               "\"round_pages\": %llu, \"last_round_pages\": %llu, "
               "\"total_pages\": %llu, \"rate\": %.0f, \"eta\": %.1f, "
               "\"suspended\": %s, \"wire_bytes\": %llu, "
               "\"zero_pages\": %llu, \"peer_bytes\": %llu, "
               "\"precopy_round\": %u, \"precopy_pages\": %llu, "
               "\"dirty_rate\": %.0f, \"predicted_downtime_ms\": %.0f, "
               "\"throttle\": %u",
               (unsigned long long)p->bytes,
               (unsigned long long)p->pages, p->round,
               (unsigned long long)p->round_pages,
               (unsigned long long)p->last_round_pages,
               (unsigned long long)p->total_pages, p->rate, p->eta_s,
               p->suspended ? "true" : "false",
               (unsigned long long)p->wire_bytes,
               (unsigned long long)p->zero_pages,
               (unsigned long long)p->peer_bytes, p->precopy_round,
               (unsigned long long)p->precopy_pages, p->dirty_rate,
               p->predicted_downtime_ms, p->throttle);
    } else if (ev->type == XLMIG_EV_CHECK) {
        fputs(", \"id\": ", stdout);
        cmd_json_str(r->id);
        printf(", \"severity\": \"%s\", \"side\": \"%s\", \"forced\": %s, "
               "\"message\": ", xlmig_check_severity_name(r->severity),
               r->destination ? "destination" : "source",
               r->forced ? "true" : "false");
        cmd_json_str(r->message);
        fputs(", \"remedy\": ", stdout);
        cmd_json_str(r->remedy);
    } else {
        fputs(", \"detail\": ", stdout);
        cmd_json_str(ev->detail ? ev->detail : "");
    }
    fputs("}\n", stdout);
    fflush(stdout);
}

static void cmd_migrate_tty(const struct xlmig_event *ev)
{
    const struct xlmig_progress *p = ev->progress;

    fprintf(stderr, "\r[%6.1fs] %s: %.1f MB, round %u", ev->elapsed,
            xlmig_phase_name(ev->phase), (double)p->bytes / 1e6, p->round);
    if (p->round == 1 && p->total_pages)
        fprintf(stderr, ": %llu/%llu pages", (unsigned long long)p->round_pages,
                (unsigned long long)p->total_pages);
    else
        fprintf(stderr, ": %llu pages (round before: %llu)",
                (unsigned long long)p->round_pages,
                (unsigned long long)p->last_round_pages);
    if (p->rate) fprintf(stderr, ", %.1f MB/s", p->rate / 1e6);
    if (p->wire_bytes && p->wire_bytes < p->bytes)
        fprintf(stderr, ", %.1f MB sent", (double)p->wire_bytes / 1e6);
    if (p->precopy_round && p->dirty_rate)
        fprintf(stderr, ", dirtying %.1f MB/s",
                p->dirty_rate * 4096 / 1e6);
    if (p->precopy_round && p->predicted_downtime_ms >= 0 && !p->suspended)
        fprintf(stderr, ", downtime now ~%.0f ms", p->predicted_downtime_ms);
    if (p->throttle) fprintf(stderr, ", throttled %u %%", p->throttle);
    if (p->suspended) fputs(" (guest suspended)", stderr);
    else if (p->eta_s >= 0) fprintf(stderr, ", round ends in %.0f s", p->eta_s);
    fputs("\033[K", stderr);          /* clear what a longer line left */
}

static void cmd_migrate_event(void *arg, const struct xlmig_event *ev)
{
    struct cmd_migrate_out *out = arg;

    if (ev->type == XLMIG_EV_NO_RETURN) sig_refuse("migrate", ev->detail);
    if (out->mode == CMD_PROGRESS_JSON) {
        cmd_event_json(ev);
        return;
    }
    if (ev->type == XLMIG_EV_PROGRESS) {
        if (out->mode != CMD_PROGRESS_TTY) return;
        cmd_migrate_tty(ev);
        out->progress_shown = true;
        return;
    }
    cmd_event_text(ev, &out->progress_shown);
}

/* A phase, check or info event as a line on stderr (after a progress
 * line, which *shown says is on screen). */
void cmd_event_text(const struct xlmig_event *ev, bool *shown)
{
    if (ev->type == XLMIG_EV_CHECK && ev->check->severity ==
        XLMIG_CHECK_INFO)
        return;
    if (*shown) fputc('\n', stderr);
    *shown = false;
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

    if (res->cold) {
        if (!rc)
            printf("moved the config of %s to %s in %.1f s (%u disk%s "
                   "moved first); it is not started\n", name, host,
                   res->total_s, res->disks_moved,
                   res->disks_moved == 1 ? "" : "s");
        else
            cmd_error(c, "cold migration of %s failed in phase %s: %s; "
                      "its config stays on this host%s", name,
                      xlmig_phase_name(res->failed_phase),
                      xlmig_strerror(rc), res->disks_moved
                      ? " (its config names the disks moved)" : "");
        return;
    }
    if (!rc) {
        printf("migrated %s to %s in %.1f s (downtime %.0f ms", name, host,
               res->total_s, res->downtime_s * 1000);
        if (res->suspend_s > 0)
            printf(" of which the guest's suspend %.0f ms",
                   res->suspend_s * 1000);
        printf(", %.1f MB in %u rounds", (double)res->progress.bytes / 1e6,
               res->progress.round);
        if (res->progress.wire_bytes &&
            res->progress.wire_bytes != res->progress.bytes)
            printf(", %.1f MB sent", (double)res->progress.wire_bytes / 1e6);
        puts(")");
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

/* The outcome as the last JSON event (--progress=json). */
static void cmd_migrate_json_result(int rc,
                                    const struct xlmig_migrate_result *res)
{
    static const char *const where[] = {
        [XLMIG_WHERE_SOURCE] = "source", [XLMIG_WHERE_DEST] = "destination",
        [XLMIG_WHERE_UNKNOWN] = "unknown",
    };

    printf("{\"event\": \"result\", \"ok\": %s, \"error\": \"%s\", "
           "\"where\": \"%s\", \"failed_phase\": \"%s\", \"total_s\": %.3f, "
           "\"transfer_s\": %.3f, \"downtime_ms\": %.0f, \"bytes\": %llu, "
           "\"pages\": %llu, \"rounds\": %u, \"wire_bytes\": %llu, "
           "\"zero_pages\": %llu, \"downtime_measured\": %s, "
           "\"restore_s\": %.3f, \"predicted_downtime_ms\": %.0f, "
           "\"throttle\": %u, \"suspend_ms\": %.0f}\n", rc ? "false" : "true",
           rc ? xlmig_errname(rc) : "", where[res->where],
           rc ? xlmig_phase_name(res->failed_phase) : "", res->total_s,
           res->transfer_s, res->downtime_s * 1000,
           (unsigned long long)res->progress.bytes,
           (unsigned long long)res->progress.pages, res->progress.round,
           (unsigned long long)res->progress.wire_bytes,
           (unsigned long long)res->progress.zero_pages,
           res->downtime_measured ? "true" : "false", res->restore_s,
           res->progress.predicted_downtime_ms, res->progress.throttle,
           res->suspend_s * 1000);
    fflush(stdout);
}

int cmd_progress_arg(struct cmd_ctx *c, const char *arg,
                     enum cmd_progress *mode_r)
{
    *mode_r = isatty(STDERR_FILENO) == 1 ? CMD_PROGRESS_TTY
                                         : CMD_PROGRESS_NONE;
    if (!arg) return 0;
    if (!strcmp(arg, "tty")) *mode_r = CMD_PROGRESS_TTY;
    else if (!strcmp(arg, "json")) *mode_r = CMD_PROGRESS_JSON;
    else if (!strcmp(arg, "none")) *mode_r = CMD_PROGRESS_NONE;
    else {
        cmd_error(c, "--progress: expected tty, json or none, not '%s'",
                  arg);
        return -1;
    }
    return 0;
}

/* --data and --compress: a usage error, not a failed migration. */
int cmd_stream_args(struct cmd_ctx *c, const char *data,
                    const char *compress)
{
    static const char *const codecs[] = { "none", "lz4", "zstd", "auto" };
    long long port;
    char *cause = NULL;
    size_t i;

    if (data && strcmp(data, "auto") && strcmp(data, "ssh") &&
        strcmp(data, "tcp")) {
        if (strncmp(data, "tcp:", 4) ||
            cmd_strtonum(data + 4, 1, 65535, &port, &cause)) {
            cmd_error(c, "--data: expected auto, ssh, tcp or tcp:PORT, not "
                      "'%s'%s%s", data, cause ? ": " : "",
                      cause ? cause : "");
            free(cause);
            return -1;
        }
    }
    for (i = 0; compress && i < sizeof(codecs) / sizeof(codecs[0]); i++)
        if (!strcmp(compress, codecs[i])) break;
    if (compress && i == sizeof(codecs) / sizeof(codecs[0])) {
        cmd_error(c, "--compress: expected none, lz4, zstd or auto, not "
                  "'%s'", compress);
        return -1;
    }
    return 0;
}

/* --max-downtime, --converge, --max-rounds, --max-precopy-time,
 * --no-live. */
static int cmd_migrate_precopy_args(struct cmd_ctx *c, struct cmd_args *args,
                                    struct xlmig_migrate_opts *o)
{
    static const struct {
        int opt;
        const char *name;
        long long max;
    } nums[] = {
        { CMD_MIGRATE_MAX_DOWNTIME, "--max-downtime", 3600000 },
        { CMD_MIGRATE_MAX_ROUNDS, "--max-rounds", 1000 },
        { CMD_MIGRATE_MAX_PRECOPY_TIME, "--max-precopy-time", 86400 },
    };
    unsigned *dst[] = { &o->max_downtime_ms, &o->max_rounds,
                        &o->max_precopy_s };
    const char *conv = cmd_get(args, CMD_MIGRATE_CONVERGE);
    char *cause = NULL;
    long long v;
    size_t i;

    for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if (!cmd_has(args, nums[i].opt)) continue;
        if (cmd_strtonum(cmd_get(args, nums[i].opt), 1, nums[i].max, &v,
                         &cause)) {
            cmd_error(c, "%s: %s", nums[i].name, cause);
            free(cause);
            return -1;
        }
        *dst[i] = (unsigned)v;
    }
    if (conv && strcmp(conv, "force") && strcmp(conv, "throttle") &&
        strcmp(conv, "abort")) {
        cmd_error(c, "--converge: expected force, throttle or abort, not "
                  "'%s'", conv);
        return -1;
    }
    o->converge = conv;
    o->no_live = cmd_has(args, CMD_MIGRATE_NO_LIVE);
    if (o->no_live && (conv || o->max_downtime_ms || o->max_rounds ||
                       o->max_precopy_s)) {
        cmd_error(c, "--no-live: no live rounds to limit (--max-downtime, "
                  "--converge, --max-rounds, --max-precopy-time)");
        return -1;
    }
    return 0;
}

static int cmd_migrate_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct xlmig_migrate_opts o;
    struct xlmig_migrate_result res;
    struct cmd_migrate_out out = { .mode = CMD_PROGRESS_NONE };
    struct xlmig_ctx *lib;
    const char *storage[CMD_MIGRATE_STORAGE_MAX];
    char *storage_list = NULL;
    size_t n_storage = 0;
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
    /*
     * Invoked as xl with a -s of the caller's, the rune is xl's to the
     * letter ("... HOST xl migrate-receive"), without our options: the
     * caller's command may end in a comment (Ganeti: "socat ... #") or
     * hand the words to another program (OpenNebula: "su - oneadmin -c
     * '...'", whose su would take --xlmig for its own option).
     */
    if (!o.receiver_program && o.ssh_command && *o.ssh_command &&
        xl_pass_invoked_as_xl(c->argv ? c->argv[0] : NULL))
        o.receiver_program = "xl";
    o.config_file = cmd_get(args, 'C');
    o.debug = cmd_has(args, CMD_MIGRATE_DEBUG);
    o.paused = cmd_has(args, 'p');
    o.no_monitor = cmd_has(args, 'e') || cmd_has(args, 'F');
    o.preserve_domid = cmd_has(args, 'D');
    o.no_wait = cmd_has(args, CMD_MIGRATE_NO_WAIT);
    o.force = cmd_get(args, CMD_MIGRATE_FORCE);
    if (cmd_check_force_arg(c, o.force)) return CMD_EXIT_USAGE;
    if (cmd_progress_arg(c, cmd_get(args, CMD_MIGRATE_PROGRESS),
                                 &out.mode))
        return CMD_EXIT_USAGE;
    if (cmd_has(args, CMD_MIGRATE_BANDWIDTH) &&
        xlmig_parse_rate(cmd_get(args, CMD_MIGRATE_BANDWIDTH),
                         &o.bandwidth)) {
        cmd_error(c, "--bandwidth: '%s' is not a rate (100M, 800Mbit, ...)",
                  cmd_get(args, CMD_MIGRATE_BANDWIDTH));
        return CMD_EXIT_USAGE;
    }
    o.data = cmd_get(args, CMD_MIGRATE_DATA);
    o.compress = cmd_get(args, CMD_MIGRATE_COMPRESS);
    o.encrypt = cmd_has(args, CMD_MIGRATE_ENCRYPT);
    o.no_encrypt = cmd_has(args, CMD_MIGRATE_NO_ENCRYPT);
    if (o.encrypt && o.no_encrypt) {
        cmd_error(c, "--encrypt and --no-encrypt: choose one");
        return CMD_EXIT_USAGE;
    }
    if (cmd_stream_args(c, o.data, o.compress))
        return CMD_EXIT_USAGE;
    if (cmd_has(args, CMD_MIGRATE_STORAGE)) {
        char *p;

        storage_list = strdup(cmd_get(args, CMD_MIGRATE_STORAGE));
        if (!storage_list) abort();
        for (p = strtok(storage_list, ","); p; p = strtok(NULL, ",")) {
            if (n_storage == CMD_MIGRATE_STORAGE_MAX || !strchr(p, '=')) {
                cmd_error(c, "--storage: expected at most %d VDEV=SR, "
                          "comma-separated", CMD_MIGRATE_STORAGE_MAX);
                free(storage_list);
                return CMD_EXIT_USAGE;
            }
            storage[n_storage++] = p;
        }
        o.storage = storage;
        o.n_storage = n_storage;
    }
    o.keep_source = cmd_has(args, CMD_MIGRATE_KEEP);
    if (o.keep_source && !n_storage) {
        cmd_error(c, "--keep-source: only with --storage");
        free(storage_list);
        return CMD_EXIT_USAGE;
    }
    if (cmd_migrate_precopy_args(c, args, &o)) {
        free(storage_list);
        return CMD_EXIT_USAGE;
    }
    o.timeout_s = (unsigned)timeout;
    o.cancel_fd = sig_cancel_fd();
    o.event_fn = cmd_migrate_event;
    o.event_arg = &out;
    lib = cmd_lib(c);
    if (!lib) {
        free(storage_list);
        return CMD_EXIT_FAILED;
    }
    /* Our own progress line replaces libxc's, as xl hides its meter. */
    cmd_hide_progress(c, true);
    rc = xlmig_migrate(lib, args->argv[0], args->argv[1], &o, &res);
    if (out.progress_shown) fputc('\n', stderr);
    if (out.mode == CMD_PROGRESS_JSON) {
        cmd_migrate_json_result(rc, &res);
        /* The one-line error still goes to stderr. */
        if (rc) cmd_migrate_report(c, rc, args->argv[0], args->argv[1],
                                   &res);
    } else {
        cmd_migrate_report(c, rc, args->argv[0], args->argv[1], &res);
    }
    free(storage_list);
    return cmd_exit_status(rc);
}
