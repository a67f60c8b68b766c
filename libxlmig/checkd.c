/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * checkd.c - the admin's own pre-flight checks: every executable in
 * /etc/xen/xlmig/checks.d (or $XLMIG_CHECKS_DIR) runs on both hosts, in
 * name order, as run-parts would pick them (names of letters, digits, '_'
 * and '-'). The interface (docs/xlmig-checks.7):
 *
 *   argv[1]   "source" or "destination"
 *   env       only these: XLMIG_CHECK_SIDE (as argv[1]), XLMIG_DOMAIN,
 *             XLMIG_DOMAIN_UUID, XLMIG_DOMAIN_TYPE (pv, pvh, hvm),
 *             XLMIG_DOMAIN_MEMKB, XLMIG_PEER (the other host),
 *             XLMIG_DOMAIN_CONFIG (a file, mode 0600 in a private
 *             directory, holding the domain's libxl JSON config; removed
 *             after the side's scripts), and PATH as CHECKD_PATH below;
 *             nothing of our own environment. On the destination the
 *             domain's name and config and XLMIG_PEER come from the peer:
 *             they are data, passed in the environment only (no shell
 *             between us and the script), and control characters (newline
 *             included) in XLMIG_DOMAIN and XLMIG_PEER become '_'.
 *   fds       stdin /dev/null, stdout a pipe to us, stderr ours; no other
 *             fd, not even one of ours without O_CLOEXEC
 *   stdout    lines "pass MESSAGE", "warn MESSAGE" or "fail MESSAGE",
 *             each optionally followed by "remedy TEXT"
 *   exit      0 and no lines: one pass; non-zero and no fail line: a
 *             failure naming the status
 *   limits    each script runs in its own session and process group,
 *             killed as a whole (SIGKILL) when the script exits (what it
 *             left running) or 30 s after it started (a failure); the
 *             scripts of one side get 120 s together, and those not
 *             started by then fail as not run. XLMIG_CHECKS_TIMEOUT
 *             (seconds, at most 30) shortens the 30 s, and the 120 s with
 *             it (four times as long), for tests.
 *
 * Each result has the id "script:NAME".
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child.h"
#include "domcfg.h"
#include "fdio.h"
#include "hooks.h"
#include "preflight.h"

#define CHECKD_DIR "/etc/xen/xlmig/checks.d"
#define CHECKD_TIMEOUT_S 30.0           /* each script */
#define CHECKD_TOTAL_FACTOR 4           /* all scripts of a side: 120 s */
#define CHECKD_OUT_MAX (64u << 10)
#define CHECKD_NAME_MAX 40
#define CHECKD_TMPDIR "/tmp/xlmig-check-XXXXXX"
#define CHECKD_PATH \
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CHECKD_ENV_MAX 9                /* 7 XLMIG_*, PATH, NULL */

/* What every script of one side shares. */
struct checkd_side {
    const char *dir;                    /* of the scripts */
    bool destination;
    double timeout_s;                   /* each script */
    double deadline;                    /* monotonic, for all of them */
    char tmpdir[sizeof(CHECKD_TMPDIR)]; /* "": not made */
    char *config;                       /* the config file in tmpdir */
    char *env[CHECKD_ENV_MAX];
};

/* Each script's limit: 30 s, or less from XLMIG_CHECKS_TIMEOUT (tests). */
static double checkd_timeout(struct xlmig_ctx *ctx)
{
    const char *s = getenv("XLMIG_CHECKS_TIMEOUT");
    char *end;
    double v;

    if (!s || !*s) return CHECKD_TIMEOUT_S;
    v = strtod(s, &end);
    if (*end || !(v > 0 && v <= CHECKD_TIMEOUT_S)) {
        LOG(ctx, WARN, "XLMIG_CHECKS_TIMEOUT '%s' is not a number of "
            "seconds in (0, %g]; using %g", s, CHECKD_TIMEOUT_S,
            CHECKD_TIMEOUT_S);
        return CHECKD_TIMEOUT_S;
    }
    return v;
}

/*
 * "NAME=VALUE" for the scripts' environment. VALUE may come from the peer:
 * its control characters become '_', so that it stays one line of data
 * and cannot add lines to what a script echoes.
 */
static char *checkd_env_var(const char *name, const char *value)
{
    char *s = xasprintf("%s=%s", name, value ? value : "");
    unsigned char *p;

    for (p = (unsigned char *)s + strlen(name) + 1; *p; p++)
        if (*p < 0x20 || *p == 0x7f) *p = '_';
    return s;
}

static void checkd_env(struct checkd_side *side, const struct domcfg *cfg,
                       const char *peer)
{
    char memkb[24];
    size_t e = 0;

    snprintf(memkb, sizeof(memkb), "%" PRIu64, cfg->max_memkb);
    side->env[e++] = checkd_env_var("XLMIG_CHECK_SIDE", side->destination
                                    ? "destination" : "source");
    side->env[e++] = checkd_env_var("XLMIG_DOMAIN", cfg->name);
    side->env[e++] = checkd_env_var("XLMIG_DOMAIN_UUID", cfg->uuid);
    side->env[e++] = checkd_env_var("XLMIG_DOMAIN_TYPE",
                                    domcfg_type_name(cfg->type));
    side->env[e++] = checkd_env_var("XLMIG_DOMAIN_MEMKB", memkb);
    side->env[e++] = checkd_env_var("XLMIG_PEER", peer);
    side->env[e++] = checkd_env_var("XLMIG_DOMAIN_CONFIG", side->config);
    side->env[e++] = xstrdup(CHECKD_PATH);
    side->env[e] = NULL;
}

/*
 * The config file: created (O_EXCL) in a directory of our own (mkdtemp,
 * 0700), so nobody can plant or swap it; closed before any script runs.
 */
static int checkd_config_write(struct xlmig_ctx *ctx,
                               struct checkd_side *side, const char *json)
{
    struct fdio_wait w = fdio_wait_make(CHECKD_TIMEOUT_S, -1);
    int fd = -1;
    int rc;

    strcpy(side->tmpdir, CHECKD_TMPDIR);
    if (!mkdtemp(side->tmpdir)) {
        LOGE(ctx, ERROR, "cannot make a directory %s for the check "
             "scripts", CHECKD_TMPDIR);
        side->tmpdir[0] = '\0';
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    side->config = xasprintf("%s/config.json", side->tmpdir);
    fd = open(side->config, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
              O_CLOEXEC, 0600);
    if (fd < 0) {
        LOGE(ctx, ERROR, "cannot create %s", side->config);
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    rc = fdio_write_all(ctx, fd, json, strlen(json), &w,
                        "domain config for check scripts");
    if (rc) goto out;
    if (close(fd)) {
        fd = -1;
        LOGE(ctx, ERROR, "cannot write %s", side->config);
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    fd = -1;
out:
    if (fd >= 0) close(fd);
    return rc;
}

static void checkd_config_remove(struct xlmig_ctx *ctx,
                                 struct checkd_side *side)
{
    if (side->config && unlink(side->config) && errno != ENOENT)
        LOGE(ctx, WARN, "cannot remove %s", side->config);
    if (side->tmpdir[0] && rmdir(side->tmpdir))
        LOGE(ctx, WARN, "cannot remove %s", side->tmpdir);
}

/* Turns the script's output into results; returns whether any failed. */
static bool checkd_parse(const char *id, bool destination, char *out,
                         size_t *added_r, struct pf_report *rep)
{
    enum xlmig_check_severity sev;
    struct xlmig_check_result *last = NULL;
    char *line, *save, *arg;
    bool failed = false;

    *added_r = 0;
    for (line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        arg = strchr(line, ' ');
        if (arg) *arg++ = '\0';
        else arg = line + strlen(line);
        if (!strcmp(line, "remedy") && last) {
            free(last->remedy);
            last->remedy = xstrdup(arg);
            continue;
        }
        if (!strcmp(line, "pass")) sev = XLMIG_CHECK_INFO;
        else if (!strcmp(line, "warn")) sev = XLMIG_CHECK_WARNING;
        else if (!strcmp(line, "fail")) sev = XLMIG_CHECK_ERROR;
        else continue;      /* other output is the script's own business */
        failed |= sev == XLMIG_CHECK_ERROR;
        pf_add(rep, destination, id, sev, NULL, "%s", *arg ? arg : line);
        last = rep->n ? &rep->r[rep->n - 1] : NULL;
        (*added_r)++;
    }
    return failed;
}

static void checkd_one(struct xlmig_ctx *ctx, const struct checkd_side *side,
                       const char *name, struct pf_report *rep)
{
    bool dest = side->destination;
    char *id = xasprintf("script:%s", name), *out = NULL, *argv[3];
    struct child_run_opts o = { .envp = side->env, .max = CHECKD_OUT_MAX };
    double start = ctx_now(ctx);
    size_t added;
    char why[64];
    int rc, status;

    argv[0] = xasprintf("%s/%s", side->dir, name);
    argv[1] = dest ? "destination" : "source";
    argv[2] = NULL;
    o.deadline = start + side->timeout_s;
    if (o.deadline > side->deadline) o.deadline = side->deadline;
    rc = child_run_group(ctx, id, argv, &o, &out, &status);
    if (rc == XLMIG_E_TIMEDOUT) {
        pf_add(rep, dest, id, XLMIG_CHECK_ERROR, "fix the check script",
               "check script %s killed after %.1f s, the time it had",
               argv[0], ctx_now(ctx) - start);
        goto out;
    }
    if (rc) {
        pf_add(rep, dest, id, XLMIG_CHECK_ERROR, "fix the check script",
               "check script %s failed to run: %s", argv[0],
               xlmig_strerror(rc));
        goto out;
    }
    if (checkd_parse(id, dest, out, &added, rep))
        goto out;
    if (status)
        pf_add(rep, dest, id, XLMIG_CHECK_ERROR, "see the script",
               "check script %s %s", argv[0],
               child_status_str(status, why, sizeof(why)));
    else if (!added)
        pf_add(rep, dest, id, XLMIG_CHECK_INFO, NULL,
               "check script %s passed", argv[0]);
out:
    free(out);
    free(argv[0]);
    free(id);
}

/* An error for each of names[from..n): it did not run, and why. */
static void checkd_not_run(const struct checkd_side *side, char **names,
                           size_t from, size_t n, const char *remedy,
                           const char *why, struct pf_report *rep)
{
    char *id;
    size_t i;

    for (i = from; i < n; i++) {
        id = xasprintf("script:%s", names[i]);
        pf_add(rep, side->destination, id, XLMIG_CHECK_ERROR, remedy,
               "check script %s/%s did not run: %s", side->dir, names[i],
               why);
        free(id);
    }
}

void checkd_run(struct xlmig_ctx *ctx, bool destination, const char *json,
                const struct domcfg *cfg, const char *peer,
                struct pf_report *rep)
{
    struct checkd_side side;
    char **names, *why;
    size_t n, i = 0;

    memset(&side, 0, sizeof(side));
    side.destination = destination;
    side.dir = getenv("XLMIG_CHECKS_DIR");
    if (!side.dir || !*side.dir) side.dir = CHECKD_DIR;
    n = hooks_list(side.dir, CHECKD_NAME_MAX, &names);
    if (!n) goto out;
    if (checkd_config_write(ctx, &side, json)) {
        checkd_not_run(&side, names, 0, n, "make /tmp writable",
                       "its domain config could not be written", rep);
        goto out;
    }
    checkd_env(&side, cfg, peer);
    side.timeout_s = checkd_timeout(ctx);
    side.deadline = ctx_now(ctx) + side.timeout_s * CHECKD_TOTAL_FACTOR;
    for (; i < n && ctx_now(ctx) < side.deadline; i++)
        checkd_one(ctx, &side, names[i], rep);
    if (i < n) {
        LOG(ctx, WARN, "the check scripts in %s took over %g s; %zu of "
            "them not run", side.dir, side.timeout_s * CHECKD_TOTAL_FACTOR,
            n - i);
        why = xasprintf("the scripts before it took the %g s all of them "
                        "have", side.timeout_s * CHECKD_TOTAL_FACTOR);
        checkd_not_run(&side, names, i, n, "make the check scripts faster",
                       why, rep);
        free(why);
    }
out:
    checkd_config_remove(ctx, &side);
    free(side.config);
    for (i = 0; i < CHECKD_ENV_MAX && side.env[i]; i++)
        free(side.env[i]);
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
