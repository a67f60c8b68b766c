/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mignet.h - this host's transport settings for migrations, from
 * xlmig.conf: the defaults of its outgoing migrations (migrate_data,
 * migrate_compress, migrate_encrypt, migrate_connect_timeout) and its end
 * of the migration network (migration_address, migration_network): the
 * address a receiver listens on for the data connection, and a sender
 * connects from. The parsers are pure; mignet_load() reads the file and
 * this host's interface addresses.
 */
#ifndef XLMIG_MIGNET_H
#define XLMIG_MIGNET_H

#include <stdbool.h>

#include "internal.h"

#define MIGNET_ADDR_MAX 45          /* bytes of a numeric address */
#define MIGNET_CIDR_MAX (MIGNET_ADDR_MAX + 4)   /* ADDR/128 */
#define MIGNET_CONNECT_S_DEFAULT 3  /* a data connection that takes longer
                                       is taken as blocked */
#define MIGNET_CONNECT_S_MAX 120

/* How the stream of an outgoing migration goes (--data). */
enum mignet_data {
    MIGNET_DATA_AUTO,           /* tcp if it can be made, else ssh */
    MIGNET_DATA_SSH,
    MIGNET_DATA_TCP,
};

/* A numeric IPv4 or IPv6 address, and a network of them. */
struct mignet_addr {
    int family;                 /* AF_INET or AF_INET6 */
    unsigned char a[16];        /* network order; 4 used for IPv4 */
};
struct mignet_cidr {
    struct mignet_addr net;
    unsigned prefix;            /* 0..32 or 0..128 */
};

/*
 * Parsers of one value each: XLMIG_OK, or XLMIG_E_INVAL and *why_r (an
 * allocated phrase, without the key) for anything else, outputs zeroed.
 *
 * mignet_parse_data: "auto", "ssh", "tcp" or "tcp:PORT", PORT 1..65535
 * in decimal (*port_r 0: any).
 * mignet_parse_codec: "none", "lz4", "zstd" (FRAME_CODEC_*) or "auto"
 * (PUMP_CODEC_AUTO).
 * mignet_parse_addr: one numeric IPv4 or IPv6 address of at most
 * MIGNET_ADDR_MAX bytes (no names, no scope), not the unspecified (any),
 * a multicast or a broadcast address.
 * mignet_parse_cidr: ADDR/LEN with LEN 0..32 (IPv4) or 0..128 (IPv6) in
 * decimal and no address bits set beyond it.
 */
MUST_CHECK int mignet_parse_data(const char *s, enum mignet_data *d_r,
                                 unsigned *port_r, char **why_r);
MUST_CHECK int mignet_parse_codec(const char *s, int *codec_r, char **why_r);
MUST_CHECK int mignet_parse_addr(const char *s, struct mignet_addr *a_r,
                                 char **why_r);
MUST_CHECK int mignet_parse_cidr(const char *s, struct mignet_cidr *c_r,
                                 char **why_r);
/* Whether a is in the network c (false across families). */
bool mignet_in(const struct mignet_cidr *c, const struct mignet_addr *a);
/* a as text, in buf of at least MIGNET_ADDR_MAX + 1 bytes. */
void mignet_addr_str(const struct mignet_addr *a, char *buf, size_t len);

/* What xlmig.conf says (mignet_load). */
struct mignet {
    /* migrate_*: the defaults of outgoing migrations; *_set if given. */
    bool data_set;
    enum mignet_data data;
    unsigned port;              /* tcp:PORT; 0: any */
    bool codec_set;
    int codec;                  /* FRAME_CODEC_* or PUMP_CODEC_AUTO */
    bool encrypt_set;
    bool encrypt;
    unsigned connect_s;         /* migrate_connect_timeout */
    /* This host's address on the migration network; "" if none is set. */
    char addr[MIGNET_ADDR_MAX + 1];
};

/* What mignet_load reads. */
#define MIGNET_DEFAULTS (1u << 0)   /* migrate_* (a sender) */
#define MIGNET_NETWORK (1u << 1)    /* migration_* (both ends) */

/*
 * Reads the settings of what (MIGNET_*) from this host's xlmig.conf (a
 * missing file: none set). migration_address must be an address of this
 * host (inside migration_network if both are set); migration_network
 * alone names the first address of this host inside it. A file that
 * cannot be read, or a setting that is not one: XLMIG_E_INVAL and
 * *cause_r, "FILE:LINE: KEY: what is wrong" (allocated), not logged.
 */
MUST_CHECK int mignet_load(struct xlmig_ctx *ctx, unsigned what,
                           struct mignet *m, char **cause_r);

#endif /* XLMIG_MIGNET_H */
