package entry

import (
	"strings"
	"testing"
	"time"
)

func TestParseList(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		allowed []string
		want    string // error substring; "" means valid
		count   int
	}{
		{"original format", `[{"path":"/var/log/a.log","topic":"a_log"}]`, nil, "", 1},
		{"empty list", `[]`, nil, "", 0},
		{"all options", `[{"path":"/var/log/app/*.log","topic":"app","exclude":["*.gz"],"start":"beginning",
			"multiline":{"pattern":"^\\s","match":"after","max_lines":5,"timeout":"2s"},
			"include_lines":["ERROR"],"exclude_lines":["^DEBUG"],"fields":{"service":"x"},"max_line_bytes":100}]`, nil, "", 1},
		{"bad json", `[{"path":`, nil, "decode entries", 0},
		{"not a list", `{"path":"/a","topic":"t"}`, nil, "decode entries", 0},
		{"trailing data", `[] []`, nil, "trailing data", 0},
		{"missing topic", `[{"path":"/a.log"}]`, nil, "topic: required", 0},
		{"missing path", `[{"topic":"t"}]`, nil, "path: required", 0},
		{"relative path", `[{"path":"a.log","topic":"t"}]`, nil, "must be absolute", 0},
		{"unknown field", `[{"path":"/a.log","topic":"t","colour":"red"}]`, nil, "unknown field", 0},
		{"bad regex", `[{"path":"/a.log","topic":"t","exclude_lines":["("]}]`, nil, "exclude_lines", 0},
		{"bad multiline", `[{"path":"/a.log","topic":"t","multiline":{"pattern":"x","match":"middle"}}]`, nil, "multiline.match", 0},
		{"multiline without pattern", `[{"path":"/a.log","topic":"t","multiline":{}}]`, nil, "multiline.pattern: required", 0},
		{"bad timeout", `[{"path":"/a.log","topic":"t","multiline":{"pattern":"x","timeout":"soon"}}]`, nil, "invalid duration", 0},
		{"bad start", `[{"path":"/a.log","topic":"t","start":"middle"}]`, nil, "start: must be one of", 0},
		{"duplicate path", `[{"path":"/a.log","topic":"t"},{"path":"/a.log","topic":"u"}]`, nil, "listed twice", 0},
		{"outside allowlist", `[{"path":"/etc/shadow","topic":"t"}]`, []string{"/var/log/**"}, "outside agent.allowed_paths", 0},
		{"inside allowlist", `[{"path":"/var/log/nginx/*.log","topic":"t"}]`, []string{"/var/log/**"}, "", 1},
		{"allowlist glob match", `[{"path":"/srv/app.log","topic":"t"}]`, []string{"/srv/*.log"}, "", 1},
		{"formats", `[{"path":"/a.log","topic":"t","format":"nginx_combined","time":{"timezone":"Europe/Paris"}},
			{"path":"/b.log","topic":"t","format":"regex","pattern":"^(?P<ts>\\S+)","time":{"field":"ts","layout":"unix_ms"}},
			{"path":"/var/log/pods/*/*/*.log","topic":"k8s","format":"cri"}]`, nil, "", 3},
		{"bad format", `[{"path":"/a.log","topic":"t","format":"nginx"}]`, nil,
			`entry "/a.log": format: "nginx" is not one of plain, json, logfmt, nginx_combined, apache_combined, syslog, regex, cri, docker`, 0},
		{"regex without pattern", `[{"path":"/a.log","topic":"t","format":"regex"}]`, nil, `entry "/a.log": pattern: required`, 0},
		{"bad layout", `[{"path":"/a.log","topic":"t","format":"json","time":{"layout":"iso"}}]`, nil, `entry "/a.log": time.layout: "iso" is neither`, 0},
		{"bad timezone", `[{"path":"/a.log","topic":"t","time":{"timezone":"Mars/Olympus"}}]`, nil, `time.timezone: unknown time zone`, 0},
		{"unknown time key", `[{"path":"/a.log","topic":"t","time":{"zone":"UTC"}}]`, nil, "unknown field", 0},
		{"time with cri", `[{"path":"/a.log","topic":"t","format":"cri","time":{"layout":"unix"}}]`, nil, "time: not used with format cri", 0},
		{"whole value rejected", `[{"path":"/a.log","topic":"t"},{"path":"/b.log"}]`, nil, "topic: required", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseList([]byte(tt.json), tt.allowed)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want %q", err, tt.want)
				}
				if got != nil {
					t.Fatalf("a rejected value must return no entries, got %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.count {
				t.Fatalf("%d entries, want %d", len(got), tt.count)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	e := Entry{Path: "/a", Topic: "t", Multiline: &Multiline{Pattern: "x"}}.WithDefaults()
	if e.Start != StartEnd || e.MaxLineBytes != DefaultMaxLineBytes {
		t.Errorf("defaults: %+v", e)
	}
	if e.Multiline.Match != MatchAfter || e.Multiline.MaxLines != 500 || time.Duration(e.Multiline.Timeout) != 2*time.Second {
		t.Errorf("multiline defaults: %+v", e.Multiline)
	}
}

func TestMergeHostKeyWins(t *testing.T) {
	static := []Entry{{Path: "/a", Topic: "static"}, {Path: "/s", Topic: "s"}}
	global := []Entry{{Path: "/a", Topic: "global"}, {Path: "/g", Topic: "g"}}
	host := []Entry{{Path: "/a", Topic: "host"}}
	got := Merge(static, global, host)
	if len(got) != 3 {
		t.Fatalf("merged %d entries: %v", len(got), got)
	}
	want := map[string]string{"/a": "host", "/g": "g", "/s": "s"}
	for i, e := range got {
		if want[e.Path] != e.Topic {
			t.Errorf("%s → %s, want %s", e.Path, e.Topic, want[e.Path])
		}
		if i > 0 && got[i-1].Path >= e.Path {
			t.Errorf("not sorted by path: %v", got)
		}
	}
}

func TestEqual(t *testing.T) {
	a := Entry{Path: "/a", Topic: "t"}
	if !Equal(a, Entry{Path: "/a", Topic: "t", Start: StartEnd, MaxLineBytes: DefaultMaxLineBytes}) {
		t.Error("an entry equals itself with its defaults spelled out")
	}
	if Equal(a, Entry{Path: "/a", Topic: "u"}) {
		t.Error("different topics must differ")
	}
	if Equal(a, Entry{Path: "/a", Topic: "t", Fields: map[string]string{"k": "v"}}) {
		t.Error("different fields must differ")
	}
}

func TestAllowed(t *testing.T) {
	demo := "/home/me/logcollect/data/demo"
	def := []string{"/var/log/**", demo + "/**"}
	tests := []struct {
		name    string
		path    string
		allowed []string
		want    bool
	}{
		{"a file under /var/log", "/var/log/syslog", def, true},
		{"deeper under /var/log", "/var/log/nginx/access.log", def, true},
		{"a glob under /var/log", "/var/log/*.log", def, true},
		{"recursive glob under /var/log", "/var/log/**", def, true},
		{"recursive glob below /var/log", "/var/log/app/**/*.log", def, true},
		{"the demo log", demo + "/app.log", def, true},
		{"dot-dot escape", "/var/log/../etc/shadow", def, false},
		{"dot-dot that stays inside", "/var/log/nginx/../syslog", def, false},
		{"dot-dot after a glob", "/var/log/*/../../etc/shadow", def, false},
		{"shadow", "/etc/shadow", def, false},
		{"ssh key", "/root/.ssh/id_ed25519", def, false},
		{"ssh glob", "/root/.ssh/*", def, false},
		{"proc environ", "/proc/self/environ", def, false},
		{"everything", "/**", def, false},
		{"root glob", "/*", def, false},
		{"the directory itself", "/var/log", def, false},
		{"the directory with a slash", "/var/log/", def, false},
		{"a sibling with the same prefix", "/var/logs/x.log", def, false},
		{"a glob spanning up", "/var/*/syslog", def, false},
		{"relative", "var/log/syslog", def, false},
		{"cleaned dot", "/var/log/./syslog", def, true},
		{"double star in the middle", "/srv/a/b/logs/x.log", []string{"/srv/**/logs/*.log"}, true},
		{"double star matches zero dirs", "/srv/logs/x.log", []string{"/srv/**/logs/*.log"}, true},
		{"double star, wrong name", "/srv/a/logs/x.txt", []string{"/srv/**/logs/*.log"}, false},
		{"one-segment allowlist glob, literal file", "/srv/app.log", []string{"/srv/*.log"}, true},
		{"one-segment allowlist glob, same glob", "/srv/*.log", []string{"/srv/*.log"}, true},
		{"entry glob wider than the allowlist", "/srv/*.log", []string{"/srv/?.log"}, false},
		{"entry glob inside a star", "/srv/app-*.log", []string{"/srv/*"}, true},
		{"entry double star is not one segment", "/srv/**", []string{"/srv/*"}, false},
		{"relative allowlist glob ignored", "/srv/a.log", []string{"srv/*"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Allowed(tt.path, tt.allowed); got != tt.want {
				t.Fatalf("Allowed(%q, %v) = %v, want %v", tt.path, tt.allowed, got, tt.want)
			}
		})
	}
}

func TestValidateNamesTheAllowlist(t *testing.T) {
	err := Entry{Path: "/etc/shadow", Topic: "t"}.Validate([]string{"/var/log/**"})
	if err == nil {
		t.Fatal("/etc/shadow accepted")
	}
	for _, want := range []string{`"/etc/shadow"`, "agent.allowed_paths", "/etc/**"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
