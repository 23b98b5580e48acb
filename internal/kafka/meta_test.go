package kafka

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestMetaRoundTrip(t *testing.T) {
	times := []time.Time{
		{},
		time.Date(2026, 11, 25, 0, 0, 0, 1_000_000, time.UTC),
		time.Date(2026, 11, 25, 14, 3, 7, 123456789, time.UTC),
		time.Date(1969, 7, 20, 20, 17, 40, 999999999, time.UTC), // before the epoch
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	}
	ids := []struct {
		id      string
		numeric bool
	}{
		{"8:42", true}, {"0:0", true}, {"2049:131", true},
		{"18446744073709551615:18446744073709551615", true},
		{"08:42", false}, {"8:042", false}, // leading zeros would not come back as written
		{"-1:2", false}, {"+1:2", false}, {"1:2:3", false}, {":", false}, {"8:", false},
		{"18446744073709551616:1", false}, // beyond uint64
		{"fp-0123456789abcdef", false}, {"", false}, {"journal:ü", false},
	}
	offsets := []int64{0, 1, 127, 128, 1 << 40, math.MaxInt64}
	for _, id := range ids {
		enc := AppendFileID(nil, id.id)
		if got := enc[0] == metaFileIDNumeric; got != id.numeric {
			t.Errorf("file id %q: numeric form %v, want %v", id.id, got, id.numeric)
		}
		for _, off := range offsets {
			for _, at := range times {
				v := AppendMeta([]byte("prefix"), off, enc, at)[len("prefix"):]
				if n := MetaLen(off, enc, !at.IsZero()); len(v) > n {
					t.Errorf("%q %d %s: %d bytes, MetaLen says at most %d", id.id, off, at, len(v), n)
				}
				m, err := ParseMeta(v)
				if err != nil {
					t.Fatalf("%q %d %s: %v", id.id, off, at, err)
				}
				if m.Offset != off || m.FileID != id.id || !m.Time.Equal(at) {
					t.Errorf("wrote %d %q %s, read %d %q %s", off, id.id, at, m.Offset, m.FileID, m.Time)
				}
				if !at.IsZero() && m.Time.Location() != time.UTC {
					t.Errorf("time read in %s, want UTC", m.Time.Location())
				}
			}
		}
	}
}

// TestMetaSize pins what the header is for: an access-log record's offset, file identity
// and event time in a fraction of the text headers' bytes.
func TestMetaSize(t *testing.T) {
	at := time.Date(2026, 11, 25, 14, 3, 7, 1_000_000, time.UTC)
	v := AppendMeta(nil, 240_000_000, AppendFileID(nil, "2049:1234567"), at)
	text := len("offset") + len("240000000") + len("file_id") + len("2049:1234567") + len("time") + len("2026-11-25T14:03:07.001Z")
	if len(HeaderMeta)+len(v) > 24 || 2*(len(HeaderMeta)+len(v)) > text {
		t.Errorf("lc header %d bytes of name and value, the text headers %d", len(HeaderMeta)+len(v), text)
	}
}

func TestParseMetaRefuses(t *testing.T) {
	if !time.Unix(minMetaUnix, 0).Equal(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		!time.Unix(maxMetaUnix, 0).Equal(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)) {
		t.Fatalf("the bounds are %s and %s", time.Unix(minMetaUnix, 0).UTC(), time.Unix(maxMetaUnix, 0).UTC())
	}
	good := AppendMeta(nil, 300, AppendFileID(nil, "fp-abc"), time.Date(2026, 11, 25, 0, 0, 0, 5, time.UTC))
	if _, err := ParseMeta(good); err != nil {
		t.Fatal(err)
	}
	for n := range len(good) {
		if _, err := ParseMeta(good[:n]); !errors.Is(err, ErrBadMeta) {
			t.Errorf("cut to %d of %d bytes: %v, want ErrBadMeta", n, len(good), err)
		}
	}
	bad := map[string][]byte{
		"left over":       append(append([]byte{}, good...), 0),
		"version 2":       append([]byte{2 << 4}, good[1:]...),
		"unknown flag":    append([]byte{good[0] | 1<<1}, good[1:]...),
		"offset > int64":  {metaVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0},
		"text past end":   {metaVersion, 0, 9, 'a'},
		"nanoseconds ≥1s": {metaVersion | metaTime, 0, 0, 0, 0, 0, 0x80, 0x94, 0xeb, 0xdc, 0x03},
		"year 10000":      AppendMeta(nil, 0, AppendFileID(nil, "1:1"), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)),
	}
	for name, v := range bad {
		if _, err := ParseMeta(v); !errors.Is(err, ErrBadMeta) {
			t.Errorf("%s: %v, want ErrBadMeta", name, err)
		}
	}
}

// FuzzParseMeta: no value makes ParseMeta panic, and what it reads is what AppendMeta
// writes back.
func FuzzParseMeta(f *testing.F) {
	f.Add(AppendMeta(nil, 12, AppendFileID(nil, "8:42"), time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)))
	f.Add(AppendMeta(nil, 0, AppendFileID(nil, "x"), time.Time{}))
	f.Fuzz(func(t *testing.T, v []byte) {
		m, err := ParseMeta(v)
		if err != nil {
			return
		}
		again, err := ParseMeta(AppendMeta(nil, m.Offset, AppendFileID(nil, m.FileID), m.Time))
		if err != nil || again.Offset != m.Offset || again.FileID != m.FileID || !again.Time.Equal(m.Time) {
			t.Fatalf("%x read as %+v, written and read again as %+v (%v)", v, m, again, err)
		}
	})
}
