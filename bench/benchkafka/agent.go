package main

import (
	"bufio"
	"bytes"
	"cmp"
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

// agentRun is one producer of the agent table: kcat or the real agent binary.
type agentRun struct {
	result
	records int64 // records in the topic at the end
}

// runAgentBench is the table a user would draw: the real `logcollect agent` binary, with
// its defaults except the broker address, tailing the bench file from the beginning into
// Kafka, beside `kcat -P -l` of the same file, alternating runs in the same process so
// both see the same machine. The agent's time is until every record is in the topic.
func runAgentBench(p params, admin *kadm.Client, lines int, size int64) error {
	codec := "snappy" // the agent's default
	kcatArgs := func(topic string) []string {
		return []string{"-P", "-b", p.brokers, "-t", topic, "-l",
			"-X", "acks=all", "-X", "enable.idempotence=true",
			"-X", "linger.ms=" + strconv.FormatInt(p.linger.Milliseconds(), 10),
			"-X", "batch.size=" + strconv.Itoa(p.batchBytes),
			"-X", "compression.codec=" + codec, p.file}
	}
	var kcats, agents []agentRun
	for range max(p.repeat, 1) {
		topic, err := newTopic(admin, "bench-kcat-l", p.partitions)
		if err != nil {
			return err
		}
		r, err := measure("`kcat -P -l`", exec.Command(p.kcat, kcatArgs(topic)...), lines, size)
		if err != nil {
			return err
		}
		kcats = append(kcats, agentRun{result: r, records: recordsIn(admin, topic)})
		deleteTopic(admin, topic)

		topic, err = newTopic(admin, "bench-agent", p.partitions)
		if err != nil {
			return err
		}
		a, err := measureAgent(p, admin, topic, lines, size)
		if err != nil {
			return err
		}
		agents = append(agents, a)
		deleteTopic(admin, topic)
	}
	kc, ag := median(kcats), median(agents)
	fmt.Printf("## Agent → Kafka through the real binary: %d lines, %.1f MB, %d partitions, %s, acks=all (median of %d)\n\n",
		lines, float64(size)/1e6, p.partitions, codec, max(p.repeat, 1))
	fmt.Println("| producer | lines/s | CPU µs/line | peak RSS MiB | records in the topic | vs kcat lines/s | vs kcat CPU/line | vs kcat RSS |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	row := func(r agentRun, base *agentRun) {
		vs := " | | "
		if base != nil {
			vs = fmt.Sprintf(" %.0f%% | %.0f%% | %.0f%%", 100*r.linesPerSec()/base.linesPerSec(),
				100*r.cpuPerLine()/base.cpuPerLine(), 100*float64(r.maxRSSKiB)/float64(base.maxRSSKiB))
		}
		fmt.Printf("| %s | %.0f | %.2f | %.0f | %d |%s |\n", r.name, r.linesPerSec(), r.cpuPerLine(),
			float64(r.maxRSSKiB)/1024, r.records, vs)
	}
	row(kc, nil)
	row(ag, &kc)
	fmt.Println()
	fmt.Println("Each run: a fresh topic; kcat and the agent alternate. The agent runs with its defaults except")
	fmt.Println("kafka.brokers (output kafka, snappy, linger 5ms); its time is until every record is in the topic")
	fmt.Println("(end offsets polled every 20 ms), its CPU and peak RSS are /proc of the agent process at that moment.")
	return nil
}

func median(runs []agentRun) agentRun {
	slices.SortFunc(runs, func(a, b agentRun) int { return cmp.Compare(a.linesPerSec(), b.linesPerSec()) })
	return runs[len(runs)/2]
}

// measureAgent starts `logcollect agent` on the bench file and stops it once the topic
// holds every line.
func measureAgent(p params, admin *kadm.Client, topic string, lines int, size int64) (agentRun, error) {
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
etcd: {endpoints: []}
http: {listen: "127.0.0.1:0"}
log: {level: warn}
`, filepath.Join(dir, "data"), p.file, topic, p.brokers)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		return agentRun{}, err
	}
	var stderr bytes.Buffer
	cmd := exec.Command(p.agent, "agent", "-config", cfg)
	cmd.Stderr = &stderr
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
	return agentRun{result: result{name: "`logcollect agent` (defaults, output kafka)", lines: lines, bytes: size,
		wall: wall, cpu: cpu, maxRSSKiB: hwm}, records: n}, nil
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
