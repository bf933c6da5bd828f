#!/usr/bin/env bash
# The embedding example boots the same guest through libvmm and reports
# that the guest powered off.
. "$(dirname "$0")/../lib/scenario.sh"
[ -n "${VMM_EMBED:-}" ] && [ -x "$VMM_EMBED" ] ||
	fail "vmm-embed-example is not built: '${VMM_EMBED:-}'"
need_file "$KERNEL" "guest kernel"

run_cmd embed "$VMM_EMBED" "$KERNEL" "$INITRD" "$BASE_CMDLINE"
expect_out '^VMMTEST: init ok$' "init ran"
expect_status 0 "guest powered off"
# The example's own report (the guest kernel's "reboot: Power down" does
# not count).
expect_out '^vmm-embed-example: guest stopped: power off(: .*)?$' \
	"the example's exit reason line"
pass "embedded VM booted and powered off: $(grep '^vmm-embed-example: guest stopped' "$OUT")"
