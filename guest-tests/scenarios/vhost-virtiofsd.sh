#!/usr/bin/env bash
# A real back-end no one here wrote: Debian's virtiofsd as a type=fs
# device.  The stock guest loads virtiofs, mounts the tag, reads a file
# written here and writes one back that is read here.
. "$(dirname "$0")/../lib/scenario.sh"
. "$(dirname "$0")/../lib/vhost.sh"

[ -x "$VIRTIOFSD" ] || fail "virtiofsd not found: $VIRTIOFSD (qemu-system-common)"
mkdir "$SCEN_TMP/share"
token="hello from the host $RANDOM$RANDOM"
echo "$token" > "$SCEN_TMP/share/hello.txt"
spawn virtiofsd "$VIRTIOFSD" --socket-path="$SCEN_TMP/fs.sock" \
	-o source="$SCEN_TMP/share" -o sandbox=chroot
wait_for "$SCEN_TMP/fs.sock" 20
run_guest fs "vmmtest=vu-fs vu.tag=hostshare" \
	--vhost-user "socket=$SCEN_TMP/fs.sock,type=fs,tag=hostshare"
show_log virtiofsd
expect_out "^VMMTEST: host file: $token\$" "guest read the host's file"
expect_out '^VMMTEST: scenario vu-fs exit 0$' "every guest step passed"
expect_status 0 "guest powered off"
back=$(cat "$SCEN_TMP/share/back.txt" 2>/dev/null) || fail "the guest wrote no back.txt"
[ "$back" = "guest got: $token" ] || fail "back.txt says '$back'"
pass "guest read '$token' through virtiofsd; host read back '$back'"
