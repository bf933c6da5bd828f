#!/usr/bin/env bash
# Debian's stock kernel and the busybox initramfs boot under `vmm run`;
# init prints its marker and powers off; vmm exits 0.
. "$(dirname "$0")/../lib/scenario.sh"

run_guest poweroff ""
expect_out '^VMMTEST: init ok$' "init ran"
expect_status 0 "guest powered off"
pass "guest reached init and powered off in $SECONDS_TAKEN s"
