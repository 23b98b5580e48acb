package sqlitestore

import (
	"context"
	"testing"
	"time"
	"unsafe"

	"github.com/logcollect/logcollect/internal/search/store"
)

// TestAppendKeepsNoMessageBytes: the caller may overwrite the bytes behind the rows'
// messages once Append returned (store.Sink hands the agent's buffers back then); what
// is stored is still what was appended.
func TestAppendKeepsNoMessageBytes(t *testing.T) {
	s := open(t, Config{})
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	const n = 300 // several blocks
	buf := make([]byte, 0, n*16)
	rows := rowsAt(base, 0, n, func(int) string { return "" })
	for i := range rows {
		start := len(buf)
		buf = append(buf, "line original "...)
		buf = append(buf, byte('a'+i%26))
		rows[i].Message = unsafe.String(&buf[start], len(buf)-start)
	}
	done := make(chan struct{})
	if err := s.Append(context.Background(), rows, func() { close(done) }); err != nil {
		t.Fatal(err)
	}
	for i := range buf { // the agent's next read into the same arena
		buf[i] = 'x'
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("append not committed within 30s")
	}
	res, err := s.Search(context.Background(), store.SearchRequest{Query: mustParse(t, "original"),
		From: base.Add(-time.Hour), To: base.Add(time.Hour), Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != n {
		t.Fatalf("found %d rows of %d", len(res.Rows), n)
	}
	for _, r := range res.Rows {
		if want := "line original " + string(rune('a'+(r.Offset/10)%26)); r.Message != want {
			t.Fatalf("row at offset %d: %q, want %q", r.Offset, r.Message, want)
		}
	}
}
