#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Run the libFuzzer targets (make fuzz builds them into BUILD_DIR/fuzz/):
# each first replays its seed corpus (tests/fuzz/corpus/NAME/) and its crash
# reproducers (tests/fuzz/regress/NAME/) once, then fuzzes for SECONDS on a
# temporary copy of the corpus, so nothing in the repository is written.
#
#   tests/fuzz/run.sh BUILD_DIR [SECONDS]
#
# SECONDS per target: the argument, else $NOMOAT_FUZZ_SECONDS, else 20, but
# then at most 100 in all (the default run stays under two minutes however
# many targets there are); 0 replays only.  A crash, leak, timeout or broken
# invariant fails the target; its reproducer and log are kept under
# BUILD_DIR/fuzz/artifacts/NAME/.  Prints "=== fuzz: NAME: passed" or
# "FAILED" per target, then "N passed, N failed"; exits non-zero if anything
# failed.
set -u

out=${1:-}
secs=${2:-${NOMOAT_FUZZ_SECONDS:-}}
here=$(cd "$(dirname "$0")" && pwd)

if [[ -z $out || ! -d $out ]]; then
	echo "usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]  (no build directory '$out'; run make fuzz)" >&2
	exit 2
fi
if [[ -n $secs && ! $secs =~ ^[0-9]+$ ]]; then
	echo "tests/fuzz/run.sh: SECONDS '$secs' is not a whole number" >&2
	exit 2
fi

passed=0
failed=0
work=$(mktemp -d "${TMPDIR:-/tmp}/nomoat-fuzz-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# Limits of one run: memory, one input's time, the length of an input.
opts=(-rss_limit_mb=2048 -timeout=10 -max_len=8192 -print_final_stats=1)

shopt -s nullglob
bins=("$out"/fuzz/fuzz_*)
shopt -u nullglob
if ((${#bins[@]} == 0)); then
	echo "tests/fuzz/run.sh: no fuzz targets in $out/fuzz (make fuzz)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
if [[ -z $secs ]]; then
	secs=$((100 / ${#bins[@]}))
	((secs > 20)) && secs=20
	((secs < 5)) && secs=5
fi

for bin in "${bins[@]}"; do
	[[ -f $bin && -x $bin ]] || continue
	name=${bin##*/fuzz_}
	t="$work/$name"
	art="$out/fuzz/artifacts/$name"
	mkdir -p "$t/corpus" "$t/tmp" "$t/art"
	log="$t/log"
	why=

	shopt -s nullglob
	seeds=("$here/corpus/$name"/* "$here/regress/$name"/*)
	shopt -u nullglob
	dict=()
	[[ -f $here/dict/$name.dict ]] && dict=(-dict="$here/dict/$name.dict")

	echo "=== fuzz: $name (replay ${#seeds[@]} inputs, fuzz ${secs}s)"
	# The targets make their private files below $TMPDIR: inside $work.
	if ((${#seeds[@]})) &&
		! TMPDIR="$t/tmp" timeout -k 10 300 "$bin" "${opts[@]}" -artifact_prefix="$t/art/" "${seeds[@]}" \
			>"$log" 2>&1; then
		why="replaying the corpus"
	fi
	if [[ -z $why ]] && ((secs > 0)); then
		# (reproducers get a prefix: a name may be in both directories)
		for f in "${seeds[@]}"; do
			if [[ $f == "$here/regress/"* ]]; then
				cp -- "$f" "$t/corpus/regress-${f##*/}"
			else
				cp -- "$f" "$t/corpus/"
			fi
		done
		if ! TMPDIR="$t/tmp" timeout -k 10 $((secs + 120)) "$bin" "${opts[@]}" "${dict[@]}" \
			-max_total_time="$secs" -artifact_prefix="$t/art/" "$t/corpus" >"$log" 2>&1; then
			why="fuzzing"
		fi
	fi

	if [[ -z $why ]]; then
		passed=$((passed + 1))
		stats=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 |
			sed -E 's/^#([0-9]+)[[:space:]]+DONE[[:space:]]+cov: ([0-9]+).*corp: ([0-9]+).*exec\/s: ([0-9]+).*/\1 runs, \4 exec\/s, coverage \2, corpus \3/')
		echo "=== fuzz: $name: passed${stats:+ ($stats)}"
	else
		failed=$((failed + 1))
		grep -v -E '^(#[0-9]+|INFO:|\*\*\*|MS: [0-9]|"|###### )' "$log" | tail -n 40
		repro=
		shopt -s nullglob
		for f in "$t/art/"*; do
			mkdir -p "$art"
			cp -- "$f" "$art/"
			repro+=" $art/${f##*/}"
		done
		shopt -u nullglob
		mkdir -p "$art"
		cp -- "$log" "$art/$name.log"
		echo "=== fuzz: $name: FAILED ($why)${repro:+; reproducer:$repro}; log: $art/$name.log"
		[[ -n $repro ]] && echo "    (rerun: $bin${repro})"
	fi
	rm -rf "$t"
done

echo "$passed passed, $failed failed"
((failed == 0))
