package sqlitestore

import (
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/store"
	"github.com/logcollect/logcollect/internal/testing/loadgen"
)

// BenchmarkBuildBlocks is the Go side of an append, outside the writer: 4,096 lines of
// issue 22's realistic access log (one file, random IPs and ids) made into blocks —
// words split, folded and made distinct, lines encoded and compressed.
func BenchmarkBuildBlocks(b *testing.B) {
	const n = 4096
	gen := loadgen.Realistic{N: n, End: time.Now(), Span: time.Hour}
	rows := make([]store.Row, n)
	var off int64
	for i := range rows {
		line, at := gen.Line(i)
		rows[i] = store.Row{Time: at, ReadTime: at, Host: "h", Path: "/var/log/nginx/access.log", FileID: "1:2",
			Offset: off, End: off + int64(len(line)) + 1, Message: line, Format: "nginx_combined"}
		off = rows[i].End
	}
	c := testCodec(b)
	b.ResetTimer()
	for range b.N {
		buildBlocks(rows, DefaultMaxTimeSkew, c)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/line")
}
