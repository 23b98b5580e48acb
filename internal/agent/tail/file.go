package tail

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logcollect/logcollect/internal/agent/checkpoint"
	"github.com/logcollect/logcollect/internal/agent/fileid"
	"github.com/logcollect/logcollect/internal/agent/multiline"
	"github.com/logcollect/logcollect/internal/logformat"
)

// gen is one generation of a file's content: what the checkpoint of its watermark is
// written under. A truncation starts a new generation; the old one is retired, or handed
// to the copy that copytruncate made of it.
type gen struct {
	store *checkpoint.Store
	q     *ckQueue

	// off and dirty carry acknowledged offsets from the sink's goroutines to the
	// checkpoint store in batches: an Ack costs two atomic operations, not a store update.
	off   atomic.Int64
	dirty atomic.Bool

	mu      sync.Mutex
	key     string
	path    string
	fileID  string
	prefix  fileid.Prefix // hash of the first bytes: the fingerprint once complete
	size    int64
	retired bool
}

// advance records the watermark's new offset; it runs under the watermark's lock, once
// per acknowledgement, so it only queues the generation for the next checkpoint sync.
func (g *gen) advance(off int64) {
	g.off.Store(off)
	if !g.dirty.Swap(true) {
		g.q.push(g)
	}
}

// sync writes the latest acknowledged offset into the store.
func (g *gen) sync() {
	g.dirty.Store(false)
	off := g.off.Load()
	g.set(off)
}

// set writes the state. The store is updated under g.mu so that a set and a rekey of
// the same generation reach the store in the order they took the lock.
func (g *gen) set(off int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.retired {
		g.store.Set(g.stateLocked(off))
	}
}

// ckQueue holds the generations whose offset moved since the last sync.
type ckQueue struct {
	syncMu sync.Mutex // one sync at a time: a sync returns only when the store has everything queued before it
	mu     sync.Mutex
	gens   []*gen
	kick   chan struct{} // a generation was queued into an empty queue
}

func (q *ckQueue) push(g *gen) {
	q.mu.Lock()
	first := len(q.gens) == 0
	q.gens = append(q.gens, g)
	q.mu.Unlock()
	if first {
		select {
		case q.kick <- struct{}{}:
		default:
		}
	}
}

// run syncs soon after each acknowledgement, at most once per checkpointSyncGap, until
// ctx ends.
func (q *ckQueue) run(ctx context.Context) {
	gap := time.NewTimer(checkpointSyncGap)
	defer gap.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.kick:
		}
		q.sync()
		gap.Reset(checkpointSyncGap)
		select {
		case <-ctx.Done():
			return
		case <-gap.C:
		}
	}
}

// sync moves every queued offset into the store; the engine calls it every
// checkpointSyncInterval and once more after the last acknowledgement it waits for.
func (q *ckQueue) sync() {
	q.syncMu.Lock()
	defer q.syncMu.Unlock()
	q.mu.Lock()
	gens := q.gens
	q.gens = nil
	q.mu.Unlock()
	for _, g := range gens {
		g.sync()
	}
}

func (g *gen) stateLocked(off int64) checkpoint.State {
	return checkpoint.State{Key: g.key, Path: g.path, Offset: off, Size: g.size,
		Fingerprint: g.prefix.Sum, FingerprintLen: g.prefix.Len, Updated: time.Now()}
}

func (g *gen) sizeNow() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.size
}

func (g *gen) prefixLen() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.prefix.Len
}

func (g *gen) pathNow() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.path
}

func (g *gen) setSize(n int64) {
	g.mu.Lock()
	if n > g.size {
		g.size = n
	}
	g.mu.Unlock()
}

// rekey moves the generation's checkpoint to a new key (the fingerprint became known, or
// the generation was handed to a copy) or records a longer prefix of a short file, which
// checkpoint.Store.Lookup needs to trust the checkpoint after a restart.
func (g *gen) rekey(id fileid.ID, p fileid.Prefix, path string, off int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.key
	g.key, g.prefix, g.fileID = id.Key(), p, id.String()
	g.path = path
	if old != g.key {
		g.store.Delete(old)
	}
	if !g.retired {
		g.store.Set(g.stateLocked(max(off, g.off.Load())))
	}
}

// retire stops the generation writing its checkpoint and deletes it.
func (g *gen) retire() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.retired = true
	g.store.Delete(g.key)
}

// touch rewrites the checkpoint with a fresh time, so a present file is never pruned.
func (g *gen) touch(off int64) { g.set(off) }

func newGen(store *checkpoint.Store, q *ckQueue, id fileid.ID, p fileid.Prefix, path string, size, start int64) (*gen, *checkpoint.Watermark) {
	g := &gen{store: store, q: q, key: id.Key(), path: path, fileID: id.String(), prefix: p, size: size}
	g.off.Store(start)
	wm := checkpoint.NewWatermark(start, g.advance)
	g.set(start)
	return g, wm
}

// file is one file known to a runner.
type file struct {
	dk devIno

	// genMu guards g and wm, which the lag collector reads while the harvester may replace
	// them after a truncation.
	genMu sync.Mutex
	g     *gen
	wm    *checkpoint.Watermark

	// The fields below belong to the runner while no harvester runs, and to the harvester
	// while one does (handed over through start and the finished channel).
	path    string
	id      fileid.ID
	offset  int64 // where the next complete line starts
	size    int64 // size at the last stat
	modTime time.Time
	joiner  *multiline.Joiner
	// env takes cri/docker lines out of their envelope; envQ holds the envelope's meta of
	// the lines in joiner; streamFields are the events' fields for stdout, stderr and
	// lines without a readable envelope.
	env          *logformat.Assembler
	envQ         []lineMeta
	streamFields [3]map[string]string

	running   bool
	reason    exitReason
	queued    bool
	shadowOf  *file     // a probable copytruncate copy of that file, not read on its own yet
	shadowAt  time.Time // when the shadow was found; it becomes a normal file after a while
	goneSince time.Time // when the last scan no longer found it (zero: present)
	forced    bool      // closed by close_removed_after
	// recover is the checkpoint of this inode's previous content, truncated while the
	// agent was down; the harvester looks for its copytruncate copy first.
	recover *checkpoint.State

	gone      atomic.Bool  // runner → harvester: no longer at a matched path
	published atomic.Int64 // end of the last batch the sink accepted
	cancel    context.CancelFunc
	done      chan struct{}
	wake      chan struct{}
}

func (f *file) current() (*gen, *checkpoint.Watermark) {
	f.genMu.Lock()
	defer f.genMu.Unlock()
	return f.g, f.wm
}

func (f *file) setGen(g *gen, wm *checkpoint.Watermark) {
	f.genMu.Lock()
	f.g, f.wm = g, wm
	f.genMu.Unlock()
}

// parseKey returns the device and inode of a checkpoint key "dev:ino:fingerprint".
func parseKey(key string) (devIno, bool) {
	parts := strings.SplitN(key, ":", 3)
	if len(parts) != 3 {
		return devIno{}, false
	}
	dev, err1 := strconv.ParseUint(parts[0], 10, 64)
	ino, err2 := strconv.ParseUint(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return devIno{}, false
	}
	return devIno{dev, ino}, true
}
