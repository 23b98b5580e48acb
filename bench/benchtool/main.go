// Command benchtool is the helper of scripts/bench-tail.sh: it generates the input, runs
// the floor (a plain bufio line copy, what any line shipper must at least spend), and
// writes many files at a steady rate for the idle-load measurement.
package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: benchtool gen LINES OUT | floor IN OUT | write DIR FILES RATE SECONDS")
	}
	switch args[0] {
	case "gen":
		if len(args) != 3 {
			return fmt.Errorf("usage: benchtool gen LINES OUT")
		}
		n, err := strconv.Atoi(args[1])
		if err != nil {
			return err
		}
		return gen(n, args[2])
	case "floor":
		if len(args) != 3 {
			return fmt.Errorf("usage: benchtool floor IN OUT")
		}
		return floor(args[1], args[2])
	case "write":
		if len(args) != 5 {
			return fmt.Errorf("usage: benchtool write DIR FILES RATE SECONDS")
		}
		files, err1 := strconv.Atoi(args[2])
		rate, err2 := strconv.Atoi(args[3])
		secs, err3 := strconv.Atoi(args[4])
		if err1 != nil || err2 != nil || err3 != nil {
			return fmt.Errorf("write: FILES, RATE and SECONDS must be integers")
		}
		return write(args[1], files, rate, secs)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// gen writes n log-like lines of about 120 bytes, each starting with its own RFC 3339
// time (a millisecond apart), as an application log does: what the agent's time detection
// parses.
func gen(n int, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	t0 := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	for i := range n {
		fmt.Fprintf(w, "%s INFO service=checkout request_id=%08d user=u%06d path=/api/v1/items status=200 bytes=%05d\n",
			t0.Add(time.Duration(i)*time.Millisecond).Format("2006-01-02T15:04:05.000Z"), i, i%1000000, i%99999)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// floor copies the lines of in to out with bufio: the least work a line shipper does.
// It prints "wall_ns cpu_us maxrss_kib" of its own run (getrusage: microseconds, not the
// 10 ms ticks /usr/bin/time reports).
func floor(in, out string) error {
	start := time.Now()
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(out)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 256<<10), 1<<20)
	w := bufio.NewWriterSize(dst, 256<<10)
	n := 0
	for sc.Scan() {
		_, _ = w.Write(sc.Bytes())
		_ = w.WriteByte('\n')
		n++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	wall := time.Since(start)
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	cpu := ru.Utime.Sec*1e6 + ru.Utime.Usec + ru.Stime.Sec*1e6 + ru.Stime.Usec
	fmt.Printf("%d %d %d %d\n", wall.Nanoseconds(), cpu, ru.Maxrss, n)
	return nil
}

// write appends `rate` lines per second to each of `files` files for `secs` seconds,
// spread evenly over each second.
func write(dir string, files, rate, secs int) error {
	fs := make([]*os.File, files)
	for i := range fs {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("f%04d.log", i)), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		fs[i] = f
	}
	tick := time.Second / time.Duration(rate)
	t := time.NewTicker(tick)
	defer t.Stop()
	end := time.Now().Add(time.Duration(secs) * time.Second)
	line := make([]byte, 0, 160)
	n := 0
	for now := range t.C {
		if now.After(end) {
			break
		}
		for i, f := range fs {
			line = fmt.Appendf(line[:0], "2026-11-25T14:00:00.000Z INFO file=%04d seq=%08d some payload to make a typical line\n", i, n)
			if _, err := f.Write(line); err != nil {
				return err
			}
		}
		n++
	}
	fmt.Println(n * files)
	return nil
}
