package sqlitestore

import (
	"encoding/binary"

	"github.com/logcollect/logcollect/internal/search/store"
)

// pos is a row's place in the search order: newest event time first, then highest Seq
// first (Seq is unique, so the order is total).
type pos struct {
	time int64 // event time, ns since 1970
	seq  int64
}

// posOf is the position of a row as Search orders it.
func posOf(r store.Row) pos { return pos{time: r.Time.UnixNano(), seq: r.Seq} }

// isZero says p is no position (the first page).
func (p pos) isZero() bool { return p.seq == 0 }

// less says p comes after q in the search order (p is older, or as old and stored
// earlier).
func (p pos) less(q pos) bool { return p.time < q.time || (p.time == q.time && p.seq < q.seq) }

// cursorLen is a cursor's size: the event time and the Seq, 8 bytes each, big-endian.
// Search pages by both; Since (the tail, in storage order) reads the Seq alone, so one
// cursor per row serves as the API's page cursor, hit id and SSE id alike.
const cursorLen = 16

// cursor is p as a store.Cursor.
func (p pos) cursor() store.Cursor {
	var b [cursorLen]byte
	binary.BigEndian.PutUint64(b[:8], uint64(p.time))
	binary.BigEndian.PutUint64(b[8:], uint64(p.seq))
	return store.Cursor(b[:])
}

// parseCursor reads a cursor this store made. Any other is store.ErrBadCursor: an
// OpenSearch reader's, or the 8-byte Seq of the layout that ordered by Seq alone (Seq is
// no longer time order, and that layout's days are refused at Open anyway).
func parseCursor(c store.Cursor) (pos, error) {
	if len(c) != cursorLen {
		return pos{}, store.ErrBadCursor
	}
	b := []byte(c)
	p := pos{time: int64(binary.BigEndian.Uint64(b[:8])), seq: int64(binary.BigEndian.Uint64(b[8:]))}
	if p.seq < 0 {
		return pos{}, store.ErrBadCursor
	}
	return p, nil
}
