#!/usr/bin/env bash
# `--cpus N`: the guest kernel brings up N CPUs.
. "$(dirname "$0")/../lib/scenario.sh"
n=${1:-2}

run_guest "cpus$n" "vmmtest=cpus" --cpus "$n"
expect_out '^VMMTEST: scenario cpus exit 0$' "the cpus scenario ran"
expect_status 0 "guest powered off"
line=$(guest_value cpus)
[ "$line" = "online 0-$((n - 1)) nproc $n" ] ||
	fail "guest reports '$line', expected 'online 0-$((n - 1)) nproc $n'"
pass "guest reports $n CPUs ($line)"
