package logformat

import (
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/loadgen"
)

// combinedSeeds are access lines and near misses at each step of the patterns.
var combinedSeeds = []string{
	`10.0.0.1 - - [01/Dec/2026:08:00:00 +0000] "GET /a HTTP/1.1" 404 12 "-" "curl/8.5"`,
	`10.0.0.1 - alice [01/Dec/2026:08:00:00 +0000] "GET /a?b=\x22 HTTP/1.1" 200 - "http://x/" "Mozilla/5.0 (X11)" trailing`,
	`10.0.0.1 ident bob [01/Dec/2026:08:00:00 +0000] "POST / HTTP/1.0" 201 3 "-" "-"`,
	`::1 - - [x] "" 500 0 "" ""`,
	`10.0.0.1 - - [] "GET / HTTP/1.1" 200 1 "-" "-"`,
	`10.0.0.1 - - [t] "GET / HTTP/1.1" 2000 1 "-" "-"`,
	`10.0.0.1 - - [t] "GET / HTTP/1.1" 200 1x "-" "-"`,
	`10.0.0.1 - - [t] "GET / HTTP/1.1" 200 -1 "-" "-"`,
	`10.0.0.1	- - [t] "GET / HTTP/1.1" 200 1 "-" "-"`,
	`10.0.0.1 - - [t]x "GET / HTTP/1.1" 200 1 "-" "-"`,
	`10.0.0.1 - - [t] "GET / HTTP/1.1" 200 1 "-" "agent`,
	`10.0.0.1 - - [t] "GET / HTTP/1.1" 200 1 "-"  "-"`,
	"\xff\xfe - - [\xe2\x80] \"\xc3\" 200 1 \"\x80\" \"\xf0\x9f\x98\x80\"",
	` - - [t] "GET / HTTP/1.1" 200 1 "-" "-"`,
	`a - b [t] "r" 200 `,
	"",
}

// FuzzCombined: the hand-written match gives exactly the regexp's submatch indices (nil
// when it does not match), for nginx's and apache's pattern, on any bytes.
func FuzzCombined(f *testing.F) {
	for _, s := range combinedSeeds {
		f.Add(s)
	}
	r := loadgen.Realistic{N: 20, End: time.Unix(1764547200, 0), Span: time.Hour}
	for i := range r.N {
		l, _ := r.Line(i)
		f.Add(l)
	}
	nginx, apache := regexp.MustCompile(nginxCombined), regexp.MustCompile(apacheCombined)
	f.Fuzz(func(t *testing.T, line string) {
		for _, c := range []struct {
			re     *regexp.Regexp
			apache bool
		}{{nginx, false}, {apache, true}} {
			want := c.re.FindStringSubmatchIndex(line)
			if got := combinedIndex(line, c.apache, nil); !slices.Equal(got, want) {
				t.Fatalf("apache %v, %q: %v, the regexp %v", c.apache, line, got, want)
			}
			if got := combinedIndex(asString([]byte(line)), c.apache, make([]int, 0, 20)); !slices.Equal(got, want) {
				t.Fatalf("apache %v, bytes %q: %v, the regexp %v", c.apache, line, got, want)
			}
		}
	})
}

// BenchmarkCombined: an nginx_combined line's fields and its time, by the regexp and by
// hand.
func BenchmarkCombined(b *testing.B) {
	r := loadgen.Realistic{N: 1000, End: time.Unix(1764547200, 0), Span: time.Hour}
	lines := make([][]byte, r.N)
	for i := range r.N {
		l, _ := r.Line(i)
		lines[i] = []byte(l)
	}
	re := regexp.MustCompile(nginxCombined)
	b.Run("regexp", func(b *testing.B) {
		for i := range b.N {
			re.FindSubmatchIndex(lines[i%len(lines)])
		}
	})
	b.Run("by-hand", func(b *testing.B) {
		var buf [20]int
		for i := range b.N {
			combinedIndex(asString(lines[i%len(lines)]), false, buf[:0])
		}
	})
	p := MustNew(Config{Format: NginxCombined})
	b.Run("fields", func(b *testing.B) {
		for i := range b.N {
			if _, err := p.Fields(string(lines[i%len(lines)])); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("time", func(b *testing.B) {
		now := time.Unix(1764547200, 0)
		for i := range b.N {
			if _, st := p.Time(lines[i%len(lines)], now); st != Found {
				b.Fatal(st)
			}
		}
	})
}

// FuzzAccessFieldCannotBe: AccessFieldCannotBe never rules out a field's value as
// AccessField gives it in text, nor a start of it (a prefix search), for nginx's and
// apache's pattern on any bytes.
func FuzzAccessFieldCannotBe(f *testing.F) {
	for _, s := range combinedSeeds {
		f.Add(s)
	}
	f.Add(`10.0.0.1 - - [t] "GET /a HTTP/1.1" 503 0012 "-" "-"`) // a number's leading zeros
	f.Add(`10.0.0.1 - - [t] "GET /a HTTP/1.1" 503 - "-" "-"`)    // "-" is 0 bytes
	f.Add(`10.0.0.1 - -x [t] "GET -1 HTTP/1.1" 503 -0 "-" "-"`)
	parsers := []*Parser{ParserOfSpec(string(NginxCombined)), ParserOfSpec(string(ApacheCombined))}
	f.Fuzz(func(t *testing.T, line string) {
		for _, p := range parsers {
			for _, name := range append(slices.Clone(p.names), "method", "url", "protocol") {
				v, found, _ := p.AccessField(line, name)
				if !found {
					continue
				}
				text := fmt.Sprint(v)
				for i := range len(text) + 1 {
					if p.AccessFieldCannotBe(line, name, text[:i]) {
						t.Fatalf("%s of %q is %q, ruled out by %q", name, line, text, text[:i])
					}
				}
			}
		}
	})
}

// TestAccessFieldCannotBe: a value the line does not hold is ruled out; one it holds,
// the numbers it types and the other formats' fields are not.
func TestAccessFieldCannotBe(t *testing.T) {
	nginx, js := ParserOfSpec(string(NginxCombined)), ParserOfSpec(string(JSON))
	line := `10.0.0.1 - - [01/Dec/2026:08:00:00 +0000] "GET /a HTTP/1.1" 404 0012 "-" "curl/8.5"`
	cases := []struct {
		p          *Parser
		line, name string
		value      string
		ruledOut   bool
	}{
		{nginx, line, "status", "503", true},
		{nginx, line, "status", "404", false},
		{nginx, line, "method", "POST", true},
		{nginx, line, "body_bytes_sent", "12", false}, // typed from 0012
		{nginx, line, "body_bytes_sent", "13", true},
		{nginx, line, "body_bytes_sent", "-12", false},                                               // its sign aside: "-0012" would be -12
		{nginx, `1.2.3.4 - - [t] "GET /c HTTP/1.1" 413 - "-" "curl"`, "body_bytes_sent", "0", false}, // no 0 in it
		{nginx, `1.2.3.4 - - [t] "GET /c HTTP/1.1" 413 - "-" "curl"`, "status", "0", true},
		{js, `{"status":404}`, "status", "503", false},
	}
	for _, c := range cases {
		if got := c.p.AccessFieldCannotBe(c.line, c.name, c.value); got != c.ruledOut {
			t.Errorf("%s:%s of %q: ruled out %v, want %v", c.name, c.value, c.line, got, c.ruledOut)
		}
	}
}
