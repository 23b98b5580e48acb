package query

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ q, want string }{
		{`error "unbalanced`, "position 6: unbalanced quote"},
		{`(error`, "position 0: unbalanced '('"},
		{`error)`, "position 5: unbalanced ')'"},
		{`a OR`, "position 2: OR needs a term after it"},
		{`NOT`, "position 0: NOT needs a term after it"},
		{`AND b`, "position 0: AND needs a term on each side"},
		{`()`, "position 0: empty parentheses"},
		{`-`, `position 0: "-" has no letter or digit`},
		{`host:`, "position 0: host: needs a value after ':'"},
		{`" "`, "position 0: the phrase has no word in it"},
	} {
		_, err := Parse(tc.q)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.q, err, tc.want)
		}
	}
}

func TestParseShapes(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want Kind
	}{
		{"", All}, {"a", Text}, {"a b", And}, {"a OR b", Or}, {"NOT a", Not}, {"-a", Not},
		{"host:x", Field}, {"(a OR b) c", And}, {"a b OR c", Or},
	} {
		n, err := Parse(tc.q)
		if err != nil || n.Kind != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want kind %d", tc.q, n, err, tc.want)
		}
	}
	n, _ := Parse("path:/var/log/*.log topic:web* 10.0.0.1 data*")
	if k := n.Kids; !k[0].Glob || !k[1].Prefix || k[1].Value != "web" || !k[2].Phrase || !k[3].Prefix || k[3].Value != "data" {
		t.Errorf("kinds: %+v %+v %+v %+v", k[0], k[1], k[2], k[3])
	}
}

func TestHighlight(t *testing.T) {
	q, _ := Parse(`error "connection refused" data* NOT timeout host:x`)
	msg := "Error: connection refused to database, timeout"
	got := Highlight(Terms(q), msg)
	want := [][2]int{{0, 5}, {7, 25}, {29, 37}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %v, want %v", got, want)
		}
	}
	// UTF-16: the emoji is two units.
	q, _ = Parse("x")
	if got := Highlight(Terms(q), "😀 x"); len(got) != 1 || got[0] != [2]int{3, 4} {
		t.Errorf("utf16: %v", got)
	}
}

// highlightByTokens is Highlight as it was, on lower-cased tokens: the reference.
func highlightByTokens(terms []*Node, msg string) [][2]int {
	toks := Tokens(msg)
	var spans [][2]int
	for _, t := range terms {
		want := Tokens(t.Value)
		for i := 0; len(want) > 0 && i+len(want) <= len(toks); i++ {
			ok := true
			for j, w := range want {
				got, last := toks[i+j].Word, j == len(want)-1
				if !(got == w.Word || (last && t.Prefix && strings.HasPrefix(got, w.Word))) {
					ok = false
					break
				}
			}
			if ok {
				spans = append(spans, [2]int{toks[i].Start, toks[i+len(want)-1].End})
			}
		}
	}
	if len(spans) == 0 {
		return [][2]int{}
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	merged := spans[:1]
	for _, s := range spans[1:] {
		if last := &merged[len(merged)-1]; s[0] <= last[1] {
			last[1] = max(last[1], s[1])
		} else {
			merged = append(merged, s)
		}
	}
	return toUTF16(msg, merged)
}

// TestHighlightCases: Highlight marks what matching lower-cased tokens marks, on words
// of every case (ASCII, accented, Turkish İ whose lower case is longer, ß, title case ǅ,
// digits, emoji) and queries of words, phrases and prefixes.
func TestHighlightCases(t *testing.T) {
	vocab := []string{"GET", "get", "Get", "gEt", "getter", "ÉCOLE", "école", "École", "İstanbul", "istanbul", "STRASSE", "straße",
		"ǅemal", "ǆemal", "404", "4040", "x", "X", "😀", "curl/8.5", "Mozilla", "mozilla", "HTTP/1.1", "-", "a.b", "ÅÄÖ", "åäö"}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteString([]string{" ", "  ", "\t", ", ", "/", "\""}[rng.IntN(6)])
			}
			b.WriteString(vocab[rng.IntN(len(vocab))])
		}
		return b.String()
	}
	for range 5000 {
		msg := pick(1 + rng.IntN(12))
		var q string
		switch rng.IntN(4) {
		case 0:
			q = pick(1)
		case 1:
			q = `"` + pick(2+rng.IntN(2)) + `"`
		case 2:
			w := vocab[rng.IntN(len(vocab))]
			q = w[:1+rng.IntN(len(w))] + "*"
		default:
			q = pick(1) + " " + pick(1)
		}
		n, err := Parse(q)
		if err != nil {
			continue // a prefix cut inside a rune, a lone "-"
		}
		if got, want := Highlight(Terms(n), msg), highlightByTokens(Terms(n), msg); !slices.Equal(got, want) {
			t.Fatalf("Highlight(%q, %q) = %v, want %v", q, msg, got, want)
		}
	}
}
