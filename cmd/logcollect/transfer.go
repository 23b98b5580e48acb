package main

import (
	"context"
	"io"
)

func runTransfer(_ context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlagSet("transfer", "Not built yet in this version.", stderr)
	fs.String("config", "logcollect.yaml", "config file (YAML, or the original .ini)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return notBuiltError("transfer")
}
