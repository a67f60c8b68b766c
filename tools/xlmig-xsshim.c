/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xlmig-xsshim.c - LD_PRELOAD shim that lets Debian's Xen 4.17 C xenstored
 * run as a plain process on a sim host, with no hypervisor. It defines the
 * libxenctrl, libxengnttab and libxenevtchn calls the daemon imports, plus
 * open()/open64() of /proc/xen/xsd_{port,kva}; every other open() goes to
 * the real one. See shared/xenstored/README.md for why each fake is enough.
 *
 * Environment: XSSHIM_DEBUG (set, not "0") logs each faked call to stderr;
 * XSSHIM_MAX_DOMID=N (0..32751, default 32751) says which domids exist.
 * The shim keeps no global state: the settings are read at each call.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#define SHIM_NAME "xlmig-xsshim"
#define SHIM_MAX_DOMID (DOMID_FIRST_RESERVED - 1)

/* The files the daemon reads to find dom0's ring (xenbus_evtchn/map). */
#define SHIM_XSD_PORT "/proc/xen/xsd_port"
#define SHIM_XSD_KVA "/proc/xen/xsd_kva"
#define SHIM_DOM0_PORT "1\n"

/* xenevtchn_bind_virq()'s port; interdomain ports are counted from 10. */
#define SHIM_VIRQ_PORT 2
#define SHIM_FIRST_PORT 10

#define SHIM_NEEDS_MODE(flags) \
    (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE)

/* Opaque in the headers; here only something to point at. */
struct xc_interface_core {
    int unused;
};

struct xengntdev_handle {
    int unused;
};

/* The pipe's read end is the event fd: nothing ever writes to it. */
struct xenevtchn_handle {
    int pipe[2];
    evtchn_port_t next_port;
};

typedef int shim_open_fn(const char *path, int flags, ...);

static void shim_debug(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void shim_debug(const char *fmt, ...)
{
    const char *s = getenv("XSSHIM_DEBUG");
    int saved = errno;
    va_list ap;

    if (!s || !*s || !strcmp(s, "0")) return;
    va_start(ap, fmt);
    fputs(SHIM_NAME ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    errno = saved;
}

/*
 * Domids 0..this exist. The daemon has no way to hear of a bad setting,
 * so one aborts it: better than a store whose domains silently differ.
 */
static unsigned int shim_max_domid(void)
{
    const char *s = getenv("XSSHIM_MAX_DOMID");
    unsigned long v;
    char *end;

    if (!s || !*s) return SHIM_MAX_DOMID;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || errno || v > SHIM_MAX_DOMID) {
        fprintf(stderr, SHIM_NAME ": XSSHIM_MAX_DOMID=%s: not a domid "
                "0..%u\n", s, (unsigned)SHIM_MAX_DOMID);
        abort();
    }
    return (unsigned int)v;
}

/* Checks the setting when the daemon starts, not at its first domain. */
__attribute__((constructor))
static void shim_check_env(void)
{
    (void)shim_max_domid();
}

static size_t shim_page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* ---- libxenctrl ---------------------------------------------------- */

xc_interface *xc_interface_open(xentoollog_logger *logger,
                                xentoollog_logger *dombuild_logger,
                                unsigned open_flags)
{
    xc_interface *xch = calloc(1, sizeof(*xch));

    shim_debug("xc_interface_open() = %p", (void *)xch);
    return xch;
}

int xc_interface_close(xc_interface *xch)
{
    shim_debug("xc_interface_close(%p)", (void *)xch);
    free(xch);
    return 0;
}

/* Domains first_domid.. up to SHIM_MAX_DOMID, each running. */
static unsigned int shim_count_domains(uint32_t first_domid,
                                       unsigned int max_doms)
{
    unsigned int max = shim_max_domid();

    if (first_domid > max) return 0;
    return max - first_domid + 1 < max_doms ? max - first_domid + 1
                                            : max_doms;
}

int xc_domain_getinfo(xc_interface *xch, uint32_t first_domid,
                      unsigned int max_doms, xc_dominfo_t *info)
{
    unsigned int i, n = shim_count_domains(first_domid, max_doms);

    for (i = 0; i < n; i++) {
        memset(&info[i], 0, sizeof(info[i]));
        info[i].domid = first_domid + i;
        info[i].running = 1;
    }
    shim_debug("xc_domain_getinfo(%u, %u) = %u", first_domid, max_doms, n);
    return (int)n;
}

/* Not imported by 4.17; later daemons use it instead of the above. */
int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain,
                          unsigned int max_domains, xc_domaininfo_t *info)
{
    unsigned int i, n = shim_count_domains(first_domain, max_domains);

    for (i = 0; i < n; i++) {
        memset(&info[i], 0, sizeof(info[i]));
        info[i].domain = (domid_t)(first_domain + i);
        info[i].flags = XEN_DOMINF_running;
    }
    shim_debug("xc_domain_getinfolist(%u, %u) = %u", first_domain,
               max_domains, n);
    return (int)n;
}

/* ---- libxengnttab -------------------------------------------------- */

xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger,
                                 unsigned open_flags)
{
    xengnttab_handle *xgt = calloc(1, sizeof(*xgt));

    shim_debug("xengnttab_open() = %p", (void *)xgt);
    return xgt;
}

int xengnttab_close(xengnttab_handle *xgt)
{
    shim_debug("xengnttab_close(%p)", (void *)xgt);
    free(xgt);
    return 0;
}

int xengnttab_set_max_grants(xengnttab_handle *xgt, uint32_t nr_grants)
{
    shim_debug("xengnttab_set_max_grants(%u)", nr_grants);
    return 0;
}

/* A domU's ring on XS_INTRODUCE: a private zeroed page nobody services. */
void *xengnttab_map_grant_ref(xengnttab_handle *xgt, uint32_t domid,
                              uint32_t ref, int prot)
{
    void *p = mmap(NULL, shim_page_size(), prot,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) p = NULL;
    shim_debug("xengnttab_map_grant_ref(%u, %u) = %p", domid, ref, p);
    return p;
}

int xengnttab_unmap(xengnttab_handle *xgt, void *start_address,
                    uint32_t count)
{
    shim_debug("xengnttab_unmap(%p, %u)", start_address, count);
    return munmap(start_address, (size_t)count * shim_page_size());
}

/* ---- libxenevtchn -------------------------------------------------- */

static xenevtchn_handle *shim_evtchn_new(unsigned int flags)
{
    xenevtchn_handle *xce = malloc(sizeof(*xce));
    int saved;

    if (!xce) return NULL;
    if (pipe2(xce->pipe, (flags & XENEVTCHN_NO_CLOEXEC) ? 0 : O_CLOEXEC)) {
        saved = errno;
        free(xce);
        errno = saved;
        return NULL;
    }
    xce->next_port = SHIM_FIRST_PORT;
    return xce;
}

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger,
                                 unsigned int flags)
{
    xenevtchn_handle *xce = shim_evtchn_new(flags);

    shim_debug("xenevtchn_open() = %p", (void *)xce);
    return xce;
}

/*
 * Live update hands over the old event fd. The handle owns it, as in the
 * real library, but an idle pipe of its own replaces it.
 */
xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger,
                                   int fd, unsigned open_flags)
{
    xenevtchn_handle *xce;

    if (open_flags & XENEVTCHN_NO_CLOEXEC) {
        errno = EINVAL;
        return NULL;
    }
    xce = shim_evtchn_new(open_flags);
    if (xce) close(fd);
    shim_debug("xenevtchn_fdopen(%d) = %p", fd, (void *)xce);
    return xce;
}

int xenevtchn_close(xenevtchn_handle *xce)
{
    shim_debug("xenevtchn_close(%p)", (void *)xce);
    if (!xce) return 0;
    close(xce->pipe[0]);
    close(xce->pipe[1]);
    free(xce);
    return 0;
}

int xenevtchn_fd(xenevtchn_handle *xce)
{
    shim_debug("xenevtchn_fd() = %d", xce->pipe[0]);
    return xce->pipe[0];
}

xenevtchn_port_or_error_t
xenevtchn_bind_virq(xenevtchn_handle *xce, unsigned int virq)
{
    shim_debug("xenevtchn_bind_virq(%u) = %d", virq, SHIM_VIRQ_PORT);
    return SHIM_VIRQ_PORT;
}

xenevtchn_port_or_error_t
xenevtchn_bind_interdomain(xenevtchn_handle *xce, uint32_t domid,
                           evtchn_port_t remote_port)
{
    evtchn_port_t port = xce->next_port++;

    shim_debug("xenevtchn_bind_interdomain(%u, %u) = %u", domid,
               remote_port, port);
    return (xenevtchn_port_or_error_t)port;
}

int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
    shim_debug("xenevtchn_unbind(%u)", port);
    return 0;
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
    shim_debug("xenevtchn_notify(%u)", port);
    return 0;
}

int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
    shim_debug("xenevtchn_unmask(%u)", port);
    return 0;
}

/* Unreachable: the event fd never becomes readable. */
xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
    shim_debug("xenevtchn_pending() = -1 (EAGAIN)");
    errno = EAGAIN;
    return -1;
}

/* ---- open() -------------------------------------------------------- */

/* An anonymous file of size bytes that starts with data. */
static int shim_memfd(const char *name, int flags, const char *data,
                      size_t len, size_t size)
{
    int fd, saved;

    fd = memfd_create(name, (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
    if (fd < 0) return -1;
    if (ftruncate(fd, (off_t)size) ||
        (len && pwrite(fd, data, len, 0) != (ssize_t)len)) {
        saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/*
 * dom0's event channel (xsd_port) and ring page (xsd_kva). The ring's
 * indexes are all 0 and nobody writes to it, so it stays idle.
 */
static int shim_open(const char *func, const char *path, int flags,
                     mode_t mode)
{
    shim_open_fn *real;
    int fd;

    if (path && !strcmp(path, SHIM_XSD_PORT)) {
        fd = shim_memfd("xsd_port", flags, SHIM_DOM0_PORT,
                        strlen(SHIM_DOM0_PORT), strlen(SHIM_DOM0_PORT));
        shim_debug("%s(%s) = %d", func, path, fd);
        return fd;
    }
    if (path && !strcmp(path, SHIM_XSD_KVA)) {
        fd = shim_memfd("xsd_kva", flags, NULL, 0, shim_page_size());
        shim_debug("%s(%s) = %d", func, path, fd);
        return fd;
    }
    real = (shim_open_fn *)dlsym(RTLD_NEXT, func);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    return real(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    va_list ap;

    if (SHIM_NEEDS_MODE(flags)) {
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    return shim_open("open", path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    va_list ap;

    if (SHIM_NEEDS_MODE(flags)) {
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    return shim_open("open64", path, flags, mode);
}
