package logformat

import "strings"

// named are the parsers of the formats whose fields follow from the format's name alone.
// Built once and never written (a Parser keeps no state between lines), so the transfer
// and the store share them instead of each compiling and caching its own.
var named = map[Format]*Parser{
	JSON:           MustNew(Config{Format: JSON}),
	Logfmt:         MustNew(Config{Format: Logfmt}),
	NginxCombined:  MustNew(Config{Format: NginxCombined}),
	ApacheCombined: MustNew(Config{Format: ApacheCombined}),
	Syslog:         MustNew(Config{Format: Syslog}),
}

// ParserOf returns the parser of a format name as it travels with a line after the
// agent (a Kafka record's format header, a block of the standalone store): json, logfmt,
// nginx_combined, apache_combined and syslog. nil for the others: plain and the container
// formats, whose lines are text of no declared form (see Detected); regex, whose pattern
// is the entry's and does not travel with the line; a name it does not know (written by
// a newer agent).
func ParserOf(name string) *Parser { return named[Format(name)] }

// regexSpec starts the format spec of a regex entry: "regex:" and the pattern.
const regexSpec = string(Regex) + ":"

// Spec is a format name as a reader that keeps no entries must see it: the name, and for
// regex the entry's pattern after "regex:" (the standalone's store keeps it with the
// lines, so that it can parse their fields; a Kafka record carries only the name).
func Spec(format, pattern string) string {
	if Format(format) == Regex && pattern != "" {
		return regexSpec + pattern
	}
	return format
}

// ParserOfSpec returns the parser of a Spec: ParserOf for a name, the pattern's compiled
// parser for "regex:<pattern>" (compiled on each call: callers keep it for the lines that
// share the spec). nil when there is none, or the pattern does not compile (a store
// written by another version).
func ParserOfSpec(spec string) *Parser {
	pattern, ok := strings.CutPrefix(spec, regexSpec)
	if !ok {
		return ParserOf(spec)
	}
	p, err := New(Config{Format: Regex, Pattern: pattern})
	if err != nil {
		return nil
	}
	return p
}

// Detected reports whether lines of a format name have no declared form, so that a
// reader may look for fields in them (DetectFields): plain (or empty), and cri and docker,
// whose envelope the agent took off and whose application lines are of any form.
func Detected(name string) bool {
	switch Format(name) {
	case "", Plain, CRI, Docker:
		return true
	}
	return false
}

// DetectFields returns the fields of a line of no declared form: the members of a line
// that is one JSON object, or the key=value pairs of a line with at least two of them
// (words without '=' are skipped, so prose with one '=' in it is not taken apart, and
// "a = b" has none). nil when neither. Values are as Parser.Fields gives them: JSON
// values (json.Number for numbers), logfmt values as strings.
func DetectFields(line string) []Field {
	if strings.HasPrefix(strings.TrimLeft(line, " \t"), "{") {
		fields, err := parseJSON(line)
		if err != nil {
			return nil
		}
		return fields
	}
	if strings.Count(line, "=") < 2 {
		return nil
	}
	fields := scanPairs(line)
	if len(fields) < 2 {
		return nil
	}
	return fields
}

// scanPairs reads the key=value pairs among the words of s: a value runs to the next
// blank, or is "quoted" with \ escapes (an unterminated quote runs to the end of s).
func scanPairs(s string) []Field {
	var fields []Field
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return fields
		}
		word := strings.IndexAny(s, " \t")
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || (word >= 0 && word < eq) { // a word that is no pair
			if word < 0 {
				return fields
			}
			s = s[word:]
			continue
		}
		key, val := s[:eq], s[eq+1:]
		if strings.HasPrefix(val, `"`) {
			q, rest, err := unquote(val)
			if err != nil {
				q, rest = val[1:], ""
			}
			fields = append(fields, Field{Name: key, Value: q})
			s = rest
			continue
		}
		end := strings.IndexAny(val, " \t")
		if end < 0 {
			end = len(val)
		}
		fields = append(fields, Field{Name: key, Value: val[:end]})
		s = val[end:]
	}
}
