/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-stream-info.c - "xlmig stream-info": what an `xl save` file or a
 * captured migration stream holds (domain, guest type, records, pages) and
 * whether it ends well. Runs the pure parsers (proto.c, stream.c) in this
 * process: it needs neither Xen nor root, and never parses past the END.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "cmd.h"
#include "jsonlim.h"
#include "proto.h"
#include "stream.h"

#define CMD_STREAM_INFO_JSON (CMD_OPT_LONG + 0)
#define CMD_STREAM_INFO_READ_MAX (1u << 20)     /* bytes per read */
#define CMD_STREAM_INFO_TRAIL_SHOW 48   /* trailing bytes quoted */
#define CMD_STREAM_INFO_NAME_SHOW 64    /* config strings quoted */
#define CMD_STREAM_INFO_WHY_MAX 256
#define CMD_STREAM_INFO_DEPTH_MAX 32    /* as domcfg.c */
#define CMD_STREAM_INFO_CONFIG_OFF (PROTO_SAVE_HDR_LEN + 4)
/* Input starting with this much of xl's magic is a save file, so that a
 * damaged magic is reported as such. */
#define CMD_STREAM_INFO_SNIFF 4

static int cmd_stream_info_exec(struct cmd_ctx *c, struct cmd_args *args);

static const struct option cmd_stream_info_longopts[] = {
    { "json", no_argument, NULL, CMD_STREAM_INFO_JSON },
    { NULL, 0, NULL, 0 },
};

const struct cmd_entry cmd_stream_info_entry = {
    .name = "stream-info",
    .usage = "[--json] <file>|-",
    .help = "Summarise an xl save file or a captured migration stream",
    .details =
        "Options:\n"
        "  --json  print one JSON object instead of text\n"
        "With - the stream is read from standard input.\n",
    .opts = "",
    .longopts = cmd_stream_info_longopts,
    .min_args = 1, .max_args = 1,
    .exec = cmd_stream_info_exec,
};

/* The input and what was found in it. */
struct cmd_stream_info {
    int fd;
    bool own_fd;
    uint8_t *buf;                   /* CMD_STREAM_INFO_READ_MAX bytes */
    uint64_t off;                   /* bytes read so far */
    bool saved;                     /* starts with xl's save header */
    struct proto_save_hdr hdr;
    char *name, *cfg_type;          /* from the saved config, or NULL */
    uint64_t memkb;                 /* b_info.target_memkb, 0: unknown */
    uint64_t stream_off;            /* where the libxl stream starts */
    struct stream *s;
    uint64_t trailing;              /* bytes after the libxl END */
    uint8_t trail[CMD_STREAM_INFO_TRAIL_SHOW];
    size_t trail_len;
    char *err;                      /* "offset N: reason" */
};

static void cmd_stream_info_init(struct cmd_stream_info *si)
{
    memset(si, 0, sizeof(*si));
    si->fd = -1;
    si->buf = xmalloc(CMD_STREAM_INFO_READ_MAX);
}

static void cmd_stream_info_dispose(struct cmd_stream_info *si)
{
    if (si->own_fd && si->fd >= 0) close(si->fd);
    si->fd = -1;
    free(si->buf);
    free(si->name);
    free(si->cfg_type);
    free(si->err);
    stream_free(si->s);
    memset(si, 0, sizeof(*si));
    si->fd = -1;
}

/* Reads len bytes, fewer only at EOF (*got_r says how many). */
static int cmd_stream_info_read(struct cmd_stream_info *si, void *p,
                                size_t len, size_t *got_r)
{
    size_t got = 0;
    ssize_t r;

    while (got < len) {
        r = read(si->fd, (uint8_t *)p + got, len - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            si->err = xasprintf("offset %" PRIu64 ": read error: %s",
                                si->off + got, strerror(errno));
            return XLMIG_E_SYSTEM;
        }
        if (!r) break;
        got += (size_t)r;
    }
    si->off += got;
    *got_r = got;
    return XLMIG_OK;
}

/* The domain's name, type and memory from the libxl JSON config. */
static int cmd_stream_info_config(struct cmd_stream_info *si,
                                  const char *json)
{
    static const char *name_path[] = { "c_info", "name", NULL };
    static const char *type_path[] = { "c_info", "type", NULL };
    static const char *mem_path[] = { "b_info", "target_memkb", NULL };
    char *why = NULL;
    yajl_val root, v;

    root = jsonlim_parse(json, PROTO_OPTDATA_MAX,
                         CMD_STREAM_INFO_DEPTH_MAX, &why);
    if (!root) {
        si->err = xasprintf("offset %d: the saved domain config: %s",
                            CMD_STREAM_INFO_CONFIG_OFF, why);
        free(why);
        return XLMIG_E_PROTO;
    }
    v = yajl_tree_get(root, name_path, yajl_t_string);
    if (v) si->name = xstrdup(YAJL_GET_STRING(v));
    v = yajl_tree_get(root, type_path, yajl_t_string);
    if (v) si->cfg_type = xstrdup(YAJL_GET_STRING(v));
    v = yajl_tree_get(root, mem_path, yajl_t_number);
    if (v && YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) > 0)
        si->memkb = (uint64_t)YAJL_GET_INTEGER(v);
    yajl_tree_free(root);
    return XLMIG_OK;
}

/*
 * xl's save header and config, if the input starts with its magic.
 * *head_r: bytes read into si->buf that belong to a bare libxl stream.
 */
static int cmd_stream_info_header(struct cmd_stream_info *si,
                                  size_t *head_r)
{
    uint8_t *opt = NULL;
    char *why = NULL, *json = NULL;
    size_t got, n;
    int rc;

    *head_r = 0;
    rc = cmd_stream_info_read(si, si->buf, PROTO_SAVE_HDR_LEN, &got);
    if (rc) goto out;
    n = got < CMD_STREAM_INFO_SNIFF ? got : CMD_STREAM_INFO_SNIFF;
    if (!got || memcmp(si->buf, PROTO_SAVE_MAGIC, n)) {
        *head_r = got;
        goto out;
    }
    si->saved = true;
    rc = proto_parse_save_hdr(si->buf, got, &si->hdr, &why);
    if (rc) {
        si->err = xasprintf("offset %zu: %s",
                            rc == XLMIG_E_TRUNC ? got : 0, why);
        goto out;
    }
    /* proto_parse_save_hdr bounded it by PROTO_OPTDATA_MAX. */
    opt = xmalloc(si->hdr.optional_data_len);
    rc = cmd_stream_info_read(si, opt, si->hdr.optional_data_len, &got);
    if (rc) goto out;
    if (got < si->hdr.optional_data_len) {
        si->err = xasprintf("offset %" PRIu64 ": input ends inside the "
                            "saved domain config (%zu of %" PRIu32
                            " bytes)", si->off, got,
                            si->hdr.optional_data_len);
        rc = XLMIG_E_TRUNC;
        goto out;
    }
    rc = proto_parse_optdata(opt, got, &json, &why);
    if (rc) {
        si->err = xasprintf("offset %d: %s", PROTO_SAVE_HDR_LEN, why);
        goto out;
    }
    rc = cmd_stream_info_config(si, json);
    if (rc) goto out;
    si->stream_off = si->off;
out:
    free(opt);
    free(json);
    free(why);
    return rc;
}

static void cmd_stream_info_trail(struct cmd_stream_info *si,
                                  const uint8_t *p, size_t len)
{
    size_t n = sizeof(si->trail) - si->trail_len;

    if (n > len) n = len;
    memcpy(si->trail + si->trail_len, p, n);
    si->trail_len += n;
    si->trailing += len;
}

/* Feeds len bytes; what the parser leaves follows the END. */
static int cmd_stream_info_feed(struct cmd_stream_info *si,
                                const uint8_t *p, size_t len)
{
    size_t used;
    int rc;

    rc = stream_feed(si->s, p, len, &used);
    if (rc) return rc;
    cmd_stream_info_trail(si, p + used, len - used);
    return XLMIG_OK;
}

/*
 * The libxl stream, read no further than stream_want() allows so that the
 * END is where the reading stops; then the trailing bytes are counted.
 */
static int cmd_stream_info_stream(struct cmd_stream_info *si, size_t head)
{
    size_t want, got;
    int rc;

    si->s = stream_new(NULL, NULL);
    stream_set_offset(si->s, si->stream_off);
    rc = cmd_stream_info_feed(si, si->buf, head);
    while (!rc && !stream_done(si->s)) {
        want = stream_want(si->s);
        if (want > CMD_STREAM_INFO_READ_MAX) want = CMD_STREAM_INFO_READ_MAX;
        rc = cmd_stream_info_read(si, si->buf, want, &got);
        if (rc || !got) break;
        rc = cmd_stream_info_feed(si, si->buf, got);
    }
    if (!rc) rc = stream_finish(si->s);
    if (rc) {
        if (!si->err)
            si->err = xstrdup(stream_error(si->s) ? stream_error(si->s) :
                              xlmig_strerror(rc));
        return rc;
    }
    do {
        rc = cmd_stream_info_read(si, si->buf, CMD_STREAM_INFO_READ_MAX,
                                  &got);
        if (rc) return rc;
        cmd_stream_info_trail(si, si->buf, got);
    } while (got);
    return XLMIG_OK;
}

/*
 * The libxc domain header says only PV or HVM (which PVH uses too): the
 * config tells PVH from HVM, and so do emulator records, which libxl
 * writes for HVM guests only.
 */
static const char *cmd_stream_info_type(const struct cmd_stream_info *si)
{
    const struct stream_stats *st = stream_get_stats(si->s);

    if (st->guest_type == STREAM_DHDR_TYPE_X86_PV) return "PV";
    if (si->cfg_type && !strcmp(si->cfg_type, "pvh")) return "PVH";
    if (si->cfg_type && !strcmp(si->cfg_type, "hvm")) return "HVM";
    if (st->libxl_recs[STREAM_LIBXL_EMULATOR_CONTEXT]) return "HVM";
    return "HVM or PVH";
}

static double cmd_stream_info_mib(uint64_t pages)
{
    return (double)pages * STREAM_PAGE_SIZE / (1024.0 * 1024.0);
}

/* Escapes an untrusted string for one line of text; to free. */
static char *cmd_stream_info_esc(const char *s)
{
    return proto_escape((const uint8_t *)s, strlen(s),
                        CMD_STREAM_INFO_NAME_SHOW);
}

static void cmd_stream_info_print_recs(const char *what, const uint64_t *n,
                                       uint32_t count, bool libxc)
{
    uint32_t i;

    printf("%s:\n", what);
    for (i = 0; i < count; i++)
        if (n[i])
            printf("  %-28s %10" PRIu64 "\n",
                   libxc ? stream_libxc_rec_name(i) :
                           stream_libxl_rec_name(i), n[i]);
}

static void cmd_stream_info_print_save(const struct cmd_stream_info *si)
{
    char *name = si->name ? cmd_stream_info_esc(si->name) : NULL;
    char *type = si->cfg_type ? cmd_stream_info_esc(si->cfg_type) : NULL;

    /* proto_parse_save_hdr() accepts these two mandatory flags only. */
    printf("save header:    mandatory flags %#" PRIx32 " (json, streamv2),"
           " optional flags %#" PRIx32 "\n", si->hdr.mandatory_flags,
           si->hdr.optional_flags);
    printf("domain:         %s (config type %s", name ? name : "(no name)",
           type ? type : "unknown");
    if (si->memkb)
        printf(", memory %" PRIu64 " MiB", si->memkb / 1024);
    printf(")\n");
    free(name);
    free(type);
}

static void cmd_stream_info_print(const struct cmd_stream_info *si,
                                  const char *path)
{
    const struct stream_stats *st = stream_get_stats(si->s);
    char *trail;

    printf("file:           %s\n", path);
    printf("format:         %s, libxl stream at offset %" PRIu64 "\n",
           si->saved ? "xl save file" : "bare libxl stream", si->stream_off);
    if (si->saved) cmd_stream_info_print_save(si);
    printf("guest type:     %s\n", cmd_stream_info_type(si));
    printf("xen version:    %" PRIu32 ".%" PRIu32 "\n", st->xen_major,
           st->xen_minor);
    cmd_stream_info_print_recs("libxl records", st->libxl_recs,
                               STREAM_LIBXL_NR_TYPES + 1, false);
    cmd_stream_info_print_recs("libxc records", st->libxc_recs,
                               STREAM_LIBXC_NR_TYPES + 1, true);
    printf("pfns:           %" PRIu64 "\n", st->pfns);
    printf("data pages:     %" PRIu64 " (%.1f MiB)\n", st->pages,
           cmd_stream_info_mib(st->pages));
    printf("rounds:         %u (heuristic)\n", st->rounds);
    printf("bytes:          %" PRIu64 " (libxl stream %" PRIu64 ")\n",
           si->off, st->bytes - si->stream_off);
    printf("end:            well-formed (libxl END at offset %" PRIu64
           ")\n", st->bytes - 8);
    printf("trailing bytes: %" PRIu64, si->trailing);
    if (si->trailing) {
        trail = proto_escape(si->trail, si->trail_len, si->trail_len);
        printf(" (\"%s%s\")", trail,
               si->trailing > si->trail_len ? "..." : "");
        free(trail);
    }
    printf("\n");
}

static void cmd_stream_info_json_recs(const char *key, const uint64_t *n,
                                      uint32_t count, bool libxc)
{
    const char *sep = "";
    uint32_t i;

    printf("  \"%s\": {", key);
    for (i = 0; i < count; i++) {
        if (!n[i]) continue;
        printf("%s\"%s\": %" PRIu64, sep,
               libxc ? stream_libxc_rec_name(i) : stream_libxl_rec_name(i),
               n[i]);
        sep = ", ";
    }
    printf("},\n");
}

static void cmd_stream_info_json_save(const struct cmd_stream_info *si)
{
    if (!si->saved) {
        printf("  \"save_header\": null,\n  \"domain\": null,\n");
        return;
    }
    printf("  \"save_header\": {\"mandatory_flags\": %" PRIu32
           ", \"optional_flags\": %" PRIu32 ", \"optional_data_bytes\": %"
           PRIu32 "},\n", si->hdr.mandatory_flags, si->hdr.optional_flags,
           si->hdr.optional_data_len);
    printf("  \"domain\": {\"name\": ");
    cmd_json_str(si->name);
    printf(", \"config_type\": ");
    cmd_json_str(si->cfg_type);
    if (si->memkb)
        printf(", \"memory_kib\": %" PRIu64 "},\n", si->memkb);
    else
        printf(", \"memory_kib\": null},\n");
}

static void cmd_stream_info_json(const struct cmd_stream_info *si,
                                 const char *path)
{
    const struct stream_stats *st = stream_get_stats(si->s);
    char *trail = proto_escape(si->trail, si->trail_len, si->trail_len);

    printf("{\n  \"file\": ");
    cmd_json_str(path);
    printf(",\n  \"format\": \"%s\",\n",
           si->saved ? "xl-save" : "libxl-stream");
    cmd_stream_info_json_save(si);
    printf("  \"stream_offset\": %" PRIu64 ",\n", si->stream_off);
    printf("  \"guest_type\": \"%s\",\n", cmd_stream_info_type(si));
    printf("  \"xen_version\": \"%" PRIu32 ".%" PRIu32 "\",\n",
           st->xen_major, st->xen_minor);
    cmd_stream_info_json_recs("libxl_records", st->libxl_recs,
                              STREAM_LIBXL_NR_TYPES + 1, false);
    cmd_stream_info_json_recs("libxc_records", st->libxc_recs,
                              STREAM_LIBXC_NR_TYPES + 1, true);
    printf("  \"pfns\": %" PRIu64 ",\n", st->pfns);
    printf("  \"data_pages\": %" PRIu64 ",\n", st->pages);
    printf("  \"data_mib\": %.1f,\n", cmd_stream_info_mib(st->pages));
    printf("  \"rounds\": %u,\n", st->rounds);
    printf("  \"stream_bytes\": %" PRIu64 ",\n", st->bytes - si->stream_off);
    printf("  \"total_bytes\": %" PRIu64 ",\n", si->off);
    printf("  \"end\": true,\n");
    printf("  \"trailing_bytes\": %" PRIu64 ",\n", si->trailing);
    printf("  \"trailing_start\": ");
    cmd_json_str(trail);
    printf("\n}\n");
    free(trail);
}

static int cmd_stream_info_exec(struct cmd_ctx *c, struct cmd_args *args)
{
    struct cmd_stream_info si;
    const char *path = args->argv[0];
    const char *shown = strcmp(path, "-") ? path : "stdin";
    size_t head;
    int rc, status = CMD_EXIT_FAILED;

    cmd_stream_info_init(&si);
    if (!strcmp(path, "-")) {
        si.fd = STDIN_FILENO;
    } else {
        si.fd = open(path, O_RDONLY | O_CLOEXEC);
        if (si.fd < 0) {
            cmd_error(c, "%s: %s", path, strerror(errno));
            goto out;
        }
        si.own_fd = true;
    }
    rc = cmd_stream_info_header(&si, &head);
    if (!rc) rc = cmd_stream_info_stream(&si, head);
    if (rc) {
        cmd_error(c, "%s: %s", shown, si.err);
        status = cmd_exit_status(rc);
        goto out;
    }
    if (cmd_has(args, CMD_STREAM_INFO_JSON))
        cmd_stream_info_json(&si, shown);
    else
        cmd_stream_info_print(&si, shown);
    if (fflush(stdout) || ferror(stdout)) {
        cmd_error(c, "writing the summary: %s", strerror(errno));
        goto out;
    }
    status = CMD_EXIT_OK;
out:
    cmd_stream_info_dispose(&si);
    return status;
}
