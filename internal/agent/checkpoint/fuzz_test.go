package checkpoint

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen: whatever bytes the registry holds, Open succeeds; either it loads them (and a
// flush of what it loaded reads back the same) or it moves them aside and starts empty.
// Seeds in testdata/fuzz/FuzzOpen.
func FuzzOpen(f *testing.F) {
	f.Add([]byte(`{"version":1,"files":[{"key":"1:2:ab","path":"/a","offset":5,"size":9,"fingerprint":"ab","fingerprint_len":1024,"updated":"2026-11-25T12:00:00Z"}]}`))
	f.Add([]byte(`{"version":1,"files":[]}`))
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, RegistryFile)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		aside, _ := filepath.Glob(path + ".corrupt-*")
		loaded := s.All()
		switch {
		case len(aside) == 1:
			if len(loaded) != 0 {
				t.Fatalf("moved aside but %d states loaded", len(loaded))
			}
			return
		case len(aside) > 1:
			t.Fatalf("moved aside %d times", len(aside))
		}
		// Loaded: make it dirty, write it, read it back.
		s.Set(State{Key: "\x00fuzz-marker"})
		s.Delete("\x00fuzz-marker")
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		again := mustOpen(t, dir).All()
		if len(again) != len(loaded) {
			t.Fatalf("%d states after rewrite, want %d", len(again), len(loaded))
		}
		for i := range loaded {
			a, b := loaded[i], again[i]
			// JSON cannot carry invalid UTF-8 in a path or key; those bytes come back as
			// U+FFFD, which is why keys are ASCII by construction (fileid.ID.Key).
			if a.Offset != b.Offset || a.Size != b.Size || a.FingerprintLen != b.FingerprintLen || !a.Updated.Equal(b.Updated) {
				t.Fatalf("state %d: %+v after rewrite, want %+v", i, b, a)
			}
		}
	})
}
