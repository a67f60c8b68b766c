/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * checkd.c - the admin's own pre-flight checks: every executable in
 * /etc/xen/xlmig/checks.d (or $XLMIG_CHECKS_DIR) runs on both hosts, in
 * name order, as run-parts would pick them (names of letters, digits, '_'
 * and '-'). The interface (docs/xlmig-checks.7):
 *
 *   argv[1]   "source" or "destination"
 *   env       XLMIG_CHECK_SIDE (as argv[1]), XLMIG_DOMAIN, XLMIG_DOMAIN_UUID,
 *             XLMIG_DOMAIN_TYPE (pv, pvh, hvm), XLMIG_DOMAIN_MEMKB,
 *             XLMIG_PEER (the other host), XLMIG_DOMAIN_CONFIG (a file
 *             holding the domain's libxl JSON config)
 *   stdout    lines "pass MESSAGE", "warn MESSAGE" or "fail MESSAGE",
 *             each optionally followed by "remedy TEXT"
 *   exit      0 and no lines: one pass; non-zero and no fail line: a
 *             failure naming the status; killed after 30 s
 *
 * Each result has the id "script:NAME".
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child.h"
#include "domcfg.h"
#include "fdio.h"
#include "preflight.h"

#define CHECKD_DIR "/etc/xen/xlmig/checks.d"
#define CHECKD_TIMEOUT_S 30
#define CHECKD_OUT_MAX (64u << 10)
#define CHECKD_NAME_MAX 40

static bool checkd_name_ok(const char *name)
{
    size_t n = strlen(name);

    return n && n <= CHECKD_NAME_MAX &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_-") == n;
}

static int checkd_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The scripts of dir, sorted (allocated array of allocated names). */
static size_t checkd_list(const char *dir, char ***names_r)
{
    char **names = NULL, *path;
    struct dirent *de;
    struct stat st;
    size_t n = 0;
    DIR *dp;

    *names_r = NULL;
    dp = opendir(dir);
    if (!dp) return 0;
    while ((de = readdir(dp))) {
        if (!checkd_name_ok(de->d_name)) continue;
        path = xasprintf("%s/%s", dir, de->d_name);
        if (!stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK)) {
            names = xrealloc(names, (n + 1) * sizeof(*names));
            names[n++] = xstrdup(de->d_name);
        }
        free(path);
    }
    closedir(dp);
    if (n) qsort(names, n, sizeof(*names), checkd_cmp);
    *names_r = names;
    return n;
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

static void checkd_one(struct xlmig_ctx *ctx, const char *dir,
                       const char *name, bool destination, char *const env[],
                       struct pf_report *rep)
{
    char *id = xasprintf("script:%s", name), *path, *out = NULL;
    char *argv[16], why[64];
    size_t i = 0, added;
    bool failed;
    int rc, status;

    path = xasprintf("%s/%s", dir, name);
    argv[i++] = "env";
    for (; env[i - 1]; i++) argv[i] = env[i - 1];
    argv[i++] = path;
    argv[i++] = destination ? "destination" : "source";
    argv[i] = NULL;
    rc = child_run(ctx, id, argv, CHECKD_OUT_MAX, CHECKD_TIMEOUT_S, &out,
                   &status);
    if (rc) {
        pf_add(rep, destination, id, XLMIG_CHECK_ERROR,
               "fix the check script", "check script %s failed to run: %s",
               path, rc == XLMIG_E_TIMEDOUT ? "timed out" : xlmig_strerror(rc));
        goto out;
    }
    failed = checkd_parse(id, destination, out, &added, rep);
    if (status && !failed)
        pf_add(rep, destination, id, XLMIG_CHECK_ERROR, "see the script",
               "check script %s %s", path,
               child_status_str(status, why, sizeof(why)));
    else if (!added)
        pf_add(rep, destination, id, XLMIG_CHECK_INFO, NULL,
               "check script %s passed", path);
out:
    free(out);
    free(path);
    free(id);
}

void checkd_run(struct xlmig_ctx *ctx, bool destination, const char *json,
                const struct domcfg *cfg, const char *peer,
                struct pf_report *rep)
{
    const char *dir = getenv("XLMIG_CHECKS_DIR");
    struct fdio_wait w = fdio_wait_make(CHECKD_TIMEOUT_S, -1);
    char tmpl[] = "/tmp/xlmig-check-XXXXXX", **names, *env[8];
    size_t n, i, e = 0;
    int fd;

    if (!dir || !*dir) dir = CHECKD_DIR;
    n = checkd_list(dir, &names);
    if (!n) return;
    fd = mkstemp(tmpl);
    if (fd < 0 || fdio_write_all(ctx, fd, json, strlen(json), &w,
                                 "domain config for check scripts")) {
        LOGE(ctx, ERROR, "cannot write %s for the check scripts", tmpl);
        for (i = 0; i < n; i++)
            pf_add(rep, destination, "script:checks.d", XLMIG_CHECK_ERROR,
                   "make /tmp writable", "check script %s did not run",
                   names[i]);
        goto out;
    }
    env[e++] = xasprintf("XLMIG_CHECK_SIDE=%s",
                         destination ? "destination" : "source");
    env[e++] = xasprintf("XLMIG_DOMAIN=%s", cfg->name);
    env[e++] = xasprintf("XLMIG_DOMAIN_UUID=%s", cfg->uuid);
    env[e++] = xasprintf("XLMIG_DOMAIN_TYPE=%s", domcfg_type_name(cfg->type));
    env[e++] = xasprintf("XLMIG_DOMAIN_MEMKB=%" PRIu64, cfg->max_memkb);
    env[e++] = xasprintf("XLMIG_PEER=%s", peer ? peer : "");
    env[e++] = xasprintf("XLMIG_DOMAIN_CONFIG=%s", tmpl);
    env[e] = NULL;
    for (i = 0; i < n; i++)
        checkd_one(ctx, dir, names[i], destination, env, rep);
    for (i = 0; i < e; i++)
        free(env[i]);
out:
    if (fd >= 0) {
        close(fd);
        unlink(tmpl);
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
