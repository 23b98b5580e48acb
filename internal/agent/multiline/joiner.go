// Package multiline joins the lines of one file into multiline events (a stack trace, a
// pretty-printed record) with Filebeat's semantics: a pattern, negate, and whether a
// matching line belongs to the line before it ("after") or to the line after it ("before").
//
// The Joiner has no clock and starts no goroutine: the caller applies the timeout. It calls
// Flush when cfg.Timeout has passed since the last Push while Pending() is true (so a
// trace whose last line was written stays visible), and when the file is closed for good.
package multiline

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/logcollect/logcollect/internal/control/entry"
)

// Event is one joined event: the lines joined by "\n", cut to the joiner's max bytes.
type Event struct {
	Line []byte // owned by the receiver: the joiner never touches it again
	// Offset is the offset of the first line's first byte, End the end of the last line
	// the event covers (just past its "\n"), lines dropped by max_lines included, so the
	// checkpoint moves past everything the event stands for.
	Offset, End int64
	// Lines is the number of source lines the event covers, dropped ones included.
	Lines int
	// Truncated says bytes are missing: a line was cut by the reader, lines beyond
	// max_lines were dropped, or the joined event was cut at max bytes.
	Truncated bool
}

// Joiner groups consecutive lines into events. It is not safe for concurrent use: one
// Joiner serves one file.
type Joiner struct {
	re       *regexp.Regexp
	negate   bool
	before   bool
	maxLines int
	maxBytes int

	buf       []byte // the pending event's joined bytes, reused between events
	pending   bool
	offset    int64
	end       int64
	lines     int // source lines covered
	kept      int // lines joined into buf (at most maxLines)
	truncated bool
}

// scratchKeep is the largest buffer kept between events; a larger one (a huge stack trace)
// is dropped so that an idle file does not hold up to max bytes for ever.
const scratchKeep = 64 << 10

// New returns a Joiner for cfg, which has been through entry.Entry.WithDefaults. maxBytes
// cuts the joined event (usually the entry's max_line_bytes); <= 0 means
// entry.DefaultMaxLineBytes. cfg.MaxLines <= 0 means no line limit. cfg.Timeout is not used
// here (see the package comment).
func New(cfg entry.Multiline, maxBytes int) (*Joiner, error) {
	if cfg.Pattern == "" {
		return nil, errors.New("multiline.pattern: required")
	}
	re, err := regexp.Compile(cfg.Pattern)
	if err != nil {
		return nil, fmt.Errorf("multiline.pattern %q: %w", cfg.Pattern, err)
	}
	j := &Joiner{re: re, negate: cfg.Negate, maxLines: cfg.MaxLines, maxBytes: maxBytes}
	switch cfg.Match {
	case entry.MatchAfter, "":
	case entry.MatchBefore:
		j.before = true
	default:
		return nil, fmt.Errorf("multiline.match %q: must be one of after, before", cfg.Match)
	}
	if j.maxBytes <= 0 {
		j.maxBytes = entry.DefaultMaxLineBytes
	}
	return j, nil
}

// Push feeds one line (bytes copied as needed: line may be reused by the caller once Push
// returns), with its file offsets and whether the reader cut it. It returns a completed
// event when the line closes one. With match "after" that is the group before this line
// (a line that is not a continuation starts a new group); with "before" it is the group
// ending with this line.
func (j *Joiner) Push(line []byte, offset, end int64, truncated bool) (Event, bool) {
	// cont: with "after" the line continues the previous one; with "before" the next line
	// continues this one.
	cont := j.re.Match(line) != j.negate
	if j.before {
		j.add(line, offset, end, truncated)
		if cont {
			return Event{}, false
		}
		return j.take(), true
	}
	if cont && j.pending {
		j.add(line, offset, end, truncated)
		return Event{}, false
	}
	ev, ok := Event{}, false
	if j.pending {
		ev, ok = j.take(), true
	}
	j.add(line, offset, end, truncated)
	return ev, ok
}

// Flush returns the pending group, if any, as an event: called on timeout or when the
// file is closed.
func (j *Joiner) Flush() (Event, bool) {
	if !j.pending {
		return Event{}, false
	}
	return j.take(), true
}

// Pending reports whether lines are waiting for the rest of their group.
func (j *Joiner) Pending() bool { return j.pending }

// add appends a line to the pending group, starting one if needed.
func (j *Joiner) add(line []byte, offset, end int64, truncated bool) {
	if !j.pending {
		j.pending, j.offset = true, offset
	}
	j.end = end
	j.lines++
	j.truncated = j.truncated || truncated
	if j.maxLines > 0 && j.kept >= j.maxLines {
		j.truncated = true // dropped, but its bytes are still covered by End
		return
	}
	j.kept++
	if j.kept > 1 {
		if len(j.buf) >= j.maxBytes {
			j.truncated = true
			return
		}
		j.buf = append(j.buf, '\n')
	}
	if avail := j.maxBytes - len(j.buf); len(line) > avail {
		line, j.truncated = line[:avail], true
	}
	j.buf = append(j.buf, line...)
}

// take hands the pending group over as an event and resets the joiner.
func (j *Joiner) take() Event {
	line := make([]byte, len(j.buf))
	copy(line, j.buf)
	ev := Event{Line: line, Offset: j.offset, End: j.end, Lines: j.lines, Truncated: j.truncated}
	j.buf = j.buf[:0]
	if cap(j.buf) > scratchKeep {
		j.buf = nil
	}
	j.pending, j.lines, j.kept, j.truncated = false, 0, 0, false
	return ev
}
