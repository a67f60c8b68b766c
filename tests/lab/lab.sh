# shellcheck shell=bash
# lab.sh - bash library of the xlmig Xen lab: two Xen 4.17 hosts (A and B)
# under QEMU/TCG, linked by an emulated Ethernet over loopback.
#
# Sourced by run-lab.sh and by the test scripts (t-*.sh).  All per-run
# state lives in the directory $LAB_RUN_DIR (made by lab_run_init):
#   images.env                 paths of the cached images (from mkimages.sh)
#   A/, B/                     one per host: qemu.pid, monitor.sock,
#                              serial.sock, console.log, qemu.err and
#                              share/ (9p, /share in that dom0)
#   A/share/jobs/              jobs run by the dom0's lab agent (ID.sh,
#                              ID.out, ID.rc; see dom0/lab-agent)
#   shared.img                 one raw disk attached to both hosts (a
#                              virtio-blk disk, serial xlmig-shared; see
#                              lab_shared_disk)
#   logs/                      collected logs (consoles, /var/log/xen, tests)
# Host A is 192.0.2.1, host B 192.0.2.2 (documentation range, only on the
# emulated link).  Every wait has a deadline.
#
# Public functions (see each one's comment):
#   lab_run_init, lab_run_cleanup, lab_up, lab_down, lab_log, lab_fail,
#   lab_sh, lab_bg, lab_wait, lab_bg_output, lab_wait_output, lab_ip,
#   lab_reset, lab_domains, lab_domain_exists, lab_domid, lab_guest_cfg,
#   lab_guest_create, lab_counter, lab_guest_boot, lab_wait_counter,
#   lab_timed, lab_shared_disk, lab_dirty_cmdline, lab_gap_now, lab_gap,
#   lab_gap_noise, lab_sync_clocks
#
# Tunables (environment): LAB_BOOT_TIMEOUT (180 s), LAB_SH_TIMEOUT (120 s),
# LAB_AGENT_TIMEOUT (30 s), LAB_QEMU_MEM (2048 MB), LAB_DOM0_MEM (1024 MB),
# LAB_GUEST_MEM (128 MB), LAB_SHARED_DISK_MB (256; 0: no shared disk),
# LAB_DEBS (a directory of xlmig's .debs, make deb; installed with dpkg -i),
# LAB_INSTALL_TREE (a make install DESTDIR tree instead), and LAB_QEMU_CPU
# (max,-xsave,-avx,-avx2: with AVX/XSAVE state exposed, memcpy results in
# the dom0s were randomly corrupted under TCG; see README).

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_HOSTS="A B"
: "${LAB_BOOT_TIMEOUT:=180}" "${LAB_SH_TIMEOUT:=120}" "${LAB_AGENT_TIMEOUT:=30}"
: "${LAB_QEMU_CPU:=max,-xsave,-avx,-avx2}" "${LAB_QEMU_MEM:=2048}" "${LAB_DOM0_MEM:=1024}" "${LAB_GUEST_MEM:=128}"
: "${LAB_SHARED_DISK_MB:=256}"
: "${LAB_T0_US:=${EPOCHREALTIME/./}}"
export LAB_T0_US

# lab_log MSG...: print MSG on stderr, prefixed with the seconds elapsed
# since the run started.
lab_log() {
	local us=$((${EPOCHREALTIME/./} - LAB_T0_US))
	printf '[%4d.%ds] %s\n' $((us / 1000000)) $((us / 100000 % 10)) "$*" >&2
}

# lab_fail REASON...: end the current test with REASON (run-lab.sh prints
# it in the FAIL line).
lab_fail() {
	_lab_note_reason "$*"
	lab_log "FAILED: $*"
	exit 1
}

_lab_note_reason() {
	local f=${LAB_RUN_DIR:-}/test.reason
	if [ -n "${LAB_RUN_DIR:-}" ] && [ ! -s "$f" ]; then
		printf '%s\n' "$*" >"$f"
	fi
}

# _lab_die MSG: log an error (remembered as the last error of the test)
# and return 1.
_lab_die() {
	lab_log "error: $*"
	if [ -n "${LAB_RUN_DIR:-}" ] && [ -d "$LAB_RUN_DIR" ]; then
		printf '%s\n' "$*" >"$LAB_RUN_DIR/test.lasterror"
	fi
	return 1
}

# ERR trap of the test scripts (run-lab.sh runs them with errtrace): note
# as the reason the test file's line that failed (the innermost frame of
# $LAB_TEST_FILE), unless lab_fail gave one, plus the last lab.sh error.
_lab_err_trap() {
	local status=$1 i line=${BASH_LINENO[0]} text why
	for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
		if [ "${BASH_SOURCE[i]}" = "${LAB_TEST_FILE:-}" ]; then
			line=${BASH_LINENO[i - 1]}
			break
		fi
	done
	text=$(sed -n "${line}{s/^[[:space:]]*//;p}" "${LAB_TEST_FILE:-/dev/null}" 2>/dev/null) || text=
	why="line $line: ${text:-$BASH_COMMAND} (status $status)"
	if [ -s "$LAB_RUN_DIR/test.lasterror" ]; then
		why="$why; last lab error: $(cat "$LAB_RUN_DIR/test.lasterror")"
	fi
	_lab_note_reason "$why"
}

_lab_check_host() {
	case ${1:-} in
	A | B) return 0 ;;
	*) _lab_die "unknown lab host '${1:-}' (use A or B)" ;;
	esac
}

# lab_ip HOST: the address of HOST's dom0 on the lab link.
lab_ip() {
	case $1 in
	A) echo 192.0.2.1 ;;
	B) echo 192.0.2.2 ;;
	*) _lab_die "unknown lab host '$1'" ;;
	esac
}

_lab_hdir() { printf '%s/%s\n' "$LAB_RUN_DIR" "$1"; }
_lab_console() { printf '%s/%s/console.log\n' "$LAB_RUN_DIR" "$1"; }

# --- run directory ----------------------------------------------------------

# lab_run_init: make a fresh run directory and export LAB_RUN_DIR.
lab_run_init() {
	LAB_RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/xlmig-lab.XXXXXX")
	export LAB_RUN_DIR
	mkdir -p "$LAB_RUN_DIR/logs"
}

# lab_run_cleanup [FAILED]: after lab_down.  With FAILED=1 copy the logs to
# ${XLMIG_LAB_LOGDIR:-$PWD/lab-logs}/<run>.  Remove the run directory
# unless XLMIG_LAB_KEEP=1.
lab_run_cleanup() {
	local failed=${1:-0} dest
	[ -n "${LAB_RUN_DIR:-}" ] && [ -d "$LAB_RUN_DIR" ] || return 0
	if [ "$failed" = 1 ]; then
		dest=${XLMIG_LAB_LOGDIR:-$PWD/lab-logs}/$(basename "$LAB_RUN_DIR")
		mkdir -p "$dest"
		cp -a "$LAB_RUN_DIR/logs/." "$dest/" 2>/dev/null || true
		lab_log "logs of the failed run copied to $dest"
	fi
	if [ "${XLMIG_LAB_KEEP:-0}" = 1 ]; then
		lab_log "XLMIG_LAB_KEEP=1: run directory kept in $LAB_RUN_DIR"
	else
		rm -rf "$LAB_RUN_DIR"
	fi
}

# --- QEMU hosts ---------------------------------------------------------------

_lab_load_images() {
	local env=$LAB_RUN_DIR/images.env
	[ -f "$env" ] || _lab_die "no $env: run mkimages.sh --env-out $env" || return
	# shellcheck source=/dev/null
	. "$env"
	case "$LAB_XEN_ELF$LAB_KERNEL$LAB_DOM0_CPIO" in
	*,* | *' '*) _lab_die "image paths must not contain commas or spaces (QEMU -initrd)" ;;
	esac
}

# A free TCP port on 127.0.0.1 (nothing listening or connected on it).
_lab_free_port() {
	local port
	for _ in $(seq 1 50); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		# (no "| grep -q": under pipefail an early exit fails ss)
		if [ -z "$(ss -Htan "( sport = :$port or dport = :$port )")" ]; then
			echo "$port"
			return 0
		fi
	done
	_lab_die "no free TCP port found"
}

_lab_port_listening() {
	[ -n "$(ss -Htln "sport = :$1")" ]
}

# _lab_shared_disk_args: the QEMU options of the shared disk, if any: the
# same raw file in both QEMUs, cache=none (O_DIRECT on this machine's
# side, no flush dropped), share-rw=on so that QEMU's image locking lets
# the second QEMU open it for writing too (the image stays locked against
# any other writer).  dom0 sees it once virtio_blk is loaded.
_lab_shared_disk_args() {
	local img=$LAB_RUN_DIR/shared.img
	[ -f "$img" ] || return 0
	printf '%s\n' -drive "file=$img,if=none,id=shd0,format=raw,cache=none" \
		-device "virtio-blk-pci,drive=shd0,share-rw=on,serial=xlmig-shared"
}

# _lab_start_qemu HOST NETDEV_OPTS: start HOST's QEMU, daemonized.
_lab_start_qemu() {
	local h=$1 net=$2 d n ip disk
	d=$(_lab_hdir "$h")
	case $h in A) n=1 ;; B) n=2 ;; esac
	ip=$(lab_ip "$h")
	mapfile -t disk < <(_lab_shared_disk_args)
	qemu-system-x86_64 -name "xlmig-lab-$h" -accel tcg -cpu "$LAB_QEMU_CPU" -smp 1 \
		-m "$LAB_QEMU_MEM" -display none -no-reboot \
		-chardev "socket,id=ser0,path=$d/serial.sock,server=on,wait=off,logfile=$d/console.log" \
		-serial chardev:ser0 -monitor "unix:$d/monitor.sock,server=on,wait=off" \
		-netdev "socket,id=n0,$net" \
		-device "e1000,netdev=n0,mac=52:54:00:12:34:0$n" \
		-virtfs "local,path=$d/share,mount_tag=share,security_model=none,id=fs0" \
		"${disk[@]}" \
		-kernel "$LAB_XEN_ELF" \
		-append "console=com1 com1=115200 dom0_mem=${LAB_DOM0_MEM}M,max:${LAB_DOM0_MEM}M dom0_max_vcpus=1 smap=0 smep=0 pcid=0" \
		-initrd "$LAB_KERNEL console=hvc0 lab.ip=$ip/24 lab.host=$h,$LAB_DOM0_CPIO" \
		-pidfile "$d/qemu.pid" -daemonize 2>"$d/qemu.err"
}

_lab_qemu_pid() {
	local f pid
	f=$(_lab_hdir "$1")/qemu.pid
	[ -s "$f" ] || return 1
	pid=$(cat "$f")
	# Guard against a recycled PID: it must be our QEMU for this run.
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$LAB_RUN_DIR/$1/" || return 1
	echo "$pid"
}

_lab_qemu_alive() { _lab_qemu_pid "$1" >/dev/null; }

# Start A listening on a free port (retrying if another process takes the
# port first), then B connected to it.
_lab_start_hosts() {
	local port try
	for try in 1 2 3 4 5; do
		port=$(_lab_free_port) || return
		if _lab_start_qemu A "listen=127.0.0.1:$port"; then break; fi
		if ! grep -q 'in use' "$(_lab_hdir A)/qemu.err"; then
			_lab_die "QEMU of host A did not start: $(cat "$(_lab_hdir A)/qemu.err")"
			return
		fi
		lab_log "port $port was taken, retrying ($try)"
		port=
	done
	[ -n "$port" ] || _lab_die "could not start host A on a free port" || return
	_lab_wait_until 10 "host A listening on 127.0.0.1:$port" _lab_port_listening "$port" || return
	_lab_start_qemu B "connect=127.0.0.1:$port" ||
		_lab_die "QEMU of host B did not start: $(cat "$(_lab_hdir B)/qemu.err")" || return
	lab_log "QEMUs started: A pid $(_lab_qemu_pid A), B pid $(_lab_qemu_pid B), link port $port"
}

# _lab_wait_until SECONDS WHAT CMD...: retry CMD every 0.2 s.
_lab_wait_until() {
	local limit=$((SECONDS + $1)) what=$2
	shift 2
	until "$@"; do
		if [ "$SECONDS" -ge "$limit" ]; then
			_lab_die "timed out after ${limit}s waiting for $what"
			return 1
		fi
		sleep 0.2
	done
}

# Show the end of HOST's console (boot failures, for the CI output).
_lab_console_tail() {
	printf '%s\n' "--- last lines of host $1's console:" >&2
	tail -n 15 "$(_lab_console "$1")" 2>/dev/null | tr -d '\r' | sed 's/^/    /' >&2
}

# Wait for the ready markers of both dom0s.
_lab_wait_ready() {
	local limit=$((SECONDS + LAB_BOOT_TIMEOUT)) h pending=$LAB_HOSTS next con
	while [ -n "$pending" ]; do
		next=
		for h in $pending; do
			con=$(_lab_console "$h")
			if grep -qa 'XLMIG-LAB-FAILED' "$con" 2>/dev/null; then
				_lab_console_tail "$h"
				_lab_die "host $h failed to boot: $(grep -a 'XLMIG-LAB-FAILED' "$con" | head -n1 | tr -d '\r'); console log: $con"
				return 1
			elif grep -qa "XLMIG-LAB-READY host=$h" "$con" 2>/dev/null; then
				: >"$(_lab_hdir "$h")/ready"
				lab_log "host $h: dom0 ready"
			elif ! _lab_qemu_alive "$h"; then
				_lab_console_tail "$h"
				_lab_die "QEMU of host $h exited during boot; console log: $con"
				return 1
			else
				next="$next $h"
			fi
		done
		pending=${next# }
		[ -z "$pending" ] && break
		if [ "$SECONDS" -ge "$limit" ]; then
			for h in $pending; do
				_lab_console_tail "$h"
				_lab_die "host $h did not reach its dom0 shell within ${LAB_BOOT_TIMEOUT} s; console log: $(_lab_console "$h")"
			done
			return 1
		fi
		sleep 0.5
	done
}

# The packages a dom0 gets from LAB_DEBS: all but the -dev package (no
# compiler in the dom0) and xlmig-sim (simulated hosts, not used on real
# Xen). Prints their paths.
_lab_debs() {
	local d
	[ -d "$LAB_DEBS" ] || _lab_die "LAB_DEBS=$LAB_DEBS is not a directory" || return
	[ -n "$(find "$LAB_DEBS" -maxdepth 1 -name 'xlmig_*.deb')" ] ||
		_lab_die "LAB_DEBS=$LAB_DEBS has no xlmig_*.deb (make deb)" || return
	for d in "$LAB_DEBS"/*.deb; do
		case ${d##*/} in *-dev_* | xlmig-sim_*) continue ;; esac
		printf '%s\n' "$d"
	done
}

_lab_prepare_shares() {
	local h share debs
	[ -z "${LAB_DEBS:-}" ] || [ -z "${LAB_INSTALL_TREE:-}" ] ||
		_lab_die "LAB_DEBS and LAB_INSTALL_TREE are both set: give one" || return
	if [ -n "${LAB_DEBS:-}" ]; then
		debs=$(_lab_debs) || return
	fi
	for h in $LAB_HOSTS; do
		share=$(_lab_hdir "$h")/share
		mkdir -p "$share/jobs/new" "$share/logs"
		if [ -n "${LAB_DEBS:-}" ]; then
			mkdir -p "$share/debs"
			# shellcheck disable=SC2086 # one path a line, no blanks (make deb)
			cp $debs "$share/debs/" ||
				_lab_die "cannot copy the packages of $LAB_DEBS into $share/debs" || return
		fi
		if [ -n "${LAB_INSTALL_TREE:-}" ]; then
			[ -d "$LAB_INSTALL_TREE" ] ||
				_lab_die "LAB_INSTALL_TREE=$LAB_INSTALL_TREE is not a directory" || return
			mkdir -p "$share/install"
			cp -a "$LAB_INSTALL_TREE/." "$share/install/"
		fi
	done
}

# The tree is unpacked as a package would be on the usrmerged dom0 (its
# lib/systemd/... goes through the /lib symlink; cp -a refuses that).  It
# arrives after the dom0's /init ran: its services start then, through
# their init scripts, as /init would have started them at boot (dom0/init
# start_installed_services).
_lab_install_tree() {
	local h out
	[ -n "${LAB_INSTALL_TREE:-}" ] || return 0
	for h in $LAB_HOSTS; do
		out=$(lab_sh "$h" 'tar -C /share/install -cf - . |
	tar -C / -xpf - --keep-directory-symlink --no-overwrite-dir && ldconfig || exit
[ ! -x /etc/init.d/xlmig-hookd ] || /etc/init.d/xlmig-hookd start' 120) ||
			_lab_die "installing LAB_INSTALL_TREE into dom0 $h failed: $out" || return
	done
	lab_log "installed $LAB_INSTALL_TREE into both dom0s (services started)"
}

# The packages are installed as an admin would (dpkg -i; their Depends are
# in the dom0 image, mkimages.sh DOM0_PACKAGES). They enable and start
# nothing (debian/README.Debian): xlmig-hookd is started here through its
# init script, as dom0/init start_installed_services does at boot.
_lab_install_debs() {
	local h out
	[ -n "${LAB_DEBS:-}" ] || return 0
	for h in $LAB_HOSTS; do
		# shellcheck disable=SC2016 # expanded in dom0
		out=$(lab_sh "$h" 'dpkg -i /share/debs/*.deb >/share/logs/dpkg-i.log 2>&1 ||
	{ tail -n 5 /share/logs/dpkg-i.log; exit 1; }
dpkg-query -W -f "\${Package} \${Version}\n" xlmig libxlmig0 xlmig-hookd | tr "\n" " "
/etc/init.d/xlmig-hookd start >/dev/null' 180) ||
			_lab_die "installing the packages of $LAB_DEBS into dom0 $h failed: $out" || return
	done
	lab_log "installed $out into both dom0s (xlmig-hookd started)"
}

# Each dom0 must reach the other over ssh, with /usr/local on PATH (where a
# LAB_INSTALL_TREE of a default configure puts xlmig; the packages' is
# /usr/bin).
_lab_check_ssh() {
	local out
	out=$(lab_sh A "ssh $(lab_ip B) 'echo \$PATH'" 60) ||
		_lab_die "A cannot ssh to B: $out" || return
	case ":$out:" in *:/usr/local/bin:*) ;; *)
		_lab_die "ssh sessions on B lack /usr/local/bin on PATH ($out)"
		return
		;;
	esac
	out=$(lab_sh B "ssh $(lab_ip A) true" 60) ||
		_lab_die "B cannot ssh to A: $out" || return
}

# lab_up: boot host A and B in parallel, wait for both dom0s, check the
# agents and ssh both ways, install LAB_DEBS or LAB_INSTALL_TREE (if set)
# into both.
# The guest kernel and initramfs are /var/lib/xen/boot/lab-{vmlinuz,domu.cpio},
# the config template /root/guest/domu.cfg.in.
lab_up() {
	local t0=$SECONDS h
	[ -n "${LAB_RUN_DIR:-}" ] || _lab_die "lab_up: LAB_RUN_DIR is not set (lab_run_init)" || return
	_lab_load_images || return
	for h in $LAB_HOSTS; do mkdir -p "$(_lab_hdir "$h")"; done
	_lab_prepare_shares || return
	if [ "$LAB_SHARED_DISK_MB" -gt 0 ]; then
		truncate -s "${LAB_SHARED_DISK_MB}M" "$LAB_RUN_DIR/shared.img" ||
			_lab_die "cannot make the shared disk $LAB_RUN_DIR/shared.img" || return
	fi
	_lab_start_hosts || return
	_lab_wait_ready || return
	for h in $LAB_HOSTS; do
		lab_sh "$h" true 60 >/dev/null || _lab_die "the lab agent of host $h does not answer" || return
	done
	_lab_check_ssh || return
	_lab_install_tree || return
	_lab_install_debs || return
	lab_log "lab up in $((SECONDS - t0)) s (Xen $LAB_XEN_VERSION, kernel $LAB_KERNEL_VERSION)"
}

_lab_collect_logs() {
	local h=$1 d dest
	d=$(_lab_hdir "$h")
	dest=$LAB_RUN_DIR/logs/$h
	mkdir -p "$dest"
	if [ -e "$d/ready" ] && _lab_qemu_alive "$h"; then
		LAB_AGENT_TIMEOUT=10 lab_sh "$h" \
			"/usr/lib/xlmig-lab/lab-collect-logs /share/logs" 30 >/dev/null 2>&1 || lab_log "could not collect /var/log/xen of host $h"
	fi
	cp -a "$d/share/logs/." "$dest/" 2>/dev/null || true
	cp -a "$d/share/jobs" "$dest/jobs" 2>/dev/null || true
	cp "$d/console.log" "$dest/console.log" 2>/dev/null || true
	cp "$d/qemu.err" "$dest/qemu.err" 2>/dev/null || true
}

_lab_stop_qemu() {
	local h=$1 pid mon
	pid=$(_lab_qemu_pid "$h") || return 0
	mon=$(_lab_hdir "$h")/monitor.sock
	printf 'quit\n' | timeout 5 socat - "UNIX-CONNECT:$mon" >/dev/null 2>&1 || true
	if ! _lab_wait_until 10 "QEMU $h to quit" _lab_pid_gone "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		if ! _lab_wait_until 5 "QEMU $h to terminate" _lab_pid_gone "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
			_lab_wait_until 5 "QEMU $h to die" _lab_pid_gone "$pid" || true
		fi
	fi
}

_lab_pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# lab_down: collect each dom0's logs (console, /var/log/xen, xl dmesg...)
# into $LAB_RUN_DIR/logs/HOST, then stop both QEMUs by PID (monitor quit,
# then TERM, then KILL).  Safe to call more than once.
lab_down() {
	local h
	[ -n "${LAB_RUN_DIR:-}" ] && [ -d "$LAB_RUN_DIR" ] || return 0
	for h in $LAB_HOSTS; do
		[ -d "$(_lab_hdir "$h")" ] || continue
		_lab_collect_logs "$h"
	done
	for h in $LAB_HOSTS; do _lab_stop_qemu "$h"; done
}

# lab_shared_disk HOST: print the device of the shared disk in HOST's dom0
# (/dev/vdX, the virtio-blk disk with serial xlmig-shared), loading
# virtio_blk first (dom0 has no udev to load it).  Both hosts see the same
# blocks (nothing coordinates them: e.g. LVM without lvmlockd).
lab_shared_disk() {
	local out
	[ -f "$LAB_RUN_DIR/shared.img" ] ||
		_lab_die "no shared disk in this run (LAB_SHARED_DISK_MB=$LAB_SHARED_DISK_MB)" || return
	# shellcheck disable=SC2016 # expanded in dom0
	out=$(lab_sh "$1" 'modprobe virtio_blk || exit 1
for i in $(seq 50); do
	for s in /sys/block/vd*/serial; do
		[ -e "$s" ] && [ "$(cat "$s")" = xlmig-shared ] || continue
		d=${s%/serial}
		echo "/dev/${d##*/}"
		exit 0
	done
	sleep 0.2
done
exit 1' 60) || _lab_die "host $1: no virtio disk with serial xlmig-shared ($out)" || return
	echo "$out"
}

# --- running commands in a dom0 -----------------------------------------------
# A job is a bash script in HOST's share (jobs/ID.sh, triggered by
# jobs/new/ID) that the dom0's lab agent runs; see dom0/lab-agent for the
# file protocol.

_lab_jobs() { printf '%s/%s/share/jobs\n' "$LAB_RUN_DIR" "$1"; }

_lab_job_new_id() {
	printf 'j%s-%s-%s\n' "${EPOCHREALTIME/./}" "$BASHPID" "$RANDOM"
}

# _lab_job_submit HOST ID CMD
_lab_job_submit() {
	local dir
	dir=$(_lab_jobs "$1")
	if ! printf 'echo $$ >/share/jobs/%s.pid\n%s\n' "$2" "$3" >"$dir/$2.sh" ||
		! : >"$dir/new/$2"; then
		_lab_die "cannot write job $2 into $dir (lab not up?)"
	fi
}

# _lab_job_started HOST ID: true once the agent has started job ID.
_lab_job_started() {
	local dir
	dir=$(_lab_jobs "$1")
	[ -e "$dir/$2.out" ] || return 1
	rm -f "$dir/new/$2"
}

_lab_job_done() { [ -s "$1.rc" ]; }

# _lab_job_follow HOST ID TIMEOUT: stream ID.out to stdout until ID.rc
# appears; return the job's status, 124 on timeout (job killed), 125 if the
# agent never took the job.
_lab_job_follow() {
	local h=$1 id=$2 timeout=$3 dir base off=0 size rc
	local limit=$((SECONDS + timeout)) claim_limit=$((SECONDS + LAB_AGENT_TIMEOUT))
	dir=$(_lab_jobs "$h")
	base=$dir/$id
	while ! _lab_job_done "$base"; do
		_lab_stream_out "$base.out"
		if [ "$SECONDS" -ge "$claim_limit" ] && ! _lab_job_started "$h" "$id"; then
			rm -f "$dir/new/$id"
			_lab_die "host $h: the lab agent did not take the command within ${LAB_AGENT_TIMEOUT} s (dom0 hung or down?); console log: $(_lab_console "$h")"
			return 125
		fi
		if [ "$SECONDS" -ge "$limit" ]; then
			: >"$dir/new/$id.kill"
			_lab_wait_until 10 "the agent of $h to kill job $id" _lab_job_done "$base" 2>/dev/null || true
			_lab_stream_out "$base.out"
			rm -f "$dir/new/$id.kill"
			_lab_die "host $h: command did not finish within $timeout s (killed): $(sed -n '2{p;q}' "$base.sh" | head -c 200)"
			return 124
		fi
		sleep 0.1
	done
	rm -f "$dir/new/$id" "$dir/new/$id.kill"
	_lab_stream_out "$base.out"
	rc=$(cat "$base.rc")
	return "$rc"
}

# Print what was appended to FILE since offset $off (caller's variable).
_lab_stream_out() {
	[ -e "$1" ] || return 0
	size=$(stat -c %s "$1")
	if [ "$size" -gt "$off" ]; then
		tail -c "+$((off + 1))" "$1" | head -c "$((size - off))"
		off=$size
	fi
}

# lab_sh HOST CMD [TIMEOUT_S]: run the bash script CMD as root in HOST's
# dom0 (cwd /root, stdin /dev/null), stream its stdout+stderr to our
# stdout and return its exit status.  On timeout (default
# $LAB_SH_TIMEOUT) the command is killed and 124 returned.
lab_sh() {
	local h=$1 cmd=$2 timeout=${3:-$LAB_SH_TIMEOUT} id
	_lab_check_host "$h" || return
	rm -f "$LAB_RUN_DIR/test.lasterror"
	id=$(_lab_job_new_id)
	_lab_job_submit "$h" "$id" "$cmd" || return
	_lab_job_follow "$h" "$id" "$timeout"
}

# lab_timed HOST CMD [TIMEOUT_S]: like lab_sh, and set LAB_ELAPSED_MS to
# CMD's wall time measured inside the dom0 (CMD must not `exit`).  Call it
# directly (not in $(...)) so that the variable reaches the caller.
lab_timed() {
	local h=$1 cmd=$2 timeout=${3:-$LAB_SH_TIMEOUT} f rc=0
	_lab_check_host "$h" || return
	f=timed-${EPOCHREALTIME/./}-$RANDOM
	LAB_ELAPSED_MS=
	lab_sh "$h" "__lab_t0=\$(date +%s%N)
$cmd
__lab_rc=\$?
echo \$(( (\$(date +%s%N) - __lab_t0) / 1000000 )) >/share/jobs/$f
exit \$__lab_rc" "$timeout" || rc=$?
	# shellcheck disable=SC2034 # read by the tests
	LAB_ELAPSED_MS=$(cat "$(_lab_jobs "$h")/$f" 2>/dev/null) || LAB_ELAPSED_MS=
	return "$rc"
}

# lab_bg HOST NAME CMD: start CMD in the background in HOST's dom0 (output
# to a file in the share); returns once it runs.  NAME must not be in use
# by a running job of HOST.
lab_bg() {
	local h=$1 name=$2 cmd=$3 dir id
	_lab_check_host "$h" || return
	dir=$(_lab_jobs "$h")
	if id=$(_lab_bg_id "$h" "$name" 2>/dev/null) && ! _lab_job_done "$dir/$id"; then
		_lab_die "lab_bg: job $name is still running on $h"
		return 1
	fi
	id=bg-$name-$(_lab_job_new_id)
	printf '%s\n' "$id" >"$dir/bg-$name.id"
	_lab_job_submit "$h" "$id" "$cmd" || return
	_lab_wait_until "$LAB_AGENT_TIMEOUT" "host $h to start job $name" \
		_lab_job_started "$h" "$id" || return
}

# _lab_bg_id HOST NAME: the job id of HOST's latest background job NAME.
_lab_bg_id() {
	local f
	f=$(_lab_jobs "$1")/bg-$2.id
	[ -s "$f" ] || _lab_die "no background job $2 on $1" || return
	cat "$f"
}

# lab_wait HOST NAME TIMEOUT_S: wait for background job NAME, print its
# whole output and return its exit status (124 and killed on timeout).
lab_wait() {
	local h=$1 name=$2 timeout=${3:-$LAB_SH_TIMEOUT} id
	_lab_check_host "$h" || return
	id=$(_lab_bg_id "$h" "$name") || return
	_lab_job_follow "$h" "$id" "$timeout"
}

# lab_bg_output HOST NAME: print the output of background job NAME so far.
lab_bg_output() {
	local id
	id=$(_lab_bg_id "$1" "$2") || return
	cat "$(_lab_jobs "$1")/$id.out" 2>/dev/null || true
}

# lab_wait_output HOST NAME REGEX TIMEOUT_S: wait until the output of
# background job NAME matches the extended REGEX (e.g. to kill the
# receiver mid-stream).  Fails if the job ends first or on timeout.
lab_wait_output() {
	local h=$1 name=$2 re=$3 limit=$((SECONDS + $4)) id base
	id=$(_lab_bg_id "$h" "$name") || return
	base=$(_lab_jobs "$h")/$id
	while ! grep -qaE -- "$re" "$base.out" 2>/dev/null; do
		if _lab_job_done "$base"; then
			_lab_die "job $name on $h ended without printing /$re/"
			return 1
		fi
		if [ "$SECONDS" -ge "$limit" ]; then
			_lab_die "job $name on $h did not print /$re/ within $4 s"
			return 1
		fi
		sleep 0.1
	done
}

# _lab_kill_jobs HOST: kill every job of HOST still running.
_lab_kill_jobs() {
	local dir sh n=0
	dir=$(_lab_jobs "$1")
	for sh in "$dir"/*.sh; do
		[ -e "$sh" ] || continue
		_lab_job_done "${sh%.sh}" && continue
		: >"$dir/new/$(basename "${sh%.sh}").kill"
		n=$((n + 1))
	done
	[ "$n" -eq 0 ] || lab_log "host $1: killing $n leftover job(s)"
}

# --- domains ------------------------------------------------------------------

# lab_domains HOST: names of HOST's guest domains (not Domain-0), one a line.
lab_domains() {
	lab_sh "$1" "xl list | awk 'NR > 1 && \$2 != 0 { print \$1 }'" 60
}

# lab_domain_exists HOST NAME: true if a domain NAME exists on HOST.
lab_domain_exists() {
	lab_sh "$1" "xl domid '$2'" 60 >/dev/null 2>&1
}

# lab_domid HOST NAME: print the domid of NAME on HOST (fails if none).
lab_domid() {
	lab_sh "$1" "xl domid '$2'" 60
}

# lab_reset: the state every test starts from: no job of the previous test
# running, no guest domain on either host (dom0/lab-reset), old guest
# console logs moved away.
lab_reset() {
	local h
	for h in $LAB_HOSTS; do _lab_kill_jobs "$h"; done
	for h in $LAB_HOSTS; do
		lab_sh "$h" /usr/lib/xlmig-lab/lab-reset 90 ||
			_lab_die "could not clear the guests of host $h" || return
	done
}

# lab_guest_cfg NAME [KEY=VALUE...]: print the xl config of the lab PVH
# guest NAME (memory $LAB_GUEST_MEM MB), with KEY overridden or added; a
# VALUE that is not a number is quoted (give [..] lists already quoted).
lab_guest_cfg() {
	local name=$1 kv key val line
	shift
	local -A over=()
	local order=()
	for kv in "$@"; do
		key=${kv%%=*}
		val=${kv#*=}
		case $val in
		'' | *[!0-9]*) case $val in \[*) ;; *) val="\"$val\"" ;; esac ;;
		esac
		[ -n "${over[$key]+x}" ] || order+=("$key")
		over[$key]=$val
	done
	while IFS= read -r line; do
		key=${line%% =*}
		if [ -n "${over[$key]+x}" ]; then continue; fi
		line=${line//@NAME@/$name}
		printf '%s\n' "${line//@MEMORY@/$LAB_GUEST_MEM}"
	done <"$LAB_DIR/domu/domu.cfg.in"
	for key in "${order[@]}"; do printf '%s = %s\n' "$key" "${over[$key]}"; done
}

# lab_guest_create HOST NAME [KEY=VALUE...]: write /root/guest/NAME.cfg on
# HOST (see lab_guest_cfg), `xl create` it and wait (90 s) until the guest
# prints its first counter line. LAB_GUEST_BEFORE, if set, is a command
# run on HOST in between, @CFG@ in it replaced by the config's path.
lab_guest_create() {
	local h=$1 name=$2 cfg t0=$SECONDS before=${LAB_GUEST_BEFORE:-}
	shift 2
	cfg=$(lab_guest_cfg "$name" "$@")
	lab_timed "$h" "cat >/root/guest/$name.cfg <<'LAB_EOF'
$cfg
LAB_EOF
${before//@CFG@//root/guest/$name.cfg}
xl create /root/guest/$name.cfg" 120 || _lab_die "xl create $name on $h failed" || return
	lab_wait_counter "$h" "$name" -1 90 >/dev/null || return
	lab_log "$name created on $h: xl create $((LAB_ELAPSED_MS / 1000)).$((LAB_ELAPSED_MS % 1000 / 100)) s, counting after $((SECONDS - t0)) s"
}

# lab_dirty_cmdline MIB_PER_S [WSS_MIB [CPU_PCT [GAP_MS]]]: print the
# KEY=VALUE argument of lab_guest_create (or lab_guest_cfg) that has the
# guest dirty MIB_PER_S MiB a second over a working set of WSS_MIB MiB
# (default 32), that rate taking about CPU_PCT % of its vCPU (default 0:
# next to nothing, and a scheduler cap does not slow it; with e.g. 50 a cap
# below 50 % does, as xlmig's throttle expects of a busy guest), and
# report its pauses of GAP_MS ms or more (default 50), instead of its
# usual 4 MB of tmpfs a second (domu/dirtier.c), e.g.
#   lab_guest_create A lab1 "$(lab_dirty_cmdline 8)"
# Read the pauses with lab_gap_now, lab_gap and lab_gap_noise.
lab_dirty_cmdline() {
	local base
	base=$(sed -n 's/^cmdline = "\(.*\)"$/\1/p' "$LAB_DIR/domu/domu.cfg.in")
	printf 'cmdline=%s xlmig_dirty=%d xlmig_wss=%d xlmig_dirtycpu=%d xlmig_gapms=%d\n' \
		"$base" "$1" "${2:-32}" "${3:-0}" "${4:-50}"
}

# lab_gap_now HOST NAME: print the step count of guest NAME's dirtier as
# HOST last saw it (the point to measure a migration's pause from: it goes
# on across the migration).  Fails if the guest has no dirtier output yet.
lab_gap_now() {
	lab_sh "$1" "/usr/lib/xlmig-lab/lab-gap '$2' --now" 60
}

# lab_gap HOST NAME SINCE: print "MS counter=N mono=M boot=B", guest NAME's
# largest pause after step SINCE as seen on HOST (the destination after a
# migration), "0 ..." if none reached the dirtier's threshold (see
# dom0/lab-gap: MS includes the time suspended, M does not).
lab_gap() {
	lab_sh "$1" "/usr/lib/xlmig-lab/lab-gap '$2' --since '$3'" 60
}

# lab_gap_noise HOST NAME SINCE [UNTIL]: print the largest ordinary gap in
# ms between two steps of guest NAME's dirtier (steps SINCE..UNTIL) seen on
# HOST: the baseline a pause is told apart from.
lab_gap_noise() {
	local until=
	[ -z "${4:-}" ] || until=" --until '$4'"
	lab_sh "$1" "/usr/lib/xlmig-lab/lab-gap '$2' --noise --since '$3'$until" 60
}

# lab_sync_clocks: set B's clock (and so B's Xen wallclock) to A's, within
# a few ms (dom0/lab-clock: the offset measured over ssh with the shortest
# of 20 round trips, then added to B's clock in one step); print the
# offset left, B minus A, in us.  A guest's pause across a migration is
# only right in its CLOCK_BOOTTIME (lab_gap) when both Xen wallclocks
# agree: each lab Xen starts with its own from QEMU's RTC (about 1 s
# apart).  Called by the tests that measure downtime; costs ~2 s.
lab_sync_clocks() {
	local out
	# shellcheck disable=SC2016 # expanded in dom0
	out=$(lab_sh A 'L=/usr/lib/xlmig-lab/lab-clock
set -- $($L offset 192.0.2.2) && [ -n "${1:-}" ] || exit 1
ssh 192.0.2.2 "$L shift $((-$1))" || exit 1
set -- $($L offset 192.0.2.2) && [ -n "${1:-}" ] || exit 1
echo $(($1 / 1000))' 60) || _lab_die "cannot set B's clock to A's: $out" || return
	echo "$out"
}

# lab_counter HOST NAME: print the latest counter value that guest NAME
# printed while running on HOST (dom0/lab-counter: handles the log name
# guest-NAME--incoming.log of a guest that arrived by migration).
lab_counter() {
	lab_sh "$1" "/usr/lib/xlmig-lab/lab-counter '$2'" 60
}

# lab_guest_boot HOST NAME: print the boot id of guest NAME's latest
# counter line on HOST: it stays the same across a migration and changes
# when the guest reboots (after a reboot the counter starts again at 0).
lab_guest_boot() {
	lab_sh "$1" "/usr/lib/xlmig-lab/lab-counter '$2' --boot" 60
}

# lab_wait_counter HOST NAME ABOVE TIMEOUT_S: wait until guest NAME's
# counter on HOST is greater than ABOVE; print it.
lab_wait_counter() {
	local h=$1 name=$2 above=$3 limit=$((SECONDS + $4)) n
	while :; do
		n=$(lab_counter "$h" "$name" 2>/dev/null) || n=
		if [ -n "$n" ] && [ "$n" -gt "$above" ]; then
			echo "$n"
			return 0
		fi
		if [ "$SECONDS" -ge "$limit" ]; then
			_lab_die "counter of $name on $h did not pass ${above} within $4 s (last: ${n:-none})"
			return 1
		fi
		sleep 1
	done
}
