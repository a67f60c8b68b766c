#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""hostile-peer.py - a hostile end of a migration, for t-96-hostile-peer.sh.

It speaks xl's migration protocol (tools/xl/xl_migrate.c) and xlmig/1
(libxlmig/proto.h) byte for byte, but sends what an attacker would.

  sender [--x1] [--attack NAME] [--dir DIR] [--name DOMAIN] [--seq SEQ]
         [--err FILE] -- COMMAND...
      Starts COMMAND (the receiver, e.g. "ssh -F CFG HOST xlmig
      migrate-receive --xlmig 1"), reads its banner (and HELLO with --x1),
      then sends the hostile config of attack NAME (see attacks(); DIR:
      where the files it names live; DOMAIN: its name, "hostile"): raw, in
      xl's saved-config header; with --x1 in a PREFLIGHT first, then
      PROCEED forcing what a sender may force, then the header. SEQ
      instead runs one xlmig/1 protocol abuse (see SEQS). Prints, one a
      line:
        banner | hello BODY | result ID SEVERITY MESSAGE | note TEXT |
        exit STATUS
      The receiver's stderr goes to FILE (default: ours).

  receiver MODE
      Stands in for `xlmig migrate-receive --xlmig 1` (the real sender
      starts it over ssh): banner, then what MODE makes of the session:
        hello-bomb, hello-deep       HELLO: a comment bomb, 20000 deep
        results-bomb, results-deep   RESULTS: the same
        results-escapes              RESULTS: an error whose message and
                                     remedy drive a terminal
        progress-bomb, progress-deep the stream session as it should go,
                                     a PROGRESS bomb after the 2nd frame
        hand-back                    all well up to GO, then RESULT not
                                     ok, xl's report (status 1) and GO
                                     back: the domain is the sender's
      Exits when the sender hangs up.

  config OUT NAME [ATTACK [DIR]]
      Writes the config the sender would send (for the record).

  field ATTACK
      Prints the config field a refusal of ATTACK must name.

Python standard library only.
"""
import hashlib
import json
import os
import struct
import subprocess
import sys
import threading
import time

BANNER = b"xl migration receiver ready, send binary domain data.\n"
READY = b"domain received, ready to unpause\0"
GO = b"domain is yours, you are cleared to unpause\0"
REPORT = b"my copy unpause results are as follows\0"
SAVE_MAGIC = b"Xen saved domain, xl format\n \0 \r"
SAVE_BYTEORDER = 0x01020304
FLAG_JSON, FLAG_STREAMV2 = 1, 2

X_MAGIC = b"xmg1"
(HELLO, PREFLIGHT, RESULTS, PROCEED, BYE, STREAM, STREAM_OK, PROGRESS,
 RESULT, DONE) = range(1, 11)
X_BODY_MAX = 4 << 20

FRAME_MAGIC = b"xfr1"
FRAME_HDR_LEN, FRAME_TAG_LEN = 32, 16
FRAME_END = 3
KEYS_HEX_LEN = 2 * (32 + 4 + 16)    # key, salt, session (frame.h)

XEN_VERSION = "4.17.5"
TIMEOUT = 20.0


def comment_bomb(n):
    """A comment that hides a quote, then n '[': a depth count over the
    raw text sees a string; yajl_tree_parse() would nest n deep."""
    return '{"x":/*"*/' + "[" * n


def deep(n):
    return "[" * n + "]" * n


# --- configs --------------------------------------------------------------------


def base_config(name, gtype="pvh"):
    """A libxl JSON config this host's policy takes as is."""
    return {
        "c_info": {"type": gtype, "name": name,
                   "uuid": "96960000-0000-4000-8000-" +
                   hashlib.md5(name.encode()).hexdigest()[:12],
                   "run_hotplug_scripts": "True"},
        "b_info": {"max_vcpus": 1, "avail_vcpus": [0],
                   "max_memkb": 16384, "target_memkb": 16384,
                   "video_memkb": 0,
                   "sched_params": {"sched": "credit2", "weight": 256},
                   "kernel": "/var/lib/xen/boot/vmlinuz",
                   "cmdline": "console=hvc0", "type." + gtype: {}},
        "on_reboot": "restart",
    }


def disk(path, **kw):
    d = {"pdev_path": path, "vdev": "xvda", "backend": "qdisk",
         "format": "raw", "removable": 0, "readwrite": 1, "is_cdrom": 0}
    d.update(kw)
    return d


def nic(**kw):
    n = {"devid": 0, "mac": "00:16:3e:96:00:01", "bridge": "xenbr0",
         "script": "vif-bridge", "nictype": "vif"}
    n.update(kw)
    return n


def _set(c, path, value):
    keys = path.split("/")
    o = c
    for k in keys[:-1]:
        o = o.setdefault(k, {})
    o[keys[-1]] = value


# Each attack: (field the refusal must name, config edits). An edit is
# PATH: VALUE, PATH's keys separated by '/' (libxl's keyed unions have
# keys like "type.hvm"); "type" picks the guest type, "text" edits the
# JSON text, "raw" replaces it.
def attacks(d):
    return {
        "dom0-sda": ("disks[0].pdev_path",
                     {"disks": [disk("/dev/sda", backend="phy")]}),
        "dom0-xvda": ("disks[0].pdev_path",
                      {"disks": [disk("/dev/xvda", backend="phy")]}),
        "shadow": ("disks[0].pdev_path", {"disks": [disk("/etc/shadow")]}),
        "dotdot": ("disks[0].pdev_path",
                   {"disks": [disk(d + "/../../../../etc/shadow")]}),
        "symlink": ("disks[0].pdev_path",
                    {"disks": [disk(d + "/link.img")]}),
        "devnode": ("disks[0].pdev_path",
                    {"disks": [disk(d + "/node.img")]}),
        "qcow2": ("disks[0].pdev_path",
                  {"disks": [disk(d + "/evil.qcow2", format="qcow2")]}),
        "script-sh": ("nics[0].script", {"nics": [nic(script="/bin/sh")]}),
        "script-dotdot": ("disks[0].script",
                          {"disks": [disk(d + "/ok.img", backend="phy",
                                          script="../../bin/sh")]}),
        "bridge": ("nics[0].bridge", {"nics": [nic(bridge="xenbr9")]}),
        "pci": ("pcidevs[0]",
                {"pcidevs": [{"domain": 0, "bus": 3, "dev": 0, "func": 0}]}),
        "iomem": ("b_info.iomem",
                  {"b_info/iomem": [{"start": 0xfed00, "number": 1,
                                     "gfn": 0xfed00}]}),
        "ioports": ("b_info.ioports",
                    {"b_info/ioports": [{"first": 0x3f8, "number": 8}]}),
        "irqs": ("b_info.irqs", {"b_info/irqs": [4]}),
        "device-model": ("b_info.device_model",
                         {"b_info/device_model": "/tmp/evil-qemu"}),
        "extra": ("b_info.extra",
                  {"b_info/extra": ["-monitor", "unix:/tmp/qmp,server"]}),
        "p9s": ("p9s[0]", {"p9s": [{"tag": "root", "path": "/",
                                    "security_model": "none",
                                    "devid": 0}]}),
        "serial": ("b_info.type.hvm.serial",
                   {"type": "hvm", "b_info/type.hvm/serial": "file:/tmp/x"}),
        "kernel": ("b_info.kernel", {"b_info/kernel": "/etc/shadow"}),
        "ramdisk": ("b_info.ramdisk", {"b_info/ramdisk": "/root/initrd"}),
        "name-path": ("c_info.name", {"c_info/name": "../../etc/cron.d/x",
                                      "on_crash": "coredump-destroy"}),
        "name-shell": ("c_info.name",
                       {"c_info/name": "x;touch /tmp/pwned"}),
        "name-semicolon": ("c_info.name", {"c_info/name": "x;reboot"}),
        "memory": ("b_info.max_memkb",
                   {"b_info/max_memkb": 32 << 20,
                    "b_info/target_memkb": 32 << 20}),
        "vcpus": ("b_info.max_vcpus",
                  {"b_info/max_vcpus": 4096,
                   "b_info/avail_vcpus": list(range(4096))}),
        "unknown": ("b_info.evil_knob", {"b_info/evil_knob": 1}),
        # Terminal escapes and a forged log line, in a key and a name.
        "key-escape": ("nics[0].m\\x1b]0;owned\\x07\\x0a",
                       {"nics": [nic(**{"m\x1b]0;owned\x07\n"
                                        "2026-01-01T00:00:00Z forged": 1})]}),
        "name-newline": ("c_info.name",
                         {"c_info/name": "x\n2026-01-01T00:00:00Z forged"}),
        "dup-key": ("on_crash", {"text": ('"on_reboot": "restart"',
                                          '"on_reboot": "restart", '
                                          '"on_crash": "destroy", '
                                          '"on_crash": "coredump-destroy"')}),
        # Not attacks of the policy: of its parser.
        "comment-bomb": ("config", {"raw": comment_bomb(1000000)}),
        "deep": ("config", {"raw": deep(100000)}),
    }


def make_config(name, attack=None, d="/nonexistent"):
    """The config text: base, then the attack's edits."""
    edits = attacks(d)[attack][1] if attack else {}
    if "raw" in edits:
        return edits["raw"]
    c = base_config(name, edits.get("type", "pvh"))
    for k, v in edits.items():
        if k not in ("type", "text"):
            _set(c, k, v)
    text = json.dumps(c)
    if "text" in edits:
        old, new = edits["text"]
        if old not in text:
            raise SystemExit("attack %s: %r not in the config" % (attack, old))
        text = text.replace(old, new, 1)
    return text


def save_header(config):
    """xl's saved-config header with config (tests/unit/test-proto.c)."""
    js = config.encode() + b"\0"
    opt = struct.pack("<I", len(js)) + js
    return (SAVE_MAGIC + struct.pack("<IIII", SAVE_BYTEORDER,
                                     FLAG_JSON | FLAG_STREAMV2, 0, len(opt))
            + opt)


def x_msg(mtype, body, length=None):
    if isinstance(body, str):
        body = body.encode()
    n = len(body) if length is None else length
    return X_MAGIC + struct.pack("<II", mtype, n) + body


def pf_request(config):
    return json.dumps({"source": "hostile", "xen_version": XEN_VERSION,
                       "featureset": "", "disks": [], "config": config})


def clean(s):
    """Text of the peer's, on one line of ours."""
    return "".join(c if " " <= c < "\x7f" else "\\x%02x" % ord(c)
                   for c in s)


# --- the hostile sender ---------------------------------------------------------


class Peer:
    """The receiver: its stdin, and its stdout read by a thread."""

    def __init__(self, argv, err):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=err)
        self.buf = b""
        self.eof = False
        self.cv = threading.Condition()
        self.t = threading.Thread(target=self._reader, daemon=True)
        self.t.start()
        self.hung_up = False

    def _reader(self):
        fd = self.p.stdout.fileno()
        while True:
            try:
                b = os.read(fd, 65536)
            except OSError:
                b = b""
            with self.cv:
                if not b:
                    self.eof = True
                else:
                    self.buf += b
                self.cv.notify_all()
            if not b:
                return

    def read(self, n, timeout=TIMEOUT):
        """n bytes, or None at EOF or after timeout."""
        end = time.monotonic() + timeout
        with self.cv:
            while len(self.buf) < n and not self.eof:
                left = end - time.monotonic()
                if left <= 0:
                    break
                self.cv.wait(left)
            if len(self.buf) < n:
                return None
            b, self.buf = self.buf[:n], self.buf[n:]
            return b

    def write(self, data):
        """False if the receiver no longer reads."""
        if self.hung_up:
            return False
        try:
            self.p.stdin.write(data)
            self.p.stdin.flush()
            return True
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.hung_up = True
            out("note receiver hung up (we had %d bytes to send)" % len(data))
            return False

    def x_read(self):
        """(type, body) of an xlmig/1 message, or None."""
        h = self.read(12)
        if h is None:
            return None
        if h[:4] != X_MAGIC:
            out("note not an xlmig/1 message: %s" % clean(h.decode("latin1")))
            return None
        t, n = struct.unpack("<II", h[4:])
        if n > X_BODY_MAX:
            out("note xlmig/1 body of %d bytes" % n)
            return None
        b = self.read(n)
        return None if b is None else (t, b.decode("utf-8", "replace"))

    def finish(self, timeout=TIMEOUT):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            out("note receiver still runs %d s after we closed: killed"
                % timeout)
            self.p.kill()
            rc = self.p.wait()
        self.t.join(5)
        with self.cv:
            rest = self.buf
        if rest:
            out("note receiver also sent %d bytes: %s" %
                (len(rest), clean(rest[:80].decode("latin1"))))
        out("exit %d" % rc)
        return rc


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def results(peer):
    """Reads RESULTS, prints each; the report, or None."""
    m = peer.x_read()
    if m is None:
        out("note no RESULTS")
        return None
    if m[0] != RESULTS:
        out("note got message type %d instead of RESULTS: %s" %
            (m[0], clean(m[1][:200])))
        return None
    rep = json.loads(m[1])
    for r in rep["results"]:
        out("result %s %s %s" % (r["id"], r["severity"], clean(r["message"])))
    return rep


def forcible(rep):
    """The ids of rep's errors that a sender may force (preflight.c)."""
    own = ("incoming-policy", "maintenance", "name-free", "uuid-free")
    return sorted({r["id"] for r in rep["results"]
                   if r["severity"] == "error" and r["id"] not in own and
                   not r["id"].startswith("script:")})


def sender(args):
    x1, attack, d, seq, err = False, None, "/nonexistent", None, None
    name = "hostile"
    while args and args[0] != "--":
        a = args.pop(0)
        if a == "--x1":
            x1 = True
        elif a == "--attack":
            attack = args.pop(0)
        elif a == "--dir":
            d = args.pop(0)
        elif a == "--seq":
            seq = args.pop(0)
            x1 = True
        elif a == "--err":
            err = args.pop(0)
        elif a == "--name":
            name = args.pop(0)
        else:
            raise SystemExit("sender: unknown option " + a)
    argv = args[1:]
    config = make_config(name, attack, d) if attack else None
    errf = open(err, "ab") if err else None
    peer = Peer(argv, errf)
    try:
        run_sender(peer, x1, seq, config, name, d)
    finally:
        rc = peer.finish()
        if errf:
            errf.close()
    return 0 if rc >= 0 else 1


def run_sender(peer, x1, seq, config, name, d):
    b = peer.read(len(BANNER))
    if b != BANNER:
        out("note no banner: %r" % b)
        return
    out("banner")
    if x1:
        m = peer.x_read()
        if m is None or m[0] != HELLO:
            out("note no HELLO: %r" % (m,))
            return
        out("hello " + clean(m[1]))
    if seq:
        return SEQS[seq](peer, config, name, d)
    if x1:
        if not peer.write(x_msg(PREFLIGHT, pf_request(config))):
            return
        rep = results(peer)
        if rep is None:
            return
        # A sender that goes on whatever the receiver said.
        if not peer.write(x_msg(PROCEED, ",".join(forcible(rep)))):
            return
    peer.write(save_header(config))


def seq_proceed_first(peer, config, name, d):
    peer.write(x_msg(PROCEED, ""))
    peer.write(save_header(make_config(name)))


def seq_preflight_twice(peer, config, name, d):
    req = x_msg(PREFLIGHT, pf_request(make_config(name)))
    peer.write(req)
    if results(peer) is not None:
        peer.write(req)
        results(peer)


def seq_force(ids):
    """PREFLIGHT the config (the attack's, or a clean one), PROCEED
    forcing ids and whatever a sender may force, then the header."""
    def run(peer, config, name, d):
        config = config or make_config(name)
        if not peer.write(x_msg(PREFLIGHT, pf_request(config))):
            return
        rep = results(peer)
        if rep is None:
            return
        if peer.write(x_msg(PROCEED, ",".join(ids + forcible(rep)))):
            peer.write(save_header(config))
    return run


def seq_switch(peer, config, name, d):
    """A clean config in PREFLIGHT, the attack's in the stream."""
    checked = make_config(name)
    if not peer.write(x_msg(PREFLIGHT, pf_request(checked))):
        return
    rep = results(peer)
    if rep is None:
        return
    if peer.write(x_msg(PROCEED, ",".join(forcible(rep)))):
        peer.write(save_header(config))


def seq_body(body):
    def run(peer, config, name, d):
        peer.write(x_msg(PREFLIGHT, body))
        results(peer)
    return run


def seq_big(peer, config, name, d):
    """A PREFLIGHT of 5 MB: over the 4 MiB cap."""
    n = 5 << 20
    if peer.write(x_msg(PREFLIGHT, b"", length=n)):
        peer.write(b"{" + b" " * (n - 2) + b"}")
    results(peer)


def seq_unknown(peer, config, name, d):
    peer.write(x_msg(77, "{}"))
    results(peer)


def seq_stream_first(peer, config, name, d):
    peer.write(x_msg(STREAM, '{"data": "ssh", "port": 0, "codec": "none", '
                     '"encrypt": false}'))
    results(peer)


SEQS = {
    "proceed-first": seq_proceed_first,
    "preflight-twice": seq_preflight_twice,
    "force-policy": seq_force(["incoming-policy"]),
    "force-maintenance": seq_force(["maintenance"]),
    "switch-config": seq_switch,
    "comment-bomb": seq_body(comment_bomb(1500000)),
    "deep": seq_body(deep(100000)),
    "config-bomb": seq_body(pf_request(comment_bomb(1000000))),
    "config-deep": seq_body(pf_request(deep(100000))),
    "big": seq_big,
    "unknown-type": seq_unknown,
    "stream-first": seq_stream_first,
}


# --- the hostile receiver -------------------------------------------------------


def rd(n):
    """n bytes of stdin, or exit quietly at EOF (the sender hung up)."""
    b = b""
    while len(b) < n:
        try:
            c = os.read(0, n - len(b))
        except OSError:
            c = b""
        if not c:
            log("sender hung up")
            sys.exit(0)
        b += c
    return b


def wr(data):
    try:
        _wr_all(data)
    except (BrokenPipeError, OSError):
        log("sender hung up")
        sys.exit(0)


def _wr_all(data):
    v = memoryview(data)
    while v:
        n = os.write(1, v)
        v = v[n:]


def log(msg):
    sys.stderr.write("hostile receiver: %s\n" % msg)
    sys.stderr.flush()


def r_x():
    h = rd(12)
    if h[:4] != X_MAGIC:
        log("not an xlmig/1 message: %r" % h)
        sys.exit(0)
    t, n = struct.unpack("<II", h[4:])
    return t, rd(n).decode()


def r_x_send(t, body):
    wr(x_msg(t, body))


def hello(caps=('"stream"',)):
    return '{"xlmig": 1, "version": "hostile", "caps": [%s]}' % ", ".join(caps)


ESCAPES = ("\x1b[31mred\x1b[0m \x1b]0;owned\x07 \x1b[2J\x1b[H"
           "\u009b31m csi \r\nforged: line")


def r_results(extra=()):
    res = [{"id": "xen-version", "severity": "info",
            "message": "this host runs Xen " + XEN_VERSION, "remedy": ""}]
    res.extend(extra)
    return json.dumps({"results": res})


def r_stream(bomb_at=None, bomb=None):
    """Reads the framed stream to its END, discarding it; sends bomb (a
    PROGRESS body) after frame bomb_at."""
    n = 0
    total = 0
    while True:
        h = rd(FRAME_HDR_LEN)
        if h[:4] != FRAME_MAGIC:
            log("not a frame: %r" % h[:8])
            sys.exit(0)
        ftype, _, _, raw, wire = struct.unpack("<IIIII", h[4:24])
        left = wire + FRAME_TAG_LEN
        while left:
            left -= len(rd(min(left, 1 << 16)))
        total += raw
        n += 1
        if bomb is not None and n == bomb_at:
            log("PROGRESS bomb after frame %d" % n)
            r_x_send(PROGRESS, bomb)
        if ftype == FRAME_END:
            return n, total


MODES = ("hello-bomb", "hello-deep", "results-bomb", "results-deep",
         "results-escapes", "progress-bomb", "progress-deep", "hand-back")


def receiver(mode):
    if mode not in MODES:
        log("unknown mode " + mode)
        return 2
    wr(BANNER)
    if mode == "hello-bomb":
        r_x_send(HELLO, comment_bomb(1500000))
        return r_drain()
    if mode == "hello-deep":
        # Under HELLO's 64 KiB: the depth limit, not the size, refuses it.
        r_x_send(HELLO, deep(20000))
        return r_drain()
    r_x_send(HELLO, hello())
    t, body = r_x()
    if t != PREFLIGHT:
        log("expected PREFLIGHT, got %d" % t)
        return 0
    if mode == "results-bomb":
        r_x_send(RESULTS, comment_bomb(1500000))
        return r_drain()
    if mode == "results-deep":
        r_x_send(RESULTS, '{"results": %s}' % deep(100000))
        return r_drain()
    if mode == "results-escapes":
        r_x_send(RESULTS, r_results([
            {"id": "memory", "severity": "error", "message": ESCAPES,
             "remedy": "\x1b[5mblink\x1b[0m"}]))
        return r_drain()
    r_x_send(RESULTS, r_results())
    t, body = r_x()
    if t != STREAM:
        log("expected STREAM, got %d" % t)
        return 0
    keys = os.urandom(KEYS_HEX_LEN // 2).hex()
    r_x_send(STREAM_OK, json.dumps({"keys": keys}))
    t, body = r_x()
    if t != PROCEED:
        log("expected PROCEED, got %d" % t)
        return 0
    h = rd(48)
    if h[:32] != SAVE_MAGIC:
        log("no saved-config header")
        return 0
    rd(struct.unpack("<I", h[44:48])[0])
    if mode == "progress-bomb":
        r_stream(2, comment_bomb(1500000))
        return r_drain()
    if mode == "progress-deep":
        r_stream(2, '{"bytes": %s}' % deep(10000))
        return r_drain()
    if mode == "hand-back":
        n, total = r_stream()
        log("stream of %d frames, %d bytes" % (n, total))
        r_x_send(PROGRESS, json.dumps({"bytes": total, "wire_bytes": total,
                                       "pages": total // 4096,
                                       "done": True}))
        wr(READY)
        if rd(len(GO)) != GO:
            log("no GO")
            return 0
        log("GO: handing the domain back")
        r_x_send(RESULT, '{"ok": false, "since_unpause_s": 0, '
                 '"restore_s": 0}')
        wr(REPORT + b"\x01" + GO)
    return r_drain()


def r_drain():
    """Reads and discards until the sender hangs up."""
    while True:
        try:
            if not os.read(0, 65536):
                return 0
        except OSError:
            return 0


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "sender":
        return sender(args)
    if cmd == "receiver":
        return receiver(args[0])
    if cmd == "config":
        with open(args[0], "w") as f:
            f.write(make_config(args[1], args[2] if len(args) > 2 else None,
                                args[3] if len(args) > 3 else "/nonexistent"))
        return 0
    if cmd == "field":      # ATTACK: the field its refusal names
        print(attacks("/d")[args[0]][0])
        return 0
    raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    sys.exit(main())
