// Command benchtransfer measures `logcollect transfer` against the ceiling OpenSearch sets
// on the same machine: a plain bulk loader sending the same documents, pre-encoded, with
// the same batch size and concurrency to the same OpenSearch. Both runs read the CPU time
// of OpenSearch's process (and of the transfer's) from /proc, so the table shows
// documents/s and CPU per document side by side. With -latency it instead measures the end
// to end delay from a line appended to a file (real agent → Kafka → real transfer) to that
// line being counted by an OpenSearch search.
//
//	benchtransfer -bin bin/logcollect -os-pid $(cat .../opensearch.pid) -docs 1000000
//	benchtransfer -bin bin/logcollect -latency -rate 5000 -seconds 30
//
// scripts/bench-transfer.sh runs both for `make bench`.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/transfer/document"
	"github.com/logcollect/logcollect/internal/transfer/opensearchsink"
)

type opts struct {
	bin, brokers, osURL string
	osPid               int
	docs, batch, conc   int
	latency             bool
	rate, seconds       int
	keep                bool
	name                string
	work                string
}

func main() {
	var o opts
	flag.StringVar(&o.bin, "bin", "bin/logcollect", "the logcollect binary")
	flag.StringVar(&o.brokers, "brokers", "127.0.0.1:9092", "Kafka")
	flag.StringVar(&o.osURL, "opensearch", "http://127.0.0.1:9200", "OpenSearch")
	flag.IntVar(&o.osPid, "os-pid", 0, "OpenSearch's pid, for its CPU time (0: not reported)")
	flag.IntVar(&o.docs, "docs", 1_000_000, "documents (records in Kafka)")
	flag.IntVar(&o.batch, "batch", 5000, "documents per bulk request (both runs)")
	flag.IntVar(&o.conc, "concurrency", 2, "bulk requests in flight (both runs)")
	flag.BoolVar(&o.latency, "latency", false, "measure end-to-end latency instead")
	flag.IntVar(&o.rate, "rate", 5000, "-latency: lines/s written")
	flag.IntVar(&o.seconds, "seconds", 30, "-latency: seconds of writing")
	flag.BoolVar(&o.keep, "keep", false, "keep the indices and topics")
	flag.Parse()
	o.name = fmt.Sprintf("bench8-%d", time.Now().UnixNano())
	work, err := os.MkdirTemp("", "benchtransfer-")
	if err != nil {
		fail(err)
	}
	o.work = work
	defer os.RemoveAll(work)
	if o.latency {
		err = runLatency(o)
	} else {
		err = runThroughput(o)
	}
	if !o.keep {
		cleanup(o)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchtransfer:", err)
	os.Exit(1)
}

// line is the i-th access-log line (~120 bytes, like the issue's measurement).
func line(i int) []byte {
	return fmt.Appendf(nil, `10.%d.%d.%d - - [01/Dec/2026:09:%02d:%02d +0000] "GET /api/v1/items/%d?page=%d HTTP/1.1" %d %d "-" "Mozilla/5.0 (X11; Linux x86_64)"`,
		i%200, i%250, i%199, i/60%60, i%60, i, i%17, []int{200, 200, 200, 304, 404, 500}[i%6], 200+i%9000)
}

func agentRecord(topic string, i int, ts []byte) *kgo.Record {
	return &kgo.Record{Topic: topic, Value: line(i), Headers: []kgo.RecordHeader{
		{Key: "host", Value: []byte("bench-host")}, {Key: "path", Value: []byte("/var/log/nginx/access.log")},
		{Key: "offset", Value: strconv.AppendInt(nil, int64(i)*130, 10)}, {Key: "file_id", Value: []byte("2049:131")},
		{Key: "ts", Value: ts},
	}}
}

func kafkaClient(o opts, extra ...kgo.Opt) (*kgo.Client, *kadm.Client, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(strings.Split(o.brokers, ",")...)}, extra...)...)
	if err != nil {
		return nil, nil, err
	}
	return cl, kadm.NewClient(cl), nil
}

func osConfig(o opts) config.OpenSearch {
	c := config.Default().OpenSearch
	c.Addresses = []string{o.osURL}
	c.Index = o.name + "-{topic}-{date}"
	c.Template = o.name
	c.BulkMaxDocs = o.batch
	c.BulkConcurrency = o.conc
	return c
}

func runThroughput(o opts) error {
	ctx := context.Background()
	cl, adm, err := kafkaClient(o, kgo.ProducerBatchCompression(kgo.SnappyCompression()), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	topic := o.name
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, topic); err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	// The documents, built once by the transfer's own builder, for the loader; the same
	// records go to Kafka for the transfer.
	builder, _ := document.NewBuilder(nil)
	ts := []byte(time.Now().UTC().Format(time.RFC3339Nano))
	var bodies [][]byte
	var body []byte
	var recs []*kgo.Record
	for i := range o.docs {
		r := agentRecord(topic, i, ts)
		recs = append(recs, r)
		d := builder.Build(&kgo.Record{Topic: topic, Value: r.Value, Headers: r.Headers, Partition: int32(i % 3), Offset: int64(i / 3)})
		body = fmt.Appendf(body, `{"index":{"_id":%q}}`+"\n", d.ID)
		body = append(d.AppendJSON(body), '\n')
		if (i+1)%o.batch == 0 || i == o.docs-1 {
			bodies = append(bodies, body)
			body = nil
		}
		if len(recs) == 10000 || i == o.docs-1 {
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				return fmt.Errorf("produce: %w", err)
			}
			recs = recs[:0]
		}
	}
	// The template of both runs, installed the way the transfer does.
	ix, err := opensearchsink.New(osConfig(o), opensearchsink.Deps{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if err := ix.Setup(ctx); err != nil {
		return err
	}

	// Loader, transfer, loader again (into a fresh index): the machine's load drifts, and
	// the ceiling is the mean of the runs around the transfer's.
	day := time.Now().UTC().Format("2006.01.02")
	l1, err := runLoader(o, bodies, o.name+"-loader1-"+day)
	if err != nil {
		return err
	}
	tr, err := runTransfer(o, topic)
	if err != nil {
		return err
	}
	l2, err := runLoader(o, bodies, o.name+"-loader2-"+day)
	if err != nil {
		return err
	}
	loader := result{rate: (l1.rate + l2.rate) / 2, ownUS: (l1.ownUS + l2.ownUS) / 2, osUS: (l1.osUS + l2.osUS) / 2}
	fmt.Printf("## Transfer throughput: %d agent records in Kafka (3 partitions) → OpenSearch, batch %d, concurrency %d\n\n", o.docs, o.batch, o.conc)
	fmt.Println("| run | documents/s | own CPU µs/doc | OpenSearch CPU µs/doc | own CPU / OpenSearch CPU | vs loader documents/s |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	fmt.Printf("| plain bulk loader, run 1 | %.0f | %.1f | %.1f | | |\n", l1.rate, l1.ownUS, l1.osUS)
	fmt.Printf("| plain bulk loader, run 2 | %.0f | %.1f | %.1f | | |\n", l2.rate, l2.ownUS, l2.osUS)
	fmt.Printf("| plain bulk loader, mean (the ceiling) | %.0f | %.1f | %.1f | | |\n", loader.rate, loader.ownUS, loader.osUS)
	fmt.Printf("| logcollect transfer | %.0f | %.1f | %.1f | %.0f%% | %.0f%% |\n", tr.rate, tr.ownUS, tr.osUS,
		100*tr.ownUS/tr.osUS, 100*tr.rate/loader.rate)
	fmt.Println()
	fmt.Println("The loader sends the transfer's own documents, pre-encoded, to a fresh index per run, timed from its first request to its last answer.")
	fmt.Println("CPU from /proc/<pid>/stat (10 ms ticks). The transfer's rate is timed from its first to its last written document (group join excluded); its CPU includes start-up.")
	return nil
}

type result struct{ rate, ownUS, osUS float64 }

// cpu returns the user+system CPU time of a process.
func cpu(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func perDoc(d time.Duration, n int) float64 { return float64(d.Microseconds()) / float64(n) }

func runLoader(o opts, bodies [][]byte, index string) (result, error) {
	ch := make(chan []byte)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	client := &http.Client{Timeout: 5 * time.Minute}
	os0, own0, start := cpu(o.osPid), cpu(os.Getpid()), time.Now()
	for range o.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range ch {
				resp, err := client.Post(o.osURL+"/"+index+"/_bulk?filter_path=errors", "application/x-ndjson", bytes.NewReader(b))
				if err == nil {
					var r struct {
						Errors bool `json:"errors"`
					}
					err = json.NewDecoder(resp.Body).Decode(&r)
					resp.Body.Close()
					if err == nil && r.Errors {
						err = errors.New("bulk items failed")
					}
				}
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, b := range bodies {
		ch <- b
	}
	close(ch)
	wg.Wait()
	el := time.Since(start)
	return result{rate: float64(o.docs) / el.Seconds(), ownUS: perDoc(cpu(os.Getpid())-own0, o.docs),
		osUS: perDoc(cpu(o.osPid)-os0, o.docs)}, firstErr
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func writeTransferConfig(o opts, topic, listen string, extra string) (string, error) {
	cfg := fmt.Sprintf(`kafka: {brokers: [%s]}
etcd: {endpoints: []}
transfer: {group: %s, topics: [%s], max_buffered_bytes: 64MiB%s}
opensearch: {addresses: [%s], index: "%s-{topic}-{date}", template: %s, bulk_max_docs: %d, bulk_concurrency: %d}
http: {listen: "%s"}
`, o.brokers, o.name, topic, extra, o.osURL, o.name, o.name, o.batch, o.conc, listen)
	path := filepath.Join(o.work, "transfer-"+topic+".yaml")
	return path, os.WriteFile(path, []byte(cfg), 0o644)
}

func runTransfer(o opts, topic string) (result, error) {
	listen := "127.0.0.1:18" + strconv.Itoa(100+os.Getpid()%800)
	path, err := writeTransferConfig(o, topic, listen, "")
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(o.bin, "transfer", "--config", path)
	logf, _ := os.Create(filepath.Join(o.work, "transfer.log"))
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	var t0 time.Time
	var w0 float64
	var os0 time.Duration
	deadline := time.Now().Add(30 * time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // polling the transfer's /metrics
		w := scrape(listen, "logcollect_transfer_documents_written_total")
		if w > 0 && t0.IsZero() {
			t0, w0, os0 = time.Now(), w, cpu(o.osPid)
		}
		if w >= float64(o.docs) {
			el := time.Since(t0)
			osCPU := cpu(o.osPid) - os0
			own := cpu(cmd.Process.Pid)
			return result{rate: (w - w0) / el.Seconds(), ownUS: perDoc(own, o.docs), osUS: perDoc(osCPU, int(w-w0))}, nil
		}
	}
	b, _ := os.ReadFile(logf.Name())
	return result{}, fmt.Errorf("the transfer did not finish in 30 min:\n%s", b)
}

func scrape(listen, name string) float64 {
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + listen + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// runLatency writes a file at a steady rate while the real agent and transfer run, and
// times each chunk of lines from its write to the moment OpenSearch counts it. One file
// goes to one partition (the key partitioner), so the count reaching k means the first k
// lines are searchable, give or take the batches in flight together.
func runLatency(o opts) error {
	ctx := context.Background()
	cl, adm, err := kafkaClient(o)
	if err != nil {
		return err
	}
	defer cl.Close()
	topic := o.name
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, topic); err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	logPath := filepath.Join(o.work, "access.log")
	if err := os.WriteFile(logPath, nil, 0o644); err != nil {
		return err
	}
	agentCfg := filepath.Join(o.work, "agent.yaml")
	if err := os.WriteFile(agentCfg, []byte(fmt.Sprintf(`agent: {id: bench-agent, data_dir: %s, output: kafka, collect: [{path: %s, topic: %s, start: beginning}]}
kafka: {brokers: [%s]}
etcd: {endpoints: []}
http: {listen: "127.0.0.1:0"}
`, filepath.Join(o.work, "agent-data"), logPath, topic, o.brokers)), 0o644); err != nil {
		return err
	}
	trCfg, err := writeTransferConfig(o, topic, "127.0.0.1:0", "")
	if err != nil {
		return err
	}
	ix, err := opensearchsink.New(osConfig(o), opensearchsink.Deps{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if err := ix.Setup(ctx); err != nil {
		return err
	}
	var procs []*exec.Cmd
	for _, args := range [][]string{{"agent", "--config", agentCfg}, {"transfer", "--config", trCfg}} {
		cmd := exec.Command(o.bin, args...)
		if err := cmd.Start(); err != nil {
			return err
		}
		procs = append(procs, cmd)
	}
	defer func() {
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
			_ = p.Wait()
		}
	}()
	// Warm up: one line through, so start-up (group join) is not counted.
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(append(line(0), '\n')); err != nil {
		return err
	}
	for count(o) < 1 {
		time.Sleep(100 * time.Millisecond) // waiting for the pipeline to start
	}

	const tick = 20 * time.Millisecond
	perTick := o.rate * int(tick) / int(time.Second)
	type chunk struct {
		last    int64 // documents that exist once this chunk is indexed
		written time.Time
	}
	var (
		mu     sync.Mutex
		chunks []chunk
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n := int64(1)
		t := time.NewTicker(tick)
		defer t.Stop()
		end := time.Now().Add(time.Duration(o.seconds) * time.Second)
		var buf []byte
		for now := range t.C {
			if now.After(end) {
				return
			}
			buf = buf[:0]
			for range perTick {
				buf = append(append(buf, line(int(n))...), '\n')
				n++
			}
			if _, err := f.Write(buf); err != nil {
				return
			}
			mu.Lock()
			chunks = append(chunks, chunk{last: n, written: time.Now()})
			mu.Unlock()
		}
	}()
	var lat []time.Duration
	next := 0
	writing := true
	for writing || next < len(chunks) {
		select {
		case <-done:
			writing = false
		default:
		}
		c := count(o)
		now := time.Now()
		mu.Lock()
		for next < len(chunks) && chunks[next].last <= c {
			lat = append(lat, now.Sub(chunks[next].written))
			next++
		}
		stuck := !writing && next < len(chunks) && now.Sub(chunks[next].written) > 60*time.Second
		mu.Unlock()
		if stuck {
			return fmt.Errorf("lines not indexed 60 s after they were written (%d of %d chunks)", next, len(chunks))
		}
		time.Sleep(50 * time.Millisecond) // the search poll interval
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration {
		return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(time.Millisecond)
	}
	fmt.Printf("## End to end: %d lines/s appended to a file for %d s → agent → Kafka → transfer → OpenSearch (refresh 1 s)\n\n", o.rate, o.seconds)
	fmt.Println("| chunks | p50 | p90 | p99 | max |")
	fmt.Println("|---:|---:|---:|---:|---:|")
	fmt.Printf("| %d | %s | %s | %s | %s |\n\n", len(lat), q(0.5), q(0.9), q(0.99), lat[len(lat)-1].Round(time.Millisecond))
	fmt.Printf("Latency of each %s chunk of lines, from its write to the first _count (polled every 50 ms) that includes it.\n", tick)
	return nil
}

func count(o opts) int64 {
	resp, err := http.Get(o.osURL + "/" + o.name + "-*/_count?allow_no_indices=true")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var r struct {
		Count int64 `json:"count"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&r)
	return r.Count
}

func cleanup(o opts) {
	req, _ := http.NewRequest(http.MethodDelete, o.osURL+"/"+o.name+"-*", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	req, _ = http.NewRequest(http.MethodDelete, o.osURL+"/_index_template/"+o.name, nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	if cl, adm, err := kafkaClient(o); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _ = adm.DeleteTopics(ctx, o.name)
		_, _ = adm.DeleteGroup(ctx, o.name)
		cancel()
		cl.Close()
	}
}
