#!/usr/bin/env bash
# Run every test nomoat has: the unit test binaries (plain and sanitizer
# builds; cmocka prints its own results, each binary counts as one suite by
# its exit code), then the integration tests and the daemon integration
# tests (one count per case).
#
#   tests/run.sh [BUILD_DIR]        (default: build)
#
# Prints a final line "N passed, N failed" and exits non-zero if anything
# failed or could not run.  Needs root (network namespaces, cgroups, BPF).
set -u

out=${1:-build}

if [[ $(id -u) -ne 0 ]]; then
	echo "tests/run.sh: must run as root: the integration tests create network namespaces and" >&2
	echo "cgroups and load BPF programs (try: sudo $0 $out)" >&2
	exit 2
fi
if [[ ! -d $out ]]; then
	echo "tests/run.sh: no build directory '$out' (run make first)" >&2
	exit 2
fi

passed=0
failed=0
failed_names=()

# Unit suites: every build/tests/test_* and build/tests/asan-test_*.
shopt -s nullglob
units=("$out"/tests/test_* "$out"/tests/asan-test_*)
shopt -u nullglob
if ((${#units[@]} == 0)); then
	echo "tests/run.sh: no unit test binaries in $out/tests" >&2
	failed=$((failed + 1))
	failed_names+=("unit tests (none built)")
fi
for t in "${units[@]}"; do
	[[ -x $t && -f $t ]] || continue
	name=$(basename "$t")
	echo "=== unit: $name"
	# A hung suite must not hang the run.
	if timeout 300 "$t"; then
		passed=$((passed + 1))
		echo "=== unit: $name: passed"
	else
		rc=$?
		failed=$((failed + 1))
		failed_names+=("$name (exit $rc)")
		echo "=== unit: $name: FAILED (exit $rc)"
	fi
done

# One integration binary, which counts its own cases (its last line is
# "N passed, N failed"): run_counted LABEL TIMEOUT BINARY [ARGS...].  SIGTERM
# first (the harness cleans up its namespaces, cgroups and pins on it, and
# stops a daemon it started), SIGKILL 20 s later.
run_counted() {
	local label=$1 secs=$2 bin=$3
	shift 3
	echo "=== $label: $bin"
	if [[ ! -x $bin ]]; then
		echo "tests/run.sh: $bin is missing (make $bin)" >&2
		failed=$((failed + 1))
		failed_names+=("$label (not built)")
		return
	fi
	local log rc summary ip if_
	log=$(mktemp)
	timeout -k 20 "$secs" "$bin" "$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	rm -f "$log"
	if [[ -n $summary ]]; then
		ip=${summary%% passed*}
		if_=${summary#*, }
		if_=${if_%% failed}
		passed=$((passed + ip))
		failed=$((failed + if_))
		if ((if_ > 0)); then
			failed_names+=("$label: $if_ case(s)")
		fi
		if ((rc != 0 && if_ == 0)); then
			failed=$((failed + 1))
			failed_names+=("$label (exit $rc with no failed case)")
		fi
	else
		failed=$((failed + 1))
		failed_names+=("$label (exit $rc, no summary line)")
	fi
}

# Integration: the CLI end to end.
run_counted integration 900 "$out/tests/integration" "$out/nomoat"

# Daemon integration: nomoatd end to end (its own namespaces, cgroups, pin
# dir and temp files).
run_counted "daemon integration" 600 "$out/tests/daemon-integration" "$out/nomoat" "$out/nomoatd"

# nomoat doctor: each check against a real kernel and a real setup (its own
# pins, cgroups, namespaces).
run_counted "doctor integration" 300 "$out/tests/doctor-integration" "$out/nomoat" "$out/nomoatd"

here=$(dirname "$0")

# The escape battery: an agent trying every way out, as root with Docker's
# capabilities and as an unprivileged user (one count per attempt group).
if [[ -d $here/battery ]]; then
	run_counted battery 900 "$out/tests/battery" "$out/nomoat"
fi

# nomoat-proxy end to end (the namespace topology, real clients, Squid).
if [[ -d $here/proxy ]]; then
	run_counted "proxy integration" 900 "$out/tests/proxy-integration" "$out/nomoat" "$out/nomoat-proxy"
fi

# nomoat-dns end to end (the namespace topology, real clients, a test upstream).
if [[ -d $here/dns ]]; then
	run_counted "dns integration" 900 "$out/tests/dns-integration" "$out/nomoat" "$out/nomoat-dns" "$out/nomoat-proxy"
fi

# Real container runtimes: Docker (default bridge, --internal network) and
# Podman with the OCI hook (runc, crun), all in the test's own namespaces.
if [[ -d $here/containers ]]; then
	run_counted containers 900 "$here/containers/run.sh" "$out/nomoat" "$out/nomoatd" "$out/nomoat-proxy" \
		"$out/nomoat-dns" "$out/nomoat-testnet" "$out/tests/cprobe"
fi

# The Kubernetes deployment: the manifests offline, and nomoatd binding
# kubepods-shaped cgroups of runc containers (its own cgroups, pins, temp dir).
if [[ -d $here/kube ]]; then
	run_counted "kube manifests" 120 "$here/kube/check-manifests.sh" "$out/nomoatd"
	run_counted "kube kubepods" 180 "$here/kube/kubepods.sh" "$out/nomoat" "$out/nomoatd"
fi

# The libFuzzer targets, each for a bounded time over its corpus in the repo
# (tests/fuzz/run.sh prints its own "N passed, N failed").
if [[ -x $here/fuzz/run.sh ]]; then
	run_counted fuzz 900 "$here/fuzz/run.sh" "$out"
fi

# The same binary on Debian 12's own kernel (6.1), booted under qemu with a
# busybox initramfs: it must load and enforce there too.  NOMOAT_SKIP_KERNEL=1
# skips it (say, on a machine without the Debian archive).
if [[ ${NOMOAT_SKIP_KERNEL:-0} != 1 ]]; then
	echo "=== kernel: tools/kernel-check.sh 6.1"
	klog=$(mktemp)
	if NOMOAT="$out/nomoat" timeout -k 10 600 "$(dirname "$0")/../tools/kernel-check.sh" 6.1 >"$klog" 2>&1; then
		passed=$((passed + 1))
		echo "=== kernel: 6.1: passed ($(grep -E '^kernel-check: [0-9]+ passed' "$klog" | tail -n 1))"
	else
		failed=$((failed + 1))
		failed_names+=("kernel-check 6.1")
		tail -n 60 "$klog"
		echo "=== kernel: 6.1: FAILED"
	fi
	rm -f "$klog"
else
	echo "=== kernel: skipped (NOMOAT_SKIP_KERNEL=1)"
fi

echo
if ((${#failed_names[@]})); then
	echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
((failed == 0))
