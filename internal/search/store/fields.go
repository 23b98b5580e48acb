package store

import (
	"encoding/json"
	"strconv"
	"strings"
)

// ParseFields returns the fields of a line: the top-level scalar values of a JSON object
// line, or the key=value pairs of a logfmt-style line (at least two, so that prose with
// one '=' is not taken apart). nil when there is none.
func ParseFields(line string) map[string]string {
	if strings.HasPrefix(line, "{") {
		var obj map[string]any
		if json.Unmarshal([]byte(line), &obj) != nil {
			return nil
		}
		out := make(map[string]string, len(obj))
		for k, v := range obj {
			switch x := v.(type) {
			case string:
				out[k] = x
			case float64:
				out[k] = strconv.FormatFloat(x, 'f', -1, 64)
			case bool:
				out[k] = strconv.FormatBool(x)
			}
		}
		return out
	}
	if strings.Count(line, "=") < 2 {
		return nil
	}
	out := map[string]string{}
	for rest := line; rest != ""; {
		rest = strings.TrimLeft(rest, " \t")
		eq := strings.IndexByte(rest, '=')
		sp := strings.IndexAny(rest, " \t")
		if eq <= 0 || (sp >= 0 && sp < eq) {
			if sp < 0 {
				break
			}
			rest = rest[sp:]
			continue
		}
		key, val := rest[:eq], rest[eq+1:]
		if strings.HasPrefix(val, `"`) {
			end := 1
			for end < len(val) && (val[end] != '"' || val[end-1] == '\\') {
				end++
			}
			if uq, err := strconv.Unquote(val[:min(end+1, len(val))]); err == nil {
				out[key] = uq
			} else {
				out[key] = strings.Trim(val[:min(end+1, len(val))], `"`)
			}
			rest = val[min(end+1, len(val)):]
			continue
		}
		if sp2 := strings.IndexAny(val, " \t"); sp2 >= 0 {
			out[key], rest = val[:sp2], val[sp2:]
		} else {
			out[key], rest = val, ""
		}
	}
	if len(out) < 2 {
		return nil
	}
	return out
}

// reserved are the names of a row's own fields, which parsed fields may not take.
var reserved = []string{"host", "path", "topic", "file_id", "offset", "time", "message"}

// LineFields returns a stored line's fields: those parsed from its message (without the
// row's own names: a line's "path=" must not shadow the file's path) and the entry's
// fields, which win over parsed ones. The store keeps only the entry's fields and derives
// the rest when it reads a line, since they follow from the message. nil when none.
func LineFields(msg string, entry map[string]string) map[string]string {
	fields := ParseFields(msg)
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
