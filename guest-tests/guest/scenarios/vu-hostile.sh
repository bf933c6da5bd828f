# After the back-end's invalid requests, the valid mappings still verify.
. /lib/vmmtest.sh
. /scenarios/vu-probe.sh
vmmtest_say "ready"
read -r _
probe valid1 verify 63 0 0 0x2000 11 &&
probe valid2 verify 63 1 0x3000 0x1000 13 || exit 1
vmmtest_say "valid mappings verified"
