// Package ctl is `logcollect ctl`: it edits the collect entries stored in etcd and lists the
// live agents. Every write is validated first with the agent's own rules, and goes through
// an etcd transaction on the key's mod revision so that a concurrent edit is never
// overwritten silently.
package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/control/entryedit"
	"github.com/logcollect/logcollect/internal/control/etcdconf"
	"github.com/logcollect/logcollect/internal/control/registration"
	"github.com/logcollect/logcollect/internal/standalone/datadir"
)

// Errors callers branch on (exit codes).
var (
	// ErrUsage: the command line is wrong.
	ErrUsage = errors.New("usage")
	// ErrConflict: the key changed since it was read; nothing was written. It is
	// entryedit's own sentinel, so the API's 409 and ctl's exit code test one error.
	ErrConflict = entryedit.ErrConflict
	// ErrNotFound: the key or the entry does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the entries to write do not pass validation; nothing was written.
	ErrInvalid = errors.New("invalid entries")
)

// Exit codes of `logcollect ctl`.
const (
	ExitOK       = 0
	ExitError    = 1
	ExitUsage    = 2
	ExitConflict = 3
)

// ExitCode maps an error returned by Run to the process exit code.
func ExitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.Is(err, ErrUsage):
		return ExitUsage
	case errors.Is(err, ErrConflict):
		return ExitConflict
	default:
		return ExitError
	}
}

// Env is what ctl needs from the process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// LoadConfig reads a config file (config.Load).
	LoadConfig func(path string) (config.Config, error)
	// DefaultConfig is the --config default; when that file does not exist the built-in
	// defaults are used, so `ctl --endpoints ...` works without a config file.
	DefaultConfig string
}

// Usage is the text of `logcollect ctl --help`.
const Usage = `Usage: logcollect ctl [--config FILE] [--endpoints HOST:PORT,...] [--data-dir DIR] <command> [flags]

Manage the collect entries stored in etcd and list the live agents. The etcd connection
(endpoints, TLS, username/password) comes from the etcd section of the config file;
--endpoints overrides etcd.endpoints. --data-dir DIR talks to the embedded etcd of the
'logcollect standalone --data-dir DIR' on this machine: its address, its root password
(DIR/etcd-root-password, readable only by the user running the standalone) and its
agent.allowed_paths come from DIR.

Commands:
  entries get [--key K]                       print the entries of one key, or of every collect key
  entries set --key K --file F|- [--rev N] [--force]
                                              replace a key's entries with a validated JSON array
  entries add --key K --path P --topic T      add one entry (or --entry '{"path":...}')
  entries remove --key K --path P             remove the entry for one path
  keys [--json]                               list the collect keys present in etcd
  agents [--json]                             list the live agents

Safe editing: 'entries get --key K' prints the key's mod revision on stderr. Pass it to
'entries set --rev N': the write is refused (exit code 3) if anyone changed the key since.
Without --rev, set only guards against a change between its own read and write; --force
writes unconditionally. add and remove re-read and retry by themselves.

Exit codes: 0 ok, 1 error (etcd unreachable, invalid entries, not found), 2 usage, 3 conflict.

Examples:
  logcollect ctl entries get --key collect_log_conf > entries.json
  logcollect ctl entries set --key collect_log_conf --file entries.json --rev 42
  echo '[{"path":"/var/log/nginx/access.log","topic":"web_log"}]' | \
      logcollect ctl entries set --key collect_log_10.0.0.7_conf --file -
  logcollect ctl entries add --key collect_log_conf --path /var/log/app/*.log --topic app_log
  logcollect ctl entries remove --key collect_log_conf --path /var/log/app/*.log
  logcollect ctl --endpoints 127.0.0.1:2379 keys
  logcollect ctl agents --json
  logcollect ctl --data-dir data/standalone entries get
`

// common are the flags accepted before and after the command.
type common struct {
	config    string
	endpoints string
	dataDir   string
}

func (c *common) register(fs *flag.FlagSet, def string) {
	fs.StringVar(&c.config, "config", def, "config file (YAML, or the original .ini)")
	fs.StringVar(&c.endpoints, "endpoints", "", "etcd endpoints, comma-separated (overrides etcd.endpoints)")
	fs.StringVar(&c.dataDir, "data-dir", "", "a standalone's --data-dir: connect to its embedded etcd as root, with its allowlist")
}

// Run executes one ctl command line (the arguments after "ctl").
func Run(ctx context.Context, env Env, args []string) error {
	if env.DefaultConfig == "" {
		env.DefaultConfig = "logcollect.yaml"
	}
	if env.Stdin == nil {
		env.Stdin = os.Stdin
	}
	var top common
	fs := flag.NewFlagSet("logcollect ctl", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() { fmt.Fprint(env.Stderr, Usage) }
	top.register(fs, env.DefaultConfig)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(env.Stderr, Usage)
		return fmt.Errorf("%w: a command is required", ErrUsage)
	}
	c := &cmd{env: env, top: top}
	switch rest[0] {
	case "entries":
		if len(rest) < 2 {
			return fmt.Errorf("%w: entries needs a subcommand: get, set, add or remove", ErrUsage)
		}
		switch rest[1] {
		case "get":
			return c.entriesGet(ctx, rest[2:])
		case "set":
			return c.entriesSet(ctx, rest[2:])
		case "add":
			return c.entriesAdd(ctx, rest[2:])
		case "remove", "rm":
			return c.entriesRemove(ctx, rest[2:])
		default:
			return fmt.Errorf("%w: unknown entries subcommand %q (get, set, add, remove)", ErrUsage, rest[1])
		}
	case "keys":
		return c.keys(ctx, rest[1:])
	case "agents":
		return c.agents(ctx, rest[1:])
	case "help":
		fmt.Fprint(env.Stdout, Usage)
		return nil
	default:
		return fmt.Errorf("%w: unknown command %q (entries, keys, agents)", ErrUsage, rest[0])
	}
}

type cmd struct {
	env Env
	top common
	sub common
	cfg config.Config
	cli *clientv3.Client
}

// flags returns a flag set for a subcommand that also takes --config and --endpoints.
func (c *cmd) flags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("logcollect ctl "+name, flag.ContinueOnError)
	fs.SetOutput(c.env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.env.Stderr, "Usage: logcollect ctl %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
		fmt.Fprint(c.env.Stderr, "\nRun 'logcollect ctl --help' for examples.\n")
	}
	c.sub.register(fs, "")
	return fs
}

func (c *cmd) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	return nil
}

// connect loads the config and dials etcd; the caller closes c.cli via close.
func (c *cmd) connect() error {
	path, explicit := c.top.config, c.top.config != c.env.DefaultConfig
	if c.sub.config != "" {
		path, explicit = c.sub.config, true
	}
	cfg := config.Default()
	if _, err := os.Stat(path); err == nil || explicit {
		if c.env.LoadConfig == nil {
			return errors.New("no config loader")
		}
		loaded, err := c.env.LoadConfig(path)
		if err != nil {
			return fmt.Errorf("load config: %w", err)
		}
		cfg = loaded
	}
	eps := c.top.endpoints
	if c.sub.endpoints != "" {
		eps = c.sub.endpoints
	}
	dataDir := c.top.dataDir
	if c.sub.dataDir != "" {
		dataDir = c.sub.dataDir
	}
	if dataDir != "" {
		if err := useStandalone(&cfg, dataDir); err != nil {
			return err
		}
	}
	if eps != "" {
		cfg.Etcd.Endpoints = splitList(eps)
	}
	if !etcdconf.Enabled(cfg.Etcd) {
		return fmt.Errorf("%w: no etcd: etcd.endpoints is empty in %s and --endpoints is not set", ErrUsage, path)
	}
	cli, err := etcdconf.NewClient(cfg.Etcd)
	if err != nil {
		return err
	}
	c.cfg, c.cli = cfg, cli
	return nil
}

// useStandalone points cfg at the embedded etcd of the standalone whose data dir is dir:
// its address, its root password (readable only by the user running the standalone) and,
// unless the config sets one, its effective agent.allowed_paths.
func useStandalone(cfg *config.Config, dir string) error {
	pw, err := datadir.ReadRootPassword(dir)
	if err != nil {
		return fmt.Errorf("--data-dir %s: %w (run ctl as the user that runs the standalone)", dir, err)
	}
	local, err := datadir.ReadClient(dir)
	if err != nil {
		return fmt.Errorf("--data-dir %s: %w", dir, err)
	}
	cfg.Etcd.Endpoints = []string{local.Endpoint}
	cfg.Etcd.TLS = config.TLS{}
	cfg.Etcd.Username, cfg.Etcd.Password = "root", pw
	if len(cfg.Agent.AllowedPaths) == 0 {
		cfg.Agent.AllowedPaths = local.AllowedPaths
	}
	return nil
}

func (c *cmd) close() {
	if c.cli != nil {
		_ = c.cli.Close()
	}
}

// reqCtx bounds one etcd request so an unreachable etcd gives a clear error, not a hang.
func (c *cmd) reqCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.reqTimeout())
}

func (c *cmd) reqTimeout() time.Duration {
	if d := time.Duration(c.cfg.Etcd.DialTimeout); d > 0 {
		return d
	}
	return 5 * time.Second
}

func (c *cmd) etcdErr(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: etcd at %s did not answer within %v (is it running? check --endpoints / etcd.endpoints)",
			what, strings.Join(c.cfg.Etcd.Endpoints, ","), time.Duration(c.cfg.Etcd.DialTimeout))
	}
	return fmt.Errorf("%s: %w", what, err)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// current is a key's value as read, with the revision writes compare against.
type current struct {
	exists  bool
	modRev  int64
	raw     []byte
	entries []entry.Entry
	err     error // the stored value does not parse or validate
}

func (c *cmd) read(ctx context.Context, key string) (current, error) {
	rctx, cancel := c.reqCtx(ctx)
	defer cancel()
	cur, err := entryedit.Read(rctx, c.cli, key, c.cfg.Agent.AllowedPaths)
	if err != nil {
		return current{}, c.etcdErr("read "+key, errors.Unwrap(err))
	}
	return current{exists: cur.Exists, modRev: cur.Revision, raw: cur.Raw, entries: cur.Entries, err: cur.Err}, nil
}

// write stores value if the key's mod revision is still rev (0: the key must not exist);
// force skips the comparison.
func (c *cmd) write(ctx context.Context, key string, value []byte, rev int64, force bool) (int64, error) {
	rctx, cancel := c.reqCtx(ctx)
	defer cancel()
	written, err := entryedit.Write(rctx, c.cli, key, value, rev, force)
	var conflict *entryedit.ConflictError
	switch {
	case errors.As(err, &conflict):
		return 0, fmt.Errorf("%w: %s changed since it was read (mod_revision %d, expected %d); nothing written. "+
			"Read it again with 'logcollect ctl entries get --key %s', or overwrite with --force",
			ErrConflict, key, conflict.Current, rev, key)
	case err != nil:
		return 0, c.etcdErr("write "+key, errors.Unwrap(err))
	}
	return written, nil
}

func (c *cmd) entriesGet(ctx context.Context, args []string) error {
	fs := c.flags("entries get", "[--key K]")
	key := fs.String("key", "", "the collect key to print (default: every collect key present)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if err := c.connect(); err != nil {
		return err
	}
	defer c.close()
	if *key != "" {
		cur, err := c.read(ctx, *key)
		if err != nil {
			return err
		}
		if !cur.exists {
			return fmt.Errorf("%w: key %s does not exist", ErrNotFound, *key)
		}
		fmt.Fprintf(c.env.Stderr, "# key %s mod_revision %d (pass --rev %d to 'entries set')\n", *key, cur.modRev, cur.modRev)
		if cur.err != nil {
			// Print the stored bytes so the operator can fix them, and say why they fail.
			fmt.Fprintf(c.env.Stdout, "%s\n", cur.raw)
			return fmt.Errorf("%w: the stored value of %s is rejected by agents: %v", ErrInvalid, *key, cur.err)
		}
		return printJSON(c.env.Stdout, orEmpty(cur.entries))
	}
	keys, err := c.listKeys(ctx)
	if err != nil {
		return err
	}
	type keyOut struct {
		ModRevision int64         `json:"mod_revision"`
		Entries     []entry.Entry `json:"entries,omitempty"`
		Error       string        `json:"error,omitempty"`
		Raw         string        `json:"raw,omitempty"`
	}
	out := make(map[string]keyOut, len(keys))
	for _, k := range keys {
		o := keyOut{ModRevision: k.modRev, Entries: orEmpty(k.entries)}
		if k.err != nil {
			o = keyOut{ModRevision: k.modRev, Error: k.err.Error(), Raw: string(k.raw)}
		}
		out[k.key] = o
	}
	return printJSON(c.env.Stdout, out)
}

func orEmpty(l []entry.Entry) []entry.Entry {
	if l == nil {
		return []entry.Entry{}
	}
	return l
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func (c *cmd) entriesSet(ctx context.Context, args []string) error {
	fs := c.flags("entries set", "--key K --file F|- [--rev N] [--force]")
	key := fs.String("key", "", "the collect key to write (required)")
	file := fs.String("file", "", "JSON array of entries to store; - reads stdin (required)")
	rev := fs.Int64("rev", -1, "write only if the key's mod revision is still N (from 'entries get'); 0: only if the key does not exist")
	force := fs.Bool("force", false, "overwrite whatever the key holds now")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if *key == "" || *file == "" {
		return fmt.Errorf("%w: entries set needs --key and --file", ErrUsage)
	}
	if *force && *rev >= 0 {
		return fmt.Errorf("%w: --force and --rev exclude each other", ErrUsage)
	}
	var data []byte
	var err error
	if *file == "-" {
		data, err = io.ReadAll(c.env.Stdin)
	} else {
		data, err = os.ReadFile(*file)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", *file, err)
	}
	if err := c.connect(); err != nil {
		return err
	}
	defer c.close()
	// Validate with the same rules and allowlist as the agents, before anything is written.
	if _, err := entry.ParseList(data, c.cfg.Agent.AllowedPaths); err != nil {
		return fmt.Errorf("%w: %s: %v; nothing written", ErrInvalid, *file, err)
	}
	value := []byte(strings.TrimSpace(string(data)))
	expect := *rev
	if expect < 0 && !*force {
		cur, err := c.read(ctx, *key)
		if err != nil {
			return err
		}
		expect = cur.modRev
	}
	written, err := c.write(ctx, *key, value, expect, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.env.Stdout, "%s set (mod_revision %d)\n", *key, written)
	return nil
}

// modify applies change to a key's entries (entryedit.Modify: read, change,
// compare-and-write, retried on conflict unless the caller pinned a revision) and words
// its errors for the command line.
func (c *cmd) modify(ctx context.Context, key string, pinned int64, change func([]entry.Entry) ([]entry.Entry, error)) (int64, error) {
	written, err := entryedit.Modify(ctx, c.cli, key, c.cfg.Agent.AllowedPaths, pinned, c.reqTimeout(),
		func(cur []entry.Entry) ([]entry.Entry, bool, error) {
			next, err := change(cur)
			return next, true, err
		})
	var conflict *entryedit.ConflictError
	var field *entryedit.FieldError
	switch {
	case errors.As(err, &conflict):
		return 0, fmt.Errorf("%w: %s changed since it was read (mod_revision %d, expected %d); nothing written",
			ErrConflict, key, conflict.Current, conflict.Expected)
	case errors.Is(err, entryedit.ErrStoredInvalid):
		return 0, fmt.Errorf("%w: %v; fix it with 'entries set'", ErrInvalid, err)
	case errors.As(err, &field):
		return 0, fmt.Errorf("%w: %v; nothing written", ErrInvalid, err)
	case errors.Is(err, context.DeadlineExceeded):
		return 0, c.etcdErr("change "+key, err)
	}
	return written, err
}

func (c *cmd) entriesAdd(ctx context.Context, args []string) error {
	fs := c.flags("entries add", "--key K (--path P --topic T | --entry JSON) [--replace]")
	key := fs.String("key", "", "the collect key to change (required)")
	path := fs.String("path", "", "file path or glob of the new entry")
	topic := fs.String("topic", "", "Kafka topic of the new entry")
	raw := fs.String("entry", "", `the whole entry as JSON, e.g. '{"path":"/var/log/a.log","topic":"a","start":"beginning"}'`)
	replace := fs.Bool("replace", false, "replace an existing entry for the same path")
	rev := fs.Int64("rev", -1, "change only if the key's mod revision is still N")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	var e entry.Entry
	switch {
	case *key == "":
		return fmt.Errorf("%w: entries add needs --key", ErrUsage)
	case *raw != "" && (*path != "" || *topic != ""):
		return fmt.Errorf("%w: use either --entry or --path/--topic", ErrUsage)
	case *raw != "":
		list, err := entry.ParseList([]byte("["+*raw+"]"), nil)
		if err != nil {
			return fmt.Errorf("%w: --entry: %v", ErrInvalid, err)
		}
		e = list[0]
	case *path == "" || *topic == "":
		return fmt.Errorf("%w: entries add needs --path and --topic (or --entry)", ErrUsage)
	default:
		e = entry.Entry{Path: *path, Topic: *topic}
	}
	if err := c.connect(); err != nil {
		return err
	}
	defer c.close()
	written, err := c.modify(ctx, *key, *rev, func(list []entry.Entry) ([]entry.Entry, error) {
		for i, x := range list {
			if x.Path == e.Path {
				if !*replace {
					return nil, fmt.Errorf("%s already has an entry for %s (topic %s); use --replace or 'entries remove'", *key, e.Path, x.Topic)
				}
				list[i] = e
				return list, nil
			}
		}
		return append(list, e), nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.env.Stdout, "added %s → %s to %s (mod_revision %d)\n", e.Path, e.Topic, *key, written)
	return nil
}

func (c *cmd) entriesRemove(ctx context.Context, args []string) error {
	fs := c.flags("entries remove", "--key K --path P")
	key := fs.String("key", "", "the collect key to change (required)")
	path := fs.String("path", "", "path of the entry to remove (required)")
	rev := fs.Int64("rev", -1, "change only if the key's mod revision is still N")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if *key == "" || *path == "" {
		return fmt.Errorf("%w: entries remove needs --key and --path", ErrUsage)
	}
	if err := c.connect(); err != nil {
		return err
	}
	defer c.close()
	written, err := c.modify(ctx, *key, *rev, func(list []entry.Entry) ([]entry.Entry, error) {
		for i, x := range list {
			if x.Path == *path {
				return slices.Delete(list, i, i+1), nil
			}
		}
		return nil, fmt.Errorf("%w: %s has no entry for %s", ErrNotFound, *key, *path)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.env.Stdout, "removed %s from %s (mod_revision %d)\n", *path, *key, written)
	return nil
}

type keyInfo struct {
	key string
	current
}

// listKeys finds the collect keys present: the expansions of etcd.collect_keys for any
// host (placeholders match any text without '/').
func (c *cmd) listKeys(ctx context.Context) ([]keyInfo, error) {
	seen := map[string]bool{}
	var out []keyInfo
	for _, tmpl := range c.cfg.Etcd.CollectKeys {
		p := etcdconf.NewKeyPattern(tmpl)
		rctx, cancel := c.reqCtx(ctx)
		var resp *clientv3.GetResponse
		var err error
		if p.Exact() {
			resp, err = c.cli.Get(rctx, p.Prefix)
		} else {
			resp, err = c.cli.Get(rctx, p.Prefix, clientv3.WithPrefix())
		}
		cancel()
		if err != nil {
			return nil, c.etcdErr("list collect keys", err)
		}
		for _, kv := range resp.Kvs {
			k := string(kv.Key)
			if seen[k] || !p.Match(k) {
				continue
			}
			seen[k] = true
			cur := entryedit.Parse(kv.Value, kv.ModRevision, c.cfg.Agent.AllowedPaths)
			out = append(out, keyInfo{key: k, current: current{exists: true, modRev: cur.Revision, raw: cur.Raw,
				entries: cur.Entries, err: cur.Err}})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out, nil
}

func (c *cmd) keys(ctx context.Context, args []string) error {
	fs := c.flags("keys", "[--json]")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if err := c.connect(); err != nil {
		return err
	}
	defer c.close()
	keys, err := c.listKeys(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		type keyOut struct {
			Key         string `json:"key"`
			ModRevision int64  `json:"mod_revision"`
			Entries     int    `json:"entries"`
			Error       string `json:"error,omitempty"`
		}
		out := make([]keyOut, 0, len(keys))
		for _, k := range keys {
			o := keyOut{Key: k.key, ModRevision: k.modRev, Entries: len(k.entries)}
			if k.err != nil {
				o.Error = k.err.Error()
			}
			out = append(out, o)
		}
		return printJSON(c.env.Stdout, out)
	}
	if len(keys) == 0 {
		fmt.Fprintf(c.env.Stderr, "no collect keys in etcd matching %s\n", strings.Join(c.cfg.Etcd.CollectKeys, ", "))
		return nil
	}
	tw := tabwriter.NewWriter(c.env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tENTRIES\tMOD_REVISION\tSTATUS")
	for _, k := range keys {
		status := "ok"
		if k.err != nil {
			status = "INVALID: " + k.err.Error()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", k.key, len(k.entries), k.modRev, status)
	}
	return tw.Flush()
}

func (c *cmd) agents(ctx context.Context, args []string) error {
	fs := c.flags("agents", "[--json]")
	asJSON := fs.Bool("json", false, "print the agent records as JSON")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if err := c.connect(); err != nil {
		return err
	}
	defer c.close()
	rctx, cancel := c.reqCtx(ctx)
	defer cancel()
	list, err := registration.List(rctx, c.cli)
	if err != nil {
		return c.etcdErr("list agents", err)
	}
	if *asJSON {
		return printJSON(c.env.Stdout, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(c.env.Stderr, "no live agents")
		return nil
	}
	tw := tabwriter.NewWriter(c.env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tHOSTNAME\tIP\tVERSION\tSTARTED\tFILES")
	for _, a := range list {
		started := "-"
		if !a.StartedAt.IsZero() {
			started = a.StartedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", a.ID, dash(a.Role), dash(a.Hostname), dash(a.IP), dash(a.Version), started, len(a.Files))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
