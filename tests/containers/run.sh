#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# tests/containers/run.sh - nomoat with real container runtimes, end to end:
# Debian's Docker (20.10, runc, cgroupfs driver) on its default bridge and
# on an --internal network, and Podman with the shipped OCI hook under runc
# and crun.  nomoatd, nomoat-proxy and nomoat-dns run as the README's
# container recipe has them (endpoints on each bridge's address, the proxy
# and the resolver fenced in their cgroups); every check runs inside a
# container, as its root with the runtime's default capabilities.
#
#   tests/containers/run.sh NOMOAT NOMOATD NOMOAT-PROXY NOMOAT-DNS NOMOAT-TESTNET CPROBE
#
# Network safety: dockerd, podman and every container live in the client
# namespace of nomoat-testnet (routes only to the test's world namespace,
# which routes nowhere), and a DOCKER-USER drop of everything forwarded but
# the world's test hosts is in place before the first container runs.  The
# root namespace sends nothing.  Own cgroups (<cgroup2>/nomoat-ctest-<pid>),
# pin dir (/sys/fs/bpf/nomoat-ctest-<pid>), dockerd and podman state (in a
# temporary directory); all removed on exit, also on failure.
#
# Prints "ok N - ..." / "not ok N - ...", then "N passed, N failed".
set -u

if (($# != 6)); then
	echo "usage: $0 NOMOAT NOMOATD NOMOAT-PROXY NOMOAT-DNS NOMOAT-TESTNET CPROBE" >&2
	exit 2
fi
abs() { readlink -f "$1"; }
NOMOAT=$(abs "$1") NOMOATD=$(abs "$2") PROXY=$(abs "$3") DNS=$(abs "$4") TESTNET=$(abs "$5") CPROBE=$(abs "$6")
here=$(cd "$(dirname "$0")" && pwd)
UPSTREAM_PY=$here/../dns/upstream.py
# Debian's own binaries: another docker client earlier in PATH (a newer
# CLI) may not speak to 20.10's API.
DOCKERD=/usr/sbin/dockerd DOCKER_CLI=/usr/bin/docker PODMAN_BIN=/usr/bin/podman

. "$here/../lib/tap.sh"
# check DESC PATTERN OUTPUT: OUTPUT matches the extended regex PATTERN
check() {
	if grep -Eq -- "$2" <<<"$3"; then ok "$1"; else notok "$1" "want /$2/, got: $(head -c 1200 <<<"$3")"; fi
}
die() {
	notok "fixture: $1" "${2:-}"
	finish
}

[[ $(id -u) -eq 0 ]] || { echo "$0: must run as root" >&2; exit 2; }
for b in "$NOMOAT" "$NOMOATD" "$PROXY" "$DNS" "$TESTNET" "$CPROBE" "$DOCKERD" "$DOCKER_CLI" "$PODMAN_BIN"; do
	[[ -x $b ]] || die "binaries" "$b is missing (make deps installs docker.io and podman; make builds the rest)"
done

id=$$
CG2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[[ -n $CG2 ]] || die "cgroup2" "no cgroup2 mount in /proc/self/mountinfo"
REL=/nomoat-ctest-$id
BASE=$CG2$REL
PIN=/sys/fs/bpf/nomoat-ctest-$id
PFX=nmtc$id
CNS=$PFX-c WNS=$PFX-w
tmp=$(mktemp -d /tmp/nomoat-ctest-XXXXXX)
chmod 755 "$tmp" # nomoat-proxy and nomoat-dns read their files as nobody
export NOMOAT_PIN_DIR=$PIN DOCKER_HOST=unix://$tmp/docker.sock
PM=("$PODMAN_BIN" --root "$tmp/pm/root" --runroot "$tmp/pm/run" --tmpdir "$tmp/pm/tmp"
	--cgroup-manager cgroupfs --events-backend none --hooks-dir "$tmp/hooks")
BR4=172.17.0.1 INT4=172.18.0.1 PM4=10.88.0.1
IMG=nomoat-ctest:1
pids=() tn_pid= daemon_pid=

in_cns() { nsenter --net=/run/netns/"$CNS" "$@"; }
# A service in the client namespace, in the background: nsenter execs it,
# so the pid recorded is the service's own.
bg_cns() {
	local out=$1
	shift
	nsenter --net=/run/netns/"$CNS" "$@" >"$out" 2>&1 &
	pids+=($!)
}
docker() { timeout -k 5 60 "$DOCKER_CLI" "$@"; }
podman() { timeout -k 5 90 nsenter --net=/run/netns/"$CNS" "${PM[@]}" "$@"; }
# crun cannot run in this host's hybrid cgroup layout ("cgroups in hybrid
# mode not supported"): it runs in a mount namespace whose /sys/fs/cgroup is
# the cgroup2 hierarchy itself, the view of a unified host (the same
# cgroups: the programs see no difference).
podman_unified() {
	timeout -k 5 90 nsenter --net=/run/netns/"$CNS" unshare -m sh -c 'mount --make-rslave / && mount -t cgroup2 none /sys/fs/cgroup && exec "$@"' \
		sh "${PM[@]}" "$@"
}

# Wait (at most $2 tenths of a second) until the command $3... succeeds.
wait_for() {
	local n=$1
	shift
	while ((n-- > 0)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

cleanup() {
	local c
	trap - EXIT INT TERM HUP
	if [[ -S $tmp/docker.sock ]]; then
		for c in $("$DOCKER_CLI" ps -aq 2>/dev/null); do timeout 20 "$DOCKER_CLI" rm -f "$c" >/dev/null 2>&1; done
	fi
	if [[ -d $tmp/pm/root ]]; then
		timeout 30 nsenter --net=/run/netns/"$CNS" "${PM[@]}" rm -af -t 0 >/dev/null 2>&1
	fi
	[[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	[[ -f $tmp/docker.pid ]] && kill "$(cat "$tmp/docker.pid")" 2>/dev/null
	for _ in $(seq 100); do
		[[ -f $tmp/docker.pid ]] && kill -0 "$(cat "$tmp/docker.pid")" 2>/dev/null || break
		sleep 0.1
	done
	# what dockerd and podman left mounted under their state directories
	grep -o " $tmp[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	"$NOMOAT" --pin-dir "$PIN" unload >/dev/null 2>&1
	rm -rf "$PIN"
	# whatever is still inside the test's cgroups, then the cgroups, in the
	# v2 tree and in every v1 hierarchy runc used
	find "$BASE" -name cgroup.procs 2>/dev/null | xargs -r cat 2>/dev/null | xargs -r kill -9 2>/dev/null
	sleep 0.2
	awk '$9 == "cgroup2" || $9 == "cgroup" { print $5 }' /proc/self/mountinfo | while read -r mnt; do
		[[ -d $mnt$REL ]] || continue
		find "$mnt$REL" -depth -type d -exec rmdir {} + 2>/dev/null
		[[ -d $mnt$REL ]] && find "$mnt$REL" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	# nomoat-testnet removes its namespaces on SIGTERM
	[[ -n $tn_pid ]] && kill "$tn_pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$tn_pid" 2>/dev/null || break; sleep 0.1; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# ---- the network: client (the container host) and world namespaces -------
mkdir -p "$BASE"/{nomoat/docker,nomoat/docker-internal,nomoat/podman,free,rp} "$tmp"/{hooks,names,pm} || die "cgroups" "mkdir under $BASE"
# (its stdin a pipe that stays open: it stops when that closes, or on SIGTERM)
mkfifo "$tmp/tn.in"
"$TESTNET" --prefix "$PFX" --proxy-cgroup "$BASE/rp" <"$tmp/tn.in" >"$tmp/testnet.out" 2>&1 &
tn_pid=$!
exec 9>"$tmp/tn.in"
wait_for 300 grep -q "^ready" "$tmp/testnet.out" || die "test network" "$(cat "$tmp/testnet.out")"

# ---- dockerd, confined -------------------------------------------------------
echo '{}' >"$tmp/daemon.json"
bg_cns "$tmp/dockerd.log" "$DOCKERD" --data-root "$tmp/docker" --exec-root "$tmp/dx" --pidfile "$tmp/docker.pid" \
	-H "unix://$tmp/docker.sock" --config-file "$tmp/daemon.json"
wait_for 300 "$DOCKER_CLI" info || die "dockerd" "$(tail -n 5 "$tmp/dockerd.log")"
# Nothing forwarded from a container goes anywhere but the world's test
# hosts (the client namespace has no other route either).
{
	in_cns iptables -I DOCKER-USER 1 -j DROP &&
		for d in 10.250.0.0/24 11.22.33.0/24 169.254.169.254/32 10.1.2.3/32 192.168.7.7/32 172.16.0.0/12 10.88.0.0/16; do
			in_cns iptables -I DOCKER-USER 1 -d "$d" -j RETURN || exit 1
		done &&
		in_cns iptables -I DOCKER-USER 1 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
} || die "confinement" "cannot add the DOCKER-USER rules"
docker network create --internal --subnet 172.18.0.0/24 --gateway "$INT4" agents-internal >/dev/null ||
	die "internal network" "docker network create --internal failed"

# ---- the image: busybox and cprobe --------------------------------------------
mkdir -p "$tmp/rootfs/bin" "$tmp/rootfs/etc"
cp /bin/busybox "$tmp/rootfs/bin/busybox" && cp "$CPROBE" "$tmp/rootfs/cprobe" || die "image" "busybox-static?"
for a in sh sleep cat true; do ln -s busybox "$tmp/rootfs/bin/$a"; done
tar -C "$tmp/rootfs" -c . | docker import - "$IMG" >/dev/null || die "image" "docker import failed"
tar -C "$tmp/rootfs" -c . | podman import - "$IMG" >/dev/null 2>&1 || die "image" "podman import failed"
# Podman's bridge (cni-podman0, $PM4) exists once a container has used it:
# one that runs nothing, outside every attach point.
PMRUN=(run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
# (The rlimits: this machine's root lacks CAP_SYS_RESOURCE, so the runtimes
# may not raise them to podman's defaults.)
podman "${PMRUN[@]}" --runtime runc --cgroup-parent="$REL/free" "$IMG" /bin/true >/dev/null 2>"$tmp/pm0.err" ||
	die "podman" "$(tail -n 3 "$tmp/pm0.err")"
in_cns ip -4 addr show | grep -q "inet $PM4/" || die "podman" "no $PM4 on the podman bridge"

# ---- nomoat: the daemon, the resolver, the proxy ------------------------------
# The shipped container policy file, moved below the test's cgroup and
# with the test's name and files.
sed -e "s|^attach /|attach $REL/|" -e "s|^bind /|bind $REL/|" -e '/^proxy-log /d' -e '/^dns-log /d' \
	-e 's|^\thostname pypi.org$|\thostname allowed.test|' "$here/../../policy/nomoat-containers.conf" >"$tmp/nomoat.conf"
cat >>"$tmp/nomoat.conf" <<EOF
events-log $tmp/events.jsonl
events-socket $tmp/events.sock
metrics unix:$tmp/metrics.sock
dns-upstream 10.250.0.1
EOF
grep -q "hostname allowed.test" "$tmp/nomoat.conf" || die "policy file" "policy/nomoat-containers.conf lists no pypi.org"
echo "11.22.33.44 allowed.test" >"$tmp/hosts"
chmod 644 "$tmp/nomoat.conf" "$tmp/hosts"
chmod 777 "$tmp/names"

running_since() { tail -c +"$(($1 + 1))" "$tmp/nomoatd.log" | grep -q "nomoatd: running"; }
start_daemon() {
	local off
	off=$(stat -c %s "$tmp/nomoatd.log" 2>/dev/null || echo 0)
	"$NOMOATD" --config "$tmp/nomoat.conf" --pin-dir "$PIN" --pidfile "$tmp/nomoatd.pid" >>"$tmp/nomoatd.log" 2>&1 &
	daemon_pid=$!
	wait_for 200 running_since "$off"
}
start_daemon || die "nomoatd" "$(tail -n 5 "$tmp/nomoatd.log")"

nsenter --net=/run/netns/"$WNS" python3 -u "$UPSTREAM_PY" 10.250.0.1 "$tmp/upstream.jsonl" >"$tmp/upstream.out" 2>&1 &
pids+=($!)
wait_for 100 grep -q ready "$tmp/upstream.out" || die "upstream" "$(cat "$tmp/upstream.out")"
bg_cns "$tmp/dns.err" "$DNS" --listen "$BR4:53" --listen "$INT4:53" --listen "$PM4:53" --config "$tmp/nomoat.conf" \
	--pin-dir "$PIN" --log "$tmp/dns.jsonl" --names-dir "$tmp/names" --cgroup "$REL/nomoat-dns" --user nobody
bg_cns "$tmp/proxy.err" "$PROXY" --listen "$BR4:3128" --listen "$INT4:3128" --listen "$PM4:3128" \
	--config "$tmp/nomoat.conf" --pin-dir "$PIN" --hosts "$tmp/hosts" --no-dns --log "$tmp/proxy.jsonl" \
	--cgroup "$REL/nomoat-proxy" --user nobody
wait_for 100 grep -q ready "$tmp/dns.err" || die "nomoat-dns" "$(cat "$tmp/dns.err")"
wait_for 100 grep -q ready "$tmp/proxy.err" || die "nomoat-proxy" "$(cat "$tmp/proxy.err")"
# Another service on the bridge address: what a sandbox must not reach.
bg_cns "$tmp/hostsvc.out" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8081)); s.listen(16); print("ready", flush=True)
while True:
    c, _ = s.accept(); c.sendall(b"HOSTSVC\n"); c.close()' "$BR4"
wait_for 50 grep -q ready "$tmp/hostsvc.out" || die "host service" "$(cat "$tmp/hostsvc.out")"
ok "fixture: test network, dockerd (confined), podman, nomoatd, nomoat-dns and nomoat-proxy on the bridges"

# ---- Docker, default bridge ----------------------------------------------------
DRUN=(run --rm --cgroup-parent="$REL/nomoat/docker" "$IMG")
out=$(docker "${DRUN[@]}" /cprobe tcp 169.254.169.254 80 2>&1)
check "docker: the entrypoint's very first connect (metadata) is refused" "^ERR EPERM" "$out"

cid=$(docker run -d --cgroup-parent="$REL/nomoat/docker" "$IMG" /cprobe sleep 2>&1)
[[ $cid =~ ^[0-9a-f]{64}$ ]] || die "docker: a long-running container" "$cid"
dx() { docker exec "$cid" /cprobe "$@" 2>&1; }
check "docker: its cgroup is below the attach point ($REL/nomoat/docker/<id>)" "^0::$REL/nomoat/docker/$cid\$" \
	"$(cat "/proc/$(docker inspect -f '{{.State.Pid}}' "$cid")/cgroup" 2>&1)"
check "docker: metadata 169.254.169.254 refused" "^ERR EPERM" "$(dx tcp 169.254.169.254 80)"
check "docker: IPv6 metadata fd00:ec2::254 refused" "^ERR EPERM" "$(dx tcp fd00:ec2::254 80)"
check "docker: v4-mapped metadata ::ffff:169.254.169.254 refused" "^ERR EPERM" "$(dx tcp ::ffff:169.254.169.254 80)"
check "docker: private 10.1.2.3 refused" "^ERR EPERM" "$(dx tcp 10.1.2.3 80)"
check "docker: private 192.168.7.7 refused" "^ERR EPERM" "$(dx tcp 192.168.7.7 80)"
check "docker: UDP to a private address refused" "^ERR EPERM" "$(dx udp 10.1.2.3 5300)"
check "docker: another service on the bridge address ($BR4:8081) refused" "^ERR EPERM" "$(dx tcp "$BR4" 8081)"
check "docker: the metrics port on the bridge address refused" "^ERR EPERM" "$(dx tcp "$BR4" 9464)"
check "docker: raw socket refused (Docker grants CAP_NET_RAW)" "^ERR EPERM" "$(dx raw)"
check "docker: raw IPv6 socket refused" "^ERR EPERM" "$(dx raw6)"
check "docker: ping socket refused" "^ERR EPERM" "$(dx ping)"
check "docker: ICMPv6 ping socket refused" "^ERR EPERM" "$(dx ping6)"
check "docker: an allowed name resolves (nomoat-dns, via the image's resolv.conf)" "^OK 11\.22\.33\.44$" \
	"$(dx resolve allowed.test)"
check "docker: an unlisted name is NXDOMAIN" "^ERR NXDOMAIN" "$(dx resolve evil.test)"
check "docker: an allowed name is fetched through nomoat-proxy" "^OK HELLO 11\.22\.33\.44:80" "$(dx fetch allowed.test)"
grep -q '"evil.test"' "$tmp/upstream.jsonl" 2>/dev/null && leak=yes || leak=no
check "docker: the unlisted name never reached the upstream resolver" "^no$" "$leak"
wait_for 30 grep -q "\"container\":\"$cid\".*169.254.169.254:80" "$tmp/events.jsonl"
check "docker: the refusal's event carries the container id" "\"container\":\"$cid\"" \
	"$(grep "169.254.169.254:80" "$tmp/events.jsonl" | grep "$cid" | head -n 1)"
check "docker: the raw socket's event says raw-socket, for the container" "\"reason\":\"raw-socket\"" \
	"$(grep "\"container\":\"$cid\"" "$tmp/events.jsonl" | grep sock_create | head -n 1)"

# The same attempts from a container outside every attach point reach their
# targets: the listeners are real, the refusals above are nomoat's.
out=$(docker run --rm --cgroup-parent="$REL/free" "$IMG" sh -c \
	"/cprobe tcp 169.254.169.254 80; /cprobe tcp $BR4 8081; /cprobe raw" 2>&1)
check "control: outside the attach point the metadata listener answers" "^OK HELLO 169\.254\.169\.254:80" "$out"
check "control: ... and so does the bridge address's other service" "^OK HOSTSVC" "$out"
check "control: ... and a raw socket is made" "^OK socket made" "$out"

# ---- Docker, --internal network ------------------------------------------------
out=$(docker run --rm --network agents-internal --cgroup-parent="$REL/nomoat/docker-internal" "$IMG" sh -c \
	"/cprobe tcp 169.254.169.254 80; /cprobe resolve allowed.test; /cprobe resolve evil.test; /cprobe fetch allowed.test; /cprobe tcp $INT4 8081; /cprobe raw" 2>&1)
check "docker --internal: metadata refused" "^ERR EPERM" "$(sed -n 1p <<<"$out")"
check "docker --internal: an allowed name resolves (Docker's 127.0.0.11 is redirected too)" "^OK 11\.22\.33\.44$" \
	"$(sed -n 2p <<<"$out")"
check "docker --internal: an unlisted name is NXDOMAIN" "^ERR NXDOMAIN" "$(sed -n 3p <<<"$out")"
check "docker --internal: an allowed name is fetched through nomoat-proxy on the network's gateway" \
	"^OK HELLO 11\.22\.33\.44:80" "$(sed -n 4p <<<"$out")"
check "docker --internal: another port of the gateway refused" "^ERR EPERM" "$(sed -n 5p <<<"$out")"
check "docker --internal: raw socket refused" "^ERR EPERM" "$(sed -n 6p <<<"$out")"

# ---- nomoatd restarted while containers run -----------------------------------
kill "$daemon_pid" 2>/dev/null
wait "$daemon_pid" 2>/dev/null
daemon_pid=
check "restart: with nomoatd stopped, the running container is still refused the metadata address" "^ERR EPERM" \
	"$(dx tcp 169.254.169.254 80)"
check "restart: ... and a container started meanwhile, at its first connect" "^ERR EPERM" \
	"$(docker "${DRUN[@]}" /cprobe tcp 169.254.169.254 80 2>&1)"
if start_daemon; then ok "restart: nomoatd starts again on the pinned state"; else notok "restart: nomoatd starts again" "$(tail -n 5 "$tmp/nomoatd.log")"; fi
check "restart: after it, the metadata address is still refused" "^ERR EPERM" "$(dx tcp 169.254.169.254 80)"
check "restart: ... and the allowed name still fetched" "^OK HELLO 11\.22\.33\.44:80" "$(dx fetch allowed.test)"

# ---- stopping a container leaves nothing behind -----------------------------------
docker rm -f "$cid" >/dev/null 2>&1
wait_for 100 test ! -d "$BASE/nomoat/docker/$cid"
check "docker: after rm its cgroup is gone" "^gone$" "$([[ -d $BASE/nomoat/docker/$cid ]] && echo present || echo gone)"
check "docker: ... and no binding names it" "^none$" \
	"$("$NOMOAT" -j cgroup list 2>&1 | grep -q "$cid" && echo bound || echo none)"

# ---- Podman, the OCI hook (runc, crun) ------------------------------------------
# The shipped hook file, pointed at this build and this test's pins.
sed -e "s|@SBINDIR@/nomoat|${NOMOAT_HOOK:-$NOMOAT}|" -e "s|\"oci-hook\"|\"--pin-dir\", \"$PIN\", \"oci-hook\"|" \
	"$here/../../tools/nomoat-oci-hook.json.in" >"$tmp/hooks/nomoat.json"
PMCHECK="/cprobe tcp 169.254.169.254 80; /cprobe resolve allowed.test; /cprobe resolve evil.test; /cprobe fetch allowed.test; /cprobe raw; /cprobe tcp fd00:ec2::254 80"
pm_cases() { # RUNTIME OUTPUT
	check "podman $1: metadata refused" "^ERR EPERM" "$(sed -n 1p <<<"$2")"
	check "podman $1: an allowed name resolves" "^OK 11\.22\.33\.44$" "$(sed -n 2p <<<"$2")"
	check "podman $1: an unlisted name is NXDOMAIN" "^ERR NXDOMAIN" "$(sed -n 3p <<<"$2")"
	check "podman $1: an allowed name is fetched through nomoat-proxy" "^OK HELLO 11\.22\.33\.44:80" "$(sed -n 4p <<<"$2")"
	check "podman $1: raw socket refused (with CAP_NET_RAW)" "^ERR EPERM" "$(sed -n 5p <<<"$2")"
	check "podman $1: IPv6 metadata refused" "^ERR EPERM" "$(sed -n 6p <<<"$2")"
}
# The container's refusal event (by the id podman wrote to the cidfile):
# its id, and its cgroup's binding pruned once the cgroup is gone.
pm_after() { # RUNTIME CIDFILE
	local pid ev cg
	pid=$(cat "$2" 2>/dev/null)
	wait_for 30 grep -q "\"container\":\"$pid\".*169.254.169.254:80" "$tmp/events.jsonl"
	ev=$(grep "\"container\":\"${pid:-none}\"" "$tmp/events.jsonl" | grep "169.254.169.254:80" | tail -n 1)
	check "podman $1: the refusal's event names the container and its policy" "\"policy\":\"agents-podman\"" "$ev"
	cg=$(grep -o '"cgroup_id":[0-9]*' <<<"$ev" | cut -d: -f2)
	if [[ -z $cg ]]; then
		notok "podman $1: the hook's binding is removed with the container" "no event for container '$pid'"
		return
	fi
	wait_for 50 sh -c "! '$NOMOAT' -j cgroup list | grep -q '\"cgroup_id\":$cg[,}]'"
	check "podman $1: the hook's binding is removed with the container" "^none$" \
		"$("$NOMOAT" -j cgroup list 2>&1 | grep -q "\"cgroup_id\":$cg[,}]" && echo "still bound: $cg" || echo none)"
}

out=$(podman "${PMRUN[@]}" --runtime runc --cap-add NET_RAW --cgroup-parent="$REL/nomoat/podman" --cidfile "$tmp/runc.cid" \
	--annotation nomoat.policy=agents-podman "$IMG" sh -c "$PMCHECK" 2>&1)
pm_cases runc "$out"
pm_after runc "$tmp/runc.cid"
out=$(podman "${PMRUN[@]}" --runtime runc --cgroup-parent="$REL/nomoat/podman" "$IMG" /cprobe tcp 11.22.33.44 80 2>&1)
check "podman runc: without the annotation nothing binds it: denied outright (fail closed)" "^ERR EPERM" "$out"

# crun: in the unified view (see podman_unified), and privileged: crun
# raises RLIMIT_MEMLOCK to load its device-cgroup program, which this
# machine's root (no CAP_SYS_RESOURCE) may not; --privileged loads none.
out=$(podman_unified "${PMRUN[@]}" --runtime crun --privileged --pids-limit -1 --cgroup-parent="$REL/nomoat/podman" \
	--cidfile "$tmp/crun.cid" --annotation nomoat.policy=agents-podman "$IMG" sh -c "$PMCHECK" 2>&1)
pm_cases crun "$out"
pm_after crun "$tmp/crun.cid"

finish
