package opensearchstore

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/logcollect/logcollect/internal/jsontext"
)

// A search answer is read member by member from its raw JSON rather than decoded into
// maps of interface values by encoding/json, which cost a hundred allocations a hit and
// most of the server's own time per search (BenchmarkDecodePage). The walk below finds
// where each member starts and ends; it is not a validator. The answers are OpenSearch's,
// read whole (Content-Length), and a full check (json.Valid) was another 12 % of the
// server's CPU per search, so what is checked is that the answer is one closed object,
// and on any input the walk ends without reading out of bounds (FuzzReadAnswer): bytes
// that are not JSON give an error or rows of garbage, never a panic.

// read reads a search answer in one pass (scanner): encoding/json reflecting over each
// hit cost as much as the walk over the documents. The hits' sources are kept as slices
// of b, which Store.do owns and never reuses.
func (resp *hitsResp) read(b []byte) error {
	sc := scanner{b: b}
	var errs []error
	closed := sc.object(func(k []byte) {
		switch string(k) {
		case "hits":
			sc.object(func(k []byte) {
				switch string(k) {
				case "total":
					errs = append(errs, json.Unmarshal(sc.value(), &resp.Hits.Total))
				case "hits":
					resp.Hits.Hits = resp.Hits.Hits[:0] // a repeated key replaces, as in encoding/json
					sc.array(func() { resp.Hits.Hits = append(resp.Hits.Hits, sc.hit()) })
				}
			})
		case "aggregations":
			// As encoding/json: null empties the map, a repeated key adds to it.
			if v := sc.peek(); v == 'n' {
				resp.Aggregations = nil
				return
			} else if v == '{' && resp.Aggregations == nil {
				resp.Aggregations = map[string]json.RawMessage{}
			}
			sc.object(func(k []byte) { resp.Aggregations[string(k)] = sc.value() })
		}
	})
	if sc.skipWS(); !closed || sc.i != len(b) {
		return errors.New("the answer is not one JSON object")
	}
	return errors.Join(errs...)
}

// hit reads one hit: its _source and sort values.
func (sc *scanner) hit() hitDoc {
	var d hitDoc
	sc.object(func(k []byte) {
		switch string(k) {
		case "_source":
			d.Source = sc.value()
		case "sort":
			sc.array(func() { d.Sort = append(d.Sort, json.Number(sc.value())) })
		}
	})
	return d
}

// histogramCounts reads a date_histogram's buckets: the documents per bucket, by the
// bucket's start in ms since 1970 (its key).
func histogramCounts(agg []byte) (keys, counts []int64, err error) {
	sc := scanner{b: agg}
	sc.object(func(k []byte) {
		if string(k) != "buckets" {
			return
		}
		sc.array(func() {
			var key, n int64
			sc.object(func(k []byte) {
				switch string(k) {
				case "key":
					key, err = number(sc.value(), err)
				case "doc_count":
					n, err = number(sc.value(), err)
				}
			})
			keys, counts = append(keys, key), append(counts, n)
		})
	})
	return keys, counts, err
}

// number is the integer v, keeping the first error seen.
func number(v []byte, prev error) (int64, error) {
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(v), 64) // 1.7E12: still a whole number
		if ferr != nil || f != float64(int64(f)) {
			return 0, cmp.Or(prev, fmt.Errorf("%q is not an integer", v))
		}
		n = int64(f)
	}
	return n, prev
}

// scanner reads JSON from b in one pass: each value is descended into (object, array)
// or taken whole (value), not both, so no byte of the answer is scanned twice. Every
// step moves forward or stops, so it ends on any input, and it never reads out of bounds.
type scanner struct {
	b []byte
	i int
}

func (sc *scanner) skipWS() { sc.i = skipWS(sc.b, sc.i) }

// peek returns the first byte of the value at the cursor (0 at the end).
func (sc *scanner) peek() byte {
	if sc.skipWS(); sc.i < len(sc.b) {
		return sc.b[sc.i]
	}
	return 0
}

// value returns the raw text of the value at the cursor and moves past it.
func (sc *scanner) value() []byte {
	sc.skipWS()
	start := sc.i
	sc.i = valueEnd(sc.b, start)
	return sc.b[start:sc.i]
}

// object calls fn with the key of each member of the object at the cursor, the cursor on
// its value, which fn reads (value, object, array) or leaves to be skipped. It returns
// whether an object was there and closed; what is not an object is skipped.
func (sc *scanner) object(fn func(key []byte)) bool {
	return sc.items('{', '}', func() bool {
		if sc.b[sc.i] != '"' {
			return false // not JSON
		}
		kEnd := stringEnd(sc.b, sc.i)
		key := sc.b[sc.i+1 : max(kEnd-1, sc.i+1)]
		sc.i = kEnd
		if sc.skipWS(); sc.i < len(sc.b) && sc.b[sc.i] == ':' {
			sc.i++
		}
		sc.skipWS()
		at := sc.i
		if fn(key); sc.i == at {
			sc.value()
		}
		return true // past the key at least
	})
}

// array calls fn with the cursor on each element of the array at the cursor, which fn
// reads; it returns whether an array was there and closed.
func (sc *scanner) array(fn func()) bool {
	return sc.items('[', ']', func() bool {
		at := sc.i
		if fn(); sc.i == at {
			sc.value()
		}
		return sc.i > at // not a value: not JSON
	})
}

// items runs item for each item of the object or array the byte open starts at the
// cursor, until close; item reads one and says whether it moved the cursor. It returns
// whether one was there and closed; anything else at the cursor is skipped.
func (sc *scanner) items(open, close byte, item func() bool) bool {
	if sc.skipWS(); sc.i >= len(sc.b) || sc.b[sc.i] != open {
		sc.value()
		return false
	}
	sc.i++
	for {
		if sc.skipWS(); sc.i >= len(sc.b) {
			return false
		}
		switch sc.b[sc.i] {
		case close:
			sc.i++
			return true
		case ',':
			sc.i++
		default:
			if !item() {
				return false
			}
		}
	}
}

// source is a document's _source as the transfer writes it (internal/transfer/document):
// one JSON object.
type source = json.RawMessage

// members calls fn with each member of the JSON object obj, in order: its key (the raw
// text between the quotes) and its value's raw text.
func members(obj []byte, fn func(key, val []byte)) {
	sc := scanner{b: obj}
	sc.object(func(k []byte) { fn(k, sc.value()) })
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the closing quote of the string whose opening
// quote is at i (len(b) when it is not closed).
func stringEnd(b []byte, i int) int {
	if end := jsontext.StringEnd(b, i+1); end >= 0 {
		return end + 1
	}
	return len(b)
}

// valueEnd returns the index just past the value starting at i (i itself when what
// starts there is no value; at most len(b)).
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		end, _ := containerEnd(b, i)
		return end
	}
	for ; i < len(b); i++ { // a number, true, false or null
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// containerEnd returns the index just past the object or array starting at i, and
// whether it is closed (len(b) and false when it is not).
func containerEnd(b []byte, i int) (int, bool) {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = stringEnd(b, i) - 1
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1, true
			}
		}
	}
	return len(b), false
}

// valueText is the value of a member as the store shows it: a string unquoted, null empty,
// anything else (a number, a boolean, an object) as its JSON text.
func valueText(val []byte) string {
	switch {
	case len(val) >= 2 && val[0] == '"':
		return unescape(val[1 : len(val)-1])
	case string(val) == "null":
		return ""
	}
	return string(val)
}

// unescape is the text of a JSON string's contents s (between its quotes; valid JSON).
// Most have no escape; a log line's quotes (\") are the common one.
func unescape(s []byte) string {
	i := bytes.IndexByte(s, '\\')
	if i < 0 {
		return string(s)
	}
	var out strings.Builder // its String does not copy
	out.Grow(len(s))
	for i >= 0 {
		out.Write(s[:i])
		if i+1 >= len(s) { // not valid JSON: the lone backslash dropped
			return out.String()
		}
		c := s[i+1]
		s = s[i+2:]
		switch c {
		case 'b':
			out.WriteByte('\b')
		case 'f':
			out.WriteByte('\f')
		case 'n':
			out.WriteByte('\n')
		case 'r':
			out.WriteByte('\r')
		case 't':
			out.WriteByte('\t')
		case 'u':
			r, rest := hex4(s)
			if utf16.IsSurrogate(r) {
				if len(rest) >= 6 && rest[0] == '\\' && rest[1] == 'u' {
					if r2, rest2 := hex4(rest[2:]); utf16.DecodeRune(r, r2) != utf8.RuneError {
						r, rest = utf16.DecodeRune(r, r2), rest2
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			out.WriteRune(r)
			s = rest
		default: // " \ /
			out.WriteByte(c)
		}
		i = bytes.IndexByte(s, '\\')
	}
	out.Write(s)
	return out.String()
}

// hex4 reads the 4 hex digits of a \u escape at the start of s.
func hex4(s []byte) (rune, []byte) {
	if len(s) < 4 {
		return utf8.RuneError, nil
	}
	v, err := strconv.ParseUint(string(s[:4]), 16, 32)
	if err != nil {
		return utf8.RuneError, s[4:]
	}
	return rune(v), s[4:]
}
