//go:build !agentonly

package main

import (
	"context"
	"io"
	"os"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/ctl"
)

func runCtl(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := ctl.Run(ctx, ctl.Env{
		Stdin:         os.Stdin,
		Stdout:        stdout,
		Stderr:        stderr,
		LoadConfig:    config.Load,
		DefaultConfig: "logcollect.yaml",
	}, args)
	if err == nil {
		return nil
	}
	return ctlError{err: err, code: ctl.ExitCode(err)}
}

// ctlError carries ctl's exit code (3 for a conflict) to run(); it counts as errUsage
// for usage errors so they exit 2 like every other subcommand's.
type ctlError struct {
	err  error
	code int
}

func (e ctlError) Error() string { return e.err.Error() }
func (e ctlError) Unwrap() error { return e.err }

// ExitCode is the process exit code for this error.
func (e ctlError) ExitCode() int { return e.code }

func (e ctlError) Is(target error) bool { return target == errUsage && e.code == ctl.ExitUsage }
