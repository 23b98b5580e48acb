package opensearchsink

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/secureproxy"
)

// securedIndexer is an indexer for the secured stand-in (TLS, admin:s3cret) in front of a
// fake OpenSearch; edit changes its config.
func securedIndexer(t *testing.T, edit func(*config.OpenSearch)) (*Indexer, *secureproxy.Proxy, *syncBuffer) {
	t.Helper()
	backend := httptest.NewServer(&fakeOS{stored: map[string]int{}})
	t.Cleanup(backend.Close)
	proxy := secureproxy.Start(t, backend.URL, "admin", "s3cret")
	cfg := config.Default().OpenSearch
	cfg.Addresses = []string{proxy.URL}
	cfg.Username, cfg.Password = "admin", "s3cret"
	cfg.TLS.CAFile = proxy.CAFile // opensearch.tls.enabled left false: https:// is enough
	cfg.MaxRetryBackoff = config.Duration(20 * time.Millisecond)
	edit(&cfg)
	logs := &syncBuffer{}
	ix, err := New(cfg, Deps{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return ix, proxy, logs
}

// refusedUntil runs f (a Write or a Setup that retries until ctx ends) until it was refused
// three times, and returns what Check reports then: the explanation must survive retries.
func refusedUntil(t *testing.T, ix *Indexer, logs *syncBuffer, f func(ctx context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	await.Until(t, 20*time.Second, "three refusals", func() bool { return strings.Count(logs.String(), "; retrying") >= 3 })
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a refused Write/Setup returned nil")
	}
	return ix.Check()
}

func TestSecuredRefusals(t *testing.T) {
	write := func(ix *Indexer) func(context.Context) error {
		return func(ctx context.Context) error { _, err := ix.Write(ctx, docs(3)); return err }
	}
	tests := []struct {
		name  string
		edit  func(*config.OpenSearch)
		setup bool // Setup instead of Write
		want  []string
	}{
		{"wrong password, bulk", func(c *config.OpenSearch) { c.Password = "nope" }, false,
			[]string{"HTTP 401", "opensearch.username and opensearch.password", "security_exception"}},
		{"wrong password, template", func(c *config.OpenSearch) { c.Password = "nope" }, true,
			[]string{"PUT _index_template/logcollect: HTTP 401", "opensearch.password"}},
		{"no credentials", func(c *config.OpenSearch) { c.Username, c.Password = "", "" }, false,
			[]string{"HTTP 401", "opensearch.username"}},
		{"untrusted certificate", func(c *config.OpenSearch) { c.TLS.CAFile = "" }, false,
			[]string{"opensearch.tls.ca_file", "x509"}},
		{"untrusted certificate, template", func(c *config.OpenSearch) { c.TLS.CAFile = "" }, true,
			[]string{"opensearch.tls.ca_file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, _, logs := securedIndexer(t, tt.edit)
			f := write(ix)
			if tt.setup {
				f = ix.Setup
			}
			err := refusedUntil(t, ix, logs, f)
			if err == nil {
				t.Fatal("Check is nil after three refusals")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check = %q, want it to say %q", err, w)
				}
			}
		})
	}
}

func TestSecuredAccepted(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*config.OpenSearch)
		wantWarn bool
	}{
		{"ca_file", func(*config.OpenSearch) {}, false},
		{"insecure_skip_verify", func(c *config.OpenSearch) { c.TLS.CAFile, c.TLS.InsecureSkipVerify = "", true }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, proxy, logs := securedIndexer(t, tt.edit)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := ix.Setup(ctx); err != nil {
				t.Fatal(err)
			}
			if rej, err := ix.Write(ctx, docs(3)); err != nil || len(rej) != 0 {
				t.Fatalf("Write = %v, %v", rej, err)
			}
			if err := ix.Check(); err != nil {
				t.Errorf("Check after success: %v", err)
			}
			if proxy.Passed() == 0 || proxy.Refused() != 0 {
				t.Errorf("proxy passed %d refused %d", proxy.Passed(), proxy.Refused())
			}
			warned := strings.Count(logs.String(), "opensearch.tls.insecure_skip_verify is true")
			if tt.wantWarn && warned != 1 || !tt.wantWarn && warned != 0 {
				t.Errorf("insecure_skip_verify warning logged %d times:\n%s", warned, logs)
			}
		})
	}
}

// A password to a plain http:// address is warned about once.
func TestPasswordOverHTTPWarns(t *testing.T) {
	cfg := config.Default().OpenSearch
	cfg.Addresses = []string{"http://127.0.0.1:9"}
	cfg.Username, cfg.Password = "admin", "s3cret"
	logs := &syncBuffer{}
	if _, err := New(cfg, Deps{Logger: slog.New(slog.NewTextHandler(logs, nil))}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "opensearch.password is sent in clear text") {
		t.Errorf("no warning: %s", logs)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
