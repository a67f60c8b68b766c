/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xl-pass.c - hands a command line xlmig does not run itself to the real
 * xl, unchanged: finds that xl (never xlmig, whatever name it runs under)
 * and execs it. What xlmig runs is decided by xlmig.c and the commands.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"

/*
 * Set in the environment of the xl we exec: a hash of its arguments. A
 * candidate that is a wrapper running xlmig again with the same arguments
 * (not ourselves by inode) would otherwise loop for ever.
 */
#define XL_PASS_MARK "XLMIG_XL_PASS"
#define XL_PASS_TRIED_MAX 1024

bool xl_pass_invoked_as_xl(const char *argv0)
{
    const char *base;

    if (!argv0) return false;
    base = strrchr(argv0, '/');
    return !strcmp(base ? base + 1 : argv0, "xl");
}

void xl_pass_where_init(struct xl_pass_where *w)
{
    struct stat sb;

    memset(w, 0, sizeof(*w));
    w->xl_env = getenv("XLMIG_XL");
    if (w->xl_env && !*w->xl_env) w->xl_env = NULL;
    w->root = "";
    w->path = getenv("PATH");
    if (stat("/proc/self/exe", &sb) == 0) {
        w->self_dev = sb.st_dev;
        w->self_ino = sb.st_ino;
        w->self_known = true;
    }
}

static void xl_pass_note(char *tried, const char *what)
{
    size_t n = strlen(tried);

    if (n + strlen(what) + 3 >= XL_PASS_TRIED_MAX) return;
    snprintf(tried + n, XL_PASS_TRIED_MAX - n, "%s%s", n ? ", " : "", what);
}

/* An executable regular file that is not this program. */
static bool xl_pass_usable(const struct xl_pass_where *w, const char *path)
{
    struct stat sb;

    if (stat(path, &sb) || !S_ISREG(sb.st_mode) || access(path, X_OK))
        return false;
    return !(w->self_known && sb.st_dev == w->self_dev &&
             sb.st_ino == w->self_ino);
}

/* Tries root + path; on success *path_r is that (allocated). */
static bool xl_pass_try(const struct xl_pass_where *w, const char *path,
                        char *tried, char **path_r)
{
    char *full;

    if (asprintf(&full, "%s%s", w->root, path) < 0) abort();
    if (xl_pass_usable(w, full)) {
        *path_r = full;
        return true;
    }
    free(full);
    xl_pass_note(tried, path);
    return false;
}

/* A small number from a sysfs file ("4\n"), or -1. */
static long xl_pass_read_num(const struct xl_pass_where *w, const char *path)
{
    char *full, buf[16], *end;
    FILE *f;
    long v = -1;

    if (asprintf(&full, "%s%s", w->root, path) < 0) abort();
    f = fopen(full, "re");
    free(full);
    if (!f) return -1;
    if (fgets(buf, sizeof(buf), f)) {
        errno = 0;
        v = strtol(buf, &end, 10);
        if (errno || end == buf || (*end && *end != '\n') || v < 0 ||
            v > 999)
            v = -1;
    }
    fclose(f);
    return v;
}

/*
 * Debian installs each Xen's tools under /usr/lib/xen-X.Y/bin; its
 * /usr/sbin/xl is a wrapper that picks the directory of the running Xen
 * and runs the program named as the wrapper was: renamed (a dpkg-divert
 * to xl.distrib) it would look for .../bin/xl.distrib. So the binary of
 * the running Xen comes first.
 */
static bool xl_pass_try_debian(const struct xl_pass_where *w, char *tried,
                               char **path_r)
{
    long major = xl_pass_read_num(w, "/sys/hypervisor/version/major");
    long minor = xl_pass_read_num(w, "/sys/hypervisor/version/minor");
    char path[64];

    if (major < 0 || minor < 0) {
        xl_pass_note(tried, "/usr/lib/xen-X.Y/bin/xl (no Xen running)");
        return false;
    }
    snprintf(path, sizeof(path), "/usr/lib/xen-%ld.%ld/bin/xl", major,
             minor);
    return xl_pass_try(w, path, tried, path_r);
}

/* name in each directory of PATH (empty entries: the current one). */
static bool xl_pass_try_path(const struct xl_pass_where *w, const char *name,
                             char **path_r)
{
    const char *p = w->path, *colon;
    char *full;
    size_t len;

    while (p && *p) {
        colon = strchrnul(p, ':');
        len = (size_t)(colon - p);
        if (asprintf(&full, "%.*s/%s", (int)len, len ? p : ".", name) < 0)
            abort();
        if (xl_pass_usable(w, full)) {
            *path_r = full;
            return true;
        }
        free(full);
        p = *colon ? colon + 1 : colon;
    }
    return false;
}

int xl_pass_find(const struct xl_pass_where *w, char **path_r,
                 char **tried_r)
{
    char *tried = calloc(1, XL_PASS_TRIED_MAX), *what;

    if (!tried) abort();
    *path_r = NULL;
    *tried_r = NULL;
    /* The admin's choice is final: no guessing past it. */
    if (w->xl_env) {
        if (strchr(w->xl_env, '/') ? xl_pass_usable(w, w->xl_env)
                                   : xl_pass_try_path(w, w->xl_env, path_r)) {
            if (!*path_r) *path_r = strdup(w->xl_env);
            if (!*path_r) abort();
            free(tried);
            return 0;
        }
        if (asprintf(&what, "XLMIG_XL=%s (not an executable other than "
                     "xlmig)", w->xl_env) < 0)
            abort();
        xl_pass_note(tried, what);
        free(what);
        *tried_r = tried;
        return -1;
    }
    if (xl_pass_try_debian(w, tried, path_r) ||
        xl_pass_try(w, "/usr/sbin/xl.distrib", tried, path_r) ||
        xl_pass_try_path(w, "xl", path_r))
        goto found;
    xl_pass_note(tried, "xl in PATH");
    if (xl_pass_try(w, "/usr/sbin/xl", tried, path_r) ||
        xl_pass_try(w, "/usr/local/sbin/xl", tried, path_r))
        goto found;
    *tried_r = tried;
    return -1;
found:
    free(tried);
    return 0;
}

/* FNV-1a over the arguments after argv[0], each with its NUL. */
static uint64_t xl_pass_hash(char **argv)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const char *p;
    int i;

    for (i = 1; argv[i]; i++) {
        p = argv[i];
        do {
            h ^= (unsigned char)*p;
            h *= 0x100000001b3ull;
        } while (*p++);
    }
    return h;
}

int xl_pass_exec(char **argv, const char *cmd)
{
    struct xl_pass_where w;
    char *xl = NULL, *tried = NULL, mark[24];
    const char *seen = getenv(XL_PASS_MARK);

    snprintf(mark, sizeof(mark), "%016llx",
             (unsigned long long)xl_pass_hash(argv));
    xl_pass_where_init(&w);
    if (xl_pass_find(&w, &xl, &tried)) {
        if (!cmd || !cmd_find(cmd))
            fprintf(stderr, "xlmig: unknown command '%s' (not an xlmig "
                    "command, and xl is not installed: looked for %s)\n",
                    cmd ? cmd : "", tried);
        else
            fprintf(stderr, "xlmig %s: these options are xl's, and xl is "
                    "not installed: looked for %s\n", cmd, tried);
        free(tried);
        return CMD_EXIT_USAGE;
    }
    if (seen && !strcmp(seen, mark)) {
        fprintf(stderr, "xlmig: %s runs xlmig again with the same arguments; "
                "set XLMIG_XL to the real xl\n", xl);
        free(xl);
        return CMD_EXIT_FAILED;
    }
    if (setenv(XL_PASS_MARK, mark, 1)) abort();
    argv[0] = (char *)"xl";
    execv(xl, argv);
    fprintf(stderr, "xlmig: cannot run %s: %s\n", xl, strerror(errno));
    free(xl);
    return CMD_EXIT_FAILED;
}

int xl_pass_cmd(struct cmd_ctx *c)
{
    if (!c->argv) {             /* not from a command line */
        cmd_error(c, "these options are xl's (run xl)");
        return CMD_EXIT_USAGE;
    }
    return xl_pass_exec(c->argv, c->entry ? c->entry->name : NULL);
}
