#!/usr/bin/env bash
# Transfer benchmarks, called by scripts/bench.sh (`make bench`), driven by bench/benchtransfer:
#  1. TRANSFER_BENCH_DOCS agent records already in Kafka → OpenSearch through the real
#     `logcollect transfer`, beside a plain bulk loader sending the same documents with the
#     same batch size and concurrency to the same OpenSearch (the ceiling), with the CPU
#     per document of the transfer and of OpenSearch;
#  2. end to end at TRANSFER_BENCH_RATE lines/s appended to a file: real agent → Kafka →
#     real transfer → OpenSearch search, p50/p99.
# Knobs: TRANSFER_BENCH_DOCS (default 1000000), TRANSFER_BENCH_RATE (5000),
# TRANSFER_BENCH_SECONDS (30), LOGCOLLECT_SERVICES_DIR (for OpenSearch's pid file).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${LOGCOLLECT_SERVICES_DIR:-$PWD/.services}
ospid=0
[ -f "$dir/opensearch/opensearch.pid" ] && ospid=$(<"$dir/opensearch/opensearch.pid")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/benchtransfer" ./bench/benchtransfer
go build -o "$work/logcollect" ./cmd/logcollect
"$work/benchtransfer" -bin "$work/logcollect" -os-pid "$ospid" -docs "${TRANSFER_BENCH_DOCS:-1000000}"
echo
"$work/benchtransfer" -bin "$work/logcollect" -latency -rate "${TRANSFER_BENCH_RATE:-5000}" -seconds "${TRANSFER_BENCH_SECONDS:-30}"
