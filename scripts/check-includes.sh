#!/usr/bin/env bash
# The arrows between rooms, checked on every project include.
#
# Usage: check-includes.sh SRC_DIR
#
#   shmem/, vhost/         never include anything of vmm/
#   virtiofs/              its own files and the public vhost headers only
#   vmm/src/base/          base/ and common/ only
#   vmm/src/boot/          base/, boot/ and common/ only
#   vmm/src/devices/       base/, devices/ and common/ only: devices receive
#                          services (devices/device.h), never the machine
#   vmm/src/api/           core/devices.h, devices/, base/, common/
#   vmm/src/core/          anything of vmm/src (it is the composition root)
#   vmm/cli/               its own files, common/ and the public headers
#
# Public headers (<vmm/...>, <vhost/...>, <shmem/...>) may be included from
# anywhere below them. Then: no file-level include cycle anywhere in
# shmem/, vhost/, vmm/ (tsort finds loops).
set -euo pipefail
src=${1:-.}
cd "$src"
fail=0

# Project includes of a file: the quoted ones, as written.
quoted() {
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"
}

allowed() {	# FILE INCLUDE -> 0 if the arrow is allowed
	local f=$1 inc=$2
	case $inc in
	common/*) return 0 ;;
	esac
	case $f in
	shmem/*|vhost/*)
		case $inc in
		*vmm/*|base/*|boot/*|core/*|devices/*|api/*) return 1 ;;
		esac
		return 0 ;;
	virtiofs/*)
		case $inc in
		vhost/backend.h|vhost/log.h|vhost/proto.h|virtiofs/*) return 0 ;;
		*/*) return 1 ;;
		esac
		return 0 ;;
	vmm/src/base/*)
		case $inc in base/*) return 0 ;; esac
		return 1 ;;
	vmm/src/boot/*)
		case $inc in base/*|boot/*) return 0 ;; esac
		return 1 ;;
	vmm/src/devices/*)
		case $inc in base/*|devices/*) return 0 ;; esac
		return 1 ;;
	vmm/src/api/*)
		case $inc in core/devices.h|devices/*|base/*) return 0 ;; esac
		return 1 ;;
	vmm/src/core/*)
		case $inc in base/*|boot/*|core/*|devices/*) return 0 ;; esac
		return 1 ;;
	vmm/cli/*)
		case $inc in */*) return 1 ;; esac
		return 0 ;;
	esac
	return 0
}

files=$(find shmem vhost virtiofs vmm -name '*.[ch]' -not -path '*/tests/*' \
	-not -path '*/fuzz/*' -not -path '*/bench/*' -not -path '*/examples/*' |
	sort)
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
n=0
for f in $files; do
	while read -r inc; do
		[ -n "$inc" ] || continue
		n=$((n + 1))
		if ! allowed "$f" "$inc"; then
			echo "check-includes: $f includes \"$inc\": not an allowed arrow" >&2
			fail=1
		fi
		# Resolve to a path for the cycle check: same directory first,
		# then the room roots.
		for base in "$(dirname "$f")" vmm/src vmm/cli shmem/src vhost/src \
			    virtiofs/src virtiofs/include vhost/include common/include; do
			if [ -e "$base/$inc" ]; then
				echo "$f $(realpath --relative-to=. "$base/$inc")" >> "$edges"
				break
			fi
		done
	done < <(quoted "$f")
done
if ! tsort "$edges" > /dev/null 2> "$edges.loop"; then
	echo "check-includes: include cycle through:" >&2
	grep -v 'input contains a loop' "$edges.loop" | sed 's/^tsort: /  /' |
		sort -u >&2
	fail=1
fi
rm -f "$edges.loop"
[ "$fail" -eq 0 ] &&
	echo "check-includes: $n includes in $(echo "$files" | wc -w) files: every arrow allowed, no cycle"
exit "$fail"
