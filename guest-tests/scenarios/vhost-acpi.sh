#!/usr/bin/env bash
# ACPI discovery: the stock kernel's virtio_mmio finds every --vhost-user
# device through its LNRO0005 DSDT entry, with the configured device id.
. "$(dirname "$0")/../lib/scenario.sh"
. "$(dirname "$0")/../lib/vhost.sh"

backend ex0 --shm 0:2M --shm 1:1M
backend ex1 --queues 2
run_guest acpi "vmmtest=vu-acpi" \
	--vhost-user "socket=$SCEN_TMP/ex0.sock,virtio-id=63,name=ex0" \
	--vhost-user "socket=$SCEN_TMP/ex1.sock,virtio-id=42,queues=2,queue-size=64,name=ex1"
expect_out '^VMMTEST: scenario vu-acpi exit 0$' "the in-guest scenario ran"
expect_status 0 "guest powered off"
list=$(guest_value 'virtio devices:')
ids=$(tr ' ' '\n' <<< "$list" | sed -n 's/^virtio[0-9]*=//p' | sort | tr '\n' ' ')
[ "$ids" = "0x002a 0x003f " ] ||
	fail "guest lists '$list', expected exactly devices 0x002a and 0x003f"
pass "guest lists both devices with their ids:$list"
