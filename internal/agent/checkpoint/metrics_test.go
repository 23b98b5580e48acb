package checkpoint

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				got[mf.GetName()] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				got[mf.GetName()] = m.GetGauge().GetValue()
			}
		}
	}
	return got
}

func TestStoreMetrics(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, RegistryFile), []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, dir)
	reg := prometheus.NewPedanticRegistry()
	if err := s.Register(reg); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	s.Set(State{Key: "a", Updated: t0})
	s.Set(State{Key: "b", Updated: t0})
	s.Set(State{Key: "c", Updated: before})
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	s.Prune(time.Hour, before)
	if err := os.Rename(dir, dir+".away"); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err == nil {
		t.Fatal("Flush into a missing dir: want an error")
	}

	got := gather(t, reg)
	size, err := os.Stat(filepath.Join(dir+".away", RegistryFile))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"logcollect_checkpoint_files":                    1,
		"logcollect_checkpoint_writes_total":             1,
		"logcollect_checkpoint_write_errors_total":       1,
		"logcollect_checkpoint_registry_bytes":           float64(size.Size()),
		"logcollect_checkpoint_corrupt_registries_total": 1,
		"logcollect_checkpoint_pruned_total":             2,
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
	last := got["logcollect_checkpoint_last_write_timestamp_seconds"]
	if last < float64(before.Unix()) || last > float64(time.Now().Unix()+1) {
		t.Errorf("last write timestamp %v, want around %d", last, before.Unix())
	}
	if err := s.Register(reg); err == nil {
		t.Error("registering twice on one registry: want an error")
	}
}
