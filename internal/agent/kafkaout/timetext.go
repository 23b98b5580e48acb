package kafkaout

import "time"

// timeText formats times as the time header carries them, RFC 3339 in UTC with the
// fraction's trailing zeros trimmed (time.RFC3339Nano), remembering the date and time of
// the last second it formatted: a log's consecutive lines are mostly in the same second,
// and AppendFormat cost 50–120 ns a record, up to a tenth of the agent's CPU per line of
// an access log (docs/benchmarks.md, issue 20). Its zero value is ready.
type timeText struct {
	sec    int64
	prefix []byte // "2006-01-02T15:04:05" of sec; nil: none yet
}

// appendTo appends t's text to dst.
func (c *timeText) appendTo(dst []byte, t time.Time) []byte {
	t = t.UTC()
	if sec := t.Unix(); c.prefix == nil || sec != c.sec {
		if y := t.Year(); y < 0 || y > 9999 { // the same year while sec is: checked once
			return t.AppendFormat(dst, time.RFC3339Nano) // not 19 bytes before the fraction
		}
		c.sec, c.prefix = sec, t.AppendFormat(c.prefix[:0], "2006-01-02T15:04:05")
	}
	dst = append(dst, c.prefix...)
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i > 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		dst = append(dst, frac[:n]...)
	}
	return append(dst, 'Z')
}
