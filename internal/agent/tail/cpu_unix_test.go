//go:build unix

package tail

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) the test process used so far: what a
// benchmark of the engine's goroutines compares, since wall time on a shared machine is
// mostly other people's load.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
