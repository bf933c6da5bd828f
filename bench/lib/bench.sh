# shellcheck shell=bash disable=SC2034
# Shared by the benchmark scripts (bash; sourced).  docs/benchmarks.md.
#
# Environment (run.sh sets the first three; run-in-kvm.sh forwards VMM_*):
#   VMM                 the vmm binary
#   VMM_GUEST_IMAGES    bzImage, vmlinux and initramfs.cpio.gz (build-images.sh)
#   VMM_BUILD_DIR       build tree with bench/bench-exec, bench-smaps, the shim
#   VMM_BENCH_QEMU      QEMU binary (default qemu-system-x86_64; "none" skips)
#   VMM_BENCH_KVMTOOL   kvmtool: a built checkout (its lkvm) or the lkvm
#                       binary; unset: the column says "not measured"
#   VMM_BENCH_PEERS     which to run, default "vmm qemu kvmtool" (a script
#                       may set BENCH_DEFAULT_PEERS before sourcing this):
#                         vmm, vmm-pvh       vmm with the bzImage, the vmlinux
#                         qemu, qemu-pvh     QEMU microvm as it comes
#                         qemu-tuned, qemu-tuned-pvh  QEMU microvm without
#                                            PIT, PIC, RTC and option ROMs
#                         kvmtool            kvmtool with the bzImage

bench_die() { echo "bench: $*" >&2; exit 1; }

: "${VMM:?VMM (the vmm binary) is not set}"
: "${VMM_GUEST_IMAGES:?VMM_GUEST_IMAGES is not set}"
: "${VMM_BUILD_DIR:?VMM_BUILD_DIR is not set}"

BENCH_EXEC=$VMM_BUILD_DIR/bench/bench-exec
BENCH_SMAPS=$VMM_BUILD_DIR/bench/bench-smaps
BENCH_SHIM=$VMM_BUILD_DIR/bench/libvmm-bench-shim.so
BENCH_KERNEL=$VMM_GUEST_IMAGES/bzImage
BENCH_VMLINUX=$VMM_GUEST_IMAGES/vmlinux
BENCH_INITRD=$VMM_GUEST_IMAGES/initramfs.cpio.gz
# The same guest command line for every VMM, vmm's "pci=off" included
# (none of the machines has a PCI device the guest needs); bench_cmd adds
# what a peer needs to stop the machine (see docs/benchmarks.md).
BENCH_CMDLINE="pci=off console=ttyS0 quiet panic=-1"
BENCH_MEM_MIB=256

for f in "$BENCH_EXEC" "$BENCH_SMAPS" "$BENCH_SHIM" "$VMM" "$BENCH_KERNEL" \
	 "$BENCH_VMLINUX" "$BENCH_INITRD"; do
	[ -e "$f" ] || bench_die "$f is missing (build the project and the guest images first)"
done

BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-bench.XXXXXX")
trap 'rm -rf "$BENCH_TMP"' EXIT
# Every VMM reads the guest files from here, and vmm runs from here: in the
# outer VM the build tree is a 9p mount without caching (every page of
# vmm's binary and of the kernel would come over 9p, while QEMU and
# kvmtool are read from the cached host root), and /tmp is memory, as a
# host's page cache would be. kvmtool keeps a control socket in
# $HOME/.lkvm; HOME is set here for every VMM, so none is started through
# an extra exec.
# (The copies are made below, once the peers are known: only the kernel
# files they boot.)
BENCH_VMM_BUILT=$VMM
export HOME=$BENCH_TMP

# Resolve the peers' binaries; a peer without one is "not measured".
bench_qemu=${VMM_BENCH_QEMU:-qemu-system-x86_64}
if [ "$bench_qemu" != none ]; then
	bench_qemu=$(command -v "$bench_qemu" || true)
else
	bench_qemu=
fi
bench_kvmtool=
if [ -n "${VMM_BENCH_KVMTOOL:-}" ]; then
	bench_kvmtool=$VMM_BENCH_KVMTOOL
	[ -d "$bench_kvmtool" ] && bench_kvmtool=$bench_kvmtool/lkvm
	[ -x "$bench_kvmtool" ] ||
		bench_die "VMM_BENCH_KVMTOOL=$VMM_BENCH_KVMTOOL: no lkvm binary there (build kvmtool with make first)"
fi

# Peers to measure, and those that are not available.
BENCH_PEERS=()
BENCH_MISSING=()
for p in ${VMM_BENCH_PEERS:-${BENCH_DEFAULT_PEERS:-vmm qemu kvmtool}}; do
	case $p in
	vmm|vmm-pvh) BENCH_PEERS+=("$p") ;;
	qemu|qemu-pvh|qemu-tuned|qemu-tuned-pvh) if [ -n "$bench_qemu" ]; then BENCH_PEERS+=("$p"); else BENCH_MISSING+=("$p"); fi ;;
	kvmtool) if [ -n "$bench_kvmtool" ]; then BENCH_PEERS+=(kvmtool); else BENCH_MISSING+=(kvmtool); fi ;;
	*) bench_die "unknown peer $p (vmm, vmm-pvh, qemu, qemu-pvh, qemu-tuned, qemu-tuned-pvh, kvmtool)" ;;
	esac
done

mkdir "$BENCH_TMP/images" "$BENCH_TMP/bin"
cp "$BENCH_INITRD" "$BENCH_TMP/images/"
BENCH_INITRD=$BENCH_TMP/images/initramfs.cpio.gz
if [[ " ${BENCH_PEERS[*]} " =~ \ (vmm|qemu|qemu-tuned|kvmtool)\  ]]; then
	cp "$BENCH_KERNEL" "$BENCH_TMP/images/"
	BENCH_KERNEL=$BENCH_TMP/images/bzImage
fi
if [[ " ${BENCH_PEERS[*]} " == *-pvh\ * ]]; then
	cp "$BENCH_VMLINUX" "$BENCH_TMP/images/"
	BENCH_VMLINUX=$BENCH_TMP/images/vmlinux
fi
cp "$VMM" "$BENCH_TMP/bin/vmm"
VMM=$BENCH_TMP/bin/vmm

bench_label() {
	case $1 in
	vmm) echo "vmm" ;;
	vmm-pvh) echo "vmm, vmlinux (PVH)" ;;
	qemu) echo "QEMU microvm" ;;
	qemu-pvh) echo "QEMU microvm, vmlinux (PVH)" ;;
	qemu-tuned) echo "QEMU microvm tuned" ;;
	qemu-tuned-pvh) echo "QEMU microvm tuned, vmlinux (PVH)" ;;
	kvmtool) echo "kvmtool" ;;
	esac
}

bench_binary() {
	case $1 in
	vmm|vmm-pvh) echo "$BENCH_VMM_BUILT" ;;
	qemu*) echo "$bench_qemu" ;;
	kvmtool) echo "$bench_kvmtool" ;;
	esac
}

# bench_cmd PEER EXTRA_CMDLINE: sets BENCH_CMD (array) to the command line
# that boots the reference guest with 1 vCPU and 256 MiB, serial console on
# stdio, no network, no disk.  The guest's init powers off when done.
# PEERs ending in -pvh boot the vmlinux instead of the bzImage.
bench_cmd() {
	local peer=$1 cmdline="$BENCH_CMDLINE $2" kernel=$BENCH_KERNEL machine

	case $peer in *-pvh) kernel=$BENCH_VMLINUX ;; esac
	case $peer in
	vmm|vmm-pvh)
		BENCH_CMD=("$VMM" run --kernel "$kernel" --initrd "$BENCH_INITRD"
			--memory "${BENCH_MEM_MIB}M" --cpus 1 --console stdio
			--log-level info --cmdline "$cmdline") ;;
	qemu*)
		# ACPI power-off (microvm's GED) makes QEMU exit.  Tuned: what
		# QEMU's microvm documentation recommends for a fast boot, the
		# legacy PIT, PIC and RTC off, and no option ROM (its qboot
		# firmware loads the kernel itself).
		machine=microvm,acpi=on
		case $peer in
		qemu-tuned*) machine+=,pit=off,pic=off,rtc=off,x-option-roms=off ;;
		esac
		# shellcheck disable=SC2054
		BENCH_CMD=("$bench_qemu" -M "$machine" -accel kvm -cpu host
			-m "${BENCH_MEM_MIB}M" -smp 1 -nodefaults -no-user-config
			-display none -serial stdio
			-kernel "$kernel" -initrd "$BENCH_INITRD"
			-append "$cmdline") ;;
	kvmtool)
		# kvmtool has no ACPI on x86, so a power-off only halts the vCPU:
		# the guest reboots instead (its default cmdline has reboot=k),
		# and kvmtool exits on the i8042 reset.
		BENCH_CMD=("$bench_kvmtool" run
			-k "$kernel" -i "$BENCH_INITRD" -m "$BENCH_MEM_MIB" -c 1
			--network mode=none --console serial
			-p "$cmdline vmmtest.end=reboot") ;;
	esac
}

# bench_median N...: the median (mean of the middle two for an even count).
bench_median() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
		END { if (NR == 0) exit 1
		      if (NR % 2) print v[(NR + 1) / 2]
		      else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

bench_min() { printf '%s\n' "$@" | sort -n | head -n 1; }
bench_max() { printf '%s\n' "$@" | sort -n | tail -n 1; }

# ns -> ms with one decimal; KiB -> MiB with two.
bench_ms() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'; }
bench_mib() { awk -v n="$1" 'BEGIN { printf "%.2f", n / 1024 }'; }
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

# Where the numbers come from: printed above every table.
bench_machine() {
	local cpu
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo "machine: $(uname -r), $(nproc) CPUs ($cpu), $(date -u '+%Y-%m-%d %H:%M UTC')"
}

# The peers that were not measured, as table rows.
bench_missing_rows() {
	local p cols=$1
	for p in "${BENCH_MISSING[@]}"; do
		printf '| %s | not measured%s |\n' "$(bench_label "$p")" "$cols"
	done
}

# bench_interleaved RUNS FUNC: calls FUNC PEER RUN (RUN from 1) RUNS times
# for every peer.  Run r starts with peer r mod n, so no VMM always goes
# first on a warm or a cold cache.
bench_interleaved() {
	local runs=$1 fn=$2 r i n=${#BENCH_PEERS[@]}
	for ((r = 0; r < runs; r++)); do
		for ((i = 0; i < n; i++)); do
			"$fn" "${BENCH_PEERS[$(((i + r) % n))]}" "$((r + 1))"
		done
	done
}

# bench_time_table ARRAY: the median, minimum and maximum (ms) of the
# nanosecond values in the associative array named ARRAY (peer -> "ns
# ns ..."), one row per peer, with vmm's median over each peer's (vmm with
# the bzImage when measured, else the first peer).
bench_time_table() {
	local -n bench_tt=$1
	local p med vmm_med ref=vmm
	[ -n "${bench_tt[vmm]:-}" ] || ref=${BENCH_PEERS[0]}
	echo "| VMM | median (ms) | min (ms) | max (ms) | $(bench_label "$ref") / this |"
	echo "|---|---:|---:|---:|---:|"
	# shellcheck disable=SC2086
	vmm_med=$(bench_median ${bench_tt[$ref]})
	for p in "${BENCH_PEERS[@]}"; do
		# shellcheck disable=SC2086
		med=$(bench_median ${bench_tt[$p]})
		# shellcheck disable=SC2086
		printf '| %s | %s | %s | %s | %s |\n' "$(bench_label "$p")" \
			"$(bench_ms "$med")" "$(bench_ms "$(bench_min ${bench_tt[$p]})")" \
			"$(bench_ms "$(bench_max ${bench_tt[$p]})")" \
			"$(bench_ratio "$vmm_med" "$med")"
	done
	bench_missing_rows " | | | |"
}

# bench_runs DEFAULT "$@": prints the number of runs a script's -n RUNS
# option asks for (a positive number), else DEFAULT.
bench_runs() {
	local o OPTIND=1 runs=$1
	shift
	while getopts n: o; do
		case $o in
		n) runs=$OPTARG ;;
		*) bench_die "usage: $(basename "$0") [-n RUNS]" ;;
		esac
	done
	[[ $runs =~ ^[1-9][0-9]*$ ]] || bench_die "-n wants a positive number of runs, not '$runs'"
	echo "$runs"
}
