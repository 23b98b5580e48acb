// Package kafka is what both sides of Kafka share: the record contract the agent writes and
// the transfer reads (docs/architecture.md, "Kafka record"), and the set-up of a franz-go
// client from the kafka config section (brokers, TLS, SASL, logging).
package kafka

import "bytes"

// Header names of a Kafka record written by the agent. The value is the line's bytes
// exactly (for cri and docker, the application's line out of its envelope, the stream in
// the f.stream header); the key is "<agent id>:<path>" with the key partitioner, and the
// record's timestamp is when the line was read (milliseconds).
//
// kafka.headers chooses what else a record carries. compact (the default): lc
// (HeaderMeta: the offset, file identity and event time in binary), and format and
// f.<name> when they say something; the host and path are the key's two halves and the
// read time is the record's timestamp. full: host, path, offset, file_id, ts and time as
// text, for consumers of their own that read them. The transfer reads both, and the text
// offset, file_id and time headers that compact records had before lc.
const (
	HeaderHost   = "host"    // full only: the agent id, the key's first half
	HeaderPath   = "path"    // full only: the key's second half
	HeaderOffset = "offset"  // full: byte offset of the event's first byte, decimal
	HeaderFileID = "file_id" // full: device:inode or a fingerprint
	HeaderTS     = "ts"      // full only: RFC 3339 with nanoseconds, when read
	// HeaderTime (full) is the event time (RFC 3339 with nanoseconds): the line's own
	// timestamp as the entry's format and time settings found it. Absent: the same as ts
	// (no timestamp found, or an agent before event time).
	HeaderTime = "time"
	// HeaderFormat is the entry's format name (json, nginx_combined, cri …), so the
	// transfer parses fields by the same rules. Absent: plain.
	HeaderFormat      = "format"
	HeaderFieldPrefix = "f." // f.<name> for each of the entry's fields
)

// AppendKey appends the record key of a line of path read by the agent id: one file's
// lines share a key, so the key partitioner keeps them in order.
func AppendKey(dst []byte, agentID, path string) []byte {
	return append(append(append(dst, agentID...), ':'), path...)
}

// SplitKey is AppendKey undone: an agent id never holds ':' (config validation), so the
// first ':' ends it; a path may hold more. ok is false for a key without ':'.
func SplitKey(key []byte) (agentID, path []byte, ok bool) {
	return bytes.Cut(key, []byte{':'})
}
