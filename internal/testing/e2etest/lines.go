package e2etest

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// FormatLine is the numbered line n with its newline: "L000000042.\n".
func FormatLine(n int) string { return fmt.Sprintf("L%09d.\n", n) }

// ParseLine returns the number of a well-formed line (without its newline): "L", nine
// digits, ".", then nothing or a space and x's. A torn line does not parse. (By hand, not
// with a regexp: tests parse tens of thousands of records a second, under -race.)
func ParseLine(b []byte) (int, bool) {
	if len(b) < 11 || b[0] != 'L' || b[10] != '.' {
		return 0, false
	}
	n := 0
	for _, c := range b[1:10] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if rest := b[11:]; len(rest) > 0 {
		if rest[0] != ' ' {
			return 0, false
		}
		for _, c := range rest[1:] {
			if c != 'x' {
				return 0, false
			}
		}
	}
	return n, true
}

// Numbers returns the numbers of the well-formed lines of a file, in file order; none when
// the file does not exist.
func Numbers(t testing.TB, path string) []int {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if n, ok := ParseLine(sc.Bytes()); ok {
			out = append(out, n)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// writer appends numbered lines to a log file as a logging application does: one
// descriptor in O_APPEND mode, reopened when the path names a new file (after a rename
// rotation; real applications are told by a signal, this one checks now and then).
type writer struct {
	path string
	pad  string
	f    *os.File
	ino  uint64
	next int
}

func (w *writer) open(flags int) error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|flags, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if w.f != nil {
		_ = w.f.Close()
	}
	w.f, w.ino = f, fi.Sys().(*syscall.Stat_t).Ino
	return nil
}

// write appends n lines in one write call, after checking whether the path moved. While
// the path is missing (between logrotate's rename and its create) it keeps writing to the
// old file, as an application does until it is told to reopen; it never creates the file
// itself after the first time, which would race with logrotate's create.
func (w *writer) write(n int) error {
	if w.f == nil {
		if err := w.open(os.O_CREATE); err != nil {
			return err
		}
	} else if fi, err := os.Stat(w.path); err == nil && fi.Sys().(*syscall.Stat_t).Ino != w.ino {
		_ = w.open(0) // gone again already: keep the old descriptor
	}
	var b strings.Builder
	for range n {
		line := FormatLine(w.next)
		b.WriteString(line[:len(line)-1])
		b.WriteString(w.pad)
		b.WriteByte('\n')
		w.next++
	}
	_, err := w.f.WriteString(b.String())
	return err
}

// RunWriter writes numbered lines starting at first, perTick lines per tick on average
// (a tick the goroutine missed is made up at the next one, so the rate holds on a busy
// machine), each padded with pad bytes ("L000000042. xxx…"), until stop is closed; it
// returns the next number it would have written.
func RunWriter(t testing.TB, path string, first, perTick, pad int, tick time.Duration, stop <-chan struct{}) <-chan int {
	out := make(chan int, 1)
	w := &writer{path: path, next: first}
	if pad > 0 {
		w.pad = " " + strings.Repeat("x", pad-1)
	}
	go func() {
		tk := time.NewTicker(tick)
		defer tk.Stop()
		start := time.Now()
		for {
			select {
			case <-stop:
				if w.f != nil {
					_ = w.f.Close()
				}
				out <- w.next
				return
			case <-tk.C:
				due := first + int(time.Since(start)/tick)*perTick - w.next
				if err := w.write(due); err != nil {
					t.Errorf("writer: %v", err)
				}
			}
		}
	}()
	return out
}
