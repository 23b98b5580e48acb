//go:build integration

package etcdconf

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/logcollect/logcollect/internal/testing/metrictest"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// etcdctl runs the real etcdctl against the real etcd, as an operator would.
func etcdctl(t *testing.T, endpoints []string, args ...string) {
	t.Helper()
	cmd := exec.Command("etcdctl", append([]string{"--endpoints", strings.Join(endpoints, ",")}, args...)...)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("etcdctl %v: %v\n%s", args, err, out)
	}
}

func TestIntegrationRealEtcd(t *testing.T) {
	eps := testenv.EtcdEndpoints(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 3 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	// Keys of our own: other tests and agents may watch collect_log_conf on this etcd.
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	global := "collect_log_conf_it" + suffix
	host := "collect_log_{ip}_conf_it" + suffix
	keys := ExpandKeys([]string{global, host}, Vars{IP: "127.0.0.1"})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		for _, k := range keys {
			_, _ = cli.Delete(ctx, k)
		}
	})

	h := newHarness(t, Options{Client: cli, Keys: keys, CacheFile: CachePath(t.TempDir())})
	h.start()
	if got := h.next(3 * time.Second); len(got) != 0 {
		t.Fatalf("first snapshot = %s, want empty", paths(got))
	}
	steps := []struct {
		name string
		args []string
		want string
	}{
		{"original format", []string{"put", global, `[{"path":"/var/log/a.log","topic":"a_log"}]`}, "/var/log/a.log→a_log"},
		{"host key wins", []string{"put", keys[1], `[{"path":"/var/log/a.log","topic":"host_a"}]`}, "/var/log/a.log→host_a"},
		{"topic change", []string{"put", keys[1], `[{"path":"/var/log/a.log","topic":"host_a2"}]`}, "/var/log/a.log→host_a2"},
		{"host key deleted", []string{"del", keys[1]}, "/var/log/a.log→a_log"},
		{"global key deleted", []string{"del", global}, ""},
	}
	for _, st := range steps {
		start := time.Now()
		etcdctl(t, eps, st.args...)
		if got := paths(h.next(time.Second)); got != st.want {
			t.Fatalf("%s: snapshot = %s, want %s", st.name, got, st.want)
		}
		t.Logf("%s: applied %v after etcdctl started", st.name, time.Since(start))
	}

	etcdctl(t, eps, "put", global, `[{"path":"/var/log/a.log","topic":"a_log"}]`)
	if got := paths(h.next(time.Second)); got != "/var/log/a.log→a_log" {
		t.Fatalf("snapshot = %s", got)
	}
	etcdctl(t, eps, "put", global, `[{"path":"/var/log/a.log","topic":}]`)
	waitFor(t, 2*time.Second, func() bool { return metrictest.Value(t, h.w.m.rejected.WithLabelValues(global)) == 1 }, "rejection counted")
	if logs := h.logs.String(); !strings.Contains(logs, "key="+global) || !strings.Contains(logs, "decode entries") {
		t.Fatalf("rejection not logged with key and reason:\n%s", logs)
	}
	h.none(200 * time.Millisecond)
}
