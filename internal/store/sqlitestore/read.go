package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/logcollect/logcollect/internal/search"
	"github.com/logcollect/logcollect/internal/store"
)

// idRange returns the ids of the day with ts in [from, to).
func (p *part) idRange(ctx context.Context, from, to int64) (int64, int64, error) {
	lo, err := p.idAt(ctx, from)
	if err != nil {
		return 0, 0, err
	}
	hi, err := p.idAt(ctx, to)
	if err != nil {
		return 0, 0, err
	}
	return lo, hi, nil
}

func scanRows(rows *sql.Rows) ([]store.Row, error) {
	defer rows.Close()
	var out []store.Row
	for rows.Next() {
		var r store.Row
		var ts int64
		var fields sql.NullString
		if err := rows.Scan(&r.Seq, &ts, &r.Host, &r.Path, &r.Topic, &r.FileID, &r.Offset, &fields, &r.Message); err != nil {
			return nil, fmt.Errorf("read rows: %w", err)
		}
		r.Time = time.Unix(0, ts).UTC()
		if fields.Valid {
			if err := json.Unmarshal([]byte(fields.String), &r.Fields); err != nil {
				return nil, fmt.Errorf("decode fields of row %d: %w", r.Seq, err)
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Search returns one page, newest first.
func (s *Store) Search(ctx context.Context, r store.SearchRequest) (store.SearchResult, error) {
	from, to := r.From.UnixNano(), r.To.UnixNano()
	parts := s.snapshot()
	var out []store.Row
	want := r.Limit + 1 // one more says whether an older page exists
	for i := len(parts) - 1; i >= 0 && len(out) < want; i-- {
		p := parts[i]
		if !p.covers(from, to) {
			continue
		}
		lo, hi, err := p.idRange(ctx, from, to)
		if err != nil {
			return store.SearchResult{}, err
		}
		if r.Before > 0 {
			hi = min(hi, r.Before)
		}
		if lo >= hi {
			continue
		}
		q, args := compile(r.Query, lo, hi).selectSQL(rowCols, lo, hi, true, want-len(out))
		rows, err := p.db.QueryContext(ctx, q, args...)
		if err != nil {
			return store.SearchResult{}, fmt.Errorf("search %s: %w", p.path, err)
		}
		got, err := scanRows(rows)
		if err != nil {
			return store.SearchResult{}, err
		}
		out = append(out, got...)
	}
	res := store.SearchResult{Rows: out}
	if len(out) > r.Limit {
		res.Rows, res.More = out[:r.Limit], true
	}
	return res, nil
}

// Histogram counts matching rows per step.
func (s *Store) Histogram(ctx context.Context, q *search.Node, from, to time.Time, step time.Duration) ([]store.Bucket, error) {
	if step <= 0 {
		return nil, fmt.Errorf("histogram step %s: must be positive", step)
	}
	f, t, st := from.UnixNano(), to.UnixNano(), int64(step)
	first := floorDiv(f, st) * st
	n := int((t - first + st - 1) / st)
	buckets := make([]store.Bucket, n)
	for i := range buckets {
		buckets[i].Time = time.Unix(0, first+int64(i)*st).UTC()
	}
	for _, p := range s.snapshot() {
		if !p.covers(f, t) {
			continue
		}
		// Bucket edges as ids of this day: one index seek each.
		edges := make([]int64, n+1)
		for i := 0; i <= n; i++ {
			at := min(max(first+int64(i)*st, f), t)
			id, err := p.idAt(ctx, at)
			if err != nil {
				return nil, err
			}
			edges[i] = id
		}
		for i := 0; i < n; i++ {
			lo, hi := edges[i], edges[i+1]
			if lo >= hi {
				continue
			}
			if q.Kind == search.All {
				// Ids are dense: assigned one by one, and retention deletes only the
				// oldest, so the count of a range is its width.
				buckets[i].Count += hi - lo
				continue
			}
			sqlq, args := compile(q, lo, hi).countSQL(lo, hi)
			var c int64
			if err := p.db.QueryRowContext(ctx, sqlq, args...).Scan(&c); err != nil {
				return nil, fmt.Errorf("count %s: %w", p.path, err)
			}
			buckets[i].Count += c
		}
	}
	return buckets, nil
}

// Since returns matching rows after a position, oldest first.
func (s *Store) Since(ctx context.Context, q *search.Node, after int64, limit int) ([]store.Row, error) {
	var out []store.Row
	for _, p := range s.snapshot() {
		if p.maxID.Load() <= after || len(out) >= limit {
			continue
		}
		lo, hi := after+1, p.maxID.Load()+1
		sqlq, args := compile(q, lo, hi).selectSQL(rowCols, lo, hi, false, limit-len(out))
		rows, err := p.db.QueryContext(ctx, sqlq, args...)
		if err != nil {
			return nil, fmt.Errorf("tail %s: %w", p.path, err)
		}
		got, err := scanRows(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// Context returns the rows of one file around an offset, in file order.
func (s *Store) Context(ctx context.Context, host, fileID string, offset int64, before, after int) ([]store.Row, int, error) {
	hostCond, hostArgs := "", []any{}
	if host != "" {
		hostCond, hostArgs = " AND l.host = ?", []any{host}
	}
	parts := s.snapshot()
	var older []store.Row // newest first
	for i := len(parts) - 1; i >= 0 && len(older) < before; i-- {
		args := append([]any{fileID, offset}, hostArgs...)
		rows, err := parts[i].db.QueryContext(ctx, "SELECT "+rowCols+" FROM logs l WHERE l.file_id = ? AND l.off < ?"+hostCond+
			fmt.Sprintf(" ORDER BY l.off DESC LIMIT %d", before-len(older)), args...)
		if err != nil {
			return nil, 0, fmt.Errorf("context %s: %w", parts[i].path, err)
		}
		got, err := scanRows(rows)
		if err != nil {
			return nil, 0, err
		}
		older = append(older, got...)
	}
	var newer []store.Row
	for i := 0; i < len(parts) && len(newer) < after+1; i++ {
		args := append([]any{fileID, offset}, hostArgs...)
		rows, err := parts[i].db.QueryContext(ctx, "SELECT "+rowCols+" FROM logs l WHERE l.file_id = ? AND l.off >= ?"+hostCond+
			fmt.Sprintf(" ORDER BY l.off LIMIT %d", after+1-len(newer)), args...)
		if err != nil {
			return nil, 0, fmt.Errorf("context %s: %w", parts[i].path, err)
		}
		got, err := scanRows(rows)
		if err != nil {
			return nil, 0, err
		}
		newer = append(newer, got...)
	}
	slices.Reverse(older)
	// A file's offsets restart after a truncation; within one file id, older days first
	// and offsets in order is file order.
	slices.SortStableFunc(newer, func(a, b store.Row) int { return cmpInt(a.Offset, b.Offset) })
	if len(newer) > after+1 {
		newer = newer[:after+1]
	}
	if len(newer) > 0 && newer[0].Offset != offset && len(newer) > after {
		newer = newer[:after]
	}
	return append(older, newer...), len(older), nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Fields counts the values of each field over the newest sample matching rows.
func (s *Store) Fields(ctx context.Context, q *search.Node, from, to time.Time, limit, sample int) ([]store.FieldFacet, int64, error) {
	res, err := s.Search(ctx, store.SearchRequest{Query: q, From: from, To: to, Limit: sample})
	if err != nil {
		return nil, 0, err
	}
	counts := map[string]map[string]int64{"host": {}, "path": {}, "topic": {}}
	lines := map[string]int64{}
	add := func(name, value string) {
		m := counts[name]
		if m == nil {
			m = map[string]int64{}
			counts[name] = m
		}
		m[value]++
		lines[name]++
	}
	for _, r := range res.Rows {
		add("host", r.Host)
		add("path", r.Path)
		add("topic", r.Topic)
		for k, v := range r.Fields {
			add(k, v)
		}
	}
	var names []string
	for n := range counts {
		if n != "host" && n != "path" && n != "topic" {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := cmpInt(lines[b], lines[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	names = append([]string{"host", "path", "topic"}, names...)
	out := make([]store.FieldFacet, 0, len(names))
	for _, n := range names {
		f := store.FieldFacet{Name: n, Lines: lines[n], Values: []store.ValueCount{}}
		for v, c := range counts[n] {
			f.Values = append(f.Values, store.ValueCount{Value: v, Count: c})
		}
		slices.SortFunc(f.Values, func(a, b store.ValueCount) int {
			if c := cmpInt(b.Count, a.Count); c != 0 {
				return c
			}
			return strings.Compare(a.Value, b.Value)
		})
		if len(f.Values) > limit {
			f.Values = f.Values[:limit]
		}
		out = append(out, f)
	}
	return out, int64(len(res.Rows)), nil
}

// Hosts lists the hosts with logs or metrics.
func (s *Store) Hosts(ctx context.Context) ([]store.HostSeen, error) {
	last := map[string]int64{}
	for _, p := range s.snapshot() {
		rows, err := p.db.QueryContext(ctx, `SELECT host, last_ts FROM hosts`)
		if err != nil {
			return nil, fmt.Errorf("hosts %s: %w", p.path, err)
		}
		for rows.Next() {
			var h string
			var ts int64
			if err := rows.Scan(&h, &ts); err != nil {
				rows.Close()
				return nil, fmt.Errorf("hosts %s: %w", p.path, err)
			}
			last[h] = max(last[h], ts)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	out := make([]store.HostSeen, 0, len(last))
	for h, ts := range last {
		out = append(out, store.HostSeen{Host: h, LastSeen: time.Unix(0, ts).UTC()})
	}
	slices.SortFunc(out, func(a, b store.HostSeen) int { return strings.Compare(a.Host, b.Host) })
	return out, nil
}

// WritePoints stores host-metric points in the day of each point.
func (s *Store) WritePoints(ctx context.Context, points []store.Point) error {
	byDay := map[int64][]store.Point{}
	for _, pt := range points {
		d := dayOf(pt.Time.UnixNano())
		byDay[d] = append(byDay[d], pt)
	}
	for day, pts := range byDay {
		p, err := s.partFor(day)
		if err != nil {
			return err
		}
		if err := p.insertPoints(ctx, pts); err != nil {
			return err
		}
	}
	return nil
}

func (p *part) insertPoints(ctx context.Context, pts []store.Point) (err error) {
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin %s: %w", p.path, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO points(ts, measurement, field, host, tags, value) VALUES(?,?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	defer ins.Close()
	hosts := map[string]int64{}
	for _, pt := range pts {
		tags, err := json.Marshal(pt.Tags) // map keys are sorted: one spelling per tag set
		if err != nil {
			return fmt.Errorf("encode tags: %w", err)
		}
		ts := pt.Time.UnixNano()
		host := pt.Tags["host"]
		for f, v := range pt.Fields {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			if _, err := ins.ExecContext(ctx, ts, pt.Measurement, f, host, string(tags), v); err != nil {
				return fmt.Errorf("insert point into %s: %w", p.path, err)
			}
		}
		if host != "" {
			hosts[host] = max(hosts[host], ts)
		}
	}
	for h, ts := range hosts {
		if err := upsertHost(tx, h, ts); err != nil {
			return fmt.Errorf("save hosts in %s: %w", p.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit %s: %w", p.path, err)
	}
	return nil
}

// Metrics returns one field's series averaged per step.
func (s *Store) Metrics(ctx context.Context, r store.MetricsRequest) ([]store.Series, error) {
	from, to, step := r.From.UnixNano(), r.To.UnixNano(), int64(r.Step)
	if step <= 0 {
		return nil, fmt.Errorf("metrics step %s: must be positive", r.Step)
	}
	type acc struct{ sum, n float64 }
	series := map[string]map[int64]*acc{}
	for _, p := range s.snapshot() {
		if !p.covers(from, to) {
			continue
		}
		q := `SELECT tags, ts, value FROM points WHERE measurement = ? AND field = ? AND ts >= ? AND ts < ?`
		args := []any{r.Measurement, r.Field, from, to}
		if r.Host != "" {
			q += " AND host = ?"
			args = append(args, r.Host)
		}
		rows, err := p.db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("metrics %s: %w", p.path, err)
		}
		for rows.Next() {
			var tags string
			var ts int64
			var v float64
			if err := rows.Scan(&tags, &ts, &v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("metrics %s: %w", p.path, err)
			}
			m := series[tags]
			if m == nil {
				m = map[int64]*acc{}
				series[tags] = m
			}
			t := floorDiv(ts, step) * step
			a := m[t]
			if a == nil {
				a = &acc{}
				m[t] = a
			}
			a.sum += v
			a.n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]store.Series, 0, len(keys))
	for _, k := range keys {
		var tags map[string]string
		if err := json.Unmarshal([]byte(k), &tags); err != nil {
			return nil, fmt.Errorf("decode tags %s: %w", k, err)
		}
		ser := store.Series{Tags: tags, Points: [][2]float64{}}
		ts := make([]int64, 0, len(series[k]))
		for t := range series[k] {
			ts = append(ts, t)
		}
		slices.Sort(ts)
		for _, t := range ts {
			a := series[k][t]
			ser.Points = append(ser.Points, [2]float64{float64(t / int64(time.Millisecond)), a.sum / a.n})
		}
		out = append(out, ser)
	}
	return out, nil
}
