package standalone

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/logcollect/logcollect/internal/agent/checkpoint"
	"github.com/logcollect/logcollect/internal/search/store/sqlitestore"
)

// recoverLost runs before the agent: a checkpoint moves only after the store committed
// the lines, so a checkpoint past the store's own committed end of that file proves the
// store lost acknowledged lines (its -wal deleted, its database restored or damaged).
// The checkpoint is moved back to the store's end, the agent reads those lines again
// and the store, which skips by the same offsets, holds each line once. The store logs,
// counts and reports it on /healthz (ReportLost).
func recoverLost(ctx context.Context, agentDir, host string, st *sqlitestore.Store, log *slog.Logger) error {
	ends, err := st.FileEnds(ctx, host)
	if err != nil {
		return fmt.Errorf("compare checkpoints with the store: %w", err)
	}
	cp, err := checkpoint.Open(agentDir, log)
	if err != nil {
		return fmt.Errorf("compare checkpoints with the store: %w", err)
	}
	var losses []sqlitestore.Loss
	for _, s := range cp.All() {
		// The checkpoint key is "dev:ino:fingerprint", the store's file id "dev:ino".
		id := s.Key[:max(strings.LastIndexByte(s.Key, ':'), 0)]
		stored := ends[id]
		if before, ok := cp.MoveBack(s.Key, stored); ok {
			losses = append(losses, sqlitestore.Loss{FileID: id, Path: before.Path, Stored: stored, Acked: before.Offset})
		}
	}
	if len(losses) == 0 {
		return nil
	}
	if err := cp.Flush(); err != nil {
		return fmt.Errorf("move checkpoints back to the store's offsets: %w", err)
	}
	st.ReportLost(host, losses)
	return nil
}
