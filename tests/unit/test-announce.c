/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-announce.c - the announce hook's frames (announce-frame.c), byte
 * for byte against hand-written RARP and gratuitous ARP frames, and the
 * MAC addresses it accepts as a guest's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "announce-frame.h"

static const uint8_t guest_mac[ANNOUNCE_MAC_LEN] = {
    0x00, 0x16, 0x3e, 0x5a, 0x10, 0x01
};

static void test_rarp_is_qemus_announce_frame(void **state)
{
    /* QEMU's announce_self_create(), for the same MAC. */
    static const uint8_t want[ANNOUNCE_FRAME_LEN] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff,     /* to broadcast */
        0x00, 0x16, 0x3e, 0x5a, 0x10, 0x01,     /* from the guest */
        0x80, 0x35,                             /* RARP */
        0x00, 0x01, 0x08, 0x00, 6, 4,           /* Ethernet, IPv4 */
        0x00, 0x03,                             /* request reverse */
        0x00, 0x16, 0x3e, 0x5a, 0x10, 0x01,     /* sender MAC */
        0, 0, 0, 0,                             /* sender IP */
        0x00, 0x16, 0x3e, 0x5a, 0x10, 0x01,     /* target MAC */
        0, 0, 0, 0,                             /* target IP */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    uint8_t frame[ANNOUNCE_FRAME_LEN];

    (void)state;
    memset(frame, 0xa5, sizeof(frame));
    announce_frame_rarp(frame, guest_mac);
    assert_memory_equal(frame, want, sizeof(want));
}

static void test_garp_claims_the_address(void **state)
{
    static const uint8_t ip[ANNOUNCE_IPV4_LEN] = { 192, 0, 2, 17 };
    static const uint8_t want[ANNOUNCE_FRAME_LEN] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff,     /* to broadcast */
        0x00, 0x16, 0x3e, 0x5a, 0x10, 0x01,     /* from the guest */
        0x08, 0x06,                             /* ARP */
        0x00, 0x01, 0x08, 0x00, 6, 4,           /* Ethernet, IPv4 */
        0x00, 0x01,                             /* request */
        0x00, 0x16, 0x3e, 0x5a, 0x10, 0x01,     /* sender MAC */
        192, 0, 2, 17,                          /* sender IP */
        0, 0, 0, 0, 0, 0,                       /* target MAC */
        192, 0, 2, 17,                          /* target IP */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    uint8_t frame[ANNOUNCE_FRAME_LEN];

    (void)state;
    memset(frame, 0xa5, sizeof(frame));
    announce_frame_garp(frame, guest_mac, ip);
    assert_memory_equal(frame, want, sizeof(want));
}

static void test_mac_parses_either_case(void **state)
{
    static const uint8_t want[ANNOUNCE_MAC_LEN] = {
        0x00, 0x16, 0x3e, 0xab, 0xcd, 0xef
    };
    uint8_t mac[ANNOUNCE_MAC_LEN];

    (void)state;
    assert_true(announce_frame_mac("00:16:3e:ab:cd:ef", mac));
    assert_memory_equal(mac, want, sizeof(want));
    assert_true(announce_frame_mac("00:16:3E:AB:CD:EF", mac));
    assert_memory_equal(mac, want, sizeof(want));
}

static void test_mac_refuses_what_no_guest_has(void **state)
{
    static const char *const bad[] = {
        "", "00:16:3e:ab:cd", "00:16:3e:ab:cd:ef:", "00:16:3e:ab:cd:e",
        "00-16-3e-ab-cd-ef", "00:16:3e:ab:cd:eg", "0016:3e:ab:cd:ef0",
        "00:16:3e:ab:cd:ef ", " 00:16:3e:ab:cd:e",
        "00:00:00:00:00:00",                    /* zero */
        "ff:ff:ff:ff:ff:ff",                    /* broadcast */
        "01:00:5e:00:00:01",                    /* multicast */
    };
    uint8_t mac[ANNOUNCE_MAC_LEN];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (announce_frame_mac(bad[i], mac))
            fail_msg("accepted \"%s\"", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rarp_is_qemus_announce_frame),
        cmocka_unit_test(test_garp_claims_the_address),
        cmocka_unit_test(test_mac_parses_either_case),
        cmocka_unit_test(test_mac_refuses_what_no_guest_has),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
