//go:build integration

package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/logcollect/logcollect/internal/control/registration"
	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// leader returns the index in eps of the member that leads, as the members say.
func leader(t *testing.T, cli *clientv3.Client, eps []string) int {
	t.Helper()
	found := -1
	await.Until(t, 10*time.Second, "an etcd leader", func() bool {
		ids := map[uint64]int{}
		var lead uint64
		for i, ep := range eps {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := cli.Status(ctx, ep)
			cancel()
			if err != nil {
				continue
			}
			ids[st.Header.MemberId] = i
			if st.Leader != 0 {
				lead = st.Leader
			}
		}
		i, ok := ids[lead]
		found = i
		return ok
	})
	return found
}

var memberIDs sync.Map // endpoint → member id; stable for the cluster's life

func memberID(t *testing.T, cli *clientv3.Client, ep string) uint64 {
	t.Helper()
	if id, ok := memberIDs.Load(ep); ok {
		return id.(uint64)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	st, err := cli.Status(ctx, ep)
	if err != nil {
		t.Fatalf("status of %s: %v", ep, err)
	}
	memberIDs.Store(ep, st.Header.MemberId)
	return st.Header.MemberId
}

// markerFile writes a log file holding one marker line and returns the entry that
// collects it from its beginning.
func markerFile(t *testing.T, dir, name string) (entryJSON, marker string) {
	t.Helper()
	path := filepath.Join(dir, name+".log")
	marker = "marker-" + name
	e2etest.WriteFile(t, path, marker+"\n")
	return fmt.Sprintf(`{"path":%q,"topic":"t_%s","start":"beginning"}`, path, name), marker
}

// ctlAdd adds an entry to a key with `logcollect ctl entries add` through one endpoint,
// again and again while etcd refuses (no leader yet), as an operator would; it returns
// when the write succeeded.
func ctlAdd(t *testing.T, endpoint, key, entry string) time.Time {
	t.Helper()
	var out []byte
	var err error
	deadline := time.Now().Add(20 * time.Second)
	for attempt := 1; time.Now().Before(deadline); attempt++ {
		cmd := exec.Command(testenv.Binary(t), "ctl", "--endpoints", endpoint, "entries", "add", "--key", key, "--entry", entry)
		cmd.Dir = t.TempDir() // no logcollect.yaml there: built-in defaults and --endpoints
		if out, err = cmd.CombinedOutput(); err == nil {
			if attempt > 1 {
				t.Logf("ctl entries add through %s succeeded at attempt %d", endpoint, attempt)
			}
			return time.Now()
		}
	}
	t.Fatalf("ctl entries add through %s: %v\n%s", endpoint, err, out)
	return time.Time{}
}

// outputWatch records when each awaited line first appears in the agent's output file.
type outputWatch struct {
	mu   sync.Mutex
	seen map[string]time.Time
	stop chan struct{}
	done chan struct{}
}

func watchOutput(t *testing.T, out string, lines ...string) *outputWatch {
	w := &outputWatch{seen: map[string]time.Time{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			b, _ := os.ReadFile(out)
			now := time.Now()
			w.mu.Lock()
			for _, l := range lines {
				if _, ok := w.seen[l]; !ok && bytes.Contains(b, []byte(l+"\n")) {
					w.seen[l] = now
				}
			}
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-time.After(20 * time.Millisecond): // polling interval of the output file
			}
		}
	}()
	t.Cleanup(func() { close(w.stop); <-w.done })
	return w
}

func (w *outputWatch) at(line string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	at, ok := w.seen[line]
	return at, ok
}

func (w *outputWatch) await(t *testing.T, line string, within time.Duration) time.Time {
	t.Helper()
	await.Until(t, within, fmt.Sprintf("%q at the agent's output", line), func() bool { _, ok := w.at(line); return ok })
	at, _ := w.at(line)
	return at
}

// registered says whether the agent's record is in etcd.
func registered(t *testing.T, cli *clientv3.Client, id string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, registration.Key(id))
	return err == nil && len(resp.Kvs) == 1
}

// requireEveryLine checks that the output holds every number in [0, n) exactly once.
func requireEveryLine(t *testing.T, out string, n int) {
	t.Helper()
	var got []int
	await.Until(t, 10*time.Second, fmt.Sprintf("line %d at the output", n-1), func() bool {
		got = e2etest.Numbers(t, out)
		return len(got) >= n
	})
	seen := make(map[int]int, len(got))
	for _, v := range got {
		seen[v]++
	}
	for v := range n {
		if seen[v] != 1 {
			t.Fatalf("line %d is at the output %d times, want once", v, seen[v])
		}
	}
}

// etcdAgent is an agent fed by one collect key of its own, which holds an entry for
// dir/a.log; a writer appends 500 numbered lines/s to that file from the start.
type etcdAgent struct {
	*e2etest.Proc
	id, key, dir string
	stopWriter   func() int // stops the writer, returns how many lines it wrote
}

func startEtcdAgent(t *testing.T, cli *clientv3.Client, endpoints []string, name string, leaseTTL time.Duration) *etcdAgent {
	t.Helper()
	a := &etcdAgent{
		id:  fmt.Sprintf("cluster-%s-%d", name, time.Now().UnixNano()),
		key: fmt.Sprintf("collect_log_conf_cluster_%s%d", name, time.Now().UnixNano()),
		dir: t.TempDir(),
	}
	tailed := filepath.Join(a.dir, "a.log")
	e2etest.WriteFile(t, tailed, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, a.key, fmt.Sprintf(`[{"path":%q,"topic":"a","start":"beginning"}]`, tailed)); err != nil {
		t.Fatal(err)
	}
	a.Proc = e2etest.Start(t, a.dir, "agent", "--config", e2etest.EtcdAgentConfig(t, a.dir, a.id, endpoints, []string{a.key}, leaseTTL))
	a.WaitLog("source=etcd entries=1", 1, 10*time.Second)
	await.Until(t, 5*time.Second, "the agent's registration", func() bool { return registered(t, cli, a.id) })

	stop := make(chan struct{})
	written := e2etest.RunWriter(t, tailed, 0, 5, 0, 10*time.Millisecond, stop)
	var once sync.Once
	n := 0
	a.stopWriter = func() int {
		once.Do(func() { close(stop); n = <-written })
		return n
	}
	t.Cleanup(func() { a.stopWriter() })
	return a
}

// out is the agent's output file.
func (a *etcdAgent) out() string { return filepath.Join(a.dir, "out.log") }

// TestEtcdLeaderKilled: the etcd leader is killed with SIGKILL while collect entries are
// changed with `logcollect ctl` through another member. The agent, which lists all three
// members, applies every change within 2 s of the new leader's election (or of the change,
// when it came later), keeps its registration, and loses no line of the file it tails.
func TestEtcdLeaderKilled(t *testing.T) {
	etcdTest(t)
	eps := etcdCluster(t)
	cli := e2etest.EtcdClient(t, eps)
	const leaseTTL = 3 * time.Second
	agent := startEtcdAgent(t, cli, eps, "leader", leaseTTL)
	key, dir, id := agent.key, agent.dir, agent.id

	const changes = 5
	entries, markers := make([]string, changes), make([]string, changes)
	for i := range changes {
		entries[i], markers[i] = markerFile(t, dir, fmt.Sprintf("c%d", i))
	}
	out := watchOutput(t, agent.out(), markers...)

	lead := leader(t, cli, eps)
	through := eps[(lead+1)%len(eps)] // ctl talks to a follower that stays up
	// Change 0 with every member up: the baseline.
	at := ctlAdd(t, through, key, entries[0])
	t.Logf("with all members up, change 0 applied in %s", out.await(t, markers[0], 5*time.Second).Sub(at).Round(time.Millisecond))

	elected := make(chan time.Time, 1)
	oldID := memberID(t, cli, eps[lead])
	clusters.kill(t, "etcd", lead+1) // member n is eps[n-1]
	killed := time.Now()
	go func() {
		// The first member that names a leader other than the dead one: the election is
		// over. No leader within 15 s closes the channel empty.
		defer close(elected)
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			for i, ep := range eps {
				if i == lead {
					continue
				}
				sctx, scancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				st, err := cli.Status(sctx, ep)
				scancel()
				if err == nil && st.Leader != 0 && st.Leader != oldID {
					elected <- time.Now()
					return
				}
			}
			time.Sleep(10 * time.Millisecond) // polling interval of the members' status
		}
	}()
	writtenAt := make([]time.Time, changes)
	for i := 1; i < changes; i++ {
		writtenAt[i] = ctlAdd(t, through, key, entries[i])
		time.Sleep(300 * time.Millisecond) // changes spread over the election, as an operator's would be
	}
	electedAt, ok := <-elected
	if !ok {
		t.Fatal("no new leader within 15 s of the kill")
	}
	t.Logf("member %d (the leader) killed; new leader seen %s later", lead+1, electedAt.Sub(killed).Round(time.Millisecond))
	for i := 1; i < changes; i++ {
		from := electedAt
		if writtenAt[i].After(from) {
			from = writtenAt[i]
		}
		appliedAt := out.await(t, markers[i], time.Until(from.Add(5*time.Second)))
		t.Logf("change %d written %s after the kill, applied %s after the election and %s after it was written",
			i, writtenAt[i].Sub(killed).Round(time.Millisecond), appliedAt.Sub(electedAt).Round(time.Millisecond),
			appliedAt.Sub(writtenAt[i]).Round(time.Millisecond))
		if appliedAt.Sub(from) > 2*time.Second {
			t.Errorf("change %d applied %s after the election / its write, want ≤ 2s", i, appliedAt.Sub(from).Round(time.Millisecond))
		}
	}

	// Registered still (or again) once a lease TTL has passed since the election.
	time.Sleep(time.Until(electedAt.Add(leaseTTL + time.Second))) // outliving the lease is the point
	if !registered(t, cli, id) {
		t.Errorf("the agent's record %s is gone %s after the election", registration.Key(id), leaseTTL+time.Second)
	}
	t.Logf("registration: %d lease(s) lost and registered again", agent.LogCount("registration lease lost"))
	requireEveryLine(t, agent.out(), agent.stopWriter())
	if !agent.Running() {
		t.Fatal("the agent exited")
	}
	agent.Stop()
	clusters.up(t, "etcd") // the killed member back for the next test
}
