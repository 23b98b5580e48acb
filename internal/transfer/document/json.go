package document

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// AppendJSON appends the document's JSON source (without the _id, which goes in the bulk
// action line). It is written by hand: encoding/json's reflection was most of the
// transfer's CPU per document.
func (d *Document) AppendJSON(b []byte) []byte {
	b = append(b, `{"@timestamp":"`...)
	b = d.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	if !d.ReadTime.IsZero() {
		b = append(b, `","read_time":"`...)
		b = d.ReadTime.UTC().AppendFormat(b, time.RFC3339Nano)
	}
	b = append(b, `","message":`...)
	b = AppendString(b, d.Message)
	if d.Host != "" {
		b = append(b, `,"host":`...)
		b = AppendString(b, d.Host)
	}
	if d.Path != "" {
		b = append(b, `,"path":`...)
		b = AppendString(b, d.Path)
	}
	if d.FileID != "" {
		b = append(b, `,"file_id":`...)
		b = AppendString(b, d.FileID)
	}
	if d.Offset >= 0 {
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, d.Offset, 10)
	}
	b = append(b, `,"topic":`...)
	b = AppendString(b, d.Topic)
	if len(d.Fields) > 0 {
		b = append(b, `,"fields":{`...)
		keys := make([]string, 0, len(d.Fields))
		for k := range d.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, k)
			b = append(b, ':')
			b = AppendString(b, d.Fields[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"kafka":{"partition":`...)
	b = strconv.AppendInt(b, int64(d.Partition), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, d.KafkaOffset, 10)
	b = append(b, '}')
	for _, f := range d.Parsed {
		b = append(b, ',')
		name := f.Name
		if reserved(name) {
			name = "parsed_" + name
		}
		b = AppendString(b, name)
		b = append(b, ':')
		b = appendValue(b, f.Value)
	}
	if d.ParseError {
		b = append(b, `,"parse_error":true`...)
	}
	if d.InvalidUTF8 {
		b = append(b, `,"invalid_utf8":true`...)
	}
	return append(b, '}')
}

func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return AppendString(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(b, v)
	case nil:
		return append(b, "null"...)
	case json.Number:
		return append(b, v...)
	}
	// Nested JSON values (objects, arrays) of a parsed JSON line.
	enc, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, enc...)
}

// AppendString appends s as a JSON string. s must be valid UTF-8 (Builder makes it so);
// any invalid byte left is written as U+FFFD.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript that evals it.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// ParsedValue returns the value of a parsed field, for tests and sinks that need one.
func (d *Document) ParsedValue(name string) (any, bool) {
	for _, f := range d.Parsed {
		if f.Name == name {
			return f.Value, true
		}
	}
	return nil, false
}
