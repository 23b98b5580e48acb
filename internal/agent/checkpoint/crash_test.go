package checkpoint

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

const (
	crashChildEnv = "LOGCOLLECT_CHECKPOINT_CRASH_DIR"
	// crashModeEnv=journal: the child appends to the journal after each step and writes
	// the registry only every 16th, as Run does.
	crashModeEnv = "LOGCOLLECT_CHECKPOINT_CRASH_MODE"
)

// crashChild opens the store in dir, then advances the offset of one "hot" file and
// rewrites many others forever, writing after each step and printing the hot offset once
// its write has returned (so it survives a kill). It runs until killed.
func crashChild(dir string) int {
	journal := os.Getenv(crashModeEnv) == "journal"
	s, err := Open(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hot, _ := s.Get("hot")
	out := bufio.NewWriter(os.Stdout)
	for off := hot.Offset + 1; ; off++ {
		s.Set(State{Key: "hot", Path: "/var/log/hot.log", Offset: off})
		// Many states so that each write takes a while and kills land mid-write.
		for i := range 2000 {
			s.Set(State{Key: "cold-" + strconv.Itoa(i), Path: "/var/log/cold.log", Offset: off * int64(i)})
		}
		write := s.Flush
		if journal && off%16 != 0 {
			write = s.WriteJournal
		}
		if err := write(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintln(out, off)
		out.Flush()
	}
}

// TestStoreSurvivesKill kills a flushing process with SIGKILL at random moments and checks
// that each restart finds a valid registry (never moved aside as corrupt) holding at least
// the last offset the process had reported durable, and that offsets never go back; with
// the journal, kills land in journal appends and registry writes alike.
func TestStoreSurvivesKill(t *testing.T) {
	for _, mode := range []string{"registry", "journal"} {
		t.Run(mode, func(t *testing.T) { storeSurvivesKill(t, mode) })
	}
}

func storeSurvivesKill(t *testing.T, mode string) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(uint64(os.Getpid()), 3))
	durable := int64(0)
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashModeEnv+"="+mode)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		flushes := 1 + r.IntN(8)
		if mode == "journal" {
			flushes = 1 + r.IntN(40) // cheaper writes: more of them, some folds among them
		}
		for range flushes {
			if !sc.Scan() {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("round %d: child stopped: %v", round, sc.Err())
			}
			off, err := strconv.ParseInt(sc.Text(), 10, 64)
			if err != nil || off <= durable {
				t.Fatalf("round %d: child reported %q after durable offset %d", round, sc.Text(), durable)
			}
			durable = off
		}
		// Kill mid-loop: the child is somewhere in Set, encoding, writing or renaming.
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()

		logger, logs := testLogger()
		s, err := Open(dir, logger)
		if err != nil {
			t.Fatalf("round %d: Open: %v", round, err)
		}
		if aside, _ := filepath.Glob(filepath.Join(dir, RegistryFile+".corrupt-*")); len(aside) > 0 {
			t.Fatalf("round %d: registry found corrupt after kill: %v\n%s", round, aside, logs)
		}
		hot, ok := s.Get("hot")
		if !ok || hot.Offset < durable {
			t.Fatalf("round %d: hot offset %d (found %v), want >= %d reported durable", round, hot.Offset, ok, durable)
		}
		if n := len(s.All()); n != 2001 {
			t.Fatalf("round %d: %d states, want 2001", round, n)
		}
		durable = hot.Offset
	}
}
