#!/usr/bin/env bash
# Part of `make bench`: the standalone end to end (files → logcollect standalone →
# searchable through /api/search) beside VictoriaLogs' own single-node server, built here
# from its Go module (go install .../app/victoria-logs@v1.52.1, cached in data/tmp/vlbin)
# and fed the same lines through one /insert/jsonline stream, in the same run.
# LOGCOLLECT_BENCH_LINES sets the number of lines (default 200000). Then issue 22's comparison
# on a realistic access log stamped over 20 hours (BenchmarkStandaloneVsVictoriaLogs).
# Issue 22's 100,000,000-line variant (not part of make bench: ~9 minutes and ~22 GB of
# disk here; the standalone alone, and append → searchable timed while it ingests:
# ingest_append_to_search_p99_ms; docs/benchmarks.md):
#   LOGCOLLECT_BENCH_VL=off LOGCOLLECT_BENCH_ROUNDS=5 LOGCOLLECT_BENCH_LINES=100000000 \
#     go test -tags integration -run '^$' -bench StandaloneVsVictoriaLogs -benchtime 1x -timeout 120m ./test/standalone
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
echo
echo "## Standalone beside VictoriaLogs on a realistic access log, $n lines stamped over 20 h (issue 22; go test -tags integration -bench StandaloneVsVictoriaLogs -benchtime 1x ./test/standalone)"
echo
echo "Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)."
echo
echo "| metric | logcollect standalone | VictoriaLogs | standalone / VictoriaLogs |"
echo "|---|---:|---:|---:|"
LOGCOLLECT_BENCH_LINES=$n go test -tags integration -run='^$' -bench=StandaloneVsVictoriaLogs -benchtime=1x -timeout 60m ./test/standalone |
  awk '/^BenchmarkStandaloneVsVictoriaLogs/ {
      for (i=5; i<=NF; i+=2) v[$(i+1)]=$i
      split("lines/s cpu_us/line ingest_peak_rss_MiB peak_rss_MiB disk_MB common_word_p95_ms two_words_p95_ms rare_ip_phrase_p95_ms absent_word_p95_ms field_value_p95_ms histogram_1h_p95_ms prefix_p95_ms", m, " ")
      for (j=1; j in m; j++) printf "| %s | %s | %s | %.2f× |\n", m[j], v[m[j]], v["vl_" m[j]], v["ratio_" m[j]]
      split("common_word two_words rare_ip_phrase absent_word field_value prefix", k, " ")
      for (j=1; j in k; j++) { x = k[j] "_p95_ms"; printf "| %s, VictoriaLogs asked for the page as its UI asks (lines + hits) | %s | %s | %.2f× |\n", x, v[x], v["vl_page_" x], v["ratio_page_" x] }
      printf "| embedded etcd disk, MB | %s | | |\n", v["etcd_disk_MB"]
      if (v["ingest_probes"] != "") printf "| append → searchable while it ingests, p99 ms (%s probes; max %s) | %s | | |\n", v["ingest_probes"], v["ingest_append_to_search_max_ms"], v["ingest_append_to_search_p99_ms"]
    }'
