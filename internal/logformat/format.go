// Package logformat is the one place that knows what a log line looks like: the formats a
// collect entry can declare (plain, json, logfmt, nginx_combined, apache_combined, syslog,
// regex, and the container envelopes cri and docker), the fields of each, and the line's
// own time (from a configured field and layout, or detected among the common forms).
//
// The agent uses it for the event time and to take container lines out of their
// envelope, the transfer for fields and @timestamp, the standalone store for fields: no
// second implementation anywhere. Nothing here drops a line: a line that does not parse
// is reported so that the caller keeps it as plain text (and its read time).
package logformat

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Format names what the lines of a file are.
type Format string

// The formats. Plain is the default: no fields, the time detected at the line's start.
const (
	Plain          Format = "plain"
	JSON           Format = "json"
	Logfmt         Format = "logfmt"
	NginxCombined  Format = "nginx_combined"
	ApacheCombined Format = "apache_combined"
	Syslog         Format = "syslog" // RFC 3164 or RFC 5424 lines in a file
	Regex          Format = "regex"  // the named groups of Config.Pattern
	CRI            Format = "cri"    // containerd / CRI-O: "<RFC 3339 nano> <stream> <P|F> <line>"
	Docker         Format = "docker" // docker's json-file driver: {"log","stream","time"}
)

// Names returns the format names in the order the documentation lists them.
func Names() []string {
	return []string{string(Plain), string(JSON), string(Logfmt), string(NginxCombined), string(ApacheCombined),
		string(Syslog), string(Regex), string(CRI), string(Docker)}
}

// Envelope reports whether f wraps each line in a container runtime's envelope, which
// the agent takes off (the application's line is what is shipped).
func (f Format) Envelope() bool { return f == CRI || f == Docker }

// Time says where a line's event time is and how it is written. The zero value detects
// the common forms (see Detect) with zone-less times in UTC.
type Time struct {
	// Field is the JSON key, logfmt key or regex group holding the time (json, logfmt,
	// regex, nginx_combined, apache_combined). Empty: the line's start (plain, syslog), the
	// known keys time, ts, timestamp, @timestamp (json, logfmt), time_local (access logs).
	Field string `json:"field,omitempty" yaml:"field"`
	// Layout is a Go layout ("2006-01-02 15:04:05.000") or one of the names in Layouts.
	// Empty: detect.
	Layout string `json:"layout,omitempty" yaml:"layout"`
	// Timezone is an IANA name ("Europe/Paris") for times written without a zone;
	// empty is UTC.
	Timezone string `json:"timezone,omitempty" yaml:"timezone"`
}

// The layout names Time.Layout accepts besides a Go layout.
const (
	LayoutNone      = "none"       // no event time: the read time (detection off)
	LayoutRFC3339   = "rfc3339"    // 2006-01-02T15:04:05.999999999Z07:00, any fraction, 'T' or ' '
	LayoutUnix      = "unix"       // seconds since 1970, with an optional fraction
	LayoutUnixMs    = "unix_ms"    // milliseconds
	LayoutUnixUs    = "unix_us"    // microseconds
	LayoutUnixNs    = "unix_ns"    // nanoseconds
	LayoutCommonLog = "common_log" // 02/Jan/2006:15:04:05 -0700
	LayoutSyslog    = "syslog"     // Jan _2 15:04:05 (RFC 3164; the year inferred)
)

// Layouts returns the layout names, for messages and docs.
func Layouts() []string {
	return []string{LayoutNone, LayoutRFC3339, LayoutUnix, LayoutUnixMs, LayoutUnixUs, LayoutUnixNs, LayoutCommonLog, LayoutSyslog}
}

// Config is what a collect entry (or a transfer.parse rule) says about its lines.
type Config struct {
	Format  Format
	Pattern string // the regular expression of format regex, with named groups
	Time    Time
}

// Validate checks the settings; each error starts with the key it is about (format,
// pattern, time.field, time.layout, time.timezone), so that callers can prefix it with
// where the settings came from.
func (c Config) Validate() error {
	if c.Format != "" && !slices.Contains(Names(), string(c.Format)) {
		return fmt.Errorf("format: %q is not one of %s", c.Format, strings.Join(Names(), ", "))
	}
	var errs []error
	switch {
	case c.Format == Regex && c.Pattern == "":
		errs = append(errs, errors.New("pattern: required when format is regex"))
	case c.Format == Regex:
		re, err := regexp.Compile(c.Pattern)
		if err != nil {
			errs = append(errs, fmt.Errorf("pattern: %w", err))
		} else if !slices.ContainsFunc(re.SubexpNames(), func(n string) bool { return n != "" }) {
			errs = append(errs, errors.New(`pattern: needs at least one named group such as (?P<status>\d+)`))
		} else if c.Time.Field != "" && !slices.Contains(re.SubexpNames(), c.Time.Field) {
			errs = append(errs, fmt.Errorf("time.field: %q is not a named group of pattern", c.Time.Field))
		}
	case c.Pattern != "":
		errs = append(errs, errors.New("pattern: only used with format regex"))
	}
	errs = append(errs, c.validateTime())
	return errors.Join(errs...)
}

func (c Config) validateTime() error {
	t := c.Time
	if t == (Time{}) {
		return nil
	}
	if c.Format.Envelope() {
		return fmt.Errorf("time: not used with format %s: the container runtime's timestamp is the event time", c.Format)
	}
	var errs []error
	if t.Field != "" && (c.Format == "" || c.Format == Plain || c.Format == Syslog) {
		errs = append(errs, fmt.Errorf("time.field: format %s has no fields; leave it out to read the time at the line's start",
			orPlain(c.Format)))
	}
	if t.Layout != "" && !slices.Contains(Layouts(), t.Layout) {
		if err := checkGoLayout(t.Layout); err != nil {
			errs = append(errs, fmt.Errorf("time.layout: %w", err))
		}
	}
	if t.Timezone != "" {
		if _, err := time.LoadLocation(t.Timezone); err != nil {
			errs = append(errs, fmt.Errorf("time.timezone: %w", err))
		}
	}
	return errors.Join(errs...)
}

// checkGoLayout refuses a layout that is neither a name nor a Go layout with a year or
// minutes in it: Go reads any digit as an element ("1" is the month), so "iso8601" or
// "RFC3339" would otherwise pass as layouts that never match.
func checkGoLayout(layout string) error {
	if !strings.Contains(layout, "2006") && !strings.Contains(layout, "04") {
		return fmt.Errorf("%q is neither one of %s nor a Go layout with a year (2006) or minutes (04), such as \"2006-01-02 15:04:05\"",
			layout, strings.Join(Layouts(), ", "))
	}
	ref := time.Date(2009, 11, 10, 23, 48, 17, 0, time.UTC)
	if _, err := time.Parse(layout, ref.Format(layout)); err != nil {
		return fmt.Errorf("%q does not read back what it writes: %w", layout, err)
	}
	return nil
}

func orPlain(f Format) Format {
	if f == "" {
		return Plain
	}
	return f
}
