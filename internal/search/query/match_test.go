package query

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

type testLine struct {
	msg    string
	fields map[string]string
}

func (l testLine) Message() string { return l.msg }

func (l testLine) Field(name string) (string, bool) {
	v, ok := l.fields[name]
	return v, ok
}

// TestMatch: every query form gives what the store's SQL conditions gave before lines
// were checked in Go (the same cases as the store's TestSearchForms, plus the forms of
// docs/search.md that only a line check sees: case, prefixes inside phrases, globs).
func TestMatch(t *testing.T) {
	msgs := []string{
		"GET /index.html 200 client 10.0.0.1",
		"GET /login 500 error database timeout",
		"POST /api/orders 201 checkout ok",
		"warning: disk almost full on /dev/sda1",
		"error: connection refused by 10.0.0.2",
		`level=ERROR msg="Naïve Café" path=/shadowed`,
	}
	lines := make([]testLine, len(msgs))
	for i, m := range msgs {
		lines[i] = testLine{msg: m, fields: map[string]string{"host": "h1", "path": "/var/log/a.log", "topic": "a",
			"file_id": "1:2", "offset": strconv.Itoa(i * 10)}}
	}
	lines[2].fields["service"] = "checkout"
	lines[3].fields["host"] = "h2"
	lines[5].fields["level"] = "ERROR"
	for _, tc := range []struct {
		q    string
		want []int
	}{
		{"", []int{0, 1, 2, 3, 4, 5}},
		{"error", []int{1, 4, 5}},
		{"ERROR", []int{1, 4, 5}},
		{"error database", []int{1}},
		{`"connection refused"`, []int{4}},
		{`"refused connection"`, nil},
		{`"GET 200"`, nil},
		{`"client 10.0.0.1"`, []int{0}},
		{"10.0.0*", []int{0, 4}},
		{`"connection refused" OR warning`, []int{3, 4}},
		{`error NOT "database timeout"`, []int{4, 5}},
		{`NOT "connection refused"`, []int{0, 1, 2, 3, 5}},
		{`"disk almost" host:h2`, []int{3}},
		{"10.0.0.1", []int{0}},
		{"10.0.0.10", nil},
		{"error OR warning", []int{1, 3, 4, 5}},
		{"error NOT database", []int{4, 5}},
		{"NOT error", []int{0, 2, 3}},
		{"-error", []int{0, 2, 3}},
		{"data*", []int{1}},
		{"dat", nil},
		{"host:h2", []int{3}},
		{"host:h2 OR checkout", []int{2, 3}},
		{"service:checkout", []int{2}},
		{"NOT service:checkout", []int{0, 1, 3, 4, 5}},
		{"service:check*", []int{2}},
		{"service:*", []int{2}},
		{"level:ERROR", []int{5}},
		{"level:error", nil}, // field values are exact
		{"path:/var/log/*.log error", []int{1, 4, 5}},
		{"path:/var/log/?.log", []int{0, 1, 2, 3, 4, 5}},
		{"path:/var/log/[ab].log", nil},                      // a class alone is no glob: the value is exact
		{"path:/var/log/[ab]*", nil},                         // a prefix: the '[' is a character
		{"path:/var/log/[ab]?log*", []int{0, 1, 2, 3, 4, 5}}, // a glob: classes too
		{"path:/var/log/[^ab]?log*", nil},
		{"offset:20", []int{2}},
		{"(error OR warning) NOT host:h2", []int{1, 4, 5}},
		{`"naïve café"`, []int{5}},
		{"NAÏVE", []int{5}},
		{"naive", nil},             // diacritics are kept
		{`"connection ref*"`, nil}, // a quoted * is a character, not a prefix
		{`connection ref*`, []int{4}},
		{`"10.0.0"`, []int{0, 4}},
	} {
		t.Run(tc.q, func(t *testing.T) {
			if got := matchingLines(t, tc.q, lines); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true}, {"*", "abc", true}, {"a*c", "abbbc", true}, {"a*c", "abcd", false},
		{"?", "é", true}, {"??", "é", false}, {"a?c", "abc", true}, {"[a-c]x", "bx", true},
		{"[a-c]x", "dx", false}, {"[^a-c]x", "dx", true}, {"[]]", "]", true}, {"[", "[", true},
		{"*.log", "/var/log/a.log", true}, {"*.log", "/var/log/a.log.1", false}, {"A*", "abc", false},
		{"**b", "ab", true}, {"a[", "a[", true}, {"a*b*c", "aXbYc", true}, {"a*b*c", "aXcYb", false},
		{"*a?c*", "xxabcx", true}, {"*[0-9]", "a1", true}, {"*ab", "aab", true},
		// Many stars against a long value: linear in the value per star, not exponential
		// (this case does not finish with a backtracking matcher).
		{strings.Repeat("*a", 40) + "b", strings.Repeat("a", 100000), false},
	} {
		if got := Glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	for _, q := range []string{"curl", `"10.3.77.191"`, "zebrafish"} {
		b.Run(q, func(b *testing.B) {
			n, _ := Parse(q)
			m := NewMatcher(n)
			l := testLine{msg: `10.3.77.191 - - [01/Dec/2026:08:00:00 +0000] "GET /api/v1/items/4242 HTTP/1.1" 200 5291 "-" "Mozilla/5.0 (X11; Linux x86_64) curl/8.5"`}
			b.ReportAllocs()
			for b.Loop() {
				m.Match(l)
			}
		})
	}
}

func TestLowerASCII(t *testing.T) {
	var all []byte
	for c := range 128 {
		all = append(all, byte(c))
	}
	for _, s := range []string{"", "A", "Hello, WORLD @[`{ 0123456789 ZzAa", string(all), string(all[7:]) + string(all[:7])} {
		b := []byte(s)
		if !lowerASCII(b) || string(b) != strings.ToLower(s) {
			t.Errorf("lowerASCII(%q) = %q, want %q", s, b, strings.ToLower(s))
		}
	}
	if lowerASCII([]byte("ASCII then é")) || lowerASCII([]byte("0123456\xff")) {
		t.Error("non-ASCII taken for ASCII")
	}
}

// matchingLines is the indexes of the lines query q matches.
func matchingLines(t *testing.T, q string, lines []testLine) []int {
	t.Helper()
	n, err := Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMatcher(n)
	var got []int
	for i, l := range lines {
		if m.Match(l) {
			got = append(got, i)
		}
	}
	return got
}

// TestDigitWords: a word of digits rules a line out before its message is folded, which
// must not change what matches: digits next to letters that fold (İ, K, É), inside longer
// numbers, as fullwidth digits, in a phrase, a prefix, under NOT and OR.
func TestDigitWords(t *testing.T) {
	msgs := []string{
		"İP 10.0.0.1 KELVIN 42",      // İ and the Kelvin sign fold to ASCII letters
		"ÉTÉ 2026 from 10.0.0.12",    // non-ASCII message, the address a longer number
		"１０.０.０.１ fullwidth",         // not ASCII digits: not the words 10, 0, 1
		"ascii 10.0.0.1 and 4242",    // ASCII message
		"no numbers at all, ǅ and Σ", // non-ASCII, no digits
	}
	lines := make([]testLine, len(msgs))
	for i, m := range msgs {
		lines[i] = testLine{msg: m}
	}
	for _, tc := range []struct {
		q    string
		want []int
	}{
		{`"10.0.0.1"`, []int{0, 3}},
		{"10.0.0.1*", []int{0, 1, 3}},
		{"42", []int{0}},
		{"4242 ascii", []int{3}},
		{"kelvin 42", []int{0}},
		{"ip 10", []int{0}},
		{"été 2026", []int{1}},
		{"NOT 10", []int{2, 4}},
		{"2026 OR 42", []int{0, 1}},
		{"１０", []int{2}},
	} {
		if got := matchingLines(t, tc.q, lines); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: lines %v, want %v", tc.q, got, tc.want)
		}
	}
}

// TestDigitPhrases: the phrases of numbers every matching line holds are those joined to
// the root by AND, of two words or more, all digits.
func TestDigitPhrases(t *testing.T) {
	for q, want := range map[string]string{
		"10.0.0.1":                        "[{[10 0 0 1] false}]",
		`error "1 2 3" host:a 10.0*`:      "[{[1 2 3] false} {[10 0] true}]",
		`"10 0" OR "1 2"`:                 "[]",
		`NOT 10.0.0.1`:                    "[]",
		`404 1.2.3a "2026 12"`:            "[{[2026 12] false}]",
		`(10.0.0.1 error) OR warning 1.2`: "[]",
	} {
		n, err := Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(DigitPhrases(n)); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
}

// FuzzDigitPhrase: a block whose bytes MayHoldDigitPhrase rules out holds no message the
// query matches — a matching message, with any bytes before and after it, is never ruled
// out.
func FuzzDigitPhrase(f *testing.F) {
	for _, s := range [][3]string{
		{"10.0.0.1", "client 10.0.0.1 ok", "\x81"},
		{`"1 2 3"`, "1-2-3", "a"},
		{"10.0.0*", "İP 10.0.0.12 KELVIN", "\x00\xff"},
		{"a 10.0.0.1", "A 10\u00b70\u00b70\u00b71 é", "7"},
		{`"2026 12" x`, "X 2026é12 2026/12", ""},
		{"1.2.3", "１.２.３ 1.2.3", "\x7f"},
		{"10.0.0.1", "10.0.0.1 first", "7"}, // a digit before the message's first word
		{"v 1.2", "v 1.2", "3"},             // and after its last
	} {
		f.Add(s[0], s[1], []byte(s[2]), []byte(s[2]))
	}
	f.Fuzz(func(t *testing.T, q, msg string, before, after []byte) {
		n, err := Parse(q)
		if err != nil || !NewMatcher(n).Match(testLine{msg: msg}) {
			return
		}
		body := append(append(append([]byte{}, before...), msg...), after...)
		for _, p := range DigitPhrases(n) {
			if !MayHoldDigitPhrase(body, p.Words) {
				t.Fatalf("%q matches %q, but %q was ruled out for %v", msg, q, body, p.Words)
			}
		}
	})
}
