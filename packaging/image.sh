#!/usr/bin/env bash
# The container image with buildah (Debian's package, installed here when missing, as root):
#   packaging/image.sh build   builds logcollect:<version> and logcollect:latest
#   packaging/image.sh test    builds, then runs `logcollect version` and `check` on every
#                              bundled config inside it (buildah run --isolation chroot: no
#                              container runtime or cgroups needed)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
GO=${GO:-go}
die() { echo "image: $*" >&2; exit 1; }

ensure_buildah() {
	command -v buildah >/dev/null && return
	[[ $(id -u) -eq 0 ]] || die "buildah missing (run as root, or: sudo apt-get install -y buildah)"
	echo "installing buildah"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah >/dev/null ||
		{ DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah >/dev/null; } ||
		die "apt-get install buildah failed"
}

build() {
	ensure_buildah
	local version arch ctx=bin/image
	version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
	arch=$("$GO" env GOARCH)
	[[ -r /etc/ssl/certs/ca-certificates.crt ]] || die "no /etc/ssl/certs/ca-certificates.crt (apt-get install ca-certificates)"
	rm -rf "$ctx" && mkdir -p "$ctx/etc" "$ctx/data"
	local name tags
	for name in logcollect logcollect-agent; do
		tags=
		[[ $name == logcollect-agent ]] && tags=agentonly
		CGO_ENABLED=0 GOOS=linux GOARCH=$arch "$GO" build -trimpath -tags "$tags" \
			-ldflags "-s -w -X main.version=$version" -o "$ctx/$name" ./cmd/logcollect
	done
	cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
	for f in packaging/etc/*.yaml; do
		sed 's|/var/lib/logcollect|/data|g' "$f" >"$ctx/etc/$(basename "$f")"
	done
	chmod 0644 "$ctx"/etc/*.yaml
	buildah build --quiet --isolation chroot -f packaging/Containerfile \
		-t "logcollect:${version//[^A-Za-z0-9_.-]/-}" -t logcollect:latest "$ctx" >/dev/null
	echo "image: logcollect:latest ($version) built"
}

test_image() {
	build
	local out
	ctr=$(buildah from --quiet logcollect:latest)
	trap 'buildah rm "$ctr" >/dev/null' EXIT
	out=$(buildah run --isolation chroot "$ctr" -- /usr/bin/logcollect version) || die "logcollect version failed in the image"
	[[ $out == logcollect\ * ]] || die "logcollect version printed: $out"
	# As the image's own user (65532): the configs must be readable without root.
	for f in agent transfer sysagent standalone; do
		buildah run --isolation chroot "$ctr" -- /usr/bin/logcollect check --quiet --config "/etc/logcollect/$f.yaml" ||
			die "logcollect check rejects /etc/logcollect/$f.yaml in the image"
	done
	# The DaemonSet runs logcollect-agent (deploy/kubernetes/agent-daemonset.yaml).
	out=$(buildah run --isolation chroot "$ctr" -- /usr/bin/logcollect-agent version) || die "logcollect-agent version failed in the image"
	[[ $out == logcollect-agent\ * ]] || die "logcollect-agent version printed: $out"
	buildah run --isolation chroot "$ctr" -- /usr/bin/logcollect-agent check --quiet --config /etc/logcollect/agent.yaml ||
		die "logcollect-agent check rejects /etc/logcollect/agent.yaml in the image"
	out=$(buildah inspect --format '{{.OCIv1.Config.User}}' logcollect:latest)
	[[ $out == 65532:65532 ]] || die "image user is $out, want 65532:65532"
	echo "image-test: ok (version and check of 4 configs, and logcollect-agent's, ran in the image as $out)"
}

case ${1:-} in
build) build ;;
test) test_image ;;
*) die "usage: $0 build|test" ;;
esac
