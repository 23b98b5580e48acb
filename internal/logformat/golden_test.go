package logformat

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// readTime is the read time of the golden cases.
var readTime = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

var statusNames = map[Status]string{NotFound: "not found", Found: "found", Failed: "FAILED"}

// TestGoldenLines runs every case of testdata/time.txt through the parser of its format:
// the event time (detected) and the fields.
func TestGoldenLines(t *testing.T) {
	in, err := os.ReadFile("testdata/time.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	parsers := map[string]*Parser{}
	var cache Cache
	sc := bufio.NewScanner(bytes.NewReader(in))
	for sc.Scan() {
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		format, quoted, _ := strings.Cut(text, " ")
		line, err := strconv.Unquote(quoted)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		p := parsers[format]
		if p == nil {
			p = MustNew(Config{Format: Format(format)})
			parsers[format] = p
		}
		fmt.Fprintf(&out, "%s\n", text)
		ts, st := p.Time([]byte(line), readTime)
		// The cache of the agent's hot path agrees, after any line before it.
		if tc, stc := p.TimeCached(&cache, []byte(line), readTime); !tc.Equal(ts) || stc != st {
			t.Errorf("%s: TimeCached %v %v, Time %v %v", text, tc, stc, ts, st)
		}
		fmt.Fprintf(&out, "  time:   %s %s\n", statusNames[st], ts.Format(time.RFC3339Nano))
		fields, err := p.Fields(line)
		switch {
		case err != nil:
			fmt.Fprintf(&out, "  fields: error: %v\n", err)
		case fields != nil:
			b, _ := json.Marshal(fieldMap(fields))
			fmt.Fprintf(&out, "  fields: %s\n", b)
		}
	}
	golden(t, "testdata/time.golden", out.Bytes())
}

// TestGoldenEnvelopes takes testdata/cri.log and docker.log out of their envelopes.
func TestGoldenEnvelopes(t *testing.T) {
	for _, format := range []Format{CRI, Docker} {
		t.Run(string(format), func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", string(format)+".log"))
			if err != nil {
				t.Fatal(err)
			}
			// CRI's joined line is cut at 30 bytes to show the bound; docker's is not.
			a := NewAssembler(format, map[Format]int{CRI: 30, Docker: 1 << 10}[format])
			var out bytes.Buffer
			print := func(l Line) {
				fmt.Fprintf(&out, "[%d,%d) stream=%q time=%s truncated=%v bad=%v %q\n", l.Offset, l.End, l.Stream,
					l.Time.Format(time.RFC3339Nano), l.Truncated, l.Bad, l.Msg)
			}
			off := int64(0)
			for raw := range bytes.Lines(in) {
				end := off + int64(len(raw))
				if l, ok := a.Push(bytes.TrimSuffix(raw, []byte("\n")), off, end, false); ok {
					print(l)
				}
				off = end
			}
			if l, ok := a.Flush(); ok {
				fmt.Fprint(&out, "flush: ")
				print(l)
			}
			golden(t, filepath.Join("testdata", string(format)+".golden"), out.Bytes())
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it; review the diff):\n%s", path, got)
	}
}
