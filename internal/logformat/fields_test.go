package logformat

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

func fieldMap(fs []Field) map[string]any {
	m := map[string]any{}
	for _, f := range fs {
		m[f.Name] = f.Value
	}
	return m
}

func TestParse(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		line string
		want map[string]any
	}{
		{"nginx combined", Config{Format: "nginx_combined"},
			`10.0.0.1 - alice [01/Dec/2026:10:11:12 +0100] "GET /a?b=1 HTTP/1.1" 200 5120 "https://r/" "Mozilla/5.0 (X11; Linux)"`,
			map[string]any{"remote_addr": "10.0.0.1", "remote_user": "alice", "time_local": "01/Dec/2026:10:11:12 +0100",
				"request": "GET /a?b=1 HTTP/1.1", "method": "GET", "url": "/a?b=1", "protocol": "HTTP/1.1",
				"status": int64(200), "body_bytes_sent": int64(5120), "http_referer": "https://r/", "http_user_agent": "Mozilla/5.0 (X11; Linux)"}},
		{"nginx dashes", Config{Format: "nginx_combined"},
			`::1 - - [01/Dec/2026:10:11:12 +0000] "-" 400 - "-" "-"`,
			map[string]any{"remote_addr": "::1", "time_local": "01/Dec/2026:10:11:12 +0000",
				"status": int64(400), "body_bytes_sent": int64(0)}},
		{"apache combined", Config{Format: "apache_combined"},
			`192.168.1.9 ident frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 304 2326 "http://www.example.com/start.html" "Mozilla/4.08"`,
			map[string]any{"remote_addr": "192.168.1.9", "ident": "ident", "remote_user": "frank", "time_local": "10/Oct/2000:13:55:36 -0700",
				"request": "GET /apache_pb.gif HTTP/1.0", "method": "GET", "url": "/apache_pb.gif", "protocol": "HTTP/1.0",
				"status": int64(304), "body_bytes_sent": int64(2326), "http_referer": "http://www.example.com/start.html", "http_user_agent": "Mozilla/4.08"}},
		{"json", Config{Format: "json"}, ` {"level":"warn","n":12345678901234567,"o":{"a":[1,"x"]},"ok":true}`,
			map[string]any{"level": "warn", "n": json.Number("12345678901234567"), "o": map[string]any{"a": []any{json.Number("1"), "x"}}, "ok": true}},
		{"logfmt", Config{Format: "logfmt"}, `level=info msg="hello \"w\" world" took=12ms flag`,
			map[string]any{"level": "info", "msg": `hello "w" world`, "took": "12ms", "flag": true}},
		{"regex", Config{Format: "regex", Pattern: `^(?P<level>[A-Z]+) (?P<code>\d+)`}, "ERROR 42 boom",
			map[string]any{"level": "ERROR", "code": "42"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := p.Fields(c.line)
			if err != nil {
				t.Fatal(err)
			}
			if got := fieldMap(fs); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %#v\nwant %#v", got, c.want)
			}
		})
	}
}

func TestParseFailures(t *testing.T) {
	cases := []struct {
		format, line string
	}{
		{"nginx_combined", "not an access log"},
		{"apache_combined", `1.2.3.4 - - [x] "GET / HTTP/1.1" abc 1 "-" "-"`},
		{"json", `["an array"]`},
		{"json", `{"a":1} trailing`},
		{"json", `{"a":`},
		{"logfmt", `=value`},
		{"logfmt", `k="unterminated`},
		{"logfmt", `   `},
	}
	for _, c := range cases {
		p, err := New(Config{Format: Format(c.format)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Fields(c.line); !errors.Is(err, ErrNoMatch) {
			t.Errorf("%s %q: err %v, want ErrNoMatch", c.format, c.line, err)
		}
	}
}

func TestFieldTime(t *testing.T) {
	p, _ := New(Config{Format: "nginx_combined"})
	fs, err := p.Fields(`1.1.1.1 - - [01/Dec/2026:10:11:12 +0100] "GET / HTTP/1.1" 200 1 "-" "-"`)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := p.FieldTime(fs)
	if want := time.Date(2026, 12, 1, 9, 11, 12, 0, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("nginx time %v %v, want %v", got, ok, want)
	}
	j, _ := New(Config{Format: "json", Time: Time{Field: "ts"}})
	for line, want := range map[string]time.Time{
		`{"ts":"2026-12-01T08:00:00.5Z"}`: time.Date(2026, 12, 1, 8, 0, 0, 5e8, time.UTC),
		`{"ts":1764576000000}`:            time.UnixMilli(1764576000000).UTC(),
	} {
		fs, _ := j.Fields(line)
		if got, ok := j.FieldTime(fs); !ok || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %v", line, got, ok, want)
		}
	}
	fs, _ = j.Fields(`{"ts":"yesterday"}`)
	if _, ok := j.FieldTime(fs); ok {
		t.Error("an unparsable time was accepted")
	}
}

func TestDetectFields(t *testing.T) {
	cases := []struct {
		name, line string
		want       map[string]any // nil: no fields
	}{
		{"json object", `{"level":"info","n":1.50,"o":{"a":1},"ok":false,"none":null}`,
			map[string]any{"level": "info", "n": json.Number("1.50"), "o": map[string]any{"a": json.Number("1")}, "ok": false, "none": nil}},
		{"json after blanks", ` {"a":"b"}`, map[string]any{"a": "b"}},
		{"broken json is not logfmt", `{"a=1 b=2`, nil},
		{"logfmt", `level=error service=db msg="database timeout"`,
			map[string]any{"level": "error", "service": "db", "msg": "database timeout"}},
		{"bare words skipped", `took 12ms user=bob op=login done`, map[string]any{"user": "bob", "op": "login"}},
		{"escaped quote", `a=1 msg="say \"hi\"" b=2`, map[string]any{"a": "1", "msg": `say "hi"`, "b": "2"}},
		{"unterminated quote runs to the end", `a=1 msg="no end here`, map[string]any{"a": "1", "msg": "no end here"}},
		{"one pair is prose", `set x=1 and go`, nil},
		{"two '=' in one pair", `url=/a?b=c done`, nil},
		{"spaced equals", `a = b and c = d`, nil},
		{"leading '='", `=x =y`, nil},
		{"plain text", `GET /index.html 200`, nil},
		{"empty", ``, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := DetectFields(c.line)
			if c.want == nil {
				if fs != nil {
					t.Fatalf("got %#v, want none", fieldMap(fs))
				}
				return
			}
			if got := fieldMap(fs); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %#v\nwant %#v", got, c.want)
			}
		})
	}
}

func TestParserOf(t *testing.T) {
	for _, name := range Names() {
		p := ParserOf(name)
		switch Format(name) {
		case Plain, CRI, Docker, Regex:
			if p != nil {
				t.Errorf("%s: a parser, want none", name)
			}
			if got, want := Detected(name), name != string(Regex); got != want {
				t.Errorf("Detected(%s) = %v", name, got)
			}
		default:
			if p == nil || p.Format() != Format(name) {
				t.Errorf("%s: parser %v", name, p)
			}
			if Detected(name) {
				t.Errorf("Detected(%s) with a parser", name)
			}
		}
	}
	if ParserOf("from_a_newer_agent") != nil || Detected("from_a_newer_agent") || !Detected("") {
		t.Error("unknown or empty names")
	}
}

// TestSpec: a regex entry's spec carries its pattern, which ParserOfSpec compiles; other
// formats' specs are their names.
func TestSpec(t *testing.T) {
	const pattern = `^(?P<level>\w+) (?P<msg>.*)$`
	if got := Spec("regex", pattern); got != "regex:"+pattern {
		t.Fatalf("Spec(regex) = %q", got)
	}
	for _, c := range [][2]string{{"json", "x"}, {"regex", ""}, {"", ""}} {
		if got := Spec(c[0], c[1]); got != c[0] {
			t.Errorf("Spec(%q, %q) = %q, want the name", c[0], c[1], got)
		}
	}
	fields, err := ParserOfSpec(Spec("regex", pattern)).Fields("warn low disk")
	if err != nil || len(fields) != 2 || fields[0].Value != "warn" || fields[1].Value != "low disk" {
		t.Errorf("fields by the spec's pattern: %v, %v", fields, err)
	}
	if ParserOfSpec("regex") != nil || ParserOfSpec("regex:(") != nil || ParserOfSpec("json") != ParserOf("json") {
		t.Error("ParserOfSpec: regex without a pattern, or one that does not compile, has no parser; a name has ParserOf's")
	}
}
