#!/usr/bin/env bash
# A guest kernel panic with panic=-1: the kernel reboots at once, so vmm
# exits with the reboot status 3 (docs/cli.md, exit statuses).
. "$(dirname "$0")/../lib/scenario.sh"

run_guest panic "vmmtest=panic"
expect_out '^VMMTEST: panicking$' "the panic scenario ran"
expect_out 'Kernel panic' "the guest kernel panicked"
expect_status 3 "guest kernel panic with panic=-1 (a reboot)"
pass "guest panic gives status 3"
