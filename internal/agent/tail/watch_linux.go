package tail

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// Directory watches report what changes the set of files (creations, renames, removals,
// permission changes) but not writes: a busy file being read would otherwise cost an
// event per write for nothing, since its harvester polls. Writes matter only for files
// closed while idle; each gets a one-shot IN_MODIFY watch on its inode until it is open
// again. That keeps 1,000 files written 10 times a second nearly free of inotify traffic.
const (
	dirMask  = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ATTRIB
	fileMask = unix.IN_MODIFY | unix.IN_ONESHOT
)

// fsEvent is what a runner learns: a change in a directory (rescan) or a write to an idle
// file (Name is the file's path).
type fsEvent struct {
	Name  string
	Write bool
}

type wdTarget struct {
	dir     string           // set for a directory watch
	runners map[*runner]bool // directory watch
	file    string           // set for an idle file watch
	owner   *runner          // idle file watch
}

// watcher is the engine's one inotify instance.
type watcher struct {
	e  *Engine
	f  *os.File // the inotify descriptor, through the runtime poller so Close ends Read
	fd int

	mu    sync.Mutex
	wds   map[int32]*wdTarget
	dirs  map[string]int32
	files map[string]int32
}

func newWatcher(e *Engine) (*watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, os.NewSyscallError("inotify_init1", err)
	}
	return &watcher{e: e, f: os.NewFile(uintptr(fd), "inotify"), fd: fd,
		wds: map[int32]*wdTarget{}, dirs: map[string]int32{}, files: map[string]int32{}}, nil
}

// add watches a directory for r.
func (w *watcher) add(dir string, r *runner) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if wd, ok := w.dirs[dir]; ok {
		w.wds[wd].runners[r] = true
		return nil
	}
	wd, err := unix.InotifyAddWatch(w.fd, dir, dirMask|unix.IN_ONLYDIR)
	if err != nil {
		return os.NewSyscallError("inotify_add_watch "+dir, err)
	}
	w.dirs[dir] = int32(wd)
	w.wds[int32(wd)] = &wdTarget{dir: dir, runners: map[*runner]bool{r: true}}
	return nil
}

// watchFile asks for one event at the file's next write. Errors are ignored: the periodic
// rescan finds the change from stat data anyway.
func (w *watcher) watchFile(path string, r *runner) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wd, err := unix.InotifyAddWatch(w.fd, path, fileMask)
	if err != nil {
		if errors.Is(err, unix.ENOSPC) {
			w.e.warnOnce("inotify watch limit reached; idle files are checked at each rescan instead", err)
		}
		return
	}
	if t, ok := w.wds[int32(wd)]; ok && t.dir != "" {
		return // the path is a watched directory; never for a regular file
	}
	w.files[path] = int32(wd)
	w.wds[int32(wd)] = &wdTarget{file: path, owner: r}
}

// unwatchFile drops the idle file watch, once its file is open again or forgotten.
func (w *watcher) unwatchFile(path string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wd, ok := w.files[path]
	if !ok {
		return
	}
	delete(w.files, path)
	if t := w.wds[wd]; t != nil && t.file == path {
		delete(w.wds, wd)
		_, _ = unix.InotifyRmWatch(w.fd, uint32(wd)) // already gone after a one-shot event
	}
}

func (w *watcher) remove(r *runner) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for wd, t := range w.wds {
		switch {
		case t.dir != "":
			delete(t.runners, r)
			if len(t.runners) == 0 {
				delete(w.wds, wd)
				delete(w.dirs, t.dir)
				_, _ = unix.InotifyRmWatch(w.fd, uint32(wd))
			}
		case t.owner == r:
			delete(w.wds, wd)
			delete(w.files, t.file)
			_, _ = unix.InotifyRmWatch(w.fd, uint32(wd))
		}
	}
}

// run reads events until the watcher is closed.
func (w *watcher) run(ctx context.Context) {
	go func() {
		<-ctx.Done()
		_ = w.f.Close() // ends the Read below
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, os.ErrClosed) {
				w.e.log.Warn("inotify read failed; rescans continue", "err", err)
			}
			return
		}
		w.dispatch(buf[:n])
	}
}

func (w *watcher) dispatch(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(b) >= unix.SizeofInotifyEvent {
		wd := int32(binary.NativeEndian.Uint32(b[0:4]))
		mask := binary.NativeEndian.Uint32(b[4:8])
		nameLen := int(binary.NativeEndian.Uint32(b[12:16]))
		end := unix.SizeofInotifyEvent + nameLen
		if end > len(b) {
			return
		}
		name := b[unix.SizeofInotifyEvent:end]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		b = b[end:]
		if mask&unix.IN_Q_OVERFLOW != 0 {
			for _, t := range w.wds {
				for r := range t.runners {
					r.kickScan()
				}
			}
			continue
		}
		t := w.wds[wd]
		if t == nil {
			continue
		}
		if mask&unix.IN_IGNORED != 0 {
			// The watch is gone (one-shot fired, file or directory removed).
			delete(w.wds, wd)
			if t.dir != "" {
				delete(w.dirs, t.dir)
				for r := range t.runners {
					r.kickScan()
				}
			} else if w.files[t.file] == wd {
				delete(w.files, t.file)
			}
			continue
		}
		if t.file != "" {
			if mask&unix.IN_MODIFY != 0 {
				t.owner.notify(fsEvent{Name: t.file, Write: true})
			}
			continue
		}
		ev := fsEvent{Name: filepath.Join(t.dir, string(name))}
		for r := range t.runners {
			r.notify(ev)
		}
	}
}

func (w *watcher) close() { _ = w.f.Close() }
