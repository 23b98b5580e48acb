package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"time"
)

// JournalFile is the name of the checkpoint journal inside the store's directory.
//
// The registry is a whole snapshot, written with fsync and rename: too costly to write
// every 100 ms with thousands of files. Between two registry writes the store appends the
// checkpoints that changed to this journal instead (one frame per write, no fsync: it is
// there for a killed process, whose writes the kernel keeps; after a power loss the
// registry, fsynced, is the fallback). At Open the journal's frames are replayed over the
// registry, up to the first frame that is torn or corrupt, which is ignored with all that
// follows it. Every registry write ("fold") starts a new journal epoch, so a journal left
// over from before the registry it was folded into is never replayed over it.
//
// Layout, little-endian:
//
//	header  "LCJ1" | epoch uint64 | crc32c(magic, epoch) uint32
//	frame   length uint32 | crc32c(payload) uint32 | payload (length bytes)
//	payload ops, each: 1 (set) key path offset size fingerprint fingerprint_len updated_unix_nano
//	                   2 (delete) key
//	        strings are a uvarint length and the bytes; numbers are varints.
const JournalFile = "checkpoint.journal"

const (
	journalMagic      = "LCJ1"
	journalHeaderSize = 16
	frameHeaderSize   = 8
	// maxFrameBytes bounds a frame's length field, so a corrupt length is not taken for
	// a gigantic frame. 10,000 changed files take about 2 MB.
	maxFrameBytes = 256 << 20

	opSet    = 1
	opDelete = 2
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errTorn says a frame is incomplete or does not match its checksum.
var errTorn = errors.New("torn or corrupt journal frame")

// journalOp is one replayed change: a state to set, or a key to delete.
type journalOp struct {
	del bool
	st  State
}

func journalHeader(epoch uint64) []byte {
	h := make([]byte, 0, journalHeaderSize)
	h = append(h, journalMagic...)
	h = binary.LittleEndian.AppendUint64(h, epoch)
	return binary.LittleEndian.AppendUint32(h, crc32.Checksum(h, crcTable))
}

// appendSetOp encodes a set of st to buf.
func appendSetOp(buf []byte, st State) []byte {
	buf = append(buf, opSet)
	buf = appendString(buf, st.Key)
	buf = appendString(buf, st.Path)
	buf = binary.AppendVarint(buf, st.Offset)
	buf = binary.AppendVarint(buf, st.Size)
	buf = appendString(buf, st.Fingerprint)
	buf = binary.AppendVarint(buf, int64(st.FingerprintLen))
	var ns int64
	if !st.Updated.IsZero() {
		ns = st.Updated.UnixNano()
	}
	return binary.AppendVarint(buf, ns)
}

func appendDeleteOp(buf []byte, key string) []byte {
	return appendString(append(buf, opDelete), key)
}

func appendString(buf []byte, s string) []byte {
	return append(binary.AppendUvarint(buf, uint64(len(s))), s...)
}

// sealFrame fills the frame header reserved at the start of buf (frameHeaderSize bytes).
func sealFrame(buf []byte) []byte {
	payload := buf[frameHeaderSize:]
	binary.LittleEndian.PutUint32(buf[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[4:8], crc32.Checksum(payload, crcTable))
	return buf
}

// journalContent is what a journal file holds.
type journalContent struct {
	epoch  uint64
	frames [][]journalOp
	// valid is the length of the intact prefix (header and whole frames); torn says
	// bytes follow it that are not an intact frame.
	valid int64
	torn  bool
}

// parseJournal decodes a journal. A bad header is an error (the journal is unusable as a
// whole); a bad frame ends the intact prefix.
func parseJournal(data []byte) (journalContent, error) {
	if len(data) < journalHeaderSize || string(data[:4]) != journalMagic ||
		crc32.Checksum(data[:12], crcTable) != binary.LittleEndian.Uint32(data[12:16]) {
		return journalContent{}, errors.New("bad journal header")
	}
	jc := journalContent{epoch: binary.LittleEndian.Uint64(data[4:12]), valid: journalHeaderSize}
	rest := data[journalHeaderSize:]
	for len(rest) > 0 {
		ops, n, err := parseFrame(rest)
		if err != nil {
			jc.torn = true
			break
		}
		jc.frames = append(jc.frames, ops)
		jc.valid += int64(n)
		rest = rest[n:]
	}
	return jc, nil
}

// parseFrame decodes the frame at the start of b and returns its ops and length.
func parseFrame(b []byte) ([]journalOp, int, error) {
	if len(b) < frameHeaderSize {
		return nil, 0, errTorn
	}
	n := binary.LittleEndian.Uint32(b[0:4])
	if n == 0 || n > maxFrameBytes || uint64(len(b)-frameHeaderSize) < uint64(n) {
		return nil, 0, errTorn
	}
	payload := b[frameHeaderSize : frameHeaderSize+int(n)]
	if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(b[4:8]) {
		return nil, 0, errTorn
	}
	ops, err := parseOps(payload)
	if err != nil {
		// The checksum matched, so this is not a torn write but bytes this code did not
		// write: still never trusted.
		return nil, 0, err
	}
	return ops, frameHeaderSize + int(n), nil
}

func parseOps(p []byte) ([]journalOp, error) {
	d := decoder{b: p}
	var ops []journalOp
	for len(d.b) > 0 && d.err == nil {
		switch op := d.byte(); op {
		case opSet:
			var st State
			st.Key = d.string()
			st.Path = d.string()
			st.Offset = d.varint()
			st.Size = d.varint()
			st.Fingerprint = d.string()
			fl := d.varint()
			if ns := d.varint(); ns != 0 {
				st.Updated = time.Unix(0, ns).UTC()
			}
			if d.err == nil && (st.Key == "" || st.Offset < 0 || st.Size < 0 || fl < 0 || fl > 1<<30) {
				d.err = fmt.Errorf("journal: invalid state for key %q", st.Key)
			}
			st.FingerprintLen = int(fl)
			ops = append(ops, journalOp{st: st})
		case opDelete:
			key := d.string()
			if d.err == nil && key == "" {
				d.err = errors.New("journal: delete without a key")
			}
			ops = append(ops, journalOp{del: true, st: State{Key: key}})
		default:
			if d.err == nil {
				d.err = fmt.Errorf("journal: unknown op %d", op)
			}
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	return ops, nil
}

// decoder reads the payload's fields; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errTorn
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	l, n := binary.Uvarint(d.b)
	if n <= 0 || l > uint64(len(d.b)-n) {
		d.fail()
		return ""
	}
	s := string(d.b[n : n+int(l)])
	d.b = d.b[n+int(l):]
	return s
}

// readJournal reads the journal file; a missing file is fs.ErrNotExist.
func readJournal(path string) (journalContent, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return journalContent{}, err
	}
	return parseJournal(data)
}

// resetJournal replaces the journal with an empty one of the given epoch. Not fsynced:
// after a power loss, an older journal is told apart by its epoch.
func resetJournal(path string, epoch uint64) error {
	if err := os.WriteFile(path, journalHeader(epoch), 0o600); err != nil {
		return fmt.Errorf("reset checkpoint journal: %w", err)
	}
	return nil
}

// appendJournal appends one frame with a single write, so a kill leaves it whole or
// visibly torn.
func appendJournal(path string, frame []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("checkpoint journal %s vanished: %w", path, err)
		}
		return fmt.Errorf("open checkpoint journal: %w", err)
	}
	_, werr := f.Write(frame)
	cerr := f.Close()
	if werr != nil {
		return fmt.Errorf("append to checkpoint journal: %w", werr)
	}
	if cerr != nil {
		return fmt.Errorf("close checkpoint journal: %w", cerr)
	}
	return nil
}
