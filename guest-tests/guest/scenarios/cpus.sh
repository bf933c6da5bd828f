# Report how many CPUs the guest kernel brought up.
. /lib/vmmtest.sh
vmmtest_say "cpus online $(cat /sys/devices/system/cpu/online) nproc $(nproc)"
