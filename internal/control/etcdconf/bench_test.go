package etcdconf

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/testing/etcdtest"
)

// startBenchWatcher runs a Watcher on the embedded etcd and returns the applied snapshots.
func startBenchWatcher(b *testing.B, srv *etcdtest.Server) <-chan []entry.Entry {
	b.Helper()
	w, err := New(Options{Client: srv.Client(), Keys: []string{globalKey}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	applied := make(chan []entry.Entry, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx, func(l []entry.Entry) error {
			select {
			case applied <- l:
			case <-ctx.Done():
			}
			return nil
		})
	}()
	b.Cleanup(func() { cancel(); <-done })
	select {
	case <-applied: // the initial (empty) snapshot
	case <-time.After(5 * time.Second):
		b.Fatal("no initial snapshot")
	}
	return applied
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

// BenchmarkPutToApply measures the latency from an etcd put of a new entry to the snapshot
// holding it reaching apply. Run with -benchtime=100x for "over 100 changes".
func BenchmarkPutToApply(b *testing.B) {
	srv := etcdtest.Start(b)
	cli := srv.Client()
	applied := startBenchWatcher(b, srv)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		val := fmt.Sprintf(`[{"path":"/var/log/app/%d.log","topic":"t"}]`, i)
		start := time.Now()
		if _, err := cli.Put(context.Background(), globalKey, val); err != nil {
			b.Fatal(err)
		}
		select {
		case <-applied:
		case <-time.After(5 * time.Second):
			b.Fatal("change not applied within 5s")
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

func thousandEntries(topic string) []byte {
	list := make([]entry.Entry, 1000)
	for i := range list {
		list[i] = entry.Entry{
			Path: fmt.Sprintf("/var/log/app%04d/*.log", i), Topic: topic,
			Exclude: []string{"*.gz"}, ExcludeLines: []string{"^DEBUG"},
			Fields: map[string]string{"service": fmt.Sprint("svc", i)},
		}
	}
	b, _ := json.Marshal(list)
	return b
}

// BenchmarkApply1000Entries is the in-process cost of one change of a key holding 1,000
// entries: parse and validate the value, merge, compare with the running snapshot.
func BenchmarkApply1000Entries(b *testing.B) {
	w, err := New(Options{Keys: []string{globalKey}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	vals := [][]byte{thousandEntries("a"), thousandEntries("b")}
	var got int
	s := &state{w: w, keys: map[string]*keyState{globalKey: {}},
		apply: func(l []entry.Entry) error { got = len(l); return nil }}
	b.SetBytes(int64(len(vals[0])))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if !s.set(globalKey, vals[i%2], true, int64(i)) {
			b.Fatal("value not taken")
		}
		s.reconcile("bench")
	}
	if got != 1000 {
		b.Fatalf("applied %d entries, want 1000", got)
	}
}

// BenchmarkPut1000ToApply is the same change end to end through the embedded etcd.
func BenchmarkPut1000ToApply(b *testing.B) {
	srv := etcdtest.Start(b)
	cli := srv.Client()
	applied := startBenchWatcher(b, srv)
	vals := []string{string(thousandEntries("a")), string(thousandEntries("b"))}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := cli.Put(context.Background(), globalKey, vals[i%2]); err != nil {
			b.Fatal(err)
		}
		select {
		case l := <-applied:
			if len(l) != 1000 {
				b.Fatalf("applied %d entries", len(l))
			}
		case <-time.After(10 * time.Second):
			b.Fatal("change not applied within 10s")
		}
	}
}
