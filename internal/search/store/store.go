// Package store is the interface of the log stores and what passes through them: rows
// (stored log lines), searches, histograms, context, facets, tailing, retention and
// host-metric points. The HTTP API reads through Reader (logs) and MetricsReader (host
// metrics); the standalone's embedded engine (sqlitestore) is a whole Store, the
// cluster's OpenSearch side (opensearchstore) a Reader only: the transfer writes there.
// Sink adapts a Store to the agent's pipeline.Sink.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/logcollect/logcollect/internal/hostmetrics"

	"github.com/logcollect/logcollect/internal/search/query"
)

// Row is one stored log line.
type Row struct {
	// Seq is the embedded store's position of the row, assigned by Append: increasing in
	// the order rows were stored (the live tail follows it), unique. It is not ordered
	// like Time: a backfilled file's lines get new Seqs and old times; searches order by
	// (Time, Seq).
	Seq int64
	// Cursor is the row's place in its store's order, set by a Reader: a later
	// SearchRequest.Before or Since takes it to go on from this row.
	Cursor Cursor
	// Time is the event time (the line's own timestamp, else when it was read): what
	// searches filter, order and chart by and retention ages by. ReadTime is when the
	// agent read the line (zero given to Append: the same as Time; zero from a Reader:
	// not known).
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
	// Format is the collect entry's format as logformat.Spec gives it (a format name, ""
	// is plain, or "regex:" and the entry's pattern): how the line's fields are parsed
	// when it is read.
	Format string
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
	// Before, when set, returns only the rows after that cursor's row in the search's
	// order (the next older page).
	Before Cursor
}

// Cursor is a row's place in a Reader's order, opaque outside the store that made it
// (the embedded store's event time and Seq; OpenSearch's sort values). The API hands it
// to clients as page cursors and SSE ids, and gives it back to the same kind of store.
type Cursor string

// ErrBadCursor is returned for a cursor the store did not make (the API answers 400).
var ErrBadCursor = errors.New("not a token this server gave out")

// ErrUnsupported is wrapped by the error of a query form that a store cannot match with
// the meaning of docs/search.md (the API answers 400 naming q).
var ErrUnsupported = errors.New("not supported by this store")

// ErrUnavailable is wrapped by the error of a store that cannot answer for now (OpenSearch
// unreachable, overloaded, or a just-created index whose shards are not yet allocated):
// the API answers 503 with Retry-After, so that a client tries again rather than taking
// it for a bug.
var ErrUnavailable = errors.New("the log store is unavailable for now")

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

// Reader is the read side of a log store: what the HTTP API needs for search, context,
// facets and live tail.
type Reader interface {
	// Search returns one page of matching rows, newest event time first.
	Search(ctx context.Context, r SearchRequest) (SearchResult, error)
	// Histogram counts matching rows per step over [from, to); the buckets start at from
	// rounded down to step, and only rows in [from, to) are counted. estimated says the
	// counts were scaled up from a sample of the rows (too many to check each).
	Histogram(ctx context.Context, q *query.Node, from, to time.Time, step time.Duration) (b []Bucket, estimated bool, err error)
	// Since returns up to limit matching rows after the cursor's row, oldest first
	// (tailing): in the order rows were stored where the store keeps one (the embedded
	// store's Seq, so a late line still shows live), else in its search order.
	Since(ctx context.Context, q *query.Node, after Cursor, limit int) ([]Row, error)
	// Newest is the cursor after which a tail starts: new rows come after it.
	Newest(ctx context.Context) (Cursor, error)
	// Changed returns a channel closed when Since may have more to return: at the next
	// commit of new rows, or (a store that cannot tell) after its polling interval.
	Changed() <-chan struct{}
	// Context returns up to before rows of the file before offset, the row at offset (or
	// the first after it) and up to after rows after that, in file order, and the index of
	// the row at or after offset.
	Context(ctx context.Context, host, fileID string, offset int64, before, after int) ([]Row, int, error)
	// Fields returns the top values of host, path, topic and every other field over the
	// newest sample matching rows of [from, to), and how many rows were looked at.
	Fields(ctx context.Context, q *query.Node, from, to time.Time, limit, sample int) ([]FieldFacet, int64, error)
	// Hosts lists the hosts with logs.
	Hosts(ctx context.Context) ([]HostSeen, error)
}

// FirstPager is a Reader that answers a first page and its histogram in one request:
// OpenSearch evaluates the query once for the hits and the date_histogram, where two
// requests cost two evaluations and two round trips. The API uses it when present for a
// page without a cursor; the buckets are as Histogram's.
type FirstPager interface {
	FirstPage(ctx context.Context, r SearchRequest, step time.Duration) (SearchResult, []Bucket, bool, error)
}

// MetricsReader is the read side of host metrics.
type MetricsReader interface {
	// Metrics returns a metric's series, averaged per step.
	Metrics(ctx context.Context, r MetricsRequest) ([]Series, error)
	// Hosts lists the hosts with metrics.
	Hosts(ctx context.Context) ([]HostSeen, error)
}

// Store is the embedded log store: a Reader and MetricsReader that also stores rows and
// points (its Hosts has the hosts with logs or metrics, satisfying both).
type Store interface {
	Reader
	MetricsReader
	// Append stores rows durably, in order, and then calls done. It returns an error only
	// when ctx ends first or the store is closed; rows already handed over are still
	// stored and done is still called. Rows that the store already holds (re-read after a
	// crash: same host, file, path and an End not beyond what is stored) are skipped, so
	// each line is stored once. Append keeps no reference to rows' message bytes once
	// it returned: the caller may reuse them (Sink hands the agent's buffers back).
	Append(ctx context.Context, rows []Row, done func()) error
	// WritePoints stores host-metric points: the store is a hostmetrics.Writer, so the
	// collector's points are stored as they are.
	WritePoints(ctx context.Context, points []hostmetrics.Point) error
	// Hosts lists the hosts with logs or metrics.
	Hosts(ctx context.Context) ([]HostSeen, error)
	// Retain drops what is older than the retention and, oldest first, what exceeds the
	// size limit.
	Retain(ctx context.Context, now time.Time) error
}
