// Package loadgen makes the synthetic access-log lines of the store and standalone
// benchmarks, so every engine and run is measured on the same data.
package loadgen

import "fmt"

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
