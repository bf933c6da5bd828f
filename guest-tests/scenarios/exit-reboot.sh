#!/usr/bin/env bash
# A guest `reboot -f` ends vmm with the reboot status 3, or 0 with
# --reboot-ok.
. "$(dirname "$0")/../lib/scenario.sh"

run_guest reboot "vmmtest=reboot"
expect_out '^VMMTEST: rebooting$' "the reboot scenario ran"
expect_status 3 "guest reboot"

run_guest reboot-ok "vmmtest=reboot" --reboot-ok
expect_out '^VMMTEST: rebooting$' "the reboot scenario ran"
expect_status 0 "guest reboot with --reboot-ok"
pass "reboot gives 3, and 0 with --reboot-ok"
