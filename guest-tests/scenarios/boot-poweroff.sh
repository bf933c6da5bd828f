#!/usr/bin/env bash
# Debian's stock kernel and the busybox initramfs boot under `vmm run`;
# init prints its marker and powers off; vmm exits 0.  At log level debug
# the guest's probing of absent devices (thousands of port accesses) is
# logged only up to a limit, so the debug log of a boot stays readable.
. "$(dirname "$0")/../lib/scenario.sh"

run_guest poweroff "" --log-level debug
expect_out '^VMMTEST: init ok$' "init ran"
expect_status 0 "guest powered off"
n=$(count_err '^vmm: unclaimed (port|MMIO) ')
[ "$n" -ge 1 ] && [ "$n" -le 64 ] ||
	fail "expected 1 to 64 unclaimed-access lines at debug level, got $n"
[ "$(count_err '^vmm: 64 unclaimed I/O accesses logged; the rest are not$')" -eq 1 ] ||
	fail "no line saying further unclaimed accesses are not logged"
pass "guest reached init and powered off in $SECONDS_TAKEN s; $n unclaimed-access lines at debug level"
