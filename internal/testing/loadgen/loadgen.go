// Package loadgen makes the synthetic access-log lines of the store and standalone
// benchmarks, so every engine and run is measured on the same data.
package loadgen

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// RareWord is in every 100,000th line (the 8th, the 100,008th, ...).
const RareWord = "zebrafish"

// AccessTime is the time every line carries in its text (a benchmark that needs event
// times spread out replaces it).
const AccessTime = "01/Dec/2026:08:00:00 +0000"

// AccessLine is the i-th line: about 150 bytes, client IPs over 7×251×253 values, 10,007
// paths, six statuses, and RareWord in every 100,000th line.
func AccessLine(i int) string {
	extra := ""
	if i%100000 == 7 {
		extra = " " + RareWord
	}
	return fmt.Sprintf(`10.%d.%d.%d - - [`+AccessTime+`] "GET /api/v1/items/%d HTTP/1.1" %d %d "-" "Mozilla/5.0 (X11; Linux x86_64) curl/8.5"%s`,
		i%7, (i/7)%251, i%253, i%10007, []int{200, 200, 200, 304, 404, 500}[i%6], 100+i%9000, extra)
}

// Realistic makes an access log as a busy web service writes it (issue 22's comparison):
// random client IPs, paths carrying ids, a handful of user agents, statuses and methods in
// plausible shares, each line stamped in its text (nginx combined) with a time spread
// evenly over Span before End. Line i depends only on i, so every engine and run is fed
// the same lines.
type Realistic struct {
	N    int           // lines in the log
	End  time.Time     // the newest line's time
	Span time.Duration // the oldest line is this much before End
}

// Absent is a word no Realistic line holds; Prefix starts a few hundred of the ids of
// 2,000,000 lines (ids up to a million: 9999, 99990–99999, 999900–999999).
const (
	Absent = "zyzzogeton"
	Prefix = "9999"
)

// CommonAgent is the user agent of one line in five (the common word, kube).
const CommonAgent = "kube-probe/1.29"

var (
	agents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
		"curl/8.5.0",
	}
	methods  = []string{"GET", "GET", "GET", "GET", "POST", "PUT", "DELETE"}
	statuses = []int{200, 200, 200, 200, 200, 200, 200, 201, 204, 301, 304, 304, 400, 404, 404, 500, 503}
	paths    = []string{"/api/v1/users/%d", "/api/v1/users/%d/orders", "/api/v1/orders/%d/items", "/static/img/%d.png", "/search?page=%d"}
)

// Line is the i-th line and its time.
func (r Realistic) Line(i int) (string, time.Time) {
	rng := rand.New(rand.NewPCG(uint64(i), 0x9e3779b97f4a7c15))
	at := r.End.Add(-r.Span + time.Duration(int64(r.Span)/int64(max(r.N, 1))*int64(i)))
	ip := rng.Uint32()
	agent := agents[rng.IntN(len(agents))]
	if i%5 == 0 {
		agent = CommonAgent
	}
	path := fmt.Sprintf(paths[rng.IntN(len(paths))], rng.IntN(1_000_000))
	return fmt.Sprintf(`%d.%d.%d.%d - - [%s] "%s %s HTTP/1.1" %d %d "-" "%s"`,
		ip>>24, ip>>16&255, ip>>8&255, ip&255, at.UTC().Format("02/Jan/2006:15:04:05 -0700"),
		methods[rng.IntN(len(methods))], path, statuses[rng.IntN(len(statuses))], 200+rng.IntN(50000), agent), at
}

// ID is the number in the path of line i (an id up to a million: a rare number, in
// a line or a few of 2,000,000): the path's last run of digits.
func (r Realistic) ID(i int) string {
	l, _ := r.Line(i)
	_, req, _ := strings.Cut(l, `"`) // the request: its method, the path, the protocol
	path, _, _ := strings.Cut(req, " HTTP/")
	end := strings.LastIndexAny(path, "0123456789") + 1
	start := strings.LastIndexFunc(path[:end], func(c rune) bool { return c < '0' || c > '9' }) + 1
	return path[start:end]
}

// IP is the client IP of line i (a rare phrase: one line in 2^32 IPs).
func (r Realistic) IP(i int) string {
	l, _ := r.Line(i)
	ip, _, _ := strings.Cut(l, " ")
	return ip
}
