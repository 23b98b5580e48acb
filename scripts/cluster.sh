#!/usr/bin/env bash
# Clusters on 127.0.0.1 for failover tests, beside the single-node services of services.sh:
#   Kafka 4.4, 3 nodes in KRaft combined mode (each broker + controller), replication 3,
#     min.insync.replicas=2: node N listens on 1909(1+N) (PLAINTEXT) and 1909(4+N) (CONTROLLER),
#     i.e. brokers 19092-19094, controllers 19095-19097.
#   etcd 3.4, 3 members: member N serves clients on 1237(8+N) (12379-12381), peers on
#     1238(1+N) (12382-12384).
#
#   scripts/cluster.sh up|down|status [kafka|etcd]   start (install, format, wait until ready),
#                                                    stop by pid (TERM, wait, KILL), or show
#   scripts/cluster.sh kafka-up|kafka-down|etcd-up|etcd-down   the same, one cluster
#   scripts/cluster.sh kill kafka|etcd N             SIGKILL node N (1-3) and wait until it is gone
#   scripts/cluster.sh env                           KAFKA_BROKERS=, ETCD_ENDPOINTS=, CLUSTER_DIR= lines
#   scripts/cluster.sh clean [kafka|etcd]            remove the data of a stopped cluster
#
# `up` starts only the nodes that are not running, so after `kill` it brings a node back with
# its data. Jars and packages are those of services.sh (installed through `services.sh install`);
# data, logs and pid files live in $LOGCOLLECT_CLUSTER_DIR (default <services dir>/cluster).
# See docs/services.md.
set -euo pipefail

# shellcheck source=scripts/services.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/services.sh"

SERVICES=$REPO/scripts/services.sh
# CACHE (the jars) stays services.sh's; everything else of a cluster is under its own folder.
DIR=${LOGCOLLECT_CLUSTER_DIR:-$DIR/cluster}
LOGS=$DIR/logs
NODES=(1 2 3)

kafka_port() { echo $((19091 + $1)); }
kafka_controller_port() { echo $((19094 + $1)); }
etcd_port() { echo $((12378 + $1)); }
etcd_peer_port() { echo $((12381 + $1)); }

kafka_brokers() {
	local n out=()
	for n in "${NODES[@]}"; do out+=("127.0.0.1:$(kafka_port "$n")"); done
	(IFS=,; echo "${out[*]}")
}
etcd_endpoints() {
	local n out=()
	for n in "${NODES[@]}"; do out+=("127.0.0.1:$(etcd_port "$n")"); done
	(IFS=,; echo "${out[*]}")
}

# Node names are <cluster>-<n>; services.sh's helpers (spawn, pid_of, fail_not_ready) find a
# node's pid file and logs through these three.
pidfile() { echo "$DIR/$1/pid"; }
logfile() { echo "$LOGS/$1.log"; }
consolefile() {
	case $1 in
	kafka-*) echo "$LOGS/$1.out" ;;
	*) echo "$LOGS/$1.log" ;;
	esac
}

node_port() {
	case $1 in
	kafka-*) kafka_port "${1#kafka-}" ;;
	etcd-*) etcd_port "${1#etcd-}" ;;
	esac
}

# ---------------------------------------------------------------- readiness probes (one try)

# A node is ready when it answers a metadata request itself and lists all three brokers: a
# broker is listed only once it is unfenced, i.e. caught up with the controllers.
ready_kafka_node() {
	local port
	port=$(kafka_port "$1")
	port_open "$port" || return 1
	kcat -b "127.0.0.1:$port" -L -m 2 2>/dev/null | grep -q ' 3 brokers:'
}

# /health is true only while the member sees a leader.
ready_etcd_node() {
	curl -fsS --max-time 2 "http://127.0.0.1:$(etcd_port "$1")/health" 2>/dev/null | grep -q '"health":"true"'
}

# ---------------------------------------------------------------- starting

# kafka_jvm sets JVM to the java command line of node $1 (an array: the classpath holds a *).
kafka_jvm() {
	local d=$DIR/kafka-$1
	# Three JVMs share two cores with everything else: small heaps, the serial collector
	# (no GC threads) and the C1 compiler only. C1 alone halves the CPU a node burns to
	# start (~5 s instead of ~10 s each) and is fast enough for test traffic.
	JVM=(java -Xms256m -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
		-Djava.awt.headless=true -Djava.io.tmpdir="$d" \
		-Dlog4j2.configurationFile="$d/log4j2.properties" -Dkafka.logs.dir="$LOGS" \
		-cp "$CACHE/kafka-lib/*")
}

write_kafka_config() {
	local n=$1 d=$DIR/kafka-$1 voters="" m
	for m in "${NODES[@]}"; do voters+="${voters:+,}$m@127.0.0.1:$(kafka_controller_port "$m")"; done
	mkdir -p "$d/data"
	cat >"$d/server.properties" <<EOF
# Written by scripts/cluster.sh on every start; edit the script, not this file.
# Node $n of 3, KRaft combined mode: broker and controller in one process.
process.roles=broker,controller
node.id=$n
listeners=PLAINTEXT://127.0.0.1:$(kafka_port "$n"),CONTROLLER://127.0.0.1:$(kafka_controller_port "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(kafka_port "$n"),CONTROLLER://127.0.0.1:$(kafka_controller_port "$n")
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
controller.quorum.voters=$voters
log.dirs=$d/data

auto.create.topics.enable=true
num.partitions=3
default.replication.factor=3
# acks=all then needs two live replicas: one node may die without refusing a write.
min.insync.replicas=2
unclean.leader.election.enable=false
offsets.topic.replication.factor=3
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
group.initial.rebalance.delay.ms=0
# A killed node is fenced (and its partitions move) after 3 s without a heartbeat instead
# of the default 9 s, so failover tests stay short.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
# Fewer threads than the defaults: three nodes share two cores.
num.network.threads=2
num.io.threads=4
num.replica.fetchers=1
background.threads=4
log.retention.hours=24
log.segment.bytes=104857600
EOF
	kafka_log4j2 "$LOGS/kafka-$n.log" 20MB >"$d/log4j2.properties"
}

# format_kafka formats every node's storage once, all with one cluster id, in parallel.
format_kafka() {
	local n id pids=() rc=0 p
	id=$(kraft_cluster_id)
	for n in "${NODES[@]}"; do
		[[ -f $DIR/kafka-$n/data/meta.properties ]] && continue
		kafka_jvm "$n"
		"${JVM[@]}" kafka.tools.StorageTool format -t "$id" \
			-c "$DIR/kafka-$n/server.properties" >>"$LOGS/kafka-format.log" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]+"${pids[@]}"}"; do wait "$p" || rc=1; done
	((rc == 0)) || die "kafka: formatting storage failed, see $LOGS/kafka-format.log"
}

start_kafka_node() {
	kafka_jvm "$1"
	spawn "kafka-$1" "${JVM[@]}" kafka.Kafka "$DIR/kafka-$1/server.properties"
}

start_etcd_node() {
	local n=$1 d=$DIR/etcd-$1 m cluster=""
	for m in "${NODES[@]}"; do cluster+="${cluster:+,}c$m=http://127.0.0.1:$(etcd_peer_port "$m")"; done
	mkdir -p "$d/data"
	chmod 700 "$d/data" # etcd refuses a data dir that others can read
	local c=http://127.0.0.1:$(etcd_port "$n") p=http://127.0.0.1:$(etcd_peer_port "$n")
	# The --initial-* flags count only on the first start; a restart rejoins from the data dir.
	spawn "etcd-$n" etcd --name "c$n" --data-dir "$d/data" \
		--listen-client-urls "$c" --advertise-client-urls "$c" \
		--listen-peer-urls "$p" --initial-advertise-peer-urls "$p" \
		--initial-cluster "$cluster" --initial-cluster-state new \
		--initial-cluster-token logcollect-test-cluster \
		--heartbeat-interval 100 --election-timeout 1000 \
		--logger=zap --log-outputs=stderr
}

# installed says whether services.sh's install step has nothing to do for this cluster, so
# that a start does not wait for services.sh's lock while it starts the shared services.
installed() {
	case $1 in
	kafka)
		command -v kcat >/dev/null && [[ -f $CACHE/kafka-lib/.stamp &&
			$(<"$CACHE/kafka-lib/.stamp") == "$(sha256sum "$REPO/tools/kafka-runtime/pom.xml" | cut -d' ' -f1)" ]]
		;;
	etcd) command -v etcd >/dev/null && command -v etcdctl >/dev/null ;;
	esac
}

cluster_up() {
	local c=$1 n node pid started pending=() still rc=0
	started=$(now_us)
	installed "$c" || "$SERVICES" install "$c" >/dev/null
	for n in "${NODES[@]}"; do
		node=$c-$n
		if pid=$(pid_of "$node"); then
			log "$node already running (pid $pid)"
			continue
		fi
		port_open "$(node_port "$node")" &&
			die "$node: port $(node_port "$node") is taken by a process not started from $DIR; stop it first"
		[[ $c == kafka ]] && write_kafka_config "$n"
		pending+=("$n")
	done
	[[ $c == kafka ]] && ((${#pending[@]})) && format_kafka
	for n in "${pending[@]+"${pending[@]}"}"; do
		"start_${c}_node" "$n"
		log "$c-$n starting (pid $(<"$(pidfile "$c-$n")"))"
	done
	# Wait for every node, also those already running: a killed and restarted node's peers
	# must see it again.
	pending=("${NODES[@]}")
	local budget
	budget=$(timeout_for "$c")
	while ((${#pending[@]})); do
		still=()
		for n in "${pending[@]}"; do
			node=$c-$n
			if "ready_${c}_node" "$n"; then
				:
			elif ! pid_of "$node" >/dev/null; then
				fail_not_ready "$node" "exited before it answered"
				rc=1
			elif (($(now_us) - started > budget * 1000000)); then
				fail_not_ready "$node" "did not answer within $budget s"
				rc=1
			else
				still+=("$n")
			fi
		done
		pending=("${still[@]+"${still[@]}"}")
		((${#pending[@]})) && sleep 0.3
	done
	((rc == 0)) || return 1
	case $c in
	kafka) log "kafka cluster ready in $(elapsed "$started" "$(now_us)") s at $(kafka_brokers)" ;;
	etcd) log "etcd cluster ready in $(elapsed "$started" "$(now_us)") s at $(etcd_endpoints)" ;;
	esac
}

cluster_down() {
	local c=$1 n pids=() rc=0 p
	# stop_one of services.sh: TERM, wait, KILL; all nodes at once.
	for n in "${NODES[@]}"; do
		stop_one "$c-$n" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}

# port_of is what stop_one reports when a node is not ours.
port_of() { node_port "$1"; }
address_of() { echo "127.0.0.1:$(node_port "$1")"; }

kill_node() {
	local c=$1 n=$2 pid i
	[[ $n =~ ^[123]$ ]] || die "kill: node must be 1, 2 or 3, not '$n'"
	pid=$(pid_of "$c-$n") || die "kill: $c-$n is not running from $DIR"
	kill -KILL "$pid"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && die "kill: $c-$n (pid $pid) still alive after SIGKILL"
	rm -f "$(pidfile "$c-$n")"
	log "$c-$n killed (was pid $pid)"
}

cluster_status() {
	local c=$1 n pid rc=0
	for n in "${NODES[@]}"; do
		if pid=$(pid_of "$c-$n"); then
			printf '%-8s running  pid %-8s 127.0.0.1:%s\n' "$c-$n" "$pid" "$(node_port "$c-$n")"
		else
			printf '%-8s stopped  %-12s 127.0.0.1:%s\n' "$c-$n" "" "$(node_port "$c-$n")"
			rc=1
		fi
	done
	return $rc
}

cluster_clean() {
	local c=$1 n
	for n in "${NODES[@]}"; do
		pid_of "$c-$n" >/dev/null && die "clean: $c-$n is running; run 'scripts/cluster.sh down $c' first"
	done
	for n in "${NODES[@]}"; do rm -rf "${DIR:?}/$c-$n"; done
	log "$c cluster data removed"
}

cluster_usage() {
	sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

cluster_main() {
	(($#)) || cluster_usage
	local cmd=$1
	shift
	case $cmd in
	kafka-up | kafka-down | etcd-up | etcd-down) set -- "${cmd%-*}"; cmd=${cmd#*-} ;;
	esac
	local clusters=("$@") c
	case $cmd in
	kill)
		(($# == 2)) || cluster_usage
		clusters=("$1")
		;;
	env)
		echo "KAFKA_BROKERS=$(kafka_brokers)"
		echo "ETCD_ENDPOINTS=$(etcd_endpoints)"
		echo "CLUSTER_DIR=$DIR"
		return 0
		;;
	esac
	((${#clusters[@]})) || clusters=(kafka etcd)
	for c in "${clusters[@]}"; do
		[[ $c == kafka || $c == etcd ]] || die "unknown cluster '$c' (known: kafka etcd)"
	done
	mkdir -p "$DIR" "$LOGS"
	local rc=0
	for c in "${clusters[@]}"; do
		# One lock per cluster, so one test can start etcd while another starts Kafka. On
		# fd 9, which spawn closes in the nodes it starts.
		exec 9>"$DIR/.lock-$c"
		flock -w 900 9 || die "another cluster.sh holds $DIR/.lock-$c"
		case $cmd in
		up) cluster_up "$c" || rc=1 ;;
		down) cluster_down "$c" || rc=1 ;;
		status) cluster_status "$c" || rc=1 ;;
		clean) cluster_clean "$c" || rc=1 ;;
		kill) kill_node "$c" "$2" ;;
		*) cluster_usage ;;
		esac
		exec 9>&-
	done
	return $rc
}

cluster_main "$@"
