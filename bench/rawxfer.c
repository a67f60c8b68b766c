/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rawxfer.c - the raw TCP baseline of the benchmarks: sends N zero bytes
 * over one TCP connection and times it, so that a migration's throughput
 * can be given as a ratio to what the same path carries. Built and run
 * by bench/lib-net.sh; not installed.
 *
 *   rawxfer recv ADDR         listen on ADDR (IPv4, port chosen by the
 *                             kernel), print the port, take one
 *                             connection, read to EOF, answer the count
 *   rawxfer send ADDR PORT N  connect, send N bytes, wait for the answer,
 *                             print the seconds taken (ns precision)
 *
 * The clock runs from the established connection to the receiver's
 * answer, so it covers the delivery of the last byte, not its queueing.
 * Every wait has a deadline (RAWXFER_TIMEOUT_S without progress).
 */
#define _GNU_SOURCE                     /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RAWXFER_BUF_SIZE (1024 * 1024)
#define RAWXFER_TIMEOUT_S 30
#define RAWXFER_ANSWER_MAX 32

static void rawxfer_die(const char *what)
{
    fprintf(stderr, "rawxfer: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void rawxfer_usage(void)
{
    fprintf(stderr, "usage: rawxfer recv ADDR\n"
            "       rawxfer send ADDR PORT BYTES\n");
    exit(2);
}

static int rawxfer_parse_u64(const char *s, uint64_t max, uint64_t *v_r)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > max) return -1;
    *v_r = v;
    return 0;
}

static void rawxfer_addr(const char *host, uint16_t port,
                         struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
        fprintf(stderr, "rawxfer: not an IPv4 address: %s\n", host);
        exit(2);
    }
}

/* A TCP socket whose reads and writes (and connect) time out. */
static int rawxfer_socket(void)
{
    struct timeval tv = { .tv_sec = RAWXFER_TIMEOUT_S };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) rawxfer_die("socket");
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
        rawxfer_die("setsockopt");
    return fd;
}

static void rawxfer_write_all(int fd, const char *p, size_t len)
{
    ssize_t r;

    while (len) {
        r = send(fd, p, len, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) rawxfer_die("send");
        p += r;
        len -= (size_t)r;
    }
}

static int rawxfer_recv(const char *host)
{
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    struct pollfd pfd;
    char answer[RAWXFER_ANSWER_MAX];
    uint64_t total = 0;
    char *buf;
    ssize_t r;
    int lfd, fd, n;

    rawxfer_addr(host, 0, &sa);
    lfd = rawxfer_socket();
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) rawxfer_die("bind");
    if (listen(lfd, 1) < 0) rawxfer_die("listen");
    if (getsockname(lfd, (struct sockaddr *)&sa, &salen) < 0)
        rawxfer_die("getsockname");
    printf("%u\n", ntohs(sa.sin_port));
    if (fflush(stdout) == EOF) rawxfer_die("stdout");

    pfd.fd = lfd;
    pfd.events = POLLIN;
    n = poll(&pfd, 1, RAWXFER_TIMEOUT_S * 1000);
    if (n < 0) rawxfer_die("poll");
    if (n == 0) {
        fprintf(stderr, "rawxfer: no connection within %d s\n",
                RAWXFER_TIMEOUT_S);
        return 1;
    }
    fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) rawxfer_die("accept");
    close(lfd);

    buf = malloc(RAWXFER_BUF_SIZE);
    if (!buf) rawxfer_die("malloc");
    for (;;) {
        r = recv(fd, buf, RAWXFER_BUF_SIZE, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) rawxfer_die("recv");
        if (r == 0) break;
        total += (uint64_t)r;
    }
    n = snprintf(answer, sizeof(answer), "%" PRIu64 "\n", total);
    rawxfer_write_all(fd, answer, (size_t)n);
    close(fd);
    free(buf);
    return 0;
}

static int rawxfer_send(const char *host, const char *port_s,
                        const char *bytes_s)
{
    struct sockaddr_in sa;
    struct timespec t0, t1;
    char answer[RAWXFER_ANSWER_MAX];
    uint64_t port, bytes, got, left;
    size_t alen = 0, chunk;
    char *buf;
    ssize_t r;
    long long ns;
    int fd;

    if (rawxfer_parse_u64(port_s, 65535, &port) || port == 0 ||
        rawxfer_parse_u64(bytes_s, UINT64_MAX, &bytes))
        rawxfer_usage();
    rawxfer_addr(host, (uint16_t)port, &sa);
    buf = calloc(1, RAWXFER_BUF_SIZE);
    if (!buf) rawxfer_die("calloc");
    fd = rawxfer_socket();
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        rawxfer_die("connect");

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (left = bytes; left; left -= chunk) {
        chunk = left < RAWXFER_BUF_SIZE ? (size_t)left : RAWXFER_BUF_SIZE;
        rawxfer_write_all(fd, buf, chunk);
    }
    if (shutdown(fd, SHUT_WR) < 0) rawxfer_die("shutdown");
    while (alen < sizeof(answer) - 1) {
        r = recv(fd, answer + alen, sizeof(answer) - 1 - alen, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) rawxfer_die("recv answer");
        if (r == 0) break;
        alen += (size_t)r;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    answer[alen] = '\0';
    answer[strcspn(answer, "\n")] = '\0';
    if (rawxfer_parse_u64(answer, UINT64_MAX, &got) || got != bytes) {
        fprintf(stderr, "rawxfer: sent %" PRIu64 " bytes, receiver "
                "answered '%s'\n", bytes, answer);
        return 1;
    }
    close(fd);
    free(buf);
    ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    printf("%lld.%09lld\n", ns / 1000000000LL, ns % 1000000000LL);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "recv"))
        return rawxfer_recv(argv[2]);
    if (argc == 5 && !strcmp(argv[1], "send"))
        return rawxfer_send(argv[2], argv[3], argv[4]);
    rawxfer_usage();
    return 2;
}
