package query

import (
	"encoding/binary"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Line is what a query is matched against: a stored line's message and its field values
// (host, path, topic, file_id, offset and the parsed and entry fields).
type Line interface {
	Message() string
	// Field returns the value of a field, false when the line does not have it.
	Field(name string) (string, bool)
}

// FieldExcluder is a Line that can tell, for less than Field costs, that a field can
// neither be a value nor start with it (false when it may): a field parsed out of the
// message for a search of it.
type FieldExcluder interface {
	FieldCannotBe(name, value string) bool
}

// Matcher checks lines against one query: the words of its text nodes are split once,
// and each line's message once per Match. A store whose index only narrows the
// candidates (blocks of lines, words without positions) keeps the lines for which Match
// is true; it is the definition of what a query matches. A Matcher reuses its buffers:
// one goroutine at a time.
type Matcher struct {
	q     *Node
	words map[*Node][]string

	// The line being matched: its message folded to lower case, and its words (folded,
	// split as Tokens splits), computed when a text node needs them.
	msg       string
	folded    string
	lower     []byte
	ascii     bool
	toks      []string
	foldDone  bool
	tokenised bool
}

// NewMatcher compiles q.
func NewMatcher(q *Node) *Matcher {
	m := &Matcher{q: q, words: map[*Node][]string{}}
	var walk func(n *Node)
	walk = func(n *Node) {
		if n.Kind == Text {
			for _, t := range Tokens(n.Value) {
				m.words[n] = append(m.words[n], t.Word)
			}
		}
		for _, k := range n.Kids {
			walk(k)
		}
	}
	walk(q)
	return m
}

// Match says whether the line matches the query. Words match whole words of the message
// (case-folded), a prefix word the start of one, a phrase its words next to each other
// in order; a field condition on a field the line lacks is false (so NOT of it is true).
func (m *Matcher) Match(l Line) bool {
	m.msg, m.foldDone, m.tokenised = l.Message(), false, false
	return m.eval(m.q, l)
}

func (m *Matcher) eval(n *Node, l Line) bool {
	switch n.Kind {
	case All:
		return true
	case Text:
		return m.text(n)
	case Field:
		if x, ok := l.(FieldExcluder); ok && !n.Glob && x.FieldCannotBe(n.Name, n.Value) {
			return false
		}
		v, ok := l.Field(n.Name)
		if !ok {
			return false
		}
		switch {
		case n.Glob:
			return Glob(n.Value, v)
		case n.Prefix:
			return strings.HasPrefix(v, n.Value)
		}
		return v == n.Value
	case Not:
		return !m.eval(n.Kids[0], l)
	case And:
		for _, k := range n.Kids {
			if !m.eval(k, l) {
				return false
			}
		}
		return true
	case Or:
		for _, k := range n.Kids {
			if m.eval(k, l) {
				return true
			}
		}
		return false
	}
	return false
}

// text matches a text node: first whether each word is in the folded message at all
// (a substring search, which rules out most lines), then at word boundaries: in place
// for an ASCII message, on its words otherwise.
func (m *Matcher) text(n *Node) bool {
	want := m.words[n]
	if len(want) == 0 {
		return false
	}
	// Folding leaves a digit as it is and makes no digit of anything else: a message
	// without a word of digits as it is cannot hold it folded, and is ruled out before
	// it is folded (an IP's four numbers, on most lines of an access log).
	for _, w := range want {
		if digitsOnly(w) && !strings.Contains(m.msg, w) {
			return false
		}
	}
	m.fold()
	for _, w := range want {
		if !strings.Contains(m.folded, w) {
			return false
		}
	}
	if m.ascii {
		return asciiPhrase(m.folded, want, n.Prefix)
	}
	if !m.tokenised {
		m.tokenised = true
		m.toks = m.toks[:0]
		for _, t := range Tokens(m.msg) {
			m.toks = append(m.toks, t.Word)
		}
	}
	for i := range m.toks {
		if wordsAt(m.toks[i:], want, n.Prefix) {
			return true
		}
	}
	return false
}

// fold sets m.folded: the message in lower case (strings.ToLower, without allocating
// for an ASCII message).
func (m *Matcher) fold() {
	if m.foldDone {
		return
	}
	m.foldDone = true
	m.lower = append(m.lower[:0], m.msg...)
	if m.ascii = lowerASCII(m.lower); !m.ascii {
		m.folded = strings.ToLower(m.msg)
		return
	}
	m.folded = unsafe.String(unsafe.SliceData(m.lower), len(m.lower))
}

// lowerASCII folds A-Z in b to a-z, eight bytes at a time, and says whether b is all
// ASCII (when it is not, b is left partly folded).
func lowerASCII(b []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if x&highs != 0 {
			return false
		}
		// A byte's high bit, after adding, says it is >= 'A' and > 'Z' (no carry: all < 0x80).
		geA := x + ones*(0x80-'A')
		gtZ := x + ones*(0x80-'Z'-1)
		upper := geA &^ gtZ & highs
		binary.LittleEndian.PutUint64(b[i:], x|upper>>2)
	}
	for ; i < len(b); i++ {
		c := b[i]
		if c >= utf8.RuneSelf {
			return false
		}
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return true
}

// FoldWord returns the word w folded as Tokens folds it (strings.ToLower): w itself when
// it holds no upper-case ASCII and no byte ≥ 0x80 (most words of a log line: numbers,
// lower-case paths), else the folded bytes of buf (returned for reuse), valid until buf
// is used again.
func FoldWord(w string, buf []byte) (string, []byte) {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			if buf = append(buf[:0], w...); !lowerASCII(buf) {
				buf = append(buf[:0], strings.ToLower(w)...)
			}
			return unsafe.String(unsafe.SliceData(buf), len(buf)), buf
		}
	}
	return w, buf
}

// asciiPhrase says whether the folded ASCII text s holds the words of want as whole
// words next to each other (separated by non-word characters only), the last one as a
// prefix when prefix is set: what wordsAt says on Tokens of s, without splitting s.
func asciiPhrase(s string, want []string, prefix bool) bool {
	for from := 0; ; {
		i := strings.Index(s[from:], want[0])
		if i < 0 {
			return false
		}
		i += from
		from = i + 1
		if i > 0 && isASCIIWordByte(s[i-1]) {
			continue
		}
		if asciiWordsAt(s, i, want, prefix) {
			return true
		}
	}
}

// asciiWordsAt says whether the words of want start at s[i] (a word start).
func asciiWordsAt(s string, i int, want []string, prefix bool) bool {
	for j, w := range want {
		if j > 0 {
			for i < len(s) && !isASCIIWordByte(s[i]) {
				i++
			}
		}
		if !strings.HasPrefix(s[i:], w) {
			return false
		}
		i += len(w)
		if prefix && j == len(want)-1 {
			return true
		}
		if i < len(s) && isASCIIWordByte(s[i]) {
			return false
		}
	}
	return true
}

// wordsAt says whether toks starts with want (the last one a prefix when prefix is set).
func wordsAt(toks, want []string, prefix bool) bool {
	if len(toks) < len(want) {
		return false
	}
	for j, w := range want {
		got := toks[j]
		if !(got == w || (prefix && j == len(want)-1 && strings.HasPrefix(got, w))) {
			return false
		}
	}
	return true
}

// Glob matches s against pattern as SQLite's GLOB does: * any run of characters, ? one
// character, [abc], [a-z] and [^abc] a character class; case-sensitive.
//
// It backtracks only to the last * seen: the text between two stars is matched at its
// leftmost place, which is enough, so a pattern of many stars costs len(pattern)·len(s)
// at worst, never a number of steps exponential in the stars (field values can be whole
// log lines).
func Glob(pattern, s string) bool {
	px, sx := 0, 0
	star, starS := -1, 0 // the last * in pattern, and where in s its match ends
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			if pattern[px] == '*' {
				star, starS = px, sx
				px++
				continue
			}
			if n, w := globStep(pattern[px:], s[sx:]); n > 0 {
				px, sx = px+n, sx+w
				continue
			}
		}
		if star < 0 || starS >= len(s) {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starS:])
		starS += w
		px, sx = star+1, starS
	}
	return true
}

// globStep matches the first character of s against the pattern's first element (not a
// *): it returns the bytes of pattern and of s it took, 0, 0 when it does not match.
func globStep(pattern, s string) (int, int) {
	if s == "" {
		return 0, 0
	}
	pc, pw := utf8.DecodeRuneInString(pattern)
	c, w := utf8.DecodeRuneInString(s)
	switch pc {
	case '?':
		return pw, w
	case '[':
		ok, n := globClass(pattern, c)
		switch {
		case n == 0 && c == '[': // no closing ']': a literal '['
			return pw, w
		case n > 0 && ok:
			return n, w
		}
		return 0, 0
	}
	if c == pc {
		return pw, w
	}
	return 0, 0
}

// globClass matches c against the class at the start of pattern ("[...]") and returns
// the class's length in bytes (0 when it has no closing ']').
func globClass(pattern string, c rune) (bool, int) {
	i := 1
	negate := false
	if i < len(pattern) && pattern[i] == '^' {
		negate, i = true, i+1
	}
	matched := false
	first := true
	for i < len(pattern) {
		r, w := utf8.DecodeRuneInString(pattern[i:])
		if r == ']' && !first {
			return matched != negate, i + 1
		}
		first = false
		i += w
		if i+1 < len(pattern) && pattern[i] == '-' && pattern[i+1] != ']' {
			hi, hw := utf8.DecodeRuneInString(pattern[i+1:])
			if r <= c && c <= hi {
				matched = true
			}
			i += 1 + hw
			continue
		}
		if r == c {
			matched = true
		}
	}
	return false, 0
}

// digitsOnly says whether w is a word of ASCII digits only (the words of DigitPhrases).
func digitsOnly(w string) bool {
	for i := range len(w) {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return w != ""
}

// DigitPhrase is a phrase of numbers that every matching line holds (DigitPhrases):
// its words, the last one a prefix when Prefix is set.
type DigitPhrase struct {
	Words  []string
	Prefix bool
}

// Whole is the phrase's words that a matching line holds as whole words, next to each
// other as EachWord splits the line: all of them, or all but the last of a prefix phrase.
func (p DigitPhrase) Whole() []string {
	if p.Prefix {
		return p.Words[:len(p.Words)-1]
	}
	return p.Words
}

// DigitPhrases are the text nodes of q that every matching line must hold (joined to
// the root by AND only) and that are phrases of two words or more, each ASCII digits:
// an IP address, a version, a date. Their words are in the store's index, but not their
// order, so each of them is in nearly every block of an access log; MayHoldDigitPhrase
// rules a block out from its raw bytes before its lines are decoded, and a store may
// keep the pairs of adjacent numbers of its lines to rule it out before that (Whole).
func DigitPhrases(q *Node) []DigitPhrase {
	var out []DigitPhrase
	var walk func(n *Node)
	walk = func(n *Node) {
		switch n.Kind {
		case And:
			for _, k := range n.Kids {
				walk(k)
			}
		case Text:
			var words []string
			for _, t := range Tokens(n.Value) {
				if !digitsOnly(t.Word) {
					return
				}
				words = append(words, t.Word)
			}
			if len(words) >= 2 {
				out = append(out, DigitPhrase{Words: words, Prefix: n.Prefix})
			}
		}
	}
	walk(q)
	return out
}

// MayHoldDigitPhrase says whether b, bytes holding messages whole (with anything between
// them), may hold a message in which words (DigitPhrases) are a phrase: false means no
// message in b matches it. Digits fold to themselves and nothing folds to a digit, so
// the words are looked for as they are, as asciiPhrase looks for them in a folded
// message (a multi-byte rune between them counts as a separator, which only lets more
// through), except at the first word's start and the last word's end: they may touch
// what lies between two messages.
func MayHoldDigitPhrase(b []byte, words []string) bool {
	s := unsafe.String(unsafe.SliceData(b), len(b))
	for from := 0; ; {
		i := strings.Index(s[from:], words[0])
		if i < 0 {
			return false
		}
		i += from
		if asciiWordsAt(s, i, words, true) {
			return true
		}
		from = i + 1
	}
}
