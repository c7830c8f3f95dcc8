#!/usr/bin/env bash
# The demonstration behind `make demo`: nomoat on the shipped default policy,
# in test network namespaces that route only to each other.  Everything it
# makes (namespaces, cgroups, its own pin dir) is removed when it ends.
set -euo pipefail

OUT=${1:-build}
NOMOAT="$OUT/nomoat"
export NOMOAT_PIN_DIR=/sys/fs/bpf/nomoat-demo-$$
[[ $(id -u) -eq 0 ]] || { echo "demo: run as root (it loads BPF programs and makes namespaces)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/nomoat-demo.XXXXXX)
CG2=$("$NOMOAT" -j status | sed -n 's/.*"cgroup2":"\([^"]*\)".*/\1/p')
[[ -n $CG2 ]] || { echo "demo: no cgroup v2 mount" >&2; exit 1; }
TOP="$CG2/nomoat-demo-$$"
net_pid=
ev_pid=

cleanup() {
	set +e
	[[ -n $ev_pid ]] && kill "$ev_pid" 2>/dev/null && wait "$ev_pid" 2>/dev/null
	[[ -n $net_pid ]] && kill "$net_pid" 2>/dev/null && wait "$net_pid" 2>/dev/null
	exec 4>&- 2>/dev/null
	"$NOMOAT" unload >/dev/null 2>&1
	for d in "$TOP"/sandbox/* "$TOP"/sandbox "$TOP"/proxy "$TOP"; do [[ -d $d ]] && rmdir "$d" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "load nomoat and create policy 'agents' from the shipped default deny list"
show "$NOMOAT" load
show "$NOMOAT" policy create agents --with-defaults --default redirect \
	--proxy4 10.250.0.1:3128 --proxy6 '[fd00:250::1]:3128' --dns4 10.250.0.1:5353 --events all
mkdir -p "$TOP/sandbox" "$TOP/proxy"
show "$NOMOAT" cgroup attach "$TOP/sandbox"
show "$NOMOAT" cgroup bind "$TOP/sandbox" --policy agents
show "$NOMOAT" cgroup attach "$TOP/proxy" --origdst-only

step "build the test network (fake metadata, internal and internet hosts, a reporting proxy)"
mkfifo "$tmp/ctl"
"$OUT/nomoat-testnet" --prefix "nmdemo$$" --proxy-cgroup "$TOP/proxy" < "$tmp/ctl" > "$tmp/net.out" &
net_pid=$!
exec 4> "$tmp/ctl"
for _ in $(seq 1 150); do
	grep -q '^ready' "$tmp/net.out" 2>/dev/null && break
	kill -0 "$net_pid" 2>/dev/null || { echo "demo: the test network failed" >&2; exit 1; }
	sleep 0.1
done
read -r _ CNS _ < "$tmp/net.out"
echo "client namespace $CNS: routes only to the test hosts"

"$NOMOAT" events > "$tmp/events" 2>&1 &
ev_pid=$!
sleep 0.3

sandboxed() { # run a command as a sandboxed agent would: policed cgroup, client netns
	printf '$ nomoat run --policy agents -- %s\n' "$*"
	"$NOMOAT" run --policy agents --cgroup-parent "$TOP/sandbox" -- ip netns exec "$CNS" "$@" || true
}

step "what the policy says"
for d in "169.254.169.254 80" "10.1.2.3 80" "11.22.33.44 80" "fd00:ec2::254 80"; do
	show "$NOMOAT" check $d --policy agents
done

step "1. the cloud metadata service is refused (IPv4, IPv4-mapped IPv6, IPv6)"
sandboxed curl -sS -m 3 http://169.254.169.254/latest/meta-data/
sandboxed curl -sS -m 3 -g 'http://[::ffff:169.254.169.254]/latest/meta-data/'
sandboxed curl -sS -m 3 -g 'http://[fd00:ec2::254]/latest/meta-data/'

step "2. a private address is refused"
sandboxed curl -sS -m 3 http://10.1.2.3/

step "3. a permitted destination is redirected to the proxy, which learns the original destination"
sandboxed curl -sS -m 3 --http0.9 http://11.22.33.44/
sandboxed curl -sS -m 3 --http0.9 -g 'http://[2a00:1:2:3::44]/'

sleep 0.5
step "4. the events"
kill "$ev_pid" 2>/dev/null; wait "$ev_pid" 2>/dev/null || true
ev_pid=
cat "$tmp/events"

step "counters"
"$NOMOAT" stats

step "clean up: unload (removes every pin and link) and remove the test network"
