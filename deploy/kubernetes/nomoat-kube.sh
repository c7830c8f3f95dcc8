#!/bin/bash
# nomoat-kube.sh - the small steps of nomoat's Kubernetes DaemonSet
# (deploy/kubernetes/daemonset.yaml), installed in the image as
# /usr/local/sbin/nomoat-kube.
#
#   nomoat-kube render SRC DST
#       Write the node's policy file DST from the ConfigMap's template SRC
#       (deploy/kubernetes/nomoat.conf says what is replaced), check it with
#       `nomoatd --check` and put it in place with one rename.  A file that
#       fails the check is not installed (exit 1; DST stays as it was).
#       Exit 0 when DST was written or already the same.
#   nomoat-kube wait-daemon PIDFILE [SECONDS] -- CMD [ARGS...]
#       Wait (at most SECONDS, default 120) until PIDFILE names a running
#       nomoatd (it writes it once its attach points and bindings are in
#       place), then exec CMD.  Exit 1 on the timeout: the kubelet restarts
#       the container.  With FENCE_CGROUP (the cgroup CMD moves into with
#       --cgroup), FENCE_MEMORY_MAX and FENCE_PIDS_MAX are first written to
#       its memory.max and pids.max: a process that leaves its container's
#       cgroup leaves the container's limits behind.
#   nomoat-kube ready NAME CGROUP
#       Exit 0 when a process named NAME runs in the pod and is in CGROUP
#       (its /proc/PID/cgroup says 0::CGROUP): the readiness probe of the
#       proxy and dns containers, which opens no connection (a probe's
#       connection would be a line in the proxy's access log).
#   nomoat-kube reload-loop SRC DST PIDFILE
#       Forever: wait (inotify on SRC's directory and the pod log directory,
#       at most 10 s; 2 s sleeps without inotifywait) and render again; when
#       DST changed, SIGHUP nomoatd (PIDFILE); when the ConfigMap itself
#       changed (its ..data symlink), SIGHUP nomoat-proxy and nomoat-dns too.
#       The processes are found in the pod's shared process namespace
#       (shareProcessNamespace: true), by PIDFILE and by name.
#
# Environment of render:
#   NODE_IP            the node's IPv4 address (required; status.hostIP)
#   POD_UID            this pod's uid (metadata.uid): its cgroups get "exempt"
#   EXEMPT_NAMESPACES  namespaces whose pods get "exempt" (default
#                      "kube-system nomoat-system"; "" for none)
#   EXEMPT_POLICY      the policy of exempt pods (default exempt)
#   POD_LOG_DIR        the kubelet's pod log directory (default /var/log/pods)
#   RESOLV_CONF        the resolvers for the proxy's fence (default /etc/resolv.conf)
#   CGROUP_ROOT        where [if-present] attach paths are looked for
#                      (default: the first cgroup2 mount of /proc/self/mountinfo)
#   NOMOATD            the nomoatd that checks the result (default: nomoatd in PATH)
set -u

PROG=nomoat-kube

say() { echo "$PROG: $*" >&2; }

# The first cgroup2 mount, as nomoat finds it.
cgroup2_mount() {
	awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' \
		/proc/self/mountinfo
}

is_ipv4() {
	local ip=$1 IFS=. a b c d rest
	[[ $ip =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || return 1
	read -r a b c d rest <<<"$ip"
	((a <= 255 && b <= 255 && c <= 255 && d <= 255))
}

# The uids of exempt pods, one a line: this pod's and those of the exempt
# namespaces in the kubelet's log directory (<namespace>_<pod>_<uid>).
exempt_uids() {
	local ns d base
	[ -n "${POD_UID:-}" ] && echo "$POD_UID"
	for ns in ${EXEMPT_NAMESPACES-kube-system nomoat-system}; do
		for d in "${POD_LOG_DIR:-/var/log/pods}/${ns}_"*_*; do
			[ -d "$d" ] || continue
			base=${d##*/}
			echo "${base##*_}"
		done
	done
}

# Bind lines for one pod uid, both cgroup drivers and every QoS class.
exempt_binds() {
	local uid=$1 pol=$2 us=${1//-/_}
	printf 'bind /kubepods.slice/kubepods-*.slice/kubepods-*-pod%s.slice %s\n' "$us" "$pol"
	printf 'bind /kubepods.slice/kubepods-pod%s.slice %s\n' "$us" "$pol"
	printf 'bind /kubepods/*/pod%s %s\n' "$uid" "$pol"
	printf 'bind /kubepods/pod%s %s\n' "$uid" "$pol"
}

# The template SRC rendered on stdout.
render_text() {
	local src=$1 root line path uid ns n=0 keep_all=1 indent
	local -a marked=()
	local -A seen=()

	root=${CGROUP_ROOT:-$(cgroup2_mount)}
	if [ -z "$root" ]; then
		say "no cgroup2 mount in /proc/self/mountinfo"
		return 1
	fi
	if ! is_ipv4 "${NODE_IP:-}"; then
		say "NODE_IP '${NODE_IP:-}' is not an IPv4 address (status.hostIP)"
		return 1
	fi
	# [if-present] attach lines: keep those that exist; all when none does.
	while read -r line; do
		case $line in
		attach\ *'[if-present]'*)
			path=$(awk '{ print $2 }' <<<"$line")
			marked+=("$path")
			[ -d "$root$path" ] && keep_all=0
			;;
		esac
	done <"$src"
	while IFS= read -r line || [ -n "$line" ]; do
		indent=${line%%[![:blank:]]*}
		case ${line#"$indent"} in
		'#@exempt@'*)
			echo "# exempt pods (rendered by $PROG)"
			while read -r uid; do
				[[ $uid =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || continue
				[ -n "${seen[$uid]:-}" ] && continue
				seen[$uid]=1
				exempt_binds "$uid" "${EXEMPT_POLICY:-exempt}"
				n=$((n + 1))
			done < <(exempt_uids)
			echo "# $n exempt pods"
			;;
		'#@resolvers@'*)
			while read -r kw ns _ || [ -n "${kw:-}" ]; do
				[ "$kw" = nameserver ] || continue
				if is_ipv4 "$ns"; then
					echo "${indent}allow $ns:53  # the node's resolver (rendered by $PROG)"
				elif [[ $ns =~ ^[0-9a-fA-F:]+$ ]]; then
					echo "${indent}allow [$ns]:53  # the node's resolver (rendered by $PROG)"
				fi
			done <"${RESOLV_CONF:-/etc/resolv.conf}"
			;;
		attach\ *'[if-present]'*)
			path=$(awk '{ print $2 }' <<<"$line")
			if ((keep_all)) || [ -d "$root$path" ]; then
				echo "${line//@NODE_IP@/$NODE_IP}"
			else
				echo "# (not on this node: $root$path) $line"
			fi
			;;
		*)
			echo "${line//@NODE_IP@/$NODE_IP}"
			;;
		esac
	done <"$src"
}

cmd_render() {
	local src=$1 dst=$2 tmp out
	tmp="$dst.tmp.$$"
	if ! render_text "$src" >"$tmp"; then
		rm -f "$tmp"
		return 1
	fi
	chmod 0644 "$tmp"
	if [ -f "$dst" ] && cmp -s "$tmp" "$dst"; then
		rm -f "$tmp"
		return 3
	fi
	if ! out=$("${NOMOATD:-nomoatd}" --check "$tmp" 2>&1); then
		say "the rendered policy file fails the check; $dst stays as it was:"
		printf '%s\n' "$out" | sed "s|^$tmp|$src (rendered)|" >&2
		rm -f "$tmp"
		return 1
	fi
	mv -f "$tmp" "$dst" || { rm -f "$tmp"; return 1; }
	say "wrote $dst from $src"
	return 0
}

comm_of() { cat "/proc/$1/comm" 2>/dev/null; }

# The pid of nomoatd from its pidfile, if it runs.
daemon_pid() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[ "$(comm_of "$pid")" = nomoatd ] || return 1
	echo "$pid"
}

# The limits of the fence cgroup (FENCE_*), where the kernel offers them.
fence_limits() {
	local cg kv file val
	[ -n "${FENCE_CGROUP:-}" ] || return 0
	cg="$(cgroup2_mount)/${FENCE_CGROUP#/}"
	for kv in "memory.max=${FENCE_MEMORY_MAX:-}" "pids.max=${FENCE_PIDS_MAX:-}"; do
		file=${kv%%=*} val=${kv#*=}
		[ -n "$val" ] || continue
		if [ -w "$cg/$file" ] && echo "$val" >"$cg/$file"; then
			say "$cg/$file = $val"
		else
			say "warning: cannot set $cg/$file (controller not enabled there?): no limit"
		fi
	done
}

cmd_wait_daemon() {
	local pidfile=$1 secs=$2 i
	for ((i = 0; i < secs * 5; i++)); do
		if daemon_pid "$pidfile" >/dev/null; then
			fence_limits
			return 0
		fi
		sleep 0.2
	done
	say "nomoatd did not start within $secs s ($pidfile)"
	return 1
}

# SIGHUP every process of the pod named $1.
hup_named() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(comm_of "${p#/proc/}")" = "$1" ] || continue
		kill -HUP "${p#/proc/}" 2>/dev/null && say "SIGHUP $1 (pid ${p#/proc/})"
	done
}

cmd_reload_loop() {
	local src=$1 dst=$2 pidfile=$3 dir data last_data rc pid
	dir=$(dirname "$src")
	last_data=$(readlink "$dir/..data" 2>/dev/null)
	while :; do
		if command -v inotifywait >/dev/null; then
			inotifywait -qq -t 10 -e create,delete,moved_to,moved_from "$dir" \
				"${POD_LOG_DIR:-/var/log/pods}" >/dev/null 2>&1
			sleep 0.2 # let a burst settle
		else
			sleep 2
		fi
		data=$(readlink "$dir/..data" 2>/dev/null)
		cmd_render "$src" "$dst"
		rc=$?
		if ((rc == 0)); then
			if pid=$(daemon_pid "$pidfile"); then
				kill -HUP "$pid" && say "SIGHUP nomoatd (pid $pid)"
			else
				say "nomoatd is not running; it reads $dst when it starts"
			fi
		fi
		if [ "$data" != "$last_data" ] && ((rc != 1)); then
			hup_named nomoat-proxy
			hup_named nomoat-dns
			last_data=$data
		fi
	done
}

cmd_ready() {
	local name=$1 cg=$2 p
	for p in /proc/[0-9]*; do
		[ "$(comm_of "${p#/proc/}")" = "$name" ] || continue
		grep -qx "0::$cg" "$p/cgroup" 2>/dev/null && return 0
	done
	echo "no $name in $cg" >&2
	return 1
}

usage() {
	sed -n '2,/^set -u/p' "$0" | sed -n '/^#   nomoat-kube/,/^# Environment/p' | sed '$d; s/^# \{0,1\}//'
	exit 2
}

[ $# -ge 1 ] || usage
case $1 in
render)
	[ $# -eq 3 ] || usage
	cmd_render "$2" "$3"
	rc=$?
	((rc == 3)) && rc=0 # already so
	exit "$rc"
	;;
wait-daemon)
	shift
	pidfile=${1:-}
	secs=120
	[ $# -ge 1 ] || usage
	shift
	if [ $# -ge 1 ] && [ "$1" != -- ]; then
		secs=$1
		shift
	fi
	[ "${1:-}" = -- ] || usage
	shift
	[ $# -ge 1 ] || usage
	cmd_wait_daemon "$pidfile" "$secs" || exit 1
	exec "$@"
	;;
ready)
	[ $# -eq 3 ] || usage
	cmd_ready "$2" "$3"
	;;
reload-loop)
	[ $# -eq 4 ] || usage
	cmd_reload_loop "$2" "$3" "$4"
	;;
*)
	usage
	;;
esac
