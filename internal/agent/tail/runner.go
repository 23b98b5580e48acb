package tail

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logcollect/logcollect/internal/agent/checkpoint"
	"github.com/logcollect/logcollect/internal/agent/fileid"
)

// shadowGrace is how long a new file that starts like a file being read (the copy a
// copytruncate is making) waits for that file's truncation before it is read on its own.
const shadowGrace = 30 * time.Second

// exitReason says why a harvester stopped.
type exitReason int

const (
	exitStopped  exitReason = iota // the entry or the engine stops
	exitInactive                   // close_inactive elapsed at the end of the file
	exitYield                      // other files wait for a descriptor
	exitRemoved                    // deleted and read to its end: closed for good
	exitGone                       // renamed out of the entry and inactive: closed for good
	exitForced                     // close_removed_after elapsed with data unread
	exitMoved                      // the path names another file now
	exitError                      // logged and counted
)

// handoff gives the rest of a truncated file's generation to the copy it was read from.
type handoff struct {
	dk      devIno
	path    string
	id      fileid.ID
	size    int64
	modTime time.Time
	g       *gen // the truncated file's old generation, now the copy's
	wm      *checkpoint.Watermark
}

// runner discovers and reads the files of one entry.
type runner struct {
	e      *Engine
	spec   spec
	ctx    context.Context
	cancel context.CancelFunc

	linesC    prometheus.Counter
	bytesC    prometheus.Counter
	timeFailC prometheus.Counter
	events    chan fsEvent
	kick      chan struct{}
	touch     chan struct{}
	finished  chan *file
	handoffs  chan handoff
	stopped   chan struct{} // closed when the runner no longer receives from its channels
	files     map[devIno]*file
	byPath    map[string]*file
	queue     []*file
	shadows   int // files with shadowOf set
	// pendingRecover carries the old checkpoints of the inode being discovered from
	// startOffset to discover.
	pendingRecover []checkpoint.State
	scanned        bool // the initial scan is done: files found from now on are new
	lagMu          sync.Mutex
	lagFiles       map[devIno]*file
}

func newRunner(e *Engine, s spec) *runner {
	ctx, cancel := context.WithCancel(e.runCtx)
	return &runner{
		e: e, spec: s, ctx: ctx, cancel: cancel,
		linesC:    e.m.lines.WithLabelValues(s.e.Path),
		bytesC:    e.m.bytes.WithLabelValues(s.e.Path),
		timeFailC: e.m.timeFailures.WithLabelValues(s.e.Path),
		events:    make(chan fsEvent, 1024),
		kick:      make(chan struct{}, 1),
		touch:     make(chan struct{}, 1),
		finished:  make(chan *file),
		handoffs:  make(chan handoff),
		stopped:   make(chan struct{}),
		files:     map[devIno]*file{},
		byPath:    map[string]*file{},
		lagFiles:  map[devIno]*file{},
	}
}

func (r *runner) kickScan() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// notify receives an inotify event for one of the runner's directories. It never blocks
// the watcher: when the queue is full, a rescan finds what the events would have said.
func (r *runner) notify(ev fsEvent) {
	select {
	case r.events <- ev:
	default:
		r.kickScan()
	}
}

func (r *runner) scanInterval() time.Duration {
	if r.e.poll.Load() {
		return min(r.e.cfg.ScanInterval, r.e.cfg.PollScanInterval)
	}
	return r.e.cfg.ScanInterval
}

func (r *runner) run() {
	defer r.shutdown()
	r.scan()
	scanT := time.NewTimer(r.scanInterval())
	defer scanT.Stop()
	soon := time.NewTimer(time.Hour)
	soon.Stop()
	defer soon.Stop()
	soonArmed := false
	retry := time.NewTicker(100 * time.Millisecond)
	defer retry.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-scanT.C:
			r.scan()
			scanT.Reset(r.scanInterval())
		case <-soon.C:
			soonArmed = false
			r.scan()
		case <-r.kick:
			r.scan()
		case ev := <-r.events:
			if ev.Write {
				if f := r.byPath[ev.Name]; f != nil {
					r.changed(f)
				}
				continue
			}
			// Creations, renames and removals: rescan shortly, once for a burst of events.
			if !soonArmed {
				soon.Reset(50 * time.Millisecond)
				soonArmed = true
			}
		case f := <-r.finished:
			r.onFinished(f)
		case h := <-r.handoffs:
			r.onHandoff(h)
		case <-r.touch:
			for _, f := range r.files {
				g, wm := f.current()
				g.touch(wm.Offset())
			}
		case <-retry.C:
			// Descriptors freed by other entries are not announced to this one.
			if len(r.queue) > 0 {
				r.drainQueue()
			}
			if r.shadows > 0 {
				r.expireShadows()
			}
		}
	}
}

// changed handles a write to a known file: wake its harvester or open it again.
func (r *runner) changed(f *file) {
	if f.running {
		select {
		case f.wake <- struct{}{}:
		default:
		}
		return
	}
	if f.shadowOf == nil {
		r.want(f)
	}
}

// want opens the file when a descriptor is free, or queues it.
func (r *runner) want(f *file) {
	if f.running || f.queued {
		return
	}
	select {
	case r.e.slots <- struct{}{}:
		r.startHarvester(f)
	default:
		f.queued = true
		r.queue = append(r.queue, f)
		r.e.waiting.Add(1)
	}
}

func (r *runner) drainQueue() {
	for len(r.queue) > 0 {
		f := r.queue[0]
		if r.files[f.dk] != f || f.running {
			r.queue = r.queue[1:]
			f.queued = false
			r.e.waiting.Add(-1)
			continue
		}
		select {
		case r.e.slots <- struct{}{}:
		default:
			return
		}
		r.queue = r.queue[1:]
		f.queued = false
		r.e.waiting.Add(-1)
		r.startHarvester(f)
	}
}

// watchIdle asks inotify for the next write to a file that has no harvester.
func (r *runner) watchIdle(f *file) {
	if w := r.e.watcher; w != nil && !r.e.poll.Load() {
		w.watchFile(f.path, r)
		// A write between the harvester's last look and the watch has no event.
		if fi, err := os.Stat(f.path); err == nil && fi.Size() != f.size && f.shadowOf == nil {
			r.want(f)
		}
	}
}

func (r *runner) unwatchIdle(f *file) {
	if w := r.e.watcher; w != nil {
		w.unwatchFile(f.path)
	}
}

func (r *runner) startHarvester(f *file) {
	r.unwatchIdle(f)
	ctx, cancel := context.WithCancel(r.ctx)
	f.cancel = cancel
	f.done = make(chan struct{})
	f.wake = make(chan struct{}, 1)
	f.running = true
	go func() {
		f.reason = r.harvest(ctx, f) // read by the runner after it receives f
		close(f.done)
		<-r.e.slots
		select {
		case r.finished <- f:
		case <-r.stopped:
		}
	}()
}

func (r *runner) onFinished(f *file) {
	reason := f.reason
	f.running = false
	f.cancel()
	switch reason {
	case exitRemoved, exitGone, exitForced:
		r.forget(f)
	case exitMoved:
		r.kickScan()
	case exitStopped:
		if !f.goneSince.IsZero() {
			r.forget(f)
		}
	case exitInactive, exitYield, exitError:
		r.watchIdle(f)
	}
	r.drainQueue()
}

func (r *runner) onHandoff(h handoff) {
	if !r.spec.pat.match(h.path) {
		return // the copy is not one of this entry's files: nothing would read it again
	}
	f := r.files[h.dk]
	if f == nil {
		if !r.e.claim(h.dk, r) {
			return
		}
		f = &file{dk: h.dk}
		r.files[h.dk] = f
		r.lagMu.Lock()
		r.lagFiles[h.dk] = f
		r.lagMu.Unlock()
	} else if f.running || f.queued {
		return // already read on its own (found before the truncation was seen)
	}
	f.setGen(h.g, h.wm)
	f.path, f.id, f.size, f.modTime, f.offset = h.path, h.id, h.size, h.modTime, h.size
	f.published.Store(h.size)
	if f.shadowOf != nil {
		f.shadowOf = nil
		r.shadows--
	}
	r.initReaders(f)
}

// expireShadows lets a suspected copy be read on its own when no truncation followed.
func (r *runner) expireShadows() {
	now := time.Now()
	for _, f := range r.files {
		if f.shadowOf != nil && (now.Sub(f.shadowAt) >= shadowGrace || r.files[f.shadowOf.dk] != f.shadowOf) {
			f.shadowOf = nil
			r.shadows--
			if f.size > f.offset {
				r.want(f)
			}
		}
	}
}

func (r *runner) forget(f *file) {
	if r.files[f.dk] != f {
		return
	}
	delete(r.files, f.dk)
	if f.shadowOf != nil {
		f.shadowOf = nil
		r.shadows--
	}
	r.unwatchIdle(f)
	r.lagMu.Lock()
	delete(r.lagFiles, f.dk)
	r.lagMu.Unlock()
	r.e.release(f.dk, r)
}

// shutdown stops the harvesters, waits up to shutdown_timeout for their in-flight events
// to be acknowledged and releases the files.
func (r *runner) shutdown() {
	r.cancel()
	close(r.stopped)
	for _, f := range r.files {
		if f.running {
			<-f.done
		}
	}
	r.e.waiting.Add(-int64(len(r.queue)))
	r.queue = nil
	ctx, cancel := context.WithTimeout(context.Background(), r.e.cfg.ShutdownTimeout)
	defer cancel()
	unacked := 0
	for _, f := range r.files {
		_, wm := f.current()
		if err := wm.Wait(ctx, f.published.Load()); err != nil {
			unacked++
		}
	}
	if unacked > 0 {
		r.e.log.Warn("stopped before every in-flight event was acknowledged; they are read again after restart",
			"entry", r.spec.e.Path, "files", unacked, "shutdown_timeout", r.e.cfg.ShutdownTimeout)
	}
	r.e.ckq.sync() // what was acknowledged reaches the store before the files are let go
	for _, f := range r.files {
		r.e.release(f.dk, r)
	}
	if w := r.e.watcher; w != nil {
		w.remove(r)
	}
	r.e.kickAll()
}

func errReason(err error) string {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return "permission"
	case errors.Is(err, syscall.EISDIR):
		return "directory"
	default:
		return "open"
	}
}
