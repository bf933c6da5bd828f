# Reboot at once: the VMM must report a guest reboot.
. /lib/vmmtest.sh
vmmtest_say "rebooting"
reboot -f
