#!/usr/bin/env bash
# Mutation testing: break the code on purpose, one mutant at a time, and
# check that the tests named for each mutant fail.  Not run in CI (a full
# run builds the tree once per mutant); run it after changing a test or the
# code a mutant lives in.  docs/testing.md lists the mutants and what kills
# each.
#
# Usage: scripts/mutate.sh [--list FILE] [--guest] [--only ID[,ID...]]
#                          [--work DIR] [--keep-going]
#
#   --list FILE   the mutants (default scripts/mutants.txt; format below)
#   --guest       also run the guest scenarios a mutant names (needs KVM or
#                 the outer VM; minutes per mutant); without it they are
#                 reported as "not run" and do not count as a kill
#   --only IDS    only these mutants (comma-separated)
#   --work DIR    scratch copy of the tree and its build directories
#                 (default build-mutate/; reused between runs)
#
# The tree is copied (the files git tracks or would track, as they are in
# the work tree, uncommitted changes included) into DIR/src and built there: DIR/build
# (RelWithDebInfo) and, when a mutant names tsan: tests, DIR/build-tsan.
# First every named test must pass on the unmutated copy; then for each
# mutant its find/replace pairs are applied (each find must occur exactly
# once in the file, or the run stops), the affected build is rebuilt, the
# tests run, and the file is put back.
#
# A mutant is KILLED when at least one of its tests fails (a timeout counts),
# SURVIVED when all pass, NO-BUILD when the mutated tree does not compile
# (a bad mutant: fix the list).  Exit status: 0 when every mutant was killed,
# 1 when one survived or did not build, 2 on a usage or set-up error.
#
# Mutant list format: blocks separated by blank lines, '#' comments.
#
#   mutant  ID
#   file    PATH (relative to the source tree)
#   find    TEXT        (one or more find/replace pairs, applied in order;
#   replace TEXT         \n and \t stand for a newline and a tab)
#   kill    KIND:NAME ...
#   note    free text, shown in the report
#
# KIND is unit (a ctest test of the normal build), tsan (the same test in a
# ThreadSanitizer build) or guest (ctest test guest.NAME).
set -euo pipefail
cd "$(dirname "$0")/.."
src_root=$PWD

list=scripts/mutants.txt
work=build-mutate
guest=0
only=
while [ $# -gt 0 ]; do
	case $1 in
	--list) list=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--guest) guest=1; shift ;;
	--only) only=,$2,; shift 2 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "mutate: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -f "$list" ] || { echo "mutate: no mutant list $list" >&2; exit 2; }

die() { echo "mutate: $*" >&2; exit 2; }
say() { echo "mutate: $*"; }

# ---- parse the list into arrays ----
ids=() files=() kills=() notes=() pairs=()	# pairs[i]: "find\x1freplace\x1e..."
parse() {
	local line key val cur=-1 lineno=0
	while IFS= read -r line || [ -n "$line" ]; do
		lineno=$((lineno + 1))
		case $line in '#'*) continue ;; esac
		if [ -z "${line//[[:space:]]/}" ]; then
			continue
		fi
		key=${line%%[[:space:]]*}
		val=${line#"$key"}
		val=${val#"${val%%[![:space:]]*}"}
		case $key in
		mutant)
			cur=${#ids[@]}
			ids+=("$val"); files+=(""); kills+=(""); notes+=(""); pairs+=("") ;;
		file) [ "$cur" -ge 0 ] || die "$list:$lineno: 'file' before 'mutant'"
			files[cur]=$val ;;
		find) [ "$cur" -ge 0 ] || die "$list:$lineno: 'find' before 'mutant'"
			pairs[cur]+=$val$'\x1f' ;;
		replace) [ "$cur" -ge 0 ] || die "$list:$lineno: 'replace' before 'mutant'"
			pairs[cur]+=$val$'\x1e' ;;
		kill) kills[cur]=$val ;;
		note) notes[cur]=$val ;;
		*) die "$list:$lineno: unknown key '$key'" ;;
		esac
	done < "$list"
	local i
	for i in "${!ids[@]}"; do
		[ -n "${files[i]}" ] || die "mutant ${ids[i]}: no file"
		[ -n "${kills[i]}" ] || die "mutant ${ids[i]}: no kill list"
		[ -n "${pairs[i]}" ] || die "mutant ${ids[i]}: no find/replace"
		case ${pairs[i]} in *$'\x1f') die "mutant ${ids[i]}: a find without a replace" ;; esac
	done
}
parse
[ "${#ids[@]}" -gt 0 ] || die "no mutants in $list"

selected() { [ -z "$only" ] || [[ $only == *",$1,"* ]]; }

# ---- the scratch tree ----
mkdir -p "$work"
work=$(cd "$work" && pwd)
# Files whose content changed are copied with a new time stamp, so the
# incremental builds see them (a copy keeping the old time stamp would
# leave a stale object, e.g. of a mutant an interrupted run left behind).
copy_tree() {
	local f
	say "copying the tree to $work/src"
	mkdir -p "$work/src"
	find "$work/src" -name '*.orig' -delete
	while IFS= read -r -d '' f; do
		[ -f "$f" ] || continue
		cmp -s "$f" "$work/src/$f" && continue
		mkdir -p "$work/src/$(dirname "$f")"
		cp "$f" "$work/src/$f"
	done < <(git ls-files -z --cached --others --exclude-standard)
}
# A run stopped while a mutant was applied leaves builds of it behind:
# start those over.
if [ -e "$work/mutant-applied" ]; then
	say "the last run stopped with a mutant applied; rebuilding from scratch"
	rm -rf "$work/build" "$work/build-tsan" "$work/mutant-applied"
fi
copy_tree

need_tsan=0
for i in "${!ids[@]}"; do
	selected "${ids[i]}" || continue
	case " ${kills[i]} " in *" tsan:"*) need_tsan=1 ;; esac
done

# Targets to build for a mutant: its unit tests' own targets (a unit test is
# a target of the same name), or everything when it names a guest test.
targets=()
build() {	# build DIR [cmake args...]
	local dir=$1 t=()
	shift
	if [ ! -f "$dir/CMakeCache.txt" ]; then
		cmake -S "$work/src" -B "$dir" "$@" > "$dir.configure.log" 2>&1 ||
			{ tail -n 20 "$dir.configure.log" >&2; return 1; }
	fi
	[ "${#targets[@]}" -eq 0 ] || t=(--target "${targets[@]}")
	cmake --build "$dir" -j"$(nproc)" "${t[@]}" > "$dir.build.log" 2>&1
}
# build_all [TSAN]: the normal build; the ThreadSanitizer one too when TSAN
# is 1 (a mutant that names tsan: tests, or the baseline of such mutants).
build_all() {
	build "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo || return 1
	if [ "${1:-0}" = 1 ]; then
		(cd "$work/src" && BUILD_DIR=$work/build-tsan \
			./scripts/test-tsan.sh --build-only) \
			> "$work/build-tsan.build.log" 2>&1 || return 1
	fi
}

# run_test KIND:NAME -> 0 passed, 1 failed, 2 not run
run_test() {
	local kind=${1%%:*} name=${1#*:} log
	log=$work/last-test.log
	case $kind in
	unit)
		ctest --test-dir "$work/build" -R "^${name}\$" --timeout 180 \
			--output-on-failure > "$log" 2>&1 && ok_count "$log" ;;
	tsan)
		TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		ctest --test-dir "$work/build-tsan" -R "^${name}\$" --timeout 600 \
			--output-on-failure > "$log" 2>&1 && ok_count "$log" ;;
	guest)
		[ "$guest" = 1 ] || return 2
		ctest --test-dir "$work/build" -R "^guest\\.${name}\$" \
			--output-on-failure > "$log" 2>&1 && ok_count "$log" ;;
	*) die "unknown test kind '$kind' in '$1'" ;;
	esac
}
# ctest exits 0 when no test matched: a misspelt name must not pass.
ok_count() {
	grep -qE '^100% tests passed, 0 tests failed out of [1-9]' "$1" ||
		{ echo "mutate: no test ran: $(grep -m1 -E 'No tests were found|tests passed' "$1")" >&2; return 2; }
}

# apply I: put mutant I into the scratch tree; fails loudly on a bad pattern.
apply() {
	local i=$1 f=$work/src/${files[$1]} rest pair find repl
	[ -f "$f" ] || die "mutant ${ids[i]}: no file ${files[i]}"
	echo "${ids[i]}" > "$work/mutant-applied"
	cp -p "$f" "$f.orig"
	rest=${pairs[i]}
	while [ -n "$rest" ]; do
		pair=${rest%%$'\x1e'*}
		rest=${rest#*$'\x1e'}
		find=${pair%%$'\x1f'*}
		repl=${pair#*$'\x1f'}
		if ! FIND=$find REPL=$repl perl -0777 -i -e '
			my $f = $ENV{FIND}; my $r = $ENV{REPL};
			for ($f, $r) { s/\\n/\n/g; s/\\t/\t/g; }
			local $/; my $s = <>;
			my $n = () = $s =~ /\Q$f\E/g;
			if ($n != 1) { print $s; print STDERR "$n\n"; exit 3; }
			$s =~ s/\Q$f\E/$r/;
			print $s;' "$f" 2> "$work/apply.err"; then
			mv "$f.orig" "$f"
			echo "mutate: mutant ${ids[i]}: pattern found $(cat "$work/apply.err") times (want exactly 1) in ${files[i]}:" >&2
			echo "  $find" >&2
			exit 2
		fi
	done
}
restore() {
	local f=$work/src/${files[$1]}
	mv "$f.orig" "$f"
	touch "$f"
}

# ---- baseline: every named test passes on the unmutated tree ----
say "building the unmutated tree"
build_all "$need_tsan" || die "the unmutated tree does not build (logs in $work)"
declare -A base_done=()
for i in "${!ids[@]}"; do
	selected "${ids[i]}" || continue
	for t in ${kills[i]}; do
		[ -z "${base_done[$t]:-}" ] || continue
		base_done[$t]=1
		rc=0
		run_test "$t" || rc=$?
		case $rc in
		0) say "baseline: $t passes" ;;
		2) say "baseline: $t not run" ;;
		*) cat "$work/last-test.log" >&2
		   die "baseline: $t fails on the unmutated tree; fix that first" ;;
		esac
	done
done

# ---- the mutants ----
results=()
survived=0
for i in "${!ids[@]}"; do
	selected "${ids[i]}" || continue
	say "mutant ${ids[i]} (${files[i]})"
	apply "$i"
	verdict=SURVIVED
	by=
	tsan=0
	case " ${kills[i]} " in *" tsan:"*) tsan=1 ;; esac
	targets=()
	case " ${kills[i]} " in
	*" guest:"*) ;;
	*) for t in ${kills[i]}; do targets+=("${t#*:}"); done ;;
	esac
	if ! build_all "$tsan"; then
		verdict=NO-BUILD
		tail -n 15 "$work/build.build.log" >&2 || true
	else
		for t in ${kills[i]}; do
			rc=0
			run_test "$t" || rc=$?
			case $rc in
			0) by+=" $t:passed" ;;
			2) by+=" $t:not-run" ;;
			*) by+=" $t:FAILED"; verdict=KILLED ;;
			esac
		done
	fi
	restore "$i"
	targets=()
	# The ThreadSanitizer build is only rebuilt for mutants that use it:
	# bring it back to the unmutated tree now.
	[ "$tsan" = 0 ] || build_all 1 > /dev/null 2>&1 || true
	rm -f "$work/mutant-applied"
	[ "$verdict" = KILLED ] || survived=$((survived + 1))
	say "  $verdict:$by"
	results+=("| ${ids[i]} | ${files[i]} | ${by# } | $verdict |")
done
# Leave the scratch build matching the unmutated tree.
build_all > /dev/null 2>&1 || true

echo
echo "| mutant | file | tests (result) | verdict |"
echo "|---|---|---|---|"
printf '%s\n' "${results[@]}"
echo
say "${#results[@]} mutants, $((${#results[@]} - survived)) killed, $survived survived or did not build"
[ "$survived" -eq 0 ]
