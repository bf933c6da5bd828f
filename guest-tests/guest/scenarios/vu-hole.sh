# Read a mapped page, then an unmapped one: vmm must stop the VM.
. /lib/vmmtest.sh
. /scenarios/vu-probe.sh
vmmtest_say "ready"
read -r _
probe mapped verify 63 0 0 0x1000 11 || exit 1
shmem-probe peek 63 0 0x20000
vmmtest_say "still running after the hole access"
