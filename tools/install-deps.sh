#!/usr/bin/env bash
# Install the Debian packages nomoat needs to build, test and benchmark,
# but only those that are missing (apt-get update runs first when needed).
set -euo pipefail

pkgs=(
	make gcc clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev pkg-config
	libcmocka-dev liburing-dev libclang-rt-dev libc-ares-dev libjansson-dev
	iproute2 nftables curl python3 openssl squid bind9-dnsutils dnsmasq-base util-linux
	libc6-dev busybox-static docker.io podman runc crun iptables
)
# kubectl, for the offline check of deploy/kubernetes: Debian's
# kubernetes-client unless some kubectl is already installed.
command -v kubectl >/dev/null 2>&1 || pkgs+=(kubernetes-client)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if ((${#missing[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "nomoat: missing packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})" >&2
		exit 1
	fi
	echo "nomoat: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
