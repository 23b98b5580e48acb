#!/usr/bin/env bash
# Builds the static logcollect and logcollect-agent binaries for each architecture and packs it into a .deb and an
# .rpm with nfpm (pinned in packaging/nfpm/go.mod). Output: dist/.
#   packaging/build.sh [amd64 arm64 …]        (run from anywhere; default: amd64 arm64)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
GO=${GO:-go}
archs=("$@")
((${#archs[@]})) || archs=(amd64 arm64)

version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
# A package version must start with a digit and sort: a release tag v1.2.3 gives 1.2.3;
# an untagged commit gives 0.0.0~git<commit time>.<hash>, which sorts before any release.
if tag=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null); then
	pkg_version=${tag#v}
else
	pkg_version="0.0.0~git$(git log -1 --format=%cd --date=format:%Y%m%d%H%M%S 2>/dev/null || echo 0).$(git rev-parse --short HEAD 2>/dev/null || echo dev)"
fi

nfpm=bin/nfpm
if [[ ! -x $nfpm || packaging/nfpm/go.mod -nt $nfpm ]]; then
	echo "building nfpm (packaging/nfpm/go.mod)"
	"$GO" -C packaging/nfpm build -o "$root/$nfpm" github.com/goreleaser/nfpm/v2/cmd/nfpm
fi

# Only this build's packages in dist/: package-test installs the one it finds.
mkdir -p dist
rm -f dist/logcollect[_-]*
for arch in "${archs[@]}"; do
	mkdir -p bin/package
	# logcollect, and logcollect-agent: the host's commands only (the tag agentonly).
	for name in logcollect logcollect-agent; do
		bin=bin/linux-$arch/$name
		tags=
		[[ $name == logcollect-agent ]] && tags=agentonly
		echo "building $bin ($version, static)"
		# CGO_ENABLED=0: static binaries that run on any glibc or musl distribution and in a
		# scratch image (SQLite is modernc's pure-Go port).
		CGO_ENABLED=0 GOOS=linux GOARCH=$arch "$GO" build -trimpath -tags "$tags" \
			-ldflags "-s -w -X main.version=$version" -o "$bin" ./cmd/logcollect
		cp "$bin" "bin/package/$name"
	done
	for fmt in deb rpm; do
		GOARCH=$arch PKG_VERSION=$pkg_version \
			"$nfpm" package --config packaging/nfpm.yaml --packager "$fmt" --target dist/
	done
done
ls -l dist/
