# shellcheck shell=bash
# Helpers for scenarios with vhost-user back-ends (source after scenario.sh).
#
#   backend NAME ARGS...       start the example back-end with a socket
#                              ($SCEN_TMP/NAME.sock) and a control socket
#                              ($SCEN_TMP/NAME.ctl)
#   ctl NAME COMMAND...        one control command; answer in $CTL_ANSWER
#   ctl_ok NAME COMMAND...     the same, failing the scenario unless `ok`
#   wait_connected NAME S      until vmm has negotiated with back-end NAME
#   start_guest LABEL EXTRA_CMDLINE [vmm options...]
#                              boot in the background, console input from
#                              a pipe: `to_guest LINE` answers a guest `read`
#   wait_out REGEX S           until the guest printed a matching line
#   wait_err REGEX S           until vmm printed a matching stderr line
#   end_guest                  wait for vmm to exit; $OUT $ERR $STATUS as
#                              run_cmd sets them
EXAMPLE_BACKEND=$VMM_BUILD_DIR/vhost/vhost-user-shmem-example
# shellcheck disable=SC2034 # used by the scenarios
VIRTIOFSD=${VMM_VIRTIOFSD:-/usr/lib/qemu/virtiofsd}

backend() {
	local name=$1
	shift
	[ -x "$EXAMPLE_BACKEND" ] || fail "example back-end not built: $EXAMPLE_BACKEND"
	spawn "$name" "$EXAMPLE_BACKEND" --socket "$SCEN_TMP/$name.sock" \
		--control "$SCEN_TMP/$name.ctl" "$@"
	wait_for "$SCEN_TMP/$name.sock" 10
	wait_for "$SCEN_TMP/$name.ctl" 10
}

ctl() {
	local name=$1 rc=0
	shift
	CTL_ANSWER=$("$EXAMPLE_BACKEND" --send "$SCEN_TMP/$name.ctl" "$@") || rc=$?
	echo "host> $name: $* -> $CTL_ANSWER"
	return $rc
}

ctl_ok() {
	ctl "$@" || fail "back-end $1: '${*:2}' answered '$CTL_ANSWER'"
}

wait_connected() {
	for _ in $(seq $(($2 * 5))); do
		ctl "$1" status > /dev/null 2>&1 || true
		case $CTL_ANSWER in "ok connected=1 channel=1"*) return 0 ;; esac
		sleep 0.2
	done
	fail "back-end $1 not connected to vmm within $2 s ($CTL_ANSWER)"
}

# map_ok NAME ARGS...: `map` (retried while vmm is still attaching regions).
map_ok() {
	local name=$1
	shift
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		ctl "$name" map "$@" && return 0
		[ "$CTL_ANSWER" = "err refused by front-end" ] || break
		sleep 0.5
	done
	fail "back-end $name: 'map $*' answered '$CTL_ANSWER'"
}

start_guest() {
	local label=$1 extra=$2
	shift 2
	need_vmm
	GUEST_LABEL=$label
	OUT=$SCEN_TMP/$label.out
	ERR=$SCEN_TMP/$label.err
	mkfifo "$SCEN_TMP/$label.in"
	echo "+ $VMM run --kernel $KERNEL --initrd $INITRD --cmdline '$BASE_CMDLINE $extra' $*"
	GUEST_T0=$(date +%s.%N)
	timeout -k 5 "$GUEST_TIMEOUT" "$VMM" run --kernel "$KERNEL" \
		--initrd "$INITRD" --cmdline "$BASE_CMDLINE $extra" "$@" \
		< "$SCEN_TMP/$label.in" > "$OUT.raw" 2> "$ERR" &
	GUEST_PID=$!
	SCEN_PIDS+=("$GUEST_PID")
	exec 3> "$SCEN_TMP/$label.in"
}

to_guest() {
	echo "host> console: $*"
	echo "$*" >&3
}

# wait_file FILE REGEX SECONDS WHAT
wait_file() {
	for _ in $(seq $(($3 * 5))); do
		tr -d '\r' < "$1" | grep -qE -- "$2" && return 0
		if ! kill -0 "$GUEST_PID" 2>/dev/null; then
			tr -d '\r' < "$1" | grep -qE -- "$2" && return 0
			end_guest
			fail "vmm exited (status $STATUS) before $4 printed '$2'"
		fi
		sleep 0.2
	done
	tr -d '\r' < "$OUT.raw" | sed 's/^/  | /'
	fail "no $4 line matching '$2' within $3 s"
}

wait_out() {
	wait_file "$OUT.raw" "$1" "$2" guest
}

wait_err() {
	wait_file "$ERR" "$1" "$2" vmm
}

end_guest() {
	local t1
	STATUS=0
	wait "$GUEST_PID" || STATUS=$?
	exec 3>&-
	t1=$(date +%s.%N)
	tr -d '\r' < "$OUT.raw" > "$OUT"
	SECONDS_TAKEN=$(awk -v a="$GUEST_T0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	echo "--- $GUEST_LABEL: exit status $STATUS after $SECONDS_TAKEN s; stdout:"
	sed 's/^/  | /' "$OUT"
	echo "--- $GUEST_LABEL: stderr:"
	sed 's/^/  | /' "$ERR"
	[ "$STATUS" -ne 124 ] || fail "$GUEST_LABEL: did not finish within $GUEST_TIMEOUT s"
	return 0
}

# show_log NAME: a helper's log, for the test output.
show_log() {
	echo "--- $1 log:"
	sed 's/^/  | /' "$SCEN_TMP/$1.log"
}
