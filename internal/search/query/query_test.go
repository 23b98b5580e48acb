package query

import (
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
