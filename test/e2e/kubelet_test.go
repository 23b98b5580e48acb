//go:build integration

package e2e

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.yaml.in/yaml/v3"

	"github.com/logcollect/logcollect/internal/kafka"
	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// TestKubeletLogs runs the agent entry of deploy/kubernetes/configmap.yaml (its
// /var/log/pods moved to a temporary directory) over a tree written as the kubelet and a
// CRI runtime write it: pods and containers, CRI lines with partial (P) lines, rotations
// (rename of 0.log to 0.log.<timestamp> while the runtime still writes to it, reopen, and
// at the next rotation gzip through a .tmp file and removal), a new pod, a container
// restart (1.log), a pod deleted, and a rotation while the agent is down. The agent ships
// to the real Kafka, where each record is checked: every application line exactly once,
// partial lines joined, the envelope removed, the pod fields, stream and event time right,
// nothing from a .gz or .tmp. Kafka rather than output: file because the fields travel in
// the record's headers (f.k8s.namespace …), which the file output does not write.
func TestKubeletLogs(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	topic := createTopic(t, brokers, "e2e-kubelet", 2)
	dir := t.TempDir()
	k := newKubelet(t, filepath.Join(dir, "pods"))
	cfg := kubeletAgentConfig(t, dir, configMapEntry(t, k.root, topic), brokers)
	rec := consume(t, brokers, topic)

	shopApp := k.container("shop", "checkout-7d9f8", "app")
	shopSidecar := k.container("shop", "checkout-7d9f8", "istio-proxy")
	dns := k.container("kube-system", "coredns-5d78c", "coredns")
	job := k.container("batch", "report-28471", "worker")
	for _, c := range []*runtimeLog{shopApp, shopSidecar, dns, job} {
		k.write(c, 40)
	}
	agent := startAgent(t, cfg)
	k.awaitShipped(rec, "the lines written before the agent started")

	// Live: a rotation with lines written to the renamed file before the runtime reopens,
	// a new pod, a container restart.
	for _, c := range []*runtimeLog{shopApp, shopSidecar, dns, job} {
		k.write(c, 30)
	}
	k.rotate(shopApp, 15)
	k.write(shopApp, 30)
	web := k.container("web", "frontend-6c9b", "nginx")
	k.write(web, 30)
	k.restart(dns)
	k.write(dns, 30)
	k.awaitShipped(rec, "the lines of the first rotation, the new pod and the restarted container")

	// The next rotation gzips the previous one; the job's pod is deleted.
	k.rotate(shopApp, 10)
	k.write(shopApp, 30)
	k.deletePod(job)
	k.awaitShipped(rec, "the lines of the second rotation")
	await.Until(t, 30*time.Second, "the agent to close the deleted pod's file", func() bool {
		return fdsUnder(agent.Pid(), k.podDir(job)) == 0
	})

	// Down: lines written before a rotation the agent does not see happen are in the
	// renamed file, which the entry still matches.
	agent.Stop()
	k.write(shopApp, 25)
	k.rotate(shopApp, 5)
	k.write(shopApp, 25)
	k.write(shopSidecar, 20)
	agent = startAgent(t, cfg)
	k.awaitShipped(rec, "the lines written while the agent was down")
	agent.Stop()

	if n := len(k.gzipped); n != 2 {
		t.Fatalf("the fixture gzipped %d rotated files, want 2", n)
	}
	all := rec.untilEnd(t, brokers, topic)
	k.check(t, all)
}

// runtimeLog is one container's log as a CRI runtime writes it: the descriptor it appends
// to, reopened when the kubelet rotates.
type runtimeLog struct {
	ns, pod, uid, name string
	restarts           int
	f                  *os.File
}

func (c *runtimeLog) key() string { return c.ns + "/" + c.pod + "/" + c.name }

// wantLine is what the agent must ship for one application line.
type wantLine struct {
	text   string
	c      *runtimeLog
	stream string
	time   time.Time
}

// kubelet writes the fixture tree and remembers every application line written.
type kubelet struct {
	t       *testing.T
	root    string
	next    int // the next line's number
	want    map[int]wantLine
	uids    map[string]string // by namespace/pod
	clock   time.Time         // the kubelet's clock for rotated names; a second per rotation
	gzipped []string
}

func newKubelet(t *testing.T, root string) *kubelet {
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return &kubelet{t: t, root: root, want: map[int]wantLine{}, uids: map[string]string{}, clock: time.Date(2026, 3, 9, 8, 15, 30, 0, time.UTC)}
}

func (k *kubelet) podDir(c *runtimeLog) string {
	return filepath.Join(k.root, c.ns+"_"+c.pod+"_"+c.uid)
}

func (k *kubelet) logPath(c *runtimeLog) string {
	return filepath.Join(k.podDir(c), c.name, fmt.Sprintf("%d.log", c.restarts))
}

// container creates a container's log directory and its 0.log, as the kubelet and the
// runtime do when it starts.
func (k *kubelet) container(ns, pod, name string) *runtimeLog {
	uid, ok := k.uids[ns+"/"+pod]
	if !ok {
		uid = fmt.Sprintf("0b1c2d3e-4f50-6172-8394-%012x", len(k.uids)+1)
		k.uids[ns+"/"+pod] = uid
	}
	c := &runtimeLog{ns: ns, pod: pod, name: name, uid: uid}
	if err := os.MkdirAll(filepath.Dir(k.logPath(c)), 0o755); err != nil {
		k.t.Fatal(err)
	}
	k.reopen(c)
	return c
}

func (k *kubelet) reopen(c *runtimeLog) {
	f, err := os.OpenFile(k.logPath(c), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		k.t.Fatal(err)
	}
	if c.f != nil {
		_ = c.f.Close()
	}
	c.f = f
}

// write appends n application lines in CRI lines, one write call: every third on stderr,
// every fourth longer and split by the runtime into three parts (P, P, F), each part
// with its own time.
func (k *kubelet) write(c *runtimeLog, n int) {
	var b strings.Builder
	for range n {
		num := k.next
		k.next++
		line := k.t0(num)
		w := wantLine{text: strings.TrimSuffix(e2etest.FormatLine(num), "\n"), c: c, stream: "stdout", time: line}
		if num%3 == 0 {
			w.stream = "stderr"
		}
		parts := []string{w.text}
		if num%4 == 0 {
			w.text += " " + strings.Repeat("x", 299)
			parts = []string{w.text[:100], w.text[100:200], w.text[200:]}
		}
		for i, p := range parts {
			tag := "P"
			if i == len(parts)-1 {
				tag = "F"
			}
			fmt.Fprintf(&b, "%s %s %s %s\n", line.Add(time.Duration(i)*time.Microsecond).Format(time.RFC3339Nano), w.stream, tag, p)
		}
		k.want[num] = w
	}
	if _, err := c.f.WriteString(b.String()); err != nil {
		k.t.Fatal(err)
	}
}

// t0 is the runtime's time of a line's first part.
func (k *kubelet) t0(num int) time.Time {
	return time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC).Add(time.Duration(num) * time.Millisecond)
}

// rotate does what the kubelet's container log manager does when a log is over its
// size: gzip the rotated files not yet compressed (into <name>.tmp, renamed to
// <name>.gz, then the uncompressed one removed), rename <n>.log to <n>.log.<timestamp>,
// and ask the runtime to reopen. The runtime writes lateLines to the renamed file before
// it reopens (between the rename and the reopen).
func (k *kubelet) rotate(c *runtimeLog, lateLines int) {
	log := k.logPath(c)
	rotated, err := filepath.Glob(log + ".*")
	if err != nil {
		k.t.Fatal(err)
	}
	for _, r := range rotated {
		if !strings.HasSuffix(r, ".gz") {
			k.compress(r)
		}
	}
	k.clock = k.clock.Add(time.Second)
	if err := os.Rename(log, log+"."+k.clock.Format("20060102-150405")); err != nil {
		k.t.Fatal(err)
	}
	k.write(c, lateLines)
	k.reopen(c)
}

func (k *kubelet) compress(path string) {
	in, err := os.Open(path)
	if err != nil {
		k.t.Fatal(err)
	}
	defer in.Close()
	tmp, err := os.OpenFile(path+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		k.t.Fatal(err)
	}
	zw := gzip.NewWriter(tmp)
	if _, err := io.Copy(zw, in); err != nil {
		k.t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		k.t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		k.t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path+".gz"); err != nil {
		k.t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		k.t.Fatal(err)
	}
	k.gzipped = append(k.gzipped, path+".gz")
}

// restart starts the container again: the runtime writes <n+1>.log beside the last one.
func (k *kubelet) restart(c *runtimeLog) {
	c.restarts++
	k.reopen(c)
}

// deletePod stops the pod's containers and removes its directory, as the kubelet does
// once a deleted pod is gone.
func (k *kubelet) deletePod(c *runtimeLog) {
	_ = c.f.Close()
	if err := os.RemoveAll(k.podDir(c)); err != nil {
		k.t.Fatal(err)
	}
}

// awaitShipped waits until every line written so far is in Kafka.
func (k *kubelet) awaitShipped(rec *records, what string) {
	k.t.Helper()
	var missing map[string]int
	defer func() {
		if k.t.Failed() {
			k.t.Logf("lines missing by container: %v", missing)
		}
	}()
	await.Until(k.t, 60*time.Second, what+" in Kafka", func() bool {
		missing = rec.missing(k.want)
		return len(missing) == 0
	})
}

// check requires each expected line exactly once, with its pod's fields, and nothing
// else.
func (k *kubelet) check(t *testing.T, all []record) {
	t.Helper()
	copies := map[int]int{}
	perContainer := map[string]int{}
	for _, r := range all {
		if p := r.path; p == "" || strings.HasSuffix(p, ".gz") || strings.HasSuffix(p, ".tmp") {
			t.Fatalf("a record from %s: %q", p, r.value)
		}
		num, ok := e2etest.ParseLine([]byte(r.value))
		w, known := k.want[num]
		if !ok || !known {
			t.Fatalf("a record that is none of the application's lines: %q (headers %v)", r.value, r.headers)
		}
		copies[num]++
		if r.value != w.text {
			t.Fatalf("line %d: %q, want %q (partial lines joined, envelope removed)", num, r.value, w.text)
		}
		fields := map[string]string{
			"k8s.namespace": w.c.ns, "k8s.pod": w.c.pod, "k8s.pod_uid": w.c.uid, "k8s.container": w.c.name, "stream": w.stream,
		}
		for name, v := range fields {
			if got := r.headers[kafka.HeaderFieldPrefix+name]; got != v {
				t.Fatalf("line %d from %s: %s = %q, want %q", num, r.path, name, got, v)
			}
		}
		if !r.time.Equal(w.time) {
			t.Fatalf("line %d: event time %s (headers %v), want the runtime's %s", num, r.time, r.headers, w.time.Format(time.RFC3339Nano))
		}
		perContainer[r.headers[kafka.HeaderFieldPrefix+"k8s.namespace"]+"/"+r.headers[kafka.HeaderFieldPrefix+"k8s.pod"]+"/"+
			r.headers[kafka.HeaderFieldPrefix+"k8s.container"]]++
	}
	wantPer := map[string]int{}
	for num, w := range k.want {
		wantPer[w.c.key()]++
		if copies[num] != 1 {
			t.Errorf("line %d of %s: %d copies, want 1", num, w.c.key(), copies[num])
		}
	}
	keys := make([]string, 0, len(wantPer))
	for c := range wantPer {
		keys = append(keys, c)
	}
	sort.Strings(keys)
	for _, c := range keys {
		if perContainer[c] != wantPer[c] {
			t.Errorf("%s: %d records, want %d", c, perContainer[c], wantPer[c])
		}
	}
	t.Logf("%d records for %d lines in %d containers (%v), %d rotated files gzipped", len(all), len(k.want), len(keys), wantPer, len(k.gzipped))
}

// configMapEntry returns the agent's collect entry of deploy/kubernetes/configmap.yaml as
// a YAML flow mapping, with /var/log/pods replaced by root and its topic by topic.
func configMapEntry(t *testing.T, root, topic string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "deploy", "kubernetes", "configmap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(b, &cm); err != nil {
		t.Fatalf("configmap.yaml: %v", err)
	}
	var agentCfg struct {
		Agent struct {
			Collect []map[string]any `yaml:"collect"`
		} `yaml:"agent"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["agent.yaml"]), &agentCfg); err != nil {
		t.Fatalf("configmap.yaml, agent.yaml: %v", err)
	}
	if len(agentCfg.Agent.Collect) != 1 {
		t.Fatalf("configmap.yaml, agent.yaml: %d collect entries, want 1", len(agentCfg.Agent.Collect))
	}
	e := agentCfg.Agent.Collect[0]
	path, _ := e["path"].(string)
	rest, ok := strings.CutPrefix(path, "/var/log/pods/")
	if !ok {
		t.Fatalf("configmap.yaml: the agent's entry path %q is not under /var/log/pods", path)
	}
	e["path"] = filepath.Join(root, rest)
	e["topic"] = topic
	j, err := json.Marshal(e) // JSON is a YAML flow mapping
	if err != nil {
		t.Fatal(err)
	}
	return string(j)
}

// kubeletAgentConfig writes dir/agent.yaml: one entry, output to Kafka. close_inactive
// is short so files are also closed and reopened around the rotations.
func kubeletAgentConfig(t *testing.T, dir, entry string, brokers []string) string {
	t.Helper()
	cfg := fmt.Sprintf(`agent:
  id: e2e-kubelet
  data_dir: %s
  output: kafka
  scan_interval: 1s
  close_inactive: 2s
  shutdown_timeout: 10s
  collect:
    - %s
kafka:
  brokers: [%s]
etcd: {endpoints: []}
http: {listen: "127.0.0.1:0"}
log: {level: %s}
`, filepath.Join(dir, "data"), entry, strings.Join(brokers, ", "), logLevel())
	path := filepath.Join(dir, "agent.yaml")
	e2etest.WriteFile(t, path, cfg)
	return path
}

// createTopic makes a fresh topic on the real broker.
func createTopic(t *testing.T, brokers []string, prefix string, partitions int32) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	name := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, name); err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	return name
}

// record is one Kafka record: its value and headers.
type record struct {
	path    string // the key's second half: "<agent id>:<path>"
	value   string
	headers map[string]string
	time    time.Time // the event time of its lc header (kafka.HeaderMeta)
}

// keyPath is the path in an agent's record key.
func keyPath(key []byte) string {
	_, path, _ := kafka.SplitKey(key)
	return string(path)
}

// records consumes a topic from its start in the background.
type records struct {
	mu   sync.Mutex
	all  []record
	seen map[int]bool // line numbers of the values
}

func consume(t *testing.T, brokers []string, topic string) *records {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rec := &records{seen: map[int]bool{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cl.Close()
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			rec.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) {
				got := record{path: keyPath(r.Key), value: string(r.Value), headers: make(map[string]string, len(r.Headers))}
				for _, kv := range r.Headers {
					got.headers[kv.Key] = string(kv.Value)
					if kv.Key == kafka.HeaderMeta {
						m, err := kafka.ParseMeta(kv.Value)
						if err != nil {
							got.headers[kv.Key] = err.Error()
						}
						got.time = m.Time
					}
				}
				rec.all = append(rec.all, got)
				if n, ok := e2etest.ParseLine(r.Value); ok {
					rec.seen[n] = true
				}
			})
			rec.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return rec
}

// missing counts the lines of want not received yet, by container.
func (rec *records) missing(want map[int]wantLine) map[string]int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	m := map[string]int{}
	for num, w := range want {
		if !rec.seen[num] {
			m[w.c.key()]++
		}
	}
	return m
}

// untilEnd waits until every record the topic holds now was received and returns them
// all: once the agent has stopped, that is everything it shipped.
func (rec *records) untilEnd(t *testing.T, brokers []string, topic string) []record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	var total int64
	if err := ends.Error(); err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	await.Until(t, 30*time.Second, fmt.Sprintf("all %d records of %s", total, topic), func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return int64(len(rec.all)) >= total
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]record(nil), rec.all...)
}
