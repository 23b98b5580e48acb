package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/control/registration"
	"github.com/logcollect/logcollect/internal/testing/etcdtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type result struct {
	stdout, stderr string
	err            error
}

// ctlRun runs one ctl command against the embedded etcd with agent.allowed_paths set.
func ctlRun(t *testing.T, srv *etcdtest.Server, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := Env{
		Stdin:  strings.NewReader(stdin),
		Stdout: &out,
		Stderr: &errb,
		LoadConfig: func(string) (config.Config, error) {
			cfg := config.Default()
			cfg.Agent.AllowedPaths = []string{"/var/log/**"}
			cfg.Etcd.DialTimeout = config.Duration(2 * time.Second)
			return cfg, nil
		},
		DefaultConfig: filepath.Join(t.TempDir(), "none.yaml"),
	}
	full := append([]string{"--config", "test.yaml", "--endpoints", strings.Join(srv.Endpoints(), ",")}, args...)
	err := Run(context.Background(), env, full)
	return result{out.String(), errb.String(), err}
}

func getValue(t *testing.T, cli *clientv3.Client, key string) (string, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return "", 0
	}
	return string(resp.Kvs[0].Value), resp.Kvs[0].ModRevision
}

func putValue(t *testing.T, cli *clientv3.Client, key, val string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, key, val); err != nil {
		t.Fatal(err)
	}
}

func TestEntriesSetGetAddRemove(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	const key = "collect_log_conf"

	r := ctlRun(t, srv, `[{"path":"/var/log/a.log","topic":"a_log"}]`, "entries", "set", "--key", key, "--file", "-")
	if r.err != nil {
		t.Fatalf("set: %v %s", r.err, r.stderr)
	}
	if v, _ := getValue(t, cli, key); v != `[{"path":"/var/log/a.log","topic":"a_log"}]` {
		t.Fatalf("stored %q", v)
	}

	r = ctlRun(t, srv, "", "entries", "add", "--key", key, "--path", "/var/log/b.log", "--topic", "b_log")
	if r.err != nil {
		t.Fatalf("add: %v", r.err)
	}
	r = ctlRun(t, srv, "", "entries", "add", "--key", key, "--entry", `{"path":"/var/log/c/*.log","topic":"c","start":"beginning"}`)
	if r.err != nil {
		t.Fatalf("add --entry: %v", r.err)
	}
	r = ctlRun(t, srv, "", "entries", "add", "--key", key, "--path", "/var/log/b.log", "--topic", "other")
	if r.err == nil || !strings.Contains(r.err.Error(), "already has an entry") {
		t.Fatalf("add duplicate: err = %v", r.err)
	}
	r = ctlRun(t, srv, "", "entries", "remove", "--key", key, "--path", "/var/log/a.log")
	if r.err != nil {
		t.Fatalf("remove: %v", r.err)
	}
	r = ctlRun(t, srv, "", "entries", "remove", "--key", key, "--path", "/var/log/nope.log")
	if !errors.Is(r.err, ErrNotFound) || ExitCode(r.err) != ExitError {
		t.Fatalf("remove missing: err = %v", r.err)
	}

	r = ctlRun(t, srv, "", "entries", "get", "--key", key)
	if r.err != nil {
		t.Fatalf("get: %v", r.err)
	}
	var got []entry.Entry
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("get output is not a JSON array: %v\n%s", err, r.stdout)
	}
	if len(got) != 2 || got[0].Path != "/var/log/b.log" || got[1].Path != "/var/log/c/*.log" || got[1].Start != entry.StartBeginning {
		t.Fatalf("entries = %+v", got)
	}
	_, rev := getValue(t, cli, key)
	if !strings.Contains(r.stderr, "mod_revision "+itoa(rev)) {
		t.Fatalf("get stderr lacks the mod revision %d: %q", rev, r.stderr)
	}
	// The output of get feeds set unchanged.
	r = ctlRun(t, srv, r.stdout, "entries", "set", "--key", key, "--file", "-", "--rev", itoa(rev))
	if r.err != nil {
		t.Fatalf("set from get output: %v", r.err)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestEntriesSetRejectsInvalid(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	const key = "collect_log_conf"
	putValue(t, cli, key, `[{"path":"/var/log/a.log","topic":"a"}]`)
	tests := []struct {
		name, value, want string
	}{
		{"bad json", `[{"path":`, "decode entries"},
		{"missing topic", `[{"path":"/var/log/x.log"}]`, "topic: required"},
		{"unknown field", `[{"path":"/var/log/x.log","topic":"t","bogus":1}]`, "unknown field"},
		{"outside allowed_paths", `[{"path":"/etc/passwd","topic":"t"}]`, "allowed_paths"},
		{"bad regex", `[{"path":"/var/log/x.log","topic":"t","exclude_lines":["[" ]}]`, "exclude_lines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "e.json")
			if err := os.WriteFile(f, []byte(tt.value), 0o600); err != nil {
				t.Fatal(err)
			}
			r := ctlRun(t, srv, "", "entries", "set", "--key", key, "--file", f)
			if !errors.Is(r.err, ErrInvalid) || !strings.Contains(r.err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalid mentioning %q", r.err, tt.want)
			}
			if v, _ := getValue(t, cli, key); v != `[{"path":"/var/log/a.log","topic":"a"}]` {
				t.Fatalf("value changed to %q", v)
			}
		})
	}
}

func TestEntriesSetRaceExactlyOneWins(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	const key = "collect_log_conf"
	putValue(t, cli, key, `[{"path":"/var/log/a.log","topic":"a"}]`)
	_, rev := getValue(t, cli, key)

	// Both editors read revision rev, then write at the same moment.
	const n = 2
	var wg sync.WaitGroup
	results := make([]result, n)
	startGun := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-startGun
			val := `[{"path":"/var/log/a.log","topic":"writer` + itoa(int64(i)) + `"}]`
			results[i] = ctlRun(t, srv, val, "entries", "set", "--key", key, "--file", "-", "--rev", itoa(rev))
		})
	}
	close(startGun)
	wg.Wait()
	wins, conflicts := 0, 0
	for _, r := range results {
		switch {
		case r.err == nil:
			wins++
		case errors.Is(r.err, ErrConflict) && ExitCode(r.err) == ExitConflict:
			conflicts++
			if !strings.Contains(r.err.Error(), "changed since it was read") {
				t.Errorf("conflict message unclear: %v", r.err)
			}
		default:
			t.Errorf("unexpected error: %v", r.err)
		}
	}
	if wins != 1 || conflicts != 1 {
		t.Fatalf("wins=%d conflicts=%d, want 1 and 1", wins, conflicts)
	}
	// --force overwrites regardless.
	r := ctlRun(t, srv, `[]`, "entries", "set", "--key", key, "--file", "-", "--force")
	if r.err != nil {
		t.Fatalf("--force: %v", r.err)
	}
	// --rev 0 creates only.
	r = ctlRun(t, srv, `[]`, "entries", "set", "--key", key, "--file", "-", "--rev", "0")
	if !errors.Is(r.err, ErrConflict) {
		t.Fatalf("--rev 0 on an existing key: err = %v, want conflict", r.err)
	}
}

func TestAddRetriesOnConcurrentChange(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	const key = "collect_log_conf"
	putValue(t, cli, key, `[]`)
	var wg sync.WaitGroup
	const n = 4
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			p := "/var/log/p" + itoa(int64(i)) + ".log"
			errs[i] = ctlRun(t, srv, "", "entries", "add", "--key", key, "--path", p, "--topic", "t").err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent add: %v", err)
		}
	}
	v, _ := getValue(t, cli, key)
	list, err := entry.ParseList([]byte(v), nil)
	if err != nil || len(list) != n {
		t.Fatalf("after %d concurrent adds: %d entries (%v): %s", n, len(list), err, v)
	}
}

func TestKeysAndGetAll(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	putValue(t, cli, "collect_log_conf", `[{"path":"/var/log/a.log","topic":"a"}]`)
	putValue(t, cli, "collect_log_10.0.0.7_conf", `[{"path":"/var/log/b.log","topic":"b"},{"path":"/var/log/c.log","topic":"c"}]`)
	putValue(t, cli, "collect_log_10.0.0.8_conf", `broken`)
	putValue(t, cli, "collect_log_other", `[]`) // matches no template

	r := ctlRun(t, srv, "", "keys")
	if r.err != nil {
		t.Fatalf("keys: %v", r.err)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "KEY") ||
		!strings.HasPrefix(lines[1], "collect_log_10.0.0.7_conf  2") ||
		!strings.Contains(lines[2], "INVALID") ||
		!strings.HasPrefix(lines[3], "collect_log_conf") {
		t.Fatalf("keys table:\n%s", r.stdout)
	}
	r = ctlRun(t, srv, "", "entries", "get")
	if r.err != nil {
		t.Fatalf("get all: %v", r.err)
	}
	var all map[string]struct {
		Entries []entry.Entry `json:"entries"`
		Error   string        `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || len(all["collect_log_10.0.0.7_conf"].Entries) != 2 || all["collect_log_10.0.0.8_conf"].Error == "" {
		t.Fatalf("get all = %s", r.stdout)
	}
}

func TestAgents(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	rec := registration.Record{ID: "web1", Hostname: "web1.example", IP: "10.0.0.7", Version: "1.2.3",
		StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Files: []string{"/var/log/a.log"}}
	b, _ := json.Marshal(rec)
	putValue(t, cli, registration.Key("web1"), string(b))

	r := ctlRun(t, srv, "", "agents")
	if r.err != nil {
		t.Fatalf("agents: %v", r.err)
	}
	if !strings.Contains(r.stdout, "web1  ") || !strings.Contains(r.stdout, "10.0.0.7") || !strings.Contains(r.stdout, "2026-01-02T03:04:05Z") {
		t.Fatalf("agents table:\n%s", r.stdout)
	}
	r = ctlRun(t, srv, "", "agents", "--json")
	var list []registration.Record
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 1 || list[0].Version != "1.2.3" {
		t.Fatalf("agents --json = %s (%v)", r.stdout, err)
	}
}

func TestUsageErrors(t *testing.T) {
	srv := etcdtest.Start(t)
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no command", nil, ExitUsage},
		{"unknown command", []string{"frobnicate"}, ExitUsage},
		{"entries without sub", []string{"entries"}, ExitUsage},
		{"set without key", []string{"entries", "set", "--file", "-"}, ExitUsage},
		{"force and rev", []string{"entries", "set", "--key", "k", "--file", "-", "--force", "--rev", "3"}, ExitUsage},
		{"unknown flag", []string{"keys", "--bogus"}, ExitUsage},
		{"help", []string{"--help"}, ExitOK},
		{"sub help", []string{"entries", "set", "--help"}, ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ctlRun(t, srv, "", tt.args...)
			if got := ExitCode(r.err); got != tt.code {
				t.Fatalf("exit code %d (err %v), want %d", got, r.err, tt.code)
			}
		})
	}
}

func TestUnreachableEtcdIsAClearError(t *testing.T) {
	var out, errb bytes.Buffer
	env := Env{Stdout: &out, Stderr: &errb, DefaultConfig: filepath.Join(t.TempDir(), "none.yaml"),
		LoadConfig: func(string) (config.Config, error) {
			cfg := config.Default()
			cfg.Etcd.DialTimeout = config.Duration(500 * time.Millisecond)
			return cfg, nil
		}}
	// Nothing listens on 127.0.0.1:1.
	err := Run(context.Background(), env, []string{"--config", "x.yaml", "--endpoints", "127.0.0.1:1", "keys"})
	if err == nil || !strings.Contains(err.Error(), "did not answer") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("err = %v, want a message naming the endpoint", err)
	}
	if ExitCode(err) != ExitError {
		t.Fatalf("exit code %d, want %d", ExitCode(err), ExitError)
	}
}
