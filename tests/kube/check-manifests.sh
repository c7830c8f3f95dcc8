#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Offline check of the Kubernetes deployment (deploy/kubernetes/): no
# cluster, no API server, no image registry.
#
#   tests/kube/check-manifests.sh [NOMOATD]
#
# NOMOATD (default build/nomoatd) checks the rendered policy file.  kubectl
# (the client alone) renders the kustomization (`kubectl kustomize`, offline)
# and turns it into JSON (`kubectl annotate --local -o json`, offline; no
# PyYAML needed); `kubectl apply/create --dry-run=client` cannot be used: they
# ask the server for its API groups (and, validating, its OpenAPI schema),
# so no schema validation is done here, only the checks below.  Prints
# "ok N - ..." or "not ok N - ..." per check, then "N passed, N failed";
# exits non-zero if anything failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
dep=$top/deploy/kubernetes
nomoatd=${1:-$top/build/nomoatd}

. "$top/tests/lib/tap.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/nomoat-kube-check.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

if ! command -v kubectl >/dev/null; then
	notok "kubectl is installed" "no kubectl in PATH"
	finish
fi
if [[ ! -x $nomoatd ]]; then
	notok "nomoatd to check with: $nomoatd" "missing (make, or give its path)"
	finish
fi
# No kubeconfig of the machine's is read, and nothing may reach a server.
export KUBECONFIG=$work/no-kubeconfig

# 1. the kustomization renders offline
if timeout 60 kubectl kustomize "$dep" >"$work/all.yaml" 2>"$work/err"; then
	ok "kubectl kustomize deploy/kubernetes renders ($(grep -c '^kind:' "$work/all.yaml") objects)"
else
	notok "kubectl kustomize deploy/kubernetes renders" "$(cat "$work/err")"
	finish
fi

# 2. ... and parses as Kubernetes objects (JSON, offline)
if timeout 60 kubectl annotate --local -f "$work/all.yaml" -o json nomoat-check=1 >"$work/all.json" 2>"$work/err"; then
	ok "kubectl annotate --local parses every object (JSON for the checks)"
else
	notok "kubectl annotate --local parses every object" "$(cat "$work/err")"
	finish
fi
# The DaemonSet file alone too, as `kubectl apply -f` would read it.
if timeout 60 kubectl annotate --local -f "$dep/daemonset.yaml" -f "$dep/namespace.yaml" -o json x=y \
	>/dev/null 2>"$work/err"; then
	ok "daemonset.yaml and namespace.yaml parse on their own (kubectl apply -f)"
else
	notok "daemonset.yaml and namespace.yaml parse on their own" "$(cat "$work/err")"
fi

# 3. scripts parse
for s in "$dep/nomoat-kube.sh" "$dep/build-image.sh" "$here/kubepods.sh"; do
	if out=$(bash -n "$s" 2>&1); then
		ok "bash -n ${s#"$top"/}"
	else
		notok "bash -n ${s#"$top"/}" "$out"
	fi
done

# 4. the policy file: rendered as the init container does, checked
mkdir -p "$work/logs/kube-system_coredns-5d78c9869d-abcde_0f0e0d0c-0b0a-4909-8807-060504030201" \
	"$work/logs/default_agent-1_11111111-2222-4333-8444-555555555555" "$work/cg"
printf 'search cluster.local\nnameserver 10.0.0.2\nnameserver fd00:ec2::253\n' >"$work/resolv.conf"
render() {
	NODE_IP=$1 POD_UID=$2 POD_LOG_DIR=$work/logs RESOLV_CONF=$work/resolv.conf CGROUP_ROOT=$work/cg \
		NOMOATD=$nomoatd EXEMPT_NAMESPACES="kube-system nomoat-system" \
		"$dep/nomoat-kube.sh" render "$3" "$4"
}
uid=a1b2c3d4-e5f6-4789-9abc-def012345678
if out=$(render 10.0.0.7 "$uid" "$dep/nomoat.conf" "$work/nomoat.conf" 2>&1) && [[ -s $work/nomoat.conf ]]; then
	ok "nomoat-kube render writes the node's file (NODE_IP, POD_UID, exempt pods, resolvers)"
else
	notok "nomoat-kube render writes the node's file" "$out"
fi
if out=$("$nomoatd" --check "$work/nomoat.conf" 2>&1); then
	ok "nomoatd --check passes the rendered policy file"
else
	notok "nomoatd --check passes the rendered policy file" "$out"
fi
if out=$(grep -n -e '^[^#]*@NODE_IP@' -e '^[[:blank:]]*#@exempt@' -e '^[[:blank:]]*#@resolvers@' "$work/nomoat.conf"); then
	notok "no placeholder is left in the rendered file" "$out"
else
	ok "no placeholder is left in the rendered file"
fi
# A bad template is refused and leaves the installed file alone.
cp "$work/nomoat.conf" "$work/good.conf"
sed 's/^\tdefault redirect/\tdefault sideways/' "$dep/nomoat.conf" >"$work/bad.tmpl"
if render 10.0.0.7 "$uid" "$work/bad.tmpl" "$work/nomoat.conf" >"$work/err" 2>&1; then
	notok "a template that fails nomoatd --check is refused" "render exit 0"
elif ! cmp -s "$work/nomoat.conf" "$work/good.conf"; then
	notok "a template that fails nomoatd --check is refused" "the installed file changed"
elif ! grep -q "bad.tmpl (rendered):[0-9]*:" "$work/err"; then
	notok "a template that fails nomoatd --check is refused" "no FILE:LINE message: $(cat "$work/err")"
else
	ok "a template that fails nomoatd --check is refused, the installed file stays ($(grep -c ':[0-9]*:' "$work/err") error)"
fi
if render "" "$uid" "$dep/nomoat.conf" "$work/x.conf" >"$work/err" 2>&1 || [[ -e $work/x.conf ]]; then
	notok "render refuses an empty NODE_IP" "$(cat "$work/err")"
else
	ok "render refuses an empty NODE_IP (status.hostIP missing)"
fi
# [if-present]: only the kubelet root that exists is attached.
mkdir -p "$work/cg/kubepods.slice"
if render 10.0.0.7 "$uid" "$dep/nomoat.conf" "$work/sd.conf" >/dev/null 2>&1 &&
	grep -q '^attach /kubepods.slice ' "$work/sd.conf" && ! grep -q '^attach /kubepods ' "$work/sd.conf"; then
	ok "render on a systemd-driver node attaches /kubepods.slice only"
else
	notok "render on a systemd-driver node attaches /kubepods.slice only" "$(grep -n attach "$work/sd.conf" 2>&1)"
fi
rmdir "$work/cg/kubepods.slice"

# 5. the objects, the DaemonSet's pod, the policy's binds (python3, json)
python3 - "$work/all.json" "$dep/nomoat.conf" "$work/nomoat.conf" "$uid" >"$work/py.out" 2>&1 <<'EOF'
import ctypes, json, re, sys

stream, tmpl_path, rendered_path, exempt_uid = sys.argv[1:5]
tmpl = open(tmpl_path).read()
rendered = open(rendered_path).read()

def res(ok, desc, why=""):
    print(("PASS " if ok else "FAIL ") + desc + ("\t" + why if (why and not ok) else ""))

objs, dec, text, i = [], json.JSONDecoder(), open(stream).read(), 0
while True:
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    o, i = dec.raw_decode(text, i)
    objs.extend(o["items"] if o.get("kind") == "List" else [o])

kinds = sorted((o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objs)
want = [("ConfigMap", "nomoat-system", "nomoat-policy"), ("DaemonSet", "nomoat-system", "nomoat"),
        ("Namespace", "", "nomoat-system")]
res(kinds == want, "the objects are the Namespace, the ConfigMap nomoat-policy and the DaemonSet nomoat "
    "(no ServiceAccount, no RBAC)", repr(kinds))
by = {o["kind"]: o for o in objs}
ns, cm, ds = by.get("Namespace", {}), by.get("ConfigMap", {}), by.get("DaemonSet", {})

labels = ns.get("metadata", {}).get("labels", {})
res(labels.get("pod-security.kubernetes.io/enforce") == "privileged",
    "the namespace's Pod Security level is privileged (what the DaemonSet needs)", repr(labels))

res(cm.get("data", {}).get("nomoat.conf") == tmpl,
    "the ConfigMap's nomoat.conf is deploy/kubernetes/nomoat.conf", "differs")

pod = ds.get("spec", {}).get("template", {}).get("spec", {})
meta = ds.get("spec", {}).get("template", {}).get("metadata", {})
sel = ds.get("spec", {}).get("selector", {}).get("matchLabels", {})
res(sel and all(meta.get("labels", {}).get(k) == v for k, v in sel.items()),
    "the DaemonSet's selector matches its pod labels", repr((sel, meta.get("labels"))))
why = []
if pod.get("hostNetwork") is not True: why.append("hostNetwork")
if pod.get("shareProcessNamespace") is not True: why.append("shareProcessNamespace")
if pod.get("hostPID"): why.append("hostPID set (cannot go with shareProcessNamespace)")
if pod.get("automountServiceAccountToken") is not False: why.append("a service account token is mounted")
if pod.get("dnsPolicy") != "Default": why.append("dnsPolicy is not Default (the node's resolvers)")
if pod.get("serviceAccountName") not in (None, "default"): why.append("a service account")
res(not why, "pod: hostNetwork, shareProcessNamespace (no hostPID), no API token, the node's DNS",
    ", ".join(why))

conts = pod.get("initContainers", []) + pod.get("containers", [])
names = [c["name"] for c in conts]
res(names == ["render", "nomoatd", "proxy", "dns", "reloader", "metrics"],
    "containers: render (init), nomoatd, proxy, dns, reloader, metrics", repr(names))

why = [c["name"] for c in conts
       if not all(c.get("resources", {}).get(a, {}).get(b)
                  for a, b in (("requests", "cpu"), ("requests", "memory"), ("limits", "memory")))]
res(not why, "every container has requests (cpu, memory) and a memory limit", "missing: " + repr(why))

images = {c.get("image") for c in conts}
why = []
if len(images) != 1: why.append("images differ: %r" % images)
for im in images:
    if not im or ":" not in im or im.endswith(":latest"): why.append("untagged or latest: %r" % im)
if {c.get("imagePullPolicy") for c in conts} != {"IfNotPresent"}: why.append("imagePullPolicy")
res(not why, "one image for every container, tagged (%s), IfNotPresent" % ",".join(sorted(map(str, images))),
    "; ".join(why))

why = []
priv = sorted(c["name"] for c in conts if c.get("securityContext", {}).get("privileged"))
for c in conts:
    sc = c.get("securityContext")
    if not sc:
        why.append(c["name"] + ": no securityContext")
    elif not sc.get("privileged"):
        if sc.get("allowPrivilegeEscalation") is not False: why.append(c["name"] + ": privilege escalation")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []): why.append(c["name"] + ": capabilities not dropped")
        if sc.get("readOnlyRootFilesystem") is not True: why.append(c["name"] + ": root fs writable")
if priv != ["dns", "nomoatd", "proxy"]: why.append("privileged: %r" % priv)
res(not why, "securityContext everywhere; privileged only nomoatd, proxy, dns; the rest drop ALL, "
    "no escalation, read-only root", "; ".join(why))

byname = {c["name"]: c for c in conts}
def args(name):
    c = byname.get(name, {})
    return c.get("command", []) + c.get("args", [])
def after(a, flag):
    return a[a.index(flag) + 1] if flag in a else None
why = []
for nm in ("proxy", "dns"):
    a = args(nm)
    if a[:2] != ["nomoat-kube", "wait-daemon"]: why.append(nm + ": does not wait for nomoatd")
    if after(a, "--user") != "nobody": why.append(nm + ": no --user nobody")
    if after(a, "--config") != "/run/nomoat/nomoat.conf": why.append(nm + ": --config")
    env = {e["name"]: e for e in byname.get(nm, {}).get("env", [])}
    if env.get("FENCE_CGROUP", {}).get("value") != after(a, "--cgroup"): why.append(nm + ": FENCE_CGROUP != --cgroup")
if after(args("proxy"), "--cgroup") != "/nomoat-proxy": why.append("proxy: --cgroup")
if after(args("dns"), "--cgroup") != "/nomoat-dns": why.append("dns: --cgroup")
if after(args("nomoatd"), "--config") != "/run/nomoat/nomoat.conf": why.append("nomoatd: --config")
pidfile = after(args("nomoatd"), "--pidfile")
if not pidfile or pidfile not in args("proxy") or pidfile not in args("dns") or pidfile not in args("reloader"):
    why.append("the pidfile is not the same everywhere")
if args("render")[2:] != ["/etc/nomoat/policy/nomoat.conf", "/run/nomoat/nomoat.conf"]: why.append("render's paths")
if args("reloader")[2:4] != ["/etc/nomoat/policy/nomoat.conf", "/run/nomoat/nomoat.conf"]: why.append("reloader's paths")
res(not why, "commands: proxy and dns wait for nomoatd, fence themselves (--cgroup, FENCE_CGROUP) and drop to "
    "nobody; one policy file and one pidfile", "; ".join(why))

# Endpoints: the policy's proxy4/dns4 are NODE_IP and the ports the services listen on.
m4 = re.search(r"^\s*proxy4\s+@NODE_IP@:(\d+)", tmpl, re.M)
d4 = re.search(r"^\s*dns4\s+@NODE_IP@:(\d+)", tmpl, re.M)
why = []
if not m4 or after(args("proxy"), "--listen") != "$(NODE_IP):" + m4.group(1): why.append("proxy --listen vs proxy4")
if not d4 or after(args("dns"), "--listen") != "$(NODE_IP):" + d4.group(1): why.append("dns --listen vs dns4")
for c in conts:
    uses = "$(NODE_IP)" in " ".join(c.get("command", []) + c.get("args", []))
    env = {e["name"]: e for e in c.get("env", [])}
    hip = env.get("NODE_IP", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
    if (uses or c["name"] in ("render", "reloader")) and hip != "status.hostIP":
        why.append(c["name"] + ": NODE_IP is not status.hostIP")
    if c["name"] in ("render", "reloader") and \
            env.get("POD_UID", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != "metadata.uid":
        why.append(c["name"] + ": POD_UID is not metadata.uid")
res(not why, "endpoints: proxy4/dns4 are the node's address (status.hostIP) on the ports nomoat-proxy and "
    "nomoat-dns listen on", "; ".join(why))

# Metrics: loopback in the policy, relayed by socat on the annotated port.
mm = re.search(r"^metrics\s+(\S+)", tmpl, re.M)
ann = meta.get("annotations", {})
ma = args("metrics")
why = []
if not mm or not mm.group(1).startswith("127.0.0.1:"): why.append("policy metrics is not 127.0.0.1:PORT")
elif not any(x.startswith("TCP4:" + mm.group(1)) for x in ma): why.append("socat does not relay to " + mm.group(1))
lp = ann.get("prometheus.io/port")
if ann.get("prometheus.io/scrape") != "true" or not lp: why.append("no prometheus.io annotations")
elif not any(x.startswith("TCP4-LISTEN:%s," % lp) and "bind=$(NODE_IP)" in x for x in ma):
    why.append("socat does not listen on $(NODE_IP):" + lp)
lv = byname.get("nomoatd", {}).get("livenessProbe", {}).get("httpGet", {})
if not mm or "%s:%s" % (lv.get("host"), lv.get("port")) != mm.group(1): why.append("nomoatd's liveness probe port")
if not re.search(r"^events-log\s+stdout\b", tmpl, re.M): why.append("events-log is not stdout")
for nm in ("proxy", "dns"):
    if after(args(nm), "--log") != "stdout": why.append(nm + " does not log to stdout")
res(not why, "metrics: nomoatd on %s, socat on $(NODE_IP):%s (prometheus.io annotations); events, proxy and "
    "dns logs on stdout" % (mm.group(1) if mm else "?", lp), "; ".join(why))

# Volumes: every mount names a volume; the host paths; bpffs propagation.
vols = {v["name"]: v for v in pod.get("volumes", [])}
why = []
for c in conts:
    for vm in c.get("volumeMounts", []):
        if vm["name"] not in vols: why.append("%s mounts unknown volume %s" % (c["name"], vm["name"]))
hp = {n: v.get("hostPath", {}).get("path") for n, v in vols.items() if "hostPath" in v}
if hp != {"bpffs": "/sys/fs/bpf", "cgroup": "/sys/fs/cgroup", "pod-logs": "/var/log/pods"}: why.append("hostPaths %r" % hp)
if vols.get("policy", {}).get("configMap", {}).get("name") != cm.get("metadata", {}).get("name"):
    why.append("the policy volume is not the ConfigMap")
for c in conts:
    for vm in c.get("volumeMounts", []):
        if vm["name"] == "policy" and vm.get("subPath"): why.append("subPath mounts never update")
        if vm["name"] == "bpffs" and c["name"] == "nomoatd" and vm.get("mountPropagation") != "Bidirectional":
            why.append("nomoatd's bpffs is not Bidirectional")
        if vm["name"] == "cgroup" and vm.get("mountPath") != "/sys/fs/cgroup": why.append("cgroup mount path")
res(not why, "volumes: the ConfigMap (no subPath), /run/nomoat, host /sys/fs/bpf, /sys/fs/cgroup and "
    "/var/log/pods", "; ".join(why))

# Binds: the shipped globs against the kubelet's cgroup shapes, with glibc's
# fnmatch(FNM_PATHNAME), the daemon's own matcher.
libc = ctypes.CDLL(None)
libc.fnmatch.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
FNM_PATHNAME = 1
def match(p, s):
    return libc.fnmatch(p.encode(), s.encode(), FNM_PATHNAME) == 0
attaches = re.findall(r"^attach\s+(\S+)", rendered, re.M)
binds = re.findall(r"^bind\s+(\S+)\s+(\S+)", rendered, re.M)
def direct(path):
    for p, pol in binds:
        if match(p, path):
            return pol
    return None
def policy_of(path):
    if not any(path == a or path.startswith(a + "/") for a in attaches):
        return "(not attached)"
    parts = path.split("/")
    for k in range(len(parts), 1, -1):
        pol = direct("/".join(parts[:k]))
        if pol:
            return pol
    return "(no policy: fail closed)"
u, ex = "8d2f1e4c-7b3a-4c5d-9e6f-0a1b2c3d4e5f", exempt_uid
cid = "0123456789abcdef" * 4
sd = lambda q, uid: "/kubepods.slice/kubepods-%s.slice/kubepods-%s-pod%s.slice" % (q, q, uid.replace("-", "_"))
sdg = lambda uid: "/kubepods.slice/kubepods-pod%s.slice" % uid.replace("-", "_")
cf = lambda q, uid: "/kubepods/%s/pod%s" % (q, uid)
cfg = lambda uid: "/kubepods/pod%s" % uid
cases = [
    (sd("burstable", u), "agents", True), (sd("besteffort", u), "agents", True), (sdg(u), "agents", True),
    (cf("burstable", u), "agents", True), (cf("besteffort", u), "agents", True), (cfg(u), "agents", True),
    (sd("burstable", ex), "exempt", True), (sdg(ex), "exempt", True), (cf("besteffort", ex), "exempt", True),
    (cfg(ex), "exempt", True),
    (sd("burstable", "0f0e0d0c-0b0a-4909-8807-060504030201"), "exempt", True),  # kube-system, from the log dir
    (cf("burstable", "11111111-2222-4333-8444-555555555555"), "agents", True),  # default namespace
    (sd("burstable", u) + "/cri-containerd-%s.scope" % cid, "agents", False),
    (sdg(u) + "/cri-containerd-%s.scope" % cid, "agents", False),
    (cf("burstable", u) + "/" + cid, "agents", False), (cfg(u) + "/" + cid, "agents", False),
    (sd("besteffort", ex) + "/cri-containerd-%s.scope" % cid, "exempt", False),
    (cfg(ex) + "/" + cid, "exempt", False),
    ("/kubepods.slice/kubepods-burstable.slice", "agents", False), ("/kubepods/burstable", "agents", False),
    ("/kubepods.slice", "agents", True), ("/kubepods", "agents", True),
    ("/nomoat-proxy", "proxy-fence", True), ("/nomoat-dns", "(no policy: fail closed)", False),
    ("/system.slice/containerd.service", "(not attached)", False),
]
why = []
for path, pol, bound in cases:
    got = policy_of(path)
    if got != pol:
        why.append("%s: %s, want %s" % (path, got, pol))
    if bound and direct(path) != pol:
        why.append("%s: no bind line of its own (%s)" % (path, direct(path)))
res(not why, "bind globs: pod cgroups of both drivers (systemd, cgroupfs), every QoS class, are bound to "
    "agents; their containers covered; exempt pods (this one, kube-system's) to exempt (%d paths)" % len(cases),
    "; ".join(why))
why = [p for p, pol in binds if not any(p == a or p.startswith(a + "/") for a in attaches)]
res(not why, "every bind pattern lies below an attach point", repr(why))
EOF
rc=$?
tap_relay "$work/py.out"
((rc == 0)) || notok "the python checks ran" "exit $rc"

# 6. the reloader, in a PID namespace of its own (as in the pod, whose
# processes alone it sees and signals): a ConfigMap update (the kubelet's
# ..data symlink swap) re-renders and SIGHUPs nomoatd, nomoat-proxy and
# nomoat-dns; a new kube-system pod re-renders and SIGHUPs nomoatd alone; a
# bad update installs nothing and signals nobody.  The three are stand-ins
# (bash under their names, counting SIGHUPs); nothing touches the kernel.
rl=$work/rl
mkdir -p "$rl/cm/..v1" "$rl/logs" "$rl/bin" "$rl/run"
cp "$dep/nomoat.conf" "$rl/cm/..v1/nomoat.conf"
ln -s ..v1 "$rl/cm/..data"
ln -s ..data/nomoat.conf "$rl/cm/nomoat.conf"
for b in nomoatd nomoat-proxy nomoat-dns; do cp "$(command -v bash)" "$rl/bin/$b"; done
cat >"$rl/inner.sh" <<'EOF'
set -u
rl=$1 dep=$2 nomoatd=$3
export NODE_IP=10.0.0.7 POD_UID=a1b2c3d4-e5f6-4789-9abc-def012345678 POD_LOG_DIR=$rl/logs \
	RESOLV_CONF=$rl/resolv.conf CGROUP_ROOT=$rl NOMOATD=$nomoatd EXEMPT_NAMESPACES=kube-system
echo 'nameserver 10.0.0.2' >"$rl/resolv.conf"
res() { if [ -z "$2" ]; then echo "PASS $1"; else printf 'FAIL %s\t%s\n' "$1" "$2"; fi; }
hups() { cat "$rl/run/$1.hups" 2>/dev/null | wc -l; }
wait_for() { # wait_for SECONDS CONDITION
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		eval "$2" && return 0
		sleep 0.1
	done
	return 1
}
"$dep/nomoat-kube.sh" render "$rl/cm/nomoat.conf" "$rl/run/nomoat.conf" 2>/dev/null ||
	{ res "reloader: first render" failed; exit 0; }
for b in nomoatd nomoat-proxy nomoat-dns; do
	"$rl/bin/$b" -c "trap 'echo hup >>$rl/run/$b.hups' HUP; for ((i = 0; i < 900; i++)); do sleep 0.1; done" &
	[ $b = nomoatd ] && echo $! >"$rl/run/nomoatd.pid"
done
"$dep/nomoat-kube.sh" reload-loop "$rl/cm/nomoat.conf" "$rl/run/nomoat.conf" "$rl/run/nomoatd.pid" 2>"$rl/loop.err" &
sleep 0.5
# the kubelet's update: a new directory, ..data swapped in one rename
mkdir "$rl/cm/..v2"
sed 's/^\thostname pypi.org$/\thostname pypi.org\n\thostname example.org/' "$dep/nomoat.conf" >"$rl/cm/..v2/nomoat.conf"
ln -s ..v2 "$rl/cm/..data.tmp" && mv -T "$rl/cm/..data.tmp" "$rl/cm/..data"
why=
wait_for 15 '[ "$(hups nomoatd)" = 1 ] && [ "$(hups nomoat-proxy)" = 1 ] && [ "$(hups nomoat-dns)" = 1 ]' ||
	why="SIGHUPs: nomoatd $(hups nomoatd), proxy $(hups nomoat-proxy), dns $(hups nomoat-dns); "
grep -q '^	hostname example.org$' "$rl/run/nomoat.conf" || why+="the new file is not installed; "
res "reloader: a ConfigMap update (..data swap) is rendered, checked, installed; nomoatd, nomoat-proxy, nomoat-dns get SIGHUP" "$why"
uid=0f0e0d0c-0b0a-4909-8807-0605040302aa
mkdir "$rl/logs/kube-system_kube-proxy-abcde_$uid"
why=
wait_for 15 '[ "$(hups nomoatd)" = 2 ]' || why="nomoatd SIGHUPs: $(hups nomoatd); "
grep -q "pod${uid//-/_}.slice exempt" "$rl/run/nomoat.conf" || why+="no exempt bind for the new pod; "
sleep 0.5
{ [ "$(hups nomoat-proxy)" = 1 ] && [ "$(hups nomoat-dns)" = 1 ]; } || why+="proxy or dns signalled too; "
res "reloader: a new kube-system pod (/var/log/pods) gets its exempt binds; SIGHUP to nomoatd only" "$why"
cp "$rl/run/nomoat.conf" "$rl/good.conf"
mkdir "$rl/cm/..v3"
sed 's/^\tdefault redirect/\tdefault sideways/' "$dep/nomoat.conf" >"$rl/cm/..v3/nomoat.conf"
ln -s ..v3 "$rl/cm/..data.tmp" && mv -T "$rl/cm/..data.tmp" "$rl/cm/..data"
why=
wait_for 15 'grep -q "fails the check" "$rl/loop.err"' || why="no error reported; "
sleep 0.5
cmp -s "$rl/run/nomoat.conf" "$rl/good.conf" || why+="the installed file changed; "
{ [ "$(hups nomoatd)" = 2 ] && [ "$(hups nomoat-proxy)" = 1 ]; } || why+="a SIGHUP was sent; "
res "reloader: an update that fails nomoatd --check installs nothing and signals nobody (it says why)" "$why"
EOF
if command -v unshare >/dev/null; then
	timeout 90 unshare --pid --fork --mount-proc bash "$rl/inner.sh" "$rl" "$dep" "$nomoatd" >"$work/rl.out" 2>&1
	grep -q '^PASS\|^FAIL' "$work/rl.out" || notok "the reloader checks ran (unshare --pid)" "$(cat "$work/rl.out")"
	tap_relay "$work/rl.out"
else
	notok "the reloader checks" "no unshare"
fi

# 7. the image: the Dockerfile copies what build-image.sh stages
df=$dep/Dockerfile
if grep -q '^FROM debian:bookworm' "$df" &&
	grep -q '^COPY nomoat nomoatd nomoat-proxy nomoat-dns /usr/local/sbin/' "$df" &&
	grep -q '^COPY nomoat-kube.sh /usr/local/sbin/nomoat-kube' "$df" &&
	grep -q 'for b in nomoat nomoatd nomoat-proxy nomoat-dns' "$dep/build-image.sh" &&
	grep -q 'socat' "$df" && grep -q 'inotify-tools' "$df"; then
	ok "Dockerfile: bookworm, the four binaries and nomoat-kube, socat and inotifywait"
else
	notok "Dockerfile: bookworm, the four binaries and nomoat-kube, socat and inotifywait"
fi
# Its runtime packages are the libraries the binaries link against.
missing=
for b in nomoat nomoatd nomoat-proxy nomoat-dns; do
	bin=$(dirname "$nomoatd")/$b
	[[ -x $bin ]] || continue
	for lib in $(ldd "$bin" 2>/dev/null | awk '/=>/ { print $1 }'); do
		case $lib in
		libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | ld-linux*) ;;
		libbpf.so.1) grep -q libbpf1 "$df" || missing+=" $lib" ;;
		libelf.so.1) grep -q libelf1 "$df" || missing+=" $lib" ;;
		libz.so.1) grep -q zlib1g "$df" || missing+=" $lib" ;;
		libcares.so.2) grep -q libc-ares2 "$df" || missing+=" $lib" ;;
		libjansson.so.4) grep -q libjansson4 "$df" || missing+=" $lib" ;;
		liburing.so.2) grep -q liburing2 "$df" || missing+=" $lib" ;;
		*) missing+=" $lib(unknown)" ;;
		esac
	done
done
if [[ -z $missing ]]; then
	ok "the image installs every library the binaries link against"
else
	notok "the image installs every library the binaries link against" "missing:$missing"
fi

finish
