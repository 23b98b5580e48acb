// Package logging builds the process's slog.Logger from the log section of the config.
package logging

import (
	"io"
	"log/slog"

	"github.com/logcollect/logcollect/internal/config"
)

// New returns a logger writing to w at the configured level and format.
func New(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	switch cfg.Level {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
