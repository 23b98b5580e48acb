package tail

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/logcollect/logcollect/internal/agent/checkpoint"
	"github.com/logcollect/logcollect/internal/agent/fileid"
	"github.com/logcollect/logcollect/internal/agent/lines"
	"github.com/logcollect/logcollect/internal/agent/multiline"
)

func (r *runner) newJoiner() *multiline.Joiner {
	j, err := multiline.New(*r.spec.e.Multiline, r.spec.e.MaxLineBytes)
	if err != nil {
		// compile already built one from the same settings; this cannot fail.
		panic(fmt.Sprintf("multiline settings accepted at Update now refused: %v", err))
	}
	return j
}

// harvester is one run of reading an open file: the state harvest's steps share.
type harvester struct {
	r  *runner
	e  *Engine
	f  *file
	fh *os.File
	fi os.FileInfo // the last stat of fh

	pool *sync.Pool
	rd   *lines.Reader // nil while waiting with nothing buffered: given back to pool
	g    *gen
	wm   *checkpoint.Watermark
	b    *batch

	backoff   time.Duration // the next wait at the end of the file
	lastData  time.Time     // when a read last returned lines
	lastPush  time.Time     // when a line last went into the multiline joiner
	mlTimeout time.Duration
}

// harvest reads one open file until it is stopped, idle, removed or must yield its
// descriptor. It owns f's reading fields while it runs. Each round: read and publish
// what is there, look at what the file did meanwhile (truncated, grown), decide whether
// to stay, then wait for more.
func (r *runner) harvest(ctx context.Context, f *file) exitReason {
	h, reason, ok := r.openHarvest(f)
	if !ok {
		return reason
	}
	defer h.close()
	h.recoverCopy(ctx)
	if reason, ok := h.start(ctx); !ok {
		return reason
	}
	for {
		gotData, reason, done := h.readAvailable(ctx)
		if done {
			return reason
		}
		now := time.Now()
		if gotData {
			h.lastData = now
			h.backoff = h.e.cfg.PollMin
		}
		switch next, reason := h.checkFile(ctx); next {
		case stepExit:
			return reason
		case stepRead:
			continue
		}
		pendingML, reason, done := h.decide(ctx, now)
		if done {
			return reason
		}
		if reason, done := h.wait(ctx, now, gotData, pendingML); done {
			return reason
		}
	}
}

// step is what a harvest round does next.
type step int

const (
	stepIdle step = iota // at the end of the file: decide, then wait
	stepRead             // more to read at once
	stepExit             // the harvest ends
)

// openHarvest opens f and checks that its path still names the same file.
func (r *runner) openHarvest(f *file) (*harvester, exitReason, bool) {
	e := r.e
	fh, err := os.Open(f.path)
	if err != nil {
		e.reportError(f.path, errReason(err), err)
		return nil, exitError, false
	}
	fi, err := fh.Stat()
	if err != nil {
		_ = fh.Close()
		e.reportError(f.path, "stat", err)
		return nil, exitError, false
	}
	if dev, ino := fileid.FromInfo(fi); (devIno{dev, ino}) != f.dk {
		_ = fh.Close()
		return nil, exitMoved, false
	}
	e.m.filesOpen.Inc()
	return &harvester{r: r, e: e, f: f, fh: fh, fi: fi}, 0, true
}

// close gives the reader back and closes the file.
func (h *harvester) close() {
	if h.rd != nil {
		h.pool.Put(h.rd)
	}
	h.e.m.filesOpen.Dec()
	_ = h.fh.Close()
}

// recoverCopy reads what the agent missed of this inode's previous content: truncated by
// copytruncate while the agent was down, the lines between the checkpoint and the
// truncation are in the copy, if it is still beside the file.
func (h *harvester) recoverCopy(ctx context.Context) {
	st := h.f.recover
	if st == nil {
		return
	}
	e := h.e
	h.f.recover = nil
	g0 := &gen{store: e.deps.Store, q: &e.ckq, key: st.Key, path: st.Path, prefix: st.Prefix(), size: st.Size}
	g0.off.Store(st.Offset)
	wm0 := checkpoint.NewWatermark(st.Offset, g0.advance)
	if h.r.readCopy(ctx, h.f, st.Fingerprint, st.Offset, g0, wm0) {
		e.m.rotations.Inc()
	} else {
		g0.retire()
	}
}

// start positions the reader where the file's checkpoint says, after checking whether
// the file changed while it was closed: a smaller size is a truncation; other first bytes
// mean the content was replaced (truncated and written past the old size).
func (h *harvester) start(ctx context.Context) (exitReason, bool) {
	e, f := h.e, h.f
	if g0, _ := f.current(); h.fi.Size() < f.offset || !prefixMatches(h.fh, g0) {
		h.r.newGeneration(ctx, h.fh, f, h.fi.Size())
	}
	if _, err := h.fh.Seek(f.offset, io.SeekStart); err != nil {
		e.reportError(f.path, "read", err)
		return exitError, false
	}
	h.takeReader(f.offset)
	h.g, h.wm = f.current()
	h.b = h.r.newBatch(f.path, f.id.String(), h.wm)
	h.backoff = e.cfg.PollMin
	h.lastData = time.Now()
	if f.joiner != nil {
		h.mlTimeout = time.Duration(h.r.spec.e.Multiline.Timeout)
	}
	return 0, true
}

// takeReader takes a line reader from the pool, sized for what is left to read, and
// points it at the descriptor's position off.
func (h *harvester) takeReader(off int64) {
	h.pool = h.e.readerPool(h.r.spec.e.MaxLineBytes, h.fi.Size()-h.f.offset)
	h.rd = h.pool.Get().(*lines.Reader)
	h.rd.Reset(h.fh, off)
}

// readAvailable reads and publishes every complete line up to the end of the file, in
// batches. done says the harvest ends (stopped, or a read error), with its reason.
func (h *harvester) readAvailable(ctx context.Context) (gotData bool, reason exitReason, done bool) {
	f, b := h.f, h.b
	if h.rd == nil {
		// Given back while waiting: nothing was buffered, and the descriptor's position
		// is f.offset.
		h.takeReader(f.offset)
	}
	for {
		if ctx.Err() != nil {
			return gotData, h.finish(h.r.stopReason(f)), true
		}
		line, off, end, trunc, err := h.rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			_ = b.publish(ctx, f)
			h.e.reportError(f.path, "read", err)
			return gotData, h.finish(exitError), true
		}
		gotData = true
		h.add(line, off, end, trunc)
		if b.full() {
			h.coverPrefix()
			if err := b.publish(ctx, f); err != nil {
				return gotData, h.finish(h.r.stopReason(f)), true
			}
		}
	}
	h.coverPrefix()
	if err := b.publish(ctx, f); err != nil {
		return gotData, h.finish(h.r.stopReason(f)), true
	}
	return gotData, 0, false
}

// add counts a line read and puts it into the batch, through the multiline joiner when
// the entry has one.
func (h *harvester) add(line []byte, off, end int64, trunc bool) {
	f, b := h.f, h.b
	f.offset = end
	b.nLines++
	b.nBytes += end - off
	if trunc {
		b.nTrunc++
	}
	if f.joiner != nil {
		h.lastPush = time.Now()
	}
	h.r.feed(f, b, line, off, end, trunc)
}

// coverPrefix keeps a short file's checkpoint prefix covering what was read: the
// checkpoint's prefix must cover what it acknowledges (checkpoint.Store.Lookup trusts no
// more after a restart), so it is extended before lines are published; the key becomes
// the full one once the fingerprint is complete.
func (h *harvester) coverPrefix() {
	f, e := h.f, h.e
	if f.id.Fingerprint != "" || f.offset <= int64(h.g.prefixLen()) {
		return
	}
	if p, err := fileid.ReadPrefix(h.fh, e.cfg.FingerprintBytes); err == nil && p.Len > h.g.prefixLen() {
		if p.Complete(e.cfg.FingerprintBytes) {
			f.id.Fingerprint = p.Sum
		}
		h.g.rekey(f.id, p, f.path, h.wm.Offset())
	}
}

// checkFile looks at the file after a read to its end: truncated (copytruncate) while
// open, it finishes the old generation and reads the file again from its beginning;
// grown while we read, it reads on.
func (h *harvester) checkFile(ctx context.Context) (step, exitReason) {
	f := h.f
	fi, err := h.fh.Stat()
	if err != nil {
		h.e.reportError(f.path, "stat", err)
		return stepExit, exitError
	}
	h.fi = fi
	size := fi.Size()
	h.g.setSize(size)
	readTo := f.offset
	if _, _, pend, hasPartial := h.rd.Partial(); hasPartial {
		readTo = pend
	}
	switch {
	case size < f.offset:
		if !h.restart(ctx, size) {
			return stepExit, h.finish(exitError)
		}
		return stepRead, 0
	case size > readTo:
		return stepRead, 0
	}
	return stepIdle, 0
}

// decide runs at the end of the file: it sends a multiline event whose timeout passed,
// and says whether the harvest ends here (deleted, renamed away and inactive, its
// descriptor wanted by a waiting file, inactive). pendingML says a multiline event is
// still being gathered.
func (h *harvester) decide(ctx context.Context, now time.Time) (pendingML bool, reason exitReason, done bool) {
	r, e, f, b := h.r, h.e, h.f, h.b
	idle := now.Sub(h.lastData)
	pendingML = f.joiner != nil && f.joiner.Pending()
	if pendingML && now.Sub(h.lastPush) >= h.mlTimeout {
		r.flushJoiner(f, b)
		if err := b.publish(ctx, f); err != nil {
			return false, h.finish(r.stopReason(f)), true
		}
		pendingML = false
	}
	switch {
	case nlink(h.fi) == 0:
		// Deleted: everything readable is read; close now to free the disk space.
		e.m.rotations.Inc()
		r.closeForGood(ctx, f, h.rd, b)
		return pendingML, h.finish(exitRemoved), true
	case f.gone.Load() && idle >= e.cfg.CloseInactive:
		r.closeForGood(ctx, f, h.rd, b)
		return pendingML, h.finish(exitGone), true
	case !pendingML && e.waiting.Load() > 0:
		return pendingML, h.finish(exitYield), true
	case idle >= e.cfg.CloseInactive:
		r.flushJoiner(f, b)
		_ = b.publish(ctx, f)
		return pendingML, h.finish(exitInactive), true
	}
	return pendingML, 0, false
}

// wait sleeps until the file is worth reading again: a backoff that doubles while the
// file stays idle, shortened for a multiline timeout, cut short by a write. Then it
// checks that the file was not truncated and rewritten meanwhile.
func (h *harvester) wait(ctx context.Context, now time.Time, gotData, pendingML bool) (exitReason, bool) {
	e, f := h.e, h.f
	wait := h.backoff
	if pendingML {
		wait = min(wait, max(h.mlTimeout-now.Sub(h.lastPush), time.Millisecond))
	}
	if !gotData {
		h.backoff = min(2*h.backoff, e.cfg.PollMax)
	}
	if _, _, _, hasPartial := h.rd.Partial(); !hasPartial {
		// An idle file holds no read buffer: 1,000 open files must not cost 1,000
		// buffers.
		h.pool.Put(h.rd)
		h.rd = nil
	}
	// After a read with data, wait at least PollMin even when woken, so a file written
	// line by line is read in batches; an idle file is read on its first write.
	minGap := time.Duration(0)
	if gotData {
		minGap = e.cfg.PollMin
	}
	if !sleep(ctx, wait, f.wake, minGap) {
		return h.finish(h.r.stopReason(f)), true
	}
	// Before reading on: a file truncated and written past the old offset while we slept
	// has other first bytes; reading on at the old offset would skip the start of its new
	// content.
	if fi2, err := h.fh.Stat(); err == nil && (fi2.Size() < f.offset || !prefixMatches(h.fh, h.g)) {
		h.fi = fi2
		if !h.restart(ctx, fi2.Size()) {
			return h.finish(exitError), true
		}
	}
	return 0, false
}

// restart finishes the current generation and reads the file again from 0.
func (h *harvester) restart(ctx context.Context, size int64) bool {
	r, f := h.r, h.f
	r.flushAll(f, h.b)
	if err := h.b.publish(ctx, f); err != nil {
		return false
	}
	r.newGeneration(ctx, h.fh, f, size)
	if _, err := h.fh.Seek(0, io.SeekStart); err != nil {
		h.e.reportError(f.path, "read", err)
		return false
	}
	if h.rd == nil {
		h.rd = h.pool.Get().(*lines.Reader)
	}
	h.rd.Reset(h.fh, 0)
	h.g, h.wm = f.current()
	h.b = r.newBatch(f.path, f.id.String(), h.wm)
	return true
}

// finish records what the runner needs to know of the file when it is idle again.
func (h *harvester) finish(reason exitReason) exitReason {
	e, f := h.e, h.f
	f.size, f.modTime = h.fi.Size(), h.fi.ModTime()
	if reason == exitForced {
		var unread int64
		if st, err := h.fh.Stat(); err == nil && st.Size() > f.offset {
			unread = st.Size() - f.offset
		}
		e.m.unreadBytes.Add(float64(unread))
		e.log.Warn("removed file closed before it was read to its end (close_removed_after)",
			"path", f.path, "unread_bytes", unread, "close_removed_after", e.cfg.CloseRemovedAfter)
	}
	return reason
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

// closeForGood emits what is left of a file that will not be read again: the pending
// multiline group and the incomplete last line.
func (r *runner) closeForGood(ctx context.Context, f *file, rd *lines.Reader, b *batch) {
	if line, off, end, ok := rd.Partial(); ok {
		r.feed(f, b, line, off, end, end-off > int64(len(line)))
		f.offset = end
	}
	r.flushAll(f, b)
	_ = b.publish(ctx, f)
}
