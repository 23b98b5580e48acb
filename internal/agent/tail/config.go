package tail

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logcollect/logcollect/internal/agent/checkpoint"
	"github.com/logcollect/logcollect/internal/agent/fileid"
	"github.com/logcollect/logcollect/internal/agent/pipeline"
	"github.com/logcollect/logcollect/internal/config"
)

// Watch modes: how new and changed files are noticed.
const (
	WatchAuto    = "auto"    // inotify, falling back to polling when it is unavailable
	WatchInotify = "inotify" // inotify; still falls back (with a warning) rather than going blind
	WatchPoll    = "poll"    // stat-based polling only (network file systems, exhausted inotify limits)
)

// Config is the engine's settings, built from the agent section with FromAgent.
type Config struct {
	AgentID           string
	MaxOpenFiles      int
	CloseInactive     time.Duration
	CloseRemovedAfter time.Duration
	ShutdownTimeout   time.Duration
	ScanInterval      time.Duration
	Watch             string
	CheckpointPrune   time.Duration
	ReadBufferBytes   int
	AllowedPaths      []string

	// FingerprintBytes is how many leading bytes identify a file (with device and inode).
	FingerprintBytes int
	// BatchEvents and BatchBytes bound one Publish call.
	BatchEvents int
	BatchBytes  int
	// PollMin and PollMax bound how often an open file at its end is checked for growth:
	// PollMin right after data was read, doubling up to PollMax while the file is idle.
	PollMin, PollMax time.Duration
	// PollScanInterval is the rescan period in polling mode, which must find new files
	// within a second.
	PollScanInterval time.Duration
}

// FromAgent builds the engine's Config from the agent section of the config file.
func FromAgent(a config.Agent) Config {
	return Config{
		AgentID:           a.ID,
		MaxOpenFiles:      a.MaxOpenFiles,
		CloseInactive:     time.Duration(a.CloseInactive),
		CloseRemovedAfter: time.Duration(a.CloseRemovedAfter),
		ShutdownTimeout:   time.Duration(a.ShutdownTimeout),
		ScanInterval:      time.Duration(a.ScanInterval),
		Watch:             a.Watch,
		CheckpointPrune:   time.Duration(a.CheckpointPrune),
		ReadBufferBytes:   a.ReadBufferBytes,
		AllowedPaths:      a.AllowedPaths,
	}
}

// withDefaults fills the internal tuning knobs users do not set.
func (c Config) withDefaults() Config {
	if c.FingerprintBytes == 0 {
		c.FingerprintBytes = fileid.DefaultFingerprintBytes
	}
	if c.BatchEvents == 0 {
		c.BatchEvents = 4096
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = 1 << 20
	}
	if c.PollMin == 0 {
		c.PollMin = 500 * time.Millisecond
	}
	if c.PollMax == 0 {
		c.PollMax = time.Second
	}
	if c.PollScanInterval == 0 {
		c.PollScanInterval = time.Second
	}
	if c.Watch == "" {
		c.Watch = WatchAuto
	}
	return c
}

// Validate checks the settings.
func (c Config) Validate() error {
	var errs []error
	if c.MaxOpenFiles < 1 {
		errs = append(errs, fmt.Errorf("max_open_files: must be at least 1, got %d", c.MaxOpenFiles))
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"close_inactive", c.CloseInactive},
		{"close_removed_after", c.CloseRemovedAfter},
		{"shutdown_timeout", c.ShutdownTimeout},
		{"scan_interval", c.ScanInterval},
		{"checkpoint_prune_after", c.CheckpointPrune},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive, got %s", d.key, d.v))
		}
	}
	switch c.Watch {
	case WatchAuto, WatchInotify, WatchPoll:
	default:
		errs = append(errs, fmt.Errorf("watch: must be one of auto, inotify, poll, got %q", c.Watch))
	}
	if c.ReadBufferBytes < 0 {
		errs = append(errs, fmt.Errorf("read_buffer_bytes: must not be negative, got %d", c.ReadBufferBytes))
	}
	return errors.Join(errs...)
}

// Deps are the engine's collaborators.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are kept but not exported
	Sink       pipeline.Sink
	Store      *checkpoint.Store
}
