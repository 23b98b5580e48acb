package document

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/logcollect/logcollect/internal/jsontext"
)

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
	b = jsontext.AppendString(b, d.Message)
	if d.Host != "" {
		b = append(b, `,"host":`...)
		b = jsontext.AppendString(b, d.Host)
	}
	if d.Path != "" {
		b = append(b, `,"path":`...)
		b = jsontext.AppendString(b, d.Path)
	}
	if d.FileID != "" {
		b = append(b, `,"file_id":`...)
		b = jsontext.AppendString(b, d.FileID)
	}
	if d.Offset >= 0 {
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, d.Offset, 10)
	}
	b = append(b, `,"topic":`...)
	b = jsontext.AppendString(b, d.Topic)
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
			b = jsontext.AppendString(b, k)
			b = append(b, ':')
			b = jsontext.AppendString(b, d.Fields[k])
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
		b = jsontext.AppendString(b, name)
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
		return jsontext.AppendString(b, v)
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

// ParsedValue returns the value of a parsed field, for tests and sinks that need one.
func (d *Document) ParsedValue(name string) (any, bool) {
	for _, f := range d.Parsed {
		if f.Name == name {
			return f.Value, true
		}
	}
	return nil, false
}
