#!/usr/bin/env bash
# `make run`: the first thing a new user runs. Starts `logcollect standalone` (embedded
# etcd, agent, log store, HTTP API and UI) with examples/run.yaml: a demo log that a small
# writer appends to, plus the readable /var/log/*.log files. Data stays in data/standalone.
# Ctrl-C stops it. Override the ports with HTTP_LISTEN=127.0.0.1:8081 ETCD_LISTEN=127.0.0.1:2380.
set -euo pipefail
bin=${1:-bin/logcollect}
cd "$(dirname "$0")/.."
mkdir -p data/demo
log=data/demo/app.log
[ -f "$log" ] || printf 'level=info msg="logcollect demo started"\n' >"$log"
# A writer, so there is something to search; it stops with this script.
(
  i=0
  levels=(info info info warn error)
  paths=(/ /login /api/orders /api/items /checkout)
  while sleep 1; do
    i=$((i + 1))
    lvl=${levels[$((i % 5))]}
    u=${paths[$((i % 5))]}
    echo "$(date -u +%FT%TZ) level=$lvl url=$u status=$([ "$lvl" = error ] && echo 500 || echo 200) ms=$((i % 97)) msg=\"demo request $i\"" >>"$log"
  done
) &
writer=$!
trap 'kill $writer 2>/dev/null || true' EXIT
exec_args=(standalone --config examples/run.yaml --data-dir data/standalone
  --http-listen "${HTTP_LISTEN:-127.0.0.1:8080}" --etcd-listen "${ETCD_LISTEN:-127.0.0.1:2379}")
echo "logcollect: starting the standalone (demo log: $log, plus /var/log/*.log); Ctrl-C stops it" >&2
"$bin" "${exec_args[@]}"
