package logformat

import (
	"strings"
	"testing"
	"time"
)

// TestConfiguredTime covers the entry's time settings: a field or group, a layout (named
// or Go), a timezone for zone-less layouts.
func TestConfiguredTime(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		cfg  Config
		line string
		want time.Time // zero: the read time
		st   Status
	}{
		{"json field rfc3339", Config{Format: JSON, Time: Time{Field: "when", Layout: LayoutRFC3339}},
			`{"time":"2020-01-01T00:00:00Z","when":"2026-03-09T08:15:30Z"}`, time.Date(2026, 3, 9, 8, 15, 30, 0, time.UTC), Found},
		{"json field unix_ms", Config{Format: JSON, Time: Time{Field: "t", Layout: LayoutUnixMs}},
			`{"t":1741507200123}`, time.UnixMilli(1741507200123).UTC(), Found},
		{"json field unix as string", Config{Format: JSON, Time: Time{Field: "t", Layout: LayoutUnix}},
			`{"t":"1741507200"}`, time.Unix(1741507200, 0).UTC(), Found},
		{"json field missing", Config{Format: JSON, Time: Time{Field: "when"}}, `{"time":"2026-03-09T08:15:30Z"}`, time.Time{}, Failed},
		{"json Go layout in a zone", Config{Format: JSON, Time: Time{Field: "d", Layout: "02.01.2006 15:04", Timezone: "Europe/Paris"}},
			`{"d":"09.03.2026 08:15"}`, time.Date(2026, 3, 9, 8, 15, 0, 0, paris), Found},
		{"logfmt field", Config{Format: Logfmt, Time: Time{Field: "at", Layout: LayoutUnix}}, `level=info at=1741507200.25`,
			time.Unix(1741507200, 25e7).UTC(), Found},
		{"regex group", Config{Format: Regex, Pattern: `^\S+ (?P<when>\S+ \S+)`, Time: Time{Field: "when", Layout: "2006/01/02 15:04:05"}},
			`app 2026/03/09 08:15:30 started`, time.Date(2026, 3, 9, 8, 15, 30, 0, time.UTC), Found},
		{"regex no match", Config{Format: Regex, Pattern: `^(?P<when>\d+)`, Time: Time{Field: "when", Layout: LayoutUnix}},
			`x`, time.Time{}, Failed},
		{"plain Go layout over two words", Config{Time: Time{Layout: "2006/01/02 15:04:05.000"}},
			`2026/03/09 08:15:30.250 message`, time.Date(2026, 3, 9, 8, 15, 30, 25e7, time.UTC), Found},
		{"plain Go layout that does not match", Config{Time: Time{Layout: "2006/01/02 15:04:05"}},
			`hello world again`, time.Time{}, Failed},
		{"plain detection in a zone", Config{Time: Time{Timezone: "Europe/Paris"}},
			`2026-03-09 08:15:30 zone-less`, time.Date(2026, 3, 9, 8, 15, 30, 0, paris), Found},
		{"plain detection of a common log time in a zone", Config{Time: Time{Timezone: "Europe/Paris"}},
			`10.0.0.1 - - [09/Mar/2026:08:15:30.25] "GET / HTTP/1.1" 200 1`, time.Date(2026, 3, 9, 8, 15, 30, 25e7, paris), Found},
		{"a zone in the line wins over the timezone", Config{Time: Time{Timezone: "Europe/Paris"}},
			`2026-03-09T08:15:30Z zoned`, time.Date(2026, 3, 9, 8, 15, 30, 0, time.UTC), Found},
		{"nginx layout common_log", Config{Format: NginxCombined, Time: Time{Layout: LayoutCommonLog}},
			`1.1.1.1 - - [09/Mar/2026:08:15:30 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`, time.Date(2026, 3, 9, 8, 15, 30, 0, time.UTC), Found},
		{"syslog layout in a zone", Config{Format: Syslog, Time: Time{Layout: LayoutSyslog, Timezone: "Europe/Paris"}},
			`<13>Mar  9 08:15:30 h a: m`, time.Date(2026, 3, 9, 8, 15, 30, 0, paris), Found},
		{"detection off", Config{Time: Time{Layout: LayoutNone}}, `2026-03-09T08:15:30Z`, time.Time{}, NotFound},
		{"cri: the envelope's time only", Config{Format: CRI}, `2026-03-09T08:15:30Z stdout F x`, time.Time{}, NotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, st := p.Time([]byte(c.line), readTime)
			want := c.want
			if want.IsZero() {
				want = readTime
			}
			if st != c.st || !got.Equal(want) {
				t.Errorf("got %v %s, want %v %s", got, statusNames[st], want, statusNames[c.st])
			}
		})
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string // "" valid
	}{
		{Config{}, ""},
		{Config{Format: CRI}, ""},
		{Config{Format: "nginx"}, `format: "nginx" is not one of plain, json, logfmt, nginx_combined, apache_combined, syslog, regex, cri, docker`},
		{Config{Format: Regex}, "pattern: required"},
		{Config{Format: Regex, Pattern: `(a`}, "pattern: error parsing"},
		{Config{Format: Regex, Pattern: `(a)`}, "pattern: needs at least one named group"},
		{Config{Format: Regex, Pattern: `(?P<a>x)`, Time: Time{Field: "b"}}, `time.field: "b" is not a named group`},
		{Config{Format: JSON, Pattern: `x`}, "pattern: only used with format regex"},
		{Config{Format: Docker, Time: Time{Layout: LayoutUnix}}, "time: not used with format docker"},
		{Config{Time: Time{Field: "ts"}}, "time.field: format plain has no fields"},
		{Config{Format: JSON, Time: Time{Layout: "iso8601"}}, `time.layout: "iso8601" is neither one of none, rfc3339`},
		{Config{Format: JSON, Time: Time{Layout: "2006-01-02"}}, ""},
		{Config{Time: Time{Timezone: "Mars/Olympus"}}, "time.timezone: unknown time zone"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.cfg, err)
		case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
			t.Errorf("%+v: error %v, want one starting %q", c.cfg, err, c.want)
		}
	}
}

// The cache keys on the date and time only: the fraction and zone of each line count.
func TestTimeCached(t *testing.T) {
	p := MustNew(Config{})
	var c Cache
	for line, want := range map[string]time.Time{
		"2026-03-09T08:15:30Z a":        time.Date(2026, 3, 9, 8, 15, 30, 0, time.UTC),
		"2026-03-09T08:15:30.5Z b":      time.Date(2026, 3, 9, 8, 15, 30, 5e8, time.UTC),
		"2026-03-09T08:15:30+01:00 c":   time.Date(2026, 3, 9, 7, 15, 30, 0, time.UTC),
		"2026-03-09T08:15:30.25-0130 d": time.Date(2026, 3, 9, 9, 45, 30, 25e7, time.UTC),
	} {
		for range 2 {
			if got, st := p.TimeCached(&c, []byte(line), readTime); st != Found || !got.Equal(want) {
				t.Errorf("%s: %v %s, want %v", line, got, statusNames[st], want)
			}
		}
	}
}

// TestTimeCachedCLF: an access line's common log time through the cache is what Time
// finds, in a timezone and not, for lines sharing their second with other fractions
// and zones, and for lines the cache does not take (Time reads them).
func TestTimeCachedCLF(t *testing.T) {
	lines := []string{
		`10.0.0.1 - - [09/Mar/2026:08:15:30.25] "GET / HTTP/1.1" 200 1`,
		`10.0.0.2 - - [09/Mar/2026:08:15:30 +0000] "GET / HTTP/1.1" 200 1`,
		`10.0.0.3 - - [09/Mar/2026:08:15:30.5] "GET / HTTP/1.1" 200 1`,
		`10.0.0.4 - - [09/Mar/2026:08:15:31 -0700] "GET / HTTP/1.1" 200 1`,
		`10.0.0.5 - - [30/Feb/2026:08:15:31] "GET / HTTP/1.1" 200 1`,
		`09/Mar/2026:08:15:31 +0100 a common log time at the start`,
		`1 no time [ here`,
		`2026-03-09T08:15:32Z an RFC 3339 line between`,
		`10.0.0.6 - - [09/Mar/2026:08:15:31] "GET / HTTP/1.1" 200 1`,
	}
	for _, tz := range []string{"", "Europe/Paris"} {
		p := MustNew(Config{Time: Time{Timezone: tz}})
		var c Cache
		for range 2 {
			for _, line := range lines {
				want, wst := p.Time([]byte(line), readTime)
				if got, st := p.TimeCached(&c, []byte(line), readTime); st != wst || !got.Equal(want) {
					t.Errorf("%q %s: %v %s, Time gives %v %s", tz, line, got, statusNames[st], want, statusNames[wst])
				}
			}
		}
	}
}

// TestDaysFromCivil checks the arithmetic against time.Date over four centuries.
func TestDaysFromCivil(t *testing.T) {
	for d := time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2200; d = d.AddDate(0, 0, 1) {
		if got, want := daysFromCivil(d.Year(), int(d.Month()), d.Day()), d.Unix()/86400; got != want {
			if d.Unix() < 0 && d.Unix()%86400 == 0 || got != want {
				t.Fatalf("%s: %d, want %d", d.Format(time.DateOnly), got, want)
			}
		}
	}
}

// BenchmarkTime is the cost of finding a line's time, per line, beside the cost of not
// looking (layout none): the agent's target is detection within 15 % of the file path's
// CPU per line, which BenchmarkReadFile in internal/agent/tail measures whole.
func BenchmarkTime(b *testing.B) {
	lines := map[string]string{
		"rfc3339": "2026-11-25T14:00:00.000Z INFO service=checkout request_id=00000001 user=u000001 path=/api/v1/items status=200",
		"nginx":   `10.0.0.1 - - [25/Nov/2026:14:00:00 +0000] "GET /api/v1/items HTTP/1.1" 200 512 "-" "curl/8.5"`,
		"syslog":  "Nov 25 14:00:00 host app[42]: service=checkout request_id=00000001 user=u000001 path=/api/v1/items",
		"json":    `{"level":"info","ts":1764079200123,"service":"checkout","request_id":"00000001","path":"/api/v1/items"}`,
		"none":    "INFO service=checkout request_id=00000001 user=u000001 path=/api/v1/items status=200 no time at all",
	}
	now := time.Now()
	for name, line := range lines {
		for _, cfg := range []Config{{}, {Time: Time{Layout: LayoutNone}}} {
			p := MustNew(cfg)
			label := name + "/detect"
			if p.Off() {
				label = name + "/off"
			}
			b.Run(label, func(b *testing.B) {
				l := []byte(line)
				var c Cache
				for b.Loop() {
					p.TimeCached(&c, l, now)
				}
			})
		}
	}
}

// FuzzTimeCached: whatever line came before, the cache gives what Time gives.
func FuzzTimeCached(f *testing.F) {
	f.Add(`10.0.0.1 - - [09/Mar/2026:08:15:30.25] "GET /"`, `10.0.0.2 - - [09/Mar/2026:08:15:30 -0700] "GET /"`)
	f.Add(`2026-03-09T08:15:30Z a`, `2026-03-09T08:15:30.5+01:00 b`)
	f.Add(`1 [09/Mar/2026:08:15:30`, `09/Mar/2026:08:15:30 +0100 x`)
	p := MustNew(Config{})
	f.Fuzz(func(t *testing.T, a, b string) {
		var c Cache
		for _, line := range []string{a, b, a} {
			want, wst := p.Time([]byte(line), readTime)
			if got, st := p.TimeCached(&c, []byte(line), readTime); st != wst || !got.Equal(want) {
				t.Fatalf("%q after %q: %v %s, Time gives %v %s", line, a, got, statusNames[st], want, statusNames[wst])
			}
		}
	})
}
