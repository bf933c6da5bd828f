# An interactive shell on the console; the machine powers off when it exits.
. /lib/vmmtest.sh
vmmtest_say "shell (exit to power off)"
setsid cttyhack sh -l
