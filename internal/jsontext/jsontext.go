// Package jsontext reads and writes JSON strings by hand, for what is written or scanned
// without encoding/json: its reflection was most of the transfer's CPU per document and a
// fifth of the server's per search, and the agent looks up one key per line.
package jsontext

import (
	"bytes"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// AppendString appends s as a JSON string, as encoding/json writes it but for <, > and &
// left as they are (encoding/json escapes them for HTML; any JSON parser reads both the
// same). Each byte of s that is not UTF-8 is written as U+FFFD, so the output always is.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript that evals it.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// StringEnd returns the index of the quote closing the JSON string that starts at i (just
// after its opening quote) in s, or -1 when it is not closed.
func StringEnd(s []byte, i int) int {
	for i < len(s) {
		q := bytes.IndexByte(s[i:], '"')
		if q < 0 {
			return -1
		}
		i += q
		// Escaped when preceded by an odd number of backslashes.
		bs := 0
		for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
			bs++
		}
		if bs%2 == 0 {
			return i
		}
		i++
	}
	return -1
}
