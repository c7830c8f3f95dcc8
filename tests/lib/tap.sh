# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# tests/lib/tap.sh - the case counting of the shell tests (sourced):
#   ok DESC                 "ok N - DESC"
#   notok DESC [DETAIL]     "not ok N - DESC", DETAIL (at most 20 lines) as
#                           "#   " comment lines
#   tap_relay FILE          turn a helper's "PASS DESC" / "FAIL DESC<TAB>WHY"
#                           lines into ok / notok (other lines as comments)
#   finish                  "N passed, N failed" (the line tests/run.sh
#                           counts), then exit: 0 only if nothing failed
n=0
passed=0
failed=0
ok() {
	n=$((n + 1))
	passed=$((passed + 1))
	echo "ok $n - $1"
}
notok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 20 | sed 's/^/#   /'
	return 0
}
tap_relay() {
	local line
	while IFS= read -r line; do
		case $line in
		PASS\ *) ok "${line#PASS }" ;;
		FAIL\ *)
			line=${line#FAIL }
			notok "${line%%$'\t'*}" "${line#*$'\t'}"
			;;
		*) [ -n "$line" ] && echo "# $line" ;;
		esac
	done <"$1"
}
finish() {
	echo "$passed passed, $failed failed"
	((failed == 0))
	exit $?
}
