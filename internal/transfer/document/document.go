// Package document builds the searchable document of one Kafka record
// (docs/architecture.md, "OpenSearch document"): the line, the agent's headers, parsed
// fields, the event time and an _id that is the same each time the record is delivered,
// so that a redelivered record overwrites itself in the index.
package document

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"

	"github.com/logcollect/logcollect/internal/logformat"
)

// Document is one log line ready for a sink.
type Document struct {
	// ID is derived from (host, file_id, offset) when the record has them, else from
	// (topic, partition, offset).
	ID   string
	Time time.Time // @timestamp: the event time (the time header; a transfer.parse time_field overrides)
	// ReadTime is when the agent read the line (the ts header); zero when absent.
	ReadTime time.Time
	// Message is the line, valid UTF-8 (bad bytes replaced by U+FFFD, InvalidUTF8 set).
	Message     string
	InvalidUTF8 bool
	Host        string
	Path        string
	FileID      string
	Offset      int64 // byte offset in the source file; -1 when the record has none
	Topic       string
	Partition   int32
	KafkaOffset int64
	Fields      map[string]string // the entry's fields (f.<name> headers)
	Parsed      []logformat.Field
	ParseError  bool
}

// reserved are the document's own keys; a parsed field of the same name is renamed
// parsed_<name> so that it cannot break the mapping of the fixed fields.
func reserved(name string) bool {
	switch name {
	case "@timestamp", "read_time", "message", "host", "path", "file_id", "offset", "topic", "fields", "kafka",
		"parse_error", "invalid_utf8":
		return true
	}
	return false
}

// FileIdentityID returns the _id of the line at offset of the file fileID on host.
func FileIdentityID(host, fileID string, offset int64) string {
	h := sha256.New()
	var buf [20]byte
	h.Write([]byte(host))
	h.Write([]byte{0})
	h.Write([]byte(fileID))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(buf[:0], offset, 10))
	return encodeID(h.Sum(nil))
}

// RecordID returns the _id of a record without file headers.
func RecordID(topic string, partition int32, offset int64) string {
	h := sha256.New()
	var buf [20]byte
	h.Write([]byte("kafka"))
	h.Write([]byte{0})
	h.Write([]byte(topic))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(buf[:0], int64(partition), 10))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(buf[:0], offset, 10))
	return encodeID(h.Sum(nil))
}

// encodeID keeps 128 bits of the hash: a collision among 10^12 lines has a chance of
// about 10^-15.
func encodeID(sum []byte) string {
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// Rejection is a document a sink refused for good (a mapping conflict, a document too
// large): it is dead-lettered, not retried.
type Rejection struct {
	Doc    int    // index into the documents given to the sink
	Reason string // the sink's error, e.g. "mapper_parsing_exception: failed to parse field [x]"
}
