package store

import (
	"maps"
	"testing"
)

func TestLineFields(t *testing.T) {
	entry := map[string]string{"team": "core", "level": "entry wins"}
	cases := []struct {
		name, format, line string
		want               map[string]string
	}{
		{"plain json: scalars as written", "", `{"level":"info","n":1.50,"big":12345678901234567890,"ok":true,"nil":null,"o":{"a":1},"path":"x"}`,
			map[string]string{"n": "1.50", "big": "12345678901234567890", "ok": "true"}},
		{"plain logfmt", "plain", `msg="a b" user=bob host=other`, map[string]string{"msg": "a b", "user": "bob"}},
		{"plain prose", "", `x=1 is all`, nil},
		{"access log typed", "nginx_combined", `10.0.0.1 - bob [01/Dec/2026:10:11:12 +0100] "GET /a HTTP/1.1" 200 5 "-" "curl"`,
			map[string]string{"remote_addr": "10.0.0.1", "remote_user": "bob", "time_local": "01/Dec/2026:10:11:12 +0100",
				"request": "GET /a HTTP/1.1", "method": "GET", "url": "/a", "protocol": "HTTP/1.1", "status": "200",
				"body_bytes_sent": "5", "http_user_agent": "curl"}}, // "-" is absent
		{"declared json, not json", "json", `a=1 b=2`, nil},
		{"declared logfmt", "logfmt", `a=1 flag`, map[string]string{"a": "1", "flag": "true"}},
		{"regex: no pattern here", "regex", `a=1 b=2`, nil},
		{"regex with its pattern", `regex:^(?P<level>\w+) (?P<code>\d+) (?P<msg>.*)$`, `error 503 disk full`,
			map[string]string{"level": "error", "code": "503", "msg": "disk full"}}, // the entry's level wins below
		{"regex, a line not of the pattern", `regex:^(?P<level>\w+) (?P<code>\d+)$`, `no code here`, nil},
		{"regex whose pattern does not compile", `regex:(?P<a>`, `a=1 b=2`, nil},
		{"docker: detected", "docker", `a=1 b=2`, map[string]string{"a": "1", "b": "2"}},
		{"unknown format", "from_a_newer_agent", `a=1 b=2`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fp := NewFieldParser(c.format)
			got := fp.LineFields(c.line, entry)
			want := maps.Clone(c.want)
			if want == nil {
				want = map[string]string{}
			}
			want["team"], want["level"] = "core", "entry wins"
			if !maps.Equal(got, want) {
				t.Errorf("got  %v\nwant %v", got, want)
			}
			if c.want == nil && fp.Parse(c.line) != nil {
				t.Errorf("Parse = %v, want nil", fp.Parse(c.line))
			}
		})
	}
}

// TestFieldOfAccessLine: Field, which parses one field of an access-log line, answers as
// LineFields does, for every field name, on lines of the format and near misses, with
// entry fields beside them.
func TestFieldOfAccessLine(t *testing.T) {
	lines := []string{
		`10.0.0.1 - bob [01/Dec/2026:10:11:12 +0100] "GET /a HTTP/1.1" 200 5 "-" "curl"`,
		`10.0.0.1 - - [01/Dec/2026:10:11:12 +0100] "-" 007 - "http://r/" "-" trailing`,
		`10.0.0.1 ident bob [t] "POST /b?c=d HTTP/2.0 extra" 503 99999999999999999999 "" "a b"`,
		`10.0.0.1 - - [t] "GET" 404 0 "-" "x"`,
		`not an access line status=500`,
		``,
	}
	names := []string{"remote_addr", "ident", "remote_user", "time_local", "request", "method", "url", "protocol",
		"status", "body_bytes_sent", "http_referer", "http_user_agent", "team", "host", "time", "message", "absent"}
	for _, format := range []string{"nginx_combined", "apache_combined"} {
		fp := NewFieldParser(format)
		for _, entry := range []map[string]string{nil, {"team": "core", "status": "entry wins"}} {
			for _, line := range lines {
				want := fp.LineFields(line, entry)
				for _, name := range names {
					got, ok, handled := fp.Field(line, entry, name)
					w, wok := want[name]
					if !handled || got != w || ok != wok {
						t.Errorf("%s %q entry %v, %s: %q %v (handled %v), LineFields %q %v", format, line, entry, name, got, ok, handled, w, wok)
					}
				}
			}
		}
	}
	if _, _, handled := NewFieldParser("json").Field(`{"a":1}`, nil, "a"); handled {
		t.Error("json: Field handled a field it would have to parse the whole line for")
	}
}
