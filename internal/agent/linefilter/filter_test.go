package linefilter

import (
	"regexp"
	"strings"
	"testing"
)

func TestKeep(t *testing.T) {
	tests := []struct {
		name             string
		include, exclude []string
		keep, drop       []string
	}{
		{
			name: "no rules keep everything",
			keep: []string{"", "anything", "\xff\xfe"},
		},
		{
			name:    "include keeps a line matching any pattern",
			include: []string{"ERROR", "WARN"},
			keep:    []string{"x ERROR y", "WARN: disk"},
			drop:    []string{"INFO ok", "error lower case"},
		},
		{
			name:    "exclude drops a line matching any pattern",
			exclude: []string{"^DEBUG", "healthz"},
			keep:    []string{"INFO DEBUG later", "GET /"},
			drop:    []string{"DEBUG start", "GET /healthz"},
		},
		{
			name:    "include first then exclude",
			include: []string{"ERROR"},
			exclude: []string{"ignored"},
			keep:    []string{"ERROR real"},
			drop:    []string{"ERROR ignored", "INFO ignored", "INFO"},
		},
		{
			name:    "regexp features",
			include: []string{`^\d{4}-\d{2}`, `(?i)panic`},
			keep:    []string{"2026-11 started", "PANIC: x", "a Panic b"},
			drop:    []string{"x 2026-11", "pani c"},
		},
		{
			name:    "escaped literal",
			include: []string{`a\.b`, `^\[ERR\]`},
			keep:    []string{"xa.by", "[ERR] x"},
			drop:    []string{"axb", "x [ERR]"},
		},
		{
			name:    "anchor only at the start of the line",
			include: []string{"^A"},
			keep:    []string{"Abc"},
			drop:    []string{"bc\nAbc"}, // a joined multiline event: ^ is the event's start
		},
		{
			name:    "invalid utf-8 lines",
			include: []string{"ok"},
			keep:    []string{"\xff ok \xfe"},
			drop:    []string{"\xff\xfe"},
		},
		{
			name:    "empty pattern matches everything",
			exclude: []string{""},
			drop:    []string{"", "x"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := New(tc.include, tc.exclude)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range tc.keep {
				if !f.Keep([]byte(l)) {
					t.Errorf("Keep(%q) = false, want true", l)
				}
			}
			for _, l := range tc.drop {
				if f.Keep([]byte(l)) {
					t.Errorf("Keep(%q) = true, want false", l)
				}
			}
		})
	}
}

func TestNilFilterKeepsEverything(t *testing.T) {
	var f *Filter
	if !f.Keep([]byte("x")) {
		t.Error("nil Filter dropped a line")
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name             string
		include, exclude []string
		want             string
	}{
		{"bad include", []string{"ok", "("}, nil, `include_lines "("`},
		{"bad exclude", nil, []string{"[a-"}, `exclude_lines "[a-"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.include, tc.exclude)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to name %s", err, tc.want)
			}
		})
	}
}

// TestLiteralFastPathAgreesWithRegexp checks the shortcut against the regexp engine it
// replaces, and that it is taken for the patterns it is meant for.
func TestLiteralFastPathAgreesWithRegexp(t *testing.T) {
	patterns := []struct {
		p    string
		fast bool
	}{
		{"ERROR", true}, {"^DEBUG", true}, {`a\.b`, true}, {`^\[x\]`, true}, {"é", true},
		{"(?i)error", false}, {"a|b", false}, {"^a$", false}, {"a.b", false}, {"\uFFFD", false}, {"", false},
	}
	lines := []string{"", "ERROR", "xERRORy", "DEBUG x", "x DEBUG", "a.b", "axb", "[x] y", "y [x]", "café", "\xff", "error"}
	for _, pc := range patterns {
		m, err := compile(pc.p)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.re == nil; got != pc.fast {
			t.Errorf("pattern %q: literal fast path = %v, want %v", pc.p, got, pc.fast)
		}
		re := regexp.MustCompile(pc.p)
		for _, l := range lines {
			if got, want := m.match([]byte(l)), re.MatchString(l); got != want {
				t.Errorf("pattern %q line %q: match = %v, regexp says %v", pc.p, l, got, want)
			}
		}
	}
}

func BenchmarkKeep(b *testing.B) {
	line := []byte("2026-11-25T14:00:00.000000Z INFO [worker-01] GET /api/v1/items/00001234 status=200 dur=012ms bytes=000123 ua=curl/8.5.0")
	for _, bc := range []struct {
		name    string
		include []string
	}{
		{"literal", []string{"ERROR"}},
		{"regexp", []string{"ERR(OR)?"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f, err := New(bc.include, nil)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				f.Keep(line)
			}
		})
	}
}
