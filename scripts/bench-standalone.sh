#!/usr/bin/env bash
# Part of `make bench`: the standalone end to end (files → logcollect standalone →
# searchable through /api/search) beside VictoriaLogs' own single-node server, built here
# from its Go module (go install .../app/victoria-logs@v1.52.1, cached in data/tmp/vlbin)
# and fed the same lines through one /insert/jsonline stream, in the same run.
# LOGCOLLECT_BENCH_LINES sets the number of lines (default 200000).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${LOGCOLLECT_BENCH_LINES:-200000}
echo "## Standalone end to end, $n access-log lines (go test -tags integration -bench StandaloneEndToEnd -benchtime 1x ./test/standalone)"
echo
echo "| metric | value |"
echo "|---|---:|"
LOGCOLLECT_BENCH_LINES=$n go test -tags integration -run='^$' -bench=StandaloneEndToEnd -benchtime=1x -timeout 60m ./test/standalone |
  awk '/^BenchmarkStandaloneEndToEnd/ { for (i=5; i<=NF; i+=2) printf "| %s | %s |\n", $(i+1), $i }'
echo
echo "The store alone: BenchmarkAppend in the Go benchmarks above; the engine comparison: scripts/store-compare.sh (docs/store.md)."
