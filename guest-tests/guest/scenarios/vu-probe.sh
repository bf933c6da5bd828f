# shellcheck shell=dash
# probe TAG ARGS...: run shmem-probe ARGS quietly; on failure print its
# output and TAG.  Returns its status.  Sourced by the vu-* scenarios.
probe() {
	local tag=$1
	shift
	shmem-probe "$@" > /tmp/probe.log 2>&1 && return 0
	sed 's/^/VMMTEST: probe: /' /tmp/probe.log
	vmmtest_say "$tag failed: shmem-probe $*"
	return 1
}
