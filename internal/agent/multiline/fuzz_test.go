package multiline

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/logcollect/logcollect/internal/control/entry"
)

// FuzzJoiner pushes the lines of data through a Joiner configured by the fuzzer, with
// Flush calls (timeouts) and reader-cut flags where flags says, and compares the events with
// a batch model of the same rules: after, a line starts a group unless it continues one;
// before, a group ends at a line that does not continue onto the next.
func FuzzJoiner(f *testing.F) {
	f.Add([]byte("E\n at a\n at b\nn"), []byte{0, 1, 2}, uint8(0), uint8(2), uint8(10))
	fuzzPatterns := []string{`^\s`, `^[0-9]`, `\\$`, `a`}
	f.Fuzz(func(t *testing.T, data, flags []byte, mode, maxLines8, maxBytes8 uint8) {
		cfg := entry.Multiline{
			Pattern:  fuzzPatterns[int(mode>>2)%len(fuzzPatterns)],
			Negate:   mode&1 != 0,
			Match:    entry.MatchAfter,
			MaxLines: int(maxLines8 % 8), // 0: no limit
		}
		if mode&2 != 0 {
			cfg.Match = entry.MatchBefore
		}
		maxBytes := int(maxBytes8) + 1
		j, err := New(cfg, maxBytes)
		if err != nil {
			t.Fatal(err)
		}
		flag := func(i int) byte {
			if len(flags) == 0 {
				return 0
			}
			return flags[i%len(flags)]
		}

		lines := bytes.Split(data, []byte("\n"))
		var got []Event
		var off int64
		offs := make([]int64, len(lines)+1)
		for i, l := range lines {
			end := off + int64(len(l)) + 1
			if ev, ok := j.Push(l, off, end, flag(i)&2 != 0); ok {
				got = append(got, ev)
			}
			if flag(i)&1 != 0 {
				if ev, ok := j.Flush(); ok {
					got = append(got, ev)
				}
			}
			offs[i], off = off, end
		}
		offs[len(lines)] = off
		if ev, ok := j.Flush(); ok {
			got = append(got, ev)
		}

		// The model: group boundaries from the rules, then each group's expected event.
		re := regexp.MustCompile(cfg.Pattern)
		var groups [][2]int // [first, last] line index
		start := 0
		for i, l := range lines {
			cont := re.Match(l) != cfg.Negate
			var endsHere bool
			if cfg.Match == entry.MatchBefore {
				endsHere = !cont || flag(i)&1 != 0
			} else {
				nextStarts := i+1 < len(lines) && re.Match(lines[i+1]) == cfg.Negate
				endsHere = nextStarts || flag(i)&1 != 0
			}
			if endsHere || i == len(lines)-1 {
				groups = append(groups, [2]int{start, i})
				start = i + 1
			}
		}
		if len(got) != len(groups) {
			t.Fatalf("got %d events, model has %d groups %v", len(got), len(groups), groups)
		}
		for g, ev := range got {
			first, last := groups[g][0], groups[g][1]
			kept := lines[first : last+1]
			trunc := false
			for i := first; i <= last; i++ {
				trunc = trunc || flag(i)&2 != 0
			}
			if cfg.MaxLines > 0 && len(kept) > cfg.MaxLines {
				kept, trunc = kept[:cfg.MaxLines], true
			}
			joined := bytes.Join(kept, []byte("\n"))
			if len(joined) > maxBytes {
				joined, trunc = joined[:maxBytes], true
			}
			w := Event{Line: joined, Offset: offs[first], End: offs[last+1], Lines: last - first + 1, Truncated: trunc}
			if !bytes.Equal(ev.Line, w.Line) || ev.Offset != w.Offset || ev.End != w.End || ev.Lines != w.Lines || ev.Truncated != w.Truncated {
				t.Fatalf("event %d = %q %d-%d lines=%d truncated=%v, want %q %d-%d lines=%d truncated=%v",
					g, ev.Line, ev.Offset, ev.End, ev.Lines, ev.Truncated, w.Line, w.Offset, w.End, w.Lines, w.Truncated)
			}
		}
	})
}
