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
