#!/usr/bin/env bash
# Real services for development, integration tests and CI, all on 127.0.0.1:
#   etcd 2379, Kafka 9092 (controller 9093), OpenSearch 9200, InfluxDB 8086,
#   Prometheus 9090 (scrapes the targets tests write into $LOGCOLLECT_SERVICES_DIR/prometheus/targets).
#
#   scripts/services.sh up     [service...]   install what is missing, start, wait until ready
#   scripts/services.sh down   [service...]   stop by pid (TERM, wait, KILL)
#   scripts/services.sh status [service...]   running/stopped, pid, address (exit 1 if any stopped)
#   scripts/services.sh install [service...]  only the install part of up (packages, jars, launcher)
#
# Services: etcd kafka opensearch influxdb prometheus (default: all). Safe to run twice, and by two
# people at once (a lock serialises up/down). Scratch data, logs and pid files live in
# $LOGCOLLECT_SERVICES_DIR (default <repo>/.services). See docs/services.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${LOGCOLLECT_SERVICES_DIR:-$REPO/.services}
CACHE=$DIR/cache
LOGS=$DIR/logs
ALL_SERVICES=(etcd kafka opensearch influxdb prometheus)

KAFKA_VERSION=4.4.0
OPENSEARCH_VERSION=2.19.6

# Seconds each service gets to answer after its start. OpenSearch needs tens of seconds on
# two busy cores, so its budget is generous; override with LOGCOLLECT_SERVICES_TIMEOUT.
timeout_for() {
	if [[ -n ${LOGCOLLECT_SERVICES_TIMEOUT:-} ]]; then
		echo "$LOGCOLLECT_SERVICES_TIMEOUT"
		return
	fi
	case $1 in
	etcd | influxdb) echo 30 ;;
	prometheus) echo 30 ;;
	kafka) echo 120 ;;
	opensearch) echo 300 ;;
	esac
}

address_of() {
	case $1 in
	etcd) echo "http://127.0.0.1:2379" ;;
	kafka) echo "127.0.0.1:9092" ;;
	opensearch) echo "http://127.0.0.1:9200" ;;
	influxdb) echo "http://127.0.0.1:8086" ;;
	prometheus) echo "http://127.0.0.1:9090" ;;
	esac
}

port_of() {
	case $1 in
	etcd) echo 2379 ;;
	kafka) echo 9092 ;;
	opensearch) echo 9200 ;;
	influxdb) echo 8086 ;;
	prometheus) echo 9090 ;;
	esac
}

log() { printf '%s\n' "$*"; }
die() {
	printf 'services.sh: %s\n' "$*" >&2
	exit 1
}

now_us() { echo "${EPOCHREALTIME/./}"; }
# Seconds with one decimal between two now_us stamps.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000000 }'; }

pidfile() { echo "$DIR/$1/$1.pid"; }
logfile() { echo "$LOGS/$1.log"; }
# The JVMs log through log4j2 into <svc>.log; their stdout/stderr (JVM errors, a crash before
# logging starts) go to <svc>.out. etcd and InfluxDB write everything to <svc>.log.
consolefile() {
	case $1 in
	kafka | opensearch) echo "$LOGS/$1.out" ;;
	*) echo "$LOGS/$1.log" ;;
	esac
}

# pid_of prints the pid of the service when it runs, and fails otherwise. The command line must
# mention this scratch folder, so a recycled pid (or a second checkout's service) is not taken
# for ours.
pid_of() {
	local f pid
	f=$(pidfile "$1")
	[[ -s $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DIR/" || return 1
	echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- readiness probes (one try)

ready_etcd() { curl -fsS --max-time 2 http://127.0.0.1:2379/health 2>/dev/null | grep -q '"health":"true"'; }

ready_kafka() {
	port_open 9092 || return 1
	# A metadata round trip, not just an open port: the broker answers only once it has
	# caught up with the controller.
	kcat -b 127.0.0.1:9092 -L -m 2 2>/dev/null | grep -q '1 brokers:'
}

ready_opensearch() {
	curl -fsS --max-time 3 'http://127.0.0.1:9200/_cluster/health?wait_for_status=yellow&timeout=1s' >/dev/null 2>&1
}

ready_influxdb() { curl -fsS --max-time 2 -o /dev/null http://127.0.0.1:8086/ping 2>/dev/null; }

ready_prometheus() { curl -fsS --max-time 2 -o /dev/null http://127.0.0.1:9090/-/ready 2>/dev/null; }

# after_ready runs once a service answers: things it must hold before tests use it.
after_ready() {
	case $1 in
	influxdb)
		curl -fsS --max-time 10 -o /dev/null -XPOST http://127.0.0.1:8086/query \
			--data-urlencode 'q=CREATE DATABASE sysinfo' ||
			die "influxdb: CREATE DATABASE sysinfo failed (log: $(logfile influxdb))"
		;;
	opensearch)
		# One node cannot hold replicas: without this every new index stays yellow. A legacy
		# template (order -1) only fills in a default; any template of the project wins over it.
		curl -fsS --max-time 10 -o /dev/null -XPUT http://127.0.0.1:9200/_template/logcollect-dev-no-replicas \
			-H 'Content-Type: application/json' \
			-d '{"index_patterns":["*"],"order":-1,"settings":{"number_of_replicas":0}}' ||
			die "opensearch: setting the no-replicas template failed (log: $(logfile opensearch))"
		;;
	esac
}

# ---------------------------------------------------------------- installation

APT_UPDATED=0
apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	[[ $(id -u) -eq 0 ]] || die "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})"
	log "installing Debian packages: ${missing[*]}"
	if ((!APT_UPDATED)); then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$LOGS/apt.log" 2>&1 || die "apt-get update failed, see $LOGS/apt.log"
		APT_UPDATED=1
	fi
	# Debian's etcd-server and influxdb would start system-wide daemons on the same ports
	# (InfluxDB on all interfaces); a policy-rc.d that says 101 keeps maintainer scripts from
	# starting anything, the usual way in containers. Ours is removed again afterwards.
	local policy=/usr/sbin/policy-rc.d own_policy=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\n# services.sh: no daemon starts during package installation\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		own_policy=1
	fi
	local rc=0
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >>"$LOGS/apt.log" 2>&1 || rc=$?
	((own_policy)) && rm -f "$policy"
	((rc == 0)) || die "apt-get install ${missing[*]} failed, see $LOGS/apt.log"
}

install_packages() {
	local want=(logrotate curl) s
	for s in "$@"; do
		case $s in
		etcd) want+=(etcd-server etcd-client) ;;
		influxdb) want+=(influxdb) ;;
		prometheus) want+=(prometheus prometheus-node-exporter) ;; # node_exporter: make bench
		kafka) want+=(kcat) ;;
		esac
		case $s in
		kafka | opensearch)
			command -v javac >/dev/null || want+=(openjdk-17-jdk-headless)
			command -v mvn >/dev/null || want+=(maven)
			;;
		esac
	done
	apt_install "${want[@]}"
}

check_java() {
	local v
	v=$(java -version 2>&1 | awk -F'"' '/version/ { print $2; exit }')
	[[ $v == 17 || $v == 17.* ]] ||
		die "java -version says '$v', want 17 (Kafka $KAFKA_VERSION needs >= 17; OpenSearch $OPENSEARCH_VERSION is the newest that runs on 17)"
}

# fetch_jars copies a tools/<name>/pom.xml's runtime classpath into $CACHE/<name>-lib, again
# only when the pom changed since the last successful copy.
fetch_jars() {
	local name=$1 pom=$REPO/tools/$2/pom.xml out=$CACHE/$1-lib stamp sum
	stamp=$out/.stamp
	sum=$(sha256sum "$pom" | cut -d' ' -f1)
	[[ -f $stamp && $(<"$stamp") == "$sum" ]] && return 0
	log "fetching $name jars with Maven (first use, or its pom changed)"
	rm -rf "$out"
	mkdir -p "$out"
	mvn -B -q -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
		-DoutputDirectory="$out" >"$LOGS/maven-$name.log" 2>&1 ||
		die "maven could not fetch the $name jars, see $LOGS/maven-$name.log"
	echo "$sum" >"$stamp"
}

install_kafka() {
	check_java
	fetch_jars kafka kafka-runtime
}

install_opensearch() {
	check_java
	fetch_jars opensearch opensearch-launcher
	local src=$REPO/tools/opensearch-launcher/src/main/java classes=$CACHE/opensearch-launcher-classes sum
	local sources=()
	mapfile -t sources < <(find "$src" -name '*.java' | sort)
	sum=$(cat "$REPO/tools/opensearch-launcher/pom.xml" "${sources[@]}" | sha256sum | cut -d' ' -f1)
	[[ -f $classes/.stamp && $(<"$classes/.stamp") == "$sum" ]] && return 0
	rm -rf "$classes"
	mkdir -p "$classes"
	javac --release 17 -nowarn -cp "$CACHE/opensearch-lib/*" -d "$classes" "${sources[@]}" \
		>"$LOGS/javac-opensearch-launcher.log" 2>&1 ||
		die "compiling the OpenSearch launcher failed, see $LOGS/javac-opensearch-launcher.log"
	echo "$sum" >"$classes/.stamp"
}

# ---------------------------------------------------------------- starting

# spawn runs a command detached from this shell (own session, so it outlives the terminal or CI
# step that started it), with its output in the service's log, and records its pid.
spawn() {
	local svc=$1
	shift
	local pf
	pf=$(pidfile "$svc")
	rm -f "$pf"
	# The child writes its own pid and then execs: the pid file names the service itself,
	# not a wrapper. fd 9 (the lock) is closed, or the service would hold the lock forever.
	# shellcheck disable=SC2016 # $$ and $@ are the child's, expanded by the inner bash
	setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pf" "$@" \
		</dev/null >>"$(consolefile "$svc")" 2>&1 9>&- &
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -s $pf ]] && return 0
		sleep 0.1
	done
	die "$svc: no pid file after start (log: $(logfile "$svc"))"
}

start_etcd() {
	local d=$DIR/etcd
	mkdir -p "$d/data"
	chmod 700 "$d/data" # etcd refuses a data dir that others can read
	spawn etcd etcd --name logcollect-dev --data-dir "$d/data" \
		--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
		--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster logcollect-dev=http://127.0.0.1:2380 \
		--logger=zap --log-outputs=stderr
}

start_influxdb() {
	local d=$DIR/influxdb
	mkdir -p "$d/meta" "$d/data" "$d/wal"
	cat >"$d/influxdb.conf" <<EOF
# Written by scripts/services.sh on every start; edit the script, not this file.
reporting-disabled = true
bind-address = "127.0.0.1:8088"

[meta]
  dir = "$d/meta"

[data]
  dir = "$d/data"
  wal-dir = "$d/wal"
  query-log-enabled = false

[http]
  bind-address = "127.0.0.1:8086"
  log-enabled = false

[monitor]
  # No _internal database: it only adds writes on a shared dev machine.
  store-enabled = false
EOF
	spawn influxdb influxd -config "$d/influxdb.conf"
}

# Prometheus is shared like the others, so it scrapes whatever targets tests put into
# $DIR/prometheus/targets/*.json (file_sd: a test writes its own file with its own port and
# removes it afterwards). A short interval keeps tests quick; Prometheus still takes ~10 s
# after start (or after a new targets file) before the first scrape of a target.
start_prometheus() {
	local d=$DIR/prometheus
	mkdir -p "$d/data" "$d/targets"
	cat >"$d/prometheus.yml" <<EOF
# Written by scripts/services.sh on every start; edit the script, not this file.
global:
  scrape_interval: 2s
  scrape_timeout: 1s
  evaluation_interval: 15s
scrape_configs:
  - job_name: logcollect
    file_sd_configs:
      - files: ["$d/targets/*.json"]
        refresh_interval: 1s
EOF
	spawn prometheus prometheus --config.file="$d/prometheus.yml" --storage.tsdb.path="$d/data" \
		--storage.tsdb.retention.time=1d --web.listen-address=127.0.0.1:9090 --log.level=warn
}

# kafka_log4j2 prints a log4j2 config that sends a Kafka node's log to file $1, rolled at
# size $2 (two files kept), not to the terminal. scripts/cluster.sh uses it too.
kafka_log4j2() {
	cat <<EOF
# Written by scripts/services.sh: Kafka logs to a file, not to the terminal.
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $1
appender.file.filePattern = $1.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = $2
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.state.name = state.change.logger
logger.state.level = warn
EOF
}

# A KRaft cluster id is 16 random bytes in URL-safe base64 without padding. One that
# starts with '-' (1 in 64) would be read by StorageTool as an option and the format would
# fail, so such an id is drawn again, as Kafka's own Uuid.randomUuid does.
kraft_cluster_id() {
	local id=-
	while [[ $id == -* ]]; do id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='); done
	echo "$id"
}

start_kafka() {
	local d=$DIR/kafka lib=$CACHE/kafka-lib
	mkdir -p "$d/data"
	cat >"$d/server.properties" <<EOF
# Written by scripts/services.sh on every start; edit the script, not this file.
# Single node, KRaft combined mode: this process is both broker and controller.
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://127.0.0.1:9092
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
controller.quorum.bootstrap.servers=127.0.0.1:9093
log.dirs=$d/data

auto.create.topics.enable=true
# Three partitions per new topic, so tests of ordering by key can see records spread out.
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
# Fewer internal partitions than the default 50: the first consumer group is ready sooner.
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests start consumer groups all the time; the default 3 s wait for more members only slows them.
group.initial.rebalance.delay.ms=0
# message.max.bytes stays at Kafka's default, like a stock broker.
log.retention.hours=24
EOF
	kafka_log4j2 "$LOGS/kafka.log" 50MB >"$d/log4j2.properties"
	local jvm=(java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true
		-Djava.io.tmpdir="$d" -Dlog4j2.configurationFile="$d/log4j2.properties"
		-Dkafka.logs.dir="$LOGS" -cp "$lib/*")
	if [[ ! -f $d/data/meta.properties ]]; then
		"${jvm[@]}" kafka.tools.StorageTool format -t "$(kraft_cluster_id)" -c "$d/server.properties" --standalone \
			>>"$LOGS/kafka-format.log" 2>&1 ||
			die "kafka: formatting storage failed, see $LOGS/kafka-format.log"
	fi
	spawn kafka "${jvm[@]}" kafka.Kafka "$d/server.properties"
}

start_opensearch() {
	local d=$DIR/opensearch
	mkdir -p "$d/config" "$d/data" "$d/tmp" "$d/modules" "$d/plugins"
	cat >"$d/config/opensearch.yml" <<EOF
# Written by scripts/services.sh on every start; edit the script, not this file.
cluster.name: logcollect-dev
node.name: logcollect-dev
path.data: $d/data
path.logs: $LOGS
network.host: 127.0.0.1
http.port: 9200
transport.port: 9300
discovery.type: single-node
http.type: netty4
transport.type: netty4
# A nearly full shared disk must not turn the dev cluster read-only or red.
cluster.routing.allocation.disk.threshold_enabled: false
bootstrap.memory_lock: false
EOF
	cat >"$d/config/log4j2.properties" <<EOF
# Written by scripts/services.sh: OpenSearch logs to a file, not to the terminal.
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $LOGS/opensearch.log
appender.file.filePattern = $LOGS/opensearch.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d{ISO8601}][%-5p][%c{1.}] %marker%m%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.deprecation.name = org.opensearch.deprecation
logger.deprecation.level = error
EOF
	spawn opensearch java -Xms512m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
		-Dfile.encoding=UTF-8 -Djava.io.tmpdir="$d/tmp" \
		-Dlog4j2.configurationFile="$d/config/log4j2.properties" \
		-Dlog4j2.disable.jmx=true -Dlog4j.shutdownHookEnabled=false \
		-cp "$CACHE/opensearch-launcher-classes:$CACHE/opensearch-lib/*" \
		org.logcollect.devtools.OpenSearchLauncher "$d"
}

# ---------------------------------------------------------------- commands

fail_not_ready() {
	local svc=$1 why=$2 lf
	lf=$(logfile "$svc")
	{
		printf '\nservices.sh: %s %s\n' "$svc" "$why"
		printf 'services.sh: its log is %s; last lines:\n' "$lf"
		tail -n 15 "$lf" 2>/dev/null | sed 's/^/    /'
		if [[ $(consolefile "$svc") != "$lf" ]]; then
			printf 'services.sh: console output %s; last lines:\n' "$(consolefile "$svc")"
			tail -n 10 "$(consolefile "$svc")" 2>/dev/null | sed 's/^/    /'
		fi
	} >&2
}

cmd_up() {
	local services=("$@") s
	mkdir -p "$DIR" "$LOGS" "$CACHE"
	exec 9>"$DIR/.lock"
	flock -w 900 9 || die "another services.sh holds $DIR/.lock"

	install_packages "${services[@]}"

	# started[svc] is when we began waiting for it: its start, or now for one already running.
	declare -A started=()
	local to_start=()
	for s in "${services[@]}"; do
		local pid
		started[$s]=$(now_us)
		if pid=$(pid_of "$s"); then
			log "$s already running (pid $pid)"
		elif port_open "$(port_of "$s")" && "ready_$s"; then
			# Someone else's instance (or one started by hand): use it, but do not own it.
			log "$s: something not started by this script already answers on $(address_of "$s"); using it"
		else
			to_start+=("$s")
		fi
	done

	# Slowest first, so OpenSearch boots while Kafka's jars are fetched and etcd comes up.
	local order=(opensearch kafka etcd influxdb prometheus)
	for s in "${order[@]}"; do
		[[ " ${to_start[*]} " == *" $s "* ]] || continue
		if port_open "$(port_of "$s")"; then
			die "$s: port $(port_of "$s") is taken by another process that does not answer like $s; stop it first"
		fi
		case $s in
		kafka | opensearch) "install_$s" ;;
		esac
		started[$s]=$(now_us)
		"start_$s"
		log "$s starting (pid $(<"$(pidfile "$s")"))"
	done

	# Wait for all of them together; report each as it answers.
	local pending=("${services[@]}") rc=0
	while ((${#pending[@]})); do
		local still=()
		for s in "${pending[@]}"; do
			if "ready_$s"; then
				after_ready "$s"
				log "$s ready in $(elapsed "${started[$s]}" "$(now_us)") s at $(address_of "$s")"
			elif ! pid_of "$s" >/dev/null && ! port_open "$(port_of "$s")"; then
				fail_not_ready "$s" "exited before it answered"
				rc=1
			elif (($(now_us) - started[$s] > $(timeout_for "$s") * 1000000)); then
				fail_not_ready "$s" "did not answer at $(address_of "$s") within $(timeout_for "$s") s (still running as pid $(<"$(pidfile "$s")"))"
				rc=1
			else
				still+=("$s")
			fi
		done
		pending=("${still[@]+"${still[@]}"}")
		((${#pending[@]})) && sleep 0.3
	done
	return $rc
}

cmd_install() {
	local s
	mkdir -p "$DIR" "$LOGS" "$CACHE"
	exec 9>"$DIR/.lock"
	flock -w 900 9 || die "another services.sh holds $DIR/.lock"
	install_packages "$@"
	for s in "$@"; do
		case $s in
		kafka | opensearch) "install_$s" ;;
		esac
	done
	log "installed: $*"
}

stop_one() {
	local svc=$1 pid i grace
	if ! pid=$(pid_of "$svc"); then
		rm -f "$(pidfile "$svc")"
		if port_open "$(port_of "$svc")"; then
			log "$svc not started from $DIR; left alone what answers on $(address_of "$svc")"
		else
			log "$svc not running"
		fi
		return 0
	fi
	case $svc in kafka | opensearch) grace=60 ;; *) grace=15 ;; esac
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$svc (pid $pid) ignored TERM for ${grace} s; sending KILL"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -f "$(pidfile "$svc")"
	log "$svc stopped (was pid $pid)"
}

cmd_down() {
	mkdir -p "$DIR"
	exec 9>"$DIR/.lock"
	flock -w 900 9 || die "another services.sh holds $DIR/.lock"
	# Stop them in parallel: Kafka and OpenSearch each take seconds to shut down cleanly.
	local s pids=()
	for s in "$@"; do
		stop_one "$s" &
		pids+=($!)
	done
	local rc=0 p
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}

cmd_status() {
	local s pid rc=0
	for s in "$@"; do
		if pid=$(pid_of "$s"); then
			printf '%-11s running  pid %-8s %s\n' "$s" "$pid" "$(address_of "$s")"
		elif port_open "$(port_of "$s")"; then
			printf '%-11s running  %-12s %s (not started by this script)\n' "$s" "pid ?" "$(address_of "$s")"
		else
			printf '%-11s stopped  %-12s %s\n' "$s" "" "$(address_of "$s")"
			rc=1
		fi
	done
	return $rc
}

usage() {
	sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

main() {
	(($#)) || usage
	local cmd=$1
	shift
	local services=("$@") s
	((${#services[@]})) || services=("${ALL_SERVICES[@]}")
	for s in "${services[@]}"; do
		[[ " ${ALL_SERVICES[*]} " == *" $s "* ]] || die "unknown service '$s' (known: ${ALL_SERVICES[*]})"
	done
	case $cmd in
	up) cmd_up "${services[@]}" ;;
	down) cmd_down "${services[@]}" ;;
	status) cmd_status "${services[@]}" ;;
	install) cmd_install "${services[@]}" ;;
	*) usage ;;
	esac
}

# Run only when executed; scripts/cluster.sh sources this file for its functions.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
