// Package etcdtest runs a real etcd server inside the test process, for unit tests of the
// packages that talk to etcd. It can be stopped and started again on the same data and
// address, so tests can simulate an etcd outage.
package etcdtest

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Server is one embedded etcd member with a fixed client address.
type Server struct {
	t         testing.TB
	dir       string
	clientURL url.URL
	peerURL   url.URL
	etcd      *embed.Etcd
	tls       transport.TLSInfo
}

// Start starts an embedded etcd on free 127.0.0.1 ports and stops it when the test ends.
// Register client cleanups after calling Start so that clients close before the server.
func Start(t testing.TB) *Server { return StartTLS(t, "", "") }

// StartTLS is Start with the client port serving TLS with the given PEM certificate and
// key (both empty: plain HTTP).
func StartTLS(t testing.TB, certFile, keyFile string) *Server {
	t.Helper()
	scheme := "http"
	if certFile != "" {
		scheme = "https"
	}
	s := &Server{t: t, dir: t.TempDir(), tls: transport.TLSInfo{CertFile: certFile, KeyFile: keyFile}}
	// A free port can be taken by another process (another test package's client) between
	// freeAddr and etcd's bind: then new ports are picked, which Restart cannot do.
	for attempt := 1; ; attempt++ {
		s.clientURL = url.URL{Scheme: scheme, Host: freeAddr(t)}
		s.peerURL = url.URL{Scheme: "http", Host: freeAddr(t)}
		err := s.start(0)
		if err == nil {
			break
		}
		// etcd does not always wrap the listener's error: its text is checked too.
		inUse := errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use")
		if !inUse || attempt == 5 {
			t.Fatalf("start embedded etcd: %v", err)
		}
	}
	t.Cleanup(s.Stop)
	return s
}

// Endpoints returns the client endpoints to dial (https:// URLs when serving TLS).
func (s *Server) Endpoints() []string {
	if s.clientURL.Scheme == "https" {
		return []string{s.clientURL.String()}
	}
	return []string{s.clientURL.Host}
}

// Client returns a client closed when the test ends (before the server stops).
func (s *Server) Client() *clientv3.Client {
	s.t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   s.Endpoints(),
		DialTimeout: 2 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		s.t.Fatalf("etcd client: %v", err)
	}
	s.t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// Stop stops the server; its data stays, so Restart brings back the same keys.
func (s *Server) Stop() {
	if s.etcd == nil {
		return
	}
	s.etcd.Close()
	s.etcd = nil
}

// Restart starts the server (again) on the same data directory and address.
func (s *Server) Restart() {
	s.t.Helper()
	// A port released by the previous run can stay busy for a moment.
	if err := s.start(5 * time.Second); err != nil {
		s.t.Fatalf("start embedded etcd: %v", err)
	}
}

// start starts etcd on s's addresses, retrying a failed start for up to retryFor.
func (s *Server) start(retryFor time.Duration) error {
	cfg := embed.NewConfig()
	cfg.Dir = s.dir
	cfg.Name = "test"
	cfg.TickMs = 10
	cfg.ElectionMs = 100
	// The server logs its own shutdown as errors; tests read their own logs instead.
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.ListenClientUrls = []url.URL{s.clientURL}
	cfg.AdvertiseClientUrls = []url.URL{s.clientURL}
	cfg.ListenPeerUrls = []url.URL{s.peerURL}
	cfg.AdvertisePeerUrls = []url.URL{s.peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ClientTLSInfo = s.tls
	cfg.BcryptCost = 4 // the minimum: password checks in auth tests stay fast under -race
	deadline := time.Now().Add(retryFor)
	e, err := embed.StartEtcd(cfg)
	for err != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // retry pacing, not synchronisation
		e, err = embed.StartEtcd(cfg)
	}
	if err != nil {
		return err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(10 * time.Second):
		e.Close()
		return errors.New("embedded etcd not ready within 10s")
	}
	s.etcd = e
	return nil
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}
