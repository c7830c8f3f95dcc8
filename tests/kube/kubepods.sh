#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# nomoatd binding kubepods-shaped cgroups, with no kubelet: the policy file
# of the Kubernetes deployment (deploy/kubernetes/nomoat.conf, rendered by
# nomoat-kube.sh as the DaemonSet's init container does) with every cgroup
# path moved below a private prefix, a real nomoatd, and a real container
# started by runc in a kubelet-shaped cgroup (cgroupfs driver form).
#
#   tests/kube/kubepods.sh NOMOAT NOMOATD
#
# Uses <cgroup2>/nmt-kube-<pid>/ (and runc's cgroup v1 copies of it on a
# hybrid host), pins /sys/fs/bpf/nmt-kube-<pid>, runc state and files in a
# temporary directory; removes all of it, containers and daemon too, when it
# ends, also on failure or a signal.  The container has a network namespace
# of its own with only lo and no routes; the test itself sends nothing from
# the root network namespace.  The systemd driver's form
# (kubepods.slice/.../cri-containerd-<id>.scope) needs runc --systemd-cgroup,
# which needs systemd as PID 1: only when it is are such containers run;
# otherwise its directories are made by hand, as the kubelet and systemd
# would, and their binding checked.  Prints "ok N - ..." or "not ok N - ..."
# per check, then "N passed, N failed"; exits non-zero if anything failed.
set -u

nomoat=${1:-}
nomoatd=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
dep=$top/deploy/kubernetes

. "$top/tests/lib/tap.sh"
check() { # check DESC WHY: ok when WHY is empty
	if [ -z "$2" ]; then ok "$1"; else notok "$1" "$2"; fi
}
now_ms() { date +%s%3N; }

if [[ -z $nomoat || -z $nomoatd ]]; then
	echo "usage: tests/kube/kubepods.sh NOMOAT NOMOATD" >&2
	exit 2
fi
why=
[[ $(id -u) == 0 ]] || why+="not root; "
[[ -x $nomoat ]] || why+="no $nomoat; "
[[ -x $nomoatd ]] || why+="no $nomoatd; "
for t in runc python3; do command -v "$t" >/dev/null || why+="no $t; "; done
busybox=$(command -v busybox)
if [[ -z $busybox ]] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
	[[ -x /bin/busybox ]] && file -L /bin/busybox | grep -q 'statically linked' && busybox=/bin/busybox ||
		why+="no static busybox (busybox-static); "
fi
cgmnt=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' \
	/proc/self/mountinfo)
[[ -n $cgmnt ]] || why+="no cgroup2 mount; "
if [[ -n $why ]]; then
	notok "prerequisites" "$why"
	finish
fi

id=$$
rel=/nmt-kube-$id
abs=$cgmnt$rel
pin=/sys/fs/bpf/nmt-kube-$id
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nmt-kube.XXXXXX") || exit 1
rroot=$tmp/runc
dpid=
containers=()

cleanup() {
	local c m i
	trap - EXIT INT TERM
	for c in "${containers[@]}" $(timeout 10 runc --root "$rroot" list -q 2>/dev/null); do
		timeout 20 runc --root "$rroot" delete -f "$c" >/dev/null 2>&1
	done
	if [[ -n $dpid ]] && kill -0 "$dpid" 2>/dev/null; then
		kill -TERM "$dpid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			kill -0 "$dpid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$dpid" 2>/dev/null
		wait "$dpid" 2>/dev/null
	fi
	if [[ -d $pin ]]; then
		timeout 30 "$nomoat" --pin-dir "$pin" unload >/dev/null 2>&1 || rm -rf "$pin"
	fi
	# Our cgroups, deepest first: the v2 tree and runc's v1 copies of it
	# (any process left in them is ours: killed first).
	for m in $(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) ~ /^cgroup2?$/) print $5; break } }' \
		/proc/self/mountinfo | sort -u); do
		[[ -d $m$rel ]] || continue
		for ((i = 0; i < 20; i++)); do
			find "$m$rel" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
			find "$m$rel" -depth -type d -exec rmdir {} + 2>/dev/null
			[[ -d $m$rel ]] || break
			sleep 0.1
		done
		[[ -d $m$rel ]] && echo "# warning: could not remove $m$rel" >&2
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the policy file: the deployment's, rendered, moved below $rel ------
pod_uid=3f0c2a9e-5b71-4c2d-8e4f-6a7b8c9d0e1f     # an agent pod (default namespace)
g_uid=7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6       # a Guaranteed agent pod
self_uid=9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d    # the DaemonSet's own pod (POD_UID)
sys_uid=0a1b2c3d-4e5f-4607-8819-2a3b4c5d6e7f     # a kube-system pod (found in the log dir)
h=$(printf '%016x' "$id")
cid=$h$h$h$h                                       # 64 hex characters: a CRI container id
sd_cid=${cid:0:63}c
mkdir -p "$tmp/logs/kube-system_kube-proxy-x7k2p_$sys_uid" "$tmp/logs/default_agent-0_$pod_uid" \
	"$abs/kubepods" "$abs/kubepods.slice" || exit 1
printf 'nameserver 127.0.0.53\n' >"$tmp/resolv.conf"
if out=$(NODE_IP=127.0.0.1 POD_UID=$self_uid POD_LOG_DIR=$tmp/logs RESOLV_CONF=$tmp/resolv.conf \
	CGROUP_ROOT=$abs NOMOATD=$nomoatd EXEMPT_NAMESPACES="kube-system nomoat-system" \
	"$dep/nomoat-kube.sh" render "$dep/nomoat.conf" "$tmp/rendered.conf" 2>&1); then
	ok "nomoat-kube render: the deployment's policy file for this node"
else
	notok "nomoat-kube render: the deployment's policy file for this node" "$out"
	finish
fi
python3 - "$tmp/rendered.conf" "$tmp/test.conf" "$rel" "$tmp" <<'EOF' || exit 1
import re, sys
src, dst, rel, tmp = sys.argv[1:5]
out = []
for line in open(src):
    m = re.match(r"^(attach|bind)(\s+)(/\S*)(.*)$", line.rstrip("\n"))
    if m:
        line = "%s%s%s%s%s\n" % (m.group(1), m.group(2), rel, m.group(3), m.group(4))
    line = re.sub(r"^events-log\s+\S+", "events-log " + tmp + "/events.jsonl", line)
    line = re.sub(r"^events-socket\s+\S+", "events-socket " + tmp + "/events.sock", line)
    line = re.sub(r"^metrics\s+\S+", "metrics unix:" + tmp + "/metrics.sock", line)
    out.append(line)
open(dst, "w").write("".join(out))
EOF
if out=$("$nomoatd" --check "$tmp/test.conf" 2>&1) &&
	[[ $(grep -c "^bind $rel/kubepods" "$tmp/test.conf") -ge 14 ]] &&
	[[ $(grep -c "^attach $rel/kubepods" "$tmp/test.conf") -eq 2 ]]; then
	ok "the test's file: the deployment's attach and bind lines below $rel, its own socket, metrics, log"
else
	notok "the test's file passes nomoatd --check" "$out$(grep -n '^attach\|^bind' "$tmp/test.conf")"
	finish
fi

# ---- nomoatd -------------------------------------------------------------
"$nomoatd" --config "$tmp/test.conf" --pin-dir "$pin" --pidfile "$tmp/nomoatd.pid" \
	</dev/null >"$tmp/nomoatd.log" 2>&1 &
dpid=$!
end=$(($(now_ms) + 20000))
while (($(now_ms) < end)); do
	grep -q 'nomoatd: running (pid' "$tmp/nomoatd.log" && break
	kill -0 "$dpid" 2>/dev/null || break
	sleep 0.1
done
if grep -q 'nomoatd: running (pid' "$tmp/nomoatd.log"; then
	ok "nomoatd runs on it (attach points $rel/kubepods, $rel/kubepods.slice; enforcement checked)"
else
	notok "nomoatd runs on the test's file within 20 s" "$(tail -n 20 "$tmp/nomoatd.log")"
	finish
fi

# The policy bound to a cgroup (relative path), from `nomoat -j cgroup list`.
bound_to() {
	"$nomoat" --pin-dir "$pin" -j cgroup list 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
for b in d.get("bound", []):
    if b.get("cgroup") in (sys.argv[1], sys.argv[2] + sys.argv[1]):
        print(b.get("policy", ""))
        break
' "$rel$1" "$cgmnt"
}
# Wait (at most $3 ms) until the cgroup's binding is $2 ("" = none).
wait_bound() {
	local got end=$(($(now_ms) + $3))
	while :; do
		got=$(bound_to "$1")
		[[ $got == "$2" ]] && return 0
		(($(now_ms) < end)) || break
		sleep 0.1
	done
	echo "$1: bound to '${got}', want '$2' after $3 ms"
	return 1
}

# ---- the systemd driver's shapes, by hand --------------------------------
us() { echo "${1//-/_}"; }
sd_pod=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod$(us $pod_uid).slice
sd_gpod=/kubepods.slice/kubepods-pod$(us $g_uid).slice
sd_self=/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod$(us $self_uid).slice
sd_sys=/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod$(us $sys_uid).slice
if [[ $(cat /proc/1/comm 2>/dev/null) == systemd ]]; then
	echo "# PID 1 is systemd: the systemd driver's form could be run by runc --systemd-cgroup; made by hand here all the same"
else
	echo "# PID 1 is $(cat /proc/1/comm 2>/dev/null), not systemd: runc --systemd-cgroup cannot run here;" \
		"the systemd driver's directories are made by hand"
fi
why=
for d in "$sd_pod/cri-containerd-$sd_cid.scope" "$sd_gpod/cri-containerd-$sd_cid.scope" \
	"$sd_self/cri-containerd-$sd_cid.scope" "$sd_sys/cri-containerd-$sd_cid.scope"; do
	mkdir -p "$abs$d" || why+="mkdir $d; "
done
w=$(wait_bound "$sd_pod" agents 5000) || why+="$w; "
w=$(wait_bound "$sd_gpod" agents 5000) || why+="$w; "
check "systemd driver: kubepods-burstable-pod<uid>.slice and (Guaranteed) kubepods-pod<uid>.slice are bound to agents within 5 s" "$why"
why=
w=$(wait_bound "$sd_self" exempt 5000) || why+="$w; "
w=$(wait_bound "$sd_sys" exempt 5000) || why+="$w; "
w=$(wait_bound "$sd_pod/cri-containerd-$sd_cid.scope" "" 0) || why+="$w (the pod's binding covers it); "
check "systemd driver: the DaemonSet's own pod (POD_UID) and a kube-system pod (/var/log/pods) are bound to exempt; containers are not bound themselves" "$why"

# ---- a container in the cgroupfs driver's shape, by runc -----------------
# The bundle: busybox-static as the rootfs, runc's default config with the
# kubelet's cgroupfs path below $rel, sleep as the process.
( cd "$tmp" && runc spec ) >/dev/null 2>&1 || { notok "runc spec" "failed"; finish; }
start_container() { # start_container NAME CGROUPS_PATH: prints the container's pid
	local b=$tmp/b-$1 a
	mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/dev" "$b/rootfs/sys" "$b/rootfs/tmp" || return 1
	cp "$busybox" "$b/rootfs/bin/busybox" || return 1
	for a in sh sleep cat nc; do ln -s busybox "$b/rootfs/bin/$a"; done
	python3 - "$tmp/config.json" "$b/config.json" "$2" <<'EOF2' || return 1
import json, sys
src, dst, cgp = sys.argv[1:4]
c = json.load(open(src))
c["process"]["terminal"] = False
c["process"]["args"] = ["sleep", "600"]
c["root"] = {"path": "rootfs", "readonly": True}
c["hostname"] = "nmt-kube"
c["linux"]["cgroupsPath"] = cgp
ns = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
ns.append({"type": "network"})  # a new, empty one: only lo, no routes
c["linux"]["namespaces"] = ns
json.dump(c, open(dst, "w"), indent=1)
EOF2
	timeout 30 runc --root "$rroot" run -d --bundle "$b" "$1" </dev/null >"$tmp/$1.out" 2>&1 || return 1
	timeout 10 runc --root "$rroot" state "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])'
}
cf_pod=/kubepods/burstable/pod$pod_uid
cf_cg=$cf_pod/$cid
cf_sys=/kubepods/besteffort/pod$sys_uid
agent=nmt-kube-$id-agent
sysc=nmt-kube-$id-sys
containers+=("$agent" "$sysc")
cpid=$(start_container "$agent" "$rel$cf_cg")
if [[ -n $cpid ]]; then
	ok "runc run -d: a container in $rel$cf_cg (pid $cpid)"
else
	notok "runc run -d: a container in $rel$cf_cg" "$(cat "$tmp/$agent.out" 2>/dev/null)"
	finish
fi
why=$(wait_bound "$cf_pod" agents 5000)
check "cgroupfs driver: the container's pod cgroup kubepods/burstable/pod<uid> is bound to agents within 5 s" "$why"
line=$(grep '^0::' "/proc/$cpid/cgroup" 2>/dev/null)
check "the container's process is in that cgroup (/proc/$cpid/cgroup: ${line:-none})" \
	"$([[ $line == "0::$rel$cf_cg" ]] || echo "want 0::$rel$cf_cg")"

# Inside: a network namespace of its own, lo only (else nothing is tried).
rexec() { timeout 10 runc --root "$rroot" exec "$@" 2>&1; }
netdev=$(rexec "$agent" cat /proc/net/dev | awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' | tr '\n' ' ')
routes=$(rexec "$agent" cat /proc/net/route | awk 'NR > 1' | wc -l)
if [[ $netdev == "lo " && $routes == 0 && $(readlink "/proc/$cpid/ns/net") != $(readlink /proc/self/ns/net) ]]; then
	ok "the container has its own network namespace: lo only, no routes"
	out=$(rexec "$agent" nc -w 3 169.254.169.254 80 </dev/null)
	check "from the container, a connect to 169.254.169.254:80 is refused with EPERM (agents: deny-defaults)" \
		"$(grep -q 'Operation not permitted' <<<"$out" || echo "nc said: $out")"
	# (the daemon's canary made one to the same address: the one of nc is ours)
	evl=
	end=$(($(now_ms) + 3000))
	while [[ -z $evl ]] && (($(now_ms) < end)); do
		evl=$(grep '"dst":"169.254.169.254:80"' "$tmp/events.jsonl" 2>/dev/null | grep '"comm":"nc"' | tail -n 1)
		[[ -n $evl ]] || sleep 0.1
	done
	why=
	grep -q '"verdict":"deny"' <<<"$evl" || why+="no deny event; "
	grep -q '"policy":"agents"' <<<"$evl" || why+="not policy agents; "
	grep -q "\"container\":\"$cid\"" <<<"$evl" || why+="container id not named; "
	check "its deny event (events-log) names policy agents and the container id" "$why${why:+ $evl}"
else
	notok "the container has its own network namespace: lo only, no routes" "interfaces: $netdev; routes: $routes"
fi

# A container of a kube-system pod: exempt, so nothing refuses it; with no
# route the kernel answers ENETUNREACH, and nothing leaves.
spid=$(start_container "$sysc" "$rel$cf_sys/$cid")
if [[ -n $spid ]]; then
	why=$(wait_bound "$cf_sys" exempt 5000)
	netdev=$(rexec "$sysc" cat /proc/net/dev | awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' | tr '\n' ' ')
	if [[ -z $why && $netdev == "lo " ]]; then
		out=$(rexec "$sysc" nc -w 3 169.254.169.254 80 </dev/null)
		grep -q 'Network is unreachable' <<<"$out" || why="nc said: $out"
	elif [[ -z $why ]]; then
		why="interfaces: $netdev (nothing tried)"
	fi
	check "a kube-system pod's container (cgroupfs, BestEffort) is exempt: no EPERM, the empty namespace's ENETUNREACH" "$why"
else
	notok "runc run -d: a kube-system pod's container" "$(cat "$tmp/$sysc.out" 2>/dev/null)"
fi

# ---- the container goes, then the pod -----------------------------------
timeout 20 runc --root "$rroot" delete -f "$agent" >"$tmp/del.out" 2>&1
rc=$?
end=$(($(now_ms) + 5000))
while [[ -d $abs$cf_cg ]] && (($(now_ms) < end)); do sleep 0.1; done
why=
((rc == 0)) || why+="runc delete -f: exit $rc $(cat "$tmp/del.out"); "
[[ -d $abs$cf_cg ]] && why+="$abs$cf_cg is still there; "
alive() { [[ -e /proc/$1 ]] && ! grep -q '^[^)]*) [ZX]' "/proc/$1/stat" 2>/dev/null; }
end=$(($(now_ms) + 5000))
while alive "$cpid" && (($(now_ms) < end)); do sleep 0.1; done
alive "$cpid" && why+="pid $cpid still runs; "
w=$(wait_bound "$cf_pod" agents 0) || why+="$w; "
check "runc delete -f: the container and its cgroup are gone; the pod's binding stays while the pod cgroup does" "$why"
# The kubelet removes the pod's cgroup when the pod goes: so do we.
rmdir "$abs$cf_pod" 2>/dev/null
why=$(wait_bound "$cf_pod" "" 5000)
rmdir "$abs$sd_pod/cri-containerd-$sd_cid.scope" "$abs$sd_pod" 2>/dev/null
w=$(wait_bound "$sd_pod" "" 5000) || why+="; $w"
check "the pod cgroups removed (cgroupfs and systemd shapes): their bindings disappear within 5 s" "${why#; }"

if ! kill -0 "$dpid" 2>/dev/null; then
	notok "nomoatd ran to the end" "$(tail -n 20 "$tmp/nomoatd.log")"
fi
finish
