#!/usr/bin/env bash
# A guest write to a read-only shared-memory mapping: on Debian 12's kernel
# (the outer VM's, and the reference host) KVM_RUN fails with EFAULT and
# vmm stops the VM with exit status 5 and one "guest shared memory fault"
# line, as for an unmapped page (docs/architecture.md). The guest first
# reads the read-only mapping and writes its read-write neighbour, which
# must work; the back-end sends a read-only fd for the read-only map, so a
# front-end that mapped it writable would be refused at once.
. "$(dirname "$0")/../lib/scenario.sh"
. "$(dirname "$0")/../lib/vhost.sh"

backend ex0 --shm 0:2M
start_guest rowrite "vmmtest=vu-rowrite" \
	--vhost-user "socket=$SCEN_TMP/ex0.sock,virtio-id=63,name=ex0"
wait_connected ex0 60
map_ok ex0 0 0 0x1000 11 ro
map_ok ex0 0 0x1000 0x1000 12 rw
wait_out '^VMMTEST: ready' 90
to_guest go
wait_out '^VMMTEST: read-only mapping verified' 60
end_guest
expect_status 5 "a guest write to a read-only mapping stops the VM"
expect_no_out 'still running after the write' "the write did not complete"
expect_no_out 'failed:' "the reads and the read-write write worked"
re='^vmm: guest shared memory fault: vCPU [0-9]+ rip 0x[0-9a-f]+: .*; regions: ex0 shm0 0x[0-9a-f]+\+0x200000 2 mappings$'
[ "$(count_err "$re")" -eq 1 ] || fail "no single diagnostic line matching '$re'"
expect_err_lines 1
pass "vmm exited 5 on the guest's write to a read-only mapping: $(cat "$ERR")"
