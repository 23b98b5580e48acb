package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMetricsAndHealth(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "logcollect_test_things_total", Help: "things"})
	reg.MustRegister(c)
	c.Add(3)
	var kafkaDown atomic.Bool
	s, err := New(Config{Listen: "127.0.0.1:0"}, Deps{Gatherer: reg, Checks: map[string]Check{
		"kafka": func() error {
			if kafkaDown.Load() {
				return errors.New("no broker reachable")
			}
			return nil
		},
		"partitions": func() error { return Info("none assigned") },
	}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	base := "http://" + addr.String()

	body := get(t, base+"/metrics", http.StatusOK)
	if !strings.Contains(body, "logcollect_test_things_total 3") {
		t.Errorf("metrics missing counter:\n%s", body)
	}
	var rep healthReport
	if err := json.Unmarshal([]byte(get(t, base+"/healthz", http.StatusOK)), &rep); err != nil || rep.Status != "ok" ||
		rep.Checks["partitions"] != "none assigned" {
		t.Errorf("healthy report: %+v %v", rep, err)
	}
	kafkaDown.Store(true)
	if err := json.Unmarshal([]byte(get(t, base+"/healthz", http.StatusServiceUnavailable)), &rep); err != nil ||
		rep.Status != "degraded" || rep.Checks["kafka"] != "no broker reachable" {
		t.Errorf("degraded report: %+v %v", rep, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func get(t *testing.T, url string, wantStatus int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: status %d, want %d: %s", url, resp.StatusCode, wantStatus, b)
	}
	return string(b)
}

// The profiler is served only when enabled (http.pprof).
func TestPprofOptIn(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		s, err := New(Config{Listen: "127.0.0.1:0", Pprof: enabled}, Deps{Gatherer: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		s.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof/", nil))
		want := http.StatusNotFound
		if enabled {
			want = http.StatusOK
		}
		if rec.Code != want {
			t.Errorf("pprof enabled=%v: GET /debug/pprof/ = %d, want %d", enabled, rec.Code, want)
		}
	}
}
