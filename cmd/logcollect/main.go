// Command logcollect is the one binary of the logcollect system: agent, transfer, sysagent,
// ctl, standalone, server, check and version are its subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitNotBuilt is the exit code of a subcommand that a later issue will build.
const exitNotBuilt = 2

// errUsage marks an error that is the user's invocation, answered with exit code 2.
var errUsage = errors.New("usage")

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"agent", "tail log files and ship each line to Kafka (or a file/stdout)", runAgent},
		{"transfer", "consume Kafka topics and index the lines into OpenSearch", runTransfer},
		{"sysagent", "collect host metrics into InfluxDB and serve /metrics", runSysagent},
		{"ctl", "manage collect entries in etcd and list live agents", runCtl},
		{"standalone", "the whole system in one process, no external service", runStandalone},
		{"server", "the standalone's API and web UI over a cluster (OpenSearch, InfluxDB/Prometheus, etcd)", runServer},
		{"check", "validate a config file and print the effective configuration", runCheck},
		{"version", "print the version", runVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "logcollect ships log lines from files to Kafka and on to OpenSearch.\n\n")
	fmt.Fprintf(w, "Usage: logcollect <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'logcollect <command> --help' for a command's flags.\n")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err := c.run(ctx, args[1:], stdout, stderr)
		var nb notBuiltError
		var coded interface{ ExitCode() int }
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &coded):
			// ctl distinguishes a lost race (conflict) from other failures.
			fmt.Fprintf(stderr, "logcollect %s: %v\n", c.name, err)
			return coded.ExitCode()
		case errors.As(err, &nb):
			fmt.Fprintln(stderr, err)
			return exitNotBuilt
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "logcollect %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "logcollect %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "logcollect: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// notBuiltError is returned by a subcommand that a later issue will build.
type notBuiltError string

func (e notBuiltError) Error() string {
	return fmt.Sprintf("logcollect %s: not built yet in this version", string(e))
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "Print the logcollect version.", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "logcollect %s\n", version)
	return nil
}

// newFlagSet returns a flag set whose --help prints the given description first.
func newFlagSet(name, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("logcollect "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: logcollect %s [flags]\n\n%s\n\nFlags:\n", name, description)
		fs.PrintDefaults()
	}
	return fs
}
