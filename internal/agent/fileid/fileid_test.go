package fileid

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestIDStringAndKey(t *testing.T) {
	tests := []struct {
		name    string
		id      ID
		str     string
		key     string
		sameIno ID
	}{
		{"no fingerprint", ID{Dev: 2049, Ino: 131}, "2049:131", "2049:131:", ID{Dev: 2049, Ino: 131, Fingerprint: "ab"}},
		{"fingerprint", ID{Dev: 1, Ino: 2, Fingerprint: "00ff"}, "1:2", "1:2:00ff", ID{Dev: 1, Ino: 2}},
		{"max values", ID{Dev: ^uint64(0), Ino: ^uint64(0), Fingerprint: "x"}, "18446744073709551615:18446744073709551615", "18446744073709551615:18446744073709551615:x", ID{Dev: ^uint64(0), Ino: ^uint64(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.id.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
			if got := tt.id.Key(); got != tt.key {
				t.Errorf("Key() = %q, want %q", got, tt.key)
			}
			if !tt.id.SameInode(tt.sameIno) {
				t.Errorf("SameInode(%v) = false", tt.sameIno)
			}
			other := tt.id
			other.Ino++
			if tt.id.SameInode(other) {
				t.Errorf("SameInode(%v) = true", other)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	const n = 16
	base := []byte("0123456789abcdefTAIL-ONE")
	full, err := Fingerprint(bytes.NewReader(base), n)
	if err != nil {
		t.Fatal(err)
	}
	if len(full) != 2*sumBytes {
		t.Fatalf("fingerprint %q: want %d hex digits", full, 2*sumBytes)
	}
	tests := []struct {
		name string
		data []byte
		same bool // fingerprint equals full
		want string
	}{
		{name: "empty", data: nil, want: ""},
		{name: "shorter than n", data: base[:n-1], want: ""},
		{name: "exactly n", data: base[:n], same: true},
		{name: "other tail", data: append(bytes.Clone(base[:n]), "OTHER TAIL, LONGER"...), same: true},
		{name: "first byte differs", data: append([]byte("X"), base[1:]...)},
		{name: "byte n-1 differs", data: append(append(bytes.Clone(base[:n-1]), 'X'), base[n:]...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Fingerprint(bytes.NewReader(tt.data), n)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.same && got != full:
				t.Errorf("got %q, want the same fingerprint %q", got, full)
			case !tt.same && len(tt.data) >= n && (got == full || got == ""):
				t.Errorf("got %q, want a fingerprint different from %q", got, full)
			case len(tt.data) < n && got != tt.want:
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadPrefix(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		n       int
		wantLen int
		wantErr bool
	}{
		{"empty", "", 8, 0, false},
		{"short", "abc", 8, 3, false},
		{"exact", "abcdefgh", 8, 8, false},
		{"long", "abcdefghij", 8, 8, false},
		{"zero n", "abc", 0, 0, true},
		{"negative n", "abc", -1, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ReadPrefix(strings.NewReader(tt.data), tt.n)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if p.Len != tt.wantLen {
				t.Errorf("Len = %d, want %d", p.Len, tt.wantLen)
			}
			if want := sum([]byte(tt.data[:tt.wantLen])); p.Sum != want {
				t.Errorf("Sum = %q, want %q", p.Sum, want)
			}
			if p.Complete(tt.n) != (tt.wantLen == tt.n) {
				t.Errorf("Complete(%d) = %v with Len %d", tt.n, p.Complete(tt.n), p.Len)
			}
			fp, _ := Fingerprint(strings.NewReader(tt.data), tt.n)
			if p.Complete(tt.n) && fp != p.Sum {
				t.Errorf("complete prefix %q differs from fingerprint %q", p.Sum, fp)
			}
		})
	}
}

func TestPrefixMatches(t *testing.T) {
	orig := "first line\nsecond"
	p, err := ReadPrefix(strings.NewReader(orig), 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		prefix Prefix
		now    string
		want   bool
	}{
		{"unchanged", p, orig, true},
		{"appended", p, orig + " line\nthird line\n", true},
		{"truncated", p, orig[:5], false},
		{"truncated to empty", p, "", false},
		{"rewritten, same length", p, strings.Repeat("x", len(orig)), false},
		{"rewritten, longer", p, "another file entirely\n", false},
		{"empty prefix matches anything", Prefix{}, "whatever", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.prefix.Matches(strings.NewReader(tt.now))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

type failingReaderAt struct{ err error }

func (f failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, f.err }

type stuckReaderAt struct{}

func (stuckReaderAt) ReadAt([]byte, int64) (int, error) { return 0, nil }

func TestReadErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		r    io.ReaderAt
		want error
	}{
		{"read error", failingReaderAt{boom}, boom},
		{"no progress", stuckReaderAt{}, io.ErrNoProgress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Fingerprint(tt.r, 8); !errors.Is(err, tt.want) {
				t.Errorf("Fingerprint err = %v, want %v", err, tt.want)
			}
			if _, err := (Prefix{Len: 4, Sum: "x"}).Matches(tt.r); !errors.Is(err, tt.want) {
				t.Errorf("Matches err = %v, want %v", err, tt.want)
			}
		})
	}
}

type fakeInfo struct{ os.FileInfo }

func (fakeInfo) Sys() any { return nil }

func TestFromInfo(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	writeFile(t, a, []byte("a\n"))
	writeFile(t, b, []byte("b\n"))
	stat := func(p string) (uint64, uint64) {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return FromInfo(fi)
	}
	devA, inoA := stat(a)
	devB, inoB := stat(b)
	if inoA == 0 || devA != devB || inoA == inoB {
		t.Fatalf("a=%d:%d b=%d:%d: want same device, distinct non-zero inodes", devA, inoA, devB, inoB)
	}

	// Identity follows the file, not the name: rename, hard link and symlink target.
	rotated := filepath.Join(dir, "a.log.1")
	if err := os.Rename(a, rotated); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "hard.log")
	if err := os.Link(rotated, link); err != nil {
		t.Fatal(err)
	}
	sym := filepath.Join(dir, "sym.log")
	if err := os.Symlink(rotated, sym); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{rotated, link, sym} {
		if dev, ino := stat(p); dev != devA || ino != inoA {
			t.Errorf("%s: %d:%d, want %d:%d", filepath.Base(p), dev, ino, devA, inoA)
		}
	}

	if dev, ino := FromInfo(fakeInfo{}); dev != 0 || ino != 0 {
		t.Errorf("FileInfo without stat data: %d:%d, want 0:0", dev, ino)
	}
}

func TestOf(t *testing.T) {
	dir := t.TempDir()
	const n = 32
	tests := []struct {
		name     string
		data     []byte
		complete bool
	}{
		{"empty", nil, false},
		{"short", []byte("short line\n"), false},
		{"long", bytes.Repeat([]byte("0123456789\n"), 10), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			writeFile(t, path, tt.data)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			id, p, err := Of(f, n)
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := os.Stat(path)
			if dev, ino := FromInfo(fi); id.Dev != dev || id.Ino != ino {
				t.Errorf("id %v, want %d:%d", id, dev, ino)
			}
			if got := id.Fingerprint != ""; got != tt.complete {
				t.Errorf("Fingerprint %q, want present=%v", id.Fingerprint, tt.complete)
			}
			if tt.complete && id.Fingerprint != p.Sum {
				t.Errorf("Fingerprint %q != prefix sum %q", id.Fingerprint, p.Sum)
			}
			if want := min(len(tt.data), n); p.Len != want {
				t.Errorf("prefix Len %d, want %d", p.Len, want)
			}
			// ReadAt leaves the read position alone: the harvester reads from where it was.
			if pos, _ := f.Seek(0, io.SeekCurrent); pos != 0 {
				t.Errorf("read position moved to %d", pos)
			}
		})
	}

	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, _, err := Of(f, n); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Of(directory) err = %v, want an error naming %s", err, dir)
	}
}

// TestSameStartDifferentFiles is the failure of fingerprint-only identity: two files with
// the same first bytes (a shared header) have the same fingerprint but different keys.
func TestSameStartDifferentFiles(t *testing.T) {
	dir := t.TempDir()
	header := bytes.Repeat([]byte("# generated by app v1.2.3, same in every file\n"), 30)
	var ids []ID
	for _, name := range []string{"a.log", "b.log"} {
		path := filepath.Join(dir, name)
		writeFile(t, path, append(bytes.Clone(header), name...))
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		id, _, err := Of(f, DefaultFingerprintBytes)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if ids[0].Fingerprint == "" || ids[0].Fingerprint != ids[1].Fingerprint {
		t.Fatalf("fingerprints %q and %q: want equal and non-empty", ids[0].Fingerprint, ids[1].Fingerprint)
	}
	if ids[0].Key() == ids[1].Key() {
		t.Errorf("both files have key %q", ids[0].Key())
	}
}

// TestInodeReuse: a new file that gets a deleted file's device and inode is told apart by
// its first bytes.
func TestInodeReuse(t *testing.T) {
	oldFile := ID{Dev: 7, Ino: 42}
	newFile := ID{Dev: 7, Ino: 42}
	var err error
	oldFile.Fingerprint, err = Fingerprint(strings.NewReader(strings.Repeat("old log line\n", 100)), DefaultFingerprintBytes)
	if err != nil {
		t.Fatal(err)
	}
	newFile.Fingerprint, err = Fingerprint(strings.NewReader(strings.Repeat("new log line\n", 100)), DefaultFingerprintBytes)
	if err != nil {
		t.Fatal(err)
	}
	if oldFile.String() != newFile.String() {
		t.Fatalf("String differs: %q %q", oldFile, newFile)
	}
	if oldFile.Key() == newFile.Key() {
		t.Errorf("reused inode has the old key %q", oldFile.Key())
	}
	// Files that appear and vanish quickly: exercise the real filesystem too, whether or
	// not it reuses the inode.
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	keys := map[string]string{}
	for i := range 20 {
		content := strings.Repeat(strconv.Itoa(i)+" generation\n", 100)
		writeFile(t, path, []byte(content))
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		id, _, err := Of(f, DefaultFingerprintBytes)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := keys[id.Key()]; ok && prev != content {
			t.Fatalf("generation %d has the key %q of another content", i, id.Key())
		}
		keys[id.Key()] = content
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkFingerprint(b *testing.B) {
	data := bytes.Repeat([]byte("x"), 4096)
	r := bytes.NewReader(data)
	b.SetBytes(DefaultFingerprintBytes)
	for b.Loop() {
		if _, err := Fingerprint(r, DefaultFingerprintBytes); err != nil {
			b.Fatal(err)
		}
	}
}
