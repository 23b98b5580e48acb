package logformat

import (
	"bytes"
	"time"
)

// Streams of a container line.
const (
	StreamStdout = "stdout"
	StreamStderr = "stderr"
)

// Line is one application line taken out of its container envelope, partial lines
// joined.
type Line struct {
	// Msg is the application's line, without the runtime's trailing newline. It is valid
	// until the next Push or Flush.
	Msg []byte
	// Stream is StreamStdout or StreamStderr, "" when the envelope was unreadable.
	Stream string
	// Time is the runtime's timestamp of the first part; zero when the envelope was
	// unreadable (Bad).
	Time time.Time
	// Offset is where the first physical line of the event starts, End where the last
	// ends: acknowledging [Offset, End) covers every part.
	Offset, End int64
	// Truncated: a part was cut by the reader, or the joined line by max bytes.
	Truncated bool
	// Bad: a line not in the envelope's format; Msg is the raw line.
	Bad bool
}

// Assembler takes container lines out of their envelope and joins partial lines (CRI's
// "P" tag; docker's json-file lines whose "log" does not end in a newline) with the part
// that ends them. One Assembler serves one file and is not safe for concurrent use. It
// holds at most maxBytes of a partial line: beyond, parts are still consumed (their bytes
// covered by End) but dropped, and the line is Truncated.
type Assembler struct {
	format   Format
	maxBytes int

	pending bool
	first   Line // Stream, Time, Offset of the pending line
	buf     []byte
	scratch []byte // the unescaped "log" of a docker line
}

// NewAssembler returns an Assembler for format (CRI or Docker) that joins at most
// maxBytes.
func NewAssembler(format Format, maxBytes int) *Assembler {
	return &Assembler{format: format, maxBytes: maxBytes}
}

// Pending reports whether parts wait for the part that ends their line.
func (a *Assembler) Pending() bool { return a.pending }

// Push takes one physical line [off, end) of the file. It returns a complete line when
// raw ends one (or is not in the envelope's format: then it is a line of its own, joined
// to a pending partial line if there is one, so the offsets stay contiguous).
func (a *Assembler) Push(raw []byte, off, end int64, truncated bool) (Line, bool) {
	var msg []byte
	var l Line
	var partial, ok bool
	if a.format == Docker {
		msg, l.Stream, l.Time, partial, ok = a.decodeDocker(raw)
	} else {
		msg, l.Stream, l.Time, partial, ok = decodeCRI(raw)
	}
	if !ok {
		msg, l = raw, Line{Bad: true}
	}
	l.Offset, l.End, l.Truncated = off, end, truncated
	if !a.pending && !partial {
		l.Msg = msg
		return l, true
	}
	if !a.pending {
		a.pending, a.first, a.buf = true, l, a.buf[:0]
	}
	a.first.Truncated = a.first.Truncated || truncated
	if room := a.maxBytes - len(a.buf); len(msg) > room {
		msg, a.first.Truncated = msg[:max(room, 0)], true
	}
	a.buf = append(a.buf, msg...)
	if partial {
		return Line{}, false
	}
	return a.take(end), true
}

// Flush returns the pending partial line as it is (the file is closed for good).
func (a *Assembler) Flush() (Line, bool) {
	if !a.pending {
		return Line{}, false
	}
	return a.take(a.first.End), true
}

func (a *Assembler) take(end int64) Line {
	l := a.first
	l.Msg, l.End = a.buf, end
	a.pending, a.first = false, Line{}
	return l
}

// decodeCRI reads "<RFC 3339 nano> <stdout|stderr> <P|F>[:more tags] <msg>".
func decodeCRI(raw []byte) (msg []byte, stream string, t time.Time, partial, ok bool) {
	t, n, st := parseRFC3339(raw, nil)
	if st != Found || n >= len(raw) || raw[n] != ' ' {
		return nil, "", time.Time{}, false, false
	}
	rest := raw[n+1:]
	switch {
	case bytes.HasPrefix(rest, []byte("stdout ")):
		stream = StreamStdout
	case bytes.HasPrefix(rest, []byte("stderr ")):
		stream = StreamStderr
	default:
		return nil, "", time.Time{}, false, false
	}
	rest = rest[7:]
	if len(rest) == 0 || (rest[0] != 'P' && rest[0] != 'F') {
		return nil, "", time.Time{}, false, false
	}
	partial = rest[0] == 'P'
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return nil, stream, t, partial, true // an empty line: "… stdout F"
	}
	return rest[sp+1:], stream, t, partial, true
}

// decodeDocker reads {"log":"…\n","stream":"stdout","time":"…"}.
func (a *Assembler) decodeDocker(raw []byte) (msg []byte, stream string, t time.Time, partial, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, "", time.Time{}, false, false
	}
	logv, str, found := jsonValue(raw, "log")
	if !found || !str {
		return nil, "", time.Time{}, false, false
	}
	if sv, _, found := jsonValue(raw, "stream"); found {
		switch string(sv) {
		case StreamStdout:
			stream = StreamStdout
		case StreamStderr:
			stream = StreamStderr
		}
	}
	tv, _, found := jsonValue(raw, "time")
	if !found {
		return nil, "", time.Time{}, false, false
	}
	t, _, st := parseRFC3339(tv, nil)
	if st != Found {
		return nil, "", time.Time{}, false, false
	}
	a.scratch, ok = appendUnescaped(a.scratch[:0], logv)
	if !ok {
		return nil, "", time.Time{}, false, false
	}
	msg = a.scratch
	if m, cut := bytes.CutSuffix(msg, []byte("\n")); cut {
		msg = bytes.TrimSuffix(m, []byte("\r"))
	} else {
		partial = true // docker splits lines over 16 KiB; only the last part ends in "\n"
	}
	return msg, stream, t, partial, true
}
