package tail

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/logcollect/logcollect/internal/agent/checkpoint"
	"github.com/logcollect/logcollect/internal/agent/fileid"
	"github.com/logcollect/logcollect/internal/agent/lines"
)

// newGeneration starts the file over from offset 0 after a truncation or replacement.
// With copytruncate, the lines written between the old read position and the copy are
// read from the copy first, so nothing is lost; the copy then keeps the old checkpoint, so
// an entry whose glob matches it does not ship it again.
func (r *runner) newGeneration(ctx context.Context, fh *os.File, f *file, size int64) {
	e := r.e
	e.m.rotations.Inc()
	oldG, oldWM := f.current()
	handed := false
	if f.id.Fingerprint != "" {
		handed = r.readCopy(ctx, f, f.id.Fingerprint, f.offset, oldG, oldWM)
	}
	if !handed {
		oldG.retire()
	}
	id, p, err := fileid.Of(fh, e.cfg.FingerprintBytes)
	if err != nil {
		id = fileid.ID{Dev: f.dk.dev, Ino: f.dk.ino}
	}
	e.log.Info("file truncated or replaced, reading it again from the start",
		"entry", r.spec.e.Path, "path", f.path, "old_offset", f.offset, "size", size, "copy_read", handed)
	f.id = id
	f.offset = 0
	r.initReaders(f)
	g, wm := newGen(e.deps.Store, &e.ckq, id, p, f.path, size, 0)
	f.setGen(g, wm)
	f.published.Store(0)
}

// readCopy finds the copy of a truncated file beside it (fingerprint fp, at least `from`
// bytes long), reads the lines between from and its end, and hands the old generation
// to the runner as the copy's checkpoint.
func (r *runner) readCopy(ctx context.Context, f *file, fp string, from int64, oldG *gen, oldWM *checkpoint.Watermark) bool {
	c, end, n, found, done := r.readCopyProbe(ctx, f, fp, from, oldG, oldWM)
	if !found || !done {
		return found
	}
	// The probe descriptor is given back before the handoff: the runner may be waiting
	// for it in discover.
	r.e.log.Info("read the end of a truncated file from its copy", "path", f.path, "copy", c.path,
		"from", from, "to", end, "lines", n)
	h := handoff{dk: devIno{c.id.Dev, c.id.Ino}, path: c.path, id: c.id, size: end,
		modTime: c.fi.ModTime(), g: oldG, wm: oldWM}
	select {
	case r.handoffs <- h:
	case <-r.stopped:
	case <-ctx.Done():
	}
	return true
}

// readCopyProbe finds and reads the copy with the probe descriptor (Engine.probeMu).
// found says a copy was found and opened; done that its lines were all published.
func (r *runner) readCopyProbe(ctx context.Context, f *file, fp string, from int64, oldG *gen, oldWM *checkpoint.Watermark) (c copyFile, end int64, n int, found, done bool) {
	r.e.probeMu.Lock()
	defer r.e.probeMu.Unlock()
	c, ok := r.findCopy(f, fp, from)
	if !ok {
		return c, 0, 0, false, false
	}
	ch, err := os.Open(c.path)
	if err != nil {
		return c, 0, 0, false, false
	}
	defer ch.Close()
	if _, err := ch.Seek(from, io.SeekStart); err != nil {
		return c, 0, 0, false, false
	}
	oldG.rekey(c.id, c.prefix, c.path, oldWM.Offset())
	end, n, done = r.readCopyLines(ctx, f, ch, c, from, oldWM)
	return c, end, n, true, done
}

// copyFile is a copytruncate copy found beside a truncated file.
type copyFile struct {
	path   string
	fi     os.FileInfo
	id     fileid.ID
	prefix fileid.Prefix
}

// findCopy looks beside f for the newest other file that starts with fingerprint fp and
// holds at least from bytes.
func (r *runner) findCopy(f *file, fp string, from int64) (copyFile, bool) {
	ents, err := os.ReadDir(filepath.Dir(f.path))
	if err != nil {
		return copyFile{}, false
	}
	var best copyFile
	for _, de := range ents {
		if !de.Type().IsRegular() {
			continue
		}
		p := filepath.Join(filepath.Dir(f.path), de.Name())
		fi, err := os.Stat(p)
		if err != nil || fi.Size() < from {
			continue
		}
		dev, ino := fileid.FromInfo(fi)
		if (devIno{dev, ino}) == f.dk {
			continue
		}
		if best.fi != nil && !fi.ModTime().After(best.fi.ModTime()) {
			continue
		}
		ch, err := os.Open(p)
		if err != nil {
			continue
		}
		id, prefix, err := fileid.Of(ch, r.e.cfg.FingerprintBytes)
		_ = ch.Close()
		if err != nil || id.Fingerprint != fp {
			continue
		}
		best = copyFile{path: p, fi: fi, id: id, prefix: prefix}
	}
	return best, best.fi != nil
}

// readCopyLines publishes the copy's lines from `from` to its end, its last incomplete
// line included (the copy is not written any more). It returns the end offset and the
// line count; ok is false when publishing stopped early.
func (r *runner) readCopyLines(ctx context.Context, f *file, ch *os.File, c copyFile, from int64, wm *checkpoint.Watermark) (end int64, n int, ok bool) {
	rd := lines.NewReader(ch, from, r.spec.e.MaxLineBytes, 64<<10)
	b := r.newBatch(c.path, c.id.String(), wm)
	end = from
	for {
		line, off, lend, trunc, err := rd.Next()
		if err != nil {
			break
		}
		n++
		end = lend
		b.nLines++
		b.nBytes += lend - off
		r.feed(f, b, line, off, lend, trunc)
		if b.full() {
			if err := b.publish(ctx, nil); err != nil {
				return end, n, false
			}
		}
	}
	if line, off, pend, ok := rd.Partial(); ok {
		r.feed(f, b, line, off, pend, pend-off > int64(len(line)))
		end = pend
	}
	r.flushAll(f, b)
	if err := b.publish(ctx, nil); err != nil {
		return end, n, false
	}
	return end, n, true
}
