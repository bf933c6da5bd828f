#!/usr/bin/env bash
# Give the KVM tests a usable /dev/kvm: the host's own, or an outer VM's.
#
# Usage:
#   kvm-env.sh up STATE --images DIR --rw DIR --probe PATH [--outer] [--reuse STATE2]
#   kvm-env.sh down STATE
#   kvm-env.sh restart STATE
#   kvm-env.sh pid STATE
#
# up: when kvm-probe says the host's /dev/kvm runs a guest at native speed
# (a 1M-iteration loop within VMM_TEST_KVM_MAX_LOOP_MS, default 200 ms; an
# emulating host takes over a second) and neither --outer nor
# VMM_TEST_OUTER_VM=1 forces the outer VM, records "direct" in STATE.  Otherwise boots an outer VM: QEMU's software emulator
# emulating AMD SVM, Debian's kernel (from --images, as build-images.sh
# made them) loading kvm-amd, the host's root shared read-only and the
# --rw directory (the build tree) read-write at their own paths, and an
# agent that runs commands for run-in-kvm.sh.  up succeeds only once the
# agent inside has run a KVM guest (kvm-probe); any failure is reported,
# never turned into a skip.  --reuse STATE2: when STATE2 is an outer VM
# that is up, use it instead of booting another one.
#
# down: stops the outer VM (if any) and fails if its kernel oopsed.
#
# restart: kills the outer VM of STATE without asking it to power off (its
# agent has stopped answering, see run-in-kvm.sh) and boots a new one with
# the same arguments as the last `up`.
#
# pid: prints the outer VM's QEMU pid and succeeds while that QEMU runs
# (the recorded pid, checked to be a QEMU of STATE, not a reused pid).
#
# Environment: VMM_TEST_OUTER_VM=1 (force the outer VM),
# VMM_TEST_KVM_MAX_LOOP_MS (speed a direct /dev/kvm must reach),
# VMM_TEST_QEMU (default qemu-system-x86_64), VMM_TEST_OUTER_MEM (default
# 4G), VMM_TEST_OUTER_CPUS (default 2), VMM_TEST_OUTER_BOOT_TIMEOUT
# (seconds, default 300).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
gtdir=$(cd "$here/.." && pwd)
srcdir=$(cd "$gtdir/.." && pwd)

die() { echo "kvm-env: $*" >&2; exit 1; }
say() { echo "kvm-env: $*"; }

# PID of the outer VM's QEMU recorded in STATE, if it still runs.
qemu_pid() {
	local state=$1 pid
	[ -f "$state/qemu.pid" ] || return 1
	pid=$(cat "$state/qemu.pid")
	[ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$state/" || return 1
	echo "$pid"
}

stop_qemu() {
	local state=$1 pid
	pid=$(qemu_pid "$state") || return 0
	[ -d "$state/chan" ] && touch "$state/chan/shutdown"
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	say "outer VM did not power off within 10 s; terminating QEMU $pid"
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
}

console_tail() {
	local state=$1
	[ -f "$state/console.log" ] || return 0
	echo "--- last lines of the outer VM console ($state/console.log) ---" >&2
	tail -n 30 "$state/console.log" | tr -d '\r' >&2
}

build_outer_initramfs() {
	local images=$1 state=$2
	"$gtdir/images/build-images.sh" "$images" \
		--init "$gtdir/outer/init" --scenarios /nonexistent \
		--module virtio_pci --module 9pnet_virtio --module 9p \
		--module kvm_amd --module fuse --output outer-initramfs.cpio.gz >&2 ||
		die "cannot build the outer VM's initramfs"
}

boot_outer() {
	local state=$1 images=$2 rw=$3 probe=$4
	local qemu=${VMM_TEST_QEMU:-qemu-system-x86_64}
	local mem=${VMM_TEST_OUTER_MEM:-4G} cpus=${VMM_TEST_OUTER_CPUS:-2}
	local limit=${VMM_TEST_OUTER_BOOT_TIMEOUT:-300}
	local start now pid p

	command -v "$qemu" >/dev/null ||
		die "the outer VM needs $qemu, which is not installed (qemu-system-x86)"
	[ -f "$images/bzImage" ] || die "no kernel at $images/bzImage (run build-images.sh)"
	for p in "$state" "$rw" "$gtdir" "$probe"; do
		case $p in *[[:space:],]*) die "path '$p' contains blanks or commas; the outer VM cannot share it" ;; esac
	done
	build_outer_initramfs "$images" "$state"

	printf '%s\n' "$images" "$rw" "$probe" > "$state/outer-args"
	mkdir -p "$state/chan/req"
	[ -f "$state/console.log" ] && mv "$state/console.log" "$state/console.log.old"
	start=$(date +%s.%N)
	"$qemu" -M q35 -cpu qemu64,+svm,+npt -accel tcg -smp "$cpus" -m "$mem" \
		-nodefaults -no-user-config -display none -no-reboot \
		-serial "file:$state/console.log" \
		-kernel "$images/bzImage" -initrd "$images/outer-initramfs.cpio.gz" \
		-append "console=ttyS0 quiet panic=-1 vmmouter.rw=$rw vmmouter.agent=$gtdir/outer/agent.sh vmmouter.chan=$state/chan vmmouter.probe=$probe vmmouter.src=$srcdir" \
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$rw,mount_tag=hostrw,security_model=none,multidevs=remap" \
		-monitor "unix:$state/monitor.sock,server=on,wait=off" \
		-pidfile "$state/qemu.pid" -daemonize ||
		die "$qemu failed to start the outer VM"
	echo outer > "$state/mode"

	while :; do
		if [ -f "$state/chan/ready" ]; then
			now=$(date +%s.%N)
			awk -v a="$start" -v b="$now" 'BEGIN { printf "%.1f\n", b - a }' > "$state/boot-seconds"
			say "outer VM (QEMU TCG, AMD SVM, $cpus vCPUs, $mem) up in $(cat "$state/boot-seconds") s: $(cat "$state/chan/ready")"
			return 0
		fi
		if [ -f "$state/chan/failed" ]; then
			console_tail "$state"
			stop_qemu "$state"
			die "the outer VM has no usable /dev/kvm: $(cat "$state/chan/failed")"
		fi
		if ! pid=$(qemu_pid "$state"); then
			console_tail "$state"
			die "the outer VM stopped before its agent was ready"
		fi
		now=$(date +%s)
		if [ $((now - ${start%.*})) -ge "$limit" ]; then
			console_tail "$state"
			stop_qemu "$state"
			die "the outer VM's agent was not ready within $limit s"
		fi
		sleep 0.2
	done
}

cmd_up() {
	local state=$1; shift
	local images='' rw='' probe='' outer=${VMM_TEST_OUTER_VM:-0} reuse='' why
	while [ $# -gt 0 ]; do
		case $1 in
		--images) images=$2; shift 2 ;;
		--rw) rw=$2; shift 2 ;;
		--probe) probe=$2; shift 2 ;;
		--outer) outer=1; shift ;;
		--reuse) reuse=$2; shift 2 ;;
		*) die "unknown option $1" ;;
		esac
	done
	[ -n "$images" ] && [ -n "$rw" ] && [ -n "$probe" ] || die "up needs --images, --rw and --probe"
	[ -x "$probe" ] || die "kvm-probe not built: $probe"
	mkdir -p "$state"
	state=$(cd "$state" && pwd)
	images=$(cd "$images" && pwd)
	rw=$(cd "$rw" && pwd)
	stop_qemu "$state"
	rm -rf "$state/chan" "$state/mode" "$state/link" "$state/boot-seconds"

	if [ "$outer" != 1 ]; then
		if why=$("$probe" --max-loop-ms "${VMM_TEST_KVM_MAX_LOOP_MS:-200}" 2>&1); then
			echo direct > "$state/mode"
			say "direct: $why"
			return 0
		fi
		say "no usable /dev/kvm on this host ($why); using an outer VM"
	fi
	if [ -n "$reuse" ] && [ "$(cat "$reuse/mode" 2>/dev/null)" = outer ] &&
	   qemu_pid "$reuse" >/dev/null; then
		echo outer > "$state/mode"
		echo "$reuse" > "$state/link"
		say "reusing the outer VM of $reuse"
		return 0
	fi
	boot_outer "$state" "$images" "$rw" "$probe"
}

cmd_down() {
	local state=$1 mode
	mode=$(cat "$state/mode" 2>/dev/null || echo none)
	rm -f "$state/mode"
	case $mode in
	direct|none) say "$mode: nothing to stop"; return 0 ;;
	esac
	if [ -f "$state/link" ]; then
		say "outer VM borrowed from $(cat "$state/link"): left running"
		rm -f "$state/link"
		return 0
	fi
	stop_qemu "$state"
	say "outer VM stopped ($(cat "$state/chan/served" 2>/dev/null | wc -l) commands served)"
	if grep -qE 'Oops|Kernel panic|BUG:|general protection' "$state/console.log" 2>/dev/null; then
		console_tail "$state"
		die "the outer VM's kernel reported an error"
	fi
}

cmd_restart() {
	local state=$1 pid images rw probe
	[ "$(cat "$state/mode" 2>/dev/null)" = outer ] || die "no outer VM in $state"
	[ ! -f "$state/link" ] || die "$state borrows the outer VM of $(cat "$state/link"); restart that one"
	{ read -r images && read -r rw && read -r probe; } < "$state/outer-args" ||
		die "$state/outer-args is missing: the outer VM was not started by this script"
	if pid=$(qemu_pid "$state"); then
		say "killing the outer VM (QEMU $pid): its agent stopped answering"
		kill -9 "$pid" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	console_tail "$state"
	rm -rf "$state/chan" "$state/boot-seconds"
	boot_outer "$state" "$images" "$rw" "$probe"
}

[ $# -ge 2 ] || die "usage: kvm-env.sh up|down|restart|pid STATE [options]"
cmd=$1; shift
case $cmd in
up) cmd_up "$@" ;;
down) cmd_down "$@" ;;
restart) cmd_restart "$@" ;;
pid) qemu_pid "$1" ;;
*) die "unknown command $cmd" ;;
esac
