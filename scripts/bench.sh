#!/usr/bin/env bash
# `make bench`: runs the Go benchmarks and the end-to-end benchmark scripts, and prints one
# Markdown table per group. Every speed is reported beside a baseline measured in the same
# run (a ratio), because these machines are noisy. Copy the tables into docs/benchmarks.md
# with the date, the machine and this command.
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime=${BENCHTIME:-1s}
echo "# logcollect benchmarks — $(date -u +%F) — $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo
echo "## Go benchmarks (go test -bench, benchtime=$benchtime)"
echo
echo "| package | benchmark | ns/op | extra metrics |"
echo "|---|---|---:|---|"
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
rc=0
go test -run='^$' -bench=. -benchtime="$benchtime" -benchmem ./... >"$raw" 2>&1 || rc=$?
awk '
  /^pkg: / { pkg=$2; sub("github.com/logcollect/logcollect/", "", pkg) }
  /^Benchmark/ && /ns\/op/ {
    name=$1; ns=""; extra=""
    for (i=3; i<=NF; i+=2) { if ($(i+1)=="ns/op") ns=$i; else extra=extra $i " " $(i+1) "; " }
    printf "| %s | %s | %s | %s |\n", pkg, name, ns, extra
  }' "$raw"
if ((rc != 0)); then
  echo "a Go benchmark failed:" >&2
  grep -E -A3 '^(--- FAIL|FAIL|panic)' "$raw" >&2
  exit 1
fi
echo
echo "## Config center end to end (real binary, real etcd; go test -tags integration -bench Etcd -benchtime=100x ./test/e2e)"
echo
echo "| benchmark | ns/op | metrics |"
echo "|---|---:|---|"
go test -tags integration -run='^$' -bench=Etcd -benchtime=100x ./test/e2e 2>/dev/null | awk '
  /^Benchmark/ {
    name=$1; ns=""; extra=""
    for (i=3; i<=NF; i+=2) { if ($(i+1)=="ns/op") ns=$i; else extra=extra $i " " $(i+1) "; " }
    printf "| %s | %s | %s |\n", name, ns, extra
  }'
for script in scripts/bench-tail.sh scripts/bench-kafka.sh scripts/bench-transfer.sh scripts/bench-sysagent.sh scripts/bench-standalone.sh \
  scripts/bench-server.sh; do
  if [ -x "$script" ]; then
    echo
    "$script"
  fi
done
