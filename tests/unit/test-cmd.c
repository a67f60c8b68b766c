/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-cmd.c - the command table and option parsing: xl's options mean
 * what they mean to xl, misuse is refused with a cause, names match
 * exactly; xl list's formats; finding the real xl in a fake tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cmd.h"
#include "test-util.h"

/* Parses a NULL-terminated argument list for command name. */
static int test_parse(const char *name, struct cmd_args *args,
                      char **cause, ...)
{
    static char *argv[32];
    const struct cmd_entry *e = cmd_find(name);
    va_list ap;
    int argc = 0;
    char *a;

    assert_non_null(e);
    argv[argc++] = (char *)name;
    va_start(ap, cause);
    while ((a = va_arg(ap, char *)) && argc < 31)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    return cmd_parse(e, argc, argv, args, cause);
}

static void test_migrate_takes_xl_options(void **state)
{
    struct cmd_args a;
    char *cause;

    (void)state;
    assert_int_equal(test_parse("migrate", &a, &cause, "-s", "ssh -p 22",
                                "-e", "-p", "-C", "/etc/xen/g.cfg", "-D",
                                "--debug", "--live", "--timeout", "30",
                                "guest", "hostb", NULL), 0);
    assert_string_equal(cmd_get(&a, 's'), "ssh -p 22");
    assert_true(cmd_has(&a, 'e'));
    assert_true(cmd_has(&a, 'p'));
    assert_true(cmd_has(&a, 'D'));
    assert_false(cmd_has(&a, 'F'));
    assert_string_equal(cmd_get(&a, 'C'), "/etc/xen/g.cfg");
    assert_true(cmd_has(&a, CMD_OPT_LONG + 0));     /* --debug */
    assert_string_equal(cmd_get(&a, CMD_OPT_LONG + 2), "30");
    assert_int_equal(a.argc, 2);
    assert_string_equal(a.argv[0], "guest");
    assert_string_equal(a.argv[1], "hostb");
}

static void test_empty_ssh_command_is_kept(void **state)
{
    struct cmd_args a;
    char *cause;

    (void)state;
    assert_int_equal(test_parse("migrate", &a, &cause, "-s", "", "g",
                                "ssh b xl migrate-receive", NULL), 0);
    assert_non_null(cmd_get(&a, 's'));
    assert_string_equal(cmd_get(&a, 's'), "");
}

static void test_misuse_is_refused_with_a_cause(void **state)
{
    struct cmd_args a;
    char *cause;

    (void)state;
    assert_int_equal(test_parse("migrate", &a, &cause, "-x", "g", "h",
                                NULL), -1);
    assert_string_equal(cause, "unknown option -x");
    free(cause);
    assert_int_equal(test_parse("migrate", &a, &cause, "--bogus", "g", "h",
                                NULL), -1);
    assert_non_null(strstr(cause, "--bogus"));
    free(cause);
    assert_int_equal(test_parse("migrate", &a, &cause, "g", "-s", NULL),
                     -1);
    assert_string_equal(cause, "option -s needs a value");
    free(cause);
    assert_int_equal(test_parse("migrate", &a, &cause, "g", "--timeout",
                                NULL), -1);
    assert_string_equal(cause, "option --timeout needs a value");
    free(cause);
    assert_int_equal(test_parse("migrate", &a, &cause, "g", NULL), -1);
    assert_non_null(strstr(cause, "missing arguments"));
    free(cause);
    assert_int_equal(test_parse("migrate", &a, &cause, "g", "h", "i", NULL),
                     -1);
    assert_non_null(strstr(cause, "too many arguments"));
    free(cause);
    assert_int_equal(test_parse("migrate-receive", &a, &cause, "x", NULL),
                     -1);
    free(cause);
}

static void test_migrate_takes_xl_command_lines(void **state)
{
    struct cmd_args a;
    char *cause;

    (void)state;
    /* Ganeti: options after the domain; xendomains: a numeric domid. */
    assert_int_equal(test_parse("migrate", &a, &cause, "-s",
                                "socat -b524288 - TCP:10.0.0.2:8102 #",
                                "-C", "/etc/xen/inst1", "inst1", "10.0.0.2",
                                NULL), 0);
    assert_string_equal(cmd_get(&a, 'C'), "/etc/xen/inst1");
    assert_int_equal(test_parse("migrate", &a, &cause, "5", "hostb", "-e",
                                "--live", "-s", "ssh -p 2222", NULL), 0);
    assert_int_equal(a.argc, 2);
    assert_string_equal(a.argv[0], "5");
    assert_true(cmd_has(&a, 'e'));
    assert_string_equal(cmd_get(&a, 's'), "ssh -p 2222");
    /* xl's receiver options, Remus's included (handed to xl). */
    assert_int_equal(test_parse("migrate-receive", &a, &cause, "-F", "-e",
                                "-d", "-r", "-p", NULL), 0);
    assert_true(cmd_has(&a, 'r') && cmd_has(&a, 'F'));
    assert_int_equal(test_parse("migrate-receive", &a, &cause, "--colo",
                                "--coloft-script", "/x", NULL), 0);
}

static void test_invoked_as_xl_runs_only_xl_commands(void **state)
{
    const struct cmd_entry *const *e;
    int n = 0;

    (void)state;
    assert_true(xl_pass_invoked_as_xl("xl"));
    assert_true(xl_pass_invoked_as_xl("/usr/sbin/xl"));
    assert_false(xl_pass_invoked_as_xl("xlmig"));
    assert_false(xl_pass_invoked_as_xl("/usr/sbin/xl.distrib"));
    assert_false(xl_pass_invoked_as_xl("/bin/axl"));
    assert_false(xl_pass_invoked_as_xl(NULL));
    for (e = cmd_table; *e; e++)
        if ((*e)->flags & CMD_XL) n++;
    assert_int_equal(n, 3);
    assert_true(cmd_find("migrate")->flags & CMD_XL);
    assert_true(cmd_find("migrate-receive")->flags & CMD_XL);
    assert_true(cmd_find("list")->flags & CMD_XL);
}

/* What f (an open_memstream) holds, compared and freed. */
static void test_stream_is(FILE *f, char **buf, const char *want)
{
    fclose(f);
    assert_string_equal(*buf, want);
    free(*buf);
}

static void test_list_prints_xl_lines(void **state)
{
    struct xlmig_domain d = {
        .domid = 3, .name = "vm1", .memkb = 131072, .claimed_kb = 1024,
        .vcpus = 2, .state = "-b----", .cpu_time_ns = 12345678901ull,
    };
    char *buf;
    size_t len;
    FILE *f;

    (void)state;
    f = open_memstream(&buf, &len);
    cmd_list_header(f);
    cmd_list_row(f, &d);
    snprintf(d.name, sizeof(d.name), "%s", "a-name-longer-than-the-forty-"
             "columns-of-its-field");
    d.domid = 32000;
    d.cpu_time_ns = 0;
    snprintf(d.state, sizeof(d.state), "%s", "---sc-");
    cmd_list_row(f, &d);
    test_stream_is(f, &buf,
        "Name                                        ID   Mem VCPUs\tState"
        "\tTime(s)\n"
        "vm1                                          3   129     2     "
        "-b----      12.3\n"
        "a-name-longer-than-the-forty-columns-of-its-field 32000   129     "
        "2     ---sc-       0.0\n");
}

static const char test_cfg_json[] =
    "{\n"
    "    \"c_info\": {\n"
    "        \"name\": \"vm1\"\n"
    "    },\n"
    "    \"e\": {\n"
    "\n"
    "    }\n"
    "}\n";

static void test_list_long_is_xl_json(void **state)
{
    char *buf;
    size_t len;
    FILE *f;

    (void)state;
    /* As yajl's beautifier lays out xl's array (checked against it). */
    f = open_memstream(&buf, &len);
    fputs("[\n", f);
    cmd_list_long_item(f, true, 0, test_cfg_json);
    cmd_list_long_item(f, false, 7, test_cfg_json);
    fputs("\n]\n\n", f);
    test_stream_is(f, &buf,
        "[\n"
        "    {\n"
        "        \"domid\": 0,\n"
        "        \"config\": {\n"
        "            \"c_info\": {\n"
        "                \"name\": \"vm1\"\n"
        "            },\n"
        "            \"e\": {\n"
        "\n"
        "            }\n"
        "        }\n"
        "    },\n"
        "    {\n"
        "        \"domid\": 7,\n"
        "        \"config\": {\n"
        "            \"c_info\": {\n"
        "                \"name\": \"vm1\"\n"
        "            },\n"
        "            \"e\": {\n"
        "\n"
        "            }\n"
        "        }\n"
        "    }\n"
        "]\n"
        "\n");
}

/* A fake tree for xl_pass_find: TREE/rel made (and parents). */
static char *test_tree_file(const char *tree, const char *rel,
                            const char *text, mode_t mode)
{
    char *path, *p;
    FILE *f;

    assert_true(asprintf(&path, "%s/%s", tree, rel) > 0);
    for (p = strchr(path + strlen(tree) + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        (void)mkdir(path, 0755);
        *p = '/';
    }
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

/* xl_pass_find in where: the path found relative to tree, or "-" plus
 * what was tried. */
static char *test_find(const struct xl_pass_where *w, const char *tree)
{
    char *path, *tried, *out;

    if (xl_pass_find(w, &path, &tried)) {
        assert_null(path);
        assert_true(asprintf(&out, "-%s", tried) > 0);
        free(tried);
        return out;
    }
    assert_null(tried);
    assert_true(!strncmp(path, tree, strlen(tree)));
    out = strdup(path + strlen(tree));
    free(path);
    return out;
}

static void test_finds_the_real_xl_never_itself(void **state)
{
    char tree[] = "/tmp/test-cmd-xl.XXXXXX", *pathvar, *self, *f, *got;
    struct xl_pass_where w;
    struct stat sb;

    (void)state;
    assert_non_null(mkdtemp(tree));
    memset(&w, 0, sizeof(w));
    w.root = tree;
    assert_true(asprintf(&pathvar, "%s/self:%s/bin", tree, tree) > 0);
    w.path = pathvar;
    /* Nothing at all: what was looked for. */
    got = test_find(&w, tree);
    assert_string_equal(got, "-/usr/lib/xen-X.Y/bin/xl (no Xen running), "
                        "/usr/sbin/xl.distrib, xl in PATH, /usr/sbin/xl, "
                        "/usr/local/sbin/xl");
    free(got);
    /* Ourselves, as "xl" first in PATH and as /usr/sbin/xl: skipped. */
    self = test_tree_file(tree, "self/xl", "#!/bin/sh\n", 0755);
    assert_int_equal(stat(self, &sb), 0);
    w.self_known = true;
    w.self_dev = sb.st_dev;
    w.self_ino = sb.st_ino;
    f = test_tree_file(tree, "usr/sbin/.keep", "", 0644);
    free(f);
    assert_true(asprintf(&f, "%s/usr/sbin/xl", tree) > 0);
    assert_int_equal(symlink(self, f), 0);
    free(f);
    free(self);
    got = test_find(&w, tree);
    assert_true(got[0] == '-');
    free(got);
    /* A later PATH entry that is not us; a non-executable one is not. */
    f = test_tree_file(tree, "bin/xl", "#!/bin/sh\n", 0644);
    got = test_find(&w, tree);
    assert_true(got[0] == '-');
    free(got);
    assert_int_equal(chmod(f, 0755), 0);
    free(f);
    got = test_find(&w, tree);
    assert_string_equal(got, "/bin/xl");
    free(got);
    /* A diverted upstream xl comes before PATH. */
    f = test_tree_file(tree, "usr/sbin/xl.distrib", "", 0755);
    free(f);
    got = test_find(&w, tree);
    assert_string_equal(got, "/usr/sbin/xl.distrib");
    free(got);
    /* Debian: the running Xen's own binary comes first. */
    f = test_tree_file(tree, "sys/hypervisor/version/major", "4\n", 0644);
    free(f);
    f = test_tree_file(tree, "sys/hypervisor/version/minor", "17\n", 0644);
    free(f);
    got = test_find(&w, tree);
    assert_string_equal(got, "/usr/sbin/xl.distrib");  /* no 4.17 tools */
    free(got);
    f = test_tree_file(tree, "usr/lib/xen-4.17/bin/xl", "", 0755);
    free(f);
    got = test_find(&w, tree);
    assert_string_equal(got, "/usr/lib/xen-4.17/bin/xl");
    free(got);
    /* XLMIG_XL is final: a name is looked up in PATH, and a bad one is
     * an error, not a reason to guess. */
    w.xl_env = "xl";
    got = test_find(&w, tree);
    assert_string_equal(got, "/bin/xl");
    free(got);
    w.xl_env = "/nonexistent/xl";
    got = test_find(&w, tree);
    assert_string_equal(got, "-XLMIG_XL=/nonexistent/xl (not an executable "
                        "other than xlmig)");
    free(got);
    assert_true(asprintf(&f, "%s/self/xl", tree) > 0);
    w.xl_env = f;
    got = test_find(&w, tree);
    assert_true(got[0] == '-');
    free(got);
    free(f);
    free(pathvar);
    assert_int_equal(test_rm_rf(tree), 0);
}

static void test_help_option_skips_arity(void **state)
{
    struct cmd_args a;
    char *cause;

    (void)state;
    assert_int_equal(test_parse("migrate", &a, &cause, "-h", NULL), 0);
    assert_true(cmd_has(&a, 'h'));
    assert_int_equal(test_parse("migrate", &a, &cause, "--help", NULL), 0);
    assert_true(cmd_has(&a, 'h'));
}

static void test_receive_options(void **state)
{
    struct cmd_args a;
    char *cause;

    (void)state;
    assert_int_equal(test_parse("migrate-receive", &a, &cause, "-e", "-d",
                                "-p", NULL), 0);
    assert_true(cmd_has(&a, 'e') && cmd_has(&a, 'd') && cmd_has(&a, 'p'));
    assert_int_equal(a.argc, 0);
}

static void test_names_match_exactly(void **state)
{
    (void)state;
    assert_non_null(cmd_find("migrate"));
    assert_non_null(cmd_find("migrate-receive"));
    assert_null(cmd_find("mig"));               /* no prefix matching */
    assert_null(cmd_find("migrate-"));
    assert_null(cmd_find(""));
    assert_ptr_not_equal(cmd_find("migrate"), cmd_find("migrate-receive"));
}

static void test_table_is_consistent(void **state)
{
    const struct cmd_entry *const *e;

    (void)state;
    for (e = cmd_table; *e; e++) {
        assert_non_null((*e)->name);
        assert_non_null((*e)->usage);
        assert_non_null((*e)->help);
        assert_non_null((*e)->exec);
        assert_true((*e)->max_args < 0 || (*e)->max_args >= (*e)->min_args);
        assert_ptr_equal(cmd_find((*e)->name), *e);
    }
}

/* "xlmig help --options" (shell completion): each option as typed. */
static void test_options_are_listed_as_typed(void **state)
{
    char *buf;
    size_t len;
    FILE *f;

    (void)state;
    f = open_memstream(&buf, &len);
    cmd_options_print(f, cmd_find("monitor"));
    test_stream_is(f, &buf, "-h\n-F\n-l ARG\n--help\n");
    f = open_memstream(&buf, &len);
    cmd_options_print(f, cmd_find("job-run"));
    test_stream_is(f, &buf, "-h\n-s ARG\n--dry-run\n--json\n"
                   "--report ARG\n--state ARG\n--help\n");
}

/*
 * Every option listed, of every command, is one the parser takes, with a
 * value exactly when listed with ARG: "OPT x -h" leaves no positional
 * (x was its value) and "OPT -h" still sees -h (OPT took none).
 */
static void test_options_listed_are_parsed(void **state)
{
    const struct cmd_entry *const *e;
    struct cmd_args a;
    char *buf, *line, *save, *sp, *cause;
    char *argv[5];
    size_t len;
    int argc, n;
    FILE *f;

    (void)state;
    for (e = cmd_table; *e; e++) {
        f = open_memstream(&buf, &len);
        cmd_options_print(f, *e);
        fclose(f);
        n = 0;
        for (line = strtok_r(buf, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save), n++) {
            sp = strchr(line, ' ');
            if (sp) *sp++ = '\0';
            argc = 0;
            argv[argc++] = (char *)(*e)->name;
            argv[argc++] = line;
            if (sp) {
                assert_string_equal(sp, "ARG");     /* none optional yet */
                argv[argc++] = "x";
            }
            argv[argc++] = "-h";
            argv[argc] = NULL;
            cause = NULL;
            if (cmd_parse(*e, argc, argv, &a, &cause) || !cmd_has(&a, 'h') ||
                a.argc)
                fail_msg("xlmig %s %s: not parsed as listed (%s)",
                         (*e)->name, line, cause ? cause : "");
            free(cause);
        }
        assert_true(n >= 2);                /* -h and --help at least */
        free(buf);
    }
}

static void test_strtonum_bounds(void **state)
{
    long long v;
    char *cause;

    (void)state;
    assert_int_equal(cmd_strtonum("120", 0, 86400, &v, &cause), 0);
    assert_int_equal(v, 120);
    assert_int_equal(cmd_strtonum("0", 0, 10, &v, &cause), 0);
    assert_int_equal(cmd_strtonum("-1", 0, 10, &v, &cause), -1);
    assert_non_null(strstr(cause, "out of range"));
    free(cause);
    assert_int_equal(cmd_strtonum("12s", 0, 100, &v, &cause), -1);
    assert_non_null(strstr(cause, "not a number"));
    free(cause);
    assert_int_equal(cmd_strtonum("", 0, 100, &v, &cause), -1);
    free(cause);
    assert_int_equal(cmd_strtonum("99999999999999999999", 0, 100, &v,
                                  &cause), -1);
    free(cause);
}

static void test_exit_status_mapping(void **state)
{
    (void)state;
    assert_int_equal(cmd_exit_status(XLMIG_OK), CMD_EXIT_OK);
    assert_int_equal(cmd_exit_status(XLMIG_E_PEER), CMD_EXIT_FAILED);
    assert_int_equal(cmd_exit_status(XLMIG_E_UNSAFE), CMD_EXIT_UNSAFE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_takes_xl_options),
        cmocka_unit_test(test_empty_ssh_command_is_kept),
        cmocka_unit_test(test_misuse_is_refused_with_a_cause),
        cmocka_unit_test(test_help_option_skips_arity),
        cmocka_unit_test(test_receive_options),
        cmocka_unit_test(test_names_match_exactly),
        cmocka_unit_test(test_table_is_consistent),
        cmocka_unit_test(test_options_are_listed_as_typed),
        cmocka_unit_test(test_options_listed_are_parsed),
        cmocka_unit_test(test_strtonum_bounds),
        cmocka_unit_test(test_exit_status_mapping),
        cmocka_unit_test(test_migrate_takes_xl_command_lines),
        cmocka_unit_test(test_invoked_as_xl_runs_only_xl_commands),
        cmocka_unit_test(test_list_prints_xl_lines),
        cmocka_unit_test(test_list_long_is_xl_json),
        cmocka_unit_test(test_finds_the_real_xl_never_itself),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
