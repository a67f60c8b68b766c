/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd.h - the xlmig command table and what every command shares: parsed
 * arguments, the process context, the one error sink, exit codes.
 */
#ifndef XLMIG_CMD_H
#define XLMIG_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include <libxlmig.h>

/* Exit statuses (one place decides them: cmd_exit_status). */
#define CMD_EXIT_OK 0
#define CMD_EXIT_FAILED 1       /* nothing changed, or rolled back */
#define CMD_EXIT_USAGE 2
#define CMD_EXIT_UNSAFE 3       /* domain ownership unknown */

/* Option codes: short options are their character, long-only ones
 * start here. */
#define CMD_OPT_LONG 0x100
#define CMD_OPT_MAX 0x120

#define CMD_MODIFIES (1u << 0)  /* changes domains: needs root */
#define CMD_XL (1u << 1)        /* xl's command of that name: runs as ours
                                   when xlmig is invoked as "xl" */

struct cmd_args {
    const char *val[CMD_OPT_MAX];   /* NULL: option absent; "" for flags */
    int argc;                       /* positionals */
    char **argv;
};

struct cmd_ctx;

struct cmd_entry {
    const char *name;
    const char *alias;
    const char *usage;          /* after "xlmig NAME " */
    const char *help;           /* one line */
    const char *details;        /* option descriptions, may be NULL */
    const char *opts;           /* getopt short options */
    const struct option *longopts;  /* may be NULL */
    int min_args, max_args;     /* positionals; max -1: no limit */
    unsigned flags;
    int (*exec)(struct cmd_ctx *c, struct cmd_args *args);
};

/* The process: logger, library context (made on first use). */
struct cmd_ctx {
    const struct cmd_entry *entry;
    xentoollog_logger_stdiostream *logger;
    struct xlmig_ctx *lib;
    int verbose;                /* -v count */
    bool timestamps;            /* -T */
    char **argv;                /* the whole command line, for xl */
};

extern const struct cmd_entry *const cmd_table[];

/* Exact name or declared alias only: these commands move domains. */
const struct cmd_entry *cmd_find(const char *name);
/*
 * Parses argv (argv[0] is the command name) against the entry: options,
 * -h, positional bounds. Returns 0, or -1 with *cause_r (allocated)
 * naming what is wrong.
 */
int cmd_parse(const struct cmd_entry *e, int argc, char **argv,
              struct cmd_args *args, char **cause_r);
bool cmd_has(const struct cmd_args *args, int opt);
const char *cmd_get(const struct cmd_args *args, int opt);
/* Parses a number in [min, max]: 0, or -1 with *cause_r. */
int cmd_strtonum(const char *s, long long min, long long max,
                 long long *v_r, char **cause_r);
void cmd_usage(FILE *f, const struct cmd_entry *e);
/* Every option of e, one a line as typed ("-h", "--help" too), then
 * " ARG" if it takes a value in the next word or after '=' (" [ARG]":
 * only after '='): "xlmig help --options", for shell completion. */
void cmd_options_print(FILE *f, const struct cmd_entry *e);
/* "xlmig CMD: message" on stderr. */
void cmd_error(struct cmd_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The library context, made on first use; NULL after cmd_error. */
struct xlmig_ctx *cmd_lib(struct cmd_ctx *c);
int cmd_exit_status(int rc);
/* Adjusts the logger for a command that draws its own progress. */
void cmd_hide_progress(struct cmd_ctx *c, bool hide);

/* Prints s as a JSON string on stdout (invalid UTF-8 becomes U+FFFD;
 * NULL prints null). */
void cmd_json_str(const char *s);

/* cmd-recover.c: the args ask exactly one of --query, --release (what a
 * peer may run, see cmd-ssh-serve.c). */
bool cmd_recover_asks(const struct cmd_args *args);

/* cmd-jobs.c: one job as a JSON object on stdout (no newline). */
void cmd_job_json(const struct xlmig_job *j);

/* sig.c: SIGINT/SIGTERM/SIGHUP make the returned fd readable. */
int sig_cancel_fd(void);
/* From now on those signals are refused: "xlmig CMD: not cancelling:
 * WHY" on stderr instead (XLMIG_EV_NO_RETURN). */
void sig_refuse(const char *cmd, const char *why);

/* cmd-check.c: one check result as "SEVERITY ID: MESSAGE" (+ remedy). */
void cmd_check_print(FILE *f, const struct xlmig_check_result *r,
                     const char *indent);
/* Checks a --force list (cmd_error and -1 on an unknown id). */
int cmd_check_force_arg(struct cmd_ctx *c, const char *list);

/* cmd-migrate.c: progress output (--progress=tty|json|none; the default
 * tty if stderr is one), events as JSON lines on stdout or text on
 * stderr. */
enum cmd_progress { CMD_PROGRESS_NONE, CMD_PROGRESS_TTY, CMD_PROGRESS_JSON };
int cmd_progress_arg(struct cmd_ctx *c, const char *arg,
                     enum cmd_progress *mode_r);
void cmd_event_json(const struct xlmig_event *ev);
void cmd_event_text(const struct xlmig_event *ev, bool *shown);
/* Checks --data and --compress (NULL: not given): cmd_error and -1 for
 * a value that is not one. */
int cmd_stream_args(struct cmd_ctx *c, const char *data,
                    const char *compress);

/* cmd-migrate-receive.c: starts "xlmig monitor DOMID" (it daemonises)
 * for a domain this command created; -1 (said) if it did not start. */
int cmd_start_monitor(struct cmd_ctx *c, uint32_t domid);

/* cmd-sr-list.c: one SR as a JSON object on stdout (no newline); bytes
 * as "12.3G". */
void cmd_sr_json(const struct xlmig_sr *s);
void cmd_sr_size(char *out, size_t size, uint64_t bytes);

/* cmd-list.c: xl list's header and one row; one element of xl list -l's
 * array (first: none before it) around a domain's libxl JSON. */
void cmd_list_header(FILE *f);
void cmd_list_row(FILE *f, const struct xlmig_domain *d);
void cmd_list_long_item(FILE *f, bool first, uint32_t domid,
                        const char *json);

/* xl-pass.c: the real xl, for what xlmig leaves to it. */
struct xl_pass_where {
    const char *xl_env;         /* $XLMIG_XL: the only candidate if set */
    const char *root;           /* prefix of fixed paths ("": tests use a
                                   tree of their own) */
    const char *path;           /* $PATH, may be NULL */
    bool self_known;            /* this program, never chosen */
    dev_t self_dev;
    ino_t self_ino;
};
/* argv[0]'s last component is "xl" (a link named xl to xlmig). */
bool xl_pass_invoked_as_xl(const char *argv0);
/* From the environment and /proc/self/exe. */
void xl_pass_where_init(struct xl_pass_where *w);
/*
 * The real xl: $XLMIG_XL if set (a name without '/' is looked up in
 * PATH), else /usr/lib/xen-X.Y/bin/xl for the running Xen X.Y (Debian),
 * /usr/sbin/xl.distrib, xl in PATH, /usr/sbin/xl, /usr/local/sbin/xl;
 * each an executable regular file that is not this program. 0 and
 * *path_r (allocated), or -1 and *tried_r (allocated: what was looked
 * for, one line).
 */
int xl_pass_find(const struct xl_pass_where *w, char **path_r,
                 char **tried_r);
/*
 * Execs the real xl with argv (argv[0] becomes "xl", the rest unchanged).
 * Returns only on failure, said on stderr: CMD_EXIT_USAGE if there is no
 * xl (cmd: the command named, for the message; may be NULL).
 */
int xl_pass_exec(char **argv, const char *cmd);
/* The command line of c to xl: for options a command leaves to xl. */
int xl_pass_cmd(struct cmd_ctx *c);

#endif /* XLMIG_CMD_H */
