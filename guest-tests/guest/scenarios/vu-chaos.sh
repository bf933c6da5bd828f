# Chaos measurement (docs/testing.md): device 0 (id 63) has a healthy
# back-end, devices 1..N misbehaving ones. vCPU 0 drives a device while
# vCPU 1 measures how long it is kept from running; first the healthy
# device, then, once the host has armed the others, each of them in turn.
# With vmmtest.chaos.rounds=R (> 1), R rounds follow the arming, each a
# healthy phase then the chaos phases, so both are measured alike.
# Parameters: vmmtest.chaos.devs=N, vmmtest.chaos.secs=S, vmmtest.chaos.rounds=R.
. /lib/vmmtest.sh
n=$(vmmtest_param vmmtest.chaos.devs) || n=1
secs=$(vmmtest_param vmmtest.chaos.secs) || secs=5
rounds=$(vmmtest_param vmmtest.chaos.rounds) || rounds=1

# phase LABEL INDEX: hammer device INDEX on vCPU 0, heartbeat on vCPU 1.
phase() {
	chaos-probe heartbeat "$secs" 1 > /tmp/hb.out &
	hb=$!
	chaos-probe hammer "$2" "$secs" 0 > /tmp/hm.out || {
		vmmtest_say "$1: hammer failed"
		return 1
	}
	wait $hb
	vmmtest_say "$1: $(sed 's/^VMMTEST: //' /tmp/hm.out); $(sed 's/^VMMTEST: //' /tmp/hb.out)"
}

phase healthy 0 || exit 1
vmmtest_say "armed?"
read -r _
r=1
while [ "$r" -le "$rounds" ]; do
	[ "$r" -gt 1 ] && { phase healthy 0 || exit 1; }
	i=1
	while [ "$i" -le "$n" ]; do
		phase "chaos $i" "$i" || exit 1
		i=$((i + 1))
	done
	r=$((r + 1))
done
vmmtest_say "chaos done"
# Alive until the host stops vmm: a heartbeat line every two seconds.
i=0
while :; do
	chaos-probe heartbeat 2 1 > /tmp/hb.out
	i=$((i + 1))
	vmmtest_say "alive $i $(sed 's/^VMMTEST: //' /tmp/hb.out)"
done
