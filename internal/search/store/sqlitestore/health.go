package sqlitestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/logcollect/logcollect/internal/atomicfile"
)

// health is what the store's Check reports: faults that would otherwise hide lines
// waiting or lost behind an "ok".
type health struct {
	mu sync.Mutex
	// writeErr is the last commit's error while commits fail (disk full, I/O error);
	// nil again after a commit succeeds.
	writeErr   error
	writeSince time.Time
	// damaged names the days whose newest block could not be read at open.
	damaged []string
	// rereadHost and reread: per file id of that host, the end offset the agent had
	// acknowledged before the store lost lines; an entry goes when the store has
	// committed lines up to it again.
	rereadHost  string
	reread      map[string]int64
	rereadFiles int
}

// Check reports the store unhealthy while commits fail, while lines it lost are being
// read again, and for the process lifetime when a day was damaged at open
// (httpserver.Check: /healthz is degraded while it returns an error).
func (s *Store) Check() error {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	if h.writeErr != nil {
		errs = append(errs, fmt.Errorf("store writes failing since %s (lines wait, none dropped): %w",
			h.writeSince.UTC().Format(time.RFC3339), h.writeErr))
	}
	if len(h.reread) > 0 {
		errs = append(errs, fmt.Errorf("store lost committed lines of %d files (WAL or database damaged); re-reading them (%d left)",
			h.rereadFiles, len(h.reread)))
	}
	if len(h.damaged) > 0 {
		errs = append(errs, fmt.Errorf("store days damaged at open (restart after moving them aside to clear): %s",
			strings.Join(h.damaged, "; ")))
	}
	return errors.Join(errs...)
}

// setWriteErr records the outcome of a commit attempt.
func (s *Store) setWriteErr(err error) {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil && h.writeErr != nil:
		s.log.Info("store writes succeed again", "failing_since", h.writeSince)
		h.writeErr = nil
		s.m.writeFailing.Set(0)
	case err != nil && h.writeErr == nil:
		h.writeErr, h.writeSince = err, time.Now()
		s.m.writeFailing.Set(1)
	case err != nil:
		h.writeErr = err
	}
}

// Loss is a file whose lines the store lost after acknowledging them: its agent's
// checkpoint (Acked) is past the end of what the store holds (Stored).
type Loss struct {
	FileID, Path  string
	Stored, Acked int64
}

// ReportLost says that the lines of losses were lost by the store and are being read
// again from their Stored end: a warning per file, the metrics, and Check unhealthy until
// the store has committed each file up to its Acked end again.
func (s *Store) ReportLost(host string, losses []Loss) {
	if len(losses) == 0 {
		return
	}
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rereadHost, h.reread, h.rereadFiles = host, make(map[string]int64, len(losses)), len(losses)
	for _, l := range losses {
		s.log.Warn("store lost committed lines (WAL or database damaged); reading them again",
			"path", l.Path, "file_id", l.FileID, "from_byte", l.Stored, "to_byte", l.Acked)
		s.m.lostFiles.Inc()
		s.m.rereadBytes.Add(float64(l.Acked - l.Stored))
		h.reread[l.FileID] = max(h.reread[l.FileID], l.Acked)
	}
}

// noteCommitted ends the re-read of the files blocks reach past their acknowledged end.
func (s *Store) noteCommitted(blocks []*block) {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reread) == 0 {
		return
	}
	for _, b := range blocks {
		if want, ok := h.reread[b.fileID]; ok && b.host == h.rereadHost && b.endMax >= want {
			delete(h.reread, b.fileID)
		}
	}
	if len(h.reread) == 0 {
		s.log.Info("store has the lost lines again", "files", h.rereadFiles)
	}
}

// checkNewest reads the day's newest block: the pages written last are where a WAL lost
// mid-checkpoint or a torn write shows, and reading one block costs one index seek.
// PRAGMA quick_check would read every page of the day (seconds per GB at every start).
func (p *part) checkNewest() error {
	rows, err := p.db.Query(`SELECT ` + headCols + ` FROM blocks b ORDER BY b.seq DESC LIMIT 1`)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		sc := scanner{codec: p.codec}
		if _, _, err := sc.scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// markDamaged records a day that failed checkNewest.
func (s *Store) markDamaged(p *part, err error) {
	s.log.Error("store day damaged: its newest lines cannot be read", "path", p.path, "error", err)
	s.m.damagedDays.Inc()
	s.health.mu.Lock()
	s.health.damaged = append(s.health.damaged, fmt.Sprintf("%s: %v", filepath.Base(p.path), err))
	s.health.mu.Unlock()
}

// FileEnds returns, per file id ("dev:ino") of host, the end offset of the last line the
// store committed of it: the largest over the days, the paths the file had, and the days
// the retention removed (retiredFile), so that lines dropped on purpose are not taken
// for lost ones.
func (s *Store) FileEnds(ctx context.Context, host string) (map[string]int64, error) {
	ends := map[string]int64{}
	parts, release := s.readParts()
	defer release()
	for _, p := range parts {
		if err := p.fileEnds(ctx, host, ends); err != nil {
			return nil, err
		}
	}
	retired, err := readRetired(s.cfg.Dir)
	if err != nil {
		return nil, err
	}
	for k, end := range retired {
		if h, id, _ := strings.Cut(k, "\x00"); h == host {
			ends[id] = max(ends[id], end)
		}
	}
	return ends, nil
}

func (p *part) fileEnds(ctx context.Context, host string, ends map[string]int64) error {
	rows, err := p.db.QueryContext(ctx, `SELECT file_id, max("end") FROM offsets WHERE host = ? GROUP BY file_id`, host)
	if err != nil {
		return fmt.Errorf("read offsets of %s: %w", p.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var end int64
		if err := rows.Scan(&id, &end); err != nil {
			return fmt.Errorf("read offsets of %s: %w", p.path, err)
		}
		ends[id] = max(ends[id], end)
	}
	return rows.Err()
}

// retiredFile keeps the file offsets of the days the retention removed ("host\x00file_id"
// → end), so FileEnds still knows how far a file was stored.
const retiredFile = "retired-offsets.json"

func readRetired(dir string) (map[string]int64, error) {
	data, err := os.ReadFile(filepath.Join(dir, retiredFile))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]int64{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", retiredFile, err)
	}
	m := map[string]int64{}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, retiredFile), err)
	}
	return m, nil
}

// retireOffsets adds the day's offsets to retiredFile; called before the day's file is
// removed, so a crash in between leaves them in both places, never in neither.
func (s *Store) retireOffsets(p *part) error {
	m, err := readRetired(s.cfg.Dir)
	if err != nil {
		return err
	}
	rows, err := p.db.Query(`SELECT host, file_id, max("end") FROM offsets GROUP BY host, file_id`)
	if err != nil {
		return fmt.Errorf("read offsets of %s: %w", p.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var host, id string
		var end int64
		if err := rows.Scan(&host, &id, &end); err != nil {
			return fmt.Errorf("read offsets of %s: %w", p.path, err)
		}
		k := host + "\x00" + id
		m[k] = max(m[k], end)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read offsets of %s: %w", p.path, err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(s.cfg.Dir, retiredFile), data, 0o640)
}
