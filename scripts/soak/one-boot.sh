#!/usr/bin/env bash
# One boot of the soak (scripts/soak-boot.sh), run where /dev/kvm works:
# directly or inside the outer VM (guest-tests/runner/run-in-kvm.sh).
#
# Usage: one-boot.sh CONFIG DIR
#   CONFIG  vmm-dev: vmm with the example vhost-user back-end, which maps
#                    8 pages as soon as vmm has attached its region and
#                    then unmaps or maps one every 50 ms while the guest
#                    boots
#           vmm:     vmm, no device
#           qemu:    QEMU microvm (the control)
#   DIR     where this boot's files go
# Environment: VMM, VMM_GUEST_IMAGES, VMM_BUILD_DIR (as for the guest
# scenarios); VMM_SOAK_BOOT_TIMEOUT (seconds, default 120); VMM_TEST_QEMU.
#
# Every boot: the guest's serial output (serial.txt), the VMM's stderr,
# exits.txt from guest-tests/tools/soak-trace.c (exits by reason, the last
# exits of each vCPU, each MAP_FIXED mapping's time from the first
# KVM_RUN), and the KVM tracepoints of the kernel running the VMM
# (kvm_exit with the guest's RIP, injected exceptions, page faults, ...),
# kept only for a failed boot (kvm-trace.txt). Prints one line,
# "soak: CONFIG pass|fail ...", and exits 0 for a pass, 1 for a failure.
set -uo pipefail
cfg=$1 dir=$2
mkdir -p "$dir"
kernel=$VMM_GUEST_IMAGES/bzImage
initrd=$VMM_GUEST_IMAGES/initramfs.cpio.gz
shim=$VMM_BUILD_DIR/guest-tests/libvmm-soak-trace.so
example=$VMM_BUILD_DIR/vhost/vhost-user-shmem-example
qemu=${VMM_TEST_QEMU:-qemu-system-x86_64}
cmdline="console=ttyS0 quiet panic=-1"
limit=${VMM_SOAK_BOOT_TIMEOUT:-120}
for f in "$kernel" "$initrd" "$shim" "$VMM" "$example"; do
	[ -e "$f" ] || { echo "soak: $cfg fail setup: $f missing"; exit 1; }
done

# ---- kernel tracepoints (overwrite mode: the last events are kept) ----
T=/sys/kernel/tracing
[ -e "$T/trace" ] || mount -t tracefs nodev "$T" 2>/dev/null || true
tracing=0
if [ -w "$T/trace" ]; then
	echo 0 > "$T/tracing_on"
	echo mono > "$T/trace_clock" 2>/dev/null || true
	# "7 (expanded: 1408)" until the buffer is first used.
	kb=$(cut -d' ' -f1 "$T/buffer_size_kb" 2>/dev/null || echo 0)
	[ "${kb:-0}" -ge 8192 ] ||
		echo 8192 > "$T/buffer_size_kb" 2>/dev/null || true
	: > "$T/set_event"
	for e in kvm_exit kvm_inj_exception kvm_page_fault kvm_userspace_exit \
		 kvm_cr kvm_msr kvm_pio kvm_mmio kvm_inj_virq; do
		echo "kvm:$e" >> "$T/set_event" 2>/dev/null || true
	done
	: > "$T/trace"
	echo 1 > "$T/tracing_on"
	tracing=1
fi

# Sockets cannot live in the build tree (9p in the outer VM): /tmp.
sockdir=$(mktemp -d "${TMPDIR:-/tmp}/vmm-soak.XXXXXX")
trap 'rm -rf "$sockdir"' EXIT

t0=$(date +%s.%N)
be=
case $cfg in
vmm-dev)
	# Maps 8 pages as soon as vmm has attached the region (the front-end
	# refuses until then; it retries every 5 ms), then unmaps or maps one
	# page every 50 ms while the guest boots: SHMEM_MAPs arrive while the
	# vCPU starts and while it runs. -v logs each with its time.
	"$example" --socket "$sockdir/ex.sock" --control "$sockdir/ex.ctl" --shm 0:2M \
		--map-at-start 8 --churn 50 -v > "$dir/backend.log" 2>&1 < /dev/null &
	be=$!
	for _ in $(seq 100); do
		[ -e "$sockdir/ex.sock" ] && [ -e "$sockdir/ex.ctl" ] && break
		sleep 0.1
	done
	VMM_SOAK_TRACE=$dir/exits.txt LD_PRELOAD=$shim \
		timeout -k 5 "$limit" "$VMM" run --kernel "$kernel" --initrd "$initrd" \
		--cmdline "$cmdline" \
		--vhost-user "socket=$sockdir/ex.sock,virtio-id=63,name=ex0" \
		> "$dir/serial.raw" 2> "$dir/vmm.err" < /dev/null &
	vm=$! ;;
vmm)
	VMM_SOAK_TRACE=$dir/exits.txt LD_PRELOAD=$shim \
		timeout -k 5 "$limit" "$VMM" run --kernel "$kernel" --initrd "$initrd" \
		--cmdline "$cmdline" > "$dir/serial.raw" 2> "$dir/vmm.err" < /dev/null &
	vm=$! ;;
qemu)
	# -no-reboot: a triple fault (a reset) ends QEMU instead of rebooting.
	VMM_SOAK_TRACE=$dir/exits.txt LD_PRELOAD=$shim \
		timeout -k 5 "$limit" "$qemu" -M microvm,acpi=on -accel kvm -cpu host \
		-m 256M -smp 1 -nodefaults -no-user-config -display none \
		-serial stdio -no-reboot -kernel "$kernel" -initrd "$initrd" \
		-append "$cmdline" > "$dir/serial.raw" 2> "$dir/vmm.err" < /dev/null &
	vm=$! ;;
*)
	echo "soak: $cfg fail setup: unknown configuration"; exit 1 ;;
esac
status=0
wait "$vm" || status=$?
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
[ "$tracing" = 0 ] || echo 0 > "$T/tracing_on"
[ -z "$be" ] || { kill "$be" 2>/dev/null; wait "$be" 2>/dev/null; }
tr -d '\r' < "$dir/serial.raw" > "$dir/serial.txt" && rm -f "$dir/serial.raw"

# ---- the verdict ----
why=
grep -q '^VMMTEST: init ok' "$dir/serial.txt" || why="no init line"
[ "$status" -eq 0 ] || why="exit status $status${why:+, $why}"
[ "$status" -ne 124 ] || why="no exit within $limit s (hang)${why:+; $why}"
if grep -qE '^exits .*(shutdown|fail_entry|internal_error)=' "$dir/exits.txt" 2>/dev/null; then
	why="${why:+$why; }$(grep -oE '(shutdown|fail_entry|internal_error)=[0-9]+' "$dir/exits.txt" | head -n 1) exit"
fi
if [ "$cfg" = qemu ] && ! grep -q 'reboot: Power down' "$dir/serial.txt"; then
	why="${why:+$why; }no power-down line"
fi
first=$(sed -n 's/^first_kvm_run_mono_ns //p' "$dir/exits.txt" 2>/dev/null)
nmaps=$(grep -c '^map .* fd$' "$dir/exits.txt" 2>/dev/null || true)
if [ -z "$why" ]; then
	echo "pass $status $secs" > "$dir/result"
	echo "soak: $cfg pass status=0 secs=$secs maps=${nmaps:-0}"
	exit 0
fi
echo "fail $status $secs $why" > "$dir/result"
if [ "$tracing" = 1 ]; then
	tail -n 3000 "$T/trace" > "$dir/kvm-trace.txt"
fi
dmesg 2>/dev/null | tail -n 60 > "$dir/dmesg.txt" || true
cat /proc/uptime > "$dir/outer-uptime.txt" 2>/dev/null || true
echo "soak: $cfg fail status=$status secs=$secs first_kvm_run=${first:-none} maps=${nmaps:-0}: $why"
exit 1
