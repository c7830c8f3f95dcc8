#!/bin/bash
# build-image.sh - build the nomoat image from the project's binaries.
#
#   deploy/kubernetes/build-image.sh [-o OUT] [-t IMAGE] [--push]
#
# Builds the binaries (make OUT=OUT all; OUT defaults to build/), stages
# them with nomoat-kube.sh and the Dockerfile in a temporary directory (the
# build context holds nothing else), and builds IMAGE (default
# nomoat:VERSION, VERSION from `git describe --always --dirty`) with docker,
# or podman when there is no docker.  --push pushes it (IMAGE must then name
# your registry: -t registry.example/nomoat:VERSION).  Build on Debian 12:
# the image is bookworm and takes the binaries as they were linked.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$top/build
image=
push=0

while [ $# -gt 0 ]; do
	case $1 in
	-o) out=$(realpath -m "$2"); shift 2 ;;
	-t) image=$2; shift 2 ;;
	--push) push=1; shift ;;
	-h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "build-image.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
if [ -z "$image" ]; then
	version=$(git -C "$top" describe --always --dirty 2>/dev/null || echo dev)
	image=nomoat:$version
fi
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
	engine=docker
elif command -v podman >/dev/null; then
	engine=podman
else
	echo "build-image.sh: neither a running docker nor podman" >&2
	exit 1
fi

ctx=$(mktemp -d /tmp/nomoat-image.XXXXXX) || exit 1
trap 'rm -rf "$ctx"' EXIT

make -C "$top" -j"$(nproc)" OUT="$out" all || exit 1
for b in nomoat nomoatd nomoat-proxy nomoat-dns; do
	install -m 0755 "$out/$b" "$ctx/$b" || exit 1
done
install -m 0755 "$here/nomoat-kube.sh" "$ctx/nomoat-kube.sh" || exit 1
cp "$here/Dockerfile" "$ctx/Dockerfile" || exit 1

"$engine" build -t "$image" "$ctx" || exit 1
echo "built $image with $engine"
if ((push)); then
	"$engine" push "$image" || exit 1
	echo "pushed $image"
fi
echo "set it in deploy/kubernetes/kustomization.yaml (images: newName/newTag), then: kubectl apply -k deploy/kubernetes"
