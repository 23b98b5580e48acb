package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestLoadSizeLimit(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A valid YAML config of n bytes: one key, then comment lines.
	config := func(n int) []byte {
		b := []byte("store:\n  retention: 7d\n")
		b = append(b, bytes.Repeat([]byte("# "+strings.Repeat("x", 61)+"\n"), n/64+1)...)
		b = b[:n]
		b[n-1] = '\n'
		return b
	}
	tests := []struct {
		name    string
		path    string
		wantErr bool
	}{
		{"endless device", "/dev/zero", true},
		{"2 MiB YAML", write("big.yaml", config(2<<20)), true},
		{"2 MiB INI", write("big.ini", bytes.Repeat([]byte("; comment\n"), 2<<20/10)), true},
		{"limit+1 bytes", write("over.yaml", config(MaxFileBytes+1)), true},
		{"exactly the limit", write("limit.yaml", config(MaxFileBytes)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Load(%s): %v", tt.path, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load(%s): no error for a file over the limit", tt.path)
			}
			for _, want := range []string{tt.path, strconv.Itoa(MaxFileBytes)} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("error %q does not name %q", err, want)
				}
			}
		})
	}
}
