package query

import (
	"errors"
	"strings"
	"testing"
)

func TestParseLimits(t *testing.T) {
	for _, tc := range []struct {
		name, q, want string
	}{
		{"length", strings.Repeat("a", MaxBytes+1), "at most 4096 bytes"},
		{"words", strings.Repeat("a ", MaxTerms+1), "at most 64 terms"},
		{"phrase words", `"` + strings.Repeat("a ", MaxTerms+1) + `"`, "at most 64 terms"},
		{"dotted words", strings.Repeat("a.", MaxTerms) + "a", "at most 64 terms"},
		{"fields", strings.Repeat("host:x ", MaxTerms+1), "at most 64 terms"},
		{"prefixes", strings.Repeat("ab* ", MaxPrefixes+1), "at most 8 prefixes"},
		{"parentheses", strings.Repeat("(", MaxDepth+1) + "a" + strings.Repeat(")", MaxDepth+1), "at most 16 levels"},
		{"NOTs", strings.Repeat("NOT ", MaxDepth+1) + "a", "at most 16 levels"},
		{"the 6,000 a* attack", strings.Repeat("a* ", 6000), "at most 4096 bytes"},
		{"the 30,000 NOT attack", strings.Repeat("NOT ", 30000) + "a", "at most 4096 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.q)
			var le *LimitError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want a LimitError with %q", err, tc.want)
			}
		})
	}
	// At the limits, a query parses.
	for _, q := range []string{
		strings.Repeat("a ", MaxTerms),
		strings.Repeat("ab* ", MaxPrefixes),
		strings.Repeat("(", MaxDepth) + "a" + strings.Repeat(")", MaxDepth),
		strings.Repeat("NOT ", MaxDepth) + "a",
		strings.Repeat("(a) ", 30), // depth is nesting, not the count of parentheses
	} {
		if _, err := Parse(q); err != nil {
			t.Errorf("Parse(%.40q…) = %v, want it parsed", q, err)
		}
	}
}

// FuzzParse: Parse never panics, and what it accepts is within the limits.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "error", `"connection refused"`, "data*", "host:web1", `msg:"a b"`, "path:/var/*.log",
		"NOT a", "-a", "a OR b", "a AND b", "(a OR b) c", "10.0.0.1", "10.0.0*", `a "b`, "(", ")",
		strings.Repeat("a* ", 6000), strings.Repeat("a* ", 20000), strings.Repeat("NOT ", 30000) + "a",
		strings.Repeat("(", 100) + "a", "host:", `\"`, "é*", "||", "&&",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		n, err := Parse(q)
		if err != nil {
			return
		}
		if len(q) > MaxBytes {
			t.Fatalf("accepted a query of %d bytes", len(q))
		}
		// A level of parentheses can add two levels to the tree: x (a OR y (…)) is
		// And[x, Or[a, And[y, …]]].
		terms, prefixes, depth := measure(n, 0)
		if terms > MaxTerms || prefixes > MaxPrefixes || depth > 2*(MaxDepth+1) {
			t.Fatalf("accepted %q: %d terms, %d prefixes, depth %d", q, terms, prefixes, depth)
		}
	})
}

// measure returns the terms, the prefixes and the depth of a parsed query.
func measure(n *Node, depth int) (terms, prefixes, maxDepth int) {
	maxDepth = depth
	switch n.Kind {
	case Text:
		terms = len(Tokens(n.Value))
		if n.Prefix {
			prefixes = 1
		}
	case Field:
		terms = 1
	}
	for _, k := range n.Kids {
		t, p, d := measure(k, depth+1)
		terms, prefixes, maxDepth = terms+t, prefixes+p, max(maxDepth, d)
	}
	return terms, prefixes, maxDepth
}
