/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * job-cold.c - cold migration of a halted domain: its config file goes to
 * another host (optionally after its disks moved to SRs both hosts see),
 * and nothing is started. Over the same transport as a migration:
 *
 *   sender -> "xlmig-cold 1 LEN FILENAME\n" and LEN bytes of the file
 *   receiver <- "ok PATH\n" once PATH is written and synced, or
 *               "error ONE ESCAPED LINE\n"
 *
 * The receiver treats the file as hostile: bounded, parsed by its own
 * backend, checked by the incoming policy, its disks visible here, the
 * name free and the file new (never replaced). The sender removes its
 * copy only after "ok": a crash in between leaves the config on both
 * hosts, the domain running on neither.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domcfg.h"
#include "fdio.h"
#include "job.h"
#include "journal.h"
#include "policy.h"
#include "proto.h"
#include "sr.h"
#include "storage-move.h"
#include "transport.h"

#define COLD_MAGIC "xlmig-cold 1"
#define COLD_FILE_MAX (1u << 20)
#define COLD_LINE_MAX 512
#define COLD_DIR_DEFAULT "/etc/xen"

/* $XLMIG_CONFIG_DIR, else /etc/xen: where received configs land. */
static const char *cold_dir(void)
{
    const char *d = getenv("XLMIG_CONFIG_DIR");

    return d && *d ? d : COLD_DIR_DEFAULT;
}

/* A file name the receiver takes: NAME.cfg, NAME safe. */
static bool cold_filename_ok(const char *f)
{
    size_t n = strlen(f);

    return n > 4 && n < 128 && f[0] != '.' && f[0] != '-' &&
           !strcmp(f + n - 4, ".cfg") &&
           strspn(f, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_.+-") == n;
}

/* Reads one line (without "\n") of at most max bytes from fd. */
static int cold_read_line(struct job *job, int fd, char *buf, size_t max)
{
    size_t n = 0;
    int rc;

    while (n < max - 1) {
        rc = fdio_read_exact(job->ctx, fd, buf + n, 1, &job->wait,
                             "the peer's line");
        if (rc) return rc;
        if (buf[n] == '\n') {
            buf[n] = '\0';
            return XLMIG_OK;
        }
        n++;
    }
    LOG(job->ctx, ERROR, "the peer's line is longer than %zu bytes", max);
    return XLMIG_E_PROTO;
}

/* ---- the receiver ---- */

static int cold_reply(struct job *job, int fd, int rc, const char *what)
{
    char *clean = proto_clean_text(what), *line;
    int wrc;

    line = xasprintf("%s %.*s\n", rc ? "error" : "ok", COLD_LINE_MAX - 16,
                     clean);
    wrc = fdio_write_all(job->ctx, fd, line, strlen(line), &job->wait,
                         "the reply");
    free(line);
    free(clean);
    return wrc;
}

/*
 * The config's disks that are LVs of LVM SRs this host declares and
 * identifies, activated here exclusively ("-aey": the sender let them
 * go) or deactivated again ("-an": refused). An LV's name must be plain.
 */
static void cold_take_lvs(struct xlmig_ctx *ctx, const struct domcfg *c,
                          const char *how)
{
    struct sr *list = NULL;
    const struct sr *s;
    char uuid[SR_UUID_MAX], *why = NULL;
    const char *lv;
    size_t n = 0, i;

    if (sr_load(ctx, &list, &n, &why)) {
        free(why);
        return;
    }
    for (i = 0; i < c->n_disks; i++) {
        s = sr_of_path(list, n, c->disks[i].pdev_path);
        if (!s || s->type != SR_LVM) continue;
        lv = c->disks[i].pdev_path + strlen("/dev/") + strlen(s->loc) + 1;
        if (!sr_name_ok(lv) || sr_identity(ctx, s, uuid, &why)) {
            free(why);
            why = NULL;
            continue;
        }
        if (smove_lv_change(ctx, c->disks[i].pdev_path, how, NULL))
            LOG(ctx, WARN, "lvchange %s %s failed", how,
                c->disks[i].pdev_path);
    }
    free(list);
}

/* Checks the received config at tmp; *why_r says what is refused. */
static int cold_check(struct job *job, struct hv *hv, const char *tmp,
                      const char *path, char **name_r, char **why_r)
{
    struct policy pol;
    struct policy_report rep = { NULL, 0 };
    struct domcfg c;
    char *json = NULL, *canon = NULL, *cause = NULL;
    bool took = false;
    uint32_t other;
    size_t i;
    int rc;

    memset(&c, 0, sizeof(c));
    policy_init(&pol);
    rc = hv_config_load(hv, tmp, 0, &json);
    if (!rc) rc = hv_config_canonical(hv, json, &canon);
    if (rc) {
        *why_r = xstrdup("the config cannot be read by this host's "
                         "toolstack");
        goto out;
    }
    rc = domcfg_parse(canon, &c, &cause);
    if (rc) {
        *why_r = xasprintf("the config: %s", cause);
        goto out;
    }
    if (!c.name || !xlmig_name_ok(c.name)) {
        *why_r = xstrdup("the config's name is not one this host takes");
        rc = XLMIG_E_INVAL;
        goto out;
    }
    *name_r = xstrdup(c.name);
    if (!hv_lookup(hv, c.name, &other)) {
        *why_r = xasprintf("a domain %s runs here (domain %u)", c.name,
                           other);
        rc = XLMIG_E_EXISTS;
        goto out;
    }
    if (access(path, F_OK) == 0) {
        *why_r = xasprintf("%s exists here already", path);
        rc = XLMIG_E_EXISTS;
        goto out;
    }
    cold_take_lvs(job->ctx, &c, "-aey");
    took = true;
    rc = policy_load(job->ctx, &pol, &cause);
    if (rc) {
        *why_r = xasprintf("incoming-policy: %s", cause);
        goto out;
    }
    rc = policy_check(job->ctx, hv, &pol, canon, &rep);
    if (!rc && rep.n) {
        *why_r = xasprintf("incoming-policy: %s", rep.v[0]);
        rc = XLMIG_E_PREFLIGHT;
        goto out;
    }
    for (i = 0; !rc && i < c.n_disks; i++) {
        if (c.disks[i].is_cdrom || !c.disks[i].pdev_path ||
            !*c.disks[i].pdev_path)
            continue;
        if (access(c.disks[i].pdev_path, F_OK)) {
            *why_r = xasprintf("disk %s: %s is not visible here",
                               c.disks[i].vdev ? c.disks[i].vdev : "?",
                               c.disks[i].pdev_path);
            rc = XLMIG_E_PREFLIGHT;
        }
    }
out:
    if (rc && took) cold_take_lvs(job->ctx, &c, "-an");
    policy_report_dispose(&rep);
    policy_dispose(&pol);
    domcfg_dispose(&c);
    free(cause);
    free(canon);
    free(json);
    return rc;
}

/* Writes data as path, never over an existing file, durably. */
static int cold_write_new(struct xlmig_ctx *ctx, const char *path,
                          const char *data, size_t len)
{
    char *tmp = xasprintf("%s.xlmig-new", path), *dir, *slash;
    int rc;

    rc = fdio_write_file(ctx, tmp, data, len);
    if (rc) goto out;
    if (chmod(tmp, 0644) < 0 || link(tmp, path) < 0) {
        rc = errno == EEXIST ? XLMIG_E_EXISTS : err_from_errno(errno);
        LOGE(ctx, ERROR, "create %s", path);
    }
    if (unlink(tmp) < 0) LOGE(ctx, WARN, "remove %s", tmp);
    if (rc) goto out;
    dir = xstrdup(path);
    slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    rc = fdio_sync_dir(ctx, slash ? dir : ".");
    free(dir);
out:
    free(tmp);
    return rc;
}

int job_cold_receive(struct xlmig_ctx *ctx, int recv_fd, int send_fd,
                     unsigned timeout_s)
{
    struct job job;
    struct hv *hv;
    char line[COLD_LINE_MAX], file[128] = "", *data = NULL, *tmp = NULL;
    char *why = NULL, *name = NULL, *path = NULL;
    unsigned long len;
    int rc, n = 0, fd = -1;

    job_init(&job, ctx, NULL, NULL, timeout_s, -1);
    rc = cold_read_line(&job, recv_fd, line, sizeof(line));
    if (rc) {
        (void)!cold_reply(&job, send_fd, rc, "malformed header");
        return rc;
    }
    if (strncmp(line, COLD_MAGIC " ", strlen(COLD_MAGIC) + 1) ||
        sscanf(line + strlen(COLD_MAGIC), " %lu %127s%n", &len, file, &n) !=
            2 ||
        line[strlen(COLD_MAGIC) + (size_t)n] || len == 0 ||
        len > COLD_FILE_MAX || !cold_filename_ok(file)) {
        LOG(ctx, ERROR, "cold migration: a malformed header from the peer");
        (void)!cold_reply(&job, send_fd, XLMIG_E_PROTO, "malformed header");
        return XLMIG_E_PROTO;
    }
    data = xmalloc(len + 1);
    rc = fdio_read_exact(ctx, recv_fd, data, len, &job.wait, "the config");
    if (rc) goto out;
    data[len] = '\0';
    if (strlen(data) != len) {
        why = xstrdup("the config holds NUL bytes");
        rc = XLMIG_E_PROTO;
        goto out;
    }
    rc = ctx_hv(ctx, &hv);
    if (rc) goto out;
    /* The backend reads configs from files: a private one of ours. */
    rc = journal_make_dir(ctx);
    if (rc) goto out;
    tmp = xasprintf("%s/.cold-XXXXXX", journal_dir());
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0 || fdio_write_all(ctx, fd, data, len, &job.wait, tmp)) {
        LOGE(ctx, ERROR, "write %s", tmp);
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    path = xasprintf("%s/%s", cold_dir(), file);
    rc = cold_check(&job, hv, tmp, path, &name, &why);
    if (rc) goto out;
    rc = cold_write_new(ctx, path, data, len);
    if (rc == XLMIG_E_EXISTS)
        why = xasprintf("%s exists here already", path);
    if (rc) goto out;
    LOG(ctx, INFO, "the config of %s is %s here now", name, path);
out:
    if (rc && !why) why = xstrdup(xlmig_strerror(rc));
    if (rc) LOG(ctx, ERROR, "cold migration refused: %s", why);
    if (rc != XLMIG_E_PROTO || why)
        (void)!cold_reply(&job, send_fd, rc, rc ? why : path);
    if (fd >= 0) close(fd);
    if (tmp && fd >= 0) unlink(tmp);
    free(path);
    free(name);
    free(why);
    free(tmp);
    free(data);
    return rc;
}

/* ---- the sender ---- */

/* Whether disk vdev of config json is in SR name already. */
static bool cold_in_sr(struct xlmig_ctx *ctx, const char *json,
                       const char *vdev, const char *name)
{
    struct domcfg c;
    struct sr *list = NULL;
    const struct sr *s = NULL;
    char *why = NULL;
    size_t n = 0, i;
    bool in;

    memset(&c, 0, sizeof(c));
    if (domcfg_parse(json, &c, &why) || sr_load(ctx, &list, &n, &why)) {
        free(why);
        domcfg_dispose(&c);
        return false;
    }
    for (i = 0; i < c.n_disks && !s; i++)
        if (c.disks[i].vdev && !strcmp(c.disks[i].vdev, vdev))
            s = sr_of_path(list, n, c.disks[i].pdev_path);
    in = s && !strcmp(s->name, name);
    free(list);
    domcfg_dispose(&c);
    return in;
}

/*
 * The domain's LVs in LVM SRs (declared here), each deactivated
 * ("-an": before the destination takes them; an LV is active on one host
 * at a time) or activated exclusively again ("-aey": the destination
 * refused). Returns the first failure; *n_r counts the LVs changed.
 */
static int cold_lvs(struct xlmig_ctx *ctx, const char *json,
                    const char *how, unsigned *n_r)
{
    struct domcfg c;
    struct sr *list = NULL;
    const struct sr *s;
    char *why = NULL;
    size_t n = 0, i;
    int rc = XLMIG_OK, r;

    *n_r = 0;
    memset(&c, 0, sizeof(c));
    if (domcfg_parse(json, &c, &why) || sr_load(ctx, &list, &n, &why)) {
        LOG(ctx, ERROR, "%s", why);
        free(why);
        domcfg_dispose(&c);
        return XLMIG_E_INVAL;
    }
    for (i = 0; i < c.n_disks; i++) {
        s = sr_of_path(list, n, c.disks[i].pdev_path);
        if (!s || s->type != SR_LVM) continue;
        r = smove_lv_change(ctx, c.disks[i].pdev_path, how, NULL);
        if (r) {
            LOG(ctx, ERROR, "lvchange %s %s failed", how,
                c.disks[i].pdev_path);
            if (!rc) rc = r;
            continue;
        }
        (*n_r)++;
    }
    free(list);
    domcfg_dispose(&c);
    return rc;
}

/* --storage VDEV=SR: each disk to its SR first, one storage move each
 * (the config file then names the copies); a disk there already stays. */
static int cold_storage(struct xlmig_ctx *ctx,
                        const struct xlmig_migrate_opts *opts,
                        const char *json, unsigned *moved_r)
{
    struct xlmig_storage_opts so;
    char *vdev, *sr;
    size_t i;
    int rc = XLMIG_OK;

    for (i = 0; i < opts->n_storage && !rc; i++) {
        vdev = xstrdup(opts->storage[i]);
        sr = strchr(vdev, '=');
        if (!sr || sr == vdev || !sr[1]) {
            LOG(ctx, ERROR, "--storage %s: expected VDEV=SR",
                opts->storage[i]);
            free(vdev);
            return XLMIG_E_INVAL;
        }
        *sr++ = '\0';
        if (cold_in_sr(ctx, json, vdev, sr)) {
            LOG(ctx, INFO, "disk %s is in SR %s already", vdev, sr);
        } else {
            memset(&so, 0, sizeof(so));
            so.config_file = opts->config_file;
            so.vdev = vdev;
            so.sr = sr;
            so.bandwidth = opts->bandwidth;
            so.keep_source = opts->keep_source;
            so.no_wait = opts->no_wait;
            so.cancel_fd = opts->cancel_fd;
            so.event_fn = opts->event_fn;
            so.event_arg = opts->event_arg;
            rc = xlmig_storage_move(ctx, &so, NULL);
            if (!rc) (*moved_r)++;
        }
        free(vdev);
    }
    return rc;
}

int job_cold_send(struct xlmig_ctx *ctx, const char *domain, const char *host,
                  const struct xlmig_migrate_opts *opts,
                  struct xlmig_migrate_result *res)
{
    struct transport_opts to = { .ssh_command = opts->ssh_command,
                                 .host = host,
                                 .program = opts->receiver_program,
                                 .cold = true,
                                 .timeout_s = opts->timeout_s };
    struct transport tr;
    struct job job;
    struct domcfg c;
    struct hv *hv;
    char *json = NULL, *text = NULL, *hdr = NULL, *why = NULL, *base;
    char line[COLD_LINE_MAX], file[128];
    unsigned lvs = 0;
    uint32_t domid;
    int rc;

    memset(&c, 0, sizeof(c));
    transport_init(&tr);
    job_init(&job, ctx, opts->event_fn, opts->event_arg, opts->timeout_s,
             opts->cancel_fd);
    job_phase(&job, XLMIG_PHASE_PREFLIGHT, "cold: %s to %s", domain, host);
    rc = ctx_hv(ctx, &hv);
    if (!rc) rc = hv_config_load(hv, opts->config_file, 0, &json);
    if (rc) goto out;
    rc = domcfg_parse(json, &c, &why);
    if (rc) {
        LOG(ctx, ERROR, "%s: %s", opts->config_file, why);
        goto out;
    }
    if (!c.name || strcmp(c.name, domain)) {
        LOG(ctx, ERROR, "%s is the config of %s, not of %s",
            opts->config_file, c.name ? c.name : "a nameless domain", domain);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    if (!hv_lookup(hv, domain, &domid)) {
        LOG(ctx, ERROR, "%s runs here (domain %u): a cold migration moves "
            "halted domains", domain, domid);
        rc = XLMIG_E_BUSY;
        goto out;
    }
    res->cold = true;
    snprintf(res->name, sizeof(res->name), "%s", domain);
    res->failed_phase = XLMIG_PHASE_TRANSFER;
    rc = cold_storage(ctx, opts, json, &res->disks_moved);
    if (rc) goto out;
    rc = fdio_read_file(ctx, opts->config_file, COLD_FILE_MAX, &text);
    if (rc) goto out;
    base = strrchr(opts->config_file, '/');
    base = base ? base + 1 : (char *)opts->config_file;
    snprintf(file, sizeof(file), "%s.cfg", domain);
    if (cold_filename_ok(base)) snprintf(file, sizeof(file), "%s", base);
    job_phase(&job, XLMIG_PHASE_TRANSFER, "the config to %s", host);
    /* The destination activates its LVs (it must see the disks): first
     * they go here. */
    rc = cold_lvs(ctx, json, "-an", &lvs);
    if (rc) goto out;
    if (lvs) job_info(&job, "%u LV%s deactivated here for %s", lvs,
                      lvs == 1 ? "" : "s", host);
    rc = transport_open(ctx, &to, &tr);
    if (rc) goto out;
    hdr = xasprintf(COLD_MAGIC " %zu %s\n", strlen(text), file);
    rc = fdio_write_all(ctx, tr.send_fd, hdr, strlen(hdr), &job.wait,
                        "the header");
    if (!rc)
        rc = fdio_write_all(ctx, tr.send_fd, text, strlen(text), &job.wait,
                            "the config");
    if (!rc) rc = cold_read_line(&job, tr.recv_fd, line, sizeof(line));
    if (rc) {
        LOG(ctx, ERROR, "%s did not take the config: %s", host,
            xlmig_strerror(rc));
        goto out;
    }
    if (!strncmp(line, "ok ", 3)) res->where = XLMIG_WHERE_DEST;
    if (strncmp(line, "ok ", 3)) {
        char *clean = proto_clean_text(strncmp(line, "error ", 6)
                                           ? line : line + 6);

        LOG(ctx, ERROR, "%s refused the config: %s", host, clean);
        free(clean);
        rc = XLMIG_E_PREFLIGHT;
        goto out;
    }
    job_phase(&job, XLMIG_PHASE_COMMIT, "%s holds it as %.200s", host,
              line + 3);
    if (unlink(opts->config_file) < 0) {
        LOGE(ctx, ERROR, "%s holds the config now, but %s could not be "
             "removed here", host, opts->config_file);
        rc = err_from_errno(errno);
        goto out;
    }
    job_phase(&job, XLMIG_PHASE_DONE, "%s is defined on %s, not here",
              domain, host);
out:
    res->total_s = job_elapsed(&job);
    if (rc) res->failed_phase = job.phase;
    if (rc && lvs && res->where != XLMIG_WHERE_DEST &&
        cold_lvs(ctx, json, "-aey", &lvs))
        LOG(ctx, ERROR, "the domain's LVs are not active here again: "
            "lvchange -aey them before starting it");
    transport_close(ctx, &tr, 5);
    domcfg_dispose(&c);
    free(hdr);
    free(why);
    free(text);
    free(json);
    return rc;
}
