/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * announce-frame.c - builds the announce hook's frames byte by byte (no
 * struct overlays: no padding or alignment to reason about). Which
 * interfaces they go out of is announce.c's business.
 */
#include <string.h>

#include "announce-frame.h"

#define ANNOUNCE_FRAME_ETH_P_IP 0x0800
#define ANNOUNCE_FRAME_ETH_P_ARP 0x0806
#define ANNOUNCE_FRAME_ETH_P_RARP 0x8035
#define ANNOUNCE_FRAME_HTYPE_ETHER 1
#define ANNOUNCE_FRAME_OP_REQUEST 1
#define ANNOUNCE_FRAME_OP_RREQUEST 3    /* RFC 903 "request reverse" */

static void announce_frame_be16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/*
 * Ethernet header to the broadcast address, then an ARP-format body
 * (RFC 826): hardware Ethernet, protocol IPv4, sender (MAC, SPA), target
 * (THA, TPA), then zero padding to the minimum frame length.
 */
static void announce_frame_arp(uint8_t f[ANNOUNCE_FRAME_LEN],
                               unsigned ethertype, unsigned op,
                               const uint8_t mac[ANNOUNCE_MAC_LEN],
                               const uint8_t spa[ANNOUNCE_IPV4_LEN],
                               const uint8_t tha[ANNOUNCE_MAC_LEN],
                               const uint8_t tpa[ANNOUNCE_IPV4_LEN])
{
    memset(f, 0, ANNOUNCE_FRAME_LEN);
    memset(f, 0xff, ANNOUNCE_MAC_LEN);
    memcpy(f + 6, mac, ANNOUNCE_MAC_LEN);
    announce_frame_be16(f + 12, ethertype);
    announce_frame_be16(f + 14, ANNOUNCE_FRAME_HTYPE_ETHER);
    announce_frame_be16(f + 16, ANNOUNCE_FRAME_ETH_P_IP);
    f[18] = ANNOUNCE_MAC_LEN;
    f[19] = ANNOUNCE_IPV4_LEN;
    announce_frame_be16(f + 20, op);
    memcpy(f + 22, mac, ANNOUNCE_MAC_LEN);
    memcpy(f + 28, spa, ANNOUNCE_IPV4_LEN);
    memcpy(f + 32, tha, ANNOUNCE_MAC_LEN);
    memcpy(f + 38, tpa, ANNOUNCE_IPV4_LEN);
}

void announce_frame_rarp(uint8_t frame[ANNOUNCE_FRAME_LEN],
                         const uint8_t mac[ANNOUNCE_MAC_LEN])
{
    static const uint8_t none[ANNOUNCE_IPV4_LEN];

    announce_frame_arp(frame, ANNOUNCE_FRAME_ETH_P_RARP,
                       ANNOUNCE_FRAME_OP_RREQUEST, mac, none, mac, none);
}

void announce_frame_garp(uint8_t frame[ANNOUNCE_FRAME_LEN],
                         const uint8_t mac[ANNOUNCE_MAC_LEN],
                         const uint8_t ip[ANNOUNCE_IPV4_LEN])
{
    static const uint8_t zero[ANNOUNCE_MAC_LEN];

    announce_frame_arp(frame, ANNOUNCE_FRAME_ETH_P_ARP,
                       ANNOUNCE_FRAME_OP_REQUEST, mac, ip, zero, ip);
}

static int announce_frame_hex(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool announce_frame_mac(const char *s, uint8_t mac[ANNOUNCE_MAC_LEN])
{
    int hi, lo;
    size_t i;
    bool zero = true;

    for (i = 0; i < ANNOUNCE_MAC_LEN; i++, s += 3) {
        hi = announce_frame_hex(s[0]);
        if (hi < 0) return false;
        lo = announce_frame_hex(s[1]);
        if (lo < 0) return false;
        if (s[2] != (i + 1 < ANNOUNCE_MAC_LEN ? ':' : '\0')) return false;
        mac[i] = (uint8_t)(hi << 4 | lo);
        if (mac[i]) zero = false;
    }
    return !zero && !(mac[0] & 1);
}
