package standalone

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// startEtcd starts the embedded etcd with its data in dir, serving clients on listen.
func startEtcd(dir, listen string) (*embed.Etcd, error) {
	if err := probe("--etcd-listen", listen); err != nil {
		return nil, err
	}
	peer, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Dir = filepath.Join(dir)
	cfg.Name = "standalone"
	// One member on this machine: short ticks make it ready in well under a second.
	cfg.TickMs = 50
	cfg.ElectionMs = 500
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	client := url.URL{Scheme: "http", Host: listen}
	peerURL := url.URL{Scheme: "http", Host: peer}
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd (--etcd-listen %s, data %s): %w", listen, dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(30 * time.Second):
		e.Close()
		return nil, errors.New("embedded etcd: not ready within 30s")
	}
}

// probe fails with a message naming the flag when addr cannot be bound (port taken).
func probe(flag, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			_, port, _ := net.SplitHostPort(addr)
			return fmt.Errorf("%s %s: port %s is already in use (another logcollect or etcd running?); choose another with %s HOST:PORT",
				flag, addr, port, flag)
		}
		return fmt.Errorf("%s %s: %w", flag, addr, err)
	}
	return l.Close()
}

// freeAddr returns a free 127.0.0.1 port for the etcd peer listener, which nothing else
// uses.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port for etcd's peer listener: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
