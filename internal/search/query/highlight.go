package query

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tok is one word of a text: a run of letters and digits, as the store's full-text index
// splits text (SQLite FTS5's unicode61 tokenizer), folded to lower case.
type Tok struct {
	Start, End int // byte offsets in the text
	Word       string
}

// Tokens splits s into words.
func Tokens(s string) []Tok {
	n := 0
	EachWord(s, func(int, int) { n++ }) // one allocation, not one per doubling
	out := make([]Tok, 0, n)
	EachWord(s, func(start, end int) {
		out = append(out, Tok{start, end, strings.ToLower(s[start:end])})
	})
	return out
}

// EachWord calls fn with the byte range of each word of s (a run of letters and
// digits), in order, without allocating: the one word splitting that the index, the
// phrase check and highlighting share. Invalid UTF-8 separates words.
func EachWord(s string, fn func(start, end int)) {
	start := -1
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !isASCIIWordByte(c) {
				if start >= 0 {
					fn(start, i)
					start = -1
				}
				i++
				continue
			}
			if start < 0 {
				start = i
			}
			// The rest of an ASCII run in one tight loop: most of a log line's bytes are
			// here, and stepping through them with the state checks below took twice as
			// long per line (BenchmarkEachWord against BenchmarkEachWordRef).
			for i++; i < len(s) && isASCIIWordByte(s[i]); i++ {
			}
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		word := r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsNumber(r))
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

// isASCIIWordByte reports whether c is an ASCII letter or digit (false for every byte of
// a multi-byte rune, which EachWord decodes): a bit mask per half of ASCII, checked on
// every byte by TestASCIIWordBytes.
func isASCIIWordByte(c byte) bool {
	const (
		digits  = 0x03FF_0000_0000_0000 // '0'–'9': bits 48–57 of 0–63
		letters = 0x07FF_FFFE_07FF_FFFE // 'A'–'Z', 'a'–'z': bits 1–26 and 33–58 of 64–127
	)
	m := uint64(digits)
	if c >= 64 {
		m = letters
	}
	return c < utf8.RuneSelf && m>>(c&63)&1 != 0
}

// Terms returns the text nodes of q that make a line match (those not under a NOT).
func Terms(q *Node) []*Node {
	var out []*Node
	var walk func(n *Node)
	walk = func(n *Node) {
		switch n.Kind {
		case Text:
			out = append(out, n)
		case And, Or:
			for _, k := range n.Kids {
				walk(k)
			}
		}
	}
	walk(q)
	return out
}

// Highlight returns the [start, end) ranges of msg matched by the terms, in UTF-16 code
// units (what JavaScript strings index), sorted and merged. It runs for every hit shown:
// msg's words are compared with the terms' in place (lowerIs), not lower-cased into new
// strings.
func Highlight(terms []*Node, msg string) [][2]int {
	if len(terms) == 0 {
		return [][2]int{}
	}
	var buf [64][2]int // a line's words, most lines
	words := buf[:0]
	EachWord(msg, func(start, end int) { words = append(words, [2]int{start, end}) })
	var spans [][2]int // byte offsets
	for _, t := range terms {
		want := Tokens(t.Value)
		if len(want) == 0 {
			continue
		}
		for i := 0; i+len(want) <= len(words); i++ {
			if phraseAt(msg, words[i:], want, t.Prefix) {
				spans = append(spans, [2]int{words[i][0], words[i+len(want)-1][1]})
			}
		}
	}
	if len(spans) == 0 {
		return [][2]int{}
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	merged := spans[:1]
	for _, s := range spans[1:] {
		last := &merged[len(merged)-1]
		if s[0] <= last[1] {
			last[1] = max(last[1], s[1])
			continue
		}
		merged = append(merged, s)
	}
	return toUTF16(msg, merged)
}

// phraseAt says whether the words of msg at words start with the words of want (the
// last one a prefix when prefix is set).
func phraseAt(msg string, words [][2]int, want []Tok, prefix bool) bool {
	if len(words) < len(want) {
		return false
	}
	for j, w := range want {
		if !lowerIs(msg[words[j][0]:words[j][1]], w.Word, prefix && j == len(want)-1) {
			return false
		}
	}
	return true
}

// lowerIs says whether strings.ToLower(word) is w (starts with w when prefix is set),
// without a new string for an ASCII word.
func lowerIs(word, w string, prefix bool) bool {
	for i := 0; i < len(word); i++ {
		if word[i] >= utf8.RuneSelf {
			l := strings.ToLower(word)
			return l == w || prefix && strings.HasPrefix(l, w)
		}
	}
	if prefix && len(word) > len(w) {
		word = word[:len(w)]
	}
	if len(word) != len(w) {
		return false
	}
	for i := 0; i < len(word); i++ {
		c := word[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

// toUTF16 converts sorted byte offsets of s to UTF-16 code unit offsets.
func toUTF16(s string, spans [][2]int) [][2]int {
	out := make([][2]int, len(spans))
	// Each offset is a rune boundary (token edges are), so one walk over the runes does.
	units, bytesDone := 0, 0
	conv := func(b int) int {
		for bytesDone < b {
			r, w := utf8.DecodeRuneInString(s[bytesDone:])
			if r >= 0x10000 {
				units += 2
			} else {
				units++
			}
			bytesDone += w
		}
		return units
	}
	for k, sp := range spans {
		out[k] = [2]int{conv(sp[0]), conv(sp[1])}
	}
	return out
}
