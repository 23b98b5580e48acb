package kafkaout

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/kafka"
)

// DeadLetterFile is the name of the dead-letter file inside the data directory.
const DeadLetterFile = "deadletter.jsonl"

// deadLetter appends records Kafka refused for good to <dir>/deadletter.jsonl, one JSON
// object a line, so nothing is silently dropped and the lines can be replayed by hand.
// The file is opened on first use: most agents never write one.
type deadLetter struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

// deadLetterRecord is one line of the dead-letter file.
type deadLetterRecord struct {
	Time    time.Time         `json:"time"`
	Topic   string            `json:"topic"`
	Key     string            `json:"key,omitempty"`
	Host    string            `json:"host,omitempty"`
	Path    string            `json:"path,omitempty"`
	FileID  string            `json:"file_id,omitempty"`
	Offset  int64             `json:"offset"`
	ReadAt  string            `json:"ts,omitempty"`
	Fields  map[string]string `json:"fields,omitempty"`
	Kind    string            `json:"kind"`
	Reason  string            `json:"reason"`
	Line    *string           `json:"line,omitempty"`
	LineB64 []byte            `json:"line_base64,omitempty"` // when the line is not valid UTF-8
}

func newDeadLetter(dir string) *deadLetter {
	return &deadLetter{path: filepath.Join(dir, DeadLetterFile)}
}

// write appends one record. The write reaches the OS before the event is acknowledged,
// so a killed agent does not lose it; it is not fsynced per record because a bad topic
// can dead-letter at the full read rate.
func (d *deadLetter) write(r *kgo.Record, kind string, reason error) error {
	dl := deadLetterRecord{
		Time:   time.Now().UTC(),
		Topic:  r.Topic,
		Key:    string(r.Key),
		Kind:   kind,
		Reason: reason.Error(),
	}
	for _, h := range r.Headers {
		switch h.Key {
		case hdrHost:
			dl.Host = string(h.Value)
		case hdrPath:
			dl.Path = string(h.Value)
		case hdrFileID:
			dl.FileID = string(h.Value)
		case hdrOffset:
			dl.Offset, _ = strconv.ParseInt(string(h.Value), 10, 64)
		case hdrMeta:
			if m, err := kafka.ParseMeta(h.Value); err == nil {
				dl.FileID, dl.Offset = m.FileID, m.Offset
			}
		case hdrTS:
			dl.ReadAt = string(h.Value)
		default:
			if len(h.Key) > len(hdrFieldPrefix) && h.Key[:len(hdrFieldPrefix)] == hdrFieldPrefix {
				if dl.Fields == nil {
					dl.Fields = make(map[string]string)
				}
				dl.Fields[h.Key[len(hdrFieldPrefix):]] = string(h.Value)
			}
		}
	}
	if dl.Host == "" { // a compact record: the key holds them
		if host, path, ok := kafka.SplitKey(r.Key); ok {
			dl.Host, dl.Path = string(host), string(path)
		}
	}
	if dl.ReadAt == "" {
		dl.ReadAt = r.Timestamp.UTC().Format(time.RFC3339Nano)
	}
	if utf8.Valid(r.Value) {
		line := string(r.Value)
		dl.Line = &line
	} else {
		dl.LineB64 = r.Value
	}
	b, err := json.Marshal(dl)
	if err != nil {
		return fmt.Errorf("encode dead letter: %w", err)
	}
	b = append(b, '\n')

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		if err := os.MkdirAll(filepath.Dir(d.path), 0o750); err != nil {
			return fmt.Errorf("create dead-letter dir: %w", err)
		}
		f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return fmt.Errorf("open dead-letter file: %w", err)
		}
		d.f = f
	}
	if _, err := d.f.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", d.path, err)
	}
	return nil
}

func (d *deadLetter) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Sync()
	if cerr := d.f.Close(); err == nil {
		err = cerr
	}
	d.f = nil
	if err != nil {
		return fmt.Errorf("close %s: %w", d.path, err)
	}
	return nil
}
