#!/usr/bin/env bash
# Back-end killed while the guest runs: vmm logs the disconnect, the guest
# keeps running, its console answers and the mapping stays readable.
. "$(dirname "$0")/../lib/scenario.sh"
. "$(dirname "$0")/../lib/vhost.sh"

backend ex0 --shm 0:2M
be=$SPAWNED
start_guest kill "vmmtest=vu-kill" \
	--vhost-user "socket=$SCEN_TMP/ex0.sock,virtio-id=63,name=ex0"
wait_connected ex0 60
map_ok ex0 0 0 0x1000 11 ro
wait_out '^VMMTEST: ready' 90
to_guest go
wait_out '^VMMTEST: kill now' 60
echo "host> kill -KILL $be (the back-end)"
kill -KILL "$be"
wait_err '^vmm: vhost-user ex0: back-end disconnected \(the back-end closed the connection\); device stopped$' 20
token="after-kill-$RANDOM"
to_guest "$token"
end_guest
expect_out "^VMMTEST: console answered: $token\$" "the console answers"
expect_out '^VMMTEST: mapping still verified$' "the guest still reads the mapping"
expect_out '^VMMTEST: scenario vu-kill exit 0$' "every guest check passed"
expect_status 0 "guest powered off"
pass "back-end killed; vmm: '$(grep disconnected "$ERR")'; guest answered '$token' and powered off"
