#!/usr/bin/env bash
# `make run`: the first thing a new user runs. Starts logcollect on this machine with
# examples/run.yaml. While the standalone subcommand is not built yet, it runs the agent,
# tailing a demo log (written to by a small loop here) and printing each line to stdout.
set -euo pipefail
bin=${1:-bin/logcollect}
cd "$(dirname "$0")/.."
mkdir -p data/demo
log=data/demo/app.log
[ -f "$log" ] || printf 'logcollect demo: hello\nlogcollect demo: each line of data/demo/app.log is shipped\n' >"$log"
# A writer, so there is something to see; it stops with this script.
( i=0; while sleep 1; do i=$((i+1)); echo "$(date -u +%FT%TZ) demo line $i" >>"$log"; done ) &
writer=$!
trap 'kill $writer 2>/dev/null || true' EXIT
echo "logcollect: tailing $log (append lines to it); Ctrl-C stops" >&2
"$bin" agent --config examples/run.yaml
