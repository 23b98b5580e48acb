package jsontext

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// roundTrip checks that s is written as valid UTF-8 JSON that decodes to what
// encoding/json's encoding of s decodes to.
func roundTrip(t *testing.T, s string) {
	t.Helper()
	b := AppendString(nil, s)
	if !utf8.Valid(b) {
		t.Fatalf("%q → %q: not UTF-8", s, b)
	}
	var got, want string
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%q → %s: %v", s, b, err)
	}
	w, _ := json.Marshal(s)
	_ = json.Unmarshal(w, &want)
	if got != want {
		t.Fatalf("%q → %s decodes to %q, encoding/json's to %q", s, b, got, want)
	}
}

// TestAppendString: controls, quotes, non-ASCII, line separators and invalid bytes.
func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\s/", "\x00\x1f\u007f", "\n\r\t\b\f", "日本語 é 😀", "\u2028\u2029",
		"bad\xffbyte\xc3", "<tag>&amp;"} {
		roundTrip(t, s)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"a\"b\\c", "\x00\x1f\x7f", "\xff\xfe", "\u2028", "é😀"} {
		f.Add(s)
	}
	f.Fuzz(roundTrip)
}
