package main

import (
	"context"
	"io"
)

func runAgent(_ context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlagSet("agent", "Not built yet in this version.", stderr)
	fs.String("config", "logcollect.yaml", "config file (YAML, or the original .ini)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return notBuiltError("agent")
}
