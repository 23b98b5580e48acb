package sqlitestore

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// codec compresses the bodies of the blocks this store writes with zstd at its fastest
// level, and decompresses those of every version. Against S2 (the blocks before) on 1M
// lines of an access log, bodies are 36 % smaller (32.0 against 49.9 MB; the store 20 %)
// for the same decoding time per block (18–19 µs for 128 lines) and 0.3 µs more CPU per
// line to encode (docs/store.md, "Block codec"). Higher zstd levels and a dictionary per
// day shrink them only 2–10 % more, for 2–8× the encoding time or twice the decoding.
// One codec serves the store's writer and all its readers: its encoder and decoder
// keep one state per core and may be called concurrently.
type codec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
	// joins holds *joinState: what joining a split body (blockZstdSplit, blockZstdTyped) needs besides
	// its output, per concurrent reader.
	joins sync.Pool
	// encoders holds *encoder of this codec: an append's blocks are encoded with its
	// tables (the word set's, 52 KiB) and buffers, grown to a block's size, instead of
	// new ones per append (a quiet file appends a line or two at a time).
	encoders sync.Pool
	// files remembers, per file (host, path and file id), which split form its blocks
	// compress smaller and how many bytes a line of its takes in a row (fileMemo). At
	// most maxFiles files are remembered; past that it starts again.
	files struct {
		sync.Mutex
		m map[fileKey]fileMemo
	}
}

// fileMemo is what a file's last blocks tell about its next ones: the split form they
// are written in, until left more blocks have been (then both are compressed again and
// the smaller chosen), and the bytes per line of the last block's row (rowfit.go), 0
// until one is known.
type fileMemo struct {
	raw     bool // blockZstdSplit; false: blockZstdTyped
	left    int
	perLine float64
}

// formRecheck: a file's lines that change kind (a test's counting numbers, then an
// access log) are written in the form of the old ones for at most this many blocks.
// Why not both forms for every block: the second zstd pass cost ~0.1× VictoriaLogs'
// CPU per line of ingest (docs/store.md, "A block keeps the smaller form").
const (
	formRecheck = 16
	maxFiles    = 4096
)

// form returns the split form to write a block of the file key in, and whether to
// compress both and choose (setForm).
func (c *codec) form(key fileKey) (raw, both bool) {
	c.files.Lock()
	defer c.files.Unlock()
	f, ok := c.files.m[key]
	if !ok || f.left <= 0 {
		return false, true
	}
	f.left--
	c.files.m[key] = f
	return f.raw, false
}

// setForm records which split form the file key's block compressed smaller.
func (c *codec) setForm(key fileKey, raw bool) {
	c.remember(key, func(f *fileMemo) { f.raw, f.left = raw, formRecheck })
}

// blockLines is the most lines a new block of the file key takes, and how many more it
// takes when they are the last of the file in an append (rowfit.go): defaultBlockLines
// and none until a block of it has been written, and for bodies stored as they are (no
// codec).
func (c *codec) blockLines(key fileKey) (lines, slack int) {
	if c == nil {
		return defaultBlockLines, 0
	}
	c.files.Lock()
	perLine := c.files.m[key].perLine
	c.files.Unlock()
	return linesToFit(perLine)
}

// setRowSize records the bytes of the row of a block of n lines of the file key.
func (c *codec) setRowSize(key fileKey, n, bytes int) {
	c.remember(key, func(f *fileMemo) { f.perLine = float64(bytes) / float64(n) })
}

// remember changes the file key's memory by set.
func (c *codec) remember(key fileKey, set func(*fileMemo)) {
	c.files.Lock()
	defer c.files.Unlock()
	if c.files.m == nil || len(c.files.m) >= maxFiles {
		c.files.m = make(map[fileKey]fileMemo)
	}
	f := c.files.m[key]
	set(&f)
	c.files.m[key] = f
}

// joinState is a split body decompressed, and the splitter that joins it.
type joinState struct {
	buf    []byte
	s      splitter
	digits [][]byte // the words of digits only a typed body is read for
}

func newCodec() (*codec, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest),
		// A block's messages are about a MiB at most (maxBlockMessageBytes): a longer
		// window finds nothing more to match, and each state's history costs its size in
		// memory.
		zstd.WithWindowSize(1<<20))
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	// maxBlockBytes: a block whose frame claims more is corrupt, and is not allocated.
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxBlockBytes), zstd.WithDecoderLowmem(true))
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return &codec{enc: enc, dec: dec, joins: sync.Pool{New: func() any { return new(joinState) }}}, nil
}

func (c *codec) close() {
	c.enc.Close()
	c.dec.Close()
}

// encoder returns an encoder of the codec's, a new one or one put back; a nil codec (bodies
// stored as they are) gets a new one.
func (c *codec) encoder() *encoder {
	if c == nil {
		return newEncoder(nil)
	}
	if e, ok := c.encoders.Get().(*encoder); ok {
		return e
	}
	return newEncoder(c)
}

// putEncoder gives an encoder that c.encoder returned back to the pool, its blocks made.
func (c *codec) putEncoder(e *encoder) {
	if c != nil {
		e.msg = "" // not kept alive by the pool
		c.encoders.Put(e)
	}
}

// compress appends the compressed body to dst.
func (c *codec) compress(body, dst []byte) []byte { return c.enc.EncodeAll(body, dst) }

// decodeBlock decodes the n lines of an encoded block into lines (reused). The messages
// point into data (or into the memory the block was decompressed into), which must not
// change.
func (c *codec) decodeBlock(data []byte, n int, lines []line) ([]line, entryInfo, error) {
	times, body, err := c.inflate(data, nil, nil)
	if err != nil {
		return nil, entryInfo{}, err
	}
	return decodeLines(data[0], times, body, n, lines)
}

// join decompresses a split body (blockZstdSplit or blockZstdTyped) and appends it
// joined to dst; nil (no error) when it lacks one of need. A split form of raw pieces
// (blockZstdSplit) is checked before it is joined. One of typed columns holds numbers
// as bytes: its words of digits only are looked for line by line, and only the lines
// holding them all are written out (splitter.joinHolding); a word of neither digits nor
// the shapes' bytes 1 and 2 is in it as it is in the lines (a piece's other bytes are
// kept in order); any other word is checked on the joined body.
func (c *codec) join(version byte, split, dst []byte, need [][]byte) ([]byte, error) {
	js := c.joins.Get().(*joinState)
	defer c.joins.Put(js)
	var err error
	if js.buf, err = c.dec.DecodeAll(split, js.buf[:0]); err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	if version != blockZstdTyped {
		if !holdsAll(js.buf, need) {
			return nil, nil
		}
		return js.s.join(js.buf, dst, false)
	}
	js.digits = js.digits[:0]
	for _, w := range need {
		switch wordKind(w) {
		case wordPlain:
			if !bytes.Contains(js.buf, w) {
				return nil, nil
			}
		case wordDigits:
			if len(js.digits) < 64 { // a line's mask of them is a uint64
				js.digits = append(js.digits, w)
			}
		}
	}
	start := len(dst)
	if len(js.digits) > 0 {
		dst, err = js.s.joinHolding(js.buf, dst, js.digits)
	} else {
		dst, err = js.s.join(js.buf, dst, true)
	}
	if err != nil || dst == nil || holdsAll(dst[start:], need) {
		return dst, err
	}
	return nil, nil
}

// holdsAll says whether b holds each of words.
func holdsAll(b []byte, words [][]byte) bool {
	for _, w := range words {
		if !bytes.Contains(b, w) {
			return false
		}
	}
	return true
}

// times returns a block's times section, decompressed (into buf when it is large
// enough) when the version says so, and what follows it.
func (c *codec) times(data, buf []byte) (times, rest []byte, err error) {
	times, rest, err = splitTimes(data)
	if err != nil || !timesCompressed(data[0]) {
		return times, rest, err
	}
	if times, err = c.dec.DecodeAll(times, buf[:0]); err != nil {
		return nil, nil, fmt.Errorf("%w: times: %v", errCorrupt, err)
	}
	return times, rest, nil
}

// inflate returns a block's times section and its body, decompressed (into buf when it
// is large enough, the times first) when the version says so. need are words without a
// space that every line of interest holds: a split body (which keeps a message's bytes
// but its spaces together) lacking one of them is not decoded into lines, and body is
// nil (join). Why: a block that a filter let through for a long number it lacks (a
// false positive, 1.5 %) cost its join and its lines' decoding and matching, 4× its
// decompression.
func (c *codec) inflate(data, buf []byte, need [][]byte) (times, body []byte, err error) {
	times, rest, err := c.times(data, buf)
	if err != nil || !compressed(data[0]) {
		return times, rest, err
	}
	if data[0] == blockZstd || data[0] == blockZstdTimes || data[0] == blockZstdSplit || data[0] == blockZstdTyped {
		dst := buf[:0]
		if timesCompressed(data[0]) { // they are in buf: the body goes after them
			dst = times[len(times):]
		}
		if data[0] == blockZstdSplit || data[0] == blockZstdTyped {
			body, err = c.join(data[0], rest, dst, need)
			return times, body, err
		}
		if body, err = c.dec.DecodeAll(rest, dst); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", errCorrupt, err)
		}
		return times, body, nil
	}
	n, err := s2.DecodedLen(rest)
	if err != nil || n > maxBlockBytes {
		return nil, nil, fmt.Errorf("%w: compressed length %d: %v", errCorrupt, n, err)
	}
	out, err := s2.Decode(buf[:cap(buf)], rest)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return times, out, nil
}
