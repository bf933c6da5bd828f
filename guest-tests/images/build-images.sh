#!/usr/bin/env bash
# Build the reference guest for the KVM tests from Debian packages.
#
# Usage: build-images.sh [options] OUTDIR
#
# Produces
#   OUTDIR/bzImage                        Debian 12's stock kernel (linux-image-amd64)
#   OUTDIR/vmlinux                        the same kernel uncompressed (an ELF
#                                         file with a PVH entry), taken out of
#                                         the bzImage (vmm boots either)
#   OUTDIR/modules/lib/modules/<ver>/     that package's modules (+ modules.dep)
#   OUTDIR/kernel.version                 <ver>
#   OUTDIR/initramfs.cpio.gz              busybox-static test init (see guest/init)
#
# Options
#   --cache DIR        where the kernel .deb is kept (default OUTDIR/cache,
#                      or $VMM_IMAGE_CACHE)
#   --module NAME      also put kernel module NAME and everything it depends
#                      on into the initramfs (repeatable; `modprobe NAME`
#                      then works in the guest)
#   --add SRC:DEST     also put file SRC at DEST in the initramfs (repeatable;
#                      for statically linked helper programs)
#   --init FILE        use FILE as /init instead of guest/init
#   --scenarios DIR    in-guest scenario scripts (default guest/scenarios)
#   --output NAME      initramfs file name inside OUTDIR
#                      (default initramfs.cpio.gz)
#   --kernel-only      fetch and unpack the kernel, build no initramfs
#
# The kernel package is VMM_GUEST_KERNEL_PACKAGE when set (e.g.
# linux-image-6.1.0-56-amd64, to pin or compare kernels), else it is
# resolved with `apt-cache depends linux-image-amd64`,
# fetched once with `apt-get download` and unpacked with `dpkg -x` (no
# install scripts run).  Nothing is downloaded from anywhere but the
# machine's Debian mirror.  Running the script again reuses the cached
# package and the unpacked kernel; the initramfs is rebuilt (about a second).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
guestdir=$(cd "$here/../guest" && pwd)

die() { echo "build-images: $*" >&2; exit 1; }

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 1
}

outdir=
cache=${VMM_IMAGE_CACHE:-}
init=$guestdir/init
scenarios=$guestdir/scenarios
output=initramfs.cpio.gz
kernel_only=0
modules=(virtio_mmio virtiofs)
adds=()

while [ $# -gt 0 ]; do
	case $1 in
	--cache) cache=$2; shift 2 ;;
	--module) modules+=("$2"); shift 2 ;;
	--add) adds+=("$2"); shift 2 ;;
	--init) init=$2; shift 2 ;;
	--scenarios) scenarios=$2; shift 2 ;;
	--output) output=$2; shift 2 ;;
	--kernel-only) kernel_only=1; shift ;;
	-h|--help) usage ;;
	-*) die "unknown option $1" ;;
	*) [ -z "$outdir" ] || die "more than one OUTDIR"; outdir=$1; shift ;;
	esac
done
[ -n "$outdir" ] || usage
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
cache=${cache:-$outdir/cache}
mkdir -p "$cache"

# --- the kernel ------------------------------------------------------------

# Name of the real package behind the linux-image-amd64 metapackage,
# e.g. linux-image-6.1.0-56-amd64.  Offline, fall back to a cached .deb.
kernel_package() {
	local pkg
	if [ -n "${VMM_GUEST_KERNEL_PACKAGE:-}" ]; then
		echo "$VMM_GUEST_KERNEL_PACKAGE"
		return
	fi
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	      awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
	if [ -z "$pkg" ]; then
		pkg=$(cd "$cache" && ls linux-image-[0-9]*_amd64.deb 2>/dev/null |
		      sed -n '1s/_.*//p')
	fi
	[ -n "$pkg" ] || die "cannot resolve linux-image-amd64: no apt lists (run apt-get update) and no cached kernel package in $cache"
	echo "$pkg"
}

fetch_kernel_deb() {
	local pkg=$1 deb
	deb=$(cd "$cache" && ls "${pkg}"_*_amd64.deb 2>/dev/null | tail -n1 || true)
	if [ -z "$deb" ]; then
		echo "build-images: downloading $pkg into $cache" >&2
		(cd "$cache" && apt-get download -q "$pkg" 2>&1 |
		 grep -v 'Download is performed unsandboxed' >&2) ||
			die "apt-get download $pkg failed"
		deb=$(cd "$cache" && ls "${pkg}"_*_amd64.deb 2>/dev/null | tail -n1 || true)
		[ -n "$deb" ] || die "apt-get download $pkg produced no package"
	fi
	echo "$cache/$deb"
}

# extract_vmlinux BZIMAGE OUT: the kernel inside a bzImage, uncompressed,
# as the kernel tree's scripts/extract-vmlinux does it but by the setup
# header (Documentation/arch/x86/boot.rst): payload_offset (0x248, from
# the protected-mode code, which starts at (setup_sects + 1) * 512) and
# payload_length (0x24c) give the compressed vmlinux; its first bytes say
# how it is compressed (Debian's: XZ).
extract_vmlinux() {
	local bz=$1 out=$2 sects off len magic dec
	sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$bz" | tr -d ' ')
	[ "$sects" != 0 ] || sects=4
	read -r off len < <(od -An -tu4 -j $((0x248)) -N8 "$bz")
	[ -n "$len" ] && [ "$len" -gt 0 ] || die "$bz: no payload in its setup header"
	off=$(((sects + 1) * 512 + off))
	magic=$(tail -c +$((off + 1)) "$bz" | head -c 6 | od -An -tx1 | tr -d ' ')
	case $magic in
	fd377a585a00*) dec=(xz -dc --single-stream) ;;
	1f8b*) dec=(gzip -dc) ;;
	28b52ffd*) dec=(zstd -dcq) ;;
	*) die "$bz: payload compressed in a way this script does not know (magic $magic)" ;;
	esac
	command -v "${dec[0]}" >/dev/null ||
		die "${dec[0]} not found (scripts/install-deps.sh installs it)"
	# The kernel's build appends the uncompressed size after the data;
	# the decompressors stop at the end of the first stream.
	tail -c +$((off + 1)) "$bz" | head -c "$len" | "${dec[@]}" > "$out.tmp" 2>/dev/null || true
	[ "$(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] ||
		die "$bz: its payload did not decompress to an ELF vmlinux"
	mv "$out.tmp" "$out"
}

# Unpack once: OUTDIR/bzImage, OUTDIR/vmlinux,
# OUTDIR/modules/lib/modules/VER, modules.dep.
unpack_kernel() {
	local deb=$1 ver stamp tmp
	ver=$(dpkg-deb -f "$deb" Package | sed 's/^linux-image-//')
	stamp=$outdir/.kernel-$(basename "$deb" .deb)
	if [ -f "$stamp" ] && [ -f "$outdir/bzImage" ] && [ -f "$outdir/vmlinux" ] &&
	   [ -f "$outdir/modules/lib/modules/$ver/modules.dep" ]; then
		echo "$ver"
		return
	fi
	echo "build-images: unpacking $(basename "$deb")" >&2
	tmp=$outdir/.unpack
	rm -rf "$tmp" "$outdir/modules" "$outdir"/.kernel-*
	dpkg -x "$deb" "$tmp"
	[ -f "$tmp/boot/vmlinuz-$ver" ] || die "$deb has no boot/vmlinuz-$ver"
	mkdir -p "$outdir/modules/lib/modules"
	mv "$tmp/lib/modules/$ver" "$outdir/modules/lib/modules/$ver"
	cp "$tmp/boot/vmlinuz-$ver" "$outdir/bzImage.tmp"
	cp "$tmp/boot/config-$ver" "$outdir/kernel.config"
	mv "$outdir/bzImage.tmp" "$outdir/bzImage"
	rm -rf "$tmp"
	echo "build-images: extracting vmlinux from the bzImage" >&2
	extract_vmlinux "$outdir/bzImage" "$outdir/vmlinux"
	# The package carries no modules.dep (its postinst runs depmod).
	busybox depmod -b "$outdir/modules" "$ver" ||
		die "depmod failed for $ver"
	echo "$ver" > "$outdir/kernel.version"
	touch "$stamp"
	echo "$ver"
}

# --- the initramfs ---------------------------------------------------------

# Append to the global array mod_order the module files (relative to
# lib/modules/VER) that module $2 needs, dependencies first, each once.
# $1: modules.dep of the unpacked kernel.
declare -A mod_seen
mod_order=()
resolve_module() {
	local dep=$1 name=$2 file line d
	file=$(awk -v n="$name" -F: '{
		f = $1; sub(/.*\//, "", f); sub(/\.ko(\.[a-z]+)?$/, "", f)
		gsub(/-/, "_", f); m = n; gsub(/-/, "_", m)
		if (f == m) { print $1; exit }
	}' "$dep")
	[ -n "$file" ] || die "kernel module $name not found in $dep"
	[ -z "${mod_seen[$file]:-}" ] || return 0
	mod_seen[$file]=1
	line=$(grep -m1 "^$file:" "$dep" | cut -d: -f2)
	for d in $line; do
		d=$(basename "$d")
		resolve_module "$dep" "${d%%.ko*}"
	done
	mod_order+=("$file")
}

build_initramfs() {
	local ver=$1 root moddir dep f src dest
	root=$outdir/.initramfs
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,lib,mnt,root}

	command -v busybox >/dev/null || die "busybox not found (install busybox-static)"
	local bb
	bb=$(command -v busybox)
	if ldd "$bb" >/dev/null 2>&1; then
		die "$bb is dynamically linked; install busybox-static"
	fi
	cp "$bb" "$root/bin/busybox"
	for f in $("$bb" --list-full); do
		[ -e "$root/$f" ] || ln -s /bin/busybox "$root/$f"
	done

	cp "$init" "$root/init"
	chmod 755 "$root/init"
	cp "$guestdir/vmmtest.sh" "$root/lib/vmmtest.sh"
	if [ -d "$scenarios" ]; then
		mkdir -p "$root/scenarios"
		cp "$scenarios"/*.sh "$root/scenarios/" 2>/dev/null || true
	fi

	# Modules, with a modules.dep listing only what is included; each
	# line lists dependencies in reverse load order, as depmod does.
	moddir=$root/lib/modules/$ver
	mkdir -p "$moddir"
	dep=$outdir/modules/lib/modules/$ver/modules.dep
	local m
	for m in "${modules[@]}"; do
		resolve_module "$dep" "$m"
	done
	for f in "${mod_order[@]}"; do
		mkdir -p "$moddir/$(dirname "$f")"
		cp "$outdir/modules/lib/modules/$ver/$f" "$moddir/$f"
	done
	printf '%s\n' "${mod_order[@]}" > "$moddir/modules.order"
	awk 'NR == FNR { idx[$1] = FNR; next }
	     { sub(/:$/, "", $1) }
	     ($1 in idx) {
		n = 0
		for (i = 2; i <= NF; i++) if ($i in idx) d[++n] = $i
		# insertion sort, latest-loaded first
		for (i = 2; i <= n; i++) for (j = i; j > 1 && idx[d[j]] > idx[d[j-1]]; j--) {
			t = d[j]; d[j] = d[j-1]; d[j-1] = t
		}
		line = $1 ":"
		for (i = 1; i <= n; i++) line = line " " d[i]
		print line
	     }' "$moddir/modules.order" "$dep" > "$moddir/modules.dep"
	echo "$ver" > "$root/etc/kernel.version"

	for f in "${adds[@]}"; do
		src=${f%%:*}
		dest=${f#*:}
		[ -f "$src" ] || die "--add: $src does not exist"
		mkdir -p "$root/$(dirname "$dest")"
		cp "$src" "$root/$dest"
	done

	local cpio_cmd=(busybox cpio -o -H newc)
	command -v cpio >/dev/null && cpio_cmd=(cpio -o -H newc -R 0:0 --quiet)
	(cd "$root" && find . | LC_ALL=C sort | "${cpio_cmd[@]}") |
		gzip -6 > "$outdir/$output.tmp"
	mv "$outdir/$output.tmp" "$outdir/$output"
	rm -rf "$root"
}

pkg=$(kernel_package)
deb=$(fetch_kernel_deb "$pkg")
ver=$(unpack_kernel "$deb")
if [ "$kernel_only" = 0 ]; then
	build_initramfs "$ver"
	echo "build-images: $outdir/$output ($ver)" >&2
fi
