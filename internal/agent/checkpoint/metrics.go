package checkpoint

import (
	"github.com/prometheus/client_golang/prometheus"
)

// storeCollector reads the store's counters at scrape time (node_exporter style: Descs
// built once, const metrics per scrape).
type storeCollector struct {
	s *Store

	files, writes, writeErrors, lastWrite, registryBytes, corrupt, pruned *prometheus.Desc
	journalWrites, journalErrors, journalTorn, journalBytes               *prometheus.Desc
}

// Register registers the store's metrics on reg:
//
//	logcollect_checkpoint_files                           checkpoints held
//	logcollect_checkpoint_writes_total                    registry writes
//	logcollect_checkpoint_write_errors_total              failed registry writes
//	logcollect_checkpoint_last_write_timestamp_seconds    time of the last successful write
//	logcollect_checkpoint_registry_bytes                  size of the last registry written
//	logcollect_checkpoint_corrupt_registries_total        registries moved aside at Open
//	logcollect_checkpoint_pruned_total                    checkpoints pruned
//	logcollect_checkpoint_journal_writes_total            frames appended to the journal
//	logcollect_checkpoint_journal_write_errors_total      failed journal appends or resets
//	logcollect_checkpoint_journal_torn_total              torn or corrupt journals met at Open
//	logcollect_checkpoint_journal_bytes                   size of the journal
func (s *Store) Register(reg prometheus.Registerer) error {
	c := &storeCollector{
		s:     s,
		files: prometheus.NewDesc("logcollect_checkpoint_files", "Checkpoints held, one per file identity.", nil, nil),
		writes: prometheus.NewDesc("logcollect_checkpoint_writes_total",
			"Registry writes (temp file, fsync, rename, fsync dir).", nil, nil),
		writeErrors: prometheus.NewDesc("logcollect_checkpoint_write_errors_total",
			"Registry writes that failed; the store stays dirty and retries.", nil, nil),
		lastWrite: prometheus.NewDesc("logcollect_checkpoint_last_write_timestamp_seconds",
			"Unix time of the last successful registry write (0: none yet).", nil, nil),
		registryBytes: prometheus.NewDesc("logcollect_checkpoint_registry_bytes",
			"Size of the last registry written.", nil, nil),
		corrupt: prometheus.NewDesc("logcollect_checkpoint_corrupt_registries_total",
			"Corrupt or unreadable registries moved aside at start (their checkpoints were lost).", nil, nil),
		pruned: prometheus.NewDesc("logcollect_checkpoint_pruned_total",
			"Checkpoints pruned because their file was gone longer than the horizon.", nil, nil),
		journalWrites: prometheus.NewDesc("logcollect_checkpoint_journal_writes_total",
			"Frames of changed checkpoints appended to the journal (one write, no fsync).", nil, nil),
		journalErrors: prometheus.NewDesc("logcollect_checkpoint_journal_write_errors_total",
			"Journal appends or resets that failed; the next write is a registry write.", nil, nil),
		journalTorn: prometheus.NewDesc("logcollect_checkpoint_journal_torn_total",
			"Journals found at start with a torn or corrupt frame (that frame and later ones were ignored).", nil, nil),
		journalBytes: prometheus.NewDesc("logcollect_checkpoint_journal_bytes",
			"Size of the checkpoint journal since the last registry write.", nil, nil),
	}
	return reg.Register(c)
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.files, c.writes, c.writeErrors, c.lastWrite, c.registryBytes, c.corrupt, c.pruned,
		c.journalWrites, c.journalErrors, c.journalTorn, c.journalBytes} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	s.mu.Lock()
	files := len(s.states)
	s.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(c.files, prometheus.GaugeValue, float64(files))
	ch <- prometheus.MustNewConstMetric(c.writes, prometheus.CounterValue, float64(s.stats.writes.Load()))
	ch <- prometheus.MustNewConstMetric(c.writeErrors, prometheus.CounterValue, float64(s.stats.writeErrors.Load()))
	last := 0.0
	if ns := s.stats.lastWriteNanos.Load(); ns > 0 {
		last = float64(ns) / 1e9
	}
	ch <- prometheus.MustNewConstMetric(c.lastWrite, prometheus.GaugeValue, last)
	ch <- prometheus.MustNewConstMetric(c.registryBytes, prometheus.GaugeValue, float64(s.stats.registryBytes.Load()))
	ch <- prometheus.MustNewConstMetric(c.corrupt, prometheus.CounterValue, float64(s.stats.corrupt.Load()))
	ch <- prometheus.MustNewConstMetric(c.pruned, prometheus.CounterValue, float64(s.stats.pruned.Load()))
	ch <- prometheus.MustNewConstMetric(c.journalWrites, prometheus.CounterValue, float64(s.stats.journalWrites.Load()))
	ch <- prometheus.MustNewConstMetric(c.journalErrors, prometheus.CounterValue, float64(s.stats.journalErrors.Load()))
	ch <- prometheus.MustNewConstMetric(c.journalTorn, prometheus.CounterValue, float64(s.stats.journalTorn.Load()))
	ch <- prometheus.MustNewConstMetric(c.journalBytes, prometheus.GaugeValue, float64(s.stats.journalBytes.Load()))
}
