# Crash the kernel on purpose (the command line sets panic=-1, so the
# kernel then reboots at once).
. /lib/vmmtest.sh
vmmtest_say "panicking"
echo 1 > /proc/sys/kernel/sysrq
echo c > /proc/sysrq-trigger
