package registration

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/etcdtest"
	"github.com/logcollect/logcollect/internal/testing/metrictest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type running struct {
	r      *Registrar
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, cli *clientv3.Client, ttl time.Duration) *running {
	t.Helper()
	r, err := New(Options{
		Client:     cli,
		Record:     Record{ID: "agent-1", Hostname: "web1", IP: "10.0.0.1", Version: "test", StartedAt: time.Unix(1700000000, 0).UTC(), CollectKeys: []string{"collect_log_conf"}},
		TTL:        ttl,
		MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond,
		Logger:     slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &running{r: r, cancel: cancel, done: make(chan error, 1)}
	go func() { run.done <- r.Run(ctx) }()
	t.Cleanup(func() { run.stop(t) })
	return run
}

func (run *running) stop(t *testing.T) {
	t.Helper()
	if run.cancel == nil {
		return
	}
	run.cancel()
	run.cancel = nil
	select {
	case err := <-run.done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Run did not return within 5s")
	}
}

func get(t *testing.T, cli *clientv3.Client) (Record, int64, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, Key("agent-1"))
	if err != nil || len(resp.Kvs) == 0 {
		return Record{}, 0, false
	}
	var rec Record
	if err := json.Unmarshal(resp.Kvs[0].Value, &rec); err != nil {
		t.Fatalf("record is not JSON: %v: %s", err, resp.Kvs[0].Value)
	}
	return rec, resp.Kvs[0].Lease, true
}

func waitFor(t *testing.T, within time.Duration, cond func() bool, what string) {
	t.Helper()
	await.Until(t, within, what, cond)
}

func TestRegisterUpdateDeregister(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	run := start(t, cli, 5*time.Second)
	waitFor(t, 2*time.Second, func() bool { _, _, ok := get(t, cli); return ok }, "registration")
	rec, lease, _ := get(t, cli)
	if rec.ID != "agent-1" || rec.Hostname != "web1" || rec.IP != "10.0.0.1" || !slices.Equal(rec.CollectKeys, []string{"collect_log_conf"}) || lease == 0 {
		t.Fatalf("record = %+v lease %x", rec, lease)
	}
	run.r.SetFiles([]string{"/var/log/b.log", "/var/log/a.log"})
	waitFor(t, 2*time.Second, func() bool {
		rec, _, _ := get(t, cli)
		return slices.Equal(rec.Files, []string{"/var/log/a.log", "/var/log/b.log"})
	}, "files in the record")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	list, err := List(ctx, cli)
	if err != nil || len(list) != 1 || list[0].ID != "agent-1" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	// Clean shutdown deletes the record at once, not after the TTL.
	run.stop(t)
	if _, _, ok := get(t, cli); ok {
		t.Fatal("record still present after clean shutdown")
	}
}

func TestReRegistersAfterLeaseRevoked(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	run := start(t, cli, 5*time.Second)
	waitFor(t, 2*time.Second, func() bool { _, _, ok := get(t, cli); return ok }, "registration")
	_, lease, _ := get(t, cli)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := cli.Revoke(ctx, clientv3.LeaseID(lease)); err != nil {
		t.Fatal(err)
	}
	// The record appears in etcd a moment before the registrar counts it: await both.
	waitFor(t, 3*time.Second, func() bool {
		_, l, ok := get(t, cli)
		return ok && l != lease && metrictest.Value(t, run.r.registrations) >= 2
	}, "registration under a new lease")
	if n := metrictest.Value(t, run.r.leaseLost); n != 1 {
		t.Fatalf("lease_lost_total = %v, want 1", n)
	}
	if n := metrictest.Value(t, run.r.registrations); n != 2 {
		t.Fatalf("registrations_total = %v, want 2", n)
	}
}

func TestReRegistersAfterOutageLongerThanTTL(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	run := start(t, cli, time.Second)
	waitFor(t, 2*time.Second, func() bool { return metrictest.Value(t, run.r.registered) == 1 }, "registration")
	srv.Stop()
	waitFor(t, 5*time.Second, func() bool { return metrictest.Value(t, run.r.registered) == 0 }, "lease loss noticed")
	srv.Restart()
	waitFor(t, 10*time.Second, func() bool {
		_, _, ok := get(t, cli)
		return ok && metrictest.Value(t, run.r.registrations) == 2
	}, "registration after etcd came back")
}

func TestRecordExpiresWhenAgentDies(t *testing.T) {
	srv := etcdtest.Start(t)
	observer := srv.Client()
	// The dying agent has its own connection; closing it is the closest to kill -9 that
	// stays inside the test process: no revoke reaches etcd.
	agentCli, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	run := start(t, agentCli, time.Second)
	waitFor(t, 2*time.Second, func() bool { _, _, ok := get(t, observer); return ok }, "registration")
	_ = agentCli.Close()
	run.stop(t)
	died := time.Now()
	waitFor(t, 5*time.Second, func() bool { _, _, ok := get(t, observer); return !ok }, "record expiry")
	t.Logf("record gone %v after the agent died (TTL 1s)", time.Since(died))
}

func TestNewValidates(t *testing.T) {
	cli := &clientv3.Client{}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no client", Options{Record: Record{ID: "a"}}, "no etcd client"},
		{"no id", Options{Client: cli}, "id is empty"},
		{"slash in id", Options{Client: cli, Record: Record{ID: "a/b"}}, "must not contain"},
		{"ttl too short", Options{Client: cli, Record: Record{ID: "a"}, TTL: time.Millisecond}, "granularity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New err = %v, want %q", err, tt.want)
			}
		})
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestKeepsLeaseThroughSilentMember: the agent's client reaches etcd through two endpoints
// (proxies), only the first open when it registers. That one then goes silent (its proxy
// drops every byte, like a network partition) while the second opens. The renewals must
// move to the second endpoint: the record never disappears and the lease is never lost,
// though gRPC would find the silent connection dead only after its keepalive (here: never),
// and a record update sent into the silence does not hold the renewals up.
func TestKeepsLeaseThroughSilentMember(t *testing.T) {
	srv := etcdtest.Start(t)
	observer := srv.Client()
	silent, other := e2etest.NewProxy(t, srv.Endpoints()[0]), e2etest.NewProxy(t, srv.Endpoints()[0])
	other.Cut()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: []string{silent.Addr(), other.Addr()}, DialTimeout: time.Second, Logger: zap.NewNop(),
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, MaxDelay: 200 * time.Millisecond}})},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	const ttl = 2 * time.Second
	run := start(t, cli, ttl)
	// Registered by the registrar's own account, not by the record alone: a put that
	// timed out on the client but reached etcd shows the record under a lease that the
	// registrar then revokes, before it registers again (seen on a loaded CI machine).
	waitFor(t, 3*time.Second, func() bool {
		_, _, ok := get(t, observer)
		return ok && metrictest.Value(t, run.r.registered) == 1
	}, "registration")
	_, lease, _ := get(t, observer)

	silent.Blackhole()
	// A record update right then: its put is as likely as a renewal to be stuck on the
	// silent connection, and must not hold up the renewals either.
	run.r.SetFiles([]string{"/var/log/a.log"})
	other.Restore()
	until := time.Now().Add(3 * ttl)
	for time.Now().Before(until) {
		if _, l, ok := get(t, observer); !ok || l != lease {
			t.Fatalf("record gone or under a new lease (%x, was %x) while one endpoint was silent", l, lease)
		}
		time.Sleep(50 * time.Millisecond) // sampling the record over three TTLs
	}
	if n := metrictest.Value(t, run.r.leaseLost); n != 0 {
		t.Fatalf("lease_lost_total = %v, want 0", n)
	}
	run.stop(t)
	silent.Restore()
}
