package kafka

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// HeaderMeta is a compact record's offset, file identity and event time in one binary
// value, where kafka.headers full writes the offset, file_id and time headers as text.
// Every record carries it, so its bytes are paid per line: the three text headers were
// ~70 bytes of a ~220-byte access-log record, this one is ~20 (docs/benchmarks.md).
//
// The value: a first byte, the version in its high nibble (metaVersion) and flags in its
// low one (metaTime: an event time follows); the offset as a uvarint; the file identity
// (AppendFileID); then, with metaTime, the event time as a zig-zag varint of Unix seconds
// and a uvarint of nanoseconds. The time is absolute, not a difference from the record's
// timestamp: a topic with LogAppendTime has the broker replace that timestamp.
const HeaderMeta = "lc"

const (
	metaVersion = 1 << 4
	metaTime    = 1 << 0
	// metaFileIDNumeric, as a file identity's first uvarint, says that a device and an
	// inode follow; any other n says that n-1 bytes of text follow.
	metaFileIDNumeric = 0
)

// The event times a meta header may hold: the years RFC 3339 writes (0001–9999), so that
// a document's @timestamp is one every reader parses.
const (
	minMetaUnix = -62135596800 // 0001-01-01T00:00:00Z
	maxMetaUnix = 253402300799 // 9999-12-31T23:59:59Z
)

// ErrBadMeta is a meta header value this version cannot read.
var ErrBadMeta = errors.New("kafka: bad lc header")

// AppendFileID appends the meta form of a file identity: "dev:ino" in decimal (what
// fileid.ID.String writes) as two uvarints, anything else as its text. The agent encodes
// a file's identity once and gives the bytes to AppendMeta for each of its records.
func AppendFileID(dst []byte, id string) []byte {
	if dev, ino, ok := numericFileID(id); ok {
		dst = binary.AppendUvarint(dst, metaFileIDNumeric)
		dst = binary.AppendUvarint(dst, dev)
		return binary.AppendUvarint(dst, ino)
	}
	dst = binary.AppendUvarint(dst, uint64(len(id))+1)
	return append(dst, id...)
}

// numericFileID reads "dev:ino" when both are decimal without a sign or leading zero, so
// that the uvarints give back the same text.
func numericFileID(id string) (dev, ino uint64, ok bool) {
	d, i, found := strings.Cut(id, ":")
	if !found {
		return 0, 0, false
	}
	dev, ok1 := canonicalUint(d)
	ino, ok2 := canonicalUint(i)
	return dev, ino, ok1 && ok2
}

// canonicalUint parses s when it is decimal digits only (ParseUint in base 10 takes no
// sign), without a leading zero.
func canonicalUint(s string) (uint64, bool) {
	if len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// MetaLen bounds the length of AppendMeta's value for an offset and an encoded file
// identity, with an event time or without.
func MetaLen(offset int64, fileID []byte, withTime bool) int {
	n := 1 + uvarintLen(uint64(offset)) + len(fileID)
	if withTime {
		n += binary.MaxVarintLen64 + 5 // seconds; nanoseconds < 2^30
	}
	return n
}

func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// AppendMeta appends a meta header value: offset, fileID as AppendFileID encoded it, and
// the event time unless t is zero.
func AppendMeta(dst []byte, offset int64, fileID []byte, t time.Time) []byte {
	flags := byte(metaVersion)
	if !t.IsZero() {
		flags |= metaTime
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(offset))
	dst = append(dst, fileID...)
	if !t.IsZero() {
		dst = binary.AppendVarint(dst, t.Unix())
		dst = binary.AppendUvarint(dst, uint64(t.Nanosecond()))
	}
	return dst
}

// Meta is a meta header value read back.
type Meta struct {
	Offset int64
	FileID string
	Time   time.Time // zero: the record has no event time of its own (it is the read time)
}

// ParseMeta reads a meta header value. A value of another version, with unknown flags,
// cut short or with bytes left over is ErrBadMeta: the reader then treats the record as
// one without the agent's headers rather than guess.
func ParseMeta(v []byte) (Meta, error) {
	var m Meta
	if len(v) == 0 || v[0]&^metaTime != metaVersion {
		return m, fmt.Errorf("%w: version or flags %#x", ErrBadMeta, firstByte(v))
	}
	flags, r := v[0], v[1:]
	off, r, ok := uvarint(r)
	if !ok || off > math.MaxInt64 {
		return m, fmt.Errorf("%w: offset", ErrBadMeta)
	}
	m.Offset = int64(off)
	kind, r, ok := uvarint(r)
	switch {
	case !ok:
		return m, fmt.Errorf("%w: file id", ErrBadMeta)
	case kind == metaFileIDNumeric:
		var dev, ino uint64
		var ok1, ok2 bool
		dev, r, ok1 = uvarint(r)
		ino, r, ok2 = uvarint(r)
		if !ok1 || !ok2 {
			return m, fmt.Errorf("%w: file id", ErrBadMeta)
		}
		// One allocation, as fileid.ID.String makes it: the transfer reads one per record.
		var buf [41]byte
		id := strconv.AppendUint(buf[:0], dev, 10)
		m.FileID = string(strconv.AppendUint(append(id, ':'), ino, 10))
	default:
		if kind-1 > uint64(len(r)) {
			return m, fmt.Errorf("%w: file id", ErrBadMeta)
		}
		m.FileID, r = string(r[:kind-1]), r[kind-1:]
	}
	if flags&metaTime != 0 {
		sec, n := binary.Varint(r)
		if n <= 0 {
			return m, fmt.Errorf("%w: time", ErrBadMeta)
		}
		nsec, rest, ok := uvarint(r[n:])
		if !ok || nsec >= uint64(time.Second) || sec < minMetaUnix || sec > maxMetaUnix {
			return m, fmt.Errorf("%w: time", ErrBadMeta)
		}
		m.Time, r = time.Unix(sec, int64(nsec)).UTC(), rest
	}
	if len(r) != 0 {
		return m, fmt.Errorf("%w: %d bytes left over", ErrBadMeta, len(r))
	}
	return m, nil
}

func uvarint(b []byte) (uint64, []byte, bool) {
	x, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, b, false
	}
	return x, b[n:], true
}

func firstByte(v []byte) byte {
	if len(v) == 0 {
		return 0
	}
	return v[0]
}
