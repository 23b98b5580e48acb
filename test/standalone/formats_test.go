//go:build integration

package standalone_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/await"
)

// TestRegexEntryFields: the lines of a format: regex entry have the fields of its named
// groups in the standalone (its store keeps the pattern with the lines), searchable by
// field:value; a line that does not match the pattern is still found by its words.
func TestRegexEntryFields(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	appendLines(t, logPath,
		"E 503 upstream timed out",
		"I 200 served in 3 ms",
		"W 429 slow down",
		"no pattern here at all")
	cfg := filepath.Join(dir, "standalone.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`agent:
  id: h1
  collect:
    - {path: %s, topic: app, start: beginning, format: regex, pattern: '^(?P<sev>[EIW]) (?P<code>\d+) (?P<msg>.*)$'}
log: {level: warn}
`, logPath)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, newOpts(t, "--config", cfg))
	await.Until(t, 10*time.Second, "the 4 lines searchable", func() bool { return p.search("", "&from=now-1h").Total == 4 })
	for q, want := range map[string][]string{
		"code:503":         {"E 503 upstream timed out"},
		"sev:W OR sev:I":   {"I 200 served in 3 ms", "W 429 slow down"},
		`msg:"slow down"`:  {"W 429 slow down"},
		"NOT code:*":       {"no pattern here at all"},
		"pattern sev:E":    nil,
		"pattern":          {"no pattern here at all"},
		"code:4* upstream": nil,
		"code:5* upstream": {"E 503 upstream timed out"},
	} {
		got := messages(p.search(q, "&from=now-1h").Hits)
		if want == nil {
			want = []string{}
		}
		if got == nil {
			got = []string{}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%q: %q, want %q", q, got, want)
		}
	}
}
