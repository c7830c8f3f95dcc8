#!/usr/bin/env bash
# Every kernel and architecture tools/kernel-check.sh is run against, one
# after the other, one line each, then "N passed, N failed":
#
#   6.1 x86_64 ok 36/36 (6.1.0-57-cloud-amd64, 12s)
#   5.10 x86_64 refused ok 13/13 (missing: ...) (5.10.0-32-cloud-amd64, 4s)
#
#   tools/kernel-check-all.sh [OUT]     (make kernel-check)
#
# OUT: the native build directory whose nomoat, nomoat-dns and nomoatd are
# tested on x86_64 (default: kernel-check.sh's own, build/, made if missing);
# arm64 always uses build/arm64/, cross-built by kernel-check.sh.
# KC_TARGETS="SERIES:ARCH[:load|refuse] ..." replaces the list below. A series
# the archive does not have is reported as skipped. Each target's whole output
# goes to build/kernel-check-SERIES-ARCH.out.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-}
TARGETS=${KC_TARGETS:-"6.1:x86_64 6.12:x86_64 6.1:arm64 5.10:x86_64:refuse"}
mkdir -p "$ROOT/build"

pass=0 fail=0 skip=0 first=1 lines=()
t0=$(date +%s)
for t in $TARGETS; do
	IFS=: read -r series arch expect <<<"$t"
	out=$ROOT/build/kernel-check-$series-$arch.out
	env=()
	((first)) || env+=(KC_APT_UPDATE=0) # the first run brought the lists up to date
	if [[ $arch == x86_64 && -n $OUT ]]; then
		case $OUT in /*) d=$OUT ;; *) d=$ROOT/$OUT ;; esac
		env+=(NOMOAT="$d/nomoat" NOMOAT_DNS="$d/nomoat-dns" NOMOATD="$d/nomoatd")
	fi
	echo "kernel-check-all: $series $arch${expect:+ ($expect)} -> $out"
	start=$(date +%s)
	env "${env[@]}" "$ROOT/tools/kernel-check.sh" --arch "$arch" ${expect:+--expect "$expect"} "$series" \
		>"$out" 2>&1 </dev/null
	rc=$?
	first=0
	res=$(sed -n 's/^kernel-check: result: //p' "$out" | tail -1)
	if grep -q "package in the archive" "$out"; then
		line="$series $arch skipped (no such kernel in the archive)"
		skip=$((skip + 1))
	elif [[ $rc -eq 0 && -n $res ]]; then
		# "6.1 x86_64 ok 36/36, KVER, 12s" -> "6.1 x86_64 ok 36/36 (KVER, 12s)"
		line=$(sed -E 's/^(.*), ([^,]+), ([0-9]+s)$/\1 (\2, \3)/' <<<"$res")
		pass=$((pass + 1))
	else
		line=${res:-"$series $arch FAIL (exit $rc, no result; see $out)"}
		[[ $line == *FAIL* ]] || line="$line FAIL (exit $rc)"
		fail=$((fail + 1))
	fi
	echo "$line (total $(($(date +%s) - start))s)"
	lines+=("$line")
done
echo "kernel-check-all: $(($(date +%s) - t0))s in all"
echo "$pass passed, $fail failed$( ((skip)) && echo ", $skip skipped")"
((fail == 0))
