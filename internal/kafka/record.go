// Package kafka is what both sides of Kafka share: the record contract the agent writes and
// the transfer reads (docs/architecture.md, "Kafka record"), and the set-up of a franz-go
// client from the kafka config section (brokers, TLS, SASL, logging).
package kafka

// Header names of a Kafka record written by the agent. The value is the line's bytes
// exactly (for cri and docker, the application's line out of its envelope, the stream in
// the f.stream header); the key is "<agent id>:<path>" with the key partitioner.
const (
	HeaderHost   = "host"
	HeaderPath   = "path"
	HeaderOffset = "offset"  // byte offset of the event's first byte, decimal
	HeaderFileID = "file_id" // device:inode or a fingerprint
	HeaderTS     = "ts"      // RFC 3339 with nanoseconds, when read
	// HeaderTime is the event time (RFC 3339 with nanoseconds): the line's own timestamp
	// as the entry's format and time settings found it. Absent: the same as ts (no
	// timestamp found, or an agent before event time).
	HeaderTime = "time"
	// HeaderFormat is the entry's format name (json, nginx_combined, cri …), so the
	// transfer parses fields by the same rules. Absent: plain.
	HeaderFormat      = "format"
	HeaderFieldPrefix = "f." // f.<name> for each of the entry's fields
)
