#!/bin/sh
# nomoat kernel check, PID 1 inside the VM (tools/kernel-check.sh puts it in
# the initramfs as /init, with the binaries under /bin). Architecture-neutral:
# busybox sh and applets only. /etc/kc-mode says which check set runs:
#   load    the programs load, adopt and enforce (the supported kernels)
#   refuse  the kernel lacks what nomoat needs: nomoat load and nomoatd refuse,
#           naming the missing features, and leave nothing pinned
# Ends with "kernel-check: N passed, N failed" and powers off.
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
MODE=$(cat /etc/kc-mode 2>/dev/null || echo load)
PIN=/sys/fs/bpf/nomoat

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
# nothing_pinned DESC: the pin dir is absent (or empty) and bpffs holds nothing.
nothing_pinned() {
	echo "+ ls -AR /sys/fs/bpf"
	ls -AR /sys/fs/bpf | sed 's/^/  | /'
	if { [ ! -e $PIN ] || [ -z "$(ls -A $PIN)" ]; } && [ -z "$(ls -A /sys/fs/bpf)" ]; then
		ok "$1"
	else
		ko "$1 (something is pinned)"
	fi
}
# names_all DESC FILE: every required feature nomoat status said is missing
# (/tmp/missing, one a line) is named in FILE.
names_all() {
	all=1
	while read -r f; do
		grep -qF "$f" "$2" || { all=0; echo "  (not named: $f)"; }
	done </tmp/missing
	if [ $all = 1 ]; then ok "$1"; else ko "$1"; fi
}

echo "=== kernel-check: $(uname -r) $(uname -v) $(uname -m), $(nproc) cpu, mode $MODE, uptime $(up)s"
if [ "$MODE" = refuse ]; then
	step nomoat status
	srs=$rc
	# "  [ no] NAME" lines without "(optional)": the required ones missing.
	sed -n 's/^  \[ no\] //p' /tmp/out | grep -v ' (optional)$' >/tmp/missing
	n=$(wc -l </tmp/missing)
	if [ "$n" -gt 0 ] && [ $srs -ne 0 ]; then
		ok "nomoat status: $n required feature(s) missing, exit $srs"
	else
		ko "nomoat status (exit $srs, $n required feature(s) missing: expected some and a non-zero exit)"
	fi
	echo "kernel-check: missing: $(sed ':a;N;$!ba;s/\n/; /g' /tmp/missing)"
	step nomoat load
	if [ $rc -ne 0 ]; then ok "nomoat load refuses (exit $rc)"; else ko "nomoat load succeeded"; fi
	cp /tmp/out /tmp/load.out
	if grep -q "cannot enforce nomoat policy, missing: " /tmp/load.out; then
		ok "the refusal says what is missing"
	else
		ko "the refusal has no 'missing:' list"
	fi
	names_all "the refusal names every missing feature" /tmp/load.out
	if [ -s /etc/kc-expect-missing ]; then
		all=1
		while read -r f; do
			grep -qF "$f" /tmp/load.out || { all=0; echo "  (not named: $f)"; }
		done </etc/kc-expect-missing
		if [ $all = 1 ]; then ok "the refusal names the expected: $(sed ':a;N;$!ba;s/\n/; /g' /etc/kc-expect-missing)"
		else ko "the refusal lacks an expected feature"; fi
	fi
	nothing_pinned "after nomoat load: nothing pinned (no maps, programs or links)"
	step nomoat -j load
	if [ $rc -ne 0 ] && grep -q "missing: " /tmp/out; then ok "nomoat -j load refuses too"; else ko "nomoat -j load (exit $rc)"; fi
	nothing_pinned "after nomoat -j load: nothing pinned"
	if [ -x /bin/nomoatd ]; then
		step timeout 60 nomoatd --config /etc/nomoatd.conf --pidfile /tmp/nomoatd.pid
		if [ $rc -ne 0 ] && [ $rc -lt 124 ]; then ok "nomoatd refuses to start (exit $rc)"; else ko "nomoatd (exit $rc)"; fi
		names_all "nomoatd names every missing feature" /tmp/out
		nothing_pinned "after nomoatd: nothing pinned"
	fi
	step nomoat cgroup attach /sys/fs/cgroup
	if [ $rc -ne 0 ]; then ok "nomoat cgroup attach refuses (nothing loaded)"; else ko "nomoat cgroup attach succeeded"; fi
	nothing_pinned "after cgroup attach: nothing pinned"
else
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
		for _ in 1 2 3 4 5 6 7 8 9 10; do grep -q ready /tmp/dns.err && break; sleep 0.5; done
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
fi
dmesg | grep -E 'bpf|verifier|BUG:|WARNING:|Oops|Call Trace' | sed 's/^/dmesg: /'
if dmesg | grep -qE 'BUG:|WARNING:|Oops|Call Trace'; then ko "kernel log has a BUG/WARNING/Oops"; else ok "kernel log clean"; fi
echo "kernel-check: $pass passed, $fail failed"
sync
poweroff -f
