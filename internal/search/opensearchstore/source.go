package opensearchstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A search answer is read member by member from its raw JSON rather than decoded into
// maps of interface values by encoding/json, which cost a hundred allocations a hit and
// most of the server's own time per search (BenchmarkDecodePage). The walk below finds
// where each member starts and ends; it is not a validator. The answers are OpenSearch's,
// read whole (Content-Length), and a full check (json.Valid) was another 12 % of the
// server's CPU per search, so what is checked is that the answer is one object, and
// on any input the walk ends without reading out of bounds (FuzzReadAnswer): bytes that
// are not JSON give an error or rows of garbage, never a panic.

// read reads a search answer by walking its members (encoding/json reflecting over each
// hit cost as much as the walk over the documents). The hits' sources are kept as
// slices of b, which Store.do owns and never reuses.
func (resp *hitsResp) read(b []byte) error {
	start, end := skipWS(b, 0), len(bytes.TrimRight(b, " \t\r\n"))
	if start >= end || b[start] != '{' {
		return errors.New("the answer is not a JSON object")
	}
	if e, closed := containerEnd(b, start); !closed || e != end {
		return errors.New("the answer is not one JSON object")
	}
	var errs []error
	members(b, func(k, v []byte) {
		switch string(k) {
		case "hits":
			members(v, func(k, v []byte) {
				switch string(k) {
				case "total":
					errs = append(errs, json.Unmarshal(v, &resp.Hits.Total))
				case "hits":
					resp.Hits.Hits = resp.Hits.Hits[:0] // a repeated key replaces, as in encoding/json
					elements(v, func(h []byte) { resp.Hits.Hits = append(resp.Hits.Hits, hit(h)) })
				}
			})
		case "aggregations":
			errs = append(errs, json.Unmarshal(v, &resp.Aggregations))
		}
	})
	return errors.Join(errs...)
}

// hit reads one hit: its _source and sort values.
func hit(h []byte) hitDoc {
	var d hitDoc
	members(h, func(k, v []byte) {
		switch string(k) {
		case "_source":
			d.Source = v
		case "sort":
			elements(v, func(e []byte) { d.Sort = append(d.Sort, json.Number(e)) })
		}
	})
	return d
}

// source is a document's _source as the transfer writes it (internal/transfer/document):
// one JSON object.
type source = json.RawMessage

// members calls fn with each member of the JSON object obj, in order: its key (the raw
// text between the quotes) and its value's raw text. Each turn moves past a key, so it
// ends on any input.
func members(obj []byte, fn func(key, val []byte)) {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return
	}
	i++
	for {
		i = skipWS(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return // the closing '}'
		}
		kStart, kEnd := i+1, stringEnd(obj, i)
		if kEnd-1 < kStart || kEnd >= len(obj) {
			return // a key not closed, or nothing after it
		}
		i = skipWS(obj, min(skipWS(obj, kEnd)+1, len(obj))) // past ':'
		vEnd := valueEnd(obj, i)
		fn(obj[kStart:kEnd-1], obj[i:vEnd])
		if i = skipWS(obj, vEnd); i < len(obj) && obj[i] == ',' {
			i++
		}
	}
}

// elements calls fn with the raw text of each element of the JSON array arr, in order.
// Each turn moves past a value, so it ends on any input.
func elements(arr []byte, fn func(val []byte)) {
	i := skipWS(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return
	}
	i++
	for {
		if i = skipWS(arr, i); i >= len(arr) || arr[i] == ']' {
			return
		}
		end := valueEnd(arr, i)
		if end == i {
			return // not a value: not JSON
		}
		fn(arr[i:end])
		if i = skipWS(arr, end); i < len(arr) && arr[i] == ',' {
			i++
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the closing quote of the string whose opening
// quote is at i.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return len(b)
		}
		i += q
		bs := 0 // escaped when after an odd number of backslashes
		for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
			bs++
		}
		if bs%2 == 0 {
			return i + 1
		}
		i++
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
