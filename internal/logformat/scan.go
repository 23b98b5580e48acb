package logformat

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/logcollect/logcollect/internal/jsontext"
)

// The scanners below find one key's value in a JSON or logfmt line without decoding the
// line: the agent looks up a time per line, and a full decode would cost more than
// reading the line. They take the first occurrence of the key at any depth, which is
// what the documentation says.

// jsonKnownValue returns the value of the first of knownKeys in a JSON line.
func jsonKnownValue(s []byte) (v []byte, str, found bool) {
	for i := 0; i < len(s); {
		q := bytes.IndexByte(s[i:], '"')
		if q < 0 {
			return nil, false, false
		}
		start := i + q + 1
		end := jsontext.StringEnd(s, start)
		if end < 0 {
			return nil, false, false
		}
		if isKnownKey(s[start:end]) {
			if v, str, ok := valueAfterKey(s, end+1); ok {
				return v, str, true
			}
		}
		i = end + 1
	}
	return nil, false, false
}

func isKnownKey(k []byte) bool {
	for _, kk := range knownKeys {
		if string(k) == kk {
			return true
		}
	}
	return false
}

// jsonValue returns the value of the first key named key in a JSON line.
func jsonValue(s []byte, key string) (v []byte, str, found bool) {
	for i := 0; i < len(s); {
		q := bytes.IndexByte(s[i:], '"')
		if q < 0 {
			return nil, false, false
		}
		start := i + q + 1
		end := jsontext.StringEnd(s, start)
		if end < 0 {
			return nil, false, false
		}
		if string(s[start:end]) == key {
			if v, str, ok := valueAfterKey(s, end+1); ok {
				return v, str, true
			}
		}
		i = end + 1
	}
	return nil, false, false
}

// valueAfterKey reads `: value` after a key's closing quote at i: a string's raw bytes
// (escapes left as they are) or a number. ok is false when no ':' follows (the quoted
// text was a value, not a key).
func valueAfterKey(s []byte, i int) (v []byte, str, ok bool) {
	i = skipSpace(s, i)
	if i >= len(s) || s[i] != ':' {
		return nil, false, false
	}
	i = skipSpace(s, i+1)
	if i >= len(s) {
		return nil, false, false
	}
	if s[i] == '"' {
		end := jsontext.StringEnd(s, i+1)
		if end < 0 {
			return nil, false, false
		}
		return s[i+1 : end], true, true
	}
	j := i
	for j < len(s) && (isDigit(s[j]) || s[j] == '.' || s[j] == '-' || s[j] == 'e' || s[j] == 'E' || s[j] == '+') {
		j++
	}
	return s[i:j], false, true // empty for null, objects…: not a time
}

func skipSpace(s []byte, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// logfmtValue returns the value of key in a logfmt line: key=value or key="quoted".
func logfmtValue(s []byte, key string) ([]byte, bool) {
	for i := 0; i+len(key) < len(s); {
		j := bytes.Index(s[i:], []byte(key))
		if j < 0 {
			return nil, false
		}
		k := i + j
		e := k + len(key)
		if (k == 0 || s[k-1] == ' ' || s[k-1] == '\t') && e < len(s) && s[e] == '=' {
			v := s[e+1:]
			if len(v) > 0 && v[0] == '"' {
				if end := jsontext.StringEnd(v, 1); end > 0 {
					return v[1:end], true
				}
				return nil, false
			}
			return firstWord(v), true
		}
		i = k + 1
	}
	return nil, false
}

// appendUnescaped appends the JSON string body s (without quotes) to dst with its
// escapes decoded. ok is false for a malformed escape.
func appendUnescaped(dst, s []byte) ([]byte, bool) {
	for len(s) > 0 {
		i := bytes.IndexByte(s, '\\')
		if i < 0 {
			return append(dst, s...), true
		}
		dst = append(dst, s[:i]...)
		if i+1 >= len(s) {
			return dst, false
		}
		c := s[i+1]
		s = s[i+2:]
		switch c {
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, n := hex4(s)
			if n == 0 {
				return dst, false
			}
			s = s[n:]
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(s) >= 6 && s[0] == '\\' && s[1] == 'u' {
					if v, n2 := hex4(s[2:]); n2 > 0 {
						r2 = v
					}
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r, s = dec, s[6:]
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, false
		}
	}
	return dst, true
}

func hex4(s []byte) (rune, int) {
	if len(s) < 4 {
		return 0, 0
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, 0
		}
	}
	return r, 4
}
