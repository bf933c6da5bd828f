#!/usr/bin/env bash
# Installed libraries export their public API and nothing else.
#
# Usage: check-exports.sh PREFIX SRC_DIR
#
# For each installed library, the defined global symbols (nm) must be
# exactly the names in its .sym file; and every function the installed
# public headers declare (outside static inline ones) must be in one of the
# .sym files. An internal name such as kvm_init or bus_read would collide
# with a name of the program that embeds us; a public function missing
# from the list would fail to link.
set -euo pipefail
prefix=$1 src=$2
fail=0

syms() {	# the names of a .sym file
	grep -v '^[[:space:]]*\(#\|$\)' "$1" | tr -d ' \t' | sort -u
}

exported() {	# defined global symbols of a library file
	case $1 in
	*.so*) nm -D --defined-only "$1" ;;
	*) nm -g --defined-only "$1" ;;
	esac | awk 'NF == 3 && $2 ~ /^[A-Z]$/ { print $3 }' | sort -u
}

check_lib() {	# LIB SYMFILE
	local lib=$1 list=$2 extra missing bad=0
	[ -e "$lib" ] || { echo "check-exports: $lib not installed" >&2; fail=1; return; }
	extra=$(comm -23 <(exported "$lib") <(syms "$list"))
	missing=$(comm -13 <(exported "$lib") <(syms "$list"))
	if [ -n "$extra" ]; then
		echo "check-exports: $(basename "$lib") exports names outside its API ($list):" >&2
		echo "$extra" | sed 's/^/  /' >&2
		bad=1
	fi
	if [ -n "$missing" ]; then
		echo "check-exports: $(basename "$lib") lacks public functions:" >&2
		echo "$missing" | sed 's/^/  /' >&2
		bad=1
	fi
	[ "$bad" -eq 0 ] || { fail=1; return; }
	echo "check-exports: $(basename "$lib"): $(exported "$lib" | wc -l) symbols, all public"
}

# Function declarations of a header: the identifier before the first '(' of
# each top-level statement ending in ';' (bodies, struct members, macros and
# comments skipped).
declared() {
	local h
	for h in "$@"; do
		# Comments out, directives and macros untouched, nothing expanded.
		cpp -fpreprocessed -dD -P "$h"
	done | awk '
		BEGIN { depth = 0; stmt = "" }
		/^[[:space:]]*#/ { next }
		{
			n = length($0)
			for (i = 1; i <= n; i++) {
				c = substr($0, i, 1)
				if (c == "{" && depth == 0 && stmt ~ /extern[[:space:]]*"C"/) {
					stmt = ""	# C++ linkage block: still top level
					continue
				}
				if (c == "{") { if (depth == 0) stmt = ""; depth++; continue }
				if (c == "}") { if (depth > 0) depth--; continue }
				if (depth > 0) continue
				if (c == ";") {
					if (stmt !~ /^[[:space:]]*(typedef|static|extern[[:space:]]+"C")/ &&
					    match(stmt, /[A-Za-z_][A-Za-z0-9_]*[[:space:]]*\(/)) {
						name = substr(stmt, RSTART, RLENGTH)
						sub(/[[:space:]]*\($/, "", name)
						if (name !~ /^_/) print name
					}
					stmt = ""
					continue
				}
				stmt = stmt c
			}
			stmt = stmt " "
		}' | sort -u
}

check_lib "$prefix"/lib*/libvmm.a "$src/vmm/libvmm.sym"
check_lib "$(ls "$prefix"/lib*/libvmm.so.* | head -n 1)" "$src/vmm/libvmm.sym"
check_lib "$prefix"/lib*/libvmm_vhost_backend.a "$src/vhost/libvmm_vhost_backend.sym"

headers=$(find "$prefix/include" -name '*.h' | sort)
undeclared=$(comm -23 <(declared $headers) \
	<(cat "$src/vmm/libvmm.sym" "$src/vhost/libvmm_vhost_backend.sym" |
	  grep -v '^[[:space:]]*\(#\|$\)' | sort -u))
if [ -n "$undeclared" ]; then
	echo "check-exports: installed headers declare functions no library exports:" >&2
	echo "$undeclared" | sed 's/^/  /' >&2
	fail=1
fi
echo "check-exports: $(declared $headers | wc -l) functions declared in $(echo "$headers" | wc -l) installed headers"
exit "$fail"
