package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/logcollect/logcollect/internal/config"
)

func runCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", `Validate a config file (YAML, or the original .ini) and print the effective
configuration: every default filled in, environment overrides applied, secrets masked.
Exit status 0 when valid, 1 with the file and the offending key when not.

Example:
  logcollect check --config examples/agent-file.yaml`, stderr)
	path := fs.String("config", "logcollect.yaml", "config file to check")
	quiet := fs.Bool("quiet", false, "print nothing when the file is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg, err := config.Load(*path)
	if err != nil {
		// errors.Join puts one problem on each line; prefix each with the file so every
		// line stands alone in a CI log.
		lines := strings.Split(err.Error(), "\n")
		for i := 1; i < len(lines); i++ {
			lines[i] = *path + ": " + lines[i]
		}
		return fmt.Errorf("invalid configuration:\n%s", strings.Join(lines, "\n"))
	}
	if *quiet {
		return nil
	}
	out, err := cfg.Masked().YAML()
	if err != nil {
		return fmt.Errorf("render configuration: %w", err)
	}
	fmt.Fprintf(stdout, "# %s is valid; effective configuration:\n%s", *path, out)
	return nil
}
