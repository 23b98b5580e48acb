package multiline

import (
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/control/entry"
)

// flush in a test's input calls Flush instead of pushing a line (the caller's timeout).
const flush = "<flush>"

// cut in a test's input marks the next line as cut by the line reader.
const cut = "<cut>"

type want struct {
	line      string
	off, end  int64
	lines     int
	truncated bool
}

// run pushes the inputs with contiguous offsets (each line plus its "\n"), then flushes,
// and returns every event in order.
func run(t *testing.T, j *Joiner, in []string) []want {
	t.Helper()
	var out []want
	collect := func(ev Event, ok bool) {
		if ok {
			out = append(out, want{string(ev.Line), ev.Offset, ev.End, ev.Lines, ev.Truncated})
		}
	}
	var off int64
	truncNext := false
	for _, l := range in {
		switch l {
		case flush:
			collect(j.Flush())
			continue
		case cut:
			truncNext = true
			continue
		}
		end := off + int64(len(l)) + 1
		collect(j.Push([]byte(l), off, end, truncNext))
		off, truncNext = end, false
	}
	collect(j.Flush())
	if j.Pending() {
		t.Error("Pending after the final Flush")
	}
	return out
}

func TestJoiner(t *testing.T) {
	after := func(p string, negate bool) entry.Multiline {
		return entry.Multiline{Pattern: p, Negate: negate, Match: entry.MatchAfter}
	}
	before := func(p string, negate bool) entry.Multiline {
		return entry.Multiline{Pattern: p, Negate: negate, Match: entry.MatchBefore}
	}
	tests := []struct {
		name     string
		cfg      entry.Multiline
		maxBytes int
		in       []string
		want     []want
	}{
		{
			name: "after: indented lines continue a stack trace",
			cfg:  after(`^\s`, false),
			in:   []string{"Exception: x", "  at a", "  at b", "next"},
			want: []want{
				{"Exception: x\n  at a\n  at b", 0, 27, 3, false},
				{"next", 27, 32, 1, false},
			},
		},
		{
			name: "after negate: lines without a timestamp continue the previous",
			cfg:  after(`^\d{4}-`, true),
			in:   []string{"2026-01 a", "cont", "", "2026-01 b"},
			want: []want{
				{"2026-01 a\ncont\n", 0, 16, 3, false},
				{"2026-01 b", 16, 26, 1, false},
			},
		},
		{
			name: "after: a continuation with nothing before starts its own event",
			cfg:  after(`^\s`, false),
			in:   []string{" orphan", "x"},
			want: []want{{" orphan", 0, 8, 1, false}, {"x", 8, 10, 1, false}},
		},
		{
			name: "before: a trailing backslash continues onto the next line",
			cfg:  before(`\\$`, false),
			in:   []string{`a \`, `b \`, "c", "d"},
			want: []want{
				{"a \\\nb \\\nc", 0, 10, 3, false},
				{"d", 10, 12, 1, false},
			},
		},
		{
			name: "before negate: lines up to one ending in ; form a statement",
			cfg:  before(`;$`, true),
			in:   []string{"SELECT *", "FROM t;", "x;"},
			want: []want{
				{"SELECT *\nFROM t;", 0, 17, 2, false},
				{"x;", 17, 20, 1, false},
			},
		},
		{
			name: "before: a pending group is returned by Flush",
			cfg:  before(`\\$`, false),
			in:   []string{"one", `two \`},
			want: []want{{"one", 0, 4, 1, false}, {`two \`, 4, 10, 1, false}},
		},
		{
			name: "max_lines drops extra lines but End covers them",
			cfg:  entry.Multiline{Pattern: `^\s`, Match: entry.MatchAfter, MaxLines: 2},
			in:   []string{"E", " 1", " 2", " 3", "n"},
			want: []want{
				{"E\n 1", 0, 11, 4, true},
				{"n", 11, 13, 1, false},
			},
		},
		{
			name:     "max bytes cuts the joined event",
			cfg:      after(`^\s`, false),
			maxBytes: 6,
			in:       []string{"abc", " de", " f"},
			want:     []want{{"abc\n d", 0, 11, 3, true}},
		},
		{
			name:     "exactly max bytes is not truncated",
			cfg:      after(`^\s`, false),
			maxBytes: 7,
			in:       []string{"abc", " de", "x"},
			want:     []want{{"abc\n de", 0, 8, 2, false}, {"x", 8, 10, 1, false}},
		},
		{
			name:     "max bytes reached exactly, the separator of the next line is cut too",
			cfg:      after(`^\s`, false),
			maxBytes: 3,
			in:       []string{"abc", " d"},
			want:     []want{{"abc", 0, 7, 2, true}},
		},
		{
			name: "a line cut by the reader marks its event",
			cfg:  after(`^\s`, false),
			in:   []string{"E", cut, " long", "n"},
			want: []want{{"E\n long", 0, 8, 2, true}, {"n", 8, 10, 1, false}},
		},
		{
			name: "timeout flush ends a group; a later continuation stands alone",
			cfg:  after(`^\s`, false),
			in:   []string{"E", " 1", flush, " 2", "n"},
			want: []want{
				{"E\n 1", 0, 5, 2, false},
				{" 2", 5, 8, 1, false},
				{"n", 8, 10, 1, false},
			},
		},
		{
			name: "flush with nothing pending returns nothing",
			cfg:  after(`^\s`, false),
			in:   []string{flush, "a", flush, flush},
			want: []want{{"a", 0, 2, 1, false}},
		},
		{
			name: "empty match defaults to after",
			cfg:  entry.Multiline{Pattern: `^\s`},
			in:   []string{"a", " b"},
			want: []want{{"a\n b", 0, 5, 2, false}},
		},
		{
			name: "invalid utf-8 passes through",
			cfg:  after(`^\s`, false),
			in:   []string{"\xff\xfe", " \xc3"},
			want: []want{{"\xff\xfe\n \xc3", 0, 6, 2, false}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, err := New(tc.cfg, tc.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			got := run(t, j, tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d events %+v, want %d %+v", len(got), got, len(tc.want), tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("event %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestJoinerPending(t *testing.T) {
	j, err := New(entry.Multiline{Pattern: `^\s`, Match: entry.MatchAfter}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if j.Pending() {
		t.Fatal("new Joiner is pending")
	}
	j.Push([]byte("a"), 0, 2, false)
	if !j.Pending() {
		t.Fatal("not pending after a line")
	}
	if _, ok := j.Flush(); !ok || j.Pending() {
		t.Fatalf("Flush ok=%v, Pending=%v after it; want true, false", ok, j.Pending())
	}
}

// TestJoinerOwnership checks both directions: the caller may reuse the line it pushed (the
// reader's buffer), and an event's bytes are not changed by later pushes.
func TestJoinerOwnership(t *testing.T) {
	j, err := New(entry.Multiline{Pattern: `^\s`, Match: entry.MatchAfter}, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte("first")
	j.Push(buf, 0, 6, false)
	copy(buf, "XXXXX")
	ev, ok := j.Push([]byte("second"), 6, 13, false)
	if !ok || string(ev.Line) != "first" {
		t.Fatalf("event = %q ok=%v, want \"first\" (the pushed bytes were copied)", ev.Line, ok)
	}
	j.Push([]byte("third!"), 13, 20, false)
	if string(ev.Line) != "first" {
		t.Fatalf("event changed to %q by later pushes", ev.Line)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  entry.Multiline
		want string
	}{
		{"no pattern", entry.Multiline{}, "multiline.pattern: required"},
		{"bad pattern", entry.Multiline{Pattern: "("}, "multiline.pattern"},
		{"bad match", entry.Multiline{Pattern: "x", Match: "sideways"}, "multiline.match"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, 0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestJoinerDefaults checks that a config straight from WithDefaults is accepted as is.
func TestJoinerDefaults(t *testing.T) {
	e := entry.Entry{Multiline: &entry.Multiline{Pattern: `^\s`}}.WithDefaults()
	j, err := New(*e.Multiline, e.MaxLineBytes)
	if err != nil {
		t.Fatal(err)
	}
	if j.maxLines != 500 || j.before || time.Duration(e.Multiline.Timeout) != 2*time.Second {
		t.Errorf("maxLines=%d before=%v timeout=%v, want 500 false 2s", j.maxLines, j.before, time.Duration(e.Multiline.Timeout))
	}
}

func BenchmarkJoiner(b *testing.B) {
	j, err := New(entry.Multiline{Pattern: `^\s`, Match: entry.MatchAfter, MaxLines: 500}, 0)
	if err != nil {
		b.Fatal(err)
	}
	lines := [][]byte{
		[]byte("2026-11-25T14:00:00Z ERROR request failed: java.lang.IllegalStateException: boom"),
		[]byte("\tat com.example.Service.handle(Service.java:42)"),
		[]byte("\tat com.example.Server.run(Server.java:7)"),
		[]byte("2026-11-25T14:00:01Z INFO request ok"),
	}
	var off int64
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			end := off + int64(len(l)) + 1
			j.Push(l, off, end, false)
			off = end
		}
	}
}
