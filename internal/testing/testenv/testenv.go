// Package testenv gives integration tests the addresses of the real services started by
// scripts/services.sh, and fails the test (never skips it) when a service does not answer.
// Addresses can be overridden with LOGCOLLECT_TEST_* environment variables.
package testenv

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func requireTCP(t testing.TB, service, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatalf("%s is not reachable at %s (start it with `make services-up`): %v", service, addr, err)
	}
	_ = conn.Close()
}

func requireHTTP(t testing.TB, service, url string) {
	t.Helper()
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("%s is not reachable at %s (start it with `make services-up`): %v", service, url, err)
	}
	_ = resp.Body.Close()
}

// KafkaBrokers returns the brokers of the real Kafka (LOGCOLLECT_TEST_KAFKA, comma-separated).
func KafkaBrokers(t testing.TB) []string {
	t.Helper()
	brokers := strings.Split(env("LOGCOLLECT_TEST_KAFKA", "127.0.0.1:9092"), ",")
	requireTCP(t, "Kafka", brokers[0])
	return brokers
}

// EtcdEndpoints returns the endpoints of the real etcd (LOGCOLLECT_TEST_ETCD).
func EtcdEndpoints(t testing.TB) []string {
	t.Helper()
	eps := strings.Split(env("LOGCOLLECT_TEST_ETCD", "127.0.0.1:2379"), ",")
	requireTCP(t, "etcd", eps[0])
	return eps
}

// OpenSearchURL returns the base URL of the real OpenSearch (LOGCOLLECT_TEST_OPENSEARCH).
func OpenSearchURL(t testing.TB) string {
	t.Helper()
	u := env("LOGCOLLECT_TEST_OPENSEARCH", "http://127.0.0.1:9200")
	requireHTTP(t, "OpenSearch", u)
	return u
}

// InfluxDBURL returns the base URL of the real InfluxDB (LOGCOLLECT_TEST_INFLUXDB).
func InfluxDBURL(t testing.TB) string {
	t.Helper()
	u := env("LOGCOLLECT_TEST_INFLUXDB", "http://127.0.0.1:8086")
	requireHTTP(t, "InfluxDB", u+"/ping")
	return u
}

// RepoRoot returns the repository's top folder (the one holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testenv: cannot find its own source file")
	}
	// This file is internal/testing/testenv/testenv.go.
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// build is one build of cmd/logcollect, made once per test process.
type build struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

var (
	fullBuild  build // logcollect
	agentBuild build // logcollect-agent: -tags agentonly
)

// Binary builds cmd/logcollect once per test process and returns the executable's path;
// LOGCOLLECT_BIN names a binary to run instead.
func Binary(t testing.TB) string {
	t.Helper()
	// A benchmark comparing two builds runs each on the same test binary.
	return fullBuild.get(t, "LOGCOLLECT_BIN", "logcollect")
}

// AgentBinary builds logcollect-agent (cmd/logcollect with the tag agentonly: the
// binary hosts run) once per test process; LOGCOLLECT_AGENT_BIN names one instead.
func AgentBinary(t testing.TB) string {
	t.Helper()
	return agentBuild.get(t, "LOGCOLLECT_AGENT_BIN", "logcollect-agent", "-tags", "agentonly")
}

// BinaryFor is the binary that runs command as users run it: logcollect-agent for the
// host's commands (agent, sysagent), logcollect for the others.
func BinaryFor(t testing.TB, command string) string {
	t.Helper()
	if command == "agent" || command == "sysagent" {
		return AgentBinary(t)
	}
	return Binary(t)
}

func (b *build) get(t testing.TB, envName, name string, flags ...string) string {
	t.Helper()
	if bin := os.Getenv(envName); bin != "" {
		return bin
	}
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", name+"-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, name)
		cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", b.path, "./cmd/logcollect")...)
		cmd.Dir = RepoRoot(t)
		b.out, b.err = cmd.CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("build %s: %v\n%s", name, b.err, b.out)
	}
	return b.path
}
