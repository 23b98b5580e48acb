package etcdconf

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/logcollect/logcollect/internal/entry"
)

// CacheFileName is the name of the last-good entries file inside agent.data_dir.
const CacheFileName = "etcd_entries.json"

// CachePath returns where the last good entries are kept for a data directory.
func CachePath(dataDir string) string { return filepath.Join(dataDir, CacheFileName) }

// cacheFile is the on-disk form: the last good value of each key, so that a cached key
// keeps its place in the merge order even when collect_keys are reordered later.
type cacheFile struct {
	Revision int64                    `json:"revision"`
	Written  time.Time                `json:"written"`
	Keys     map[string][]entry.Entry `json:"keys"`
}

func readCache(path string) (cacheFile, error) {
	var c cacheFile
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read entries cache %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("decode entries cache %s: %w", path, err)
	}
	return c, nil
}

// writeCache replaces the cache atomically: a crash leaves either the old or the new file,
// never a torn one (temp file, fsync, rename, fsync of the directory).
func writeCache(path string, c cacheFile) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode entries cache: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temp cache in %s: %w", dir, err)
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }() // no-op after a successful rename
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp, path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
