#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# t-93-xl-runes.sh - xlmig in place of xl, called as the managers call xl:
# - Ganeti: `xl` found in PATH (a directory holding only a link xl ->
#   xlmig, as make install's xl-path), `socat ... SYSTEM:'xl
#   migrate-receive'` listening on B, `xl migrate -s "socat ... #" -C FILE
#   INST IP` on A;
# - OpenNebula: /usr/sbin/xl is xlmig (a link on an overlay of /usr/sbin);
#   as oneadmin, `sudo /usr/sbin/xl migrate -s "su - oneadmin -c 'ssh DST
#   sudo /usr/sbin/xl migrate-receive'" DOMID DST`, oneadmin and its sudo
#   rule in an overlay of /etc;
# - pass-through: what xlmig does not run reaches xl (XLMIG_XL, a fake
#   that records its arguments) unchanged; xl list and xl list -l are xl's.
# The case runs in a private mount namespace (it re-executes itself under
# unshare before anything else), with the overlays' upper directories on a
# tmpfs in IT_DIR: the sshds it starts see them, the machine never does.
# Differences from the real managers: the -C file is the guest's libxl JSON
# (the sim backend reads no xl.cfg; Ganeti writes xl.cfg, which the libxl
# backend converts with the real xl), sudo keeps XLMIG_* (the sim host's
# environment), and the build tree's libxlmig is found through an
# ld.so.cache of the overlaid /etc.
if [ "$(id -u)" = 0 ] && [ -z "${T93_MOUNT_NS:-}" ] &&
	unshare --mount true 2>/dev/null; then
	T93_MOUNT_NS=1 exec unshare --mount --propagation private -- \
		"$BASH" "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sim.sh"
it_begin t-93-xl-runes 60
[ "$(id -u)" = 0 ] || it_skip "needs root (network and mount namespaces)"
[ "${T93_MOUNT_NS:-}" = 1 ] || it_skip "no mount namespace (unshare --mount)"
for tool in sudo su socat; do
	command -v "$tool" >/dev/null ||
		it_fail "$tool not found (scripts/install-deps installs it)"
done

# The real binary, not libtool's wrapper script: invoked through a link
# named xl, it must see argv[0] "xl" and know itself by inode.
XLMIG_BIN=$IT_BUILDDIR/tools/.libs/xlmig
[ -x "$XLMIG_BIN" ] || XLMIG_BIN=$IT_BUILDDIR/tools/xlmig
B_IP=$(it_ip B)
ONE_UID=9869            # OpenNebula's usual oneadmin

# --- the overlays, before it_setup starts the sshds -------------------------
ovl=$IT_DIR/ovl
mkdir -p "$ovl"
mount -t tmpfs t93-ovl "$ovl"
it_on_teardown "umount -l /usr/sbin /etc '$ovl'"
mkdir -p "$ovl/sbin/up" "$ovl/sbin/work" "$ovl/etc/up" "$ovl/etc/work"
mount -t overlay t93-sbin -o "lowerdir=/usr/sbin,upperdir=$ovl/sbin/up,workdir=$ovl/sbin/work" /usr/sbin
mount -t overlay t93-etc -o "lowerdir=/etc,upperdir=$ovl/etc/up,workdir=$ovl/etc/work" /etc
ln -sfn "$XLMIG_BIN" /usr/sbin/xl     # a real xl stays below, unseen here
echo "$IT_BUILDDIR/libxlmig/.libs" >/etc/ld.so.conf.d/t93-xlmig.conf
ldconfig -X             # the cache in the overlay; no links made anywhere
# OpenNebula's user, and the sudo rule its drivers need.
chmod 0711 "$IT_DIR"
one_home=$IT_DIR/oneadmin
echo "oneadmin:x:$ONE_UID:$ONE_UID:OpenNebula:$one_home:/bin/bash" >>/etc/passwd
echo "oneadmin:x:$ONE_UID:" >>/etc/group
echo "oneadmin:*:19000:0:99999:7:::" >>/etc/shadow
cat >/etc/sudoers.d/t93-opennebula <<EOF
Defaults:oneadmin !requiretty
Defaults:oneadmin env_keep += "XLMIG_*"
oneadmin ALL=(ALL) NOPASSWD: /usr/sbin/xl
EOF
chmod 0440 /etc/sudoers.d/t93-opennebula
# The PATH directory of make install (pkglibexecdir/xl-path).
mkdir -p "$IT_DIR/xl-path"
ln -s "$XLMIG_BIN" "$IT_DIR/xl-path/xl"
XL_PATH=$IT_DIR/xl-path:$PATH
# The real xl, as far as pass-through is concerned.
cat >"$IT_DIR/fake-xl" <<EOF
#!/bin/sh
printf '%s|' "\$@" >>'$IT_DIR/fake-xl.log'
echo >>'$IT_DIR/fake-xl.log'
EOF
chmod 0755 "$IT_DIR/fake-xl"
: >"$IT_DIR/fake-xl.log"

it_setup 2

# oneadmin's ssh: its own copy of the run's key and client settings.
mkdir -p "$one_home/.ssh"
cp "$IT_DIR/id_ed25519" "$one_home/.ssh/id_ed25519"
cp "$IT_DIR/known_hosts" "$one_home/.ssh/known_hosts"
sed -e 's/^\tUser root$/\tUser oneadmin/' \
	-e "s|^\tIdentityFile .*|\tIdentityFile $one_home/.ssh/id_ed25519|" \
	-e "s|^\tUserKnownHostsFile .*|\tUserKnownHostsFile $one_home/.ssh/known_hosts|" \
	"$IT_SSHCFG" >"$one_home/.ssh/config"
chown -R "$ONE_UID:$ONE_UID" "$one_home"
chmod 0700 "$one_home/.ssh"
chmod 0600 "$one_home/.ssh/id_ed25519" "$one_home/.ssh/config"

# --- pass-through and xl list's formats ---------------------------------------
XLMIG_XL=$IT_DIR/fake-xl it_on A xlmig -v frobnicate a 'b c' ||
	it_fail "xlmig frobnicate: not handed to xl"
PATH=$XL_PATH XLMIG_XL=$IT_DIR/fake-xl it_on A xl -N destroy 5
PATH=$XL_PATH XLMIG_XL=$IT_DIR/fake-xl it_on A xl list -v
want=$(printf '%s\n' '-v|frobnicate|a|b c|' '-N|destroy|5|' 'list|-v|')
[ "$(cat "$IT_DIR/fake-xl.log")" = "$want" ] ||
	it_fail "xl got: $(tr '\n' ';' <"$IT_DIR/fake-xl.log")"
rc=0
XLMIG_XL=$IT_DIR/nowhere it_on A xlmig frobnicate 2>"$IT_DIR/nox.err" || rc=$?
if [ "$rc" != 2 ] || ! grep -q "unknown command 'frobnicate' (not an xlmig command, and xl is not installed" "$IT_DIR/nox.err"; then
	it_fail "without xl: status $rc, $(cat "$IT_DIR/nox.err")"
fi
: >"$IT_DIR/fake-xl.log"

it_on A xlmig sim-create --memory 64 --rate 1000 inst1 >/dev/null
it_on A xlmig sim-create --memory 64 --rate 1000 one-7 >/dev/null
sim_wait_counter A inst1 3 10 >/dev/null
PATH=$XL_PATH it_on A xl list >"$IT_DIR/list.out"
[ "$(head -n 1 "$IT_DIR/list.out")" = "$(printf 'Name                                        ID   Mem VCPUs\tState\tTime(s)')" ] ||
	it_fail "xl list's header: $(head -n 1 "$IT_DIR/list.out")"
grep -Eq '^inst1 {35} +[0-9]+ +64 +1     r-----  +0\.0$' "$IT_DIR/list.out" ||
	it_fail "xl list's row: $(grep inst1 "$IT_DIR/list.out")"
PATH=$XL_PATH it_on A xl list -l >"$IT_DIR/list-l.out"
python3 - "$IT_DIR/list-l.out" <<'EOF' || it_fail "xl list -l: $(head -c 300 "$IT_DIR/list-l.out")"
import json, sys
text = open(sys.argv[1]).read()
doms = json.loads(text)
assert text.endswith("\n]\n\n"), "not xl's ending"
names = sorted(d["config"]["c_info"]["name"] for d in doms)
assert names == ["inst1", "one-7"], names
assert all(isinstance(d["domid"], int) for d in doms)
EOF

# --- Ganeti -------------------------------------------------------------------
# Its -C file, /etc/xen/INST there: the guest's config as xl list -l has it.
mkdir -p "$IT_DIR/ganeti"
python3 -c 'import json, sys
for d in json.load(open(sys.argv[1])):
    if d["config"]["c_info"]["name"] == "inst1":
        json.dump(d["config"], open(sys.argv[2], "w"), indent=4)' \
	"$IT_DIR/list-l.out" "$IT_DIR/ganeti/inst1"
port=8102
PATH=$XL_PATH XLMIG_XL=$IT_DIR/fake-xl it_on B timeout 30 \
	socat -b524288 "TCP-LISTEN:$port,bind=$B_IP,reuseaddr" \
	SYSTEM:'xl migrate-receive' >"$IT_DIR/ganeti/recv.out" 2>&1 &
socat_pid=$!
_t93_listening() {
	ip netns exec "$(it_ns B)" ss -Hltn "sport = :$port" | grep -q .
}
it_wait_until 10 "socat on B to listen" _t93_listening
PATH=$XL_PATH XLMIG_XL=$IT_DIR/fake-xl it_on A xl migrate \
	-s "socat -b524288 - TCP:$B_IP:$port #" -C "$IT_DIR/ganeti/inst1" \
	inst1 "$B_IP" >"$IT_DIR/ganeti/send.out" 2>&1 ||
	it_fail "Ganeti's xl migrate: $(tail -n 3 "$IT_DIR/ganeti/send.out")"
wait "$socat_pid" || it_fail "socat on B: $(tail -n 3 "$IT_DIR/ganeti/recv.out")"
it_log "Ganeti: $(tail -n 1 "$IT_DIR/ganeti/send.out")"
# xl's rune to the letter: the receiver's words after the comment.
sed 's/^\[ *[0-9.]*s\] //' "$IT_DIR/ganeti/send.out" |
	grep -qxF "connect: exec socat -b524288 - TCP:$B_IP:$port # $B_IP xl migrate-receive" ||
	it_fail "not xl's rune: $(grep connect: "$IT_DIR/ganeti/send.out")"
sim_expect_only B inst1
[ ! -s "$IT_DIR/fake-xl.log" ] ||
	it_fail "handed to xl: $(tr '\n' ';' <"$IT_DIR/fake-xl.log")"

# --- OpenNebula ---------------------------------------------------------------
domid=$(PATH=$XL_PATH it_on A xl list | awk '$1 == "one-7" { print $2 }')
[ -n "$domid" ] || it_fail "no domid for one-7"
rune="sudo /usr/sbin/xl migrate -s \"su - oneadmin -c 'ssh $B_IP sudo /usr/sbin/xl migrate-receive'\" $domid $B_IP"
it_log "as oneadmin on A: $rune"
it_on A su oneadmin -s /bin/bash -c "$rune" >"$IT_DIR/one.out" 2>&1 ||
	it_fail "OpenNebula's rune: $(tail -n 3 "$IT_DIR/one.out")"
it_log "OpenNebula: $(tail -n 1 "$IT_DIR/one.out")"
grep -qF "connect: exec su - oneadmin -c 'ssh $B_IP sudo /usr/sbin/xl migrate-receive' $B_IP xl migrate-receive" \
	"$IT_DIR/one.out" || it_fail "not xl's rune: $(grep connect: "$IT_DIR/one.out")"
grep -q "Accepted publickey for oneadmin from $(it_ip A)" "$IT_DIR/B/sshd.log" ||
	it_fail "B's sshd saw no oneadmin"
sim_expect_only B one-7
sim_expect_only B inst1
sim_expect_no_domains A
