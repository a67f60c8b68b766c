/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-migrate-receive.c - "xlmig migrate-receive": the receiving end, run
 * by the sender over ssh (stdin: stream, stdout: replies), like
 * "xl migrate-receive". Nothing but the protocol may go to stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"

#define CMD_MIGRATE_RECEIVE_TIMEOUT (CMD_OPT_LONG + 0)
#define CMD_MIGRATE_RECEIVE_XLMIG (CMD_OPT_LONG + 1)
#define CMD_MIGRATE_RECEIVE_COLD (CMD_OPT_LONG + 2)
#define CMD_MIGRATE_RECEIVE_COLO (CMD_OPT_LONG + 3)
#define CMD_MIGRATE_RECEIVE_COLO_SCRIPT (CMD_OPT_LONG + 4)
#define CMD_MIGRATE_RECEIVE_COLO_PROXY (CMD_OPT_LONG + 5)
#define CMD_MIGRATE_RECEIVE_TIMEOUT_DEFAULT 120
#define CMD_MIGRATE_RECEIVE_NO_DOMAIN 0x7ff4u   /* libxl's INVALID_DOMID */

extern char **environ;

static int cmd_migrate_receive_exec(struct cmd_ctx *c,
                                    struct cmd_args *args);

static const struct option cmd_migrate_receive_longopts[] = {
    { "timeout", required_argument, NULL, CMD_MIGRATE_RECEIVE_TIMEOUT },
    { "xlmig", required_argument, NULL, CMD_MIGRATE_RECEIVE_XLMIG },
    { "cold", no_argument, NULL, CMD_MIGRATE_RECEIVE_COLD },
    /* xl's Remus/COLO receiver (with -r): handed to xl. */
    { "colo", no_argument, NULL, CMD_MIGRATE_RECEIVE_COLO },
    { "coloft-script", required_argument, NULL,
      CMD_MIGRATE_RECEIVE_COLO_SCRIPT },
    { "userspace-colo-proxy", no_argument, NULL,
      CMD_MIGRATE_RECEIVE_COLO_PROXY },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_migrate_receive_entry = {
    .name = "migrate-receive",
    .usage = "[-e] [-d] [-p] [-F] [--timeout SECS] [--xlmig N] [--cold]"
             " [-r]",
    .help = "Receive a migrating domain on stdin/stdout (run by migrate)",
    .details =
        "Options:\n"
        "  -e              no monitor process for the received domain\n"
        "  -F              monitor in this process instead of a daemon\n"
        "  -d              log the received configuration\n"
        "  -p              leave the domain paused\n"
        "  --timeout SECS  fail when the sender is silent this long\n"
        "                  (default 120; 0 waits for ever)\n"
        "  --xlmig N       the sender speaks xlmig/1 up to version N\n"
        "  --cold          take a halted domain's config (a cold\n"
        "                  migration) into /etc/xen, checked by the\n"
        "                  incoming policy, never replacing a file\n"
        "                  (pre-flight checks here); without it, exactly\n"
        "                  xl's protocol\n"
        "  -r, --colo, --coloft-script, --userspace-colo-proxy\n"
        "                  xl's Remus/COLO receiver: run by xl\n",
    .opts = "edpFr",
    .longopts = cmd_migrate_receive_longopts,
    .min_args = 0, .max_args = 0,
    .flags = CMD_MODIFIES | CMD_XL,
    .exec = cmd_migrate_receive_exec,
};

static void cmd_migrate_receive_event(void *arg,
                                      const struct xlmig_event *ev)
{
    (void)arg;
    if (ev->type == XLMIG_EV_NO_RETURN)
        sig_refuse("migrate-receive", ev->detail);
    if (ev->type == XLMIG_EV_PROGRESS) return;
    fprintf(stderr, "migration target: [%6.1fs] %s: %s\n", ev->elapsed,
            xlmig_phase_name(ev->phase), ev->detail ? ev->detail : "");
}

/*
 * Starts "xlmig monitor DOMID" (which daemonises itself) without letting
 * it inherit the ssh session's stdin/stdout.
 */
int cmd_start_monitor(struct cmd_ctx *c, uint32_t domid)
{
    posix_spawn_file_actions_t fa;
    char id[16], *argv[4], self[4096];
    ssize_t n;
    pid_t pid;
    int r, status;

    snprintf(id, sizeof(id), "%u", domid);
    argv[0] = (char *)"xlmig";
    argv[1] = (char *)"monitor";
    argv[2] = id;
    argv[3] = NULL;
    if (posix_spawn_file_actions_init(&fa)) return -1;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    /* Our own binary by its real path, so that ps shows "xlmig". */
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0 && (size_t)n < sizeof(self) - 1) self[n] = '\0';
    else snprintf(self, sizeof(self), "/proc/self/exe");
    r = posix_spawn(&pid, self, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r) {
        cmd_error(c, "cannot start the monitor: %s", strerror(r));
        return -1;
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        cmd_error(c, "the monitor for domain %u did not start", domid);
        return -1;
    }
    return 0;
}

static int cmd_migrate_receive_exec(struct cmd_ctx *c,
                                    struct cmd_args *args)
{
    struct xlmig_receive_opts o;
    struct xlmig_ctx *lib;
    long long timeout = CMD_MIGRATE_RECEIVE_TIMEOUT_DEFAULT;
    long long proto = 0;
    char *cause = NULL, id[16];
    uint32_t domid;
    int rc, null_fd;

    if (cmd_has(args, 'r') || cmd_has(args, CMD_MIGRATE_RECEIVE_COLO) ||
        cmd_has(args, CMD_MIGRATE_RECEIVE_COLO_SCRIPT) ||
        cmd_has(args, CMD_MIGRATE_RECEIVE_COLO_PROXY))
        return xl_pass_cmd(c);
    memset(&o, 0, sizeof(o));
    if (cmd_has(args, CMD_MIGRATE_RECEIVE_TIMEOUT) &&
        cmd_strtonum(cmd_get(args, CMD_MIGRATE_RECEIVE_TIMEOUT), 0, 86400,
                     &timeout, &cause)) {
        cmd_error(c, "--timeout: %s", cause);
        free(cause);
        return CMD_EXIT_USAGE;
    }
    if (cmd_has(args, CMD_MIGRATE_RECEIVE_XLMIG) &&
        cmd_strtonum(cmd_get(args, CMD_MIGRATE_RECEIVE_XLMIG), 1, 1000,
                     &proto, &cause)) {
        cmd_error(c, "--xlmig: %s", cause);
        free(cause);
        return CMD_EXIT_USAGE;
    }
    o.xlmig_proto = (unsigned)proto;
    o.recv_fd = STDIN_FILENO;
    o.send_fd = STDOUT_FILENO;
    o.paused = cmd_has(args, 'p');
    o.debug = cmd_has(args, 'd');
    o.timeout_s = (unsigned)timeout;
    o.cold = cmd_has(args, CMD_MIGRATE_RECEIVE_COLD);
    o.cancel_fd = sig_cancel_fd();
    o.event_fn = cmd_migrate_receive_event;
    lib = cmd_lib(c);
    if (!lib) return CMD_EXIT_FAILED;
    cmd_hide_progress(c, true);
    rc = xlmig_migrate_receive(lib, &o, &domid);
    if (rc) {
        cmd_error(c, "receiving failed: %s; nothing of the domain is left "
                  "on this host", xlmig_strerror(rc));
        return cmd_exit_status(rc);
    }
    /* The sender only checked: no domain came. */
    if (domid == CMD_MIGRATE_RECEIVE_NO_DOMAIN) return CMD_EXIT_OK;
    if (cmd_has(args, 'e')) return CMD_EXIT_OK;
    if (!cmd_has(args, 'F')) {
        /* The domain runs; a monitor that failed to start is a warning. */
        (void)cmd_start_monitor(c, domid);
        return CMD_EXIT_OK;
    }
    /* -F: this process becomes the monitor; let the session go. */
    null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd >= 0) {
        dup2(null_fd, STDIN_FILENO);
        dup2(null_fd, STDOUT_FILENO);
        close(null_fd);
    }
    snprintf(id, sizeof(id), "%u", domid);
    rc = xlmig_monitor(lib, id, o.cancel_fd);
    return cmd_exit_status(rc);
}
