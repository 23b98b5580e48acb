// Package query is the query language of the standalone's search box: words (all must
// match), "exact phrases", field:value, NOT, OR, parentheses and prefix word*. It parses a
// query into a small tree that a store compiles to its engine's language, and finds the
// ranges of a message that a query's words matched (for highlighting). docs/search.md is
// the user's description.
package query

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is a node's kind.
type Kind int

// Node kinds.
const (
	// Text matches the message: Value is a word, or a phrase when Phrase is set; Prefix
	// makes the last word a prefix.
	Text Kind = iota
	// Field matches a field exactly (Prefix: by prefix; Glob: a pattern with * and ?).
	Field
	And
	Or
	Not
	// All matches every line (the empty query).
	All
)

// Node is one node of a parsed query.
type Node struct {
	Kind   Kind
	Name   string // Field: the field name (host, path, topic, file_id or a parsed field)
	Value  string
	Phrase bool // Text: Value is a quoted phrase
	Prefix bool // Text or Field: Value ends in *
	Glob   bool // Field: Value holds * or ? inside (not only at the end)
	Kids   []*Node
}

// SyntaxError says where a query is wrong.
type SyntaxError struct {
	Pos int // byte offset in the query
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("position %d: %s", e.Pos, e.Msg) }

// The limits of a query (docs/search.md, "Limits"): far above what a person types, and
// low enough that no query holds the store for long. Each term is one more full-text
// lookup and one more check per candidate line; each level of nesting one more
// recursion in the parser, the compiler and the matcher.
const (
	// MaxBytes bounds the query's length.
	MaxBytes = 4096
	// MaxTerms bounds the words, phrases, prefixes and field terms of a query; a phrase
	// (or a word like 10.0.0.1, a phrase of its parts) counts each of its words.
	MaxTerms = 64
	// MaxDepth bounds the nesting of parentheses and NOTs.
	MaxDepth = 16
	// MaxPrefixes bounds the word* prefixes: the index expands each prefix into every
	// word of the day starting with it, the query's most costly term whatever the
	// prefix's length (docs/search.md has the measurement).
	MaxPrefixes = 8
)

// LimitError says a query is over one of the limits.
type LimitError struct {
	Msg string
}

func (e *LimitError) Error() string { return e.Msg }

// Parse parses a query. The empty query (or only spaces) matches everything.
func Parse(q string) (*Node, error) {
	if len(q) > MaxBytes {
		return nil, &LimitError{fmt.Sprintf("the query is %d bytes long; at most %d bytes", len(q), MaxBytes)}
	}
	p := &parser{src: q}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if len(p.toks) == 0 {
		return &Node{Kind: All}, nil
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		t := p.toks[p.i]
		if t.kind == tRParen {
			return nil, &SyntaxError{t.pos, "unbalanced ')'"}
		}
		return nil, &SyntaxError{t.pos, fmt.Sprintf("unexpected %q", t.text)}
	}
	return n, nil
}

type tokKind int

const (
	tWord tokKind = iota
	tPhrase
	tField
	tLParen
	tRParen
	tOr
	tAnd
	tNot
)

type token struct {
	kind   tokKind
	pos    int
	text   string // word or phrase text; for fields the value
	name   string // field name
	quoted bool   // field value was quoted
}

type parser struct {
	src      string
	toks     []token
	i        int
	terms    int // words counted so far (MaxTerms)
	prefixes int // word* prefixes so far (MaxPrefixes)
	depth    int // parentheses and NOTs open (MaxDepth)
}

// count adds n terms, refused beyond MaxTerms.
func (p *parser) count(n int) error {
	p.terms += n
	if p.terms > MaxTerms {
		return &LimitError{fmt.Sprintf("the query has more than %d terms (words, phrases' words, prefixes and field terms); at most %d terms", MaxTerms, MaxTerms)}
	}
	return nil
}

// nest opens one level of nesting, refused beyond MaxDepth; the caller closes it.
func (p *parser) nest() error {
	p.depth++
	if p.depth > MaxDepth {
		return &LimitError{fmt.Sprintf("the query nests parentheses and NOTs more than %d deep; at most %d levels", MaxDepth, MaxDepth)}
	}
	return nil
}

func (p *parser) lex() error {
	s := p.src
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			i += w
		case r == '(':
			p.toks = append(p.toks, token{kind: tLParen, pos: i, text: "("})
			i++
		case r == ')':
			p.toks = append(p.toks, token{kind: tRParen, pos: i, text: ")"})
			i++
		case r == '"':
			text, end, err := quoted(s, i)
			if err != nil {
				return err
			}
			p.toks = append(p.toks, token{kind: tPhrase, pos: i, text: text})
			i = end
		case r == '-' && i+1 < len(s) && !unicode.IsSpace(rune(s[i+1])) && (i == 0 || isBoundary(s[i-1])):
			// -word is NOT word, as in most search boxes.
			p.toks = append(p.toks, token{kind: tNot, pos: i, text: "-"})
			i++
		default:
			start := i
			for i < len(s) {
				r, w := utf8.DecodeRuneInString(s[i:])
				if unicode.IsSpace(r) || r == '(' || r == ')' || r == '"' {
					break
				}
				if r == ':' && i > start && isFieldName(s[start:i]) {
					name := s[start:i]
					i++
					if i < len(s) && s[i] == '"' {
						text, end, err := quoted(s, i)
						if err != nil {
							return err
						}
						p.toks = append(p.toks, token{kind: tField, pos: start, name: name, text: text, quoted: true})
						i = end
					} else {
						vs := i
						for i < len(s) {
							r, w := utf8.DecodeRuneInString(s[i:])
							if unicode.IsSpace(r) || r == '(' || r == ')' {
								break
							}
							i += w
						}
						if i == vs {
							return &SyntaxError{start, fmt.Sprintf("%s: needs a value after ':'", name)}
						}
						p.toks = append(p.toks, token{kind: tField, pos: start, name: name, text: s[vs:i]})
					}
					start = -1
					break
				}
				i += w
			}
			if start < 0 {
				continue
			}
			word := s[start:i]
			switch word {
			case "OR", "||":
				p.toks = append(p.toks, token{kind: tOr, pos: start, text: word})
			case "AND", "&&":
				p.toks = append(p.toks, token{kind: tAnd, pos: start, text: word})
			case "NOT":
				p.toks = append(p.toks, token{kind: tNot, pos: start, text: word})
			default:
				p.toks = append(p.toks, token{kind: tWord, pos: start, text: word})
			}
		}
	}
	return nil
}

func isBoundary(b byte) bool { return b == ' ' || b == '\t' || b == '(' }

// quoted reads a "..." string starting at s[i] == '"'; \" and \\ are escapes.
func quoted(s string, i int) (string, int, error) {
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if j+1 < len(s) {
				j++
				b.WriteByte(s[j])
			}
		case '"':
			return b.String(), j + 1, nil
		default:
			b.WriteByte(s[j])
		}
	}
	return "", 0, &SyntaxError{i, "unbalanced quote"}
}

func isFieldName(s string) bool {
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (unicode.IsDigit(r) || r == '.' || r == '-'):
		default:
			return false
		}
	}
	return s != ""
}

func (p *parser) peek() *token {
	if p.i < len(p.toks) {
		return &p.toks[p.i]
	}
	return nil
}

func (p *parser) or() (*Node, error) {
	first, err := p.and()
	if err != nil {
		return nil, err
	}
	kids := []*Node{first}
	for t := p.peek(); t != nil && t.kind == tOr; t = p.peek() {
		p.i++
		if p.peek() == nil {
			return nil, &SyntaxError{t.pos, "OR needs a term after it"}
		}
		n, err := p.and()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &Node{Kind: Or, Kids: kids}, nil
}

func (p *parser) and() (*Node, error) {
	var kids []*Node
	for {
		t := p.peek()
		if t == nil || t.kind == tOr || t.kind == tRParen {
			break
		}
		if t.kind == tAnd {
			p.i++
			if n := p.peek(); n == nil || n.kind == tOr || n.kind == tRParen || len(kids) == 0 {
				return nil, &SyntaxError{t.pos, "AND needs a term on each side"}
			}
			continue
		}
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 0 {
		if t := p.peek(); t != nil {
			return nil, &SyntaxError{t.pos, fmt.Sprintf("expected a term before %q", t.text)}
		}
		return nil, &SyntaxError{len(p.src), "expected a term"}
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	return &Node{Kind: And, Kids: kids}, nil
}

func (p *parser) unary() (*Node, error) {
	t := p.peek()
	if t.kind == tNot {
		p.i++
		if n := p.peek(); n == nil || n.kind == tOr || n.kind == tRParen || n.kind == tAnd {
			return nil, &SyntaxError{t.pos, "NOT needs a term after it"}
		}
		if err := p.nest(); err != nil {
			return nil, err
		}
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		p.depth--
		return &Node{Kind: Not, Kids: []*Node{n}}, nil
	}
	return p.primary()
}

func (p *parser) primary() (*Node, error) {
	t := p.peek()
	p.i++
	switch t.kind {
	case tLParen:
		if n := p.peek(); n != nil && n.kind == tRParen {
			return nil, &SyntaxError{t.pos, "empty parentheses"}
		}
		if err := p.nest(); err != nil {
			return nil, err
		}
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		p.depth--
		if c := p.peek(); c == nil || c.kind != tRParen {
			return nil, &SyntaxError{t.pos, "unbalanced '('"}
		}
		p.i++
		return n, nil
	case tRParen:
		return nil, &SyntaxError{t.pos, "unbalanced ')'"}
	case tPhrase:
		words := len(Tokens(t.text))
		if words == 0 {
			return nil, &SyntaxError{t.pos, "the phrase has no word in it"}
		}
		if err := p.count(words); err != nil {
			return nil, err
		}
		return &Node{Kind: Text, Value: t.text, Phrase: true}, nil
	case tField:
		if err := p.count(1); err != nil {
			return nil, err
		}
		n := &Node{Kind: Field, Name: t.name, Value: t.text}
		if !t.quoted {
			body := strings.TrimSuffix(t.text, "*")
			switch {
			case strings.ContainsAny(body, "*?"):
				n.Glob = true
			case body != t.text:
				n.Prefix, n.Value = true, body
			}
		}
		return n, nil
	default: // a word
		w := t.text
		n := &Node{Kind: Text, Value: w}
		if strings.HasSuffix(w, "*") {
			n.Prefix, n.Value = true, strings.TrimRight(w, "*")
		}
		toks := Tokens(n.Value)
		if len(toks) == 0 {
			return nil, &SyntaxError{t.pos, fmt.Sprintf("%q has no letter or digit to search for", w)}
		}
		if err := p.count(len(toks)); err != nil {
			return nil, err
		}
		if n.Prefix {
			if p.prefixes++; p.prefixes > MaxPrefixes {
				return nil, &LimitError{fmt.Sprintf("the query has more than %d word* prefixes; at most %d prefixes", MaxPrefixes, MaxPrefixes)}
			}
		}
		if len(toks) > 1 {
			// a.b.c or 10.0.0.1: the words in this order, as a phrase.
			n.Phrase = true
		}
		return n, nil
	}
}
