package testenv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// PrometheusURL returns the base URL of the real Prometheus (LOGCOLLECT_TEST_PROMETHEUS).
func PrometheusURL(t testing.TB) string {
	t.Helper()
	u := env("LOGCOLLECT_TEST_PROMETHEUS", "http://127.0.0.1:9090")
	requireHTTP(t, "Prometheus", u+"/-/ready")
	return u
}

// ServicesDir is the folder scripts/services.sh keeps its services in
// (LOGCOLLECT_SERVICES_DIR, default <repo>/.services).
func ServicesDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("LOGCOLLECT_SERVICES_DIR"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(t), ".services")
}

// PrometheusTarget makes the shared Prometheus scrape addr (host:port) with the given
// labels, through a file_sd targets file of the test's own, removed when the test ends.
// The first scrape comes some seconds later (Prometheus batches discovery updates).
func PrometheusTarget(t testing.TB, name, addr string, labels map[string]string) {
	t.Helper()
	dir := filepath.Join(ServicesDir(t), "prometheus", "targets")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("Prometheus targets folder %s is missing (start it with `scripts/services.sh up prometheus`): %v", dir, err)
	}
	b, err := json.Marshal([]map[string]any{{"targets": []string{addr}, "labels": labels}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".json")
	// Written beside and renamed, so Prometheus never reads half a file.
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(path) })
}
