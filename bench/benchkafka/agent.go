package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// agentRun is one run of one producer of the agent table: kcat or the real agent binary.
type agentRun struct {
	result
	records   int64         // records in the topic at the end
	brokerCPU time.Duration // the broker's CPU time during the run (0: not measured)
}

func (r agentRun) brokerCPUPerLine() float64 {
	return float64(r.brokerCPU.Microseconds()) / float64(r.lines)
}

// agentProducer is one row of the agent table.
type agentProducer struct {
	name string
	run  func(topic string) (agentRun, error)
	runs []agentRun
}

// runAgentBench is the table a user would draw: the real `logcollect agent` binary, with
// its defaults except the broker address, tailing the bench file from the beginning into
// Kafka, beside `kcat -P -l` of the same file as a user runs it (kcat's defaults, only
// snappy and acks=all chosen like the agent's defaults) — the baseline — and beside kcat
// with the agent's producer guarantees (idempotence, linger 5 ms, 1 MiB batches). The
// three alternate round by round in the same process, so each round's ratios compare
// producers that saw the same machine. The agent's time is until every record is in
// the topic; kcat's until it exits, which it does once every record is acknowledged.
func runAgentBench(p params, admin *kadm.Client, lines int, size int64) error {
	const codec = "snappy" // the agent's default
	kcat := func(name, file string, extra ...string) *agentProducer {
		return &agentProducer{name: name, run: func(topic string) (agentRun, error) {
			args := append([]string{"-P", "-b", p.brokers, "-t", topic, "-l", "-z", codec, "-X", "acks=all"}, extra...)
			b0 := procCPUOrZero(p.brokerPid)
			r, err := measure(name, exec.Command(p.kcat, append(args, file)...), lines, size)
			if err != nil {
				return agentRun{}, err
			}
			return agentRun{result: r, records: recordsIn(admin, topic), brokerCPU: procCPUOrZero(p.brokerPid) - b0}, nil
		}}
	}
	base := kcat("`kcat -P -l` (its defaults)", p.file)
	guaranteed := kcat("`kcat -P -l`, idempotent, linger 5 ms, batch 1 MiB", p.file,
		"-X", "enable.idempotence=true", "-X", "linger.ms=5", "-X", "batch.size=1048576")
	producers := []*agentProducer{base, guaranteed}
	if p.kcatSame {
		// kcat with its defaults shipping the agent's record: its key and an lc header of
		// the agent's size (kafka.HeaderMeta: an offset below 2^28, a device and inode of
		// 3 and 4 bytes, and the time the bench file's lines carry, with milliseconds: 22
		// bytes). kcat takes header values as text: these are printable, as many bytes.
		// Beside the baseline it shows what the record's bytes cost kcat and the broker,
		// apart from how the agent produces them.
		keyed := p.file + ".agentkey"
		if err := keyedCopy(p.file, keyed, "bench:"+p.file); err != nil {
			return err
		}
		defer os.Remove(keyed)
		producers = append(producers, kcat("`kcat -P -l` (its defaults), the agent's key and headers", keyed, "-K", "\t",
			"-H", "lc=0123456789abcdefghijkl"))
	}
	// -agent-kafka "k=v,k=v;k=v": one agent row per variant; the default is one row with
	// the agent's defaults.
	// -agent "bin,bin": each binary gets its rows, named by the binary when there are
	// several (a build before a change beside the one after, alternating in each round).
	bins := strings.Split(p.agent, ",")
	for _, bin := range bins {
		for _, extra := range strings.Split(p.agentKafka, ";") {
			name := "`logcollect agent` (defaults, output kafka)"
			if extra = strings.TrimSpace(extra); extra != "" {
				name = "`logcollect agent`, kafka: " + extra
			}
			if len(bins) > 1 {
				name += ", " + filepath.Base(bin)
			}
			producers = append(producers, &agentProducer{name: name, run: func(topic string) (agentRun, error) {
				return measureAgent(p, bin, admin, topic, lines, size, extra)
			}})
		}
	}
	rounds := max(p.repeat, 1)
	for range rounds {
		for _, pr := range producers {
			topic, err := newTopic(admin, "bench-agent", p.partitions)
			if err != nil {
				return err
			}
			r, err := pr.run(topic)
			deleteTopic(admin, topic)
			if err != nil {
				return err
			}
			pr.runs = append(pr.runs, r)
		}
	}
	printAgentTable(p, producers, lines, size, codec)
	return nil
}

// printAgentTable prints the medians with their spread, then each round's ratios to the
// baseline (the first producer) in that same round.
func printAgentTable(p params, producers []*agentProducer, lines int, size int64, codec string) {
	rounds := len(producers[0].runs)
	fmt.Printf("## Agent → Kafka through the real binary: %d lines, %.1f MB, %d partitions, %s, acks=all, %d rounds\n\n",
		lines, float64(size)/1e6, p.partitions, codec, rounds)
	fmt.Println("Each column: the median of the rounds and [min–max] across them.")
	fmt.Println()
	fmt.Println("| producer | lines/s | CPU µs/line | peak RSS MiB | broker CPU µs/line | records in the topic |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, pr := range producers {
		med := func(f func(agentRun) float64) string {
			v := make([]float64, 0, rounds)
			for _, r := range pr.runs {
				v = append(v, f(r))
			}
			slices.Sort(v)
			return fmt.Sprintf("%s [%s–%s]", num(v[len(v)/2]), num(v[0]), num(v[len(v)-1]))
		}
		recs := pr.runs[0].records
		for _, r := range pr.runs {
			recs = min(recs, r.records)
		}
		brk := "–"
		if p.brokerPid > 0 {
			brk = med(agentRun.brokerCPUPerLine)
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %d |\n", pr.name, med(agentRun.linesPerSec), med(agentRun.cpuPerLine),
			med(func(r agentRun) float64 { return float64(r.maxRSSKiB) / 1024 }), brk, recs)
	}
	fmt.Println()
	fmt.Println("Each round against the baseline (`kcat -P -l` with its defaults) of the same round: lines/s, CPU/line, peak RSS.")
	fmt.Println()
	head := "| round |"
	for _, pr := range producers[1:] {
		head += " " + pr.name + " |"
	}
	fmt.Println(head)
	fmt.Println("|---:|" + strings.Repeat("---|", len(producers)-1))
	for i := range rounds {
		b := producers[0].runs[i]
		row := fmt.Sprintf("| %d |", i+1)
		for _, pr := range producers[1:] {
			r := pr.runs[i]
			row += fmt.Sprintf(" %.0f%% / %.0f%% / %.0f%% |", 100*r.linesPerSec()/b.linesPerSec(),
				100*r.cpuPerLine()/b.cpuPerLine(), 100*float64(r.maxRSSKiB)/float64(b.maxRSSKiB))
		}
		fmt.Println(row)
	}
	fmt.Println()
	fmt.Println("Each run: a fresh topic. The agent runs with its defaults except kafka.brokers (output kafka,")
	fmt.Println("snappy, acks=all, idempotent, linger 5ms, key per file); its time is until every record is in the")
	fmt.Println("topic (end offsets polled every 20 ms), its CPU and peak RSS are /proc of the agent process at that")
	fmt.Println("moment. kcat's are getrusage of the kcat process, which exits once every record is acknowledged.")
	if p.brokerPid > 0 {
		fmt.Println("Broker CPU is the Kafka process's CPU time during the run, per line: it runs on the same cores.")
	}
}

// kafkaExtra turns -agent-kafka "key=value,key=value" into lines of the agent's kafka
// section: a sweep over the producer's settings without editing the config template.
func kafkaExtra(kv string) string {
	var b strings.Builder
	for _, f := range strings.Split(kv, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(f), "="); ok {
			fmt.Fprintf(&b, "  %s: %s\n", k, v)
		}
	}
	return b.String()
}

// num formats a table number: integers for large values, two decimals for small ones.
func num(v float64) string {
	if v >= 10 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// procCPUOrZero is a process's CPU time, or 0 when pid is 0 or unreadable.
func procCPUOrZero(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	d, err := procCPU(pid)
	if err != nil {
		return 0
	}
	return d
}

// measureAgent starts `logcollect agent` on the bench file and stops it once the topic
// holds every line.
func measureAgent(p params, bin string, admin *kadm.Client, topic string, lines int, size int64, extra string) (agentRun, error) {
	dir, err := os.MkdirTemp("", "benchkafka-agent-")
	if err != nil {
		return agentRun{}, err
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "agent.yaml")
	yaml := fmt.Sprintf(`agent:
  id: bench
  data_dir: %s
  output: kafka
  collect:
    - {path: '%s', topic: %s, start: beginning}
kafka:
  brokers: [%s]
%s
etcd: {endpoints: []}
http: {listen: "127.0.0.1:0"}
log: {level: warn}
`, filepath.Join(dir, "data"), p.file, topic, p.brokers, kafkaExtra(extra))
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		return agentRun{}, err
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "agent", "-config", cfg)
	cmd.Stderr = &stderr
	b0 := procCPUOrZero(p.brokerPid)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return agentRun{}, fmt.Errorf("start agent: %w", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	deadline := start.Add(5 * time.Minute)
	var n int64
	for n = recordsIn(admin, topic); n < int64(lines); n = recordsIn(admin, topic) {
		if time.Now().After(deadline) {
			return agentRun{}, fmt.Errorf("agent: %d of %d records after 5 min: %s", n, lines, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	wall := time.Since(start)
	brokerCPU := procCPUOrZero(p.brokerPid) - b0
	cpu, err := procCPU(cmd.Process.Pid)
	if err != nil {
		return agentRun{}, err
	}
	hwm, err := procStatusKiB(cmd.Process.Pid, "VmHWM")
	if err != nil {
		return agentRun{}, err
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		return agentRun{}, fmt.Errorf("agent exit: %w: %s", err, stderr.String())
	}
	// Settled: a duplicate sent after the count was reached would show here.
	n = recordsIn(admin, topic)
	return agentRun{result: result{name: "`logcollect agent`", lines: lines, bytes: size,
		wall: wall, cpu: cpu, maxRSSKiB: hwm}, records: n, brokerCPU: brokerCPU}, nil
}

func recordsIn(admin *kadm.Client, topic string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := admin.ListEndOffsets(ctx, topic)
	if err != nil {
		return -1
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	return total
}

func deleteTopic(admin *kadm.Client, topic string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = admin.DeleteTopics(ctx, topic)
}

// procCPU is the user+system time of a running process (clock ticks of 10 ms).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: fields count from the last ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

func procStatusKiB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == field {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
