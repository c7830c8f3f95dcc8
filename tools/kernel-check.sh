#!/usr/bin/env bash
# Boot one of Debian's own kernels (default: bookworm's 6.1 cloud kernel) under
# QEMU (TCG, no KVM needed) with a busybox initramfs holding nomoat and
# nomoat-dns, and check that the same binaries and their embedded BPF object
# load and enforce there (tools/kernel-check-vm.sh is the check, run as /init).
#
#   tools/kernel-check.sh [--arch x86_64|arm64] [--expect load|refuse] [SERIES]
#
#   SERIES    6.1 (default), 6.12, 5.10, ...: the newest Debian kernel of that
#             series the archive has (bookworm's lists; then bullseye's, read
#             into a private apt state under the temp dir)
#   --arch    x86_64 (default): qemu-system-x86_64, the cloud-amd64 kernel, the
#             native build/. arm64: qemu-system-aarch64 -M virt, the cloud-arm64
#             kernel, user space cross-built into build/arm64/ (make
#             CROSS=aarch64-linux-gnu- OUT=build/arm64), busybox-static:arm64
#             unpacked from its .deb (the host's busybox is left alone)
#   --expect  load: the load-and-enforce checks. refuse: nomoat load (and
#             nomoatd) must refuse, naming the missing features, leaving nothing
#             pinned. Default: refuse for series older than 5.15 (the documented
#             minimum), else load.
#
# Environment:
#   NOMOAT=path          the binary to test (default build/nomoat or build/arm64/nomoat; made)
#   NOMOAT_DNS=path      the resolver checked beside it (default: nomoat-dns next to NOMOAT)
#   NOMOATD=path         the daemon, for the refusal checks (default: nomoatd next to NOMOAT)
#   KC_TIMEOUT=seconds   limit for the whole VM run (default 300; an arm64 run takes about 10 s)
#   KC_LOG=path          console log (default build/kernel-check-<kernel>.log)
#   KC_MODULES="a b"     extra kernel modules to put in the initramfs and insmod
#   KC_EXPECT_MISSING="a|b"  feature names the refusal must name (| separated)
#   KC_APT_UPDATE=0      skip apt-get update (the lists are fresh)
#   KC_SMP=n             virtual CPUs (default 1)
#
# Runs as root. Installs what it needs with apt-get when missing (qemu,
# busybox-static; for arm64 the cross compiler and the :arm64 -dev packages,
# adding the arm64 architecture to dpkg); kernel packages are only downloaded
# and unpacked into a temp dir, never installed. The VM has no network device.
# Exit 0 only if the VM reports "kernel-check: N passed, 0 failed". The last
# line is "kernel-check: result: SERIES ARCH ok P/T" (or "refused ok (missing:
# ...)", or "FAIL ...").
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ARCH=x86_64 EXPECT="" SERIES=6.1
while (($#)); do
	case $1 in
	--arch) ARCH=${2:?--arch needs x86_64 or arm64}; shift 2 ;;
	--arch=*) ARCH=${1#*=}; shift ;;
	--expect) EXPECT=${2:?--expect needs load or refuse}; shift 2 ;;
	--expect=*) EXPECT=${1#*=}; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "kernel-check: unknown option $1" >&2; exit 2 ;;
	*) SERIES=$1; shift ;;
	esac
done

die() { echo "kernel-check: $*" >&2; echo "kernel-check: result: $SERIES $ARCH FAIL ($*)"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (apt-get, mknod)"
[[ $SERIES =~ ^[0-9]+\.[0-9]+$ ]] || die "SERIES must look like 6.1 or 6.12, not '$SERIES'"
if [[ -z $EXPECT ]]; then
	maj=${SERIES%.*} min=${SERIES#*.}
	if ((maj < 5 || (maj == 5 && min < 15))); then EXPECT=refuse; else EXPECT=load; fi
fi
[[ $EXPECT == load || $EXPECT == refuse ]] || die "--expect must be load or refuse, not '$EXPECT'"

# What differs between the architectures.
case $ARCH in
x86_64 | amd64)
	ARCH=x86_64 DEBARCH=amd64 TRIPLET=x86_64-linux-gnu CROSS=""
	QEMU=qemu-system-x86_64 QEMU_PKG=qemu-system-x86 QEMU_MACHINE=() QEMU_CPU=max
	CONSOLE=ttyS0 SERIAL_OPT=CONFIG_SERIAL_8250_CONSOLE
	DEFOUT=build TIMEOUT=${KC_TIMEOUT:-300} ;;
arm64 | aarch64)
	ARCH=arm64 DEBARCH=arm64 TRIPLET=aarch64-linux-gnu CROSS=aarch64-linux-gnu-
	# pauth-impdef: TCG's own pointer-authentication hash, much faster
	# than the architected QARMA one.
	QEMU=qemu-system-aarch64 QEMU_PKG=qemu-system-arm QEMU_MACHINE=(-M virt) QEMU_CPU=max,pauth-impdef=on
	CONSOLE=ttyAMA0 SERIAL_OPT=CONFIG_SERIAL_AMBA_PL011_CONSOLE
	DEFOUT=build/arm64 TIMEOUT=${KC_TIMEOUT:-300} ;;
*) die "--arch must be x86_64 or arm64, not '$ARCH'" ;;
esac
HOSTARCH=$(dpkg --print-architecture)
NOMOAT=${NOMOAT:-}
made_here=0
[[ -n $NOMOAT ]] || { NOMOAT=$ROOT/$DEFOUT/nomoat; made_here=1; }
NOMOAT_DNS=${NOMOAT_DNS:-$(dirname "$NOMOAT")/nomoat-dns}
NOMOATD=${NOMOATD:-$(dirname "$NOMOAT")/nomoatd}

tmp=$(mktemp -d /tmp/kernel-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp" # so that apt-get download can run as _apt

# --- 1. what we need --------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep "install ok installed" >/dev/null; }
if [[ $DEBARCH != "$HOSTARCH" ]] && ! dpkg --print-foreign-architectures | grep -qx "$DEBARCH"; then
	echo "kernel-check: dpkg --add-architecture $DEBARCH"
	dpkg --add-architecture "$DEBARCH"
	KC_APT_UPDATE=1
fi
if [[ ${KC_APT_UPDATE:-1} != 0 ]]; then
	echo "kernel-check: apt-get update"
	apt-get update -qq
fi
need=("$QEMU_PKG")
[[ $DEBARCH == "$HOSTARCH" ]] && need+=(busybox-static)
[[ -n $CROSS ]] && need+=("gcc-$TRIPLET" "libbpf-dev:$DEBARCH" "libelf-dev:$DEBARCH" "zlib1g-dev:$DEBARCH"
	"libc-ares-dev:$DEBARCH" "libjansson-dev:$DEBARCH")
missing=()
for p in "${need[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
	echo "kernel-check: installing ${missing[*]}"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian packages downloaded (never installed) into $tmp/deb/NAME.
fetch_deb() { # fetch_deb PKG [apt options...]: prints the .deb path
	local pkg=$1 d=$tmp/deb/${1//[:\/]/_}
	shift
	mkdir -p "$d"
	chown _apt "$d" 2>/dev/null || true # lets apt download sandboxed, without a warning
	(cd "$d" && apt-get "$@" download -qq "$pkg" >&2)
	ls "$d"/*.deb
}

# The static busybox of the VM's architecture: the host's, or unpacked from
# busybox-static:ARCH. The applet list is the host's busybox's (the same
# Debian version; a foreign binary cannot run here).
if [[ $DEBARCH == "$HOSTARCH" ]]; then
	BUSYBOX=/bin/busybox
else
	installed busybox-static || apt-get install -y -qq --no-install-recommends busybox-static >/dev/null
	mkdir -p "$tmp/busybox"
	dpkg-deb -x "$(fetch_deb "busybox-static:$DEBARCH")" "$tmp/busybox"
	BUSYBOX=$tmp/busybox/bin/busybox
fi
file -L "$BUSYBOX" 2>/dev/null | grep 'statically linked' >/dev/null || die "$BUSYBOX is not the static busybox"
APPLETS=$(/bin/busybox --list)

if ((made_here)); then
	targets=("$DEFOUT/nomoat" "$DEFOUT/nomoat-dns")
	[[ $EXPECT == refuse && -e $ROOT/user/daemon/main.c ]] && targets+=("$DEFOUT/nomoatd")
	echo "kernel-check: make ${CROSS:+CROSS=$CROSS }OUT=$DEFOUT ${targets[*]}"
	make -C "$ROOT" --no-print-directory -j2 ${CROSS:+CROSS=$CROSS} OUT="$DEFOUT" "${targets[@]}" >&2 ||
		die "make failed"
fi
for b in "$NOMOAT" "$NOMOAT_DNS"; do [[ -x $b ]] || die "$b missing"; done
file -L "$NOMOAT" | grep -q "$(case $ARCH in x86_64) echo x86-64 ;; arm64) echo aarch64 ;; esac)" ||
	die "$NOMOAT is not an $ARCH binary: $(file -L "$NOMOAT")"

# Newest Debian cloud kernel of the series that the archive can deliver: from
# the host's apt lists, else from bullseye's in a private apt state.
series_re=${SERIES//./\\.}
flavour=cloud-$DEBARCH
APT_OPTS=()
find_kernel() {
	local p cand
	kpkg=""
	for p in $(apt-cache "${APT_OPTS[@]}" search --names-only "^linux-image-${series_re}[.-].*-${flavour}-unsigned\$" |
		awk '{print $1}' | grep -E "^linux-image-${series_re}[.-][^ ]*-${flavour}-unsigned\$" | sort -rV); do
		cand=$(apt-cache "${APT_OPTS[@]}" policy "$p:$DEBARCH" | awk '/Candidate:/ {print $2}')
		if [[ -n $cand && $cand != "(none)" ]]; then
			kpkg=$p kver_deb=$cand
			return 0
		fi
	done
	return 1
}
if ! find_kernel; then
	for suite in ${KC_SUITES:-bullseye}; do
		pa=$tmp/apt-$suite
		mkdir -p "$pa"/{lists/partial,cache/archives/partial,parts}
		echo "deb [arch=$DEBARCH signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
			>"$pa/sources.list"
		APT_OPTS=(-o "Dir::Etc::SourceList=$pa/sources.list" -o "Dir::Etc::SourceParts=$pa/parts"
			-o "Dir::State::Lists=$pa/lists" -o "Dir::Cache=$pa/cache")
		echo "kernel-check: no $SERIES kernel in the host's lists; reading $suite's (private apt state)"
		chown -R _apt "$pa/lists/partial" 2>/dev/null || true
		apt-get "${APT_OPTS[@]}" update -qq || die "apt-get update for $suite failed"
		find_kernel && break
	done
fi
[[ -n $kpkg ]] || die "no linux-image-${SERIES}*-${flavour}-unsigned package in the archive"
echo "kernel-check: kernel package $kpkg:$DEBARCH ($kver_deb)"
mkdir -p "$tmp/kernel"
dpkg-deb -x "$(fetch_deb "$kpkg:$DEBARCH" "${APT_OPTS[@]}")" "$tmp/kernel"
vmlinuz=$(ls "$tmp"/kernel/boot/vmlinuz-*)
config=$(ls "$tmp"/kernel/boot/config-*)
kver=${vmlinuz##*/vmlinuz-}
moddir=$tmp/kernel/lib/modules/$kver
LOG=${KC_LOG:-$ROOT/build/kernel-check-$kver.log}
# arm64's vmlinuz is a gzip-compressed Image: give QEMU the Image itself.
if gzip -t "$vmlinuz" 2>/dev/null; then
	gzip -dc "$vmlinuz" >"$tmp/Image"
	vmlinuz=$tmp/Image
fi

# Kernel features the check needs: built in, or a module we ship and insmod.
# OPTION:module (no module: a bool option, it must be built in).
read -r -a modules <<<"${KC_MODULES:-}"
for want in CONFIG_BLK_DEV_INITRD: CONFIG_RD_GZIP: CONFIG_DEVTMPFS: $SERIAL_OPT: \
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
for a in $APPLETS; do
	[[ $a == busybox ]] || ln -sf busybox "$ir/bin/$a"
done
bins=("$NOMOAT" "$NOMOAT_DNS")
cp "$NOMOAT" "$ir/bin/nomoat"
cp "$NOMOAT_DNS" "$ir/bin/nomoat-dns"
if [[ $EXPECT == refuse && -x $NOMOATD ]]; then
	cp "$NOMOATD" "$ir/bin/nomoatd"
	bins+=("$NOMOATD")
	printf 'policy t {\n\tdefault deny\n}\n' >"$ir/etc/nomoatd.conf"
fi
echo "$EXPECT" >"$ir/etc/kc-mode"
tr '|' '\n' <<<"${KC_EXPECT_MISSING:-}" | sed '/^$/d' >"$ir/etc/kc-expect-missing"
# The resolver's policy file: one allowed name, an upstream nobody answers.
printf 'dns-upstream 127.0.0.9\npolicy d {\n\tinclude deny-defaults\n\thostname ok.test\n}\n' >"$ir/etc/dns.conf"
# The shared libraries they link (DT_NEEDED, recursively, from the
# architecture's multiarch directories) and the dynamic loader, at their own
# paths. readelf reads any architecture's ELF; ldd would run the binary.
libdirs=("/lib/$TRIPLET" "/usr/lib/$TRIPLET" /lib /usr/lib)
declare -A libseen=()
add_libs() {
	local f=$1 n d interp
	interp=$(readelf -l "$f" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
	if [[ -n $interp && -z ${libseen[$interp]:-} ]]; then
		libseen[$interp]=1
		mkdir -p "$ir$(dirname "$interp")"
		cp -L "$interp" "$ir$interp"
	fi
	for n in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
		[[ -z ${libseen[$n]:-} ]] || continue
		libseen[$n]=1
		for d in "${libdirs[@]}"; do
			if [[ -e $d/$n ]]; then
				mkdir -p "$ir$d"
				cp -L "$d/$n" "$ir$d/$n"
				add_libs "$d/$n"
				continue 2
			fi
		done
		die "$f needs $n: not found in ${libdirs[*]}"
	done
}
for b in "${bins[@]}"; do add_libs "$b"; done
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

cp "$ROOT/tools/kernel-check-vm.sh" "$ir/init"
chmod 755 "$ir/init"

(cd "$ir" && find . | LC_ALL=C sort | /bin/busybox cpio -o -H newc -R 0:0 2>/dev/null) | gzip -9 >"$tmp/initrd.gz"
echo "kernel-check: initramfs $(du -h "$tmp/initrd.gz" | cut -f1), nomoat $(du -h "$NOMOAT" | cut -f1) ($(sha256sum "$NOMOAT" | cut -c1-16)), checks: $EXPECT"

# --- 3. boot it -------------------------------------------------------------
# -nic none: no network device at all; the checks use the VM's loopback only.
mkdir -p "$(dirname "$LOG")"
echo "kernel-check: booting $kver ($ARCH) under $QEMU (tcg), timeout ${TIMEOUT}s, console -> $LOG"
start=$(date +%s)
set +e
timeout "$TIMEOUT" "$QEMU" "${QEMU_MACHINE[@]}" -accel tcg -cpu "$QEMU_CPU" -smp "${KC_SMP:-1}" -m 1024 \
	-nographic -no-reboot -nic none \
	-kernel "$vmlinuz" -initrd "$tmp/initrd.gz" -append "console=$CONSOLE panic=-1 quiet" \
	</dev/null 2>&1 | sed -u -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' | tee "$LOG"
qrc=${PIPESTATUS[0]}
set -e
secs=$(($(date +%s) - start))
[[ $qrc -eq 124 ]] && echo "kernel-check: the VM did not finish within ${TIMEOUT}s"
[[ $qrc -eq 0 || $qrc -eq 124 ]] || echo "kernel-check: qemu exited with status $qrc"

last=$(grep -E '^kernel-check: [0-9]+ passed, [0-9]+ failed$' "$LOG" | tail -1 || true)
echo "kernel-check: $kver ($kpkg:$DEBARCH), VM run ${secs}s, log $LOG"
if [[ -z $last ]]; then
	echo "kernel-check: FAIL: no result line from the VM"
	echo "kernel-check: result: $SERIES $ARCH FAIL (no result line from the VM, ${secs}s)"
	exit 1
fi
echo "$last"
p=$(sed -E 's/^kernel-check: ([0-9]+) passed, ([0-9]+) failed$/\1/' <<<"$last")
f=$(sed -E 's/^kernel-check: ([0-9]+) passed, ([0-9]+) failed$/\2/' <<<"$last")
if [[ $EXPECT == refuse ]]; then
	what="refused $([[ $f == 0 ]] && echo ok || echo FAIL) $p/$((p + f)) (missing: $(sed -n 's/^kernel-check: missing: //p' "$LOG" | tail -1))"
else
	what="$([[ $f == 0 ]] && echo ok || echo FAIL) $p/$((p + f))"
fi
echo "kernel-check: result: $SERIES $ARCH $what, $kver, ${secs}s"
[[ $f == 0 ]]
