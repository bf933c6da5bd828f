# shellcheck shell=dash
# Benchmark 3 (docs/benchmarks.md): shmem-bw over the mapping the host
# makes in shm 0 of device 63, against guest RAM.  Command line:
# shmbw.mib=MIB shmbw.passes=N shmbw.seed=SEED (the back-end's pattern).
# debugfs holds the PAT memtype list that shmem-bw checks.  virtio_mmio
# must stay unloaded (IO_STRICT_DEVMEM).
. /lib/vmmtest.sh
mount -t debugfs debugfs /sys/kernel/debug ||
	{ vmmtest_say "shmbw: cannot mount debugfs"; exit 1; }
mib=$(vmmtest_param shmbw.mib) || mib=256
passes=$(vmmtest_param shmbw.passes) || passes=20
seed=$(vmmtest_param shmbw.seed) || seed=
vmmtest_say "ready"
read -r _
shmem-bw -m "$mib" -p "$passes" ${seed:+-S "$seed"} 2> /tmp/shmem-bw.err
rc=$?
sed 's/^/VMMTEST: shmbw error: /' /tmp/shmem-bw.err
exit $rc
