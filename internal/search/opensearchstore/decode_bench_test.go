package opensearchstore

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// pageAnswer is an OpenSearch answer (filtered by Store.searchPath) to a first page of n access-log documents as the
// transfer writes them (nginx_combined fields parsed), with a 48-bucket histogram.
func pageAnswer(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"took":3,"hits":{"hits":[`) // as Store.searchPath's filter_path leaves it
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		at := t0.Add(-time.Duration(i) * 3600 * time.Microsecond)
		ip := fmt.Sprintf("10.%d.%d.%d", i%7, i%251, i%199)
		msg := fmt.Sprintf(`%s - - [%s] \"GET /api/v1/items/%d HTTP/1.1\" 200 %d \"-\" \"Mozilla/5.0 (X11; Linux x86_64) curl/8.5\"`,
			ip, at.Format("02/Jan/2006:15:04:05 -0700"), 9000+i, 100+i)
		fmt.Fprintf(&b, `{"_source":{"@timestamp":%q,"read_time":%q,"message":"%s","host":"web-%d","path":"/var/log/nginx/access.log","file_id":"64769:1311","offset":%d,"topic":"web","kafka":{"partition":%d,"offset":%d},"remote_addr":%q,"time_local":%q,"request":"GET /api/v1/items/%d HTTP/1.1","method":"GET","url":"/api/v1/items/%d","protocol":"HTTP/1.1","status":200,"body_bytes_sent":%d,"http_user_agent":"Mozilla/5.0 (X11; Linux x86_64) curl/8.5"},"sort":[%d,%d,%d,%d]}`,
			at.Format(time.RFC3339Nano), at.Add(time.Second).Format(time.RFC3339Nano), msg, i%3, 150*i, i%3, 1000000+i,
			ip, at.Format("02/Jan/2006:15:04:05 -0700"), 9000+i, 9000+i, 100+i, at.UnixMilli(), 150*i, i%3, 1000000+i)
	}
	b.WriteString(`]},"aggregations":{"h":{"buckets":[`)
	for i := range 48 {
		if i > 0 {
			b.WriteByte(',')
		}
		at := t0.Add(-time.Duration(48-i) * 30 * time.Minute)
		fmt.Fprintf(&b, `{"key_as_string":%q,"key":%d,"doc_count":%d}`, at.Format(time.RFC3339), at.UnixMilli(), 20000+i)
	}
	b.WriteString(`]}}}`)
	return b.Bytes()
}

// BenchmarkDecodePage measures turning a first page's answer (100 hits) into rows: the
// server's own work per search besides OpenSearch's.
func BenchmarkDecodePage(b *testing.B) {
	for _, n := range []int{100, 10} {
		b.Run(fmt.Sprintf("%d_hits", n), func(b *testing.B) {
			answer := pageAnswer(n)
			from := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
			b.SetBytes(int64(len(answer)))
			b.ReportAllocs()
			for b.Loop() {
				var resp hitsResp
				if err := resp.read(answer); err != nil { // as Store.do
					b.Fatal(err)
				}
				_ = resp.rows(true)
				if _, err := buckets(&resp, from, from.Add(24*time.Hour), 30*time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
