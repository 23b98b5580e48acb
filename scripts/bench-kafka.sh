#!/usr/bin/env bash
# Kafka output benchmark, called by scripts/bench.sh (`make bench`): the agent's Kafka sink
# (internal/agent/kafkaout, driven by bench/benchkafka) against kcat -P -l producing the same file
# to the same broker with the same topic settings, acks=all, for each compression codec.
# Prints a Markdown table: lines/s, MB/s, CPU µs per line and peak RSS of each producer
# process, the topic's size in Kafka, and the sink relative to plain kcat. Then a second
# table: the real agent binaries, logcollect-agent and logcollect (defaults except the
# broker), tailing the same
# file into Kafka, beside `kcat -P -l` with kcat's defaults (the baseline) and kcat with the
# agent's guarantees (idempotence, linger 5 ms, 1 MiB batches), alternating round by round.
#
# Needs the real Kafka (scripts/services.sh up kafka) and kcat. Knobs (environment):
#   KAFKA_BENCH_LINES   lines of ~120 bytes to generate (default 2000000)
#   KAFKA_BENCH_CODECS  codecs (default none,gzip,snappy,lz4,zstd)
#   KAFKA_BENCH_REPEAT  runs per producer and codec, median reported (default 3)
#   KAFKA_BENCH_BROKERS brokers (default 127.0.0.1:9092)
#   AGENT_BIN, BIN      the agent binaries for the agent table (default bin/logcollect-agent,
#                       bin/logcollect)
#   LOGCOLLECT_SERVICES_DIR  the services folder, for the broker's pid (its CPU per line)
set -euo pipefail
cd "$(dirname "$0")/.."

brokers=${KAFKA_BENCH_BROKERS:-127.0.0.1:9092}
command -v kcat >/dev/null || { echo "bench-kafka.sh: kcat is not installed (scripts/services.sh up kafka installs it)" >&2; exit 1; }
kcat -b "$brokers" -L -m 5 >/dev/null 2>&1 || { echo "bench-kafka.sh: Kafka is not reachable at $brokers (scripts/services.sh up kafka)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/benchkafka" ./bench/benchkafka
BIN=${BIN:-bin/logcollect}
AGENT_BIN=${AGENT_BIN:-bin/logcollect-agent}
if [ ! -x "$BIN" ]; then go build -o "$BIN" ./cmd/logcollect; fi
if [ ! -x "$AGENT_BIN" ]; then go build -tags agentonly -o "$AGENT_BIN" ./cmd/logcollect; fi
"$work/benchkafka" -brokers "$brokers" -file "$work/bench.log" \
	-lines "${KAFKA_BENCH_LINES:-2000000}" \
	-codecs "${KAFKA_BENCH_CODECS:-none,gzip,snappy,lz4,zstd}" \
	-repeat "${KAFKA_BENCH_REPEAT:-3}"
echo
echo "CPU µs/line and peak RSS are getrusage of the producer process alone (the broker runs on the same cores)."
echo "'kcat, key + lc header' ships the sink's key and a static lc header of the sink's size (compact records): the same bytes per record."
echo
dir=${LOGCOLLECT_SERVICES_DIR:-$PWD/.services}
brokerpid=0
[ -f "$dir/kafka/kafka.pid" ] && brokerpid=$(<"$dir/kafka/kafka.pid")
"$work/benchkafka" -brokers "$brokers" -file "$work/bench.log" -codecs "" -agent "$AGENT_BIN,$BIN" \
	-repeat "${KAFKA_BENCH_REPEAT:-3}" -broker-pid "$brokerpid"
