package sqlitestore

import (
	"context"
	"runtime"
	"sync"
)

// notAhead is how many of a first page's newest candidates its search reads one by one
// before it reads the others ahead: the page of a word in many blocks is full within a
// few, and blocks read ahead of it were read for nothing (twice the blocks, three times
// the time, for a status at 2 million lines).
const notAhead = 8

// maxRun is the most blocks one reader of readAhead decodes at a time. Runs start at one
// block and grow: a common word's page needs a block or two, a rare number's most of its
// candidates.
const maxRun = 16

// aheadRun is a run of readAhead's blocks: its ids, and the blocks a reader decoded of
// them, in order, or the error that stopped it.
type aheadRun struct {
	ids    []int64
	blocks []aheadBlock
	err    error
	done   chan struct{}
}

type aheadBlock struct {
	h     blockHead
	lines []line
}

// readAhead calls fn with the blocks ids (listed with pl's conditions: plan.listed,
// newest first) in that order until it returns false, the next runs decoded by readers
// of their own while fn has one, at most countWorkers + 1 runs at a time (each reader on
// a connection of the day's): one goroutine decoding and matching a rare number's
// hundreds of candidate blocks at 100 million lines took ~0.5–1 ms for each. After fn
// says no more, no run starts, those started finish, and rest is called with each block
// decoded after the last one fn had, in order: a histogram counts them instead of
// reading them again.
func (p *part) readAhead(ctx context.Context, pl plan, ids []int64, lo, hi, from, to int64,
	fn func(h blockHead, lines []line) bool, rest func(h blockHead, lines []line)) error {
	var runs []*aheadRun
	for k, size := 0, 1; k < len(ids); {
		r := &aheadRun{ids: ids[k:min(k+size, len(ids))], done: make(chan struct{})}
		runs, k = append(runs, r), k+len(r.ids)
		if len(runs) > 1 {
			size = min(2*size, maxRun) // 1, 1, 2, 4 …: what a page stopping early leaves read
		}
	}
	// slots bounds the runs started and not yet through fn: the one fn has and the next
	// ones being read, for memory, and for the work done for nothing when fn stops early.
	slots := make(chan struct{}, min(countWorkers, runtime.GOMAXPROCS(0))+1)
	stopped := make(chan struct{})
	started := 0 // runs started: the producer's until wg.Wait
	var wg sync.WaitGroup
	wg.Go(func() {
		var readers sync.WaitGroup
		defer readers.Wait()
		for _, r := range runs {
			select {
			case slots <- struct{}{}:
			case <-stopped:
				return
			}
			select {
			case <-stopped:
				return
			default:
			}
			started++
			readers.Go(func() { p.readRun(ctx, pl, r, lo, hi, from, to) })
		}
	})
	stop := -1 // the run in which fn said no more
	var err error
take:
	for i, r := range runs {
		<-r.done
		if err = r.err; err != nil {
			break
		}
		for j, b := range r.blocks {
			if !fn(b.h, b.lines) {
				stop = i
				for _, b := range r.blocks[j+1:] {
					rest(b.h, b.lines)
				}
				break take
			}
		}
		<-slots
	}
	close(stopped)
	wg.Wait()
	if stop < 0 {
		return err
	}
	for _, r := range runs[stop+1 : started] {
		if r.err != nil { // the page is whole: its histogram reads these
			break
		}
		for _, b := range r.blocks {
			rest(b.h, b.lines)
		}
	}
	return nil
}

// readRun decodes the blocks of r (newest first) with a scanner of its own, for
// readAhead: done is closed once it stops.
func (p *part) readRun(ctx context.Context, pl plan, r *aheadRun, lo, hi, from, to int64) {
	defer close(r.done)
	err := ctx.Err()
	if err == nil {
		sc := pl.scanner(p.codec)
		sc.keep = true // fn keeps lines of several blocks
		pl.ids = r.ids
		q, args := pl.blocksSQL(headCols, lo, hi, from, to, true)
		err = p.scanBlocksWith(ctx, &sc, q, args, func(h blockHead, lines []line) bool {
			r.blocks = append(r.blocks, aheadBlock{h, lines})
			return true
		})
	}
	r.err = err
}
