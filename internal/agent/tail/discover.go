package tail

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/logcollect/logcollect/internal/agent/fileid"
	"github.com/logcollect/logcollect/internal/control/entry"
)

// scan matches the entry's glob and decides from stat data alone what changed: files
// found for the first time are discovered, known ones that changed are wanted for
// reading, and those no longer matched are marked gone.
func (r *runner) scan() {
	initial := !r.scanned
	r.scanned = true
	r.e.m.scans.Inc()
	paths, dirs := r.spec.pat.expand()
	r.watchDirs(dirs)
	now := time.Now()
	byPath, seen := r.scanMatches(paths, initial, now)
	// Keep the resolved paths of symlinks so inotify writes on targets find their file.
	for p, f := range r.byPath {
		if _, ok := byPath[p]; !ok && seen[f.dk] && r.files[f.dk] == f {
			byPath[p] = f
		}
	}
	r.byPath = byPath
	r.markMissing(seen, now)
	r.drainQueue()
}

// scanMatches handles each matched path and returns the files by path and the set of
// file identities seen.
func (r *runner) scanMatches(paths []string, initial bool, now time.Time) (map[string]*file, map[devIno]bool) {
	seen := make(map[devIno]bool, len(r.files))
	byPath := make(map[string]*file, len(paths))
	for _, p := range paths {
		fi, dk, ok := r.statMatch(p)
		if !ok || seen[dk] {
			continue // unusable, or a second path (symlink) to a file already handled
		}
		seen[dk] = true
		f := r.files[dk]
		if f == nil {
			f = r.discover(p, fi, dk, initial, now)
			if f == nil {
				continue
			}
		} else if !f.running {
			f.path = p
		}
		byPath[p] = f
		if !f.goneSince.IsZero() {
			f.goneSince = time.Time{}
			f.gone.Store(false)
		}
		g, _ := f.current()
		g.setSize(fi.Size())
		if f.running || f.queued || f.shadowOf != nil {
			continue
		}
		if fi.Size() != f.size || !fi.ModTime().Equal(f.modTime) {
			r.want(f)
		}
	}
	return byPath, seen
}

// statMatch stats a matched path (following symlinks: identity is the target's) and
// reports a path that is not a readable regular file.
func (r *runner) statMatch(p string) (os.FileInfo, devIno, bool) {
	fi, err := os.Stat(p)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.e.reportError(p, errReason(err), err)
		}
		return nil, devIno{}, false
	}
	if !fi.Mode().IsRegular() {
		reason := "not_regular"
		if fi.IsDir() {
			reason = "directory"
		}
		r.e.reportError(p, reason, errors.New("not a regular file: "+fi.Mode().Type().String()))
		return nil, devIno{}, false
	}
	dev, ino := fileid.FromInfo(fi)
	return fi, devIno{dev, ino}, true
}

// markMissing handles the known files the scan did not find: an idle one is forgotten,
// one being read is read to its end, or closed after close_removed_after.
func (r *runner) markMissing(seen map[devIno]bool, now time.Time) {
	for dk, f := range r.files {
		if seen[dk] {
			continue
		}
		if f.goneSince.IsZero() {
			f.goneSince = now
			f.gone.Store(true)
			if f.running {
				r.e.m.rotations.Inc()
			}
		}
		switch {
		case !f.running && !f.queued:
			r.forget(f)
		case f.running && now.Sub(f.goneSince) >= r.e.cfg.CloseRemovedAfter && !f.forced:
			f.forced = true
			f.cancel()
		}
	}
}

// watchDirs adds inotify watches for the directories where new matches can appear.
func (r *runner) watchDirs(dirs []string) {
	w := r.e.watcher
	if w == nil || r.e.poll.Load() {
		return
	}
	for _, d := range dirs {
		if err := w.add(d, r); err != nil {
			if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) {
				r.e.fallbackToPoll(err)
				return
			}
			// The directory vanished; the next scan tries again.
		}
	}
}

// discover registers a file seen for the first time and decides where reading starts.
func (r *runner) discover(p string, fi os.FileInfo, dk devIno, initial bool, now time.Time) *file {
	if !r.e.claim(dk, r) {
		return nil
	}
	r.e.probeMu.Lock()
	defer r.e.probeMu.Unlock()
	fh, err := os.Open(p)
	if err != nil {
		r.e.release(dk, r)
		r.e.reportError(p, errReason(err), err)
		return nil
	}
	id, prefix, err := fileid.Of(fh, r.e.cfg.FingerprintBytes)
	if err != nil {
		_ = fh.Close()
		r.e.release(dk, r)
		r.e.reportError(p, "read", err)
		return nil
	}
	size := fi.Size()
	start, why := r.startOffset(fh, id, prefix, dk, size, initial)
	_ = fh.Close()
	r.e.clearError(p)
	g, wm := newGen(r.e.deps.Store, &r.e.ckq, id, prefix, p, size, start)
	f := &file{dk: dk, g: g, wm: wm, path: p, id: id, offset: start, size: size, modTime: fi.ModTime()}
	if why == whyReused {
		for _, st := range r.pendingRecover {
			if st.Offset > 0 && st.Prefix().Complete(r.e.cfg.FingerprintBytes) && st.Fingerprint != id.Fingerprint {
				f.recover = &st
				break
			}
		}
	}
	r.pendingRecover = nil
	f.published.Store(start)
	r.initReaders(f)
	r.files[dk] = f
	r.lagMu.Lock()
	r.lagFiles[dk] = f
	r.lagMu.Unlock()
	r.e.log.Debug("file found", "entry", r.spec.e.Path, "path", p, "file_id", id.String(), "offset", start, "why", why)
	r.place(f, initial, now)
	return f
}

// place decides what a newly found file waits for: a probable copytruncate copy of a
// file being read waits for that file's truncation (shadow); a file with unread data is
// opened; an idle one gets a one-shot watch for its next write.
func (r *runner) place(f *file, initial bool, now time.Time) {
	if !initial && f.id.Fingerprint != "" {
		for _, o := range r.files {
			if o != f && o.id.Fingerprint == f.id.Fingerprint {
				f.shadowOf, f.shadowAt = o, now
				r.shadows++
				return
			}
		}
	}
	if r.e.cfg.Watch != WatchPoll {
		if real, err := filepath.EvalSymlinks(f.path); err == nil && real != f.path {
			r.byPath[real] = f
			r.watchDirs([]string{filepath.Dir(real)})
		}
	}
	if f.size > f.offset || f.recover != nil {
		r.want(f)
	} else {
		r.watchIdle(f)
	}
}

const whyReused = "inode reused or file truncated while stopped"

// startOffset applies the checkpoint, or the entry's start setting to a file without one.
func (r *runner) startOffset(fh *os.File, id fileid.ID, p fileid.Prefix, dk devIno, size int64, initial bool) (int64, string) {
	st, ok, err := r.e.deps.Store.Lookup(id, p, fh)
	if err != nil {
		r.e.log.Warn("checkpoint lookup failed; treating the file as new", "path", fh.Name(), "err", err)
	}
	if ok {
		if st.Offset <= size {
			return st.Offset, "checkpoint"
		}
		return 0, "checkpoint past the end: truncated while stopped"
	}
	if old := r.e.takeKnown(dk); len(old) > 0 {
		r.pendingRecover = old
		// The inode held another content before: this is a truncated, rewritten or new
		// file, not one that was there unread when the entry was applied.
		return 0, whyReused
	}
	if initial && r.spec.e.Start == entry.StartEnd {
		return size, "start: end"
	}
	return 0, "start: beginning or new file"
}
