package lines

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// benchLines is the size of the benchmark file: the throughput scenario.
const benchLines = 2_000_000

// benchFile is generated once per test binary run: the benchmark functions are called again
// with a growing b.N, and writing 240 MB each time would dominate the run. TestMain removes it.
var benchFile struct {
	once sync.Once
	dir  string
	path string
	size int64
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFile.dir != "" {
		os.RemoveAll(benchFile.dir)
	}
	os.Exit(code)
}

// benchPath returns a file of benchLines lines of about 120 bytes, like an access log.
func benchPath(b *testing.B) (string, int64) {
	b.Helper()
	benchFile.once.Do(func() {
		dir, err := os.MkdirTemp("", "lines-bench-")
		if err != nil {
			benchFile.err = err
			return
		}
		benchFile.dir = dir
		benchFile.path = filepath.Join(dir, "access.log")
		benchFile.size, benchFile.err = writeBenchFile(benchFile.path)
	})
	if benchFile.err != nil {
		b.Fatal(benchFile.err)
	}
	return benchFile.path, benchFile.size
}

func writeBenchFile(path string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range benchLines {
		// 120 bytes with the newline for i < 10^8.
		fmt.Fprintf(w, "2026-11-25T14:%02d:%02d.%06dZ INFO [worker-%02d] GET /api/v1/items/%08d status=200 dur=%03dms bytes=%06d ua=curl/8.5.0\n",
			i/60%60, i%60, i%1000000, i%16, i, i%1000, i%999999)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	return st.Size(), f.Close()
}

// BenchmarkReader reads the whole file per iteration, the way a harvester reads a file from
// its beginning. Compare lines/s with BenchmarkBufioFloor.
func BenchmarkReader(b *testing.B) {
	path, size := benchPath(b)
	for _, bufSize := range []int{64 << 10, 256 << 10} {
		b.Run(fmt.Sprintf("buf=%dKiB", bufSize>>10), func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			var r *Reader
			n := 0
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				if r == nil {
					r = NewReader(f, 0, 0, bufSize)
				} else {
					r.Reset(f, 0)
				}
				for {
					_, _, _, _, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				f.Close()
			}
			if n%benchLines != 0 {
				b.Fatalf("read %d lines, want a multiple of %d", n, benchLines)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// BenchmarkBufioFloor is the floor: a plain bufio.Scanner line loop over the same file.
func BenchmarkBufioFloor(b *testing.B) {
	path, size := benchPath(b)
	b.SetBytes(size)
	b.ReportAllocs()
	n := 0
	buf := make([]byte, 64<<10)
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(buf, 1<<20)
		for sc.Scan() {
			n++
		}
		if err := sc.Err(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	if n%benchLines != 0 {
		b.Fatalf("read %d lines, want a multiple of %d", n, benchLines)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}
