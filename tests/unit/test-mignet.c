/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-mignet.c - this host's transport settings (mignet.c): each parser
 * with good and hostile values (names, shell metacharacters, overlong,
 * addresses no host has, networks with host bits), and xlmig.conf read
 * through mignet_load, whose every refusal names the file, the line and
 * the key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "frame.h"
#include "mignet.h"
#include "pump.h"
#include "test-util.h"

static void test_parse_data(void **state)
{
    static const char *const bad[] = {
        "", "udp", "tcp:", "tcp:0", "tcp:65536", "tcp:99999999999",
        "tcp:-1", "tcp:+80", "tcp: 80", "tcp:80x", "tcpx", "TCP", "ssh ",
        "auto;reboot", "tcp:80;reboot",
    };
    enum mignet_data d;
    unsigned port;
    char *why = NULL;
    size_t i;

    (void)state;
    assert_int_equal(mignet_parse_data("auto", &d, &port, &why), XLMIG_OK);
    assert_int_equal(d, MIGNET_DATA_AUTO);
    assert_int_equal(mignet_parse_data("ssh", &d, &port, &why), XLMIG_OK);
    assert_int_equal(d, MIGNET_DATA_SSH);
    assert_int_equal(mignet_parse_data("tcp", &d, &port, &why), XLMIG_OK);
    assert_true(d == MIGNET_DATA_TCP && port == 0);
    assert_int_equal(mignet_parse_data("tcp:65535", &d, &port, &why),
                     XLMIG_OK);
    assert_true(d == MIGNET_DATA_TCP && port == 65535);
    assert_null(why);
    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        if (mignet_parse_data(bad[i], &d, &port, &why) != XLMIG_E_INVAL)
            fail_msg("'%s' taken", bad[i]);
        assert_non_null(why);
        assert_true(d == MIGNET_DATA_AUTO && port == 0);
        free(why);
        why = NULL;
    }
}

static void test_parse_codec(void **state)
{
    char *why = NULL;
    int c;

    (void)state;
    assert_int_equal(mignet_parse_codec("auto", &c, &why), XLMIG_OK);
    assert_int_equal(c, PUMP_CODEC_AUTO);
    assert_int_equal(mignet_parse_codec("zstd", &c, &why), XLMIG_OK);
    assert_int_equal(c, FRAME_CODEC_ZSTD);
    assert_int_equal(mignet_parse_codec("none", &c, &why), XLMIG_OK);
    assert_int_equal(c, FRAME_CODEC_NONE);
    assert_int_equal(mignet_parse_codec("gzip", &c, &why), XLMIG_E_INVAL);
    assert_non_null(strstr(why, "expected none, lz4, zstd or auto"));
    free(why);
}

static void test_parse_addr(void **state)
{
    static const struct {
        const char *s, *why;
    } bad[] = {
        { "", "not a numeric" },
        { "migration.example.org", "not a numeric" },     /* a name */
        { "10.0.0.1; rm -rf /", "not a numeric" },
        { "$(reboot)", "not a numeric" },
        { "`id`", "not a numeric" },
        { "10.0.0.1 ", "not a numeric" },
        { " 10.0.0.1", "not a numeric" },
        { "10.0.0.256", "not a numeric" },
        { "10.0.0", "not a numeric" },
        { "fe80::1%eth0", "not a numeric" },               /* a scope */
        { "10.0.0.1/24", "not a numeric" },
        { "0.0.0.0", "not one host's" },
        { "::", "not one host's" },
        { "224.0.0.1", "not one host's" },
        { "255.255.255.255", "not one host's" },
        { "ff02::1", "not one host's" },
        { "1111111111111111111111111111111111111111111111111111111111111111",
          "longer than 45 bytes" },
        { "0000:0000:0000:0000:0000:0000:0000:0000:0000:1", "longer" },
    };
    struct mignet_addr a;
    char *why = NULL, text[MIGNET_ADDR_MAX + 1];
    size_t i;

    (void)state;
    assert_int_equal(mignet_parse_addr("10.1.0.5", &a, &why), XLMIG_OK);
    assert_int_equal(a.family, AF_INET);
    mignet_addr_str(&a, text, sizeof(text));
    assert_string_equal(text, "10.1.0.5");
    assert_int_equal(mignet_parse_addr("2001:db8::5", &a, &why), XLMIG_OK);
    assert_int_equal(a.family, AF_INET6);
    mignet_addr_str(&a, text, sizeof(text));
    assert_string_equal(text, "2001:db8::5");
    assert_null(why);
    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        if (mignet_parse_addr(bad[i].s, &a, &why) != XLMIG_E_INVAL)
            fail_msg("'%s' taken", bad[i].s);
        if (!why || !strstr(why, bad[i].why))
            fail_msg("'%s': '%s' lacks '%s'", bad[i].s, why ? why : "",
                     bad[i].why);
        assert_int_equal(a.family, 0);
        free(why);
        why = NULL;
    }
}

static void test_parse_cidr(void **state)
{
    static const struct {
        const char *s, *why;
    } bad[] = {
        { "10.1.0.0", "ADDRESS/LENGTH" },
        { "/24", "ADDRESS/LENGTH" },
        { "10.1.0.0/", "0..32" },
        { "10.1.0.0/33", "0..32" },
        { "10.1.0.0/-1", "0..32" },
        { "10.1.0.0/24x", "0..32" },
        { "10.1.0.0/ 24", "0..32" },
        { "10.1.0.0/1000", "0..32" },
        { "2001:db8::/129", "0..128" },
        { "10.1.0.1/24", "bits set beyond its /24" },
        { "10.1.0.0;reboot/24", "not a numeric" },
        { "net.example/24", "not a numeric" },
        { "10.1.0.0/24/8", "0..32" },
        { "1111111111111111111111111111111111111111111111111111111/8",
          "at most" },
    };
    struct mignet_cidr c;
    struct mignet_addr a;
    char *why = NULL;
    size_t i;

    (void)state;
    assert_int_equal(mignet_parse_cidr("10.1.0.0/24", &c, &why), XLMIG_OK);
    assert_int_equal(c.prefix, 24);
    assert_int_equal(mignet_parse_addr("10.1.0.200", &a, &why), XLMIG_OK);
    assert_true(mignet_in(&c, &a));
    assert_int_equal(mignet_parse_addr("10.1.1.1", &a, &why), XLMIG_OK);
    assert_false(mignet_in(&c, &a));
    assert_int_equal(mignet_parse_addr("2001:db8::1", &a, &why), XLMIG_OK);
    assert_false(mignet_in(&c, &a));            /* another family */
    assert_int_equal(mignet_parse_cidr("2001:db8:8000::/33", &c, &why),
                     XLMIG_OK);
    assert_false(mignet_in(&c, &a));
    assert_int_equal(mignet_parse_addr("2001:db8:ffff::1", &a, &why),
                     XLMIG_OK);
    assert_true(mignet_in(&c, &a));
    assert_int_equal(mignet_parse_cidr("0.0.0.0/0", &c, &why), XLMIG_OK);
    assert_int_equal(mignet_parse_addr("192.0.2.1", &a, &why), XLMIG_OK);
    assert_true(mignet_in(&c, &a));
    assert_null(why);
    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        if (mignet_parse_cidr(bad[i].s, &c, &why) != XLMIG_E_INVAL)
            fail_msg("'%s' taken", bad[i].s);
        if (!why || !strstr(why, bad[i].why))
            fail_msg("'%s': '%s' lacks '%s'", bad[i].s, why ? why : "",
                     bad[i].why);
        free(why);
        why = NULL;
    }
}

/* ---- xlmig.conf ---- */

struct mt {
    struct test_ctx t;
    char dir[64];
    char path[96];
};

static int setup(void **state)
{
    struct mt *t = xcalloc(1, sizeof(*t));

    test_ctx_open(&t->t);
    snprintf(t->dir, sizeof(t->dir), "/tmp/test-mignet.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/xlmig.conf", t->dir);
    setenv("XLMIG_CONF", t->path, 1);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct mt *t = *state;

    unsetenv("XLMIG_CONF");
    test_rm_rf(t->dir);
    test_ctx_close(&t->t);
    free(t);
    return 0;
}

static void mt_write(struct mt *t, const char *text)
{
    FILE *f = fopen(t->path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_load_none(void **state)
{
    struct mt *t = *state;
    struct mignet m;
    char *cause = NULL;

    /* No file: nothing set. */
    assert_int_equal(mignet_load(t->t.ctx, MIGNET_DEFAULTS | MIGNET_NETWORK,
                                 &m, &cause), XLMIG_OK);
    assert_false(m.data_set || m.codec_set || m.encrypt_set);
    assert_int_equal(m.connect_s, MIGNET_CONNECT_S_DEFAULT);
    assert_string_equal(m.addr, "");
    assert_null(cause);
}

static void test_load_settings(void **state)
{
    struct mt *t = *state;
    struct mignet m;
    char *cause = NULL;

    mt_write(t, "# transport\n"
             "migrate_data = \"tcp:47100\"\n"
             "migrate_compress = \"lz4\"\n"
             "migrate_encrypt = 0\n"
             "migrate_connect_timeout = 7\n"
             "migration_address = \"127.0.0.1\"\n"
             "migration_network = \"127.0.0.0/8\"\n");
    assert_int_equal(mignet_load(t->t.ctx, MIGNET_DEFAULTS | MIGNET_NETWORK,
                                 &m, &cause), XLMIG_OK);
    assert_true(m.data_set && m.data == MIGNET_DATA_TCP && m.port == 47100);
    assert_true(m.codec_set && m.codec == FRAME_CODEC_LZ4);
    assert_true(m.encrypt_set && !m.encrypt);
    assert_int_equal(m.connect_s, 7);
    assert_string_equal(m.addr, "127.0.0.1");
    /* The network alone names this host's address in it. */
    mt_write(t, "migration_network = \"127.0.0.0/8\"\n");
    assert_int_equal(mignet_load(t->t.ctx, MIGNET_NETWORK, &m, &cause),
                     XLMIG_OK);
    assert_int_equal(strncmp(m.addr, "127.", 4), 0);
    /* Only what was asked for is read. */
    mt_write(t, "migrate_data = \"bogus\"\n");
    assert_int_equal(mignet_load(t->t.ctx, MIGNET_NETWORK, &m, &cause),
                     XLMIG_OK);
    assert_null(cause);
}

/* Each bad setting: XLMIG_E_INVAL, "FILE:LINE: KEY: why". */
static void test_load_hostile(void **state)
{
    static const struct {
        const char *key, *value, *why;
    } bad[] = {
        { "migrate_data", "\"udp\"", "expected auto, ssh, tcp" },
        { "migrate_data", "\"tcp:0\"", "1..65535" },
        { "migrate_data", "[ \"tcp\" ]", "not a string" },
        { "migrate_compress", "\"gzip\"", "expected none, lz4" },
        { "migrate_encrypt", "2", "not a number in 0..1" },
        { "migrate_encrypt", "\"yes\"", "not a number in 0..1" },
        { "migrate_connect_timeout", "0", "not a number in 1..120" },
        { "migration_address", "\"migration.example.org\"",
          "not a numeric" },
        { "migration_address", "\"127.0.0.1; rm -rf /\"", "not a numeric" },
        { "migration_address", "\"$(reboot)\"", "not a numeric" },
        { "migration_address",
          "\"127.000000000000000000000000000000000000000000000000.0.1\"",
          "longer than 45 bytes" },
        { "migration_address", "\"0.0.0.0\"", "not one host's" },
        { "migration_address", "\"203.0.113.77\"",
          "not an address of this host" },
        { "migration_network", "\"10.1.0.1/24\"", "bits set beyond" },
        { "migration_network", "\"203.0.113.0/24\"",
          "no address of this host is inside 203.0.113.0/24" },
        { "migration_network", "\"10.0.0.0/8 && reboot\"", "0..32" },
    };
    struct mt *t = *state;
    struct mignet m;
    char *cause, *text, want[256];
    size_t i;

    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        /* On line 3, after settings that are fine. */
        text = xasprintf("limit_out = 2\nmigrate_compress = \"none\"\n"
                         "%s = %s\nlimit_in = 2\n", bad[i].key,
                         bad[i].value);
        mt_write(t, text);
        free(text);
        cause = NULL;
        if (mignet_load(t->t.ctx, MIGNET_DEFAULTS | MIGNET_NETWORK, &m,
                        &cause) != XLMIG_E_INVAL)
            fail_msg("%s = %s taken", bad[i].key, bad[i].value);
        snprintf(want, sizeof(want), "%s:3: %s: ", t->path, bad[i].key);
        if (!cause || strncmp(cause, want, strlen(want)) ||
            !strstr(cause, bad[i].why) || strchr(cause, '\n'))
            fail_msg("%s = %s: '%s' is not '%s...%s'", bad[i].key,
                     bad[i].value, cause ? cause : "", want, bad[i].why);
        free(cause);
    }
    /* Both: the address must be in the network. */
    mt_write(t, "migration_network = \"10.0.0.0/8\"\n"
             "migration_address = \"127.0.0.1\"\n");
    cause = NULL;
    assert_int_equal(mignet_load(t->t.ctx, MIGNET_NETWORK, &m, &cause),
                     XLMIG_E_INVAL);
    snprintf(want, sizeof(want), "%s:2: migration_address: 127.0.0.1 is "
             "outside migration_network 10.0.0.0/8", t->path);
    assert_string_equal(cause, want);
    free(cause);
    /* A file that does not parse. */
    mt_write(t, "migrate_data = \"tcp\n");
    cause = NULL;
    assert_int_equal(mignet_load(t->t.ctx, MIGNET_DEFAULTS, &m, &cause),
                     XLMIG_E_INVAL);
    assert_non_null(strstr(cause, t->path));
    free(cause);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_data),
        cmocka_unit_test(test_parse_codec),
        cmocka_unit_test(test_parse_addr),
        cmocka_unit_test(test_parse_cidr),
        cmocka_unit_test_setup_teardown(test_load_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_hostile, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
