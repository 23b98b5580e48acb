// Package linefilter decides which lines of a file are shipped: an entry's include_lines and
// exclude_lines regular expressions (Go regexp syntax).
package linefilter

import (
	"bytes"
	"fmt"
	"regexp"
	"regexp/syntax"
	"unicode/utf8"
)

// Filter keeps a line when it matches one of the include patterns (or there are none) and
// none of the exclude patterns. A nil *Filter keeps everything. A Filter is safe for
// concurrent use.
type Filter struct {
	include []matcher
	exclude []matcher
}

// New compiles the entry's include_lines and exclude_lines.
func New(include, exclude []string) (*Filter, error) {
	f := &Filter{}
	var err error
	if f.include, err = compileAll("include_lines", include); err != nil {
		return nil, err
	}
	if f.exclude, err = compileAll("exclude_lines", exclude); err != nil {
		return nil, err
	}
	return f, nil
}

func compileAll(key string, patterns []string) ([]matcher, error) {
	out := make([]matcher, 0, len(patterns))
	for _, p := range patterns {
		m, err := compile(p)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", key, p, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// Keep reports whether the line is shipped: include_lines first (keep if any matches; none
// configured keeps all), then exclude_lines (drop if any matches).
func (f *Filter) Keep(line []byte) bool {
	if f == nil {
		return true
	}
	if len(f.include) > 0 && !anyMatch(f.include, line) {
		return false
	}
	return !anyMatch(f.exclude, line)
}

func anyMatch(ms []matcher, line []byte) bool {
	for i := range ms {
		if ms[i].match(line) {
			return true
		}
	}
	return false
}

// matcher is a compiled pattern. Patterns that are plain literals, the common case ("ERROR",
// "^DEBUG"), skip the regexp engine: bytes.Contains and bytes.HasPrefix are several times
// faster per line and this runs for every line read.
type matcher struct {
	re     *regexp.Regexp // nil when lit is used
	lit    []byte
	prefix bool // lit must be at the start of the line (pattern began with ^)
}

func (m *matcher) match(line []byte) bool {
	switch {
	case m.re != nil:
		return m.re.Match(line)
	case m.prefix:
		return bytes.HasPrefix(line, m.lit)
	default:
		return bytes.Contains(line, m.lit)
	}
}

func compile(pattern string) (matcher, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return matcher{}, err
	}
	if lit, prefix, ok := literal(pattern); ok {
		return matcher{lit: lit, prefix: prefix}, nil
	}
	return matcher{re: re}, nil
}

// literal reports whether pattern matches exactly the lines containing one fixed byte string
// (anywhere, or at the start when prefix is true).
func literal(pattern string) (lit []byte, prefix, ok bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, false, false
	}
	re = re.Simplify()
	lr := re
	if re.Op == syntax.OpConcat && len(re.Sub) == 2 && re.Sub[0].Op == syntax.OpBeginText {
		lr, prefix = re.Sub[1], true
	}
	if lr.Op != syntax.OpLiteral || lr.Flags&syntax.FoldCase != 0 {
		return nil, false, false
	}
	for _, r := range lr.Rune {
		// The regexp engine reads an invalid byte as U+FFFD; a byte comparison would not,
		// so such a pattern keeps the regexp semantics.
		if r == utf8.RuneError {
			return nil, false, false
		}
	}
	return []byte(string(lr.Rune)), prefix, true
}
