package api

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/search/store"
)

// paramError is a bad request parameter, answered with a 400 naming it.
type paramError struct {
	param string
	msg   string
}

func (e *paramError) Error() string { return e.param + ": " + e.msg }

func badParam(param, format string, args ...any) error {
	return &paramError{param: param, msg: fmt.Sprintf(format, args...)}
}

// parseTime reads RFC 3339, Unix milliseconds, now, or now-<n><s|m|h|d>.
func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "now" {
		return now, nil
	}
	if rest, ok := strings.CutPrefix(s, "now-"); ok {
		d, err := parseDuration(rest)
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(-d), nil
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("not a time: %q (use RFC 3339, Unix milliseconds, now or now-15m)", s)
}

// parseDuration reads 30s, 15m, 2h, 7d (and Go durations).
func parseDuration(s string) (time.Duration, error) {
	d, err := entry.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("not a duration: %q (use 30s, 15m, 2h or 7d)", s)
	}
	return d, nil
}

// timeRange reads from and to (defaults: to=now, from=to-15m).
func timeRange(r *http.Request, now time.Time) (time.Time, time.Time, error) {
	q := r.URL.Query()
	to := now
	if s := q.Get("to"); s != "" {
		t, err := parseTime(s, now)
		if err != nil {
			return time.Time{}, time.Time{}, badParam("to", "%v", err)
		}
		to = t
	}
	from := to.Add(-15 * time.Minute)
	if s := q.Get("from"); s != "" {
		t, err := parseTime(s, now)
		if err != nil {
			return time.Time{}, time.Time{}, badParam("from", "%v", err)
		}
		from = t
	}
	if err := inBounds("from", from, now); err != nil {
		return time.Time{}, time.Time{}, err
	}
	if err := inBounds("to", to, now); err != nil {
		return time.Time{}, time.Time{}, err
	}
	if !from.Before(to) {
		return time.Time{}, time.Time{}, badParam("from", "must be before to (from %s, to %s)",
			from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	}
	return from, to, nil
}

// maxAhead is how far after now a time range may reach (clocks differ; nothing is stored
// a year ahead).
const maxAhead = 366 * 24 * time.Hour

// inBounds refuses a time before 1970 or more than maxAhead after now: the store holds
// nothing there, and beyond a few centuries a time is not nanoseconds an int64 holds.
func inBounds(param string, t, now time.Time) error {
	if t.Before(time.Unix(0, 0)) {
		return badParam(param, "must not be before 1970-01-01T00:00:00Z, got %s", t.Format(time.RFC3339Nano))
	}
	if latest := now.Add(maxAhead); t.After(latest) {
		return badParam(param, "must not be more than a year from now (%s), got %s", latest.UTC().Format(time.RFC3339),
			t.Format(time.RFC3339Nano))
	}
	return nil
}

// intParam reads an integer in [lo, hi], def when absent.
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, badParam(name, "must be an integer from %d to %d, got %q", lo, hi, s)
	}
	return v, nil
}

// Positions (cursors, hit ids, SSE ids) are the store's cursors in base64, opaque to
// clients: the store checks them (store.ErrBadCursor).
func encodePos(c store.Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(c))
}

func decodePos(s string) (store.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return "", store.ErrBadCursor
	}
	return store.Cursor(b), nil
}

// steps are the round histogram and metric steps.
var steps = []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute,
	5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// roundStep is the smallest round step giving at most bars buckets over d.
func roundStep(d time.Duration, bars int) time.Duration {
	for _, s := range steps {
		if int64(d/s) <= int64(bars) {
			return s
		}
	}
	// Longer than 60 days: whole days.
	return ((d/time.Duration(bars))/(24*time.Hour) + 1) * 24 * time.Hour
}
