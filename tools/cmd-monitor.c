/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-monitor.c - "xlmig monitor": the per-domain monitor (what xl's
 * "xl-NAME" process does) that carries out on_poweroff / on_reboot /
 * on_crash. migrate-receive starts one for every domain it receives.
 * By default it checks the domain, then daemonises, logging to
 * /var/log/xen/xlmig-NAME.log.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"

#define CMD_MONITOR_LOG_DIR "/var/log/xen"

static int cmd_monitor_exec(struct cmd_ctx *c, struct cmd_args *args);

const struct cmd_entry cmd_monitor_entry = {
    .name = "monitor",
    .usage = "[-F] [-l LOGFILE] <domain>",
    .help = "Carry out a domain's on_poweroff/on_reboot/on_crash actions",
    .details =
        "Options:\n"
        "  -F          stay in the foreground, log to stderr\n"
        "  -l LOGFILE  log here (default $XLMIG_LOG_DIR/xlmig-NAME.log,\n"
        "              XLMIG_LOG_DIR defaulting to /var/log/xen)\n",
    .opts = "Fl:",
    .min_args = 1, .max_args = 1,
    .flags = CMD_MODIFIES,
    .exec = cmd_monitor_exec,
};

/*
 * Detaches: fork, setsid, fork; the daemon takes the log file as stdout and
 * stderr and tells the original process it is ready over a pipe, so the
 * caller's session is released before we return. Returns in the daemon
 * only; the original process exits with the daemon's start status.
 */
static int cmd_monitor_daemonize(struct cmd_ctx *c, const char *log)
{
    int ready[2], fd, status;
    pid_t pid;
    char ok;

    if (pipe2(ready, O_CLOEXEC)) {
        cmd_error(c, "pipe: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        cmd_error(c, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid > 0) {
        close(ready[1]);
        ok = 0;
        if (read(ready[0], &ok, 1) != 1) ok = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        exit(ok ? CMD_EXIT_OK : CMD_EXIT_FAILED);
    }
    close(ready[0]);
    if (setsid() < 0) _exit(CMD_EXIT_FAILED);
    pid = fork();
    if (pid < 0) _exit(CMD_EXIT_FAILED);
    if (pid > 0) _exit(CMD_EXIT_OK);
    fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        cmd_error(c, "cannot open %s: %s", log, strerror(errno));
        _exit(CMD_EXIT_FAILED);
    }
    if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
        _exit(CMD_EXIT_FAILED);
    close(fd);
    fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || dup2(fd, STDIN_FILENO) < 0) _exit(CMD_EXIT_FAILED);
    close(fd);
    if (chdir("/")) _exit(CMD_EXIT_FAILED);
    ok = 1;
    if (write(ready[1], &ok, 1) != 1) _exit(CMD_EXIT_FAILED);
    close(ready[1]);
    return 0;
}

static int cmd_monitor_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    char *name = NULL, *log = NULL, id[16];
    uint32_t domid;
    int rc;

    if (!cmd_lib(c)) return CMD_EXIT_FAILED;
    rc = xlmig_domain_lookup(c->lib, args->argv[0], &domid, &name);
    if (rc) {
        cmd_error(c, "%s: %s", args->argv[0], xlmig_strerror(rc));
        return cmd_exit_status(rc);
    }
    snprintf(id, sizeof(id), "%u", domid);
    if (!cmd_has(args, 'F')) {
        if (cmd_get(args, 'l')) {
            log = strdup(cmd_get(args, 'l'));
        } else {
            const char *dir = getenv("XLMIG_LOG_DIR");

            if (!dir || !*dir) dir = CMD_MONITOR_LOG_DIR;
            mkdir(dir, 0755);
            /* The name may have come from a peer: in a path only if
             * it is a safe one. */
            if ((xlmig_name_ok(name)
                 ? asprintf(&log, "%s/xlmig-%s.log", dir, name)
                 : asprintf(&log, "%s/xlmig-domain-%u.log", dir, domid)) < 0)
                log = NULL;
        }
        /* No libxl state may cross a fork: close it, reopen after. */
        xlmig_ctx_free(c->lib);
        c->lib = NULL;
        if (!log || cmd_monitor_daemonize(c, log)) {
            free(name);
            free(log);
            return CMD_EXIT_FAILED;
        }
        xtl_stdiostream_adjust_flags(c->logger, XTL_STDIOSTREAM_SHOW_DATE |
                                     XTL_STDIOSTREAM_SHOW_PID, 0);
        if (!cmd_lib(c)) rc = XLMIG_E_HV;
    }
    if (!rc) rc = xlmig_monitor(c->lib, id, sig_cancel_fd());
    if (rc) cmd_error(c, "monitoring %s failed: %s", name,
                      xlmig_strerror(rc));
    free(name);
    free(log);
    return cmd_exit_status(rc);
}
