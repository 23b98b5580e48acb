#!/usr/bin/env bash
# The store engine comparison of docs/store.md: VictoriaLogs' lib/logstorage against the
# project's SQLite FTS5 store, on the same synthetic lines, one fresh process per engine.
# Usage: scripts/store-compare.sh [LINES] [OUT.jsonl]   (default 1000000 lines)
# Each engine writes one JSON line (ingest lines/s, CPU µs/line, disk bytes/line, peak RSS,
# p50/p95 per query kind) to OUT; a table is printed at the end. The tool is its own Go
# module (bench/storebench) so the engine not chosen stays out of the project's go.mod.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
out=${2:-data/store-compare-$n.jsonl}
mkdir -p "$(dirname "$out")" data/tmp
bin=data/tmp/storebench
(cd bench/storebench && go build -o "../../$bin" .)
: >"$out"
for engine in vl sqlite; do
  dir=$(mktemp -d data/tmp/storebench-$engine-XXXX)
  echo "store-compare: $engine, $n lines, in $dir" >&2
  "$bin" -engine "$engine" -n "$n" -dir "$dir" 2>>"$out.log" | tee -a "$out"
  rm -rf "$dir"
done
python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{'engine':8} {'lines':>10} {'lines/s':>10} {'CPU µs/line':>12} {'B/line':>8} {'RSS MiB':>8}")
for r in rows:
    print(f"{r['engine']:8} {r['lines']:>10} {r['lines_per_s']:>10.0f} {r['cpu_us_per_line']:>12.2f} {r['bytes_per_line']:>8.1f} {r['peak_rss_mib']:>8.0f}")
print()
kinds = list(rows[0]['query_p95_ms'])
print(f"{'query (p50 / p95 ms)':28} " + " ".join(f"{r['engine']:>16}" for r in rows))
for k in kinds:
    print(f"{k:28} " + " ".join(f"{r['query_p50_ms'][k]:>7.1f} / {r['query_p95_ms'][k]:>6.1f}" for r in rows))
PY
