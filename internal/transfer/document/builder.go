package document

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/kafka"
	"github.com/logcollect/logcollect/internal/logformat"
)

// Builder makes documents from records. A record's line is parsed by the first
// transfer.parse rule matching its topic, else by its format header (the collect entry's
// format), with the one parsing package the agent and the standalone store use.
type Builder struct {
	rules   []rule
	byTopic map[string]*rule // the first matching rule of each topic seen
}

type rule struct {
	topic  string
	parser *logformat.Parser
	time   bool // the rule names a time field: it overrides the record's event time
}

// NewBuilder compiles the parse rules.
func NewBuilder(rules []config.ParseRule) (*Builder, error) {
	b := &Builder{byTopic: map[string]*rule{}}
	for i, r := range rules {
		p, err := logformat.New(ruleConfig(r))
		if err != nil {
			return nil, fmt.Errorf("transfer.parse[%d]: %w", i, err)
		}
		b.rules = append(b.rules, rule{topic: r.Topic, parser: p,
			time: r.TimeField != "" || r.Format == "nginx_combined" || r.Format == "apache_combined"})
	}
	return b, nil
}

// ruleConfig is the logformat configuration of a transfer.parse rule.
func ruleConfig(r config.ParseRule) logformat.Config {
	return logformat.Config{Format: logformat.Format(r.Format), Pattern: r.Pattern,
		Time: logformat.Time{Field: r.TimeField, Layout: r.TimeLayout}}
}

// rule returns the rule of topic, or nil. Not safe for concurrent use.
func (b *Builder) rule(topic string) *rule {
	if r, ok := b.byTopic[topic]; ok {
		return r
	}
	var found *rule
	for i, r := range b.rules {
		if ok, _ := path.Match(r.topic, topic); ok {
			found = &b.rules[i]
			break
		}
	}
	b.byTopic[topic] = found
	return found
}

// Build returns the document of r. It never fails: what a record lacks is left out, a
// line that does not parse is kept as plain text with ParseError set. Not safe for
// concurrent use (it caches the parser of each topic).
func (b *Builder) Build(r *kgo.Record) Document {
	d := Document{Topic: r.Topic, Partition: r.Partition, KafkaOffset: r.Offset, Offset: -1}
	var ts, format string
	var evTime time.Time
	for _, h := range r.Headers {
		switch h.Key {
		case kafka.HeaderHost:
			d.Host = validString(h.Value)
		case kafka.HeaderPath:
			d.Path = validString(h.Value)
		case kafka.HeaderFileID:
			d.FileID = validString(h.Value)
		case kafka.HeaderOffset:
			if off, err := strconv.ParseInt(string(h.Value), 10, 64); err == nil && off >= 0 {
				d.Offset = off
			}
		case kafka.HeaderTime:
			evTime = headerTime(string(h.Value))
		case kafka.HeaderMeta:
			// A compact record's offset, file identity and event time. One this
			// version cannot read leaves them out: the record is indexed under its
			// Kafka coordinates, as one without the agent's headers.
			if m, err := kafka.ParseMeta(h.Value); err == nil {
				d.FileID, d.Offset, evTime = validString(m.FileID), m.Offset, m.Time
			}
		case kafka.HeaderFormat:
			format = string(h.Value)
		case kafka.HeaderTS:
			ts = string(h.Value)
		default:
			if name, ok := strings.CutPrefix(h.Key, kafka.HeaderFieldPrefix); ok && name != "" {
				if d.Fields == nil {
					d.Fields = map[string]string{}
				}
				d.Fields[validString(name)] = validString(h.Value)
			}
		}
	}
	if utf8.Valid(r.Value) {
		d.Message = string(r.Value)
	} else {
		d.Message = strings.ToValidUTF8(string(r.Value), "\uFFFD")
		d.InvalidUTF8 = true
	}
	d.ReadTime = headerTime(ts)
	if d.FileID != "" {
		// An agent's record. A compact one (kafka.headers) has its host and path in its
		// key "<agent id>:<path>" and its read time in its timestamp (to the millisecond).
		if host, path, ok := kafka.SplitKey(r.Key); ok && d.Host == "" {
			d.Host, d.Path = validString(host), validString(path)
		}
		if d.ReadTime.IsZero() {
			d.ReadTime = r.Timestamp.UTC()
		}
	}
	if d.Host != "" && d.FileID != "" && d.Offset >= 0 {
		d.ID = FileIdentityID(d.Host, d.FileID, d.Offset)
	} else {
		d.ID = RecordID(r.Topic, r.Partition, r.Offset)
	}

	d.Time = evTime
	if d.Time.IsZero() {
		d.Time = d.ReadTime // no time header: the agent found none, or predates it
	}
	if d.Time.IsZero() {
		d.Time = r.Timestamp.UTC()
	}
	// Plain and container lines get no fields here (docs/transfer.md); the standalone
	// store detects JSON and logfmt in them (logformat.DetectFields).
	p, override := logformat.ParserOf(format), false
	if ru := b.rule(r.Topic); ru != nil {
		p, override = ru.parser, ru.time
	}
	if p == nil {
		return d
	}
	fields, err := p.Fields(d.Message)
	if err != nil {
		d.ParseError = true
		return d
	}
	d.Parsed = fields
	if override {
		if t, ok := p.FieldTime(fields); ok {
			d.Time = t
		}
	}
	return d
}

// headerTime reads an RFC 3339 header value; zero when absent or malformed.
func headerTime(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// validString is b as a string, each byte that is not UTF-8 replaced by U+FFFD. A string
// is not copied when it is valid.
func validString[T ~string | ~[]byte](b T) string {
	s := string(b)
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
