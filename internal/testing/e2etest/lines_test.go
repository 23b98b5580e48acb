package e2etest

import "testing"

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		n    int
		ok   bool
	}{
		{"short", "L000000042.", 42, true},
		{"padded", "L000000042. xxxx", 42, true},
		{"torn", "L0000000", 0, false},
		{"torn padding", "L000000042. xxy", 0, false},
		{"no dot", "L000000042x", 0, false},
		{"not a digit", "L00000004a.", 0, false},
		{"text after the dot", "L000000042.x", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, ok := ParseLine([]byte(tc.line))
			if n != tc.n || ok != tc.ok {
				t.Fatalf("ParseLine(%q) = %d, %v; want %d, %v", tc.line, n, ok, tc.n, tc.ok)
			}
		})
	}
	if n, ok := ParseLine([]byte(FormatLine(7)[:11])); n != 7 || !ok {
		t.Fatalf("FormatLine does not parse back: %d %v", n, ok)
	}
}
