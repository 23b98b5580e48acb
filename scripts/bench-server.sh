#!/usr/bin/env bash
# Part of `make bench`: /api/search through `logcollect server` beside the same OpenSearch
# requests sent directly (bench/benchserver): SERVER_BENCH_DOCS access-log documents
# (default 1000000) bulk-loaded with the transfer's document builder and indexer, then
# SERVER_BENCH_RUNS (default 30) searches per query kind each way, alternating.
# SERVER_BENCH_KEEP=1 keeps the indices: the next run of the same size skips the load.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/benchserver" ./bench/benchserver
go build -o "$work/logcollect" ./cmd/logcollect
keep=()
[ "${SERVER_BENCH_KEEP:-}" = 1 ] && keep=(-keep)
"$work/benchserver" -bin "$work/logcollect" -docs "${SERVER_BENCH_DOCS:-1000000}" -runs "${SERVER_BENCH_RUNS:-30}" "${keep[@]}"
