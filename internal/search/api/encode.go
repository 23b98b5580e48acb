package api

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/logcollect/logcollect/internal/jsontext"
)

// A search answer is written by hand rather than by encoding/json: reflecting over a
// hundred hits and sorting each hit's field map was a fifth of `logcollect server`'s CPU
// per search (the rest is OpenSearch's answer, read in opensearchstore). The output
// decodes to what encoding/json's does (TestSearchJSON); strings are jsontext's.

// appendJSON appends h as a JSON object: the fields of hit in their order, Fields by
// key, as encoding/json does.
func (h *hit) appendJSON(b []byte) []byte {
	b = append(b, `{"time":`...)
	b = jsontext.AppendString(b, h.Time)
	if h.ReadTime != "" {
		b = append(b, `,"read_time":`...)
		b = jsontext.AppendString(b, h.ReadTime)
	}
	b = append(b, `,"host":`...)
	b = jsontext.AppendString(b, h.Host)
	b = append(b, `,"path":`...)
	b = jsontext.AppendString(b, h.Path)
	b = append(b, `,"topic":`...)
	b = jsontext.AppendString(b, h.Topic)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, h.Offset, 10)
	b = append(b, `,"file_id":`...)
	b = jsontext.AppendString(b, h.FileID)
	b = append(b, `,"message":`...)
	b = jsontext.AppendString(b, h.Message)
	b = append(b, `,"fields":`...)
	b = appendFields(b, h.Fields)
	b = append(b, `,"highlight":`...)
	if h.Highlight == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range h.Highlight {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(s[0]), 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(s[1]), 10)
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	b = append(b, `,"id":`...)
	b = jsontext.AppendString(b, h.ID)
	return append(b, '}')
}

// MarshalJSON is appendJSON for the answers still written by encoding/json (context,
// tail).
func (h hit) MarshalJSON() ([]byte, error) { return h.appendJSON(make([]byte, 0, 512)), nil }

func appendFields(b []byte, f map[string]string) []byte {
	if f == nil {
		return append(b, "null"...)
	}
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsontext.AppendString(b, k)
		b = append(b, ':')
		b = jsontext.AppendString(b, f[k])
	}
	return append(b, '}')
}

// appendSearch appends the answer of /api/search.
func appendSearch(b []byte, r *searchResp) []byte {
	b = append(b, `{"hits":[`...)
	for i := range r.Hits {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.Hits[i].appendJSON(b)
	}
	b = append(b, `],"cursor":`...)
	b = jsontext.AppendString(b, r.Cursor)
	if r.Total != nil {
		b = append(b, `,"total":`...)
		b = strconv.AppendInt(b, *r.Total, 10)
	}
	if r.TotalEstimated != nil {
		b = append(b, `,"total_estimated":`...)
		b = strconv.AppendBool(b, *r.TotalEstimated)
	}
	if len(r.Buckets) > 0 {
		b = append(b, `,"buckets":[`...)
		for i, k := range r.Buckets {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"time":`...)
			b = jsontext.AppendString(b, k.Time)
			b = append(b, `,"count":`...)
			b = strconv.AppendInt(b, k.Count, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if r.StepMS != 0 {
		b = append(b, `,"step_ms":`...)
		b = strconv.AppendInt(b, r.StepMS, 10)
	}
	b = append(b, `,"took_ms":`...)
	b = strconv.AppendInt(b, r.TookMS, 10)
	return append(b, "}\n"...)
}

func writeSearch(w http.ResponseWriter, r *searchResp) {
	n := 256 + 64*len(r.Buckets) // the answer's size, escapes aside: one allocation
	for i := range r.Hits {
		h := &r.Hits[i]
		n += 256 + len(h.Time) + len(h.ReadTime) + len(h.Host) + len(h.Path) + len(h.Topic) + len(h.FileID) + len(h.Message) +
			len(h.ID) + 24*len(h.Highlight)
		for k, v := range h.Fields {
			n += len(k) + len(v) + 6
		}
	}
	n += n / 16
	b := appendSearch(make([]byte, 0, n), r)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
