/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-cmd.c - the command table and option parsing: xl's options mean
 * what they mean to xl, misuse is refused with a cause, names match
 * exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmd.h"

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
        cmocka_unit_test(test_strtonum_bounds),
        cmocka_unit_test(test_exit_status_mapping),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
