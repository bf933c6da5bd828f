# Read a read-only mapping, then write to it: vmm must stop the VM.
. /lib/vmmtest.sh
. /scenarios/vu-probe.sh
vmmtest_say "ready"
read -r _
probe ro verify 63 0 0 0x1000 11 || exit 1
probe rw verify 63 0 0x1000 0x1000 12 || exit 1
shmem-probe poke 63 0 0x1000 0x5a > /dev/null || exit 1
vmmtest_say "read-only mapping verified, read-write one written; writing to the read-only one"
shmem-probe poke 63 0 0x10 0x5a
vmmtest_say "still running after the write to a read-only mapping"
