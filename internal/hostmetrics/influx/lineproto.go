package influx

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/logcollect/logcollect/internal/hostmetrics"
)

// Escapers of InfluxDB's line protocol: measurements escape commas and spaces; tag keys,
// tag values and field keys also escape '='. A newline cannot be represented at all and
// becomes an escaped space.
var (
	measurementEscaper = strings.NewReplacer(`,`, `\,`, ` `, `\ `, "\n", `\ `)
	keyEscaper         = strings.NewReplacer(`,`, `\,`, `=`, `\=`, ` `, `\ `, "\n", `\ `)
)

// AppendLine appends one point in line protocol with second precision, and a newline.
// Tags are sorted by key (InfluxDB's recommendation, and a stable output); empty tag values
// and NaN or infinite fields cannot be written and are left out. ok is false when nothing
// was appended because no field was left.
func AppendLine(buf []byte, p hostmetrics.Point) ([]byte, bool) {
	fields := make([]string, 0, len(p.Fields))
	for k, v := range p.Fields {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			fields = append(fields, k)
		}
	}
	if len(fields) == 0 || p.Measurement == "" {
		return buf, false
	}
	sort.Strings(fields)
	tags := make([]string, 0, len(p.Tags))
	for k, v := range p.Tags {
		if k != "" && v != "" {
			tags = append(tags, k)
		}
	}
	sort.Strings(tags)

	buf = append(buf, measurementEscaper.Replace(p.Measurement)...)
	for _, k := range tags {
		buf = append(buf, ',')
		buf = append(buf, keyEscaper.Replace(k)...)
		buf = append(buf, '=')
		buf = append(buf, keyEscaper.Replace(p.Tags[k])...)
	}
	for i, k := range fields {
		if i == 0 {
			buf = append(buf, ' ')
		} else {
			buf = append(buf, ',')
		}
		buf = append(buf, keyEscaper.Replace(k)...)
		buf = append(buf, '=')
		// 'f' with -1 keeps every value a float (no exponent, no 'i' suffix), so a field
		// never changes type between writes (InfluxDB refuses that).
		buf = strconv.AppendFloat(buf, p.Fields[k], 'f', -1, 64)
	}
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, p.Time.Unix(), 10)
	return append(buf, '\n'), true
}
