//go:build integration

package transfer

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/secureproxy"
)

// The secured cluster's credentials (the proxy's).
const (
	osUser = "logcollect"
	osPass = "s3cret-pass"
)

// securedEnv is a test's topic of n records, already in Kafka, and the secured stand-in
// (TLS with a certificate of its own CA, basic auth) in front of the real OpenSearch.
type securedEnv struct {
	*env
	topic string
	n     int
	proxy *secureproxy.Proxy
}

func newSecuredEnv(t *testing.T, prefix string, n int) *securedEnv {
	t.Helper()
	e := newEnv(t, prefix)
	s := &securedEnv{env: e, topic: e.name, n: n, proxy: secureproxy.Start(t, e.osURL, osUser, osPass)}
	e.createTopic(s.topic, 3)
	newProducer(t, e.brokers).produce(s.topic, "secured-host", "/var/log/secured.log", 0, n)
	return s
}

// config writes a transfer config for the proxy with osKeys (indented lines of the
// opensearch section) added; noTemplate leaves the index template out, so that the
// transfer reads records at once and its bulk requests meet the refusal.
func (s *securedEnv) config(file, listen, osKeys string, noTemplate bool) string {
	s.t.Helper()
	path := s.transferConfig(file, "topics: ["+s.topic+"]", s.proxy.URL, listen, "")
	if noTemplate {
		b, err := os.ReadFile(path)
		if err != nil {
			s.t.Fatal(err)
		}
		b = []byte(strings.Replace(string(b), "  template: "+s.name+"\n", "  template: \"\"\n", 1))
		if err := os.WriteFile(path, b, 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
	return appendKeys(s.t, path, "opensearch", osKeys)
}

// credentials are the opensearch keys of user:pass.
func credentials(pass string) string {
	return "  username: " + osUser + "\n  password: " + pass + "\n"
}

// requireAllOnce runs a transfer with cfg until every record is indexed and committed,
// checks /healthz, stops it, and requires exactly n documents in the real OpenSearch.
func (s *securedEnv) requireAllOnce(cfg, listen string) *e2etest.Proc {
	s.t.Helper()
	tr := e2etest.Start(s.t, "", "transfer", "--config", cfg)
	await.Until(s.t, 90*time.Second, "every record indexed", func() bool { return s.count() >= int64(s.n) })
	await.Until(s.t, 30*time.Second, "every offset committed", func() bool { return s.committed(s.name, s.topic) == int64(s.n) })
	if code, ch := healthz(listen); code != http.StatusOK || ch["opensearch"] != "ok" {
		s.t.Errorf("/healthz = %d %v, want 200 with opensearch ok", code, ch)
	}
	tr.Stop()
	if got := s.count(); got != int64(s.n) {
		s.t.Fatalf("%d documents in OpenSearch, want exactly %d", got, s.n)
	}
	return tr
}

// requireNothingCommitted requires that the group has committed nothing on the topic: no
// offset, or 0.
func (s *securedEnv) requireNothingCommitted(when string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := s.adm.FetchOffsets(ctx, s.name)
	if err != nil {
		s.t.Fatalf("%s: fetch the committed offsets of group %s: %v", when, s.name, err)
	}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == s.topic && (o.Err != nil || o.At > 0) {
			s.t.Fatalf("%s: group %s has offset %d (err %v) committed on %s/%d, want none", when, s.name, o.At, o.Err, o.Topic, o.Partition)
		}
	})
}

// awaitRefusal waits until the transfer logged want twice (it retries) and /healthz
// reports opensearch degraded with every string of want.
func awaitRefusal(t *testing.T, tr *e2etest.Proc, listen string, want ...string) {
	t.Helper()
	tr.WaitLog(want[0], 2, 60*time.Second)
	await.Until(t, 30*time.Second, "/healthz naming "+strings.Join(want, ", "), func() bool {
		code, ch := healthz(listen)
		if code != http.StatusServiceUnavailable {
			return false
		}
		for _, w := range want {
			if !strings.Contains(ch["opensearch"], w) {
				return false
			}
		}
		return true
	})
}

// TLS with the cluster's CA (opensearch.tls.ca_file; an https:// address needs no
// opensearch.tls.enabled) and basic auth: every record indexed exactly once.
func TestSecuredTLSBasicAuth(t *testing.T) {
	t.Parallel() // mostly waiting: overlaps the others
	s := newSecuredEnv(t, "sec-ok", 2000)
	listen := e2etest.FreeAddr(t)
	cfg := s.config("transfer.yaml", listen, credentials(osPass)+"  tls:\n    ca_file: "+s.proxy.CAFile+"\n", false)
	tr := s.requireAllOnce(cfg, listen)
	if s.proxy.Refused() != 0 || s.proxy.Passed() == 0 {
		t.Errorf("proxy: %d requests passed, %d refused; want all passed", s.proxy.Passed(), s.proxy.Refused())
	}
	if n := tr.LogCount("insecure_skip_verify"); n != 0 {
		t.Errorf("the transfer warned about insecure_skip_verify %d times without it set", n)
	}
}

// A wrong password: the transfer reads the records but OpenSearch refuses every bulk
// request; the log and /healthz say 401 and which keys to check, nothing is committed
// (not even at shutdown), and after the password is fixed every record is indexed once.
func TestSecuredWrongPassword(t *testing.T) {
	t.Parallel() // mostly waiting: overlaps the others
	s := newSecuredEnv(t, "sec-pass", 1000)
	listen := e2etest.FreeAddr(t)
	tlsKeys := "  tls:\n    ca_file: " + s.proxy.CAFile + "\n"
	bad := s.config("bad.yaml", listen, credentials("wrong-pass")+tlsKeys, true)
	tr := e2etest.Start(t, "", "transfer", "--config", bad)
	awaitRefusal(t, tr, listen, "check opensearch.username and opensearch.password", "HTTP 401")
	await.Until(t, 60*time.Second, "the transfer to have read every record", func() bool {
		return metric(listen, "logcollect_transfer_records_total") >= float64(s.n)
	})
	s.requireNothingCommitted("while OpenSearch refuses the password")
	tr.Stop() // the drain gives up after transfer.shutdown_timeout; the final commit must add nothing
	s.requireNothingCommitted("after the refused transfer stopped")
	if c := s.count(); c > 0 {
		t.Fatalf("%d documents indexed with a wrong password", c)
	}
	refused := s.proxy.Refused()
	if refused == 0 {
		t.Fatal("the proxy refused no request")
	}

	good := s.config("good.yaml", listen, credentials(osPass)+tlsKeys, true)
	s.requireAllOnce(good, listen)
	if s.proxy.Refused() != refused {
		t.Errorf("the proxy refused %d more requests with the right password", s.proxy.Refused()-refused)
	}
}

// No opensearch.tls.ca_file for a certificate of a private CA: the transfer refuses the
// certificate, says to set opensearch.tls.ca_file, installs no template and commits
// nothing; with insecure_skip_verify it works, and warns once that it should not be used.
func TestSecuredUntrustedCert(t *testing.T) {
	t.Parallel() // mostly waiting: overlaps the others
	s := newSecuredEnv(t, "sec-cert", 1000)
	listen := e2etest.FreeAddr(t)
	untrusted := s.config("untrusted.yaml", listen, credentials(osPass), false)
	tr := e2etest.Start(t, "", "transfer", "--config", untrusted)
	awaitRefusal(t, tr, listen, "set opensearch.tls.ca_file", "x509")
	s.requireNothingCommitted("while the certificate is refused")
	tr.Stop()
	s.requireNothingCommitted("after the refusing transfer stopped")
	if s.proxy.Passed() != 0 || s.proxy.Refused() != 0 {
		t.Fatalf("requests reached the proxy's handler over a refused certificate: %d passed, %d refused",
			s.proxy.Passed(), s.proxy.Refused())
	}

	insecure := s.config("insecure.yaml", listen, credentials(osPass)+"  tls:\n    insecure_skip_verify: true\n", false)
	tr = s.requireAllOnce(insecure, listen)
	if n := tr.LogCount("opensearch.tls.insecure_skip_verify is true"); n != 1 {
		t.Errorf("the insecure_skip_verify warning was logged %d times, want once", n)
	}
}
