# Data path: verify the back-end's patterns through the SHM registers and
# /dev/mem, fill a read-write mapping for the back-end to check, then see
# the file the back-end mapped in place of another.  virtio_mmio must stay
# unloaded (IO_STRICT_DEVMEM).
. /lib/vmmtest.sh
. /scenarios/vu-probe.sh
vmmtest_say "ready"
read -r _
probe verify1 verify 63 0 0 0x2000 11 &&
probe verify2 verify 63 0 0x10000 0x1000 12 &&
probe verify3 verify 63 1 0x3000 0x1000 13 &&
probe fill fill 63 1 0x8000 0x1000 21 || exit 1
vmmtest_say "verified 3 mappings, filled shm1+0x8000"
read -r _
probe replaced verify 63 0 0x10000 0x1000 14 &&
probe kept verify 63 0 0 0x2000 11 || exit 1
vmmtest_say "replaced mapping verified"
