package standalone

import (
	"os"
	"path/filepath"
	"testing"
)

func TestAccessToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tok, err := AccessToken(dir)
	if err != nil || len(tok) != 64 {
		t.Fatalf("first token %q, %v", tok, err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, TokenFile): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want mode %v", path, fi.Mode().Perm(), err, want)
		}
	}
	again, err := AccessToken(dir)
	if err != nil || again != tok {
		t.Errorf("second start: %q %v, want the same token", again, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("data dir holds %d files, want only %s", len(entries), TokenFile)
	}
	if err := os.Chmod(filepath.Join(dir, TokenFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := AccessToken(dir); err == nil {
		t.Error("a token readable by others was accepted")
	}
}
