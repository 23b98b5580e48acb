package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/logging"
)

// liveKey reports whether a SIGHUP applies key to the running agent. A change of any other
// key needs a restart (listeners, data_dir, the Kafka client …), and a reload that changes
// one is refused as a whole.
func liveKey(key string) bool { return key == "agent.collect" || key == "log.level" }

// reloader re-reads the agent's config file on SIGHUP (systemctl reload): new static
// entries go to the entry source as one snapshot, which the engine reconciles (running
// files keep their readers and checkpoints), and log.level is set on the running logger.
type reloader struct {
	path   string
	cur    config.Config
	hup    <-chan os.Signal
	level  *slog.LevelVar
	static func(context.Context, []entry.Entry) error
	log    *slog.Logger
}

// notifyHUP subscribes to SIGHUP at once, before anything starts, so the default action
// (terminate) can no longer happen; the returned stop undoes it.
func notifyHUP() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	return ch, func() { signal.Stop(ch) }
}

// Run handles SIGHUPs until ctx ends.
func (r *reloader) Run(ctx context.Context) error {
	r.log.Info("SIGHUP re-reads the config file", "config", r.path, "live_keys", "agent.collect, log.level")
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.hup:
			r.reload(ctx)
		}
	}
}

func (r *reloader) reload(ctx context.Context) {
	next, err := config.Load(r.path)
	if err != nil {
		r.log.Error("reload refused: the config file is invalid; the running config is kept", "config", r.path, "err", err)
		return
	}
	changed := config.Changed(r.cur, next)
	for _, key := range changed {
		if !liveKey(key) {
			r.log.Error("reload refused: this key changes only on a restart; the running config is kept",
				"key", key, "config", r.path)
			return
		}
	}
	if slices.Contains(changed, "agent.collect") {
		if err := r.static(ctx, next.Agent.Collect); err != nil {
			r.log.Error("reload refused; the running config is kept", "key", "agent.collect", "err", err)
			return
		}
	}
	r.level.Set(logging.Level(next.Log.Level))
	r.cur = next
	r.log.Info("config reloaded", "config", r.path, "changed", changed)
}

// hupLogger is the SIGHUP handler of the subcommands that re-read nothing live yet: it
// says so instead of letting the signal end the process.
func hupLogger(name string, hup <-chan os.Signal, log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-hup:
				log.Warn("SIGHUP ignored: logcollect " + name + " re-reads nothing live yet; restart it to apply a new config")
			}
		}
	}
}
