package sqlitestore

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// TestPartConnectionsSized: every connection of a day, not only the first, has the page
// cache, mmap and WAL limit the store sizes on purpose (SQLite's settings are per
// connection; the pool opens more under concurrent searches).
func TestPartConnectionsSized(t *testing.T) {
	p, err := openPart(filepath.Join(t.TempDir(), "logs-20261202.db"), 0, testCodec(t), new(atomic.Int64))
	if err != nil {
		t.Fatal(err)
	}
	defer p.db.Close()
	ctx := context.Background()
	for i := range maxConns { // held at once: each is a separate connection
		c, err := p.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for pragma, want := range map[string]int64{"cache_size": -cacheKiB, "mmap_size": 0, "journal_size_limit": journalLimit} {
			var got int64
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("connection %d: %s = %d, want %d", i, pragma, got, want)
			}
		}
	}
	if got := p.db.Stats().MaxOpenConnections; got != maxConns {
		t.Errorf("max open connections %d, want %d", got, maxConns)
	}
}
