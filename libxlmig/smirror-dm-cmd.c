/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * smirror-dm-cmd.c - the dm mover's runner of dmsetup and losetup
 * (smirror-dm.h): each found in PATH (so tests put fakes first), run in
 * a process group of its own within a deadline, its stdout bounded and
 * its stderr kept apart for the failure's message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "proto.h"
#include "smirror-dm.h"

#define SMDM_TIMEOUT_S 30               /* any one dmsetup or losetup */
#define SMDM_WHY_MAX 200                /* of a tool's output, logged */

/*
 * sh: the tool's stdout to ours, then a \001, then its stderr (kept in
 * a variable meanwhile): one pipe carries both, apart.
 */
#define SMDM_SH "LC_ALL=C; export LC_ALL; exec 3>&1; " \
    "e=$(\"$@\" 2>&1 >&3 3>&-); s=$?; exec 3>&-; printf '\\001%s' \"$e\"; " \
    "exit $s"

/* "dmsetup load NAME --table ...", escaped, for messages (allocated). */
static char *smirror_dm_cmd_line(char *const args[])
{
    char *s = xstrdup(args[0]), *t, *esc;
    size_t i;

    for (i = 1; args[i]; i++) {
        t = xasprintf("%s %s", s, args[i]);
        free(s);
        s = t;
    }
    esc = proto_escape((const uint8_t *)s, strlen(s), SMDM_WHY_MAX);
    free(s);
    return esc;
}

/*
 * A tool's stderr as one line (allocated, escaped): its lines joined by
 * "; ", without dmsetup's closing "Command failed.", which says nothing.
 */
static char *smirror_dm_cmd_why(const char *err)
{
    char *copy = xstrdup(err), *line, *save, *all = NULL, *t;

    for (line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (!strcmp(line, "Command failed.")) continue;
        t = all ? xasprintf("%s; %s", all, line) : xstrdup(line);
        free(all);
        all = t;
    }
    free(copy);
    if (!all) return xstrdup("(nothing on stderr)");
    t = proto_escape((const uint8_t *)all, strlen(all), SMDM_WHY_MAX);
    free(all);
    return t;
}

char *smirror_dm_cmd_quote(const char *out)
{
    size_t len = strlen(out);

    if (len && out[len - 1] == '\n') len--;
    return proto_escape((const uint8_t *)out, len, SMDM_WHY_MAX);
}

/*
 * Runs args (args[0] found in PATH) through sh, in a process group of its
 * own killed after it, within SMDM_TIMEOUT_S. Its stdout (at most max
 * bytes) in *out_r, its stderr in *err_r (both allocated), *status_r
 * waitpid's. Fails (logged) only if it could not be run to its end.
 */
static int smirror_dm_cmd_exec(struct xlmig_ctx *ctx, char *const args[],
                               size_t max, char **out_r, char **err_r,
                               int *status_r)
{
    struct child_run_opts ro = {
        .max = max + SMDM_OUT_MAX,          /* and its stderr */
        .deadline = ctx_now(ctx) + SMDM_TIMEOUT_S,
    };
    static const char *const head[] = { "/bin/sh", "-c", SMDM_SH, "sh" };
    char **argv, *out = NULL, *mark, *what = smirror_dm_cmd_line(args);
    size_t n = 0, i;
    int rc;

    *out_r = *err_r = NULL;
    while (args[n]) n++;
    argv = xcalloc(ARRAY_SIZE(head) + n + 1, sizeof(*argv));
    for (i = 0; i < ARRAY_SIZE(head); i++) argv[i] = (char *)head[i];
    for (i = 0; i < n; i++) argv[ARRAY_SIZE(head) + i] = args[i];
    rc = child_run_group(ctx, what, argv, &ro, &out, status_r);
    if (rc) goto out;
    mark = strrchr(out, '\001');
    if (!mark) {
        LOG(ctx, ERROR, "%s: ended without a word (sh failed)", what);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    *mark = '\0';
    if (strlen(out) > max) {
        LOG(ctx, ERROR, "%s: output over %zu bytes", what, max);
        rc = XLMIG_E_TOOBIG;
        goto out;
    }
    *err_r = xstrdup(mark + 1);
    *out_r = out;
    out = NULL;
out:
    free(out);
    free(argv);
    free(what);
    return rc;
}

/* A non-zero exit is a failure, logged with the tool's stderr. */
int smirror_dm_cmd_run(struct xlmig_ctx *ctx, char *const args[],
                       size_t max, char **out_r)
{
    char *out = NULL, *err = NULL, *what = NULL, *why = NULL, st[64];
    int rc, status;

    if (out_r) *out_r = NULL;
    rc = smirror_dm_cmd_exec(ctx, args, max, &out, &err, &status);
    if (rc) goto out;
    if (status) {
        what = smirror_dm_cmd_line(args);
        why = smirror_dm_cmd_why(err);
        LOG(ctx, ERROR, "%s: %s: %s", what,
            child_status_str(status, st, sizeof(st)), why);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    if (out_r) {
        *out_r = out;
        out = NULL;
    }
out:
    free(why);
    free(what);
    free(err);
    free(out);
    return rc;
}

int smirror_dm_cmd_setup(struct xlmig_ctx *ctx, const char *verb,
                         const char *dm, const char *table)
{
    char *args[] = { (char *)"dmsetup", (char *)verb, (char *)dm,
                     (char *)"--table", (char *)table, NULL };

    if (!table) args[3] = NULL;
    return smirror_dm_cmd_run(ctx, args, SMDM_OUT_MAX, NULL);
}

int smirror_dm_cmd_table(struct xlmig_ctx *ctx, const char *dm,
                         struct smirror_dm_table *t, char **line_r)
{
    char *args[] = { (char *)"dmsetup", (char *)"table", (char *)dm, NULL };
    char *out = NULL, *err = NULL, *why = NULL, st[64];
    int rc, status;

    *line_r = NULL;
    rc = smirror_dm_cmd_exec(ctx, args, SMDM_OUT_MAX, &out, &err, &status);
    if (rc) goto out;
    if (status) {
        why = smirror_dm_cmd_why(err);
        if (strstr(err, "No such device")) {
            LOG(ctx, ERROR, "dm device %s: no such device (%s)", dm, why);
            rc = XLMIG_E_NOTFOUND;
        } else {
            LOG(ctx, ERROR, "dmsetup table %s: %s: %s", dm,
                child_status_str(status, st, sizeof(st)), why);
            rc = XLMIG_E_STORAGE;
        }
        goto out;
    }
    rc = smirror_dm_parse_table(out, t);
    if (rc) *line_r = smirror_dm_cmd_quote(out);
out:
    free(why);
    free(err);
    free(out);
    return rc;
}

int smirror_dm_cmd_loops(struct xlmig_ctx *ctx,
                         struct smirror_dm_loop **loops_r, size_t *n_r)
{
    char *args[] = { (char *)"losetup", (char *)"--list", (char *)"--raw",
                     (char *)"--noheadings", (char *)"--output",
                     (char *)"NAME,MAJ:MIN,BACK-MAJ:MIN,BACK-INO", NULL };
    char *out = NULL, *esc;
    int rc;

    *loops_r = NULL;
    *n_r = 0;
    rc = smirror_dm_cmd_run(ctx, args, SMDM_LIST_MAX, &out);
    if (rc) goto out;
    rc = smirror_dm_parse_loops(out, loops_r, n_r);
    if (rc) {
        esc = smirror_dm_cmd_quote(out);
        LOG(ctx, ERROR, "losetup --list: a line is not \"NAME MAJ:MIN "
            "BACK-MAJ:MIN BACK-INO\": \"%s\"", esc);
        free(esc);
        rc = XLMIG_E_STORAGE;
    }
out:
    free(out);
    return rc;
}

int smirror_dm_cmd_used(struct xlmig_ctx *ctx,
                        struct smirror_dm_dev **devs_r, size_t *n_r)
{
    char *args[] = { (char *)"dmsetup", (char *)"table", NULL };
    char *out = NULL, *esc;
    int rc;

    *devs_r = NULL;
    *n_r = 0;
    rc = smirror_dm_cmd_run(ctx, args, SMDM_LIST_MAX, &out);
    if (rc) goto out;
    rc = smirror_dm_parse_all(out, devs_r, n_r);
    if (rc) {
        esc = smirror_dm_cmd_quote(out);
        LOG(ctx, ERROR, "dmsetup table: a line is not \"NAME: TABLE\": "
            "\"%s\"", esc);
        free(esc);
        rc = XLMIG_E_STORAGE;
    }
out:
    free(out);
    return rc;
}

int smirror_dm_cmd_detach(struct xlmig_ctx *ctx, const char *loop)
{
    char *args[] = { (char *)"losetup", (char *)"-d", (char *)loop, NULL };

    return smirror_dm_cmd_run(ctx, args, SMDM_OUT_MAX, NULL);
}

int smirror_dm_cmd_attach(struct xlmig_ctx *ctx, const char *path,
                          char **loop_r)
{
    char *args[] = { (char *)"losetup", (char *)"--find", (char *)"--show",
                     (char *)"--direct-io=on", (char *)path, NULL };
    char *out = NULL, *err = NULL, *esc;
    size_t len;
    int rc, status;

    *loop_r = NULL;
    rc = smirror_dm_cmd_exec(ctx, args, SMDM_OUT_MAX, &out, &err, &status);
    if (!rc && status) {
        /* A filesystem without O_DIRECT (tmpfs) refuses it: a buffered
         * loop, which the caller flushes when it lets the image go. */
        LOG(ctx, INFO, "%s: no direct I/O there: a buffered loop device",
            path);
        args[3] = (char *)path;
        args[4] = NULL;
        free(out);
        out = NULL;
        rc = smirror_dm_cmd_run(ctx, args, SMDM_OUT_MAX, &out);
    }
    if (rc) goto out;
    len = strlen(out);
    if (len && out[len - 1] == '\n') out[--len] = '\0';
    if (!smirror_dm_parse_loop_name(out)) {
        esc = proto_escape((const uint8_t *)out, len, SMDM_WHY_MAX);
        LOG(ctx, ERROR, "losetup --find --show %s: \"%s\" is no loop device"
            " name", path, esc);
        free(esc);
        rc = XLMIG_E_STORAGE;
        goto out;
    }
    *loop_r = out;
    out = NULL;
out:
    free(err);
    free(out);
    return rc;
}
