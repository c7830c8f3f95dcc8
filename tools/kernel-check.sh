#!/usr/bin/env bash
# Boot one of Debian's own kernels (default: bookworm's 6.1 cloud kernel) under
# QEMU (TCG, no KVM needed) with a busybox initramfs holding build/nomoat, and
# check that the same binary and its embedded BPF object load and enforce there.
#
#   tools/kernel-check.sh [SERIES]      SERIES: 6.1 (default) or e.g. 6.12
#
# Environment:
#   NOMOAT=path          the binary to test (default build/nomoat; built if missing)
#   NOMOAT_DNS=path      the resolver checked beside it (default: nomoat-dns next to NOMOAT)
#   KC_TIMEOUT=seconds   limit for the whole VM run (default 300)
#   KC_LOG=path          console log (default build/kernel-check-<kernel>.log)
#   KC_MODULES="a b"     extra kernel modules to put in the initramfs and insmod
#
# Runs as root. Installs qemu-system-x86 and busybox-static with apt-get when
# missing; the kernel package is only downloaded and unpacked into a temp dir,
# never installed. Exit 0 only if the VM reports "kernel-check: N passed, 0 failed".
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERIES=${1:-6.1}
NOMOAT=${NOMOAT:-$ROOT/build/nomoat}
NOMOAT_DNS=${NOMOAT_DNS:-$(dirname "$NOMOAT")/nomoat-dns}
TIMEOUT=${KC_TIMEOUT:-300}

die() { echo "kernel-check: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (apt-get, mknod)"
[[ $SERIES =~ ^[0-9]+\.[0-9]+$ ]] || die "SERIES must look like 6.1 or 6.12, not '$SERIES'"

tmp=$(mktemp -d /tmp/kernel-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp" # so that apt-get download can run as _apt

# --- 1. what we need --------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
echo "kernel-check: apt-get update"
apt-get update -qq
missing=()
for p in qemu-system-x86 busybox-static; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "kernel-check: installing ${missing[*]}"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
BUSYBOX=/bin/busybox
file -L "$BUSYBOX" 2>/dev/null | grep 'statically linked' >/dev/null || die "$BUSYBOX is not the static busybox"

if [[ ! -x $NOMOAT ]]; then
	echo "kernel-check: $NOMOAT missing, running make"
	make -C "$ROOT" build/nomoat
fi
if [[ ! -x $NOMOAT_DNS ]]; then
	echo "kernel-check: $NOMOAT_DNS missing, running make"
	make -C "$ROOT" build/nomoat-dns
fi

# Newest Debian cloud kernel of the series that the archive can deliver.
series_re=${SERIES//./\\.}
kpkg=""
for p in $(apt-cache search --names-only "^linux-image-${series_re}[.-].*-cloud-amd64-unsigned\$" |
	awk '{print $1}' | grep -E "^linux-image-${series_re}[.-][^ ]*-cloud-amd64-unsigned\$" | sort -rV); do
	cand=$(apt-cache policy "$p" | awk '/Candidate:/ {print $2}')
	if [[ -n $cand && $cand != "(none)" ]]; then
		kpkg=$p
		break
	fi
done
[[ -n $kpkg ]] || die "no linux-image-${SERIES}*-cloud-amd64-unsigned package in the archive (apt-cache search)"
echo "kernel-check: kernel package $kpkg ($cand)"
mkdir -p "$tmp/deb" "$tmp/kernel"
chown _apt "$tmp/deb" 2>/dev/null || true # lets apt download sandboxed, without a warning
(cd "$tmp/deb" && apt-get download -qq "$kpkg")
dpkg-deb -x "$tmp"/deb/*.deb "$tmp/kernel"
vmlinuz=$(ls "$tmp"/kernel/boot/vmlinuz-*)
config=$(ls "$tmp"/kernel/boot/config-*)
kver=${vmlinuz##*/vmlinuz-}
moddir=$tmp/kernel/lib/modules/$kver
LOG=${KC_LOG:-$ROOT/build/kernel-check-$kver.log}

# Kernel features the check needs: built in, or a module we ship and insmod.
# OPTION:module (no module: a bool option, it must be built in).
read -r -a modules <<<"${KC_MODULES:-}"
for want in CONFIG_BLK_DEV_INITRD: CONFIG_RD_GZIP: CONFIG_DEVTMPFS: CONFIG_SERIAL_8250_CONSOLE: \
	CONFIG_BPF_SYSCALL: CONFIG_CGROUPS: CONFIG_CGROUP_BPF: CONFIG_DEBUG_INFO_BTF: CONFIG_BPF_JIT: \
	CONFIG_UNIX:unix CONFIG_INET: CONFIG_IPV6:ipv6; do
	opt=${want%%:*} mod=${want#*:}
	val=$(grep -E "^$opt=" "$config" | cut -d= -f2 || true)
	case $val in
	y) ;;
	m) [[ -n $mod ]] || die "$kver: $opt=m cannot be"; modules+=("$mod")
	   echo "kernel-check: $opt is a module: shipping $mod.ko" ;;
	*) die "$kver: the kernel lacks $opt (needed by the check)" ;;
	esac
done
for opt in CONFIG_VETH CONFIG_NET_NS; do # not needed here (loopback only); for the record
	echo "kernel-check: $kver: $(grep -E "^$opt=" "$config" || echo "$opt is not set")"
done

# --- 2. the initramfs -------------------------------------------------------
ir=$tmp/initramfs
mkdir -p "$ir"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,etc,lib/modules}
cp "$BUSYBOX" "$ir/bin/busybox"
for a in $("$BUSYBOX" --list); do
	[[ $a == busybox ]] || ln -sf busybox "$ir/bin/$a"
done
cp "$NOMOAT" "$ir/bin/nomoat"
cp "$NOMOAT_DNS" "$ir/bin/nomoat-dns"
# The resolver's policy file: one allowed name, an upstream nobody answers.
printf 'dns-upstream 127.0.0.9\npolicy d {\n\tinclude deny-defaults\n\thostname ok.test\n}\n' >"$ir/etc/dns.conf"
# The shared libraries they link and the dynamic loader, at their own paths.
while read -r lib; do
	[[ -n $lib ]] || continue
	mkdir -p "$ir$(dirname "$lib")"
	cp -L "$lib" "$ir$lib"
done < <(ldd "$NOMOAT" "$NOMOAT_DNS" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
mknod -m 600 "$ir/dev/console" c 5 1
mknod -m 666 "$ir/dev/null" c 1 3

# Modules (and what they depend on), in load order.
declare -A seen=()
modorder=()
add_module() {
	local name=$1 ko dep
	[[ -z ${seen[$name]:-} ]] || return 0
	seen[$name]=1
	ko=$(find "$moddir" \( -name "$name.ko" -o -name "${name//_/-}.ko" -o -name "${name//-/_}.ko" \) -print -quit)
	[[ -n $ko ]] || die "$kver: module $name not found under lib/modules"
	for dep in $(tr '\0' '\n' <"$ko" | grep -a -m1 '^depends=' | cut -d= -f2 | tr ',' ' '); do
		add_module "$dep"
	done
	cp "$ko" "$ir/lib/modules/"
	modorder+=("$(basename "$ko")")
}
for m in "${modules[@]}"; do add_module "$m"; done
printf '%s\n' "${modorder[@]}" >"$ir/lib/modules/order"

cat >"$ir/init" <<'INIT'
#!/bin/sh
# nomoat kernel check, PID 1 inside the VM.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/ TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
while read -r ko; do
	[ -n "$ko" ] && { insmod "/lib/modules/$ko" && echo "insmod $ko" || echo "insmod $ko FAILED"; }
done </lib/modules/order
ip link set lo up

pass=0 fail=0 rc=0
ok() { pass=$((pass + 1)); echo "PASS: $*"; }
ko() { fail=$((fail + 1)); echo "FAIL: $*"; }
up() { cut -d' ' -f1 /proc/uptime; }
# step CMD...: run it, show its output, set rc.
step() {
	echo "+ $*"
	"$@" </dev/null >/tmp/out 2>&1
	rc=$?
	sed 's/^/  | /' /tmp/out
	return $rc
}
expect_ok() {
	d=$1; shift
	if step "$@"; then ok "$d"; else ko "$d (exit $rc)"; fi
}
# expect_reply DESC WORD CMD...: exit 0 and the server's WORD came back.
expect_reply() {
	d=$1 w=$2; shift 2
	step "$@"
	if [ $rc -eq 0 ] && grep -qx "$w" /tmp/out; then ok "$d"; else ko "$d (exit $rc, expected reply '$w')"; fi
}
# expect_eperm DESC CMD...: refused with EPERM.
expect_eperm() {
	d=$1; shift
	step "$@"
	if [ $rc -ne 0 ] && grep -q "Operation not permitted" /tmp/out; then ok "$d"; else ko "$d (exit $rc, expected EPERM)"; fi
}
# incg CGROUP CMD...: run CMD as a member of CGROUP.
incg() { sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$@"; }

echo "=== kernel-check: $(uname -r) $(uname -v), $(nproc) cpu, uptime $(up)s"
expect_ok "nomoat status (before load)" nomoat status
t0=$(up)
if step nomoat load; then
	ok "nomoat load (took $t0..$(up)s of uptime)"
	loaded=1
else
	ko "nomoat load (exit $rc)"
	loaded=0
	echo "--- nomoat -v load (libbpf debug output and verifier log)"
	nomoat -v load 2>&1 | head -n 3000
	echo "--- end of nomoat -v load"
fi
if [ $loaded = 1 ]; then
	expect_ok "nomoat load again adopts the pinned state" nomoat load
	expect_ok "nomoat -j status (after load)" nomoat -j status
	expect_ok "policy create t --with-defaults --default deny" \
		nomoat policy create t --with-defaults --default deny
	expect_ok "allow add 127.0.0.1:7 --policy t" nomoat allow add 127.0.0.1:7 --policy t --reason "kernel-check"
	step nomoat check 127.0.0.2 80 --policy t
	if [ $rc -eq 0 ] && grep -qi deny /tmp/out; then ok "check 127.0.0.2:80 says deny"; else ko "check 127.0.0.2:80 (exit $rc)"; fi
	step nomoat check 127.0.0.1 7 --policy t
	if [ $rc -eq 0 ] && grep -qi allow /tmp/out; then ok "check 127.0.0.1:7 says allow"; else ko "check 127.0.0.1:7 (exit $rc)"; fi

	CG=/sys/fs/cgroup/sandbox
	mkdir -p $CG
	expect_ok "cgroup attach $CG" nomoat cgroup attach $CG
	expect_ok "cgroup bind $CG --policy t" nomoat cgroup bind $CG --policy t
	step nomoat cgroup list

	# Servers, in the root cgroup (not policed); each answers one word per connection.
	nc -ll -p 7 -e echo ok7 &
	nc -ll -p 80 -e echo ok80 &
	sleep 1
	expect_reply "unpoliced 127.0.0.2:80 reachable (the server works)" ok80 nc -w 5 127.0.0.2 80
	expect_reply "unpoliced [::1]:80 reachable (the server works)" ok80 nc -w 5 ::1 80

	nomoat -j events --count 1 --timeout 5 >/tmp/events 2>&1 &
	evpid=$!
	sleep 1
	expect_eperm "sandbox cgroup: 127.0.0.2:80 denied" incg $CG nc -w 5 127.0.0.2 80
	expect_reply "sandbox cgroup: 127.0.0.1:7 allowed" ok7 incg $CG nc -w 5 127.0.0.1 7
	wait $evpid
	evrc=$?
	echo "+ nomoat -j events --count 1 --timeout 5"
	sed 's/^/  | /' /tmp/events
	if [ $evrc -eq 0 ] && grep -q '"verdict": *"deny"' /tmp/events && grep -q '127\.0\.0\.2' /tmp/events; then
		ok "events shows the deny of 127.0.0.2:80"
	else
		ko "events (exit $evrc, expected a deny of 127.0.0.2:80)"
	fi

	expect_eperm "nomoat run: 127.0.0.2:80 denied" nomoat run --policy t -- nc -w 5 127.0.0.2 80
	expect_reply "nomoat run: 127.0.0.1:7 allowed" ok7 nomoat run --policy t -- nc -w 5 127.0.0.1 7
	expect_eperm "nomoat run: 127.0.0.1:80 denied (the allow is for port 7 only)" \
		nomoat run --policy t -- nc -w 5 127.0.0.1 80
	expect_eperm "nomoat run: [::1]:80 denied" nomoat run --policy t -- nc -w 5 ::1 80
	expect_eperm "nomoat run: [::ffff:127.0.0.2]:80 denied (IPv4-mapped)" \
		nomoat run --policy t -- nc -w 5 ::ffff:127.0.0.2 80
	expect_reply "nomoat run: [::ffff:127.0.0.1]:7 allowed (IPv4-mapped, IPv4 rule)" ok7 \
		nomoat run --policy t -- nc -w 5 ::ffff:127.0.0.1 7

	# The packet backstop: with raw and ping sockets allowed, an ICMP echo
	# to a denied address is dropped on its way out; an allowed one is
	# answered (busybox ping uses a raw socket as root).
	expect_ok "policy set t --raw-sockets allow" nomoat policy set t --raw-sockets allow
	expect_ok "allow add 127.0.0.3 --policy t" nomoat allow add 127.0.0.3 --policy t
	expect_ok "backstop: ping 127.0.0.3 (allowed) from the sandbox is answered" \
		incg $CG ping -c 1 -W 2 127.0.0.3
	step incg $CG ping -c 1 -W 2 127.0.0.2
	if [ $rc -ne 0 ]; then ok "backstop: ping 127.0.0.2 (denied) from the sandbox gets no answer"; else ko "backstop: ping 127.0.0.2 was answered"; fi
	step nomoat -j stats
	if grep -q '"backstop_drops": *[1-9]' /tmp/out; then ok "backstop: the drop is counted"; else ko "backstop: no backstop_drops in stats"; fi
	step nomoat stats

	# The resolver: in an origdst-only attach point the kernel tells it who
	# sent a query (the setsockopt/getsockopt answer and the backstop's
	# record); a sandbox's query to any server ends there.
	DNSCG=/sys/fs/cgroup/dnsvc
	mkdir -p $DNSCG $CG/d
	expect_ok "policy create d --dns4 127.0.0.1:3053" \
		nomoat policy create d --with-defaults --default deny --dns4 127.0.0.1:3053
	expect_ok "cgroup bind $CG/d --policy d" nomoat cgroup bind $CG/d --policy d
	expect_ok "cgroup attach $DNSCG --origdst-only (with the setsockopt program)" \
		nomoat cgroup attach $DNSCG --origdst-only
	nomoat-dns --cgroup $DNSCG --listen 127.0.0.1:3053 --config /etc/dns.conf --log /tmp/dns.log \
		--names-dir /tmp/names --upstream-timeout 1 >/tmp/dns.err 2>&1 &
	for i in 1 2 3 4 5 6 7 8 9 10; do grep -q ready /tmp/dns.err && break; sleep 0.5; done
	sed 's/^/  | /' /tmp/dns.err
	if grep -q ready /tmp/dns.err; then ok "nomoat-dns starts (the kernel answers NM_SO_DNSQ)"; else ko "nomoat-dns did not start"; fi
	step incg $CG/d nslookup evil.test 8.8.8.8
	if grep -q NXDOMAIN /tmp/out; then ok "resolver: an unlisted name asked of 8.8.8.8 is NXDOMAIN"; else ko "resolver: no NXDOMAIN for evil.test"; fi
	step incg $CG/d nslookup ok.test 8.8.8.8
	if grep -q SERVFAIL /tmp/out; then ok "resolver: an allowed name goes upstream (none answers: SERVFAIL)"; else ko "resolver: no SERVFAIL for ok.test"; fi
	step cat /tmp/dns.log
	if grep '"name":"evil.test"' /tmp/dns.log | grep -q '"policy":"d"'; then
		ok "resolver: its event names the sandbox's policy, from the kernel's record"
	else
		ko "resolver: no event naming policy d"
	fi
	kill %% 2>/dev/null
	expect_ok "nomoat unload" nomoat unload
	expect_reply "after unload: sandbox cgroup reaches 127.0.0.2:80" ok80 incg $CG nc -w 5 127.0.0.2 80
fi
dmesg | grep -E 'bpf|verifier|BUG:|WARNING:|Oops|Call Trace' | sed 's/^/dmesg: /'
if dmesg | grep -qE 'BUG:|WARNING:|Oops|Call Trace'; then ko "kernel log has a BUG/WARNING/Oops"; else ok "kernel log clean"; fi
echo "kernel-check: $pass passed, $fail failed"
sync
poweroff -f
INIT
chmod 755 "$ir/init"

(cd "$ir" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc -R 0:0 2>/dev/null) | gzip -9 >"$tmp/initrd.gz"
echo "kernel-check: initramfs $(du -h "$tmp/initrd.gz" | cut -f1), nomoat $(du -h "$NOMOAT" | cut -f1) ($(sha256sum "$NOMOAT" | cut -c1-16))"

# --- 3. boot it -------------------------------------------------------------
mkdir -p "$(dirname "$LOG")"
echo "kernel-check: booting $kver under qemu (tcg), timeout ${TIMEOUT}s, console -> $LOG"
start=$(date +%s)
set +e
timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m 1024 -nographic -no-reboot -nic none \
	-kernel "$vmlinuz" -initrd "$tmp/initrd.gz" -append "console=ttyS0 panic=-1 quiet" \
	</dev/null 2>&1 | sed -u -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' | tee "$LOG"
qrc=${PIPESTATUS[0]}
set -e
secs=$(($(date +%s) - start))
[[ $qrc -eq 124 ]] && echo "kernel-check: the VM did not finish within ${TIMEOUT}s"
[[ $qrc -eq 0 || $qrc -eq 124 ]] || echo "kernel-check: qemu exited with status $qrc"

last=$(grep -E '^kernel-check: [0-9]+ passed, [0-9]+ failed$' "$LOG" | tail -1 || true)
echo "kernel-check: $kver ($kpkg), VM run ${secs}s, log $LOG"
if [[ -z $last ]]; then
	echo "kernel-check: FAIL: no result line from the VM"
	exit 1
fi
echo "$last"
[[ $last == *" 0 failed" ]]
