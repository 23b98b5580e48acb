package query

import (
	"slices"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/logcollect/logcollect/internal/testing/loadgen"
)

// eachWordRef is EachWord as first written, one rune at a time: the reference that
// FuzzEachWord holds the fast ASCII path to.
func eachWordRef(s string, fn func(start, end int)) {
	start := -1
	for i := 0; i < len(s); {
		c := s[i]
		var word bool
		w := 1
		if c < utf8.RuneSelf {
			word = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		} else {
			var r rune
			r, w = utf8.DecodeRuneInString(s[i:])
			word = r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsNumber(r))
		}
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			fn(start, i)
			start = -1
		}
		i += w
	}
	if start >= 0 {
		fn(start, len(s))
	}
}

func wordRanges(each func(string, func(int, int)), s string) [][2]int {
	var out [][2]int
	each(s, func(start, end int) { out = append(out, [2]int{start, end}) })
	return out
}

// FuzzEachWord: EachWord splits any bytes exactly as the rune-by-rune reference does.
func FuzzEachWord(f *testing.F) {
	for _, s := range []string{
		"", "a", "GET /api/v1/items/42 HTTP/1.1", "Café CAFÉ naïve", "x²+y³ ½ ٣٤ 東京",
		"invalid \xff\xfeutf8\xc3 mid\xe2\x82word \uFFFD", "@[`{/:09AZaz", "abc\xffdef", "é9a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := wordRanges(EachWord, s), wordRanges(eachWordRef, s); !slices.Equal(got, want) {
			t.Fatalf("EachWord(%q) = %v, want %v", s, got, want)
		}
	})
}

// TestASCIIWordBytes: the byte classes of the fast path, every byte.
func TestASCIIWordBytes(t *testing.T) {
	for c := range 256 {
		b := byte(c)
		want := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
		if got := isASCIIWordByte(b); got != want {
			t.Errorf("isASCIIWordByte(%#x) = %v, want %v", b, got, want)
		}
	}
}

// BenchmarkEachWord and BenchmarkEachWordRef: the fast ASCII path against the reference,
// over issue 22's realistic access lines.
func BenchmarkEachWord(b *testing.B)    { benchmarkSplit(b, EachWord) }
func BenchmarkEachWordRef(b *testing.B) { benchmarkSplit(b, eachWordRef) }

func benchmarkSplit(b *testing.B, each func(string, func(int, int))) {
	gen := loadgen.Realistic{N: 1000, End: time.Now(), Span: time.Hour}
	lines := make([]string, 1000)
	for i := range lines {
		lines[i], _ = gen.Line(i)
	}
	n := 0
	b.ResetTimer()
	for i := range b.N {
		each(lines[i%len(lines)], func(int, int) { n++ })
	}
	b.ReportMetric(float64(n)/float64(b.N), "words/line")
}
