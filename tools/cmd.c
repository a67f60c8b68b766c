/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd.c - the command table, generic argument parsing (tmux's args_parse,
 * xl's SWITCH_FOREACH_OPT), the error sink and exit statuses.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

extern const struct cmd_entry cmd_help_entry;
extern const struct cmd_entry cmd_version_entry;
extern const struct cmd_entry cmd_migrate_entry;
extern const struct cmd_entry cmd_migrate_receive_entry;
extern const struct cmd_entry cmd_monitor_entry;
extern const struct cmd_entry cmd_list_entry;
extern const struct cmd_entry cmd_destroy_entry;
extern const struct cmd_entry cmd_pause_entry;
extern const struct cmd_entry cmd_unpause_entry;
extern const struct cmd_entry cmd_sim_host_create_entry;
extern const struct cmd_entry cmd_sim_host_destroy_entry;
extern const struct cmd_entry cmd_sim_create_entry;
extern const struct cmd_entry cmd_sim_info_entry;
extern const struct cmd_entry cmd_sim_shutdown_entry;
extern const struct cmd_entry cmd_ssh_serve_entry;
extern const struct cmd_entry cmd_jobs_entry;
extern const struct cmd_entry cmd_events_entry;
extern const struct cmd_entry cmd_job_show_entry;
extern const struct cmd_entry cmd_job_cancel_entry;
extern const struct cmd_entry cmd_set_limit_entry;
extern const struct cmd_entry cmd_recover_entry;
extern const struct cmd_entry cmd_stream_info_entry;
extern const struct cmd_entry cmd_check_entry;
extern const struct cmd_entry cmd_maintenance_entry;
extern const struct cmd_entry cmd_job_set_entry;
extern const struct cmd_entry cmd_sr_create_entry;
extern const struct cmd_entry cmd_sr_list_entry;
extern const struct cmd_entry cmd_sr_show_entry;
extern const struct cmd_entry cmd_storage_move_entry;
extern const struct cmd_entry cmd_disk_prepare_entry;
extern const struct cmd_entry cmd_job_validate_entry;
extern const struct cmd_entry cmd_job_run_entry;

const struct cmd_entry *const cmd_table[] = {
    &cmd_help_entry,
    &cmd_version_entry,
    &cmd_migrate_entry,
    &cmd_migrate_receive_entry,
    &cmd_check_entry,
    &cmd_monitor_entry,
    &cmd_list_entry,
    &cmd_destroy_entry,
    &cmd_pause_entry,
    &cmd_unpause_entry,
    &cmd_sim_host_create_entry,
    &cmd_sim_host_destroy_entry,
    &cmd_sim_create_entry,
    &cmd_sim_info_entry,
    &cmd_sim_shutdown_entry,
    &cmd_ssh_serve_entry,
    &cmd_jobs_entry,
    &cmd_job_show_entry,
    &cmd_job_cancel_entry,
    &cmd_job_set_entry,
    &cmd_job_validate_entry,
    &cmd_job_run_entry,
    &cmd_events_entry,
    &cmd_set_limit_entry,
    &cmd_maintenance_entry,
    &cmd_recover_entry,
    &cmd_sr_create_entry,
    &cmd_sr_list_entry,
    &cmd_sr_show_entry,
    &cmd_storage_move_entry,
    &cmd_disk_prepare_entry,
    &cmd_stream_info_entry,
    NULL,
};

const struct cmd_entry *cmd_find(const char *name)
{
    const struct cmd_entry *const *e;

    for (e = cmd_table; *e; e++)
        if (!strcmp((*e)->name, name) ||
            ((*e)->alias && !strcmp((*e)->alias, name)))
            return *e;
    return NULL;
}

static char *cmd_xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *cmd_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) abort();
    va_end(ap);
    return s;
}

/* The long option table: the entry's plus --help. */
static struct option *cmd_longopts(const struct cmd_entry *e)
{
    size_t n = 0, i;
    struct option *lo;

    while (e->longopts && e->longopts[n].name) n++;
    lo = calloc(n + 2, sizeof(*lo));
    if (!lo) abort();
    for (i = 0; i < n; i++) lo[i] = e->longopts[i];
    lo[n].name = "help";
    lo[n].val = 'h';
    return lo;
}

static const char *cmd_optname(const struct option *lo, int code, char *buf,
                               size_t len)
{
    for (; lo->name; lo++)
        if (lo->val == code) {
            snprintf(buf, len, "--%s", lo->name);
            return buf;
        }
    snprintf(buf, len, "-%c", code);
    return buf;
}

int cmd_parse(const struct cmd_entry *e, int argc, char **argv,
              struct cmd_args *args, char **cause_r)
{
    struct option *lo = cmd_longopts(e);
    char *shortopts = cmd_xasprintf(":h%s", e->opts ? e->opts : "");
    char name[64];
    int opt, rc = -1;

    memset(args, 0, sizeof(*args));
    *cause_r = NULL;
    optind = 0;                 /* glibc: full re-initialisation */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
        if (opt == '?') {
            *cause_r = optopt && optopt < CMD_OPT_LONG ?
                cmd_xasprintf("unknown option -%c", optopt) :
                cmd_xasprintf("unknown option %s", argv[optind - 1]);
            goto out;
        }
        if (opt == ':') {
            *cause_r = cmd_xasprintf("option %s needs a value",
                                     cmd_optname(lo, optopt, name,
                                                 sizeof(name)));
            goto out;
        }
        if (opt < 0 || opt >= CMD_OPT_MAX) abort();     /* table bug */
        args->val[opt] = optarg ? optarg : "";
    }
    args->argc = argc - optind;
    args->argv = argv + optind;
    if (cmd_has(args, 'h')) {
        rc = 0;
        goto out;
    }
    if (args->argc < e->min_args) {
        *cause_r = cmd_xasprintf("missing arguments (usage: xlmig %s %s)",
                                 e->name, e->usage);
        goto out;
    }
    if (e->max_args >= 0 && args->argc > e->max_args) {
        *cause_r = cmd_xasprintf("too many arguments (usage: xlmig %s %s)",
                                 e->name, e->usage);
        goto out;
    }
    rc = 0;
out:
    free(lo);
    free(shortopts);
    return rc;
}

bool cmd_has(const struct cmd_args *args, int opt)
{
    return opt >= 0 && opt < CMD_OPT_MAX && args->val[opt] != NULL;
}

const char *cmd_get(const struct cmd_args *args, int opt)
{
    return cmd_has(args, opt) ? args->val[opt] : NULL;
}

int cmd_strtonum(const char *s, long long min, long long max,
                 long long *v_r, char **cause_r)
{
    long long v;
    char *end;

    *cause_r = NULL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (!*s || *end || errno == ERANGE) {
        *cause_r = cmd_xasprintf("'%s' is not a number", s);
        return -1;
    }
    if (v < min || v > max) {
        *cause_r = cmd_xasprintf("%s is out of range %lld..%lld", s, min,
                                 max);
        return -1;
    }
    *v_r = v;
    return 0;
}

void cmd_usage(FILE *f, const struct cmd_entry *e)
{
    fprintf(f, "Usage: xlmig %s %s\n\n%s\n", e->name, e->usage, e->help);
    if (e->details) fprintf(f, "\n%s", e->details);
}

/* As cmd_parse reads them: -h, e->opts, e->longopts, --help. */
void cmd_options_print(FILE *f, const struct cmd_entry *e)
{
    const struct option *lo;
    const char *p;

    fputs("-h\n", f);
    for (p = e->opts ? e->opts : ""; *p; p++) {
        if (*p == ':') continue;
        fprintf(f, "-%c%s\n", *p,
                p[1] != ':' ? "" : p[2] == ':' ? " [ARG]" : " ARG");
    }
    for (lo = e->longopts; lo && lo->name; lo++)
        fprintf(f, "--%s%s\n", lo->name,
                lo->has_arg == required_argument ? " ARG" :
                lo->has_arg == optional_argument ? " [ARG]" : "");
    fputs("--help\n", f);
}

void cmd_error(struct cmd_ctx *c, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "xlmig%s%s: ", c->entry ? " " : "",
            c->entry ? c->entry->name : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

struct xlmig_ctx *cmd_lib(struct cmd_ctx *c)
{
    int rc;

    if (c->lib) return c->lib;
    rc = xlmig_ctx_new(&c->lib, (xentoollog_logger *)c->logger, NULL);
    if (rc) {
        cmd_error(c, "cannot start: %s", xlmig_strerror(rc));
        c->lib = NULL;
    }
    return c->lib;
}

int cmd_exit_status(int rc)
{
    if (rc == XLMIG_OK) return CMD_EXIT_OK;
    if (rc == XLMIG_E_UNSAFE) return CMD_EXIT_UNSAFE;
    return CMD_EXIT_FAILED;
}

void cmd_hide_progress(struct cmd_ctx *c, bool hide)
{
    if (hide)
        xtl_stdiostream_adjust_flags(c->logger,
                                     XTL_STDIOSTREAM_HIDE_PROGRESS, 0);
    else
        xtl_stdiostream_adjust_flags(c->logger, 0,
                                     XTL_STDIOSTREAM_HIDE_PROGRESS);
}

/* Length of the valid UTF-8 sequence at p (2-4 bytes), or 0. */
static size_t cmd_utf8_len(const uint8_t *p)
{
    uint8_t lo = 0x80, hi = 0xbf;
    size_t n, i;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef) n = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4) n = 4;
    else return 0;
    if (p[0] == 0xe0) lo = 0xa0;            /* no overlong forms */
    else if (p[0] == 0xed) hi = 0x9f;       /* no surrogates */
    else if (p[0] == 0xf0) lo = 0x90;
    else if (p[0] == 0xf4) hi = 0x8f;       /* nothing above U+10FFFF */
    if (p[1] < lo || p[1] > hi) return 0;
    for (i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf) return 0;
    return n;
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD. NULL: null. */
void cmd_json_str(const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t n;

    if (!s) {
        fputs("null", stdout);
        return;
    }
    putchar('"');
    while (*p) {
        if (*p == '"' || *p == '\\') {
            printf("\\%c", *p++);
        } else if (*p < 0x20 || *p == 0x7f) {
            printf("\\u%04x", *p++);
        } else if (*p < 0x80) {
            putchar(*p++);
        } else if ((n = cmd_utf8_len(p))) {
            fwrite(p, 1, n, stdout);
            p += n;
        } else {
            fputs("\\ufffd", stdout);
            p++;
        }
    }
    putchar('"');
}
