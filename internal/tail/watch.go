package tail

import (
	"context"
	"errors"
	"path/filepath"
	"sync"

	"github.com/fsnotify/fsnotify"
)

// watcher is the engine's one inotify instance; it routes each event to the runners
// watching the event's directory.
type watcher struct {
	e    *Engine
	w    *fsnotify.Watcher
	mu   sync.Mutex
	dirs map[string]map[*runner]bool
}

func newWatcher(e *Engine) (*watcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	return &watcher{e: e, w: w, dirs: map[string]map[*runner]bool{}}, nil
}

func (w *watcher) add(dir string, r *runner) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if set, ok := w.dirs[dir]; ok {
		set[r] = true
		return nil
	}
	if err := w.w.Add(dir); err != nil {
		return err
	}
	w.dirs[dir] = map[*runner]bool{r: true}
	return nil
}

func (w *watcher) remove(r *runner) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for dir, set := range w.dirs {
		delete(set, r)
		if len(set) == 0 {
			delete(w.dirs, dir)
			_ = w.w.Remove(dir) // fails only when the directory is already gone
		}
	}
}

func (w *watcher) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.w.Events:
			if !ok {
				return
			}
			w.mu.Lock()
			for r := range w.dirs[filepath.Dir(ev.Name)] {
				r.notify(ev)
			}
			// A watched directory itself removed or renamed: its runners rescan.
			for r := range w.dirs[ev.Name] {
				r.kickScan()
			}
			w.mu.Unlock()
		case err, ok := <-w.w.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.mu.Lock()
				for _, set := range w.dirs {
					for r := range set {
						r.kickScan()
					}
				}
				w.mu.Unlock()
				continue
			}
			w.e.log.Warn("inotify error", "err", err)
		}
	}
}

func (w *watcher) close() { _ = w.w.Close() }
