// Package entry defines a collect entry: which files to read and where their lines go.
// The same schema is used by the static agent.collect list in the config file and by the
// JSON values stored in etcd, so both are validated by the same code.
package entry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/logcollect/logcollect/internal/logformat"
)

// DefaultMaxLineBytes is where an overlong line is cut when an entry does not say.
const DefaultMaxLineBytes = 1 << 20

// Start says where a file seen for the first time, with no checkpoint, is read from.
type Start string

// Where reading starts for files that already existed when the entry was applied.
const (
	StartEnd       Start = "end"
	StartBeginning Start = "beginning"
)

// Match says on which side of a matching line continuation lines are joined.
type Match string

// Multiline joining sides, as in Filebeat.
const (
	MatchAfter  Match = "after"
	MatchBefore Match = "before"
)

// Entry is one collect entry. Path and Topic are the original format; the rest is optional.
type Entry struct {
	Path         string            `json:"path" yaml:"path"`
	Topic        string            `json:"topic" yaml:"topic"`
	Exclude      []string          `json:"exclude,omitempty" yaml:"exclude"`
	Start        Start             `json:"start,omitempty" yaml:"start"`
	Multiline    *Multiline        `json:"multiline,omitempty" yaml:"multiline"`
	IncludeLines []string          `json:"include_lines,omitempty" yaml:"include_lines"`
	ExcludeLines []string          `json:"exclude_lines,omitempty" yaml:"exclude_lines"`
	Fields       map[string]string `json:"fields,omitempty" yaml:"fields"`
	MaxLineBytes int               `json:"max_line_bytes,omitempty" yaml:"max_line_bytes"`
	KeepEmpty    bool              `json:"keep_empty,omitempty" yaml:"keep_empty"`
	// Format says what the lines are (logformat.Names; empty is plain); Pattern is the
	// regular expression of format regex; Time where the event time is (empty: detected).
	Format  logformat.Format `json:"format,omitempty" yaml:"format"`
	Pattern string           `json:"pattern,omitempty" yaml:"pattern"`
	Time    *logformat.Time  `json:"time,omitempty" yaml:"time"`
}

// LogFormat returns the entry's format settings.
func (e Entry) LogFormat() logformat.Config {
	c := logformat.Config{Format: e.Format, Pattern: e.Pattern}
	if e.Time != nil {
		c.Time = *e.Time
	}
	return c
}

// Multiline joins continuation lines into one event.
type Multiline struct {
	Pattern  string   `json:"pattern" yaml:"pattern"`
	Negate   bool     `json:"negate,omitempty" yaml:"negate"`
	Match    Match    `json:"match,omitempty" yaml:"match"`
	MaxLines int      `json:"max_lines,omitempty" yaml:"max_lines"`
	Timeout  Duration `json:"timeout,omitempty" yaml:"timeout"`
}

// Duration is a time.Duration written as "2s" in JSON and YAML.
type Duration time.Duration

// UnmarshalJSON accepts a Go duration string such as "2s" or "500ms".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"2s\": %w", err)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration is time.ParseDuration that also takes whole days, "7d" (retentions).
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	return time.ParseDuration(s)
}

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalText lets YAML decoders read "2s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// WithDefaults returns a copy of e with every optional setting filled in.
func (e Entry) WithDefaults() Entry {
	if e.Start == "" {
		e.Start = StartEnd
	}
	if e.MaxLineBytes == 0 {
		e.MaxLineBytes = DefaultMaxLineBytes
	}
	if e.Multiline != nil {
		m := *e.Multiline
		if m.Match == "" {
			m.Match = MatchAfter
		}
		if m.MaxLines == 0 {
			m.MaxLines = 500
		}
		if m.Timeout == 0 {
			m.Timeout = Duration(2 * time.Second)
		}
		e.Multiline = &m
	}
	return e
}

// Validate checks one entry. allowed, when not empty, is the agent's allowlist of globs:
// an entry whose path is outside it is refused.
func (e Entry) Validate(allowed []string) error {
	if e.Path == "" {
		return errors.New("path: required")
	}
	if e.Topic == "" {
		return fmt.Errorf("entry %q: topic: required", e.Path)
	}
	if !filepath.IsAbs(e.Path) {
		return fmt.Errorf("entry %q: path: must be absolute", e.Path)
	}
	if _, err := filepath.Match(e.Path, ""); err != nil {
		return fmt.Errorf("entry %q: path: bad glob: %w", e.Path, err)
	}
	for _, x := range e.Exclude {
		if _, err := filepath.Match(x, ""); err != nil {
			return fmt.Errorf("entry %q: exclude %q: bad glob: %w", e.Path, x, err)
		}
	}
	switch e.Start {
	case "", StartEnd, StartBeginning:
	default:
		return fmt.Errorf("entry %q: start: must be one of end, beginning", e.Path)
	}
	if err := e.LogFormat().Validate(); err != nil {
		return fmt.Errorf("entry %q: %w", e.Path, err)
	}
	if e.MaxLineBytes < 0 {
		return fmt.Errorf("entry %q: max_line_bytes: must not be negative", e.Path)
	}
	for _, group := range []struct {
		key string
		res []string
	}{{"include_lines", e.IncludeLines}, {"exclude_lines", e.ExcludeLines}} {
		for _, re := range group.res {
			if _, err := regexp.Compile(re); err != nil {
				return fmt.Errorf("entry %q: %s: %w", e.Path, group.key, err)
			}
		}
	}
	if m := e.Multiline; m != nil {
		if m.Pattern == "" {
			return fmt.Errorf("entry %q: multiline.pattern: required", e.Path)
		}
		if _, err := regexp.Compile(m.Pattern); err != nil {
			return fmt.Errorf("entry %q: multiline.pattern: %w", e.Path, err)
		}
		switch m.Match {
		case "", MatchAfter, MatchBefore:
		default:
			return fmt.Errorf("entry %q: multiline.match: must be one of after, before", e.Path)
		}
		if m.MaxLines < 0 {
			return fmt.Errorf("entry %q: multiline.max_lines: must not be negative", e.Path)
		}
		if m.Timeout < 0 {
			return fmt.Errorf("entry %q: multiline.timeout: must not be negative", e.Path)
		}
	}
	if len(allowed) > 0 && !Allowed(e.Path, allowed) {
		return fmt.Errorf("entry %q: path: %s is outside agent.allowed_paths %v; add a glob covering it (e.g. %s/**) to agent.allowed_paths",
			e.Path, e.Path, allowed, filepath.Dir(filepath.Clean(e.Path)))
	}
	return nil
}

// Allowed reports whether every file the entry path (a file or a glob) can match lies
// inside one of the allowlist globs. "**" in an allowlist glob stands for any number of
// directories (at least one at the end: "/var/log/**" is what is under /var/log, not the
// directory itself), as it does in entries. The entry is cleaned first, and a path with a
// ".." element is never allowed: lexical cleaning and the kernel disagree about ".." after
// a symlinked directory. A glob in the entry is allowed only where the allowlist is at
// least as wide: "/var/log/*.log" is inside "/var/log/**" but not inside "/var/log/a*".
func Allowed(path string, allowed []string) bool {
	if !filepath.IsAbs(path) || slices.Contains(strings.Split(path, "/"), "..") {
		return false
	}
	ent := strings.Split(filepath.Clean(path), "/")
	for _, a := range allowed {
		if !filepath.IsAbs(a) {
			continue
		}
		if within(strings.Split(filepath.Clean(a), "/"), ent) {
			return true
		}
	}
	return false
}

// within reports whether each path the entry segments ent can match is matched by the
// allowlist segments pat.
func within(pat, ent []string) bool {
	if len(pat) == 0 {
		return len(ent) == 0
	}
	if pat[0] == "**" {
		from := 0
		if len(pat) == 1 {
			from = 1 // a trailing "**" is what is under the directory
		}
		for i := from; i <= len(ent); i++ {
			if within(pat[1:], ent[i:]) {
				return true
			}
		}
		return false
	}
	if len(ent) == 0 || !segWithin(pat[0], ent[0]) {
		return false
	}
	return within(pat[1:], ent[1:])
}

// segWithin reports whether the entry segment e (a name or a one-segment glob) matches
// only names the allowlist segment p matches. An entry "**" spans directories, so only an
// allowlist "**" (handled by within) holds it.
func segWithin(p, e string) bool {
	switch {
	case e == "**":
		return false
	case p == e:
		return true
	case !hasMeta(e):
		ok, _ := filepath.Match(p, e)
		return ok
	default:
		// A glob segment matches names without "/": any of them is inside "*".
		return p == "*"
	}
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// ParseList decodes a JSON array of entries strictly (unknown fields are errors) and
// validates every entry. Either all entries are returned or none.
func ParseList(data []byte, allowed []string) ([]Entry, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var list []Entry
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("decode entries: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode entries: trailing data after the JSON array")
	}
	seen := make(map[string]bool, len(list))
	for _, e := range list {
		if err := e.Validate(allowed); err != nil {
			return nil, err
		}
		if seen[e.Path] {
			return nil, fmt.Errorf("entry %q: path: listed twice", e.Path)
		}
		seen[e.Path] = true
	}
	return list, nil
}

// Merge combines entry lists in order of increasing precedence: an entry in a later list
// replaces an entry with the same path in an earlier one. The result is sorted by path.
func Merge(lists ...[]Entry) []Entry {
	byPath := make(map[string]Entry)
	for _, l := range lists {
		for _, e := range l {
			byPath[e.Path] = e
		}
	}
	out := make([]Entry, 0, len(byPath))
	for _, e := range byPath {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Equal reports whether two entries have the same settings.
func Equal(a, b Entry) bool {
	ja, errA := json.Marshal(a.WithDefaults())
	jb, errB := json.Marshal(b.WithDefaults())
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}
