//go:build integration

package cluster

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/e2etest"
)

// The clusters are started on first use (a run of the etcd tests alone never starts Kafka)
// and stopped by TestMain once every test is done.
var clusters = &clusterSet{script: filepath.Join("..", "..", "scripts", "cluster.sh")}

// The tests run in parallel: the Kafka test spends most of its time waiting for a
// broker or for OpenSearch, and the etcd tests fit in that time. etcdTests keeps the
// etcd tests apart, since each kills or cuts off members of the same cluster.
var etcdTests sync.Mutex

// etcdTest marks an etcd test: parallel to the Kafka test, alone among the etcd ones.
func etcdTest(t *testing.T) {
	t.Parallel()
	etcdTests.Lock()
	t.Cleanup(etcdTests.Unlock)
}

func TestMain(m *testing.M) {
	os.Exit(clusters.run(m))
}

type clusterSet struct {
	script string
	env    map[string]string // from `cluster.sh env`

	mu      sync.Mutex
	started map[string]error // cluster name → result of its first `up`
}

func (c *clusterSet) run(m *testing.M) int {
	out, err := exec.Command(c.script, "env").Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cluster.sh env: %v\n", err)
		return 1
	}
	c.env = map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			c.env[k] = v
		}
	}
	// One run of this package at a time on the machine: the clusters have fixed ports, and
	// a second run would stop them under the first.
	if err := os.MkdirAll(c.env["CLUSTER_DIR"], 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	lock, err := os.OpenFile(filepath.Join(c.env["CLUSTER_DIR"], ".tests.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	c.mu.Lock()
	defer c.mu.Unlock()
	for name := range c.started {
		// Stopped by pid, then their data removed: the next run starts from empty clusters.
		for _, args := range [][]string{{"down", name}, {"clean", name}} {
			if out, err := exec.Command(c.script, args...).CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "cluster.sh %s: %v\n%s", strings.Join(args, " "), err, out)
				code = 1
			}
		}
	}
	return code
}

// up starts a cluster (all nodes, waiting until they answer) or brings back its killed
// nodes; the first call per run also counts as the cluster's start for TestMain's stop.
func (c *clusterSet) up(t testing.TB, name string) {
	t.Helper()
	start := time.Now()
	first, err := c.start(name)
	if first {
		t.Logf("%s cluster up in %s", name, time.Since(start).Round(100*time.Millisecond))
	}
	if err != nil {
		t.Fatal(err)
	}
}

// start runs `cluster.sh up name` and says whether it was this run's first; it may be
// called from any goroutine.
func (c *clusterSet) start(name string) (first bool, err error) {
	out, err := exec.Command(c.script, "up", name).CombinedOutput()
	if err != nil {
		err = fmt.Errorf("scripts/cluster.sh up %s: %w\n%s", name, err, out)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started == nil {
		c.started = map[string]error{}
	}
	if _, ok := c.started[name]; !ok {
		c.started[name], first = err, true
	}
	return first, err
}

// kill sends SIGKILL to node n (1-3) of a cluster.
func (c *clusterSet) kill(t testing.TB, name string, n int) {
	t.Helper()
	if out, err := exec.Command(c.script, "kill", name, fmt.Sprint(n)).CombinedOutput(); err != nil {
		t.Fatalf("scripts/cluster.sh kill %s %d: %v\n%s", name, n, err, out)
	}
}

// pids returns the pid of each running node of a cluster, by node number.
func (c *clusterSet) pids(name string) map[int]int {
	out := map[int]int{}
	for n := 1; n <= 3; n++ {
		b, err := os.ReadFile(filepath.Join(c.env["CLUSTER_DIR"], fmt.Sprintf("%s-%d", name, n), "pid"))
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil {
			out[n] = pid
		}
	}
	return out
}

// cpuSeconds sums the CPU time the given processes used so far.
func cpuSeconds(pids map[int]int) float64 {
	var s float64
	for _, pid := range pids {
		s += e2etest.CPUSeconds(pid)
	}
	return s
}

// kafka returns the brokers of the running 3-node Kafka cluster, starting it on first use.
func kafkaCluster(t testing.TB) []string {
	t.Helper()
	clusters.up(t, "kafka")
	return strings.Split(clusters.env["KAFKA_BROKERS"], ",")
}

// etcdCluster returns the client endpoints of the running 3-member etcd cluster.
func etcdCluster(t testing.TB) []string {
	t.Helper()
	clusters.up(t, "etcd")
	return strings.Split(clusters.env["ETCD_ENDPOINTS"], ",")
}
