package sqlitestore

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/store"
)

// TestCursors: one cursor per row serves Search (after its event time and Seq) and
// Since (after its Seq, storage order) alike; Newest starts a tail after what is
// stored; a cursor this store did not make is store.ErrBadCursor in both.
func TestCursors(t *testing.T) {
	s := open(t, Config{})
	ctx := context.Background()
	empty, err := s.Newest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	// Stored in this order: a live line, a line stamped an hour before it, another live one.
	for _, r := range []store.Row{
		{Time: now.Add(-time.Minute), Host: "h", Path: "/a", FileID: "1:1", Offset: 0, End: 5, Message: "live1"},
		{Time: now.Add(-time.Hour), ReadTime: now, Host: "h", Path: "/b", FileID: "1:2", Offset: 0, End: 5, Message: "late"},
		{Time: now.Add(-30 * time.Second), Host: "h", Path: "/a", FileID: "1:1", Offset: 5, End: 10, Message: "live2"},
	} {
		appendSync(t, s, []store.Row{r})
	}
	all := mustParse(t, "")
	from, to := now.Add(-2*time.Hour), now

	res, err := s.Search(ctx, store.SearchRequest{Query: all, From: from, To: to, Limit: 1})
	if err != nil || len(res.Rows) != 1 || res.Rows[0].Message != "live2" || !res.More {
		t.Fatalf("first page: %+v, %v; want live2 and more", res, err)
	}
	res, err = s.Search(ctx, store.SearchRequest{Query: all, From: from, To: to, Limit: 10, Before: res.Rows[0].Cursor})
	if err != nil || len(res.Rows) != 2 || res.Rows[0].Message != "live1" || res.Rows[1].Message != "late" || res.More {
		t.Fatalf("next page: %+v, %v; want live1, late", res, err)
	}
	// The oldest hit by event time was stored second: a tail from its cursor has live2 only.
	tail, err := s.Since(ctx, all, res.Rows[1].Cursor, 10)
	if err != nil || len(tail) != 1 || tail[0].Message != "live2" {
		t.Fatalf("since the late line's cursor: %+v, %v; want live2", tail, err)
	}
	if tail[0].Cursor != (pos{time: now.Add(-30 * time.Second).UnixNano(), seq: tail[0].Seq}).cursor() {
		t.Errorf("the tail's cursor of live2 is not its search cursor")
	}
	tail, err = s.Since(ctx, all, empty, 10)
	if err != nil || len(tail) != 3 {
		t.Fatalf("since the empty store's Newest: %d rows, %v; want 3", len(tail), err)
	}
	newest, err := s.Newest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tail, err := s.Since(ctx, all, newest, 10); err != nil || len(tail) != 0 {
		t.Errorf("since Newest: %d rows, %v; want none", len(tail), err)
	}

	var seqOnly [8]byte // the cursor of the layout ordered by Seq alone
	binary.BigEndian.PutUint64(seqOnly[:], 2)
	var negative [16]byte
	binary.BigEndian.PutUint64(negative[8:], 1<<63)
	for name, c := range map[string]store.Cursor{
		"seq only": store.Cursor(seqOnly[:]), "negative seq": store.Cursor(negative[:]),
		"opensearch": "[1764576000000,0,0,7]", "one byte long": newest + "x",
	} {
		if _, err := s.Search(ctx, store.SearchRequest{Query: all, From: from, To: to, Limit: 10, Before: c}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("search, %s: %v, want ErrBadCursor", name, err)
		}
		if _, err := s.Since(ctx, all, c, 10); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("since, %s: %v, want ErrBadCursor", name, err)
		}
	}
	// Newest of an empty store is Seq 0: a tail's start, no row's place in a search.
	if _, err := s.Search(ctx, store.SearchRequest{Query: all, From: from, To: to, Limit: 10, Before: empty}); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("search before Seq 0: %v, want ErrBadCursor", err)
	}
}
