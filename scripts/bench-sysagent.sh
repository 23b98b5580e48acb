#!/usr/bin/env bash
# Cost of `logcollect sysagent` beside Debian's prometheus-node-exporter, in the same run:
# BIN (the Makefile's build) and a static build of the same source (CGO_ENABLED=0, -s -w,
# the way node_exporter is shipped) run beside node_exporter for WINDOW seconds (default 120; the issue asks 300: WINDOW=300), both have their
# /metrics scraped every 10 s (one GET, as a Prometheus would), and sysagent also writes
# every 10 s interval to the real InfluxDB (database bench_sysagent). Prints Markdown: CPU %
# of one core, CPU ms per 10 s interval, RSS now and peak, and the ratios.
# Usage: scripts/bench-sysagent.sh   (env: BIN, WINDOW, INFLUX)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/logcollect}
WINDOW=${WINDOW:-120}
INFLUX=${INFLUX:-http://127.0.0.1:8086}
NODE_EXPORTER=${NODE_EXPORTER:-prometheus-node-exporter}
HZ=$(getconf CLK_TCK)
INTERVAL=10

command -v "$NODE_EXPORTER" >/dev/null || { echo "bench-sysagent: $NODE_EXPORTER is not installed (apt-get install prometheus-node-exporter)" >&2; exit 1; }
curl -fsS -o /dev/null "$INFLUX/ping" || { echo "bench-sysagent: no InfluxDB at $INFLUX (scripts/services.sh up influxdb)" >&2; exit 1; }
if [ ! -x "$BIN" ]; then go build -o "$BIN" ./cmd/logcollect; fi

work=$(mktemp -d)
CGO_ENABLED=0 go build -ldflags "-s -w" -o "$work/logcollect-static" ./cmd/logcollect
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }

sa_port=$(free_port)
st_port=$(free_port)
ne_port=$(free_port)
# sysagent_config NAME PORT
sysagent_config() {
  cat >"$work/$1.yaml" <<YAML
sysagent:
  interval: ${INTERVAL}s
  host: bench-$1
  influxdb: {url: "$INFLUX", database: bench_sysagent}
  prometheus_listen: 127.0.0.1:$2
etcd: {endpoints: []}
http: {listen: "127.0.0.1:$2"}
log: {level: warn}
YAML
}
sysagent_config sysagent "$sa_port"
sysagent_config static "$st_port"
"$BIN" sysagent --config "$work/sysagent.yaml" 2>"$work/sysagent.err" &
sa_pid=$!
pids+=("$sa_pid")
"$work/logcollect-static" sysagent --config "$work/static.yaml" 2>"$work/static.err" &
st_pid=$!
pids+=("$st_pid")
"$NODE_EXPORTER" --web.listen-address="127.0.0.1:$ne_port" 2>"$work/node-exporter.err" &
ne_pid=$!
pids+=("$ne_pid")

# Both answer, then one interval of warm-up (sysagent's priming read, first scrape).
for url in "http://127.0.0.1:$sa_port/metrics" "http://127.0.0.1:$st_port/metrics" "http://127.0.0.1:$ne_port/metrics"; do
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$url" 2>/dev/null && break; sleep 0.1; done
done
scrape() { for port in "$sa_port" "$st_port" "$ne_port"; do curl -fsS -o /dev/null "http://127.0.0.1:$port/metrics"; done; }
scrape
sleep "$INTERVAL"
scrape

sa0=$(cpu_ticks "$sa_pid"); st0=$(cpu_ticks "$st_pid"); ne0=$(cpu_ticks "$ne_pid"); t0=$(date +%s%N)
intervals=$((WINDOW / INTERVAL))
for _ in $(seq 1 "$intervals"); do
  sleep "$INTERVAL"
  scrape
  for p in "$sa_pid" "$st_pid" "$ne_pid"; do kill -0 "$p" 2>/dev/null || { echo "bench-sysagent: pid $p died" >&2; cat "$work"/*.err >&2; exit 1; }; done
done
sa1=$(cpu_ticks "$sa_pid"); st1=$(cpu_ticks "$st_pid"); ne1=$(cpu_ticks "$ne_pid"); t1=$(date +%s%N)

secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
row() { # name ticks rss_kib hwm_kib
  awk -v n="$1" -v t="$2" -v hz="$HZ" -v s="$secs" -v k="$intervals" -v r="$3" -v h="$4" 'BEGIN {
    cpu = t / hz
    printf "| %s | %.3f %% | %.1f | %.1f | %.1f |\n", n, 100 * cpu / s, 1000 * cpu / k, r / 1024, h / 1024 }'
}
sa_rss=$(status_kib "$sa_pid" VmRSS); sa_hwm=$(status_kib "$sa_pid" VmHWM)
st_rss=$(status_kib "$st_pid" VmRSS); st_hwm=$(status_kib "$st_pid" VmHWM)
ne_rss=$(status_kib "$ne_pid" VmRSS); ne_hwm=$(status_kib "$ne_pid" VmHWM)
points=$(curl -fsS "http://127.0.0.1:$sa_port/metrics" | awk '$1 == "logcollect_influx_points_written_total" {print $2}')
echo "## sysagent beside node_exporter ($WINDOW s window, $INTERVAL s interval, each scraped every $INTERVAL s; scripts/bench-sysagent.sh)"
echo
echo "| process | CPU (% of one core) | CPU ms per interval | RSS MiB | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|"
row "logcollect sysagent, $BIN (+ InfluxDB writes, $points points)" "$((sa1 - sa0))" "$sa_rss" "$sa_hwm"
row "logcollect sysagent, static build (CGO_ENABLED=0, -s -w)" "$((st1 - st0))" "$st_rss" "$st_hwm"
row "prometheus-node-exporter $("$NODE_EXPORTER" --version 2>&1 | awk 'NR==1 {print $3}')" "$((ne1 - ne0))" "$ne_rss" "$ne_hwm"
ratio() { # label ticks rss
  awk -v n="$1" -v a="$2" -v b="$((ne1 - ne0))" -v r="$3" -v q="$ne_rss" -v hz="$HZ" 'BEGIN {
    printf "%s / node_exporter: CPU %s, RSS %.2f (CPU from %d and %d ticks of %d Hz)\n",
      n, (b > 0 ? sprintf("%.2f", a / b) : "n/a"), r / q, a, b, hz }'
}
echo
ratio "sysagent ($BIN)" "$((sa1 - sa0))" "$sa_rss"
ratio "sysagent (static)" "$((st1 - st0))" "$st_rss"
curl -fsS -o /dev/null -XPOST "$INFLUX/query" --data-urlencode 'q=DROP DATABASE bench_sysagent' || true
