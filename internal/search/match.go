package search

import (
	"strings"
	"unicode/utf8"
)

// Line is what a query is matched against: a stored line's message and its field values
// (host, path, topic, file_id, offset and the parsed and entry fields).
type Line interface {
	Message() string
	// Field returns the value of a field, false when the line does not have it.
	Field(name string) (string, bool)
}

// Matcher checks lines against one query: the words of its text nodes are split once,
// and each line's message once per Match. A store whose index only narrows the
// candidates (blocks of lines, words without positions) keeps the lines for which Match
// is true; it is the definition of what a query matches.
type Matcher struct {
	q     *Node
	words map[*Node][]Tok
}

// NewMatcher compiles q.
func NewMatcher(q *Node) *Matcher {
	m := &Matcher{q: q, words: map[*Node][]Tok{}}
	var walk func(n *Node)
	walk = func(n *Node) {
		if n.Kind == Text {
			m.words[n] = Tokens(n.Value)
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
	var toks []Tok
	tokenised := false
	var eval func(n *Node) bool
	eval = func(n *Node) bool {
		switch n.Kind {
		case All:
			return true
		case Text:
			if !tokenised {
				toks, tokenised = Tokens(l.Message()), true
			}
			want := m.words[n]
			for i := range toks {
				if phraseAt(toks[i:], want, n.Prefix) {
					return true
				}
			}
			return false
		case Field:
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
			return !eval(n.Kids[0])
		case And:
			for _, k := range n.Kids {
				if !eval(k) {
					return false
				}
			}
			return true
		case Or:
			for _, k := range n.Kids {
				if eval(k) {
					return true
				}
			}
			return false
		}
		return false
	}
	return eval(m.q)
}

// Glob matches s against pattern as SQLite's GLOB does: * any run of characters, ? one
// character, [abc], [a-z] and [^abc] a character class; case-sensitive.
func Glob(pattern, s string) bool {
	for pattern != "" {
		pc, pw := utf8.DecodeRuneInString(pattern)
		switch pc {
		case '*':
			rest := strings.TrimLeft(pattern, "*")
			if rest == "" {
				return true
			}
			for i := 0; i <= len(s); {
				if Glob(rest, s[i:]) {
					return true
				}
				if i == len(s) {
					break
				}
				_, w := utf8.DecodeRuneInString(s[i:])
				i += w
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			_, w := utf8.DecodeRuneInString(s)
			pattern, s = pattern[pw:], s[w:]
		case '[':
			if s == "" {
				return false
			}
			c, w := utf8.DecodeRuneInString(s)
			ok, n := globClass(pattern, c)
			if n == 0 { // no closing ']': a literal '['
				if c != '[' {
					return false
				}
				pattern, s = pattern[pw:], s[w:]
				continue
			}
			if !ok {
				return false
			}
			pattern, s = pattern[n:], s[w:]
		default:
			c, w := utf8.DecodeRuneInString(s)
			if s == "" || c != pc {
				return false
			}
			pattern, s = pattern[pw:], s[w:]
		}
	}
	return s == ""
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
