#!/usr/bin/env bash
# vmm-virtiofsd killed (SIGKILL) and restarted while a guest has the share
# mounted: vmm and the guest survive, the guest's dead mount gives errors,
# and after a device reset the guest mounts the new daemon and uses it.
. "$(dirname "$0")/../lib/scenario.sh"
. "$(dirname "$0")/../lib/vhost.sh"

OURS=$VMM_BUILD_DIR/virtiofs/vmm-virtiofsd
[ -x "$OURS" ] || fail "vmm-virtiofsd is not built: $OURS"
mkdir "$SCEN_TMP/share"
echo "from the first daemon" > "$SCEN_TMP/share/hello.txt"
spawn fsd1 "$OURS" --socket-path "$SCEN_TMP/fs.sock" --shared-dir "$SCEN_TMP/share"
first=$SPAWNED
wait_for "$SCEN_TMP/fs.sock" 20
start_guest restart "vmmtest=vfs-restart vfs.tag=share" \
	--vhost-user "socket=$SCEN_TMP/fs.sock,type=fs,tag=share,name=fs0"
wait_out '^VMMTEST: ready' 120
echo "host> kill -KILL $first (vmm-virtiofsd)"
kill -KILL "$first"
wait_err '^vmm: vhost-user fs0: back-end disconnected \(the back-end closed the connection\); device stopped$' 20
echo "from the second daemon" > "$SCEN_TMP/share/hello2.txt"
spawn fsd2 "$OURS" --socket-path "$SCEN_TMP/fs.sock" --shared-dir "$SCEN_TMP/share"
for _ in $(seq 100); do
	grep -q 'sharing ' "$SCEN_TMP/fsd2.log" && break
	sleep 0.1
done
grep -q 'sharing ' "$SCEN_TMP/fsd2.log" || fail "the second daemon did not start"
to_guest go
end_guest
show_log fsd2
expect_out '^VMMTEST: before: from the first daemon$' "the first daemon served"
expect_out '^VMMTEST: after: cat: (can.t open ./mnt/hello.txt.: )?Transport endpoint is not connected$' \
	"the dead mount gives errors"
expect_out '^VMMTEST: new daemon: from the second daemon$' "the new daemon serves"
expect_out '^VMMTEST: scenario vfs-restart exit 0$' "every guest step passed"
expect_status 0 "guest powered off"
[ "$(cat "$SCEN_TMP/share/back.txt" 2>/dev/null)" = "written after the restart" ] ||
	fail "the guest's write through the new daemon is missing"
pass "daemon killed: vmm '$(grep disconnected "$ERR")'; guest got '$(guest_value after:)'; remounted on the new daemon and wrote back.txt"
