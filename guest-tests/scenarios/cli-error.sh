#!/usr/bin/env bash
# Bad input gives exit status 1 and exactly one line on stderr that names
# the problem (the option, or the kernel file), before any guest runs.
# Usage: cli-error.sh missing-kernel|not-bzimage|memory-zero|cpus-zero
. "$(dirname "$0")/../lib/scenario.sh"
need_vmm

case ${1:?which error} in
missing-kernel)
	bad=$SCEN_TMP/no-such-bzImage
	args=(run --kernel "$bad" --initrd "$INITRD")
	names=("$bad" kernel) ;;
not-bzimage)
	bad=$SCEN_TMP/not-a-kernel
	{ echo "this is a text file, not a kernel"; head -c 16384 /dev/zero; } > "$bad"
	args=(run --kernel "$bad" --initrd "$INITRD")
	names=("$bad" kernel) ;;
memory-zero)
	args=(run --kernel "$KERNEL" --initrd "$INITRD" --memory 0)
	names=(--memory) ;;
cpus-zero)
	args=(run --kernel "$KERNEL" --initrd "$INITRD" --cpus 0)
	names=(--cpus) ;;
*) fail "unknown case $1" ;;
esac

run_cmd "$1" "$VMM" "${args[@]}" --cmdline "$BASE_CMDLINE"
expect_status 1 "bad invocation or input"
expect_err_lines 1
expect_err '^vmm: ' "an error line starting with 'vmm: '"
named=0
for n in "${names[@]}"; do
	grep -qF -- "$n" "$ERR" && named=1
done
[ "$named" = 1 ] || fail "the error line names none of: ${names[*]}"
[ ! -s "$OUT" ] || fail "no guest should have run, but stdout is not empty"
pass "$1: status 1, one line: $(cat "$ERR")"
