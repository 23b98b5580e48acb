package fileout

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/transfer/document"
)

func TestWriteJSONLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "docs.jsonl")
	s, err := OpenDocs(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	docs := []document.Document{
		{ID: "a", Message: "one", Topic: "t", Offset: 0, Time: time.Unix(0, 0)},
		{ID: "b", Message: "two \"quoted\"", Topic: "t", Offset: 4, Time: time.Unix(1, 0)},
	}
	if rej, err := s.Write(context.Background(), docs); err != nil || rej != nil {
		t.Fatalf("Write: %v %v", rej, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), b)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil {
		t.Fatal(err)
	}
	if m["_id"] != "b" || m["message"] != `two "quoted"` || m["offset"] != float64(4) {
		t.Errorf("line %s", lines[1])
	}
}

func TestStdout(t *testing.T) {
	var buf bytes.Buffer
	s, err := OpenDocs("-", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(context.Background(), []document.Document{{ID: "x", Message: "m", Topic: "t", Offset: -1}}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), `{"_id":"x","@timestamp"`) {
		t.Errorf("stdout %q", buf.String())
	}
}
