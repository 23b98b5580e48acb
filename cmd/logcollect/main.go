// Command logcollect is the binary of the logcollect system: agent, transfer, sysagent, ctl,
// standalone, server, check and version are its subcommands. Built with the tag agentonly
// it is logcollect-agent, the binary installed on every host: only the host's commands
// (agent, sysagent, check, version), without the packages of the others (etcd's server,
// SQLite, OpenSearch's client, the web UI), whose code and start-up cost the agent ~10 MiB
// of resident memory (docs/benchmarks.md, issue 20).
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
	cmds := []command{
		{"agent", "tail log files and ship each line to Kafka (or a file/stdout)", runAgent},
		{"sysagent", "collect host metrics into InfluxDB and serve /metrics", runSysagent},
	}
	cmds = append(cmds, clusterCommands()...)
	return append(cmds,
		command{"check", "validate a config file and print the effective configuration", runCheck},
		command{"version", "print the version", runVersion},
	)
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "%s\n\n", about)
	fmt.Fprintf(w, "Usage: %s <command> [flags]\n\nCommands:\n", program)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's flags.\n", program)
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
			fmt.Fprintf(stderr, "%s %s: %v\n", program, c.name, err)
			return coded.ExitCode()
		case errors.As(err, &nb):
			fmt.Fprintln(stderr, err)
			return exitNotBuilt
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "%s %s: %v\n", program, c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "%s %s: %v\n", program, c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n\n", program, args[0])
	usage(stderr)
	return 2
}

// notBuiltError is returned by a subcommand that a later issue will build.
type notBuiltError string

func (e notBuiltError) Error() string {
	return fmt.Sprintf("%s %s: not built yet in this version", program, string(e))
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "Print the logcollect version.", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s\n", program, version)
	return nil
}

// newFlagSet returns a flag set whose --help prints the given description first.
func newFlagSet(name, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(program+" "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s %s [flags]\n\n%s\n\nFlags:\n", program, name, description)
		fs.PrintDefaults()
	}
	return fs
}
