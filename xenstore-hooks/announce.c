/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * announce.c - the incoming-done hook (xlmig-hooks(7)) that tells the network
 * where a guest now is: for each vif, a RARP (as QEMU's qemu_announce_self
 * and vMotion send) and a gratuitous ARP per IPv4 address of its "ip",
 * from the guest's MAC, out of its bridge's uplinks only, a few times.
 * Netfront guests announce themselves on reconnect; HVM guests without PV
 * drivers and other OSes do not, and nothing in Xen does it for them.
 *
 * Usage (as xlmig-hookd runs it): announce incoming-done DOMAIN ROLE, the
 * domain's libxl JSON config on stdin. Exit: 0 sent, or nothing to do (no
 * vif, no Linux bridge, no uplink); 1 some frame could not be sent (or no
 * config came); 2 bad usage or input. Messages go to stderr, one line
 * each, "announce: ".
 *
 * Uplinks are the bridge's ports in forwarding state that are not Xen
 * backend interfaces (vifD.N, vifD.N-emu, tapD.N, a netback device):
 * frames sent on the bridge device itself, or on another guest's port,
 * would make the local bridge learn the guest's MAC on the wrong port.
 * XLMIG_ANNOUNCE_UPLINKS="eth0 bond0" limits them to the ports named
 * (hooks run with a clean environment: set it in a wrapper script in
 * hooks.d that execs this program).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "announce-frame.h"
#include "domcfg.h"

#define ANNOUNCE_CONFIG_MAX (4u << 20)  /* bytes of JSON, as domcfg.c */
#define ANNOUNCE_PORTS_MAX 1024         /* ports of a bridge (BR_MAX_PORTS) */
#define ANNOUNCE_ROUNDS 3
#define ANNOUNCE_GAP_NS (80 * 1000 * 1000L)     /* between rounds */
#define ANNOUNCE_MSG_MAX 512
#define ANNOUNCE_SYSFS "/sys/class/net"
#define ANNOUNCE_BR_FORWARDING 3        /* brif/PORT/state: BR_STATE_* */
#define ANNOUNCE_DEFAULT_BRIDGE "xenbr0"        /* libxl's */
#define ANNOUNCE_BLANKS " \t"

enum {
    ANNOUNCE_EXIT_OK = 0,
    ANNOUNCE_EXIT_UNSENT = 1,
    ANNOUNCE_EXIT_BAD = 2,
};

/* What to send for one vif, and where. */
struct announce_nic {
    size_t idx;                         /* in the config's "nics" */
    const char *mac_text, *bridge;      /* point into the struct domcfg */
    uint8_t mac[ANNOUNCE_MAC_LEN];
    uint8_t (*ipv4)[ANNOUNCE_IPV4_LEN];
    size_t n_ipv4;
    int *uplinks;                       /* ifindexes */
    size_t n_uplinks;
};

static void announce_log(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* One line on stderr; control characters (from the config) become '?'. */
static void announce_log(const char *fmt, ...)
{
    char msg[ANNOUNCE_MSG_MAX];
    va_list ap;
    size_t i;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    for (i = 0; msg[i]; i++)
        if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f) msg[i] = '?';
    fprintf(stderr, "announce: %s\n", msg);
}

/* All of stdin, at most ANNOUNCE_CONFIG_MAX bytes, NUL-terminated. */
static int announce_read_config(char **json_r)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    ssize_t r;
    int rc;

    for (;;) {
        if (cap - len < 2) {
            cap = cap ? cap * 2 : 65536;
            buf = xrealloc(buf, cap);
        }
        r = read(STDIN_FILENO, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            announce_log("reading the config on stdin: %s", strerror(errno));
            rc = XLMIG_E_SYSTEM;
            goto out;
        }
        if (r == 0) break;
        len += (size_t)r;
        if (len > ANNOUNCE_CONFIG_MAX) {
            announce_log("config on stdin over %u bytes",
                         ANNOUNCE_CONFIG_MAX);
            rc = XLMIG_E_INVAL;
            goto out;
        }
    }
    /* A NUL would end the text early: the rest would go unchecked. */
    if (memchr(buf, '\0', len)) {
        announce_log("config on stdin holds a NUL byte");
        rc = XLMIG_E_INVAL;
        goto out;
    }
    buf[len] = '\0';
    *json_r = buf;
    buf = NULL;
    rc = XLMIG_OK;
out:
    free(buf);
    return rc;
}

/* As the kernel's dev_valid_name(), and printable: it goes into paths. */
static bool announce_ifname_ok(const char *s)
{
    size_t i, len = strnlen(s, IFNAMSIZ);

    if (len == 0 || len >= IFNAMSIZ) return false;
    if (!strcmp(s, ".") || !strcmp(s, "..")) return false;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= ' ' || c == 0x7f || c == '/' || c == ':') return false;
    }
    return true;
}

/*
 * One word of a libxl nic "ip": an address with or without a prefix
 * (vif-route and the antispoofing rules take "A.B.C.D/N"). Returns false
 * if it is neither; *ipv4_r tells whether it is one IPv4 address (plain
 * or /32), the only kind announced: IPv6 and wider prefixes are skipped.
 */
static bool announce_ip_word(char *word, uint8_t ip[ANNOUNCE_IPV4_LEN],
                             bool *ipv4_r)
{
    uint8_t addr[16];
    int af = strchr(word, ':') ? AF_INET6 : AF_INET;
    unsigned long max = af == AF_INET ? 32 : 128, prefix = max;
    char *slash = strchr(word, '/'), *end;

    *ipv4_r = false;
    if (slash) {
        *slash = '\0';
        errno = 0;
        prefix = strtoul(slash + 1, &end, 10);
        if (!slash[1] || *end || errno || prefix > max) return false;
    }
    if (inet_pton(af, word, addr) != 1) return false;
    *ipv4_r = af == AF_INET && prefix == 32;
    memcpy(ip, addr, ANNOUNCE_IPV4_LEN);
    return true;
}

/* The IPv4 addresses in IP, a libxl nic "ip": words separated by blanks. */
static int announce_parse_ips(struct announce_nic *n, const char *ip)
{
    char *copy = xstrdup(ip), *word, *save = NULL;
    uint8_t addr[ANNOUNCE_IPV4_LEN];
    size_t words = 0;
    bool ipv4;
    int rc;

    for (word = strtok_r(copy, ANNOUNCE_BLANKS, &save); word;
         word = strtok_r(NULL, ANNOUNCE_BLANKS, &save)) {
        words++;
        if (!announce_ip_word(word, addr, &ipv4)) {
            announce_log("nics[%zu].ip: word %zu is not an IP address",
                         n->idx, words);
            rc = XLMIG_E_INVAL;
            goto out;
        }
        if (!ipv4) continue;
        n->ipv4 = xrealloc(n->ipv4, (n->n_ipv4 + 1) * sizeof(*n->ipv4));
        memcpy(n->ipv4[n->n_ipv4++], addr, ANNOUNCE_IPV4_LEN);
    }
    rc = XLMIG_OK;
out:
    free(copy);
    return rc;
}

/* Checks one vif of the config and fills in what to send for it. */
static int announce_plan_nic(const struct domcfg_nic *c, size_t idx,
                             struct announce_nic *n)
{
    n->idx = idx;
    n->mac_text = c->mac;
    n->bridge = c->bridge ? c->bridge : ANNOUNCE_DEFAULT_BRIDGE;
    if (!c->mac) {
        /* libxl fills it in at creation: a running guest has one. */
        announce_log("nics[%zu]: no mac", idx);
        return XLMIG_E_INVAL;
    }
    if (!announce_frame_mac(c->mac, n->mac)) {
        announce_log("nics[%zu].mac: %s is not a guest's MAC address", idx,
                     c->mac);
        return XLMIG_E_INVAL;
    }
    if (!announce_ifname_ok(n->bridge)) {
        announce_log("nics[%zu].bridge: not an interface name", idx);
        return XLMIG_E_INVAL;
    }
    return c->ip ? announce_parse_ips(n, c->ip) : XLMIG_OK;
}

/* vifD.N, vifD.N-emu, tapD.N: the interfaces libxl names (the -emu one,
 * QEMU's tap, also with a vifname of the admin's). */
static bool announce_backend_name(const char *name)
{
    const char *p;
    size_t len = strlen(name);

    if (len > 4 && !strcmp(name + len - 4, "-emu")) return true;
    if (strncmp(name, "vif", 3) && strncmp(name, "tap", 3)) return false;
    p = name + 3;
    if (*p < '0' || *p > '9') return false;
    while (*p >= '0' && *p <= '9') p++;
    if (*p++ != '.') return false;
    if (*p < '0' || *p > '9') return false;
    while (*p >= '0' && *p <= '9') p++;
    return *p == '\0';
}

/* Whether netback made the interface (a vifname of the admin's). */
static bool announce_backend_dev(const char *name)
{
    char path[PATH_MAX], target[PATH_MAX];
    ssize_t r;

    snprintf(path, sizeof(path), ANNOUNCE_SYSFS "/%s/device", name);
    r = readlink(path, target, sizeof(target) - 1);
    if (r < 0) return false;
    target[r] = '\0';
    return strstr(target, "xen-backend") != NULL;
}

/* The STP state of bridge port PORT of BR, -1 if unreadable. */
static int announce_port_state(const char *br, const char *port)
{
    char path[PATH_MAX];
    FILE *f;
    int state = -1;

    snprintf(path, sizeof(path), ANNOUNCE_SYSFS "/%s/brif/%s/state", br,
             port);
    f = fopen(path, "re");
    if (!f) return -1;
    if (fscanf(f, "%d", &state) != 1) state = -1;
    fclose(f);
    return state;
}

/* Whether NAME is a word of the blank-separated list LIST. */
static bool announce_listed(const char *list, const char *name)
{
    size_t len = strlen(name);
    const char *p = list;

    while ((p = strstr(p, name))) {
        if ((p == list || strchr(ANNOUNCE_BLANKS, p[-1])) &&
            (!p[len] || strchr(ANNOUNCE_BLANKS, p[len])))
            return true;
        p += len;
    }
    return false;
}

/*
 * Fills n->uplinks from the bridge's ports (see the header comment).
 * Returns XLMIG_OK with none when there is nothing to do, saying why.
 */
static int announce_find_uplinks(struct announce_nic *n, const char *only)
{
    char path[PATH_MAX];
    char names[ANNOUNCE_MSG_MAX / 2] = "";
    struct stat st;
    struct dirent *de;
    DIR *d = NULL;
    unsigned idx;
    int rc;

    snprintf(path, sizeof(path), ANNOUNCE_SYSFS "/%s/brif", n->bridge);
    d = opendir(path);
    if (!d && (errno == ENOENT || errno == ENOTDIR)) {
        snprintf(path, sizeof(path), ANNOUNCE_SYSFS "/%s", n->bridge);
        announce_log("nics[%zu]: %s %s: nothing to do", n->idx, n->bridge,
                     stat(path, &st) ? "does not exist"
                                     : "is not a Linux bridge");
        rc = XLMIG_OK;
        goto out;
    }
    if (!d) {
        announce_log("%s: %s", path, strerror(errno));
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    n->uplinks = xcalloc(ANNOUNCE_PORTS_MAX, sizeof(*n->uplinks));
    while ((de = readdir(d))) {
        if (!announce_ifname_ok(de->d_name) ||
            announce_backend_name(de->d_name) ||
            announce_backend_dev(de->d_name))
            continue;
        if (only && !announce_listed(only, de->d_name)) continue;
        if (announce_port_state(n->bridge, de->d_name) !=
            ANNOUNCE_BR_FORWARDING)
            continue;
        idx = if_nametoindex(de->d_name);
        if (!idx || n->n_uplinks == ANNOUNCE_PORTS_MAX) continue;
        n->uplinks[n->n_uplinks++] = (int)idx;
        if (strlen(names) + strlen(de->d_name) + 2 < sizeof(names))
            strcat(strcat(names, " "), de->d_name);
    }
    if (!n->n_uplinks)
        announce_log("nics[%zu]: %s has no uplink port in forwarding "
                     "state: nothing to do", n->idx, n->bridge);
    else
        announce_log("nics[%zu]: %s on %s: RARP and %zu gratuitous ARP, "
                     "%d times, out of%s", n->idx, n->mac_text, n->bridge,
                     n->n_ipv4, ANNOUNCE_ROUNDS, names);
    rc = XLMIG_OK;
out:
    if (d) closedir(d);
    return rc;
}

/* Every frame of N out of each of its uplinks, once, to the broadcast
 * address. Returns FAILED plus the frames that could not be sent; the
 * first failure of all is logged. */
static size_t announce_round(int fd, const struct announce_nic *n,
                             size_t failed)
{
    uint8_t frame[ANNOUNCE_FRAME_LEN];
    char ifname[IF_NAMESIZE];
    struct sockaddr_ll to;
    size_t u, i;
    ssize_t r;
    int e;

    memset(&to, 0, sizeof(to));
    to.sll_family = AF_PACKET;
    to.sll_halen = ANNOUNCE_MAC_LEN;
    memset(to.sll_addr, 0xff, ANNOUNCE_MAC_LEN);
    for (u = 0; u < n->n_uplinks; u++) {
        to.sll_ifindex = n->uplinks[u];
        for (i = 0; i <= n->n_ipv4; i++) {
            if (i == 0)
                announce_frame_rarp(frame, n->mac);
            else
                announce_frame_garp(frame, n->mac, n->ipv4[i - 1]);
            r = sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&to,
                       sizeof(to));
            if (r == (ssize_t)sizeof(frame)) continue;
            e = r < 0 ? errno : EMSGSIZE;
            if (!failed++)
                announce_log("sending on %s: %s",
                             if_indextoname((unsigned)to.sll_ifindex, ifname)
                             ? ifname : "?", strerror(e));
        }
    }
    return failed;
}

/* ANNOUNCE_ROUNDS rounds, ANNOUNCE_GAP_NS apart (switches and peers may
 * miss one while the port comes up). */
static int announce_send(const struct announce_nic *nics, size_t n_nics)
{
    struct timespec gap;
    size_t failed = 0, i;
    int round, fd = -1;
    int rc;

    /* Protocol 0: this socket sends only, it never receives. */
    fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        announce_log("packet socket: %s", strerror(errno));
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    for (round = 0; round < ANNOUNCE_ROUNDS; round++) {
        gap.tv_sec = 0;
        gap.tv_nsec = ANNOUNCE_GAP_NS;
        while (round && nanosleep(&gap, &gap) && errno == EINTR)
            continue;
        for (i = 0; i < n_nics; i++)
            failed = announce_round(fd, &nics[i], failed);
    }
    if (failed) {
        announce_log("%zu frames not sent", failed);
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    rc = XLMIG_OK;
out:
    if (fd >= 0) close(fd);
    return rc;
}

static int announce_run(const char *json)
{
    struct announce_nic *nics = NULL;
    struct domcfg cfg;
    char *why = NULL;
    const char *only = getenv("XLMIG_ANNOUNCE_UPLINKS");
    size_t i, n_nics = 0, n_send = 0;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    if (!json[0]) {
        announce_log("no domain config on stdin: nothing announced");
        rc = XLMIG_E_SYSTEM;
        goto out;
    }
    rc = domcfg_parse(json, &cfg, &why);
    if (rc) {
        announce_log("bad config: %s", why);
        goto out;
    }
    if (!cfg.n_nics) {
        announce_log("%s has no vif: nothing to do", cfg.name);
        rc = XLMIG_OK;
        goto out;
    }
    /* Everything is checked before anything is sent. */
    nics = xcalloc(cfg.n_nics, sizeof(*nics));
    for (n_nics = 0; n_nics < cfg.n_nics; n_nics++) {
        rc = announce_plan_nic(&cfg.nics[n_nics], n_nics, &nics[n_nics]);
        if (rc) goto out;
    }
    for (i = 0; i < n_nics; i++) {
        rc = announce_find_uplinks(&nics[i], only && only[0] ? only : NULL);
        if (rc) goto out;
        n_send += nics[i].n_uplinks;
    }
    rc = n_send ? announce_send(nics, n_nics) : XLMIG_OK;
out:
    for (i = 0; nics && i < cfg.n_nics; i++) {
        free(nics[i].ipv4);
        free(nics[i].uplinks);
    }
    free(nics);
    domcfg_dispose(&cfg);
    free(why);
    return rc;
}

int main(int argc, char **argv)
{
    char *json = NULL;
    int rc;

    if (argc != 4) {
        announce_log("usage: announce EVENT DOMAIN ROLE, config on stdin");
        return ANNOUNCE_EXIT_BAD;
    }
    /* Before the guest runs here, announcing would steal its traffic. */
    if (strcmp(argv[1], "incoming-done")) {
        announce_log("runs on incoming-done only, not on %s", argv[1]);
        return ANNOUNCE_EXIT_BAD;
    }
    rc = announce_read_config(&json);
    if (!rc) rc = announce_run(json);
    free(json);
    switch (rc) {
    case XLMIG_OK: return ANNOUNCE_EXIT_OK;
    case XLMIG_E_INVAL: return ANNOUNCE_EXIT_BAD;
    default: return ANNOUNCE_EXIT_UNSENT;
    }
}
