package main

import (
	"context"
	"io"
)

func runCheck(_ context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlagSet("check", "Validate a config file.", stderr)
	fs.String("config", "logcollect.yaml", "config file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return notBuiltError("check")
}
