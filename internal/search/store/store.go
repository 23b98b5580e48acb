// Package store is the interface of the standalone's embedded log store and what passes
// through it: rows (stored log lines), searches, histograms, context, facets, tailing,
// retention and host-metric points. The engine lives in a subpackage (sqlitestore); an
// OpenSearch implementation of the same interface could serve the same HTTP API for a
// cluster. Sink adapts a Store to the agent's pipeline.Sink.
package store

import (
	"context"
	"time"

	"github.com/logcollect/logcollect/internal/hostmetrics"

	"github.com/logcollect/logcollect/internal/search/query"
)

// Row is one stored log line.
type Row struct {
	// Seq is the store's position of the row, assigned by Append: increasing in the order
	// rows were stored (the live tail follows it), unique. It is not ordered like Time:
	// a backfilled file's lines get new Seqs and old times; searches order by (Time, Seq).
	Seq int64
	// Time is the event time (the line's own timestamp, else when it was read): what
	// searches filter, order and chart by and retention ages by. ReadTime is when the
	// agent read the line (zero given to Append: the same as Time).
	Time     time.Time
	ReadTime time.Time
	Host     string
	Path     string
	Topic    string
	FileID   string
	// Offset is the line's first byte in its file, End the byte after it (newline
	// included). (Host, FileID, Path, End) is what makes appends exactly-once.
	Offset int64
	End    int64
	// Fields, given to Append, are the collect entry's fields; read back, they are all the
	// line's fields: LineFields of the message and the entry's fields.
	Fields  map[string]string
	Message string
}

// SearchRequest is one page of a search, newest first.
type SearchRequest struct {
	Query    *query.Node
	From, To time.Time // [From, To)
	Limit    int
	// Before, when not zero, returns only the rows after it in the search's order (older,
	// or as old and stored earlier): the next page after a row r is Before: PosOf(r).
	Before Pos
}

// Pos is a row's place in the search order: newest Time first, then highest Seq first.
type Pos struct {
	Time int64 // ns since 1970
	Seq  int64
}

// PosOf is the position of r.
func PosOf(r Row) Pos { return Pos{Time: r.Time.UnixNano(), Seq: r.Seq} }

// IsZero says p is no position (the first page).
func (p Pos) IsZero() bool { return p.Seq == 0 }

// Less says p comes after q in the search order (p is older, or as old and stored
// earlier).
func (p Pos) Less(q Pos) bool { return p.Time < q.Time || (p.Time == q.Time && p.Seq < q.Seq) }

// SearchResult is one page; More says an older page exists.
type SearchResult struct {
	Rows []Row
	More bool
}

// Bucket is one bar of a histogram: the rows in [Time, Time+step).
type Bucket struct {
	Time  time.Time
	Count int64
}

// FieldFacet is a field's top values.
type FieldFacet struct {
	Name   string
	Values []ValueCount
	Lines  int64 // lines having the field
}

// ValueCount is one value of a facet.
type ValueCount struct {
	Value string
	Count int64
}

// MetricsRequest asks for one field of one measurement, averaged per step.
type MetricsRequest struct {
	Measurement, Field string
	Host               string // "": all hosts
	From, To           time.Time
	Step               time.Duration
}

// Series is one tag set's points, [unix ms, value] per step with data.
type Series struct {
	Tags   map[string]string
	Points [][2]float64
}

// HostSeen is a host with logs or metrics and its newest time.
type HostSeen struct {
	Host     string
	LastSeen time.Time
}

// Store is the embedded log store.
type Store interface {
	// Append stores rows durably, in order, and then calls done. It returns an error only
	// when ctx ends first or the store is closed; rows already handed over are still
	// stored and done is still called. Rows that the store already holds (re-read after a
	// crash: same host, file, path and an End not beyond what is stored) are skipped, so
	// each line is stored once.
	Append(ctx context.Context, rows []Row, done func()) error
	// Search returns one page of matching rows, newest event time first (Seq breaks ties).
	Search(ctx context.Context, r SearchRequest) (SearchResult, error)
	// Histogram counts matching rows per step over [from, to); the buckets start at from
	// rounded down to step, and only rows in [from, to) are counted. estimated says the
	// counts were scaled up from a sample of the rows (too many to check each).
	Histogram(ctx context.Context, q *query.Node, from, to time.Time, step time.Duration) (b []Bucket, estimated bool, err error)
	// Since returns up to limit matching rows with Seq > after, oldest first (tailing).
	Since(ctx context.Context, q *query.Node, after int64, limit int) ([]Row, error)
	// LastSeq is the Seq of the newest stored row (0 when empty).
	LastSeq() int64
	// Changed returns a channel closed at the next commit of new rows.
	Changed() <-chan struct{}
	// Context returns up to before rows of the file before offset and up to after rows from
	// offset on, in file order, and the index of the first row at or after offset.
	Context(ctx context.Context, host, fileID string, offset int64, before, after int) ([]Row, int, error)
	// Fields returns the top values of host, path, topic and every other field over the
	// newest sample matching rows of [from, to), and how many rows were looked at.
	Fields(ctx context.Context, q *query.Node, from, to time.Time, limit, sample int) ([]FieldFacet, int64, error)
	// WritePoints stores host-metric points: the store is a hostmetrics.Writer, so the
	// collector's points are stored as they are.
	WritePoints(ctx context.Context, points []hostmetrics.Point) error
	// Metrics returns a metric's series, averaged per step.
	Metrics(ctx context.Context, r MetricsRequest) ([]Series, error)
	// Hosts lists the hosts with logs or metrics.
	Hosts(ctx context.Context) ([]HostSeen, error)
	// Retain drops what is older than the retention and, oldest first, what exceeds the
	// size limit.
	Retain(ctx context.Context, now time.Time) error
}
