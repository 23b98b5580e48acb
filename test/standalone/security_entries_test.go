//go:build integration

package standalone_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/logcollect/logcollect/internal/testing/await"
)

// TestStandaloneEntrySecurity: entries may name only allowed files, only collect keys are
// editable through the API, and the embedded etcd answers only to its root password.
func TestStandaloneEntrySecurity(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	o := newOpts(t, "--collect", filepath.Join(logs, "*.log")+"=app")
	p := start(t, o)
	same := map[string]string{"Origin": p.base}

	t.Run("PUT of /etc/shadow is a 400 naming the path and agent.allowed_paths", func(t *testing.T) {
		for _, path := range []string{"/etc/shadow", "/root/.ssh/id_ed25519", "/**", "/var/log/../etc/shadow"} {
			var e map[string]any
			body := map[string]any{"entries": []map[string]any{{"path": path, "topic": "x"}}, "revision": 0}
			code := p.put("/api/entries/collect_log_conf", body, &e, same)
			msg, _ := e["error"].(string)
			if code != 400 || !strings.Contains(msg, path) || !strings.Contains(msg, "agent.allowed_paths") {
				t.Errorf("PUT %s: %d %v; want 400 naming the path and agent.allowed_paths", path, code, e)
			}
		}
	})

	t.Run("PUT and GET of a registration key are refused", func(t *testing.T) {
		var e map[string]any
		body := map[string]any{"entries": []map[string]any{}, "revision": 0}
		code := p.put("/api/entries/%2Flogcollect%2Fagents%2Fvm", body, &e, same)
		if msg, _ := e["error"].(string); code != 403 || !strings.Contains(msg, "etcd.collect_keys") {
			t.Errorf("PUT registration key: %d %v; want 403 naming etcd.collect_keys", code, e)
		}
		if code := p.get("/api/entries/%2Flogcollect%2Fagents%2Fvm", &e); code != 403 {
			t.Errorf("GET registration key: %d %v; want 403", code, e)
		}
	})

	t.Run("etcd refuses a client without the password", func(t *testing.T) {
		for name, cfg := range map[string]clientv3.Config{
			"no user":        {Endpoints: []string{p.etcd}},
			"wrong password": {Endpoints: []string{p.etcd}, Username: "root", Password: "guess"},
		} {
			cfg.Logger, cfg.DialTimeout = zap.NewNop(), 5*time.Second
			err := putWith(cfg, "collect_log_conf", `[{"path":"/etc/shadow","topic":"x"}]`)
			if err == nil || !(strings.Contains(err.Error(), "user name is empty") || strings.Contains(err.Error(), "authentication failed")) {
				t.Errorf("%s: put = %v; want an auth error", name, err)
			}
		}
		out, err := exec.Command("etcdctl", "--endpoints", p.etcd, "put", "collect_log_conf", "[]").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "user name is empty") {
			t.Errorf("etcdctl without a user: %v %s; want an auth error", err, out)
		}
	})

	t.Run("ctl --data-dir writes allowed entries and refuses the others", func(t *testing.T) {
		// Not *.log: a file matched by two entries is read by whichever claims it first,
		// and the start-up entry (logs/*.log) would race this one for it.
		path := filepath.Join(logs, "ctl.txt")
		// start: beginning. With the default (end) the line is lost when the file is
		// created before the agent has applied the entry: it existed at the apply.
		entry := fmt.Sprintf(`{"path":%q,"topic":"ctl","start":"beginning"}`, path)
		if out, err := p.ctl("entries", "add", "--key", "collect_log_conf", "--entry", entry); err != nil {
			t.Fatalf("ctl add %s: %v\n%s", path, err, out)
		}
		appendLines(t, path, "line from ctl")
		await.Until(t, 10*time.Second, "the ctl entry's file to be collected", func() bool {
			return len(p.search("topic:ctl", "").Hits) == 1
		})
		out, err := p.ctl("entries", "add", "--key", "collect_log_conf", "--path", "/etc/shadow", "--topic", "x")
		if err == nil || !strings.Contains(out, "/etc/shadow") || !strings.Contains(out, "agent.allowed_paths") {
			t.Errorf("ctl add /etc/shadow: %v %s; want refused naming the path and agent.allowed_paths", err, out)
		}
	})

	t.Run("nobody cannot read the password file", func(t *testing.T) {
		file := filepath.Join(o.dataDir, "etcd-root-password")
		fi, err := os.Stat(file)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v; want mode 0600", file, fi.Mode(), err)
		}
		out, err := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "cat", file).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Permission denied") {
			t.Errorf("nobody read the password: %v %s", err, out)
		}
	})

	t.Run("a restart reuses the password", func(t *testing.T) {
		before, err := os.ReadFile(filepath.Join(o.dataDir, "etcd-root-password"))
		if err != nil {
			t.Fatal(err)
		}
		p.Stop()
		p = start(t, o)
		after, err := os.ReadFile(filepath.Join(o.dataDir, "etcd-root-password"))
		if err != nil || string(after) != string(before) {
			t.Fatalf("password changed across a restart (%v)", err)
		}
		if out, err := p.ctl("entries", "get", "--key", "collect_log_conf"); err != nil || !strings.Contains(out, "ctl.txt") {
			t.Fatalf("ctl get after restart: %v\n%s", err, out)
		}
	})
}

func putWith(cfg clientv3.Config, key, value string) error {
	cli, err := clientv3.New(cfg)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = cli.Put(ctx, key, value)
	return err
}

// TestStandaloneRefusesUnsafeStarts: a non-loopback --etcd-listen and a data dir without
// room for etcd's write-ahead log are clear errors, not an open etcd or a panic.
func TestStandaloneRefusesUnsafeStarts(t *testing.T) {
	t.Run("non-loopback --etcd-listen", func(t *testing.T) {
		o := newOpts(t)
		o.etcdAddr = "0.0.0.0:0"
		q := startNoWait(t, o)
		if err := q.Wait(); err == nil {
			t.Fatal("started with --etcd-listen 0.0.0.0:0")
		}
		if log := q.Log(); !strings.Contains(log, "--etcd-listen 0.0.0.0:0 is not a loopback address") ||
			!strings.Contains(log, "no TLS") {
			t.Fatalf("error does not explain: %s", log)
		}
	})

	t.Run("a data dir too small for etcd", func(t *testing.T) {
		small := t.TempDir()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=30m", "tmpfs", small).CombinedOutput(); err != nil {
			t.Fatalf("mount a 30 MiB tmpfs (needs root): %v %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("umount", small).Run() })
		o := newOpts(t)
		o.dataDir = filepath.Join(small, "data")
		q := startNoWait(t, o)
		if err := q.Wait(); err == nil {
			t.Fatal("started on a 30 MiB data dir")
		}
		log := q.Log()
		if !strings.Contains(log, "--data-dir") || !strings.Contains(log, "needs at least 128 MiB free") || strings.Contains(log, "panic") {
			t.Fatalf("error does not explain: %s", log)
		}
	})
}
