package standalone

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.uber.org/zap"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/etcdconf"
	"github.com/logcollect/logcollect/internal/standalone/datadir"
)

// minFreeBytes is the free space the embedded etcd needs in a new data dir: its first
// write-ahead log file is preallocated (walSegmentBytes), its database grows by 16 MiB
// steps, and etcd panics when either fails.
const minFreeBytes = 128 << 20

// walSegmentBytes is the size each of the embedded etcd's WAL files is preallocated at:
// 4 MiB, not etcd's 64 MB, which is sized for a cluster's write rate. The config store
// takes a few writes a minute (entry edits, agent registrations) of under a KiB each:
// a 4 MiB file holds thousands of them, several snapshots' worth (SnapshotCount), and
// the standalone's data dir is 60 MB smaller (issue 22: disk after shutdown).
const walSegmentBytes = 4 << 20

// startEtcd starts the embedded etcd with its data in dir, serving clients on listen.
func startEtcd(dir, listen string) (*embed.Etcd, error) {
	if err := probe("--etcd-listen", listen); err != nil {
		return nil, err
	}
	if err := checkFreeSpace(dir); err != nil {
		return nil, err
	}
	peer, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// etcd sizes WAL files by a package variable, not a Config field; the standalone runs
	// one etcd per process, started here, so it is set before etcd reads it.
	if wal.SegmentSizeBytes != walSegmentBytes {
		wal.SegmentSizeBytes = walSegmentBytes
	}
	cfg := embed.NewConfig()
	cfg.Dir = filepath.Join(dir)
	cfg.Name = "standalone"
	// One member on this machine: short ticks make it ready in well under a second.
	cfg.TickMs = 50
	cfg.ElectionMs = 500
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	// A small config store: collect entries and agent registrations. A snapshot every
	// 1000 writes lets etcd drop old WAL files (2 kept, walSegmentBytes each); hourly compaction
	// keeps the history short, so a 256 MiB quota is far from reached.
	cfg.SnapshotCount = 1000
	cfg.MaxWalFiles = 2
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "1h"
	cfg.QuotaBackendBytes = 256 << 20
	client := url.URL{Scheme: "http", Host: listen}
	peerURL := url.URL{Scheme: "http", Host: peer}
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := startEmbed(cfg)
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

// startEmbed is embed.StartEtcd with its panics (a WAL it cannot create, a corrupt data
// dir) turned into errors.
func startEmbed(cfg *embed.Config) (e *embed.Etcd, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("etcd panicked while starting: %v", r)
		}
	}()
	return embed.StartEtcd(cfg)
}

// checkEtcdListen refuses a non-loopback --etcd-listen: the embedded etcd serves plain
// HTTP, so its password would cross the network in clear.
func checkEtcdListen(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--etcd-listen %q: must be host:port", listen)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("--etcd-listen %s is not a loopback address: the embedded etcd has no TLS, so it only listens on "+
		"127.0.0.1 or ::1; to share entries across machines run an etcd cluster with TLS and point agents at it "+
		"(docs/etcd.md)", listen)
}

// checkFreeSpace fails with a clear error when a new etcd data dir lacks the room for its
// write-ahead log (an existing one already has its WAL file).
func checkFreeSpace(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "member")); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	var st syscall.Statfs_t
	if err := syscall.Statfs(parent, &st); err != nil {
		return fmt.Errorf("--data-dir %s: free space: %w", parent, err)
	}
	free := st.Bavail * uint64(st.Bsize)
	if free < minFreeBytes {
		return fmt.Errorf("--data-dir %s: needs at least %d MiB free for the embedded etcd's write-ahead log, has %d MiB",
			parent, minFreeBytes>>20, free>>20)
	}
	return nil
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

// rootUser is the embedded etcd's one user: the standalone and `logcollect ctl --data-dir`.
const rootUser = "root"

// connectEtcd connects to the embedded etcd as root with the password kept in dataDir
// (created on first start) and turns etcd's authentication on if it is not yet, so that
// other local users cannot write entries into it.
func connectEtcd(ctx context.Context, ec config.Etcd, dataDir string, log *slog.Logger) (*clientv3.Client, error) {
	pw, created, err := datadir.RootPassword(dataDir)
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("embedded etcd: generated its root password", "file", filepath.Join(dataDir, datadir.PasswordFile))
	}
	ec.Username, ec.Password = rootUser, pw
	cli, err := etcdconf.NewClient(ec)
	if err != nil {
		return nil, err
	}
	enabled, err := enableAuth(ctx, cli, pw)
	if err == nil && enabled {
		// The client connected while auth was off, so it holds no token: start afresh.
		_ = cli.Close()
		cli, err = etcdconf.NewClient(ec)
	}
	if err == nil {
		err = checkRoot(ctx, cli, filepath.Join(dataDir, datadir.PasswordFile))
	}
	if err != nil {
		if cli != nil {
			_ = cli.Close()
		}
		return nil, err
	}
	return cli, nil
}

// enableAuth creates the root user with pw and enables auth, unless auth is on already.
// Each step tolerates having been done by an earlier start that died half-way.
func enableAuth(ctx context.Context, cli *clientv3.Client, pw string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := cli.AuthStatus(ctx)
	if err != nil {
		return false, fmt.Errorf("embedded etcd: auth status: %w", err)
	}
	if st.Enabled {
		return false, nil
	}
	if _, err := cli.UserAdd(ctx, rootUser, pw); errors.Is(err, rpctypes.ErrUserAlreadyExist) {
		_, err = cli.UserChangePassword(ctx, rootUser, pw)
		if err != nil {
			return false, fmt.Errorf("embedded etcd: set the root password: %w", err)
		}
	} else if err != nil {
		return false, fmt.Errorf("embedded etcd: add user root: %w", err)
	}
	if _, err := cli.UserGrantRole(ctx, rootUser, "root"); err != nil {
		return false, fmt.Errorf("embedded etcd: grant role root: %w", err)
	}
	if _, err := cli.AuthEnable(ctx); err != nil {
		return false, fmt.Errorf("embedded etcd: enable auth: %w", err)
	}
	return true, nil
}

// checkRoot makes one authenticated request, so a password file that no longer matches
// fails the start with its name rather than every later request.
func checkRoot(ctx context.Context, cli *clientv3.Client, file string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := cli.Get(ctx, "/logcollect/auth-check", clientv3.WithCountOnly()); err != nil {
		return fmt.Errorf("embedded etcd: authenticate as root with the password in %s: %w", file, err)
	}
	return nil
}
