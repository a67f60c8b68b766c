/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-ssh-serve.c - "xlmig ssh-serve": the forced command of the key a
 * migration source uses to reach this host, in root's authorized_keys:
 *
 *   command="xlmig ssh-serve",restrict ssh-ed25519 AAAA... migrate@hosta
 *
 * Without it, that key is a root shell here, and no incoming policy can
 * hold against a source that was taken over. With it, the key runs what
 * a source needs and nothing else: "xlmig migrate-receive" with its own
 * options, and "xlmig recover --query UUID" or "--release UUID". The
 * command ssh was asked for ($SSH_ORIGINAL_COMMAND) is split into words
 * on spaces, never given to a shell, checked against this command table
 * and run again as this program.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

#define CMD_SSH_SERVE_WORDS_MAX 16
#define CMD_SSH_SERVE_LEN_MAX 512

static int cmd_ssh_serve_exec(struct cmd_ctx *c, struct cmd_args *args);

const struct cmd_entry cmd_ssh_serve_entry = {
    .name = "ssh-serve",
    .usage = "",
    .help = "Forced command of a migration source's ssh key (see help)",
    .details =
        "In root's authorized_keys on this host:\n"
        "  command=\"xlmig ssh-serve\",restrict KEY\n"
        "Runs only \"xlmig migrate-receive [options]\" and \"xlmig recover\n"
        "--query|--release UUID\" as asked in SSH_ORIGINAL_COMMAND, split\n"
        "on spaces, never through a shell; refuses anything else.\n",
    .min_args = 0, .max_args = 0,
    .flags = CMD_MODIFIES,
    .exec = cmd_ssh_serve_exec,
};

/* Splits s (which it edits) into at most max words; -1 if it holds
 * anything but words of safe characters separated by single spaces. */
static int cmd_ssh_serve_split(char *s, char **words, int max)
{
    int n = 0;
    char *w;

    if (!*s || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
                      "YZ0123456789_./:=,- ") != strlen(s))
        return -1;
    for (w = strtok(s, " "); w; w = strtok(NULL, " ")) {
        if (n == max) return -1;
        words[n++] = w;
    }
    return n;
}

/* Whether words (argv of xlmig, words[0] its name) is a command a source
 * may run here. */
static bool cmd_ssh_serve_allowed(struct cmd_ctx *c, int n, char **words,
                                  char **why_r)
{
    const char *base = strrchr(words[0], '/');
    const struct cmd_entry *e;
    struct cmd_args a;
    char *cause = NULL;

    base = base ? base + 1 : words[0];
    if (n < 2 || strcmp(base, "xlmig")) {
        *why_r = strdup("not an xlmig command");
        return false;
    }
    e = cmd_find(words[1]);
    if (!e || (strcmp(e->name, "migrate-receive") &&
               strcmp(e->name, "recover"))) {
        *why_r = strdup("only migrate-receive and recover --query or "
                        "--release may run");
        return false;
    }
    if (cmd_parse(e, n - 1, words + 1, &a, &cause)) {
        *why_r = cause;
        return false;
    }
    /* recover itself acts on this host's journals: the admin runs it. */
    if (!strcmp(e->name, "recover") && !cmd_recover_asks(&a)) {
        *why_r = strdup("recover runs only with --query or --release");
        return false;
    }
    (void)c;
    return true;
}

static int cmd_ssh_serve_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    const char *asked = getenv("SSH_ORIGINAL_COMMAND");
    char *words[CMD_SSH_SERVE_WORDS_MAX + 1], *copy, *why = NULL;
    int n;

    (void)args;
    if (!asked || strlen(asked) > CMD_SSH_SERVE_LEN_MAX) {
        cmd_error(c, "refused: %s", asked ? "the command is too long"
                                          : "no command asked for");
        return CMD_EXIT_FAILED;
    }
    copy = strdup(asked);
    if (!copy) abort();
    n = cmd_ssh_serve_split(copy, words, CMD_SSH_SERVE_WORDS_MAX);
    if (n < 0) {
        cmd_error(c, "refused: the command holds more than plain words");
        free(copy);
        return CMD_EXIT_FAILED;
    }
    words[n] = NULL;
    if (!cmd_ssh_serve_allowed(c, n, words, &why)) {
        cmd_error(c, "refused: %s", why ? why : "not allowed");
        free(why);
        free(copy);
        return CMD_EXIT_FAILED;
    }
    /* This very program, whatever path the source named. */
    words[0] = (char *)"xlmig";
    execv("/proc/self/exe", words);
    cmd_error(c, "cannot run xlmig: %s", strerror(errno));
    free(copy);
    return CMD_EXIT_FAILED;
}
