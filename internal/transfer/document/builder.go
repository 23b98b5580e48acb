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
	"github.com/logcollect/logcollect/internal/transfer/parse"
)

// Builder makes documents from records, parsing the lines of the topics that have a
// transfer.parse rule.
type Builder struct {
	rules   []rule
	byTopic map[string]*parse.Parser // the first matching rule of each topic seen
}

type rule struct {
	topic  string
	parser *parse.Parser
}

// NewBuilder compiles the parse rules.
func NewBuilder(rules []config.ParseRule) (*Builder, error) {
	b := &Builder{byTopic: map[string]*parse.Parser{}}
	for i, r := range rules {
		p, err := parse.New(r)
		if err != nil {
			return nil, fmt.Errorf("transfer.parse[%d]: %w", i, err)
		}
		b.rules = append(b.rules, rule{topic: r.Topic, parser: p})
	}
	return b, nil
}

// parser returns the parser of topic, or nil. Not safe for concurrent use.
func (b *Builder) parser(topic string) *parse.Parser {
	if p, ok := b.byTopic[topic]; ok {
		return p
	}
	var found *parse.Parser
	for _, r := range b.rules {
		if ok, _ := path.Match(r.topic, topic); ok {
			found = r.parser
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
	var ts string
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
		case kafka.HeaderTS:
			ts = string(h.Value)
		default:
			if name, ok := strings.CutPrefix(h.Key, kafka.HeaderFieldPrefix); ok && name != "" {
				if d.Fields == nil {
					d.Fields = map[string]string{}
				}
				d.Fields[validString([]byte(name))] = validString(h.Value)
			}
		}
	}
	if utf8.Valid(r.Value) {
		d.Message = string(r.Value)
	} else {
		d.Message = strings.ToValidUTF8(string(r.Value), "\uFFFD")
		d.InvalidUTF8 = true
	}
	if d.Host != "" && d.FileID != "" && d.Offset >= 0 {
		d.ID = FileIdentityID(d.Host, d.FileID, d.Offset)
	} else {
		d.ID = RecordID(r.Topic, r.Partition, r.Offset)
	}

	var parsedTime time.Time
	if p := b.parser(r.Topic); p != nil {
		fields, err := p.Parse(d.Message)
		if err != nil {
			d.ParseError = true
		} else {
			d.Parsed = fields
			if t, ok := p.Time(fields); ok {
				parsedTime = t
			}
		}
	}
	switch {
	case !parsedTime.IsZero():
		d.Time = parsedTime
	case ts != "":
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			d.Time = t.UTC()
			break
		}
		d.Time = r.Timestamp.UTC()
	default:
		d.Time = r.Timestamp.UTC()
	}
	return d
}

func validString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
