/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * announce-frame.h - the frames the announce hook sends after a guest
 * arrived (announce.c): a RARP as QEMU's qemu_announce_self sends it and a
 * gratuitous ARP. Pure: bytes in, bytes out, so they are unit-tested.
 */
#ifndef XLMIG_ANNOUNCE_FRAME_H
#define XLMIG_ANNOUNCE_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#define ANNOUNCE_FRAME_LEN 60       /* Ethernet's minimum, without FCS */
#define ANNOUNCE_MAC_LEN 6
#define ANNOUNCE_IPV4_LEN 4

/* A RARP request (opcode 3) from and about MAC, to the broadcast address. */
void announce_frame_rarp(uint8_t frame[ANNOUNCE_FRAME_LEN],
                         const uint8_t mac[ANNOUNCE_MAC_LEN]);

/* A gratuitous ARP request: MAC says it has IP (sender IP = target IP),
 * to the broadcast address, target MAC zero (RFC 5227 2.3). */
void announce_frame_garp(uint8_t frame[ANNOUNCE_FRAME_LEN],
                         const uint8_t mac[ANNOUNCE_MAC_LEN],
                         const uint8_t ip[ANNOUNCE_IPV4_LEN]);

/*
 * Parses "00:16:3e:5a:10:01" (either case) into mac. Returns false for
 * anything else, and for addresses a guest cannot have as its source:
 * multicast (broadcast included) and all zeros.
 */
bool announce_frame_mac(const char *s, uint8_t mac[ANNOUNCE_MAC_LEN]);

#endif /* XLMIG_ANNOUNCE_FRAME_H */
