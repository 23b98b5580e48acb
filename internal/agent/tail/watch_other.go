//go:build !linux

package tail

import (
	"context"
	"errors"
)

// fsEvent is what a runner learns from the watcher.
type fsEvent struct {
	Name  string
	Write bool
}

// watcher is inotify-only; elsewhere the engine polls.
type watcher struct{}

func newWatcher(*Engine) (*watcher, error) {
	return nil, errors.New("file watching is implemented with inotify (Linux) only")
}

func (*watcher) add(string, *runner) error { return errors.New("no watcher") }
func (*watcher) watchFile(string, *runner) {}
func (*watcher) unwatchFile(string)        {}
func (*watcher) remove(*runner)            {}
func (*watcher) run(context.Context)       {}
func (*watcher) close()                    {}
