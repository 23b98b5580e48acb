package logformat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Status says what Time found.
type Status int

const (
	// NotFound: the line has no timestamp where one is looked for; the read time is the
	// event time. Not an error: most plain lines of many programs have none.
	NotFound Status = iota
	// Found: the returned time is the line's own.
	Found
	// Failed: something that looks like a timestamp (or the configured field) is there but
	// does not parse; the read time is the event time and callers count the line.
	Failed
)

type layoutKind int

const (
	kindDetect layoutKind = iota
	kindNone
	kindRFC3339
	kindUnix
	kindUnixMs
	kindUnixUs
	kindUnixNs
	kindCommonLog
	kindSyslog
	kindGo
)

// timeSpec is a compiled Time.
type timeSpec struct {
	field  string
	kind   layoutKind
	layout string         // kindGo
	words  int            // kindGo at the line's start: how many space-separated words it spans
	loc    *time.Location // for times without a zone; nil is UTC
}

func compileTime(t Time) (timeSpec, error) {
	ts := timeSpec{field: t.Field}
	switch t.Layout {
	case "":
		ts.kind = kindDetect
	case LayoutNone:
		ts.kind = kindNone
	case LayoutRFC3339:
		ts.kind = kindRFC3339
	case LayoutUnix:
		ts.kind = kindUnix
	case LayoutUnixMs:
		ts.kind = kindUnixMs
	case LayoutUnixUs:
		ts.kind = kindUnixUs
	case LayoutUnixNs:
		ts.kind = kindUnixNs
	case LayoutCommonLog:
		ts.kind = kindCommonLog
	case LayoutSyslog:
		ts.kind = kindSyslog
	default:
		ts.kind, ts.layout = kindGo, t.Layout
		ts.words = strings.Count(t.Layout, " ") + 1
	}
	if t.Timezone != "" && t.Timezone != "UTC" {
		loc, err := time.LoadLocation(t.Timezone)
		if err != nil {
			return timeSpec{}, fmt.Errorf("time.timezone: %w", err)
		}
		ts.loc = loc
	}
	return ts, nil
}

// Off reports whether the parser never looks for a time (layout none, or a container
// format, whose time comes with its envelope): callers skip Time altogether.
func (p *Parser) Off() bool { return p.ts.kind == kindNone || p.format.Envelope() }

// Time returns the event time of line and whether it was found. now is the read time: it
// is returned when none is found, and it dates syslog's year-less timestamps (the latest
// year that does not put the line more than a day after now).
//
// With no Time settings, the forms detected are, at the line's start (after a syslog
// "<PRI>" and RFC 5424 version, or a "["): RFC 3339 / ISO 8601 with 'T' or ' ', any
// fraction, with or without a zone; the common log format's 02/Jan/2006:15:04:05[.frac] -0700;
// syslog's Jan _2 15:04:05. A JSON object line: its first "time", "ts", "timestamp" or
// "@timestamp" key, whose value is one of those forms or epoch seconds (or milliseconds,
// microseconds, nanoseconds, told apart by size). Else a common log time in "[…]" in the
// line's first 128 bytes (access logs). Only the line's start is looked at, so the cost
// does not grow with the line.
func (p *Parser) Time(line []byte, now time.Time) (time.Time, Status) {
	if p.Off() {
		return now, NotFound
	}
	var t time.Time
	var st Status
	switch {
	case p.ts.field != "":
		t, st = p.fieldTime(line, now)
	case p.format == JSON || p.format == Logfmt:
		t, st = p.knownKeyTime(line, now)
	case p.ts.kind == kindDetect:
		t, st = p.ts.detect(line, now)
	default:
		t, st = p.ts.atStart(line, now)
	}
	if st != Found {
		return now, st
	}
	return t, Found
}

// knownKeys are the keys a JSON or logfmt line's time is looked for under.
var knownKeys = [...]string{"time", "ts", "timestamp", "@timestamp"}

func (p *Parser) knownKeyTime(line []byte, now time.Time) (time.Time, Status) {
	var v []byte
	var str, found bool
	if p.format == Logfmt {
		for _, k := range knownKeys {
			if v, found = logfmtValue(line, k); found {
				str = true
				break
			}
		}
	} else {
		v, str, found = jsonKnownValue(line)
	}
	if !found {
		return time.Time{}, NotFound
	}
	return p.ts.value(v, str, now)
}

// fieldTime reads the configured field's value.
func (p *Parser) fieldTime(line []byte, now time.Time) (time.Time, Status) {
	var v []byte
	str, found := true, false
	switch p.format {
	case JSON:
		v, str, found = jsonValue(line, p.ts.field)
	case Logfmt:
		v, found = logfmtValue(line, p.ts.field)
	default:
		if p.group < 0 {
			return time.Time{}, Failed
		}
		var buf [20]int
		m := submatch(p, line, buf[:0])
		if m == nil {
			return time.Time{}, Failed
		}
		if m[2*p.group] >= 0 {
			v, found = line[m[2*p.group]:m[2*p.group+1]], true
		}
	}
	if !found {
		return time.Time{}, Failed
	}
	return p.ts.value(v, str, now)
}

// FieldTime returns the event time from parsed fields (a transfer.parse rule's
// time_field), with the parser's layout: a number is taken as epoch seconds,
// milliseconds, microseconds or nanoseconds by its size unless the layout says which.
func (p *Parser) FieldTime(fields []Field) (time.Time, bool) {
	name := p.ts.field
	if name == "" && p.access {
		name = "time_local"
	}
	if name == "" {
		return time.Time{}, false
	}
	for _, f := range fields {
		if f.Name != name {
			continue
		}
		var t time.Time
		var st Status
		switch v := f.Value.(type) {
		case string:
			t, st = p.ts.value([]byte(v), true, time.Now())
		case json.Number:
			t, st = p.ts.value([]byte(v), false, time.Now())
		case int64:
			t, st = p.ts.value(strconv.AppendInt(nil, v, 10), false, time.Now())
		default:
			return time.Time{}, false
		}
		return t, st == Found
	}
	return time.Time{}, false
}

// value parses a field's value: str says it was a string (a JSON number is not).
func (ts *timeSpec) value(v []byte, str bool, now time.Time) (time.Time, Status) {
	switch ts.kind {
	case kindDetect:
		if !str || allDigits(v) {
			return epochGuess(v)
		}
		t, st := ts.detectAt(v, now)
		if st == NotFound {
			st = Failed // the field is there: not a time is a failure
		}
		return t, st
	case kindGo:
		t, err := ts.parseGo(v)
		if err != nil {
			return time.Time{}, Failed
		}
		return t, Found
	}
	t, st := ts.atStart(v, now)
	if st == NotFound {
		st = Failed
	}
	return t, st
}

// atStart parses the configured layout at the start of s (plain and syslog lines, or a
// field's value).
func (ts *timeSpec) atStart(s []byte, now time.Time) (time.Time, Status) {
	s = skipSyslogHeader(s)
	switch ts.kind {
	case kindRFC3339:
		t, _, st := parseRFC3339(s, ts.loc)
		return t, st
	case kindCommonLog:
		if len(s) > 0 && s[0] == '[' {
			s = s[1:]
		}
		return parseCLF(s, ts.loc)
	case kindSyslog:
		return parseStamp(s, now, ts.loc)
	case kindUnix, kindUnixMs, kindUnixUs, kindUnixNs:
		return ts.parseEpoch(firstWord(s))
	case kindGo:
		w := s
		for i, n := 0, 0; i < len(s); i++ {
			if s[i] == ' ' {
				if n++; n == ts.words {
					w = s[:i]
					break
				}
			}
		}
		t, err := ts.parseGo(w)
		if err != nil {
			return time.Time{}, Failed
		}
		return t, Found
	}
	return ts.detect(s, now)
}

func (ts *timeSpec) parseGo(v []byte) (time.Time, error) {
	loc := ts.loc
	if loc == nil {
		loc = time.UTC
	}
	t, err := time.ParseInLocation(ts.layout, string(v), loc)
	return t.UTC(), err
}

func (ts *timeSpec) parseEpoch(v []byte) (time.Time, Status) {
	switch ts.kind {
	case kindUnixMs:
		return epoch(v, time.Millisecond)
	case kindUnixUs:
		return epoch(v, time.Microsecond)
	case kindUnixNs:
		return epoch(v, time.Nanosecond)
	}
	return epoch(v, time.Second)
}

// detect looks for the detected forms at the start of a line.
func (ts *timeSpec) detect(line []byte, now time.Time) (time.Time, Status) {
	s := skipSyslogHeader(line)
	if len(s) > 0 && s[0] == '{' {
		v, str, found := jsonKnownValue(s)
		if !found {
			return time.Time{}, NotFound
		}
		return ts.value(v, str, now)
	}
	t, st := ts.detectAt(s, now)
	if st != NotFound {
		return t, st
	}
	if clf := bracketed(s); clf != nil {
		return parseCLF(clf, ts.loc)
	}
	return time.Time{}, NotFound
}

// bracketed is what follows the first "[" in s's first 128 bytes, where an access log
// has its common log time ("10.0.0.1 - - [02/Jan/2006:15:04:05 -0700] …"); nil when
// there is none.
func bracketed(s []byte) []byte {
	if i := bytes.IndexByte(s[:min(len(s), 128)], '['); i >= 0 {
		return s[i+1:]
	}
	return nil
}

// detectAt tries the detected forms at the very start of s (or just after a "[").
func (ts *timeSpec) detectAt(s []byte, now time.Time) (time.Time, Status) {
	if len(s) > 0 && s[0] == '[' {
		s = s[1:]
	}
	if len(s) == 0 {
		return time.Time{}, NotFound
	}
	switch c := s[0]; {
	case c >= '0' && c <= '9':
		if t, _, st := parseRFC3339(s, ts.loc); st != NotFound {
			return t, st
		}
		return parseCLF(s, ts.loc)
	case c >= 'A' && c <= 'S':
		return parseStamp(s, now, ts.loc)
	}
	return time.Time{}, NotFound
}

// skipSyslogHeader skips "<PRI>" and an RFC 5424 version "1 ".
func skipSyslogHeader(s []byte) []byte {
	if len(s) < 3 || s[0] != '<' {
		return s
	}
	i := 1
	for i < len(s) && i <= 4 && isDigit(s[i]) {
		i++
	}
	if i == 1 || i >= len(s) || s[i] != '>' {
		return s
	}
	s = s[i+1:]
	if len(s) >= 2 && s[0] == '1' && s[1] == ' ' {
		s = s[2:]
	}
	return s
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// allDigits reports whether v is a non-empty run of digits (a fraction allowed).
func allDigits(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		if !isDigit(c) && c != '.' {
			return false
		}
	}
	return true
}

func firstWord(s []byte) []byte {
	if i := bytes.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}

// num reads n digits at s[i:], or -1.
func num(s []byte, i, n int) int {
	v := 0
	for _, c := range s[i : i+n] {
		if !isDigit(c) {
			return -1
		}
		v = v*10 + int(c-'0')
	}
	return v
}

// parseRFC3339 reads "2006-01-02T15:04:05[.frac][Z|±hh:mm|±hhmm|±hh]" at the start of
// s, with 'T', 't' or ' ' between date and time and an optional space before a numeric
// zone. A zone-less time is in loc (nil: UTC). It returns the bytes read. The shape is
// checked first: only a string of that shape with impossible values (month 13, 30
// February) is Failed.
func parseRFC3339(s []byte, loc *time.Location) (time.Time, int, Status) {
	base, st := dateTimeAt(s)
	if st != Found {
		return time.Time{}, 0, st
	}
	return finishRFC3339(s, base, loc)
}

// finishRFC3339 reads the fraction and zone after the 19 bytes of date and time whose
// seconds since 1970 (as if in UTC) are base.
func finishRFC3339(s []byte, base int64, loc *time.Location) (time.Time, int, Status) {
	ns, i, ok := fractionAt(s, 19)
	if !ok {
		return time.Time{}, 0, Failed
	}
	t, n := zonedAt(s[i:], base, ns, loc)
	return t, i + n, Found
}

// zonedAt is the time of base (seconds since 1970 as if in UTC) and ns, in the zone at
// the start of rest (zoneAt), or in loc when there is none (nil: UTC); n is the zone's
// length.
func zonedAt(rest []byte, base int64, ns int, loc *time.Location) (t time.Time, n int) {
	off, n, zoned := zoneAt(rest)
	if !zoned && loc != nil {
		u := time.Unix(base, 0).UTC()
		return time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), ns, loc).UTC(), n
	}
	return time.Unix(base-int64(off), int64(ns)).UTC(), n
}

// dateTimeAt reads the 19 bytes "2006-01-02T15:04:05" and returns their seconds since
// 1970 as if in UTC.
func dateTimeAt(s []byte) (int64, Status) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' ||
		(s[10] != 'T' && s[10] != ' ' && s[10] != 't') {
		return 0, NotFound
	}
	// Unrolled: this runs for every line of an entry with detection on.
	var bad byte
	for _, i := range [...]int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18} {
		if s[i]-'0' > 9 {
			bad = 1
		}
	}
	if bad != 0 {
		return 0, NotFound
	}
	y := int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
	mo, d := int(s[5]-'0')*10+int(s[6]-'0'), int(s[8]-'0')*10+int(s[9]-'0')
	h, mi, sec := int(s[11]-'0')*10+int(s[12]-'0'), int(s[14]-'0')*10+int(s[15]-'0'), int(s[17]-'0')*10+int(s[18]-'0')
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) || h > 23 || mi > 59 || sec > 59 {
		return 0, Failed
	}
	return daysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+sec), Found
}

// Cache remembers the date and time of the last line that started with one, and the
// common log time of the last access line: lines of a file mostly share their second, so
// the next line compares 19 or 20 bytes instead of reading them. One Cache serves one
// goroutine (a file's reader); its zero value is ready.
type Cache struct {
	key   [19]byte
	base  int64
	valid bool

	clfKey   [20]byte
	clfBase  int64
	clfValid bool
}

// TimeCached is Time with c remembering the last line's date and time.
func (p *Parser) TimeCached(c *Cache, line []byte, now time.Time) (time.Time, Status) {
	if c == nil || p.ts.kind != kindDetect || p.ts.field != "" || p.format == JSON || p.format == Logfmt ||
		p.format.Envelope() || len(line) < 19 || !isDigit(line[0]) {
		return p.Time(line, now)
	}
	if !c.valid || string(line[:19]) != string(c.key[:]) {
		base, st := dateTimeAt(line)
		if st == NotFound {
			if t, ok := p.clfCached(c, line); ok {
				return t, Found
			}
		}
		if st != Found {
			return p.Time(line, now) // not a cached form: the other detected ones
		}
		copy(c.key[:], line[:19])
		c.base, c.valid = base, true
	}
	t, _, st := finishRFC3339(line, c.base, p.ts.loc)
	if st != Found {
		return now, st
	}
	return t, Found
}

// clfCached is what detect finds in an access line, a common log time after a "[" (line
// starts with a digit and is not a date and time), with c remembering the last one's
// date and time; ok is false for any other line, which Time then reads.
func (p *Parser) clfCached(c *Cache, line []byte) (time.Time, bool) {
	if _, st := clfBase(line); st != NotFound {
		return time.Time{}, false // a common log time at the start: detectAt's
	}
	s := bracketed(line)
	if len(s) < 20 {
		return time.Time{}, false
	}
	if !c.clfValid || string(s[:20]) != string(c.clfKey[:]) {
		base, st := clfBase(s)
		if st != Found {
			return time.Time{}, false
		}
		copy(c.clfKey[:], s[:20])
		c.clfBase, c.clfValid = base, true
	}
	return finishCLF(s, c.clfBase, p.ts.loc), true
}

// fractionAt reads an optional fraction of a second at s[i:], "." or "," and digits (at
// most nine count), and returns it in nanoseconds with the index after it. ok is false
// for a separator without digits.
func fractionAt(s []byte, i int) (ns, end int, ok bool) {
	if i >= len(s) || (s[i] != '.' && s[i] != ',') {
		return 0, i, true
	}
	i++
	digits := 0
	for i < len(s) && isDigit(s[i]) {
		if digits < 9 {
			ns = ns*10 + int(s[i]-'0')
			digits++
		}
		i++
	}
	if digits == 0 {
		return 0, i, false
	}
	for ; digits < 9; digits++ {
		ns *= 10
	}
	return ns, i, true
}

// zoneAt reads a zone at the start of s: Z, ±hh:mm, ±hhmm, ±hh, optionally after one
// space for the numeric forms. It returns the offset east of UTC in seconds.
func zoneAt(s []byte) (offset, n int, ok bool) {
	if len(s) > 0 && (s[0] == 'Z' || s[0] == 'z') {
		return 0, 1, true
	}
	lead := 0
	if len(s) > 1 && s[0] == ' ' && (s[1] == '+' || s[1] == '-') {
		lead = 1
	}
	z := s[lead:]
	if len(z) < 3 || (z[0] != '+' && z[0] != '-') {
		return 0, 0, false
	}
	hh := num(z, 1, 2)
	if hh < 0 || hh > 23 {
		return 0, 0, false
	}
	mm, n := 0, 3
	switch {
	case len(z) >= 6 && z[3] == ':':
		mm, n = num(z, 4, 2), 6
	case len(z) >= 5 && isDigit(z[3]):
		mm, n = num(z, 3, 2), 5
	case lead == 1:
		return 0, 0, false // " +05" is too loose after a space: "… -5 degrees"
	}
	if mm < 0 || mm > 59 {
		return 0, 0, false
	}
	offset = hh*3600 + mm*60
	if z[0] == '-' {
		offset = -offset
	}
	return offset, lead + n, true
}

// parseCLF reads the common log format's "02/Jan/2006:15:04:05 -0700" at the start of s,
// with an optional fraction after the seconds (Apache's %{msec_frac}t, or a custom
// nginx format).
func parseCLF(s []byte, loc *time.Location) (time.Time, Status) {
	base, st := clfBase(s)
	if st != Found {
		return time.Time{}, st
	}
	return finishCLF(s, base, loc), Found
}

// clfBase reads the 20 bytes "02/Jan/2006:15:04:05" at the start of s and returns their
// seconds since 1970 as if in UTC.
func clfBase(s []byte) (int64, Status) {
	if len(s) < 20 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' {
		return 0, NotFound
	}
	d, y := num(s, 0, 2), num(s, 7, 4)
	mo := month(s[3:6])
	h, mi, sec := num(s, 12, 2), num(s, 15, 2), num(s, 18, 2)
	if d < 0 || y < 0 || mo == 0 || h < 0 || mi < 0 || sec < 0 || d < 1 || d > daysIn(mo, y) || h > 23 || mi > 59 || sec > 59 {
		return 0, Failed
	}
	return daysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+sec), Found
}

// finishCLF reads the fraction and zone after the 20 bytes of a common log time whose
// seconds since 1970 (as if in UTC) are base. A zone-less time is in loc (nil: UTC).
func finishCLF(s []byte, base int64, loc *time.Location) time.Time {
	ns, i, ok := fractionAt(s, 20)
	if !ok {
		ns, i = 0, 20 // "…:08:15:30. x": a full stop after the time, not a fraction
	}
	t, _ := zonedAt(s[i:], base, ns, loc)
	return t
}

// parseStamp reads syslog's "Jan _2 15:04:05[.frac]" at the start of s. The year is
// the latest that does not put the time more than a day after now (a file read in
// January holds December's lines of the year before).
func parseStamp(s []byte, now time.Time, loc *time.Location) (time.Time, Status) {
	if len(s) < 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':' {
		return time.Time{}, NotFound
	}
	mo := month(s[0:3])
	if mo == 0 {
		return time.Time{}, NotFound
	}
	var d int
	if s[4] == ' ' {
		d = num(s, 5, 1)
	} else {
		d = num(s, 4, 2)
	}
	h, mi, sec := num(s, 7, 2), num(s, 10, 2), num(s, 13, 2)
	if d < 1 || h < 0 || mi < 0 || sec < 0 || h > 23 || mi > 59 || sec > 59 || d > 31 {
		return time.Time{}, Failed
	}
	ns, _, ok := fractionAt(s, 15)
	if !ok {
		ns = 0 // "Mar  9 08:15:30. x": a full stop after the time, not a fraction
	}
	if loc == nil {
		loc = time.UTC
	}
	year := now.In(loc).Year()
	for _, y := range [...]int{year + 1, year, year - 1} {
		if d > daysIn(mo, y) {
			continue // 29 February of a year without one
		}
		t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, loc)
		if !t.After(now.Add(24 * time.Hour)) {
			return t.UTC(), Found
		}
	}
	return time.Time{}, Failed
}

// month returns 1–12 for "Jan"…"Dec", else 0.
func month(b []byte) int {
	if len(b) != 3 {
		return 0
	}
	switch string(b) { // no allocation: the compiler compares in place
	case "Jan":
		return 1
	case "Feb":
		return 2
	case "Mar":
		return 3
	case "Apr":
		return 4
	case "May":
		return 5
	case "Jun":
		return 6
	case "Jul":
		return 7
	case "Aug":
		return 8
	case "Sep":
		return 9
	case "Oct":
		return 10
	case "Nov":
		return 11
	case "Dec":
		return 12
	}
	return 0
}

func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d in the proleptic
// Gregorian calendar (Howard Hinnant's algorithm): arithmetic only, no time.Date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// epochGuess reads an epoch number whose unit is told by its size: seconds up to 1e11
// (the year 5138), then milliseconds, microseconds, nanoseconds.
func epochGuess(v []byte) (time.Time, Status) {
	intPart := v
	if i := bytes.IndexByte(v, '.'); i >= 0 {
		intPart = v[:i]
	}
	switch n := len(bytes.TrimLeft(intPart, "-")); {
	case n <= 11:
		return epoch(v, time.Second)
	case n <= 14:
		return epoch(v, time.Millisecond)
	case n <= 17:
		return epoch(v, time.Microsecond)
	}
	return epoch(v, time.Nanosecond)
}

// epoch reads a decimal number of units since 1970, with an optional fraction.
func epoch(v []byte, unit time.Duration) (time.Time, Status) {
	whole, frac, _ := bytes.Cut(v, []byte{'.'})
	if len(whole) == 0 || len(whole) > 19 || !allDigits(whole) || (len(frac) > 0 && !allDigits(frac)) {
		return time.Time{}, Failed
	}
	var n int64
	for _, c := range whole {
		n = n*10 + int64(c-'0')
	}
	per := int64(time.Second / unit)
	sec, ns := n/per, (n%per)*int64(unit)
	// The fraction of one unit, in nanoseconds: at most 9 digits count.
	scale := int64(unit)
	for _, c := range frac {
		if scale /= 10; scale == 0 {
			break
		}
		ns += int64(c-'0') * scale
	}
	return time.Unix(sec, ns).UTC(), Found
}
