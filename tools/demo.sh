#!/usr/bin/env bash
# The demonstration behind `make demo`: nomoatd on the shipped default policy
# file (policy/nomoat.conf), which sets up a ready sandbox cgroup (/nomoat);
# sandboxed commands run there with `nomoat run`, inside test network
# namespaces that route only to each other.  Everything it makes (the
# daemon, namespaces, the cgroups it created, its own pin dir) is removed
# when it ends.
set -euo pipefail

OUT=${1:-build}
NOMOAT="$OUT/nomoat"
CONF=policy/nomoat.conf
export NOMOAT_PIN_DIR=/sys/fs/bpf/nomoat-demo-$$
[[ $(id -u) -eq 0 ]] || { echo "demo: run as root (it loads BPF programs and makes namespaces)" >&2; exit 1; }
if [[ -s /run/nomoat/nomoatd.pid ]] && kill -0 "$(cat /run/nomoat/nomoatd.pid)" 2>/dev/null; then
	echo "demo: a nomoatd is already running here (/run/nomoat/nomoatd.pid); the demo would share its sockets" >&2
	exit 1
fi

tmp=$(mktemp -d /tmp/nomoat-demo.XXXXXX)
CG2=$("$NOMOAT" -j status | sed -n 's/.*"cgroup2":"\([^"]*\)".*/\1/p')
[[ -n $CG2 ]] || { echo "demo: no cgroup v2 mount" >&2; exit 1; }
made=()
for d in nomoat nomoat-proxy; do [[ -d $CG2/$d ]] || made+=("$CG2/$d"); done
daemon_pid= net_pid= ev_pid=

cleanup() {
	set +e
	[[ -n $ev_pid ]] && kill "$ev_pid" 2>/dev/null && wait "$ev_pid" 2>/dev/null
	[[ -n $net_pid ]] && kill "$net_pid" 2>/dev/null && wait "$net_pid" 2>/dev/null
	exec 4>&- 2>/dev/null
	[[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	"$NOMOAT" unload >/dev/null 2>&1
	for d in "${made[@]}"; do rmdir "$d"/nomoat-run-* "$d" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
wait_for() { # FILE PATTERN: bounded wait for a line
	for _ in $(seq 1 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

step "start nomoatd on the shipped policy file ($CONF)"
grep -vE '^\s*(#|$)' "$CONF" | sed 's/^/    /'
printf '$ nomoatd --config %s   (own pin dir %s for the demo)\n' "$CONF" "$NOMOAT_PIN_DIR"
"$OUT/nomoatd" --config "$CONF" --pin-dir "$NOMOAT_PIN_DIR" --pidfile "$tmp/nomoatd.pid" \
	> "$tmp/daemon.out" 2> "$tmp/daemon.err" &
daemon_pid=$!
if ! wait_for "$tmp/daemon.err" 'running'; then
	cat "$tmp/daemon.err" >&2
	echo "demo: nomoatd did not start" >&2
	exit 1
fi
sed 's/^/    /' "$tmp/daemon.err"
show "$NOMOAT" cgroup list

step "build the test network (fake metadata, internal and internet hosts, a reporting proxy)"
mkfifo "$tmp/ctl"
"$OUT/nomoat-testnet" --prefix "nmdemo$$" --proxy-cgroup "$CG2/nomoat-proxy" --loopback-proxy \
	< "$tmp/ctl" > "$tmp/net.out" &
net_pid=$!
exec 4> "$tmp/ctl"
wait_for "$tmp/net.out" '^ready' || { echo "demo: the test network failed" >&2; exit 1; }
read -r _ CNS _ < "$tmp/net.out"
echo "client namespace $CNS: routes only to the test hosts; the policy's proxy endpoint"
echo "127.0.0.1:3128 there is a test proxy that answers with the original destination"

"$NOMOAT" events --socket /run/nomoat/events.sock > "$tmp/events" 2>&1 &
ev_pid=$!
sleep 0.3

sandboxed() { # as a sandboxed agent: in a fresh cgroup under /nomoat, in the client netns
	printf '$ nomoat run --policy agents -- %s\n' "$*"
	"$NOMOAT" run --policy agents -- ip netns exec "$CNS" "$@" || true
}

step "1. the cloud metadata service is refused (IPv4, IPv4-mapped IPv6, IPv6)"
sandboxed curl -sS -m 3 http://169.254.169.254/latest/meta-data/
sandboxed curl -sS -m 3 -g 'http://[::ffff:169.254.169.254]/latest/meta-data/'
sandboxed curl -sS -m 3 -g 'http://[fd00:ec2::254]/latest/meta-data/'

step "2. a private address is refused"
sandboxed curl -sS -m 3 http://10.1.2.3/

step "3. a permitted destination goes to the proxy, which learns the original destination"
sandboxed curl -sS -m 3 --http0.9 http://11.22.33.44/
sandboxed curl -sS -m 3 --http0.9 -g 'http://[2a00:1:2:3::44]/'

sleep 0.5
step "4. the events, as nomoatd serves them (nomoat events)"
kill "$ev_pid" 2>/dev/null; wait "$ev_pid" 2>/dev/null || true
ev_pid=
grep '"type":"decision"' "$tmp/events" | grep -v nomoatd-canary || true

step "5. metrics (curl --unix-socket /run/nomoat/metrics.sock http://localhost/metrics)"
curl -s --unix-socket /run/nomoat/metrics.sock http://localhost/metrics | grep -E '^nomoat_(decisions_total\{policy="agents"|reloads_total)' || true

step "stop nomoatd (enforcement stays), then unload and remove the test network"
