package etcdconf

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/logcollect/logcollect/internal/atomicfile"
	"github.com/logcollect/logcollect/internal/control/entry"
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
	return atomicfile.Write(path, b, 0o600)
}
