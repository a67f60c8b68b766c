/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mignet.c - this host's transport settings from xlmig.conf (mignet.h):
 * strict parsers of each value, then mignet_load(), which reads them and
 * finds this host's address on the migration network among its
 * interfaces. An address is only ever taken in numeric form, so nothing
 * from the file reaches a resolver or a shell.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf.h"
#include "frame.h"
#include "mignet.h"
#include "pump.h"

#define MIGNET_PORT_DIGITS 5

int mignet_parse_data(const char *s, enum mignet_data *d_r, unsigned *port_r,
                      char **why_r)
{
    const char *p;
    unsigned long port;
    size_t n;

    *d_r = MIGNET_DATA_AUTO;
    *port_r = 0;
    *why_r = NULL;
    if (!strcmp(s, "auto")) return XLMIG_OK;
    if (!strcmp(s, "ssh")) {
        *d_r = MIGNET_DATA_SSH;
        return XLMIG_OK;
    }
    if (strncmp(s, "tcp", 3) || (s[3] && s[3] != ':')) {
        *why_r = xstrdup("expected auto, ssh, tcp or tcp:PORT");
        return XLMIG_E_INVAL;
    }
    if (s[3]) {
        p = s + 4;
        n = strspn(p, "0123456789");
        port = n && n <= MIGNET_PORT_DIGITS && !p[n]
               ? strtoul(p, NULL, 10) : 0;
        if (port < 1 || port > 65535) {
            *why_r = xstrdup("the port of tcp:PORT must be 1..65535");
            return XLMIG_E_INVAL;
        }
        *port_r = (unsigned)port;
    }
    *d_r = MIGNET_DATA_TCP;
    return XLMIG_OK;
}

int mignet_parse_codec(const char *s, int *codec_r, char **why_r)
{
    int c = frame_codec_from_name(s);

    *why_r = NULL;
    *codec_r = FRAME_CODEC_NONE;
    if (!strcmp(s, "auto")) {
        *codec_r = PUMP_CODEC_AUTO;
        return XLMIG_OK;
    }
    if (c < 0) {
        *why_r = xstrdup("expected none, lz4, zstd or auto");
        return XLMIG_E_INVAL;
    }
    *codec_r = c;
    return XLMIG_OK;
}

/* Whether a is an address one host can have: not any, multicast or
 * broadcast. */
static bool mignet_unicast(const struct mignet_addr *a)
{
    static const unsigned char zero[16];
    static const unsigned char bcast[4] = { 255, 255, 255, 255 };

    if (a->family == AF_INET)
        return memcmp(a->a, zero, 4) && a->a[0] < 224 &&
               memcmp(a->a, bcast, 4);
    return memcmp(a->a, zero, 16) && a->a[0] != 0xff;
}

int mignet_parse_addr(const char *s, struct mignet_addr *a_r, char **why_r)
{
    memset(a_r, 0, sizeof(*a_r));
    *why_r = NULL;
    if (strlen(s) > MIGNET_ADDR_MAX) {
        *why_r = xasprintf("longer than %d bytes: not a numeric address",
                           MIGNET_ADDR_MAX);
        return XLMIG_E_INVAL;
    }
    if (inet_pton(AF_INET, s, a_r->a) == 1) {
        a_r->family = AF_INET;
    } else if (inet_pton(AF_INET6, s, a_r->a) == 1) {
        a_r->family = AF_INET6;
    } else {
        *why_r = xstrdup("not a numeric IPv4 or IPv6 address (names are "
                         "not taken)");
        return XLMIG_E_INVAL;
    }
    if (!mignet_unicast(a_r)) {
        memset(a_r, 0, sizeof(*a_r));
        *why_r = xstrdup("not one host's address (any, multicast or "
                         "broadcast)");
        return XLMIG_E_INVAL;
    }
    return XLMIG_OK;
}

/* The bits of a beyond the first prefix bits, cleared: the network. */
static void mignet_mask(const struct mignet_addr *a, unsigned prefix,
                        unsigned char out[16])
{
    unsigned i, n = a->family == AF_INET ? 4 : 16;

    memset(out, 0, 16);
    for (i = 0; i < n && prefix; i++) {
        out[i] = prefix >= 8 ? a->a[i]
                             : a->a[i] & (unsigned char)(0xff00u >> prefix);
        prefix = prefix >= 8 ? prefix - 8 : 0;
    }
}

int mignet_parse_cidr(const char *s, struct mignet_cidr *c_r, char **why_r)
{
    char addr[MIGNET_ADDR_MAX + 1];
    unsigned char masked[16];
    const char *slash = strchr(s, '/');
    size_t n, digits;
    unsigned max;
    int rc;

    memset(c_r, 0, sizeof(*c_r));
    *why_r = NULL;
    n = slash ? (size_t)(slash - s) : 0;
    if (strlen(s) > MIGNET_CIDR_MAX || !slash || !n ||
        n > MIGNET_ADDR_MAX) {
        *why_r = xasprintf("expected ADDRESS/LENGTH (a network such as "
                           "10.1.0.0/24), of at most %d bytes",
                           MIGNET_CIDR_MAX);
        return XLMIG_E_INVAL;
    }
    memcpy(addr, s, n);
    addr[n] = '\0';
    if (inet_pton(AF_INET, addr, c_r->net.a) == 1) {
        c_r->net.family = AF_INET;
    } else if (inet_pton(AF_INET6, addr, c_r->net.a) == 1) {
        c_r->net.family = AF_INET6;
    } else {
        *why_r = xstrdup("the network's address is not a numeric IPv4 or "
                         "IPv6 address");
        rc = XLMIG_E_INVAL;
        goto out;
    }
    max = c_r->net.family == AF_INET ? 32 : 128;
    digits = strspn(slash + 1, "0123456789");
    c_r->prefix = digits && digits <= 3 && !slash[1 + digits]
                  ? (unsigned)strtoul(slash + 1, NULL, 10) : max + 1;
    if (c_r->prefix > max) {
        *why_r = xasprintf("the length after / must be 0..%u", max);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    mignet_mask(&c_r->net, c_r->prefix, masked);
    if (memcmp(masked, c_r->net.a, 16)) {
        *why_r = xasprintf("%s has bits set beyond its /%u: not a "
                           "network's address", addr, c_r->prefix);
        rc = XLMIG_E_INVAL;
        goto out;
    }
    rc = XLMIG_OK;
out:
    if (rc) memset(c_r, 0, sizeof(*c_r));
    return rc;
}

bool mignet_in(const struct mignet_cidr *c, const struct mignet_addr *a)
{
    unsigned char m[16];

    if (a->family != c->net.family) return false;
    mignet_mask(a, c->prefix, m);
    return !memcmp(m, c->net.a, 16);
}

void mignet_addr_str(const struct mignet_addr *a, char *buf, size_t len)
{
    if (!inet_ntop(a->family, a->a, buf, (socklen_t)len))
        snprintf(buf, len, "?");
}

/* ---- xlmig.conf ---- */

/* a from a sockaddr of this host's; false for other families. */
static bool mignet_from_sockaddr(const struct sockaddr *sa,
                                 struct mignet_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (!sa) return false;
    a->family = sa->sa_family;
    if (sa->sa_family == AF_INET)
        memcpy(a->a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    else if (sa->sa_family == AF_INET6)
        memcpy(a->a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    else
        return false;
    return true;
}

/*
 * This host's addresses: want (if not NULL) among them, else the first
 * inside net. *found_r false if none; XLMIG_E_SYSTEM (logged) if the
 * interfaces cannot be read.
 */
static int mignet_local(struct xlmig_ctx *ctx, const struct mignet_addr *want,
                        const struct mignet_cidr *net, bool *found_r,
                        struct mignet_addr *out)
{
    struct ifaddrs *ifs = NULL, *i;
    struct mignet_addr a;

    *found_r = false;
    if (getifaddrs(&ifs) < 0) {
        LOGE(ctx, ERROR, "cannot read this host's interface addresses");
        return XLMIG_E_SYSTEM;
    }
    for (i = ifs; i && !*found_r; i = i->ifa_next) {
        if (!mignet_from_sockaddr(i->ifa_addr, &a)) continue;
        if (want ? a.family == want->family && !memcmp(a.a, want->a, 16)
                 : mignet_in(net, &a)) {
            *out = a;
            *found_r = true;
        }
    }
    freeifaddrs(ifs);
    return XLMIG_OK;
}

/* Sets *cause_r to "WHERE: key: why" and frees why: XLMIG_E_INVAL. */
static int mignet_bad(const struct conf *c, const char *key, char *why,
                      char **cause_r)
{
    char *where = conf_where(c, key);

    *cause_r = xasprintf("%s: %s: %s", where, key, why);
    free(where);
    free(why);
    return XLMIG_E_INVAL;
}

static int mignet_load_defaults(const struct conf *c, struct mignet *m,
                                char **cause_r)
{
    char *v = NULL, *why = NULL;
    bool found;
    long n;
    int rc;

    rc = conf_string(c, "migrate_data", &found, &v, cause_r);
    if (!rc && found) {
        m->data_set = true;
        if (mignet_parse_data(v, &m->data, &m->port, &why))
            rc = mignet_bad(c, "migrate_data", why, cause_r);
    }
    free(v);
    v = NULL;
    if (!rc) rc = conf_string(c, "migrate_compress", &found, &v, cause_r);
    if (!rc && found) {
        m->codec_set = true;
        if (mignet_parse_codec(v, &m->codec, &why))
            rc = mignet_bad(c, "migrate_compress", why, cause_r);
    }
    free(v);
    n = -1;
    if (!rc) rc = conf_long(c, "migrate_encrypt", 0, 1, &n, cause_r);
    if (!rc && n >= 0) {
        m->encrypt_set = true;
        m->encrypt = n == 1;
    }
    n = MIGNET_CONNECT_S_DEFAULT;
    if (!rc)
        rc = conf_long(c, "migrate_connect_timeout", 1, MIGNET_CONNECT_S_MAX,
                       &n, cause_r);
    m->connect_s = (unsigned)n;
    return rc;
}

static int mignet_load_network(struct xlmig_ctx *ctx, const struct conf *c,
                               struct mignet *m, char **cause_r)
{
    char *addr = NULL, *net = NULL, *why = NULL;
    struct mignet_addr a, here;
    struct mignet_cidr cidr;
    bool has_addr, has_net, found;
    int rc;

    memset(&a, 0, sizeof(a));
    memset(&cidr, 0, sizeof(cidr));
    rc = conf_string(c, "migration_address", &has_addr, &addr, cause_r);
    if (!rc) rc = conf_string(c, "migration_network", &has_net, &net,
                              cause_r);
    if (rc || (!has_addr && !has_net)) goto out;
    if (has_addr && mignet_parse_addr(addr, &a, &why)) {
        rc = mignet_bad(c, "migration_address", why, cause_r);
        goto out;
    }
    if (has_net && mignet_parse_cidr(net, &cidr, &why)) {
        rc = mignet_bad(c, "migration_network", why, cause_r);
        goto out;
    }
    if (has_addr && has_net && !mignet_in(&cidr, &a)) {
        rc = mignet_bad(c, "migration_address", xasprintf("%s is outside "
                        "migration_network %s", addr, net), cause_r);
        goto out;
    }
    rc = mignet_local(ctx, has_addr ? &a : NULL, &cidr, &found, &here);
    if (rc) {
        *cause_r = xstrdup("cannot read this host's interface addresses");
        goto out;
    }
    if (!found) {
        rc = has_addr
             ? mignet_bad(c, "migration_address", xasprintf("%s is not an "
                          "address of this host", addr), cause_r)
             : mignet_bad(c, "migration_network", xasprintf("no address "
                          "of this host is inside %s", net), cause_r);
        goto out;
    }
    mignet_addr_str(&here, m->addr, sizeof(m->addr));
out:
    free(addr);
    free(net);
    return rc;
}

int mignet_load(struct xlmig_ctx *ctx, unsigned what, struct mignet *m,
                char **cause_r)
{
    struct conf *c = NULL;
    int rc;

    memset(m, 0, sizeof(*m));
    m->codec = FRAME_CODEC_NONE;
    m->connect_s = MIGNET_CONNECT_S_DEFAULT;
    *cause_r = NULL;
    rc = conf_open(ctx, &c, cause_r);
    if (rc) return rc;
    if (what & MIGNET_DEFAULTS) rc = mignet_load_defaults(c, m, cause_r);
    if (!rc && (what & MIGNET_NETWORK))
        rc = mignet_load_network(ctx, c, m, cause_r);
    conf_close(c);
    return rc;
}
