#!/usr/bin/env bash
# The boot marker: init writes 123 to port 0x3f0 and vmm, at log level
# info, logs exactly one "vmm: boot marker: N ms since start" line; a
# guest that does not write it gets no such line.
. "$(dirname "$0")/../lib/scenario.sh"
re='^vmm: boot marker: [0-9]+\.[0-9]{3} ms since start$'

run_guest marker "" --log-level info
expect_status 0 "guest powered off"
expect_out '^VMMTEST: init ok$' "init ran"
n=$(count_err "$re")
[ "$n" -eq 1 ] || fail "expected one boot marker line, got $n"
ms=$(grep -E "$re" "$ERR" | awk '{ print $4 }')
[ "$(count_err '^vmm: boot marker')" -eq 1 ] || fail "a malformed boot marker line"

run_guest nomarker "vmmtest.marker=0" --log-level info
expect_status 0 "guest powered off"
expect_out '^VMMTEST: init ok$' "init ran"
[ "$(count_err 'boot marker')" -eq 0 ] || fail "boot marker logged though the guest wrote none"
pass "boot marker logged once at $ms ms; none without the guest's write"
