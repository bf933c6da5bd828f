#!/usr/bin/env bash
# Build vmm and run the whole test suite (unit tests and KVM guest tests).
#
# Every test runs once. The one exception: a guest scenario during which
# the outer VM that gives it KVM (QEMU emulating AMD SVM, docs/testing.md)
# stopped or wedged. The runner then records the scenario in
# $VMM_TEST_LOST_DIR (guest-tests/runner/run-in-kvm.sh), its outcome was
# lost with the machine under it, and it is run once more, on a fresh outer
# VM. Nothing else is ever retried: not a unit or smoke test, not a guest
# that crashed, hung or failed a check, not on direct KVM. Every retried
# test is listed at the end. The suite fails when a retried test fails
# again or loses its outer VM again, and when a test needed a retry in this
# run and in the run before it (VMM_TEST_RETRY_HISTORY, default
# BUILD/retry-history, one line per run).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMM_WERROR=ON
cmake --build "$build" -j"$(nproc)"

lost=$PWD/$build/outer-vm-lost
history=${VMM_TEST_RETRY_HISTORY:-$PWD/$build/retry-history}
failed_log=$build/Testing/Temporary/LastTestsFailed.log

# run_ctest [ctest args...]: one ctest run with a fresh record of lost
# outer VMs; sets failed=(names of the tests that failed).
run_ctest() {
	local rc=0
	rm -rf "$lost"
	mkdir -p "$lost"
	rm -f "$failed_log"
	VMM_TEST_LOST_DIR=$lost ctest --test-dir "$build" --output-on-failure "$@" || rc=$?
	failed=()
	[ -f "$failed_log" ] && mapfile -t failed < <(cut -d: -f2- "$failed_log")
	[ "$rc" -eq 0 ] || [ "${#failed[@]}" -gt 0 ] ||
		failed=("(ctest exited $rc without naming a failed test)")
}

# The fixtures that stop the outer VM fail when its kernel panicked during
# the run; with a lost scenario in the same run, that is the same event.
is_outer_fixture() {
	case $1 in guest.kvm.down|guest.outer.down) return 0 ;; esac
	return 1
}

run_ctest
retry=() hard=() reasons=()
for t in "${failed[@]}"; do
	if [ -f "$lost/$t" ]; then
		retry+=("$t")
		reasons+=("$t: $(head -n 1 "$lost/$t")")
	elif is_outer_fixture "$t" && [ -n "$(ls -A "$lost")" ]; then
		reasons+=("$t: failed in a run where the outer VM was lost (its console shows it)")
	else
		hard+=("$t")
	fi
done

status=0
if [ "${#hard[@]}" -gt 0 ]; then
	echo "test.sh: failed (not retried): ${hard[*]}" >&2
	status=1
fi
again=()
if [ "${#retry[@]}" -gt 0 ] && [ "$status" -eq 0 ]; then
	echo "test.sh: the outer VM was lost under ${retry[*]}; running them once more on a fresh outer VM"
	regex=$(printf '%s\n' "${retry[@]}" | sed 's/[.[\*^$()+?{|]/\\&/g; s/^/^/; s/$/$/' | paste -sd'|')
	run_ctest -R "$regex"
	for t in "${failed[@]}"; do
		if [ -f "$lost/$t" ]; then
			again+=("$t")
			echo "test.sh: $t lost its outer VM twice in a row: $(head -n 1 "$lost/$t")" >&2
		else
			echo "test.sh: $t failed on its retry" >&2
		fi
		status=1
	done
elif [ "${#retry[@]}" -gt 0 ]; then
	echo "test.sh: not retrying ${retry[*]}: other tests failed" >&2
	status=1
fi

# One line per run: the tests that needed a retry (may be empty).
previous=$(tail -n 1 "$history" 2>/dev/null || true)
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) ${retry[*]}" >> "$history"
for t in "${retry[@]}"; do
	case " ${previous#* } " in
	*" $t "*)
		echo "test.sh: $t needed a retry in the previous run too ($history)" >&2
		status=1 ;;
	esac
done

if [ "${#reasons[@]}" -gt 0 ]; then
	echo "test.sh: tests that lost their outer VM, and why (each retried once, unless another test failed):"
	printf '  %s\n' "${reasons[@]}"
else
	echo "test.sh: no test lost its outer VM; none was retried"
fi
exit "$status"
