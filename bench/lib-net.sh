# shellcheck shell=bash
# lib-net.sh - network helpers of the sim benchmarks (bench/migrate-sim):
# shape the link between two sim hosts with tc, and measure what the same
# path carries without xlmig (raw TCP, loopback, ssh) as the baselines
# that migration throughput is divided by. Sources the integration
# scaffolding (tests/integration/lib.sh); use after it_begin and
# it_setup:
#
#   . "$top_srcdir/bench/lib-net.sh"
#   it_begin migrate-sim 900
#   it_setup 2
#   net_rawxfer_build
#   net_shape A B 1000                 # 1 Gbit/s each way
#   out=$(raw_transfer A B 500000000)   # not <(...): a failure must
#   read -r secs mbps <<<"$out"         # fail the case
#
# Transfers print "SECONDS MB/S" (MB = 10^6 bytes) on stdout and fail the
# case (it_fail) if the transfer fails. Tunables: NET_TIMEOUT (300 s per
# transfer), NET_LATENCY (tbf queue, 10ms).

# shellcheck source-path=SCRIPTDIR source=../tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib.sh"

: "${NET_TIMEOUT:=300}" "${NET_LATENCY:=10ms}"
NET_RAWXFER=

# net_rawxfer_build: compile bench/rawxfer.c into $IT_DIR/bin (NET_RAWXFER).
net_rawxfer_build() {
	mkdir -p "$IT_DIR/bin"
	NET_RAWXFER=$IT_DIR/bin/rawxfer
	timeout 120 "${CC:-cc}" -O2 -std=gnu11 -Wall -Wextra -Werror \
		-o "$NET_RAWXFER" "$IT_SRCDIR/bench/rawxfer.c" ||
		it_fail "cannot build bench/rawxfer.c"
}

# net_shape HOST1 HOST2 [MBIT]: limit both directions between HOST1 and
# HOST2 to MBIT Mbit/s (default 1000): a token bucket on the egress of
# eth0 in each host's namespace (so it holds for all of that host's
# traffic). Burst: 1 ms at that rate, at least 64 KiB (one GSO packet);
# queue: NET_LATENCY.
net_shape() {
	local rate=${3:-1000} burst h
	burst=$((rate * 1000000 / 8 / 1000))
	[ "$burst" -ge 65536 ] || burst=65536
	for h in "$1" "$2"; do
		it_on "$h" tc qdisc replace dev eth0 root tbf rate "${rate}mbit" \
			burst "$burst" latency "$NET_LATENCY" ||
			it_fail "tc on $h failed"
	done
	it_log "link $1 <-> $2 shaped to $rate Mbit/s (tbf burst $burst B, latency $NET_LATENCY)"
}

# net_unshape HOST1 HOST2: remove what net_shape set.
net_unshape() {
	local h
	for h in "$1" "$2"; do
		it_on "$h" tc qdisc del dev eth0 root 2>/dev/null || true
	done
}

# net_mbps BYTES SECONDS: BYTES / SECONDS in MB/s, one decimal.
net_mbps() {
	awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f\n", (s > 0) ? b / s / 1e6 : 0 }'
}

# _net_rawxfer FROM TO ADDR BYTES: the receiver in TO's namespace listens
# on ADDR, the sender in FROM's sends BYTES to it.
_net_rawxfer() {
	local from=$1 to=$2 addr=$3 bytes=$4 fd rx port='' secs
	[ -n "$NET_RAWXFER" ] || it_fail "call net_rawxfer_build first"
	exec {fd}< <(IT_CMD_TIMEOUT=$NET_TIMEOUT it_on "$to" "$NET_RAWXFER" recv "$addr")
	rx=$!
	read -r -t 10 -u "$fd" port || true
	if [ -z "$port" ]; then
		exec {fd}<&-
		it_fail "rawxfer receiver on $to did not start"
	fi
	secs=$(IT_CMD_TIMEOUT=$NET_TIMEOUT it_on "$from" "$NET_RAWXFER" send "$addr" "$port" "$bytes") ||
		it_fail "rawxfer $from -> $to ($addr) failed"
	wait "$rx" || it_fail "rawxfer receiver on $to failed"
	exec {fd}<&-
	printf '%s %s\n' "$secs" "$(net_mbps "$bytes" "$secs")"
}

# raw_transfer HOSTFROM HOSTTO BYTES: send BYTES over one TCP connection
# from HOSTFROM to HOSTTO's address (the path a migration takes); print
# "SECONDS MB/S".
raw_transfer() {
	_net_rawxfer "$1" "$2" "$(it_ip "$2")" "$3"
}

# raw_transfer_loopback HOST BYTES: the same over 127.0.0.1 inside HOST.
raw_transfer_loopback() {
	_net_rawxfer "$1" "$1" 127.0.0.1 "$2"
}

# ssh_transfer HOSTFROM HOSTTO BYTES: pipe BYTES zero bytes through ssh
# ($IT_SSH, as `xlmig migrate` uses it) into `cat >/dev/null` on HOSTTO;
# print "SECONDS MB/S". The time includes the ssh connection setup.
ssh_transfer() {
	local t0 us secs
	t0=${EPOCHREALTIME/./}
	# shellcheck disable=SC2016 # expanded by that sh
	IT_CMD_TIMEOUT=$NET_TIMEOUT it_on "$1" sh -c \
		'head -c "$1" /dev/zero | ssh -F "$2" "$3" "cat >/dev/null"' \
		sh "$3" "$IT_SSHCFG" "$(it_ip "$2")" ||
		it_fail "ssh transfer $1 -> $2 failed"
	us=$((${EPOCHREALTIME/./} - t0))
	secs=$(printf '%d.%06d' $((us / 1000000)) $((us % 1000000)))
	printf '%s %s\n' "$secs" "$(net_mbps "$3" "$secs")"
}
