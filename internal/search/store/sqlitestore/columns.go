package sqlitestore

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/logcollect/logcollect/internal/logformat"
	"github.com/logcollect/logcollect/internal/search/store"
)

// A block's field columns (its row in the cols table) hold, per line, the value of each
// of columnFields as store.FieldParser.Field gives it for the line (parsed from its
// message by the entry's format, or the entry's own field). A query on those fields
// reads them instead of parsing every line, and a histogram of such a query (its count
// and total) reads only the block's times and columns, not its messages: status:503
// decompressed and parsed every line of its sampled blocks (the slowest search kind of
// issue 22 against VictoriaLogs, which keeps status as a column).
//
// The row also holds a copy of the block's times section, so that such a histogram does
// not read the block's data at all, and mask, a bit per column it has (bit k:
// columnFields[k]), so that SQL can tell whether it needs the data (scanIDs).
//
// Encoding: colsV1, then a zstd frame of: the times section's length (uvarint) and the
// section, the number of columns (uvarint), per column its name (length-prefixed), its
// distinct values (a uvarint count, each length-prefixed) and one byte per line: 0 when
// the line has no such field, k for the k-th value. No row: the block has none (written before them, by a logcollect without
// them, or of a format whose fields are not parsed one by one), and is read as before.
// A column with more than maxColumnValues distinct values in the block is left out.
const (
	colsV1          = 1
	maxColumnValues = 255
)

// columnFields are the fields kept as columns: status, the access-log field users filter
// on most, whose few values per block cost ~0.6 byte per line with the copy of the
// times (docs/store.md). Each column costs a parse of every line at ingest (6 % of the
// standalone's ingest CPU for status); a field of many values (url, client address)
// would cost its values besides, and is found through the index's words as before.
var columnFields = []string{"status"}

// isColumnField says whether a field is one of columnFields.
func isColumnField(name string) bool { return slices.Contains(columnFields, name) }

// colBuilder collects a block's columns while it is encoded, reusing its memory.
type colBuilder struct {
	spec  string // the format spec fp parses
	fp    store.FieldParser
	on    []bool
	index []map[string]byte
	vals  [][]string
	codes [][]byte
	raw   []byte
}

// reset starts a block of the format spec. Only a format of the parser's own
// (logformat.ParserOf) has columns: a regex entry's pattern would be compiled for every
// append, and its lines are parsed whole.
func (cb *colBuilder) reset(spec string) {
	if cb.index == nil {
		cb.on = make([]bool, len(columnFields))
		cb.index = make([]map[string]byte, len(columnFields))
		cb.vals = make([][]string, len(columnFields))
		cb.codes = make([][]byte, len(columnFields))
		for k := range cb.index {
			cb.index[k] = map[string]byte{}
		}
	}
	named := logformat.ParserOf(spec) != nil
	if named && cb.spec != spec {
		cb.spec, cb.fp = spec, store.NewFieldParser(spec)
	}
	for k := range columnFields {
		cb.on[k] = named
		clear(cb.index[k])
		cb.vals[k], cb.codes[k] = cb.vals[k][:0], cb.codes[k][:0]
	}
}

// line adds a line's values.
func (cb *colBuilder) line(msg string, entry map[string]string) {
	for k, name := range columnFields {
		if !cb.on[k] {
			continue
		}
		v, found, handled := cb.fp.Field(msg, entry, name)
		if !handled {
			cb.on[k] = false
			continue
		}
		code := byte(0)
		if found {
			c, ok := cb.index[k][v]
			if !ok {
				if len(cb.vals[k]) == maxColumnValues {
					cb.on[k] = false
					continue
				}
				cb.vals[k] = append(cb.vals[k], v)
				c = byte(len(cb.vals[k]))
				cb.index[k][v] = c
			}
			code = c
		}
		cb.codes[k] = append(cb.codes[k], code)
	}
}

// encode returns the block's columns (colsV1) and their mask, nil when it has none.
// times is the block's times section, uncompressed.
func (cb *colBuilder) encode(c *codec, times []byte) ([]byte, int64) {
	n, mask := 0, int64(0)
	for k := range columnFields {
		if cb.on[k] {
			n, mask = n+1, mask|1<<k
		}
	}
	if n == 0 || c == nil {
		return nil, 0
	}
	raw := binary.AppendUvarint(cb.raw[:0], uint64(len(times)))
	raw = append(raw, times...)
	raw = binary.AppendUvarint(raw, uint64(n))
	for k, name := range columnFields {
		if !cb.on[k] {
			continue
		}
		raw = appendString(raw, name)
		raw = binary.AppendUvarint(raw, uint64(len(cb.vals[k])))
		for _, v := range cb.vals[k] {
			raw = appendString(raw, v)
		}
		raw = append(raw, cb.codes[k]...)
	}
	cb.raw = raw
	return c.compress(raw, []byte{colsV1}), mask
}

// colsMask is the mask of the columns names (columnFields).
func colsMask(names []string) int64 {
	var m int64
	for k, f := range columnFields {
		if slices.Contains(names, f) {
			m |= 1 << k
		}
	}
	return m
}

// fieldCols are a block's decoded columns; the zero value has none.
type fieldCols struct {
	times []byte // the block's times section, uncompressed
	names []string
	vals  [][]string
	codes [][]byte
}

// decodeCols decodes the columns of a block of n lines (buf is reused, and the values
// point into it).
func decodeCols(c *codec, data []byte, n int, buf []byte) (fieldCols, []byte, error) {
	if len(data) == 0 || data[0] != colsV1 {
		return fieldCols{}, buf, nil // a version this build does not know: parse the lines
	}
	raw, err := c.dec.DecodeAll(data[1:], buf[:0])
	if err != nil {
		return fieldCols{}, buf, fmt.Errorf("%w: columns: %v", errCorrupt, err)
	}
	d := decoder{b: raw}
	var bc fieldCols
	nt := d.uvarint()
	if d.err || nt > uint64(len(d.b)) {
		return fieldCols{}, raw, fmt.Errorf("%w: columns' times section of %d bytes", errCorrupt, nt)
	}
	bc.times, d.b = d.b[:nt], d.b[nt:]
	k := d.uvarint()
	if k > uint64(len(columnFields)) {
		return fieldCols{}, raw, fmt.Errorf("%w: %d columns", errCorrupt, k)
	}
	for range k {
		name := d.string()
		nv := d.uvarint()
		if d.err || nv > maxColumnValues {
			return fieldCols{}, raw, fmt.Errorf("%w: column %q of %d values", errCorrupt, name, nv)
		}
		vals := make([]string, nv)
		for i := range vals {
			vals[i] = d.string()
		}
		if d.err || len(d.b) < n {
			return fieldCols{}, raw, fmt.Errorf("%w: column %q cut short", errCorrupt, name)
		}
		codes := d.b[:n]
		d.b = d.b[n:]
		if i := slices.IndexFunc(codes, func(c byte) bool { return int(c) > len(vals) }); i >= 0 {
			return fieldCols{}, raw, fmt.Errorf("%w: column %q, line %d: value %d of %d", errCorrupt, name, i, codes[i], len(vals))
		}
		bc.names, bc.vals, bc.codes = append(bc.names, name), append(bc.vals, vals), append(bc.codes, codes)
	}
	if len(d.b) != 0 {
		return fieldCols{}, raw, fmt.Errorf("%w: %d bytes after the columns", errCorrupt, len(d.b))
	}
	return bc, raw, nil
}

// value returns line i's value of the field name, and whether the block has that column.
func (bc *fieldCols) value(name string, i int) (v string, found, ok bool) {
	for k, n := range bc.names {
		if n == name {
			c := bc.codes[k][i]
			if c == 0 {
				return "", false, true
			}
			return bc.vals[k][c-1], true, true
		}
	}
	return "", false, false
}

// has says whether the block has a column of each name.
func (bc *fieldCols) has(names []string) bool {
	for _, n := range names {
		if !slices.Contains(bc.names, n) {
			return false
		}
	}
	return true
}

// queryColumns returns the column fields a query names (the plan joins the blocks'
// columns when there are any), and whether it names nothing else a line is matched on
// but its block's own fields: then a block holding those columns is matched without its
// messages (colsOnly).
func queryColumns(fieldNames []string, hasText bool) (cols []string, colsOnly bool) {
	colsOnly = !hasText
	for _, name := range fieldNames {
		switch {
		case isColumnField(name):
			if !slices.Contains(cols, name) {
				cols = append(cols, name)
			}
		case blockColumn(name) == "":
			colsOnly = false // offset, or a field parsed from the message
		}
	}
	return cols, colsOnly && len(cols) > 0
}

// colsJoin is the join that gives a query of blocks b their columns (fc.data, fc.mask).
const colsJoin = " LEFT JOIN cols fc ON fc.id = b.id"
