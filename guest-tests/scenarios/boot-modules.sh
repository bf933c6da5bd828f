#!/usr/bin/env bash
# Debian's kernel loads its own modules under vmm (virtio_mmio and virtiofs
# with their dependencies, as device scenarios need).
. "$(dirname "$0")/../lib/scenario.sh"

run_guest modules "vmmtest=modules"
expect_status 0 "guest powered off"
expect_out '^VMMTEST: scenario modules exit 0$' "modprobe succeeded"
mods=$(guest_value modules)
for m in virtio virtio_ring virtio_mmio fuse virtiofs; do
	case " $mods " in *" $m "*) ;; *) fail "module $m not loaded (loaded: $mods)" ;; esac
done
pass "guest loaded: $mods"
