/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * smirror-dm-parse.c - the dm mover's parsers (smirror-dm.h) of what
 * dmsetup and losetup print: strict (every word checked, numbers
 * bounded, one line where one is expected) and pure (no I/O), so that
 * they can be fuzzed.
 */
#include <stdlib.h>
#include <string.h>

#include "smirror-dm.h"

#define SMDM_TOKENS_MAX 16              /* words of a line */
#define SMDM_LOOPS_MAX 4096
#define SMDM_DEVS_MAX 4096              /* devices named by all tables */

/* A decimal number, digits only, at most max. */
static bool smirror_dm_parse_u64(const char *s, uint64_t max, uint64_t *v_r)
{
    uint64_t v = 0;
    const char *p;

    if (!*s || strlen(s) > 20) return false;
    for (p = s; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > max) return false;
    *v_r = v;
    return true;
}

/* "MAJ:MIN" in decimal, as dm and losetup print them (Linux dev_t:
 * 12-bit major, 20-bit minor). */
static bool smirror_dm_parse_dev(const char *s, struct smirror_dm_dev *d)
{
    char buf[32];
    char *colon;
    uint64_t maj, min;

    if (strlen(s) >= sizeof(buf)) return false;
    strcpy(buf, s);
    colon = strchr(buf, ':');
    if (!colon) return false;
    *colon = '\0';
    if (!smirror_dm_parse_u64(buf, 0xfff, &maj) ||
        !smirror_dm_parse_u64(colon + 1, 0xfffff, &min))
        return false;
    d->maj = (unsigned)maj;
    d->min = (unsigned)min;
    return true;
}

/*
 * Splits one line (a final newline allowed, no other) into at most max
 * space-separated words, in place. Returns the count, or -1.
 */
static int smirror_dm_parse_split(char *line, char *tok[], int max)
{
    size_t len = strlen(line);
    char *p, *save;
    int n = 0;

    if (len && line[len - 1] == '\n') line[--len] = '\0';
    if (strchr(line, '\n')) return -1;
    for (p = strtok_r(line, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
        if (n == max) return -1;
        tok[n++] = p;
    }
    return n;
}

/* The sectors of a table or status line: "0 SECTORS ..." */
static bool smirror_dm_parse_extent(char *const tok[], uint64_t *sectors_r)
{
    return !strcmp(tok[0], "0") &&
           smirror_dm_parse_u64(tok[1], SMDM_SECTORS_MAX, sectors_r) &&
           *sectors_r > 0;
}

int smirror_dm_parse_table(const char *text, struct smirror_dm_table *t)
{
    char *copy = xstrdup(text), *tok[SMDM_TOKENS_MAX];
    int n = smirror_dm_parse_split(copy, tok, SMDM_TOKENS_MAX);
    bool ok = false;

    memset(t, 0, sizeof(*t));
    if (n == 5 && smirror_dm_parse_extent(tok, &t->sectors) &&
        !strcmp(tok[2], "linear")) {
        t->kind = SMIRROR_DM_LINEAR;
        ok = smirror_dm_parse_dev(tok[3], &t->dev[0]) &&
             !strcmp(tok[4], "0");
    } else if (n == 13 && smirror_dm_parse_extent(tok, &t->sectors) &&
               !strcmp(tok[2], "mirror")) {
        t->kind = SMIRROR_DM_MIRROR;
        ok = !strcmp(tok[3], "core") && !strcmp(tok[4], "1") &&
             smirror_dm_parse_u64(tok[5], t->sectors, &t->region) &&
             t->region >= 2 && !(t->region & (t->region - 1)) &&
             !strcmp(tok[6], "2") &&
             smirror_dm_parse_dev(tok[7], &t->dev[0]) &&
             !strcmp(tok[8], "0") &&
             smirror_dm_parse_dev(tok[9], &t->dev[1]) &&
             !strcmp(tok[10], "0") && !strcmp(tok[11], "1") &&
             !strcmp(tok[12], "handle_errors");
    }
    free(copy);
    return ok ? XLMIG_OK : XLMIG_E_PROTO;
}

/* "IN_SYNC/REGIONS", in_sync at most regions. */
static bool smirror_dm_parse_sync(const char *s, struct smirror_dm_status *st)
{
    char buf[48];
    char *slash;

    if (strlen(s) >= sizeof(buf)) return false;
    strcpy(buf, s);
    slash = strchr(buf, '/');
    if (!slash) return false;
    *slash = '\0';
    return smirror_dm_parse_u64(slash + 1, SMDM_SECTORS_MAX, &st->regions) &&
           st->regions > 0 &&
           smirror_dm_parse_u64(buf, st->regions, &st->in_sync);
}

int smirror_dm_parse_status(const char *text,
                            struct smirror_dm_status *st)
{
    char *copy = xstrdup(text), *tok[SMDM_TOKENS_MAX];
    int n = smirror_dm_parse_split(copy, tok, SMDM_TOKENS_MAX);
    bool ok;

    memset(st, 0, sizeof(*st));
    ok = n == 11 && smirror_dm_parse_extent(tok, &st->sectors) &&
         !strcmp(tok[2], "mirror") && !strcmp(tok[3], "2") &&
         smirror_dm_parse_dev(tok[4], &st->dev[0]) &&
         smirror_dm_parse_dev(tok[5], &st->dev[1]) &&
         smirror_dm_parse_sync(tok[6], st) && !strcmp(tok[7], "1") &&
         strlen(tok[8]) == 2 &&
         tok[8][0] >= 'A' && tok[8][0] <= 'Z' &&
         tok[8][1] >= 'A' && tok[8][1] <= 'Z' &&
         !strcmp(tok[9], "1") && !strcmp(tok[10], "core");
    if (ok) memcpy(st->health, tok[8], 3);
    free(copy);
    return ok ? XLMIG_OK : XLMIG_E_PROTO;
}

bool smirror_dm_parse_loop_name(const char *s)
{
    size_t n = strlen(s);

    return n > 5 && n <= SMDM_LOOP_NAME_MAX && !strncmp(s, "/dev/", 5) &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz"
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-") == n;
}

/* losetup --raw pads its MAJ:MIN columns with spaces, printed escaped
 * ("\x20\x207:0\x20\x20" in util-linux 2.38): drop them, in place. */
static void smirror_dm_unpad(char *s)
{
    static const char pad[] = "\\x20";
    size_t n = strlen(s), lead = 0;

    while (!strncmp(s + lead, pad, 4)) lead += 4;
    while (n >= lead + 4 && !strncmp(s + n - 4, pad, 4)) n -= 4;
    memmove(s, s + lead, n - lead);
    s[n - lead] = '\0';
}

int smirror_dm_parse_loops(const char *text,
                           struct smirror_dm_loop **loops_r,
                           size_t *n_r)
{
    char *copy = xstrdup(text), *line, *next, *f[4], *p;
    struct smirror_dm_loop *loops = NULL, *l;
    size_t n = 0, k;
    int rc = XLMIG_E_PROTO;

    for (line = copy; *line; line = next) {
        next = strchr(line, '\n');
        if (!next) goto out;                /* every line ends */
        *next++ = '\0';
        for (k = 0, p = line; k < 4 && p; k++) {
            f[k] = p;
            p = strchr(p, ' ');
            if (p) *p++ = '\0';
        }
        if (k != 4 || p) goto out;
        for (k = 1; k < 4; k++) smirror_dm_unpad(f[k]);
        if (!*f[2] && !*f[3]) continue;
        if (n == SMDM_LOOPS_MAX) goto out;
        loops = xrealloc(loops, (n + 1) * sizeof(*loops));
        l = &loops[n];
        if (!smirror_dm_parse_loop_name(f[0]) ||
            !smirror_dm_parse_dev(f[1], &l->dev) ||
            !smirror_dm_parse_dev(f[2], &l->back_dev) ||
            !smirror_dm_parse_u64(f[3], UINT64_MAX, &l->back_ino))
            goto out;
        strcpy(l->name, f[0]);
        n++;
    }
    *loops_r = loops;
    *n_r = n;
    loops = NULL;
    rc = XLMIG_OK;
out:
    free(loops);
    free(copy);
    return rc;
}

int smirror_dm_parse_all(const char *text,
                         struct smirror_dm_dev **devs_r, size_t *n_r)
{
    char *copy = xstrdup(text), *line, *next, *p, *save;
    struct smirror_dm_dev *devs = NULL, d;
    size_t n = 0;
    int rc = XLMIG_E_PROTO;

    if (!strcmp(text, "No devices found\n")) *copy = '\0';
    for (line = copy; *line; line = next) {
        next = strchr(line, '\n');
        if (!next) goto out;
        *next++ = '\0';
        p = strstr(line, ": ");
        if (!p) goto out;
        for (p = strtok_r(p + 2, " ", &save); p;
             p = strtok_r(NULL, " ", &save)) {
            if (!smirror_dm_parse_dev(p, &d)) continue;
            if (n == SMDM_DEVS_MAX) goto out;
            devs = xrealloc(devs, (n + 1) * sizeof(*devs));
            devs[n++] = d;
        }
    }
    *devs_r = devs;
    *n_r = n;
    devs = NULL;
    rc = XLMIG_OK;
out:
    free(devs);
    free(copy);
    return rc;
}
