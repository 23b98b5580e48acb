// Package logging builds the process's slog.Logger from the log section of the config.
package logging

import (
	"io"
	"log/slog"

	"github.com/logcollect/logcollect/internal/config"
)

// New returns a logger writing to w at the configured level and format.
func New(cfg config.Log, w io.Writer) *slog.Logger {
	logger, _ := NewLeveled(cfg, w)
	return logger
}

// NewLeveled is New with the level held in the returned LevelVar, so a reload can change
// log.level of the running logger (Set(Level(cfg.Level))).
func NewLeveled(cfg config.Log, w io.Writer) (*slog.Logger, *slog.LevelVar) {
	level := new(slog.LevelVar)
	level.Set(Level(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), level
	}
	return slog.New(slog.NewTextHandler(w, opts)), level
}

// Level is the slog level of a log.level value; anything unknown is info (config.Load has
// already refused values it does not know).
func Level(s string) slog.Level {
	switch s {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}
