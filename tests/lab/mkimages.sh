#!/bin/bash
# mkimages.sh - build or refresh the cached images of the xlmig Xen lab.
#
# Produces, under ${XLMIG_LAB_CACHE:-/var/cache/xlmig-lab}:
#   xen-<key>/xen.elf            Debian's Xen 4.17 hypervisor (multiboot ELF)
#   kernel-<key>/vmlinuz         Debian's bookworm kernel (dom0 and domU)
#   kernel-<key>/modtree/        the few modules dom0 needs, depmod'ed
#   rootfs-<key>/                debootstrap'ed dom0 tree (slow step, ~75 s)
#   domu-<key>/domu.cpio         busybox counter initramfs for the PVH guest
#                                (+ domu/dirtier.c, built -static here)
#   dom0-<key>/dom0.cpio         uncompressed newc initramfs = rootfs + overlay
#                                (+ dom0/lab-clock.c, built -static here)
#   ssh/                         host key and root key pair (generated once)
#   images.env                   paths of the current artifacts, for lab.sh
# Each <key> is a sha256 of everything that produces the artifact (package
# versions, mirror, package/module lists, the build functions' own text,
# the files under dom0/ and domu/), so an artifact is rebuilt only when one
# of its inputs changes.  Older artifacts of the same kind are removed.
#
# Usage: mkimages.sh [--env-out FILE]
#   --env-out FILE   also copy images.env to FILE (taken under the cache lock)
# The Debian mirror URIs are read at run time from the host's apt sources.
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${XLMIG_LAB_CACHE:-/var/cache/xlmig-lab}
SUITE=bookworm
SECURITY_SUITE=bookworm-security
XEN_PKG=xen-hypervisor-4.17-amd64
XEN_UTILS_PKG=xen-utils-4.17

DOM0_PACKAGES=(
	xen-utils-4.17 xenstore-utils libxenmisc4.17 libyajl2 libxml2
	iproute2 bridge-utils socat busybox kmod procps netbase util-linux
	e2fsprogs coreutils openssh-server openssh-client lvm2 qemu-system-xen
)
DOM0_MODULES=(
	xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xen-netback
	xen-blkback e1000 bridge virtio_pci 9pnet_virtio 9p loop ext4 tun dm-mod
	virtio_blk dm-mirror dm-log dm-region-hash xen-blkfront
)

ENV_OUT=

say() { printf 'mkimages: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--env-out)
			[ $# -ge 2 ] || die "--env-out needs a file"
			ENV_OUT=$2
			shift 2
			;;
		-h | --help)
			usage
			exit 0
			;;
		*) die "unknown argument: $1" ;;
		esac
	done
}

need_tools() {
	local t missing=()
	for t in apt-get apt-cache dpkg debootstrap chroot cpio depmod modprobe \
		sha256sum flock busybox cc strip; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	[ ${#missing[@]} -eq 0 ] || die "missing tools: ${missing[*]}"
	[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot)"
}

# --- host apt sources -------------------------------------------------------

# Print "URI SUITE" for every deb entry of the host's apt sources, both the
# one-line format (*.list) and deb822 (*.sources).
apt_source_pairs() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk '$1 == "deb" {
			i = 2
			if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
			print $i, $(i + 1)
		}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk '
		function flush() {
			if (types ~ /(^| )deb( |$)/ && enabled != "no")
				for (u = 1; u <= nu; u++)
					for (s = 1; s <= ns; s++) print uris[u], suites[s]
			types = ""; enabled = ""; nu = 0; ns = 0
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		{
			key = tolower($1); sub(/:$/, "", key)
			if (key == "types") { $1 = ""; types = $0 }
			else if (key == "enabled") enabled = tolower($2)
			else if (key == "uris") for (j = 2; j <= NF; j++) uris[++nu] = $j
			else if (key == "suites") for (j = 2; j <= NF; j++) suites[++ns] = $j
		}
		END { flush() }' "$f"
	done
}

# mirror_for_suite SUITE: first URI of the host's apt sources serving SUITE.
mirror_for_suite() {
	local uri
	uri=$(apt_source_pairs | awk -v s="$1" '$2 == s { print $1; exit }')
	[ -n "$uri" ] || die "no apt source for suite '$1' in /etc/apt/sources.list{,.d}"
	printf '%s\n' "${uri%/}"
}

candidate_version() {
	local v
	v=$(apt-cache policy "$1" | awk '$1 == "Candidate:" { print $2 }')
	if [ -z "$v" ] || [ "$v" = "(none)" ]; then
		die "apt knows no candidate for $1 (run apt-get update?)"
	fi
	printf '%s\n' "$v"
}

# The versioned kernel package behind the linux-image-amd64 metapackage.
kernel_package() {
	local p
	p=${XLMIG_LAB_KERNEL_PKG:-}
	if [ -z "$p" ]; then
		p=$(apt-cache depends linux-image-amd64 |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	fi
	[ -n "$p" ] || die "cannot resolve linux-image-amd64 to a kernel package"
	printf '%s\n' "$p"
}

# --- cache helpers ----------------------------------------------------------

# key_of ARG...: short sha256 of the arguments (strings).
key_of() {
	printf '%s\0' "$@" | sha256sum | cut -c1-16
}

# dir_digest DIR: sha256 over the names and contents of the files in DIR.
dir_digest() {
	(cd "$1" && find . -type f -print0 | LC_ALL=C sort -z |
		xargs -0 sha256sum) | sha256sum | cut -c1-64
}

artifact_dir() { printf '%s/%s-%s\n' "$CACHE" "$1" "$2"; }
artifact_ok() { [ -e "$(artifact_dir "$1" "$2")/.complete" ]; }

# finish_artifact KIND KEY: mark the .tmp build complete, move it in place
# and drop older artifacts of the same kind.
finish_artifact() {
	local kind=$1 key=$2 final old
	final=$(artifact_dir "$kind" "$key")
	touch "$final.tmp/.complete"
	rm -rf "$final"
	mv "$final.tmp" "$final"
	for old in "$CACHE/$kind"-*; do
		[ "$old" = "$final" ] && continue
		[ -e "$old" ] || continue
		say "removing old $kind artifact $(basename "$old")"
		rm -rf "$old"
	done
}

start_artifact() {
	local tmp
	tmp=$(artifact_dir "$1" "$2").tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	printf '%s\n' "$tmp"
}

# download_pkg PKG VERSION DIR: apt-get download into DIR, print the .deb path.
download_pkg() {
	local pkg=$1 ver=$2 dir=$3 deb
	(cd "$dir" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
		die "apt-get download $pkg=$ver failed"
	deb=$(find "$dir" -maxdepth 1 -name "${pkg}_*.deb" | head -n1)
	[ -n "$deb" ] || die "downloaded $pkg but found no .deb"
	printf '%s\n' "$deb"
}

# --- xen.elf ----------------------------------------------------------------

build_xen() {
	local out=$1 ver=$2 deb gz
	deb=$(download_pkg "$XEN_PKG" "$ver" "$out")
	dpkg -x "$deb" "$out/x"
	gz=$(find "$out/x/boot" -name 'xen-*.gz' | head -n1)
	[ -n "$gz" ] || die "no boot/xen-*.gz in $deb"
	zcat "$gz" >"$out/xen.elf"
	printf '%s\n' "$ver" >"$out/version"
	rm -rf "$out/x" "$deb"
}

# --- kernel and dom0 modules ------------------------------------------------

build_kernel() {
	local out=$1 pkg=$2 ver=$3 deb kver m f
	deb=$(download_pkg "$pkg" "$ver" "$out")
	dpkg -x "$deb" "$out/x"
	kver=$(ls "$out/x/lib/modules")
	if [ -z "$kver" ] || [ ! -f "$out/x/boot/vmlinuz-$kver" ]; then
		die "unexpected layout in $deb"
	fi
	cp "$out/x/boot/vmlinuz-$kver" "$out/vmlinuz"
	# The package ships no modules.dep: generate it to resolve dependencies.
	depmod -b "$out/x" "$kver"
	mkdir -p "$out/modtree/lib/modules/$kver"
	for m in "${DOM0_MODULES[@]}"; do
		modprobe -d "$out/x" -S "$kver" --show-depends "$m" ||
			die "module $m not found in $pkg"
	done | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r f; do
		f=${f#"$out/x/"}
		mkdir -p "$out/modtree/$(dirname "$f")"
		cp "$out/x/$f" "$out/modtree/$f"
	done
	cp "$out/x/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} \
		"$out/modtree/lib/modules/$kver/"
	depmod -b "$out/modtree" "$kver"
	printf '%s\n' "$kver" >"$out/kver"
	rm -rf "$out/x" "$deb"
}

# --- dom0 root filesystem ---------------------------------------------------

# Undo the chroot mounts of build_rootfs (also used from the EXIT trap).
chroot_umount() {
	local root=$1
	if mountpoint -q "$root/proc" 2>/dev/null; then
		umount "$root/proc" 2>/dev/null || umount -l "$root/proc"
	fi
}

chroot_apt_upgrade() {
	local root=$1 main=$2 security=$3
	printf 'deb %s %s main\ndeb %s %s main\n' \
		"$main" "$SUITE" "$security" "$SECURITY_SUITE" >"$root/etc/apt/sources.list"
	printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
		>"$root/etc/apt/apt.conf.d/90xlmig-lab"
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	mount -t proc proc "$root/proc"
	chroot "$root" apt-get -q update
	DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get -q -y \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		full-upgrade
	chroot_umount "$root"
}

# The image never runs apt: drop its sources (no mirror name stays in the
# image), caches, docs, man pages and locales.
strip_rootfs() {
	local root=$1
	rm -f "$root/etc/apt/sources.list" "$root/usr/sbin/policy-rc.d" \
		"$root/etc/resolv.conf" "$root"/etc/ssh/ssh_host_*
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* \
		"$root"/var/cache/debconf/*-old "$root"/var/log/*.log \
		"$root"/usr/share/doc/* "$root"/usr/share/man/* \
		"$root"/usr/share/info/* "$root"/usr/share/lintian \
		"$root"/usr/share/locale/*
}

build_rootfs() {
	local out=$1 main=$2 security=$3 want=$4 include got
	include=$(
		IFS=,
		printf '%s' "${DOM0_PACKAGES[*]}"
	)
	say "debootstrap $SUITE (about 75 s)"
	debootstrap --variant=minbase --include="$include" "$SUITE" "$out/root" "$main" \
		>"$out/debootstrap.log" 2>&1 ||
		die "debootstrap failed, see $out/debootstrap.log"
	say "adding $SECURITY_SUITE and upgrading the dom0 tree"
	chroot_apt_upgrade "$out/root" "$main" "$security" >"$out/upgrade.log" 2>&1 ||
		die "apt upgrade in the dom0 tree failed, see $out/upgrade.log"
	# shellcheck disable=SC2016 # dpkg-query's own ${Version} syntax
	got=$(chroot "$out/root" dpkg-query -W -f '${Version}' "$XEN_UTILS_PKG")
	[ "$got" = "$want" ] ||
		die "dom0 $XEN_UTILS_PKG is $got but the hypervisor is $want"
	strip_rootfs "$out/root"
}

# --- ssh keys (generated once, shared by both dom0s) -------------------------

ensure_ssh_keys() {
	local root=$1 dir="$CACHE/ssh"
	[ -f "$dir/root_ed25519" ] && [ -f "$dir/host_ed25519" ] && return 0
	say "generating the lab ssh keys"
	rm -rf "$dir" "$root/tmp/labkeys"
	mkdir -p "$root/tmp/labkeys"
	chroot "$root" ssh-keygen -q -t ed25519 -N '' -C xlmig-lab-host \
		-f /tmp/labkeys/host_ed25519
	chroot "$root" ssh-keygen -q -t ed25519 -N '' -C root@xlmig-lab \
		-f /tmp/labkeys/root_ed25519
	mv "$root/tmp/labkeys" "$dir"
	chmod 700 "$dir"
}

# --- domU initramfs ---------------------------------------------------------

# build_domu OUT KERNELDIR: busybox, /init, the dirtier (built here) and
# xen-blkfront.ko (the guest's disk driver, a module in Debian's kernel).
build_domu() {
	local out=$1 kdir=$2 stage ko
	stage="$out/stage"
	mkdir -p "$stage"/{bin,dev,proc,sys,mnt,tmp,lib/modules}
	cp "$(command -v busybox)" "$stage/bin/busybox"
	ko=$(find "$kdir/modtree" -name 'xen-blkfront.ko*' | head -n1)
	[ -n "$ko" ] || die "no xen-blkfront module in $kdir"
	case $ko in
	*.ko) cp "$ko" "$stage/lib/modules/xen-blkfront.ko" ;;
	*.ko.xz) xz -dc "$ko" >"$stage/lib/modules/xen-blkfront.ko" ;;
	*) die "xen-blkfront: unexpected module file $ko" ;;
	esac
	install -m 755 "$LAB_DIR/domu/init" "$stage/init"
	# The dirtier (domu/dirtier.c), static: the guest has no libc.
	cc -static -O2 -Wall -Wextra -Werror -o "$stage/bin/dirtier" \
		"$LAB_DIR/domu/dirtier.c" || die "cannot build domu/dirtier.c"
	strip "$stage/bin/dirtier"
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) >"$out/domu.cpio"
	rm -rf "$stage"
}

# --- dom0 initramfs ---------------------------------------------------------

# install_overlay STAGE KERNELDIR DOMUDIR: the lab's own files on top of the
# debootstrap tree.  /lib and /sbin are usrmerge symlinks: write via usr/.
install_overlay() {
	local st=$1 kdir=$2 udir=$3 keys="$CACHE/ssh" kver f
	kver=$(cat "$kdir/kver")
	install -m 755 "$LAB_DIR/dom0/init" "$st/init"
	install -d -m 755 "$st/usr/lib/xlmig-lab"
	for f in "$LAB_DIR"/dom0/lab-*; do
		case $f in *.c) ;; *) install -m 755 "$f" "$st/usr/lib/xlmig-lab/" ;; esac
	done
	# lab-clock (dom0/lab-clock.c), static like the guest's dirtier.
	cc -static -O2 -Wall -Wextra -Werror -o "$st/usr/lib/xlmig-lab/lab-clock" \
		"$LAB_DIR/dom0/lab-clock.c" || die "cannot build dom0/lab-clock.c"
	strip "$st/usr/lib/xlmig-lab/lab-clock"
	mkdir -p "$st/usr/lib/modules"
	cp -a "$kdir/modtree/lib/modules/$kver" "$st/usr/lib/modules/"
	install -m 600 "$keys/host_ed25519" "$st/etc/ssh/ssh_host_ed25519_key"
	install -m 644 "$keys/host_ed25519.pub" "$st/etc/ssh/ssh_host_ed25519_key.pub"
	install -m 644 "$LAB_DIR/dom0/sshd_config" "$st/etc/ssh/sshd_config.d/xlmig-lab.conf"
	install -d -m 700 "$st/root" "$st/root/.ssh"
	install -m 600 "$keys/root_ed25519" "$st/root/.ssh/id_ed25519"
	install -m 644 "$keys/root_ed25519.pub" "$st/root/.ssh/id_ed25519.pub"
	install -m 600 "$keys/root_ed25519.pub" "$st/root/.ssh/authorized_keys"
	install -m 600 "$LAB_DIR/dom0/ssh_config" "$st/root/.ssh/config"
	# The guest's kernel and initramfs where an admin's guests keep theirs
	# (a receiver's default incoming policy allows /var/lib/xen/boot); the
	# config template and the guests' configs in /root/guest.
	install -d -m 755 "$st/var/lib/xen/boot" "$st/root/guest"
	install -m 644 "$kdir/vmlinuz" "$st/var/lib/xen/boot/lab-vmlinuz"
	install -m 644 "$udir/domu.cpio" "$st/var/lib/xen/boot/lab-domu.cpio"
	install -m 644 "$LAB_DIR/domu/domu.cfg.in" "$st/root/guest/domu.cfg.in"
	printf '127.0.0.1 localhost\n192.0.2.1 xlmig-a\n192.0.2.2 xlmig-b\n' >"$st/etc/hosts"
	# LVM without udev (dom0 has none): libdevmapper makes the /dev/mapper
	# nodes and /dev/VG/LV links itself; no hints, as the VG on the
	# shared disk (lab.sh) changes under the other host.
	printf '%s\n' '# xlmig lab: no udev, shared disk' 'devices {' \
		'	obtain_device_list_from_udev = 0' '	hints = "none"' '}' \
		'activation {' '	udev_sync = 0' '	udev_rules = 0' \
		'	monitoring = 0' '}' >"$st/etc/lvm/lvmlocal.conf"
	# Let sshd accept root's key on the locked-by-default account.
	sed -i 's/^root:[^:]*:/root:*:/' "$st/etc/shadow"
}

pack_dom0() {
	local out=$1 rootdir=$2 kdir=$3 udir=$4 st
	st="$out/stage"
	cp -a "$rootdir/root" "$st"
	install_overlay "$st" "$kdir" "$udir"
	(cd "$st" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc) >"$out/dom0.cpio"
	rm -rf "$st"
}

# --- main -------------------------------------------------------------------

write_env() {
	local f="$CACHE/images.env"
	{
		printf 'LAB_XEN_ELF=%q\n' "$1/xen.elf"
		printf 'LAB_KERNEL=%q\n' "$2/vmlinuz"
		printf 'LAB_KERNEL_VERSION=%q\n' "$(cat "$2/kver")"
		printf 'LAB_DOM0_CPIO=%q\n' "$3/dom0.cpio"
		printf 'LAB_DOMU_CPIO=%q\n' "$4/domu.cpio"
		printf 'LAB_XEN_VERSION=%q\n' "$(cat "$1/version")"
	} >"$f.tmp"
	mv "$f.tmp" "$f"
	if [ -n "$ENV_OUT" ]; then cp "$f" "$ENV_OUT"; fi
}

main() {
	local main_uri sec_uri xen_ver utils_ver kpkg kver_pkg
	local xkey kkey rkey ukey dkey xdir kdir rdir udir ddir tmp t0=$SECONDS

	parse_args "$@"
	need_tools
	trap 'exit 130' INT
	trap 'exit 143' TERM # so that the EXIT trap (chroot unmount) runs
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	flock -w 1800 9 || die "cache $CACHE is locked by another build"

	main_uri=$(mirror_for_suite "$SUITE")
	sec_uri=$(mirror_for_suite "$SECURITY_SUITE")
	xen_ver=$(candidate_version "$XEN_PKG")
	utils_ver=$(candidate_version "$XEN_UTILS_PKG")
	kpkg=$(kernel_package)
	kver_pkg=$(candidate_version "$kpkg")

	xkey=$(key_of "$XEN_PKG=$xen_ver" "$(declare -f build_xen download_pkg)")
	kkey=$(key_of "$kpkg=$kver_pkg" "${DOM0_MODULES[*]}" \
		"$(declare -f build_kernel download_pkg)")
	rkey=$(key_of "$SUITE" "$main_uri" "$sec_uri" "$utils_ver" "$xen_ver" \
		"${DOM0_PACKAGES[*]}" \
		"$(declare -f build_rootfs chroot_apt_upgrade strip_rootfs)")
	ukey=$(key_of "$kkey" "$(sha256sum <"$(command -v busybox)")" \
		"$(cc --version | head -n 1)" \
		"$(dir_digest "$LAB_DIR/domu")" "$(declare -f build_domu)")

	xdir=$(artifact_dir xen "$xkey")
	if ! artifact_ok xen "$xkey"; then
		say "building xen.elf ($XEN_PKG $xen_ver)"
		tmp=$(start_artifact xen "$xkey")
		build_xen "$tmp" "$xen_ver"
		finish_artifact xen "$xkey"
	fi

	kdir=$(artifact_dir kernel "$kkey")
	if ! artifact_ok kernel "$kkey"; then
		say "building kernel + dom0 modules ($kpkg $kver_pkg)"
		tmp=$(start_artifact kernel "$kkey")
		build_kernel "$tmp" "$kpkg" "$kver_pkg"
		finish_artifact kernel "$kkey"
	fi

	rdir=$(artifact_dir rootfs "$rkey")
	if ! artifact_ok rootfs "$rkey"; then
		tmp=$(start_artifact rootfs "$rkey")
		trap 'chroot_umount "$tmp/root"' EXIT
		build_rootfs "$tmp" "$main_uri" "$sec_uri" "$xen_ver"
		trap - EXIT
		finish_artifact rootfs "$rkey"
	fi

	udir=$(artifact_dir domu "$ukey")
	if ! artifact_ok domu "$ukey"; then
		say "building the domU initramfs"
		tmp=$(start_artifact domu "$ukey")
		build_domu "$tmp" "$kdir"
		finish_artifact domu "$ukey"
	fi

	ensure_ssh_keys "$rdir/root"
	dkey=$(key_of "$rkey" "$kkey" "$ukey" "$(dir_digest "$LAB_DIR/dom0")" \
		"$(cc --version | head -n 1)" \
		"$(dir_digest "$CACHE/ssh")" "$(sha256sum <"$LAB_DIR/domu/domu.cfg.in")" \
		"$(declare -f pack_dom0 install_overlay)")
	ddir=$(artifact_dir dom0 "$dkey")
	if ! artifact_ok dom0 "$dkey"; then
		say "packing the dom0 initramfs"
		tmp=$(start_artifact dom0 "$dkey")
		pack_dom0 "$tmp" "$rdir" "$kdir" "$udir"
		finish_artifact dom0 "$dkey"
	fi

	write_env "$xdir" "$kdir" "$ddir" "$udir"
	say "images ready in $CACHE ($((SECONDS - t0)) s)"
}

# One compound command: bash reads no further, even if this file is edited
# while it runs.
{
	main "$@"
	exit "$?"
}
