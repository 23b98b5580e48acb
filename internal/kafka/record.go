// Package kafka is what both sides of Kafka share: the record contract the agent writes and
// the transfer reads (docs/architecture.md, "Kafka record"), and the set-up of a franz-go
// client from the kafka config section (brokers, TLS, SASL, logging).
package kafka

// Header names of a Kafka record written by the agent. The value is the line's bytes
// exactly; the key is "<agent id>:<path>" with the key partitioner.
const (
	HeaderHost        = "host"
	HeaderPath        = "path"
	HeaderOffset      = "offset"  // byte offset of the event's first byte, decimal
	HeaderFileID      = "file_id" // device:inode or a fingerprint
	HeaderTS          = "ts"      // RFC 3339 with nanoseconds, when read
	HeaderFieldPrefix = "f."      // f.<name> for each of the entry's fields
)
