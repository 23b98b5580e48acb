// Package parse turns a log line into fields: a JSON object, logfmt pairs, the named
// groups of a regular expression, or the nginx/apache "combined" access-log format with
// its numbers typed. A line that does not parse is reported with an error so that the
// caller indexes it as plain text; nothing here drops a line.
package parse

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/logcollect/logcollect/internal/config"
)

// Field is one parsed name and its value: a string, int64, float64, bool, nil, or (from
// JSON) a nested map[string]any or []any with json.Number leaves.
type Field struct {
	Name  string
	Value any
}

// ErrNoMatch is returned when a line does not have the configured format.
var ErrNoMatch = errors.New("line does not match the format")

// clfLayout is the time of the nginx/apache combined format: 10/Oct/2000:13:55:36 -0700.
const clfLayout = "02/Jan/2006:15:04:05 -0700"

// combined is the nginx "combined" log format, which is apache's "combined" with
// remote_user where apache has ident and user: apache's is matched by the second pattern.
const (
	nginxCombined  = `^(?P<remote_addr>\S+) - (?P<remote_user>\S+) \[(?P<time_local>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d{3}) (?P<body_bytes_sent>\d+|-) "(?P<http_referer>[^"]*)" "(?P<http_user_agent>[^"]*)"`
	apacheCombined = `^(?P<remote_addr>\S+) (?P<ident>\S+) (?P<remote_user>\S+) \[(?P<time_local>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d{3}) (?P<body_bytes_sent>\d+|-) "(?P<http_referer>[^"]*)" "(?P<http_user_agent>[^"]*)"`
)

// numeric reports the fields of the ready patterns that are typed as integers.
func numeric(name string) bool { return name == "status" || name == "body_bytes_sent" }

// Parser parses the lines of one transfer.parse rule.
type Parser struct {
	format     string
	re         *regexp.Regexp
	names      []string
	access     bool // a ready access-log pattern: numbers typed, request split
	timeField  string
	timeLayout string
}

// New compiles a rule. The configuration was validated already; errors here name the key
// anyway, for callers that build a rule by hand.
func New(rule config.ParseRule) (*Parser, error) {
	p := &Parser{format: rule.Format, timeField: rule.TimeField, timeLayout: rule.TimeLayout}
	var pattern string
	switch rule.Format {
	case "json", "logfmt":
	case "regex":
		pattern = rule.Pattern
	case "nginx_combined":
		pattern, p.access = nginxCombined, true
	case "apache_combined":
		pattern, p.access = apacheCombined, true
	default:
		return nil, fmt.Errorf("transfer.parse: unknown format %q", rule.Format)
	}
	if p.access {
		if p.timeField == "" {
			p.timeField = "time_local"
		}
		if p.timeLayout == "" && p.timeField == "time_local" {
			p.timeLayout = clfLayout
		}
	}
	if p.timeLayout == "" {
		p.timeLayout = time.RFC3339Nano
	}
	if pattern != "" {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, fmt.Errorf("transfer.parse pattern: %w", err)
		}
		p.re, p.names = re, re.SubexpNames()
	}
	return p, nil
}

// Parse returns the fields of line, or an error saying why it does not parse.
func (p *Parser) Parse(line string) ([]Field, error) {
	switch p.format {
	case "json":
		return parseJSON(line)
	case "logfmt":
		return parseLogfmt(line)
	}
	return p.parseRegex(line)
}

// Time returns the event time from the configured time field, when there is one and it
// parses.
func (p *Parser) Time(fields []Field) (time.Time, bool) {
	if p.timeField == "" {
		return time.Time{}, false
	}
	for _, f := range fields {
		if f.Name != p.timeField {
			continue
		}
		var s string
		switch v := f.Value.(type) {
		case string:
			s = v
		case json.Number:
			// A number is taken as Unix milliseconds, the common JSON convention.
			ms, err := v.Int64()
			if err != nil {
				return time.Time{}, false
			}
			return time.UnixMilli(ms).UTC(), true
		default:
			return time.Time{}, false
		}
		t, err := time.Parse(p.timeLayout, s)
		if err != nil && p.timeLayout == time.RFC3339Nano {
			t, err = time.Parse(time.RFC3339, s)
		}
		return t.UTC(), err == nil
	}
	return time.Time{}, false
}

func parseJSON(line string) ([]Field, error) {
	trimmed := strings.TrimSpace(line)
	if !strings.HasPrefix(trimmed, "{") {
		return nil, fmt.Errorf("%w: not a JSON object", ErrNoMatch)
	}
	dec := json.NewDecoder(strings.NewReader(trimmed))
	dec.UseNumber() // keep 64-bit integers exact
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoMatch, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: text after the JSON object", ErrNoMatch)
	}
	fields := make([]Field, 0, len(obj))
	for k, v := range obj {
		fields = append(fields, Field{Name: k, Value: v})
	}
	sortFields(fields)
	return fields, nil
}

// parseLogfmt reads key=value pairs; a value may be "quoted" with \" escapes; a bare key
// is true.
func parseLogfmt(line string) ([]Field, error) {
	var fields []Field
	s := line
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			break
		}
		end := strings.IndexAny(s, "= \t")
		if end == 0 {
			return nil, fmt.Errorf("%w: logfmt key expected at %q", ErrNoMatch, truncate(s))
		}
		if end < 0 {
			end = len(s)
		}
		key := s[:end]
		s = s[end:]
		if !strings.HasPrefix(s, "=") {
			fields = append(fields, Field{Name: key, Value: true})
			continue
		}
		s = s[1:]
		var val string
		if strings.HasPrefix(s, `"`) {
			q, rest, err := unquote(s)
			if err != nil {
				return nil, fmt.Errorf("%w: logfmt value of %s: %v", ErrNoMatch, key, err)
			}
			val, s = q, rest
		} else {
			end := strings.IndexAny(s, " \t")
			if end < 0 {
				end = len(s)
			}
			val, s = s[:end], s[end:]
		}
		fields = append(fields, Field{Name: key, Value: val})
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: no logfmt pairs", ErrNoMatch)
	}
	return fields, nil
}

// unquote reads a "quoted" logfmt value at the start of s.
func unquote(s string) (string, string, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				default:
					b.WriteByte(s[i])
				}
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated quote")
}

func (p *Parser) parseRegex(line string) ([]Field, error) {
	m := p.re.FindStringSubmatchIndex(line)
	if m == nil {
		return nil, ErrNoMatch
	}
	fields := make([]Field, 0, len(p.names)+2)
	for i, name := range p.names {
		if name == "" || m[2*i] < 0 {
			continue
		}
		v := line[m[2*i]:m[2*i+1]]
		if !p.access {
			fields = append(fields, Field{Name: name, Value: v})
			continue
		}
		fields = append(fields, p.accessField(name, v)...)
	}
	return fields, nil
}

// accessField types one field of the ready access-log patterns: "-" is absent, numbers
// are integers, the request line is also split into method, url and protocol.
func (p *Parser) accessField(name, v string) []Field {
	if v == "-" {
		if name == "body_bytes_sent" {
			return []Field{{Name: name, Value: int64(0)}}
		}
		return nil
	}
	if numeric(name) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return []Field{{Name: name, Value: v}}
		}
		return []Field{{Name: name, Value: n}}
	}
	out := []Field{{Name: name, Value: v}}
	if name == "request" {
		parts := strings.SplitN(v, " ", 3)
		if len(parts) == 3 {
			out = append(out, Field{Name: "method", Value: parts[0]}, Field{Name: "url", Value: parts[1]},
				Field{Name: "protocol", Value: parts[2]})
		}
	}
	return out
}

func sortFields(f []Field) {
	// Few fields: insertion sort keeps the output order stable for tests and diffs.
	for i := 1; i < len(f); i++ {
		for j := i; j > 0 && f[j].Name < f[j-1].Name; j-- {
			f[j], f[j-1] = f[j-1], f[j]
		}
	}
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
