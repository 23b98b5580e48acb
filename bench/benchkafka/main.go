// Command benchkafka measures the agent's Kafka sink (internal/agent/kafkaout) against the
// practical ceiling on the same machine, broker and topic configuration: kcat -P -l
// (librdkafka) producing the same file. Each producer runs in its own process so that CPU
// time and peak RSS come from getrusage of that process alone.
//
//	benchkafka -brokers 127.0.0.1:9092 -lines 2000000 -codecs none,lz4,zstd
//
// It prints a Markdown table; scripts/bench-kafka.sh runs it for `make bench`.
// BENCHKAFKA_LEVEL=<n> runs the sink's gzip/lz4/zstd at franz-go compression level n (an
// experiment: there is no config key for the level).
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/agent/kafkaout"
	"github.com/logcollect/logcollect/internal/agent/pipeline"
	"github.com/logcollect/logcollect/internal/config"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchkafka:", err)
		os.Exit(1)
	}
}

type params struct {
	brokers    string
	file       string
	lines      int
	codecs     string
	partitions int
	linger     time.Duration
	batchBytes int
	kcat       string
	skipKcat   bool
	kcatSame   bool
	repeat     int
	// child mode: produce file to topic with the sink and exit.
	child       bool
	topic       string
	codec       string
	partitioner string
	expect      int
	cpuProfile  string
	agent       string // the logcollect binary for the agent table; "" skips it
	agentKafka  string // extra keys of the agent's kafka section, "key=value,…"
	brokerPid   int    // the Kafka broker's pid, for its CPU time in the agent table (0: not shown)
}

func run(args []string) error {
	var p params
	fs := flag.NewFlagSet("benchkafka", flag.ContinueOnError)
	fs.StringVar(&p.brokers, "brokers", "127.0.0.1:9092", "Kafka brokers, comma-separated")
	fs.StringVar(&p.file, "file", "", "log file to produce (generated when missing)")
	fs.IntVar(&p.lines, "lines", 2_000_000, "lines to generate when -file is missing")
	fs.StringVar(&p.codecs, "codecs", "none,gzip,snappy,lz4,zstd", "compression codecs to measure")
	fs.IntVar(&p.partitions, "partitions", 3, "partitions of each benchmark topic")
	fs.DurationVar(&p.linger, "linger", 5*time.Millisecond, "producer linger, both producers")
	fs.IntVar(&p.batchBytes, "batch-bytes", config.Default().Kafka.BatchMaxBytes, "max batch bytes, both producers (default: the agent's kafka.batch_max_bytes)")
	fs.StringVar(&p.kcat, "kcat", "kcat", "kcat binary")
	fs.BoolVar(&p.skipKcat, "skip-kcat", false, "measure only the sink")
	fs.IntVar(&p.repeat, "repeat", 1, "runs per producer and codec; the median (by lines/s) is reported")
	fs.BoolVar(&p.kcatSame, "kcat-same-bytes", true, "also run kcat with the sink's key and same-size headers")
	fs.StringVar(&p.partitioner, "partitioner", "key", "sink partitioner: key | round_robin")
	fs.BoolVar(&p.child, "child", false, "internal: run the sink producer")
	fs.StringVar(&p.topic, "topic", "", "internal: topic of the child run")
	fs.StringVar(&p.codec, "codec", "", "internal: codec of the child run")
	fs.IntVar(&p.expect, "expect", 0, "internal: lines in -file, for the child run")
	fs.StringVar(&p.cpuProfile, "cpuprofile", "", "write the sink's CPU profile here")
	fs.StringVar(&p.agent, "agent", "", "logcollect binary: also measure `logcollect agent` beside `kcat -P -l` (empty: skip); several, comma-separated, alternate in each round")
	fs.StringVar(&p.agentKafka, "agent-kafka", "", "agent variants for the agent table, one row each: \"key=value,key=value;key=value\" adds to the kafka section (empty: the defaults)")
	fs.IntVar(&p.brokerPid, "broker-pid", 0, "the Kafka broker's pid: its CPU time per line in the agent table (0: not shown)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if p.child {
		return runSink(p)
	}
	return runBench(p)
}

// genFile writes n lines of about 120 bytes that look like access logs: varied enough
// that compression ratios are realistic.
func genFile(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	paths := []string{"/api/v1/orders", "/api/v1/cart", "/static/app.js", "/login", "/api/v1/items?page=", "/healthz"}
	methods := []string{"GET", "GET", "GET", "POST", "PUT"}
	codes := []int{200, 200, 200, 200, 201, 304, 404, 500}
	t := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for i := range n {
		t = t.Add(time.Duration(r.IntN(2000)) * time.Microsecond)
		line := fmt.Sprintf("10.%d.%d.%d - - [%s] \"%s %s%d HTTP/1.1\" %d %d %dms req=%08x",
			r.IntN(256), r.IntN(256), r.IntN(256), t.Format("02/Jan/2006:15:04:05.000"),
			methods[r.IntN(len(methods))], paths[r.IntN(len(paths))], r.IntN(1000),
			codes[r.IntN(len(codes))], r.IntN(50000), r.IntN(900), i)
		for len(line) < 118 {
			line += " -"
		}
		if _, err := w.WriteString(line + "\n"); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

type result struct {
	name      string
	lines     int
	bytes     int64
	wall      time.Duration
	cpu       time.Duration
	maxRSSKiB int64
	diskBytes int64 // the topic's size in the broker's log: what compression saved
}

func (r result) linesPerSec() float64 { return float64(r.lines) / r.wall.Seconds() }
func (r result) mbPerSec() float64    { return float64(r.bytes) / 1e6 / r.wall.Seconds() }
func (r result) cpuPerLine() float64  { return float64(r.cpu.Microseconds()) / float64(r.lines) }

func runBench(p params) error {
	if p.file == "" {
		dir, err := os.MkdirTemp("", "benchkafka-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		p.file = filepath.Join(dir, "bench.log")
	}
	if _, err := os.Stat(p.file); errors.Is(err, os.ErrNotExist) {
		if err := genFile(p.file, p.lines); err != nil {
			return err
		}
	}
	lines, size, err := countLines(p.file)
	if err != nil {
		return err
	}
	brokers := strings.Split(p.brokers, ",")
	adm, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return err
	}
	defer adm.Close()
	admin := kadm.NewClient(adm)

	if p.codecs != "" {
		if err := runCodecBench(p, admin, lines, size); err != nil {
			return err
		}
	}
	if p.agent != "" {
		if p.codecs != "" {
			fmt.Println()
		}
		return runAgentBench(p, admin, lines, size)
	}
	return nil
}

// runCodecBench is the sink table: for each codec, kcat, kcat with the sink's bytes, and
// the sink driven by this program's child.
func runCodecBench(p params, admin *kadm.Client, lines int, size int64) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("## Kafka output: %d lines, %.1f MB (%s), %d partitions, acks=all, linger %s, batch %d B\n\n",
		lines, float64(size)/1e6, filepath.Base(p.file), p.partitions, p.linger, p.batchBytes)
	fmt.Println("| producer | codec | lines/s | MB/s | CPU µs/line | peak RSS MiB | bytes in Kafka | vs kcat lines/s | vs kcat CPU/line |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|")
	host, _ := os.Hostname()
	var keyed string
	if !p.skipKcat && p.kcatSame {
		// The same lines with the sink's key, for kcat -K: together with static headers of
		// the sink's sizes, kcat then ships the same bytes per record as the sink does.
		keyed = p.file + ".keyed"
		if err := keyedCopy(p.file, keyed, host+":"+p.file); err != nil {
			return err
		}
		defer os.Remove(keyed)
	}
	kcatArgs := func(topic, codec string) []string {
		return []string{"-P", "-b", p.brokers, "-t", topic, "-l",
			"-X", "acks=all", "-X", "enable.idempotence=true",
			"-X", "linger.ms=" + strconv.FormatInt(p.linger.Milliseconds(), 10),
			"-X", "batch.size=" + strconv.Itoa(p.batchBytes),
			"-X", "compression.codec=" + codec}
	}
	for _, codec := range strings.Split(p.codecs, ",") {
		var kc *result
		if !p.skipKcat {
			r, err := repeat(p.repeat, admin, "bench-kcat-"+codec, p.partitions, lines, func(topic string) (result, error) {
				return measure("kcat", exec.Command(p.kcat, append(kcatArgs(topic, codec), p.file)...), lines, size)
			})
			if err != nil {
				return fmt.Errorf("kcat %s: %w", codec, err)
			}
			kc = &r
			printRow(r, codec, nil)
		}
		if keyed != "" {
			r, err := repeat(p.repeat, admin, "bench-kcatkh-"+codec, p.partitions, lines, func(topic string) (result, error) {
				// The sink's compact records (kafka.headers): an lc header of an offset
				// below 2^28 and the file id 1:1, without a time (8 bytes, as text).
				args := append(kcatArgs(topic, codec), "-K", "\t", "-H", "lc=01234567", keyed)
				return measure("kcat, key + lc header", exec.Command(p.kcat, args...), lines, size)
			})
			if err != nil {
				return fmt.Errorf("kcat keyed %s: %w", codec, err)
			}
			printRow(r, codec, kc)
		}
		r, err := repeat(p.repeat, admin, "bench-sink-"+codec, p.partitions, lines, func(topic string) (result, error) {
			cmd := exec.Command(self, "-child", "-brokers", p.brokers, "-file", p.file, "-topic", topic,
				"-codec", codec, "-linger", p.linger.String(), "-batch-bytes", strconv.Itoa(p.batchBytes),
				"-partitioner", p.partitioner, "-expect", strconv.Itoa(lines), "-cpuprofile", p.cpuProfile)
			return measure("logcollect kafkaout", cmd, lines, size)
		})
		if err != nil {
			return fmt.Errorf("sink %s: %w", codec, err)
		}
		printRow(r, codec, kc)
	}
	return nil
}

// repeat runs one producer n times, each into a fresh topic that it checks and deletes,
// and returns the run with the median lines/s (the machine is shared and noisy).
func repeat(n int, admin *kadm.Client, prefix string, partitions, lines int, once func(topic string) (result, error)) (result, error) {
	var runs []result
	for range max(n, 1) {
		topic, err := newTopic(admin, prefix, partitions)
		if err != nil {
			return result{}, err
		}
		r, err := once(topic)
		if err == nil {
			err = expectRecords(admin, topic, lines)
		}
		r.diskBytes = topicBytes(admin, topic)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, derr := admin.DeleteTopics(ctx, topic)
		cancel()
		if err != nil {
			return result{}, err
		}
		if derr != nil {
			return result{}, fmt.Errorf("delete topic %s: %w", topic, derr)
		}
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(a, b result) int { return cmp.Compare(a.linesPerSec(), b.linesPerSec()) })
	return runs[len(runs)/2], nil
}

func printRow(r result, codec string, base *result) {
	vsLines, vsCPU := "", ""
	if base != nil {
		vsLines = fmt.Sprintf("%.0f%%", 100*r.linesPerSec()/base.linesPerSec())
		vsCPU = fmt.Sprintf("%.0f%%", 100*r.cpuPerLine()/base.cpuPerLine())
	}
	fmt.Printf("| %s | %s | %.0f | %.1f | %.2f | %.0f | %.1f MB | %s | %s |\n", r.name, codec, r.linesPerSec(),
		r.mbPerSec(), r.cpuPerLine(), float64(r.maxRSSKiB)/1024, float64(r.diskBytes)/1e6, vsLines, vsCPU)
}

func measure(name string, cmd *exec.Cmd, lines int, size int64) (result, error) {
	var stderr bytes.Buffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("%s: %w: %s", name, err, stderr.String())
	}
	wall := time.Since(start)
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return result{}, errors.New("no rusage on this platform")
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return result{name: name, lines: lines, bytes: size, wall: wall, cpu: cpu, maxRSSKiB: ru.Maxrss}, nil
}

func newTopic(admin *kadm.Client, prefix string, partitions int) (string, error) {
	name := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.CreateTopic(ctx, int32(partitions), 1, nil, name); err != nil {
		return "", fmt.Errorf("create topic %s: %w", name, err)
	}
	return name, nil
}

// expectRecords checks that the topic holds exactly n records: a run that lost or
// duplicated records does not count.
func expectRecords(admin *kadm.Client, topic string, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := admin.ListEndOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total != int64(n) {
		return fmt.Errorf("topic %s holds %d records, want %d", topic, total, n)
	}
	return nil
}

func countLines(path string) (int, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	var lines int
	var size int64
	for {
		n, err := f.Read(buf)
		lines += bytes.Count(buf[:n], []byte{'\n'})
		size += int64(n)
		if err == io.EOF {
			return lines, size, nil
		}
		if err != nil {
			return 0, 0, fmt.Errorf("read %s: %w", path, err)
		}
	}
}

// countAcker counts acknowledgements and closes done at the expected number.
type countAcker struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (a *countAcker) Ack(_, _ int64) {
	if a.n.Add(1) == a.want {
		close(a.done)
	}
}

// runSink is the child: it reads the file the way the tailing engine does (large reads,
// lines sliced out of the read buffer, batches of events) and publishes it.
func runSink(p params) error {
	lines := p.expect
	if p.cpuProfile != "" {
		f, err := os.Create(p.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cfg := config.Default().Kafka
	cfg.Brokers = strings.Split(p.brokers, ",")
	cfg.Compression = p.codec
	cfg.Linger = config.Duration(p.linger)
	cfg.BatchMaxBytes = p.batchBytes
	cfg.Partitioner = p.partitioner
	dir, err := os.MkdirTemp("", "benchkafka-child-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	deps := kafkaout.Deps{DataDir: dir, Logger: log}
	if lvl := os.Getenv("BENCHKAFKA_LEVEL"); lvl != "" {
		// Experiment: the codec at another level (franz-go's WithLevel), not a config key.
		n, err := strconv.Atoi(lvl)
		if err != nil {
			return fmt.Errorf("BENCHKAFKA_LEVEL: %w", err)
		}
		codecs := map[string]kgo.CompressionCodec{"gzip": kgo.GzipCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}
		if c, ok := codecs[p.codec]; ok {
			deps.ClientOpts = append(deps.ClientOpts, kgo.ProducerBatchCompression(c.WithLevel(n)))
		}
	}
	sink, err := kafkaout.New(cfg, deps)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = sink.Run(ctx) }()

	ack := &countAcker{want: int64(lines), done: make(chan struct{})}
	f, err := os.Open(p.file)
	if err != nil {
		return err
	}
	defer f.Close()
	host, _ := os.Hostname()
	const readSize = 1 << 20
	const batchLines = 1024
	var carry []byte
	var off int64
	batch := make([]pipeline.Event, 0, batchLines)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := sink.Publish(ctx, batch)
		batch = make([]pipeline.Event, 0, batchLines) // Publish owns the old one
		return err
	}
	for {
		buf := make([]byte, len(carry), len(carry)+readSize)
		copy(buf, carry)
		n, rerr := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		now := time.Now()
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			batch = append(batch, pipeline.Event{Topic: p.topic, Host: host, Path: p.file, FileID: "1:1",
				Offset: off, End: off + int64(i) + 1, Time: now, Line: buf[:i:i], Ack: ack})
			off += int64(i) + 1
			buf = buf[i+1:]
			if len(batch) == batchLines {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		carry = buf
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if err := flush(); err != nil {
		return err
	}
	<-ack.done
	cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ccancel()
	return sink.Close(cctx)
}

// topicBytes is the size of the topic's partitions in the broker's log directories, or -1.
func topicBytes(admin *kadm.Client, topic string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dirs, err := admin.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		return -1
	}
	var total int64
	dirs.Each(func(d kadm.DescribedLogDir) {
		for _, part := range d.Topics[topic] {
			total += part.Size
		}
	})
	return total
}

// keyedCopy writes src to dst with "key\t" before every line.
func keyedCopy(src, dst, key string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		w.WriteString(key)
		w.WriteByte('\t')
		w.Write(sc.Bytes())
		w.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return out.Close()
}
