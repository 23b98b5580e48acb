package checkpoint

import (
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkStoreFlush writes a registry of 10,000 files, one of them changed since the last
// write (as every second with many live files): encode, write, fsync, rename, fsync dir.
func BenchmarkStoreFlush(b *testing.B) {
	s, err := Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	const files = 10_000
	for i := range files {
		s.Set(State{
			Key:         "2049:" + strconv.Itoa(1_000_000+i) + ":0123456789abcdef0123456789abcdef",
			Path:        "/var/log/app/service-" + strconv.Itoa(i) + ".log",
			Offset:      int64(i) * 12345,
			Size:        int64(i) * 12400,
			Fingerprint: "0123456789abcdef0123456789abcdef", FingerprintLen: 1024,
			Updated: time.Now(),
		})
	}
	hot := s.All()[0]
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		hot.Offset++
		s.Set(hot)
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	// Most of the wall time is waiting for fsync; the CPU spent is what costs the agent.
	b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	fi, err := statRegistry(s)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fi), "registry_bytes")
}

// BenchmarkStoreSet is the cost of recording one file's offset (what the engine does per
// file before each flush).
func BenchmarkStoreSet(b *testing.B) {
	s, err := Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	st := State{Key: "2049:1234:0123456789abcdef0123456789abcdef", Path: "/var/log/app.log", Updated: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		st.Offset++
		s.Set(st)
	}
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
