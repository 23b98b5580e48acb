package store

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/logcollect/logcollect/internal/logformat"
)

// FieldParser finds the fields of the lines of one format spec (logformat.Spec: a format
// name, "" is plain, or "regex:" and the entry's pattern): the format's parser
// (logformat.ParserOfSpec), or for lines of no declared form (plain, cri, docker) the
// members of a JSON object line or the key=value pairs of a logfmt-style line
// (logformat.DetectFields). Made once for the lines that share a spec (a regex pattern is
// compiled).
type FieldParser struct {
	p      *logformat.Parser
	detect bool
}

// NewFieldParser returns the parser of a format spec.
func NewFieldParser(spec string) FieldParser {
	return FieldParser{p: logformat.ParserOfSpec(spec), detect: logformat.Detected(spec)}
}

// Parse returns the fields of line as text. Values that are not text, a number or a
// boolean (JSON null, objects, arrays) are left out. nil when there is none, also for a
// line that does not have its format (it stays searchable as text).
func (fp FieldParser) Parse(line string) map[string]string {
	var parsed []logformat.Field
	if fp.p != nil {
		parsed, _ = fp.p.Fields(line)
	} else if fp.detect {
		parsed = logformat.DetectFields(line)
	}
	if len(parsed) == 0 {
		return nil
	}
	out := make(map[string]string, len(parsed))
	for _, f := range parsed {
		if v, ok := fieldText(f.Value); ok {
			out[f.Name] = v
		}
	}
	return out
}

// fieldText is a parsed value as the store's text fields hold it: numbers as written in
// a JSON line (json.Number), so that a search for what the line shows finds it.
func fieldText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// Field returns one field of a stored line as LineFields(msg, entry)[name] would, when
// that can be done without parsing all of them (the access-log formats); handled is
// false otherwise.
func (fp FieldParser) Field(msg string, entry map[string]string, name string) (value string, found, handled bool) {
	if v, ok := entry[name]; ok {
		return v, true, true
	}
	if fp.p == nil || slices.Contains(reserved, name) {
		return "", false, fp.p != nil
	}
	v, found, handled := fp.p.AccessField(msg, name)
	if !found {
		return "", false, handled
	}
	text, ok := fieldText(v)
	return text, ok, true
}

// FieldCannotBe reports that Field(msg, entry, name) can neither be value nor start with
// it, when that is cheaper to tell than parsing the line (the access-log formats:
// logformat.Parser.AccessFieldCannotBe); false when it may be.
func (fp FieldParser) FieldCannotBe(msg string, entry map[string]string, name, value string) bool {
	if _, ok := entry[name]; ok || fp.p == nil {
		return false
	}
	return fp.p.AccessFieldCannotBe(msg, name, value)
}

// reserved are the names of a row's own fields, which parsed fields may not take.
var reserved = []string{"host", "path", "topic", "file_id", "offset", "time", "message"}

// LineFields returns a stored line's fields: those parsed from its message by its entry's
// format (without the row's own names: a line's "path=" must not shadow the file's path)
// and the entry's fields, which win over parsed ones. The store keeps only the entry's
// fields and format and derives the rest when it reads a line, since they follow from the
// message. nil when none.
func (fp FieldParser) LineFields(msg string, entry map[string]string) map[string]string {
	fields := fp.Parse(msg)
	for _, k := range reserved {
		delete(fields, k)
	}
	if len(entry) > 0 {
		if fields == nil {
			fields = make(map[string]string, len(entry))
		}
		for k, v := range entry {
			fields[k] = v
		}
	}
	return fields
}
