package datadir

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestRootPasswordCreatedOnceAndPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := Prepare(dir); err != nil {
		t.Fatal(err)
	}
	pw, created, err := RootPassword(dir)
	if err != nil || !created || len(pw) < 32 {
		t.Fatalf("first call: %q created=%v err=%v", pw, created, err)
	}
	again, created, err := RootPassword(dir)
	if err != nil || created || again != pw {
		t.Fatalf("second call: %q created=%v err=%v, want the same password", again, created, err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, PasswordFile): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}

func TestClientRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := Client{Endpoint: "127.0.0.1:2379", AllowedPaths: []string{"/var/log/**"}}
	if err := WriteClient(dir, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadClient(dir)
	if err != nil || out.Endpoint != in.Endpoint || !slices.Equal(out.AllowedPaths, in.AllowedPaths) {
		t.Fatalf("read %+v, %v; want %+v", out, err, in)
	}
}
