# The back-end is killed while the guest runs: the console still answers.
. /lib/vmmtest.sh
. /scenarios/vu-probe.sh
vmmtest_say "ready"
read -r _
probe before verify 63 0 0 0x1000 11 || exit 1
vmmtest_say "kill now"
read -r line
vmmtest_say "console answered: $line"
probe after verify 63 0 0 0x1000 11 || exit 1
vmmtest_say "mapping still verified"
