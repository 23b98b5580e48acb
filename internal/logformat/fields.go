package logformat

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Field is one parsed name and its value: a string, int64, float64, bool, nil, or (from
// JSON) a nested map[string]any or []any with json.Number leaves.
type Field struct {
	Name  string
	Value any
}

// ErrNoMatch is returned when a line does not have the configured format.
var ErrNoMatch = errors.New("line does not match the format")

// combined is the nginx "combined" log format, which is apache's "combined" with
// remote_user where apache has ident and user: apache's is matched by the second pattern.
const (
	nginxCombined  = `^(?P<remote_addr>\S+) - (?P<remote_user>\S+) \[(?P<time_local>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d{3}) (?P<body_bytes_sent>\d+|-) "(?P<http_referer>[^"]*)" "(?P<http_user_agent>[^"]*)"`
	apacheCombined = `^(?P<remote_addr>\S+) (?P<ident>\S+) (?P<remote_user>\S+) \[(?P<time_local>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d{3}) (?P<body_bytes_sent>\d+|-) "(?P<http_referer>[^"]*)" "(?P<http_user_agent>[^"]*)"`
)

// numeric reports the fields of the ready patterns that are typed as integers.
func numeric(name string) bool { return name == "status" || name == "body_bytes_sent" }

// Parser reads the lines of one format: their fields and their event time. It keeps no
// state between lines and is safe for concurrent use.
type Parser struct {
	format Format
	re     *regexp.Regexp
	names  []string
	access bool // a ready access-log pattern: numbers typed, request split
	group  int  // the regex group of the time field, -1 when none
	ts     timeSpec
}

// New compiles cfg, which is validated first (errors name the key).
func New(cfg Config) (*Parser, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Parser{format: orPlain(cfg.Format), group: -1}
	var pattern string
	switch p.format {
	case Regex:
		pattern = cfg.Pattern
	case NginxCombined:
		pattern, p.access = nginxCombined, true
	case ApacheCombined:
		pattern, p.access = apacheCombined, true
	}
	if pattern != "" {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, fmt.Errorf("pattern: %w", err)
		}
		p.re, p.names = re, re.SubexpNames()
	}
	ts, err := compileTime(cfg.Time)
	if err != nil {
		return nil, err
	}
	p.ts = ts
	if p.access && p.ts.field == "" && p.ts.kind != kindDetect {
		// A layout for an access log without a field: it is the bracketed time_local.
		p.ts.field = "time_local"
	}
	if p.re != nil && p.ts.field != "" {
		p.group = p.re.SubexpIndex(p.ts.field)
	}
	return p, nil
}

// MustNew is New for settings known to be valid (tests, fixed formats).
func MustNew(cfg Config) *Parser {
	p, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return p
}

// Format returns the parser's format.
func (p *Parser) Format() Format { return p.format }

// Fields returns the fields of line, or an error wrapping ErrNoMatch saying why it does
// not have the format. Plain lines and container formats (whose envelope the agent
// already removed) have no fields: nil, nil.
func (p *Parser) Fields(line string) ([]Field, error) {
	switch p.format {
	case JSON:
		return parseJSON(line)
	case Logfmt:
		return parseLogfmt(line)
	case Syslog:
		return parseSyslog(line)
	case Regex, NginxCombined, ApacheCombined:
		return p.parseRegex(line)
	}
	return nil, nil
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
	var buf [20]int
	m := submatch(p, line, buf[:0])
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

// AccessField returns one field of a line of a ready access-log format (nginx_combined,
// apache_combined) as Fields would give it, without the others: a search matching a
// field reads one per line. handled is false for the other formats.
func (p *Parser) AccessField(line, name string) (value any, found, handled bool) {
	if !p.access {
		return nil, false, false
	}
	var buf [20]int
	m := submatch(p, line, buf[:0])
	if m == nil {
		return nil, false, true
	}
	group := name
	if name == "method" || name == "url" || name == "protocol" {
		group = "request" // split by accessField
	}
	i := slices.Index(p.names, group)
	if i <= 0 {
		return nil, false, true
	}
	if group == name { // a whole group (status, the store's column): typed without a slice of fields
		v, ok := accessValue(name, line[m[2*i]:m[2*i+1]])
		return v, ok, true
	}
	for _, f := range p.accessField(group, line[m[2*i]:m[2*i+1]]) {
		if f.Name == name {
			return f.Value, true, true
		}
	}
	return nil, false, true
}

// AccessFieldCannotBe reports that the field name of a line of a ready access-log format
// can neither be value nor start with it, as AccessField gives it in text, for less than
// parsing the line: the line does not hold value. A field is a substring of the line,
// typed: a number loses its sign and leading zeros, which value without its leading '-'
// does not hold either, and body_bytes_sent is 0 for "-". False when it may be, and for
// the other formats. A search for status:503 parses only the lines holding "503".
func (p *Parser) AccessFieldCannotBe(line, name, value string) bool {
	if !p.access || name == "body_bytes_sent" && value == "0" {
		return false
	}
	return !strings.Contains(line, strings.TrimPrefix(value, "-"))
}

// accessField types one field of the ready access-log patterns (accessValue), the
// request line also split into method, url and protocol.
func (p *Parser) accessField(name, v string) []Field {
	val, ok := accessValue(name, v)
	if !ok {
		return nil
	}
	out := []Field{{Name: name, Value: val}}
	if name == "request" {
		parts := strings.SplitN(v, " ", 3)
		if len(parts) == 3 {
			out = append(out, Field{Name: "method", Value: parts[0]}, Field{Name: "url", Value: parts[1]},
				Field{Name: "protocol", Value: parts[2]})
		}
	}
	return out
}

// accessValue types the value v of the group name of the ready access-log patterns: "-"
// is absent (body_bytes_sent 0), numbers are integers.
func accessValue(name, v string) (any, bool) {
	if v == "-" {
		if name == "body_bytes_sent" {
			return int64(0), true
		}
		return nil, false
	}
	if numeric(name) {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n, true
		}
	}
	return v, true
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
