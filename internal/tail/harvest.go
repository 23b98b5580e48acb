package tail

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/logcollect/logcollect/internal/checkpoint"
	"github.com/logcollect/logcollect/internal/fileid"
	"github.com/logcollect/logcollect/internal/lines"
	"github.com/logcollect/logcollect/internal/multiline"
	"github.com/logcollect/logcollect/internal/pipeline"
)

func (r *runner) newJoiner() *multiline.Joiner {
	j, err := multiline.New(*r.spec.e.Multiline, r.spec.e.MaxLineBytes)
	if err != nil {
		// compile already built one from the same settings; this cannot fail.
		panic(fmt.Sprintf("multiline settings accepted at Update now refused: %v", err))
	}
	return j
}

// syncSink is implemented by sinks that are done with a batch, line bytes included, when
// Publish returns (the file and stdout outputs write synchronously). The engine then
// reuses the batch's memory for the next one instead of allocating, which halves the
// garbage per line.
type syncSink interface{ DoneOnReturn() bool }

// batch collects events for one Publish. Line bytes are copied into one arena per batch,
// so a batch costs two allocations however many lines it holds.
type batch struct {
	r        *runner
	path     string
	fileID   string
	wm       *checkpoint.Watermark
	events   []pipeline.Event
	arena    []byte
	now      time.Time
	evCap    int
	arenaCap int
	dropFrom int64
	dropTo   int64
	lastEnd  int64 // end of the last event or dropped range added
	nLines   int
	nBytes   int64
	nTrunc   int
}

func (r *runner) newBatch(path, fileID string, wm *checkpoint.Watermark) *batch {
	return &batch{r: r, path: path, fileID: fileID, wm: wm, evCap: 8, arenaCap: 1 << 10, dropFrom: -1}
}

// line takes one line (or joined event) through keep_empty and the line filters.
func (b *batch) line(line []byte, off, end int64, truncated bool) {
	s := &b.r.spec
	if (len(line) == 0 && !s.e.KeepEmpty) || (s.filter != nil && !s.filter.Keep(line)) {
		b.drop(off, end)
		return
	}
	if len(b.arena)+len(line) > cap(b.arena) {
		n := b.arenaCap
		if len(line) > n {
			n = len(line)
		}
		b.arena = make([]byte, 0, n)
	}
	if len(b.events) == 0 {
		if b.events == nil {
			b.events = make([]pipeline.Event, 0, b.evCap)
		}
		b.now = time.Now()
	}
	start := len(b.arena)
	b.arena = append(b.arena, line...)
	b.events = append(b.events, pipeline.Event{
		Topic:     s.e.Topic,
		Host:      b.r.e.cfg.AgentID,
		Path:      b.path,
		FileID:    b.fileID,
		Offset:    off,
		End:       end,
		Time:      b.now,
		Fields:    s.e.Fields,
		Line:      b.arena[start:len(b.arena):len(b.arena)],
		Truncated: truncated,
		Ack:       b.wm,
	})
	b.lastEnd = end
}

// drop acknowledges a skipped range at once, so the watermark passes it; contiguous
// skipped lines are acknowledged as one range.
func (b *batch) drop(off, end int64) {
	if b.dropFrom >= 0 && b.dropTo == off {
		b.dropTo = end
	} else {
		b.flushDrop()
		b.dropFrom, b.dropTo = off, end
	}
	b.lastEnd = end
}

func (b *batch) flushDrop() {
	if b.dropFrom >= 0 {
		b.wm.Ack(b.dropFrom, b.dropTo)
		b.dropFrom = -1
	}
}

func (b *batch) full() bool {
	return len(b.events) >= b.r.e.cfg.BatchEvents || len(b.arena) >= b.r.e.cfg.BatchBytes
}

// publish hands the batch to the sink and counts what was read.
func (b *batch) publish(ctx context.Context, f *file) error {
	b.flushDrop()
	if b.nLines > 0 {
		b.r.linesC.Add(float64(b.nLines))
		b.r.bytesC.Add(float64(b.nBytes))
		b.nLines, b.nBytes = 0, 0
	}
	if b.nTrunc > 0 {
		b.r.e.m.truncated.Add(float64(b.nTrunc))
		b.nTrunc = 0
	}
	evs, arena := b.events, b.arena
	b.events, b.arena = nil, nil
	if len(evs) > 0 {
		if err := b.r.e.publish(ctx, evs); err != nil {
			return err
		}
		// Grow the next batch's buffers towards what this file produces per read.
		b.evCap = clampInt(2*len(evs), 8, b.r.e.cfg.BatchEvents)
		b.arenaCap = clampInt(2*int(evs[len(evs)-1].End-evs[0].Offset), 1<<10, b.r.e.cfg.BatchBytes)
		if b.r.e.reuse && cap(evs) >= b.evCap {
			// The sink is done with the batch: its memory serves the next one.
			b.events, b.arena = evs[:0], arena[:0]
		}
	}
	if f != nil && b.lastEnd > f.published.Load() {
		f.published.Store(b.lastEnd)
	}
	return nil
}

// publish hands a batch to the sink. A sink error other than the end of ctx (a full
// disk under output: file) is retried with backoff: the lines stay unacknowledged and
// the file is the buffer, so nothing is lost and nothing is skipped.
func (e *Engine) publish(ctx context.Context, evs []pipeline.Event) error {
	wait := 100 * time.Millisecond
	for {
		err := e.deps.Sink.Publish(ctx, evs)
		if err == nil || ctx.Err() != nil {
			return err
		}
		e.m.publishErrors.Inc()
		e.warnOnce("output refused a batch; retrying until it takes it", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 10*time.Second)
	}
}

func clampInt(v, lo, hi int) int {
	return max(lo, min(v, hi))
}

// harvest reads one open file until it is stopped, idle, removed or must yield its
// descriptor. It owns f's reading fields while it runs.
func (r *runner) harvest(ctx context.Context, f *file) exitReason {
	e := r.e
	fh, err := os.Open(f.path)
	if err != nil {
		e.reportError(f.path, errReason(err), err)
		return exitError
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		e.reportError(f.path, "stat", err)
		return exitError
	}
	if dev, ino := fileid.FromInfo(fi); (devIno{dev, ino}) != f.dk {
		return exitMoved
	}
	e.m.filesOpen.Inc()
	defer e.m.filesOpen.Dec()

	if st := f.recover; st != nil {
		// Truncated by copytruncate while the agent was down: the lines between the
		// checkpoint and the truncation are in the copy, if it is still beside the file.
		f.recover = nil
		g0 := &gen{store: e.deps.Store, q: &e.ckq, key: st.Key, path: st.Path, prefix: st.Prefix(), size: st.Size}
		g0.off.Store(st.Offset)
		wm0 := checkpoint.NewWatermark(st.Offset, g0.advance)
		if r.readCopy(ctx, f, st.Fingerprint, st.Offset, g0, wm0) {
			e.m.rotations.Inc()
		} else {
			g0.retire()
		}
	}
	// Changed while closed? A smaller size is a truncation; other first bytes mean the
	// content was replaced (truncated and written past the old size).
	if g0, _ := f.current(); fi.Size() < f.offset || !prefixMatches(fh, g0) {
		r.newGeneration(ctx, fh, f, fi.Size())
	}
	if _, err := fh.Seek(f.offset, io.SeekStart); err != nil {
		e.reportError(f.path, "read", err)
		return exitError
	}
	pool := e.readerPool(r.spec.e.MaxLineBytes, fi.Size()-f.offset)
	rd := pool.Get().(*lines.Reader)
	defer func() {
		if rd != nil {
			pool.Put(rd)
		}
	}()
	rd.Reset(fh, f.offset)
	g, wm := f.current()
	b := r.newBatch(f.path, f.id.String(), wm)

	backoff := e.cfg.PollMin
	lastData := time.Now()
	lastPush := time.Time{}
	var mlTimeout time.Duration
	if f.joiner != nil {
		mlTimeout = time.Duration(r.spec.e.Multiline.Timeout)
	}
	finish := func(reason exitReason) exitReason {
		f.size, f.modTime = fi.Size(), fi.ModTime()
		if reason == exitForced {
			var unread int64
			if st, err := fh.Stat(); err == nil && st.Size() > f.offset {
				unread = st.Size() - f.offset
			}
			e.m.unreadBytes.Add(float64(unread))
			e.log.Warn("removed file closed before it was read to its end (close_removed_after)",
				"path", f.path, "unread_bytes", unread, "close_removed_after", e.cfg.CloseRemovedAfter)
		}
		return reason
	}
	// restart finishes the current generation and reads the file again from 0.
	restart := func(size int64) bool {
		r.flushJoiner(f, b)
		if err := b.publish(ctx, f); err != nil {
			return false
		}
		r.newGeneration(ctx, fh, f, size)
		if _, err := fh.Seek(0, io.SeekStart); err != nil {
			e.reportError(f.path, "read", err)
			return false
		}
		if rd == nil {
			rd = pool.Get().(*lines.Reader)
		}
		rd.Reset(fh, 0)
		g, wm = f.current()
		b = r.newBatch(f.path, f.id.String(), wm)
		return true
	}
	// coverPrefix keeps a short file's checkpoint prefix covering what was read: the
	// checkpoint's prefix must cover what it acknowledges (checkpoint.Store.Lookup trusts
	// no more after a restart), so it is extended before lines are published; the key
	// becomes the full one once the fingerprint is complete.
	coverPrefix := func() {
		if f.id.Fingerprint != "" || f.offset <= int64(g.prefixLen()) {
			return
		}
		if p, err := fileid.ReadPrefix(fh, e.cfg.FingerprintBytes); err == nil && p.Len > g.prefixLen() {
			if p.Complete(e.cfg.FingerprintBytes) {
				f.id.Fingerprint = p.Sum
			}
			g.rekey(f.id, p, f.path, wm.Offset())
		}
	}
	for {
		gotData := false
		if rd == nil {
			// Given back while waiting: nothing was buffered, and the descriptor's
			// position is f.offset.
			pool = e.readerPool(r.spec.e.MaxLineBytes, fi.Size()-f.offset)
			rd = pool.Get().(*lines.Reader)
			rd.Reset(fh, f.offset)
		}
		for {
			if ctx.Err() != nil {
				return finish(r.stopReason(f))
			}
			line, off, end, trunc, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				_ = b.publish(ctx, f)
				e.reportError(f.path, "read", err)
				return finish(exitError)
			}
			gotData = true
			f.offset = end
			b.nLines++
			b.nBytes += end - off
			if trunc {
				b.nTrunc++
			}
			if f.joiner != nil {
				lastPush = time.Now()
				if ev, ok := f.joiner.Push(line, off, end, trunc); ok {
					b.line(ev.Line, ev.Offset, ev.End, ev.Truncated)
				}
			} else {
				b.line(line, off, end, trunc)
			}
			if b.full() {
				coverPrefix()
				if err := b.publish(ctx, f); err != nil {
					return finish(r.stopReason(f))
				}
			}
		}
		coverPrefix()
		if err := b.publish(ctx, f); err != nil {
			return finish(r.stopReason(f))
		}
		now := time.Now()
		if gotData {
			lastData = now
			backoff = e.cfg.PollMin
		}

		fi, err = fh.Stat()
		if err != nil {
			e.reportError(f.path, "stat", err)
			return exitError
		}
		size := fi.Size()
		g.setSize(size)
		_, _, pend, hasPartial := rd.Partial()
		readTo := f.offset
		if hasPartial {
			readTo = pend
		}
		if size < f.offset {
			// Truncated (copytruncate) while open: finish the old generation, then
			// read the file again from its beginning.
			if !restart(size) {
				return finish(exitError)
			}
			continue
		}
		if size > readTo {
			continue // it grew while we read
		}
		idle := now.Sub(lastData)
		pendingML := f.joiner != nil && f.joiner.Pending()
		if pendingML && now.Sub(lastPush) >= mlTimeout {
			r.flushJoiner(f, b)
			if err := b.publish(ctx, f); err != nil {
				return finish(r.stopReason(f))
			}
			pendingML = false
		}
		switch {
		case nlink(fi) == 0:
			// Deleted: everything readable is read; close now to free the disk space.
			e.m.rotations.Inc()
			r.closeForGood(ctx, f, rd, b)
			return finish(exitRemoved)
		case f.gone.Load() && idle >= e.cfg.CloseInactive:
			r.closeForGood(ctx, f, rd, b)
			return finish(exitGone)
		case !pendingML && e.waiting.Load() > 0:
			return finish(exitYield)
		case idle >= e.cfg.CloseInactive:
			r.flushJoiner(f, b)
			_ = b.publish(ctx, f)
			return finish(exitInactive)
		}

		wait := backoff
		if pendingML {
			wait = min(wait, max(mlTimeout-now.Sub(lastPush), time.Millisecond))
		}
		if !gotData {
			backoff = min(2*backoff, e.cfg.PollMax)
		}
		if !hasPartial {
			// An idle file holds no read buffer: 1,000 open files must not cost 1,000
			// buffers.
			pool.Put(rd)
			rd = nil
		}
		// After a read with data, wait at least PollMin even when woken, so a file
		// written line by line is read in batches; an idle file is read on its first write.
		minGap := time.Duration(0)
		if gotData {
			minGap = e.cfg.PollMin
		}
		if !sleep(ctx, wait, f.wake, minGap) {
			return finish(r.stopReason(f))
		}
		// Before reading on: a file truncated and written past the old offset while we
		// slept has other first bytes; reading on at the old offset would skip the start
		// of its new content.
		if fi2, err := fh.Stat(); err == nil && (fi2.Size() < f.offset || !prefixMatches(fh, g)) {
			fi = fi2
			if !restart(fi2.Size()) {
				return finish(exitError)
			}
		}
	}
}

// prefixMatches reports whether the file still starts with the bytes the generation
// was identified by (an error counts as a match: only a proven change restarts a file).
func prefixMatches(fh *os.File, g *gen) bool {
	g.mu.Lock()
	p := g.prefix
	g.mu.Unlock()
	ok, err := p.Matches(fh)
	return err != nil || ok
}

// sleep waits for d or a wake-up, but at least minGap, so a file written line by line
// is read in batches rather than once per write. It returns false when ctx ended.
func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}, minGap time.Duration) bool {
	start := time.Now()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	case <-wake:
	}
	if rest := minGap - time.Since(start); rest > 0 {
		t.Reset(rest)
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

func (r *runner) stopReason(f *file) exitReason {
	if f.forced {
		return exitForced
	}
	return exitStopped
}

func (r *runner) flushJoiner(f *file, b *batch) {
	if f.joiner == nil {
		return
	}
	if ev, ok := f.joiner.Flush(); ok {
		b.line(ev.Line, ev.Offset, ev.End, ev.Truncated)
	}
}

// closeForGood emits what is left of a file that will not be read again: the pending
// multiline group and the incomplete last line.
func (r *runner) closeForGood(ctx context.Context, f *file, rd *lines.Reader, b *batch) {
	line, off, end, ok := rd.Partial()
	if f.joiner != nil {
		if ok {
			if ev, done := f.joiner.Push(line, off, end, end-off > int64(len(line))); done {
				b.line(ev.Line, ev.Offset, ev.End, ev.Truncated)
			}
			ok = false
			f.offset = end
		}
		r.flushJoiner(f, b)
	}
	if ok {
		b.line(line, off, end, end-off > int64(len(line)))
		f.offset = end
	}
	_ = b.publish(ctx, f)
}

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
	if f.joiner != nil {
		f.joiner = r.newJoiner()
	}
	g, wm := newGen(e.deps.Store, &e.ckq, id, p, f.path, size, 0)
	f.setGen(g, wm)
	f.published.Store(0)
}

// readCopy finds the copy of a truncated file beside it (fingerprint fp, at least `from`
// bytes long) and reads the lines between from and its end.
func (r *runner) readCopy(ctx context.Context, f *file, fp string, from int64, oldG *gen, oldWM *checkpoint.Watermark) bool {
	e := r.e
	ents, err := os.ReadDir(filepath.Dir(f.path))
	if err != nil {
		return false
	}
	var best string
	var bestFI os.FileInfo
	var bestID fileid.ID
	var bestPrefix fileid.Prefix
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
		if bestFI != nil && !fi.ModTime().After(bestFI.ModTime()) {
			continue
		}
		ch, err := os.Open(p)
		if err != nil {
			continue
		}
		id, prefix, err := fileid.Of(ch, e.cfg.FingerprintBytes)
		_ = ch.Close()
		if err != nil || id.Fingerprint != fp {
			continue
		}
		best, bestFI, bestID, bestPrefix = p, fi, id, prefix
	}
	if bestFI == nil {
		return false
	}
	ch, err := os.Open(best)
	if err != nil {
		return false
	}
	defer ch.Close()
	if _, err := ch.Seek(from, io.SeekStart); err != nil {
		return false
	}
	oldG.rekey(bestID, bestPrefix, best, oldWM.Offset())
	rd := lines.NewReader(ch, from, r.spec.e.MaxLineBytes, 64<<10)
	b := r.newBatch(best, bestID.String(), oldWM)
	n := 0
	end := from
	for {
		line, off, lend, trunc, err := rd.Next()
		if err != nil {
			break
		}
		n++
		end = lend
		b.nLines++
		b.nBytes += lend - off
		if f.joiner != nil {
			if ev, ok := f.joiner.Push(line, off, lend, trunc); ok {
				b.line(ev.Line, ev.Offset, ev.End, ev.Truncated)
			}
		} else {
			b.line(line, off, lend, trunc)
		}
		if b.full() {
			if err := b.publish(ctx, nil); err != nil {
				return true
			}
		}
	}
	r.flushJoiner(f, b)
	if line, off, pend, ok := rd.Partial(); ok {
		b.line(line, off, pend, pend-off > int64(len(line)))
		end = pend
	}
	if err := b.publish(ctx, nil); err != nil {
		return true
	}
	e.log.Info("read the end of a truncated file from its copy", "path", f.path, "copy", best,
		"from", from, "to", end, "lines", n)
	h := handoff{dk: devIno{bestID.Dev, bestID.Ino}, path: best, id: bestID, size: end,
		modTime: bestFI.ModTime(), g: oldG, wm: oldWM}
	select {
	case r.handoffs <- h:
	case <-r.stopped:
	case <-ctx.Done():
	}
	return true
}
