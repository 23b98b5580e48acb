package tail

import (
	"context"
	"time"

	"github.com/logcollect/logcollect/internal/agent/checkpoint"
	"github.com/logcollect/logcollect/internal/agent/pipeline"
	"github.com/logcollect/logcollect/internal/logformat"
)

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
	// nTimeFail counts lines whose time looked like one but did not parse.
	nTimeFail int
	timeCache logformat.Cache // the last line's date and time: most lines share it
}

func (r *runner) newBatch(path, fileID string, wm *checkpoint.Watermark) *batch {
	return &batch{r: r, path: path, fileID: fileID, wm: wm, evCap: 8, arenaCap: 1 << 10, dropFrom: -1}
}

// line takes one line (or joined event) through keep_empty and the line filters, and
// finds its event time.
func (b *batch) line(line []byte, off, end int64, truncated bool, meta lineMeta) {
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
	fields := meta.fields
	if fields == nil {
		fields = s.e.Fields
	}
	b.events = append(b.events, pipeline.Event{
		Topic:     s.e.Topic,
		Host:      b.r.e.cfg.AgentID,
		Path:      b.path,
		FileID:    b.fileID,
		Offset:    off,
		End:       end,
		Time:      b.eventTime(line, meta),
		ReadTime:  b.now,
		Format:    s.format,
		Pattern:   s.pattern,
		Fields:    fields,
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
	if b.nTimeFail > 0 {
		b.r.timeFailC.Add(float64(b.nTimeFail))
		b.nTimeFail = 0
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
