package opensearchstore

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A document's _source is read member by member from its raw JSON rather than decoded
// into a map: the map of interface values cost a hundred allocations a hit and most of
// the server's own time per search (BenchmarkDecodePage). The raw text is valid JSON —
// encoding/json checked the whole answer while decoding hitsResp — so the walk below only
// finds where each member starts and ends.

// source is a document's _source as the transfer writes it (internal/transfer/document):
// one JSON object.
type source = json.RawMessage

// members calls fn with each member of the JSON object obj, in order: its key (the raw
// text between the quotes) and its value's raw text. obj must be valid JSON.
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
		i = skipWS(obj, skipWS(obj, kEnd)+1) // past ':'
		vEnd := valueEnd(obj, i)
		fn(obj[kStart:kEnd-1], obj[i:vEnd])
		if i = skipWS(obj, vEnd); i < len(obj) && obj[i] == ',' {
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
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index just past the value starting at i.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for ; i < len(b); i++ { // a number, true, false or null
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
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
	out := make([]byte, 0, len(s))
	for i >= 0 {
		out = append(out, s[:i]...)
		if i+1 >= len(s) { // not valid JSON: the lone backslash dropped
			return string(out)
		}
		c := s[i+1]
		s = s[i+2:]
		switch c {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
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
			out, s = utf8.AppendRune(out, r), rest
		default: // " \ /
			out = append(out, c)
		}
		i = bytes.IndexByte(s, '\\')
	}
	return string(append(out, s...))
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
