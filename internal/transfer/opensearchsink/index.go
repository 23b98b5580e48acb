package opensearchsink

import (
	"strings"
	"time"

	"github.com/logcollect/logcollect/internal/transfer/document"
)

// indexName is opensearch.index split at its placeholders {topic} and {date}.
type indexName struct {
	parts []string // literal text and the placeholders themselves
}

func parseIndexName(tmpl string) indexName {
	var n indexName
	for tmpl != "" {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			n.parts = append(n.parts, tmpl)
			break
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			n.parts = append(n.parts, tmpl)
			break
		}
		if i > 0 {
			n.parts = append(n.parts, tmpl[:i])
		}
		n.parts = append(n.parts, tmpl[i:i+j+1])
		tmpl = tmpl[i+j+1:]
	}
	return n
}

// expand returns the index of a topic and an event time. Index names are lowercase in
// OpenSearch; Kafka topics may not be.
func (n indexName) expand(topic string, t time.Time) string {
	var b strings.Builder
	for _, p := range n.parts {
		switch p {
		case "{topic}":
			b.WriteString(strings.ToLower(topic))
		case "{date}":
			b.WriteString(t.UTC().Format("2006.01.02"))
		default:
			b.WriteString(p)
		}
	}
	return b.String()
}

// IndexPattern is the index pattern of opensearch.index (each {topic} and {date} is *):
// the indices the template applies to, and those logcollect's search reads.
func IndexPattern(index string) string { return parseIndexName(index).pattern() }

// pattern is the index pattern of the template: every placeholder matches anything.
func (n indexName) pattern() string {
	var b strings.Builder
	for _, p := range n.parts {
		if p == "{topic}" || p == "{date}" {
			if !strings.HasSuffix(b.String(), "*") {
				b.WriteByte('*')
			}
			continue
		}
		b.WriteString(p)
	}
	return b.String()
}

// indexCache remembers the last index of one request: consecutive documents nearly always
// share topic and day.
type indexCache struct {
	topic string
	day   int64
	index string
}

func (c *indexCache) name(n indexName, d *document.Document) string {
	day := d.Time.Unix() / 86400
	if d.Time.Unix() < 0 && d.Time.Unix()%86400 != 0 {
		day--
	}
	if c.index == "" || c.topic != d.Topic || c.day != day {
		c.topic, c.day, c.index = d.Topic, day, n.expand(d.Topic, d.Time)
	}
	return c.index
}
