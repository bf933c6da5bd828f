# Read a mapped page; then a page the back-end maps only a second after
# the guest touched it (vmm waits, the guest goes on); then one nobody
# ever maps: vmm must stop the VM.
. /lib/vmmtest.sh
. /scenarios/vu-probe.sh
vmmtest_say "ready"
read -r _
probe mapped verify 63 0 0 0x1000 11 || exit 1
vmmtest_say "touching a page mapped late"
probe late verify 63 0 0x20000 0x1000 12 || exit 1
vmmtest_say "read the page mapped late"
shmem-probe peek 63 0 0x40000
vmmtest_say "still running after the hole access"
