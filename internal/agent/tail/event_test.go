package tail

import (
	"maps"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/logformat"
)

// Each event carries its line's own time, the read time beside it, and the entry's
// format; a line whose timestamp does not parse keeps the read time and is counted.
func TestEventTime(t *testing.T) {
	e := newEnv(t)
	e.write("a.log", "2026-03-09T08:15:30.25Z first\n"+
		"no timestamp\n"+
		"2026-02-30T10:00:00Z not a day\n"+
		"09/Mar/2026:08:15:30 +0100 common log time\n")
	before := time.Now()
	e.start(entry.Entry{Path: e.path("a.log"), Topic: "t", Start: entry.StartBeginning, Format: logformat.Plain})
	got := e.sink.waitN(t, 4)
	want := []time.Time{time.Date(2026, 3, 9, 8, 15, 30, 25e7, time.UTC), {}, {}, time.Date(2026, 3, 9, 7, 15, 30, 0, time.UTC)}
	for i, r := range got {
		if r.ReadTime.Before(before) || r.ReadTime.After(time.Now()) {
			t.Errorf("%q: read time %v is not when it was read", r.Line, r.ReadTime)
		}
		w := want[i]
		if w.IsZero() {
			w = r.ReadTime
		}
		if !r.Time.Equal(w) {
			t.Errorf("%q: time %v, want %v", r.Line, r.Time, w)
		}
		if r.Format != "" {
			t.Errorf("%q: format %q, want \"\" for plain", r.Line, r.Format)
		}
	}
	eventually(t, "one failure counted", func() bool {
		return value(t, e.eng.m.timeFailures.WithLabelValues(e.path("a.log"))) == 1
	})
}

// Detection off: the read time, nothing counted.
func TestEventTimeOff(t *testing.T) {
	e := newEnv(t)
	e.write("a.log", "2026-03-09T08:15:30Z x\n2026-02-30T10:00:00Z y\n")
	e.start(entry.Entry{Path: e.path("a.log"), Topic: "t", Start: entry.StartBeginning, Format: logformat.JSON,
		Time: &logformat.Time{Layout: logformat.LayoutNone}})
	for _, r := range e.sink.waitN(t, 2) {
		if !r.Time.Equal(r.ReadTime) || r.Format != "json" {
			t.Errorf("%q: time %v read %v format %q", r.Line, r.Time, r.ReadTime, r.Format)
		}
	}
	if n := value(t, e.eng.m.timeFailures.WithLabelValues(e.path("a.log"))); n != 0 {
		t.Errorf("failures %v with detection off", n)
	}
}

// A CRI line split in parts (P … F), the last part itself written in two writes: one
// event, the application's line, the runtime's time, the stream as a field, its offsets
// spanning every physical line, and the checkpoint at the end of the file only once the
// line is whole.
func TestCRIPartialLineAcrossReads(t *testing.T) {
	e := newEnv(t)
	p1 := "2026-03-09T08:15:31.000000001Z stderr P first part, \n"
	e.write("c.log", p1)
	en := entry.Entry{Path: e.path("c.log"), Topic: "t", Start: entry.StartBeginning, Format: logformat.CRI,
		Fields: map[string]string{"service": "x"}}
	e.start(en)
	linesRead := e.eng.m.lines.WithLabelValues(e.path("c.log"))
	eventually(t, "the P line read", func() bool { return value(t, linesRead) == 1 })

	// Stopped with the line incomplete: nothing was shipped, so nothing is acknowledged,
	// and a restart reads the parts again.
	e.stop()
	if got := e.sink.snapshot(); len(got) != 0 {
		t.Fatalf("a partial line was shipped: %v", linesOf(got))
	}
	e.start(en)
	linesRead = e.eng.m.lines.WithLabelValues(e.path("c.log"))
	eventually(t, "the P line read again", func() bool { return value(t, linesRead) == 1 })
	e.append("c.log", "2026-03-09T08:15:31.000000002Z stderr F last ")
	e.append("c.log", "part\n2026-03-09T08:15:32Z stdout F whole\n")
	got := e.sink.waitN(t, 2)
	size := fileSize(t, e.path("c.log"))
	wantFields := map[string]string{"service": "x", "stream": "stderr"}
	first := got[0]
	if first.Line != "first part, last part" || first.Offset != 0 || first.End != size-int64(len("2026-03-09T08:15:32Z stdout F whole\n")) ||
		!first.Time.Equal(time.Date(2026, 3, 9, 8, 15, 31, 1, time.UTC)) || !maps.Equal(first.Fields, wantFields) || first.Format != "cri" {
		t.Errorf("joined event: %+v", first)
	}
	if got[1].Line != "whole" || got[1].Fields["stream"] != "stdout" || got[1].End != size {
		t.Errorf("second event: %+v", got[1])
	}
	if len(got) != 2 {
		t.Errorf("%d events, want 2: %v", len(got), linesOf(got))
	}
	e.requireCheckpoint("c.log", size)
}

// Docker json-file lines: the log without its newline, the stream, the time.
func TestDockerEnvelope(t *testing.T) {
	e := newEnv(t)
	e.write("d.log", `{"log":"part \"one\" ","stream":"stdout","time":"2026-03-09T08:15:30Z"}`+"\n"+
		`{"log":"and two\n","stream":"stdout","time":"2026-03-09T08:15:31Z"}`+"\n"+
		"not docker\n")
	e.start(entry.Entry{Path: e.path("d.log"), Topic: "t", Start: entry.StartBeginning, Format: logformat.Docker})
	got := e.sink.waitN(t, 2)
	if got[0].Line != `part "one" and two` || !got[0].Time.Equal(time.Date(2026, 3, 9, 8, 15, 30, 0, time.UTC)) ||
		got[0].Fields["stream"] != "stdout" || got[0].Offset != 0 {
		t.Errorf("first: %+v", got[0])
	}
	if got[1].Line != "not docker" || !got[1].Time.Equal(got[1].ReadTime) || got[1].Fields["stream"] != "" {
		t.Errorf("a line outside the envelope: %+v", got[1])
	}
	eventually(t, "the bad envelope counted", func() bool {
		return value(t, e.eng.m.timeFailures.WithLabelValues(e.path("d.log"))) == 1
	})
}

// Multiline joining applies to the application's lines, with the first line's time.
func TestCRIMultiline(t *testing.T) {
	e := newEnv(t)
	e.write("m.log", "2026-03-09T08:15:30Z stdout F Exception: boom\n"+
		"2026-03-09T08:15:31Z stdout F \tat a.b(c.java:1)\n"+
		"2026-03-09T08:15:32Z stdout F next\n")
	e.start(entry.Entry{Path: e.path("m.log"), Topic: "t", Start: entry.StartBeginning, Format: logformat.CRI,
		Multiline: &entry.Multiline{Pattern: `^\s`, Match: entry.MatchAfter, Timeout: entry.Duration(50 * time.Millisecond)}})
	got := e.sink.waitN(t, 2)
	if got[0].Line != "Exception: boom\n\tat a.b(c.java:1)" || !got[0].Time.Equal(time.Date(2026, 3, 9, 8, 15, 30, 0, time.UTC)) ||
		got[0].Fields["stream"] != "stdout" {
		t.Errorf("joined: %+v", got[0])
	}
	if got[1].Line != "next" || !got[1].Time.Equal(time.Date(2026, 3, 9, 8, 15, 32, 0, time.UTC)) {
		t.Errorf("next: %+v", got[1])
	}
}

func TestPodFields(t *testing.T) {
	cases := map[string]map[string]string{
		"/var/log/pods/shop_checkout-7d9f_0b1c-22/app/0.log": {"k8s.namespace": "shop", "k8s.pod": "checkout-7d9f",
			"k8s.pod_uid": "0b1c-22", "k8s.container": "app"},
		// Rotated by the kubelet: still the pod's.
		"/var/log/pods/shop_checkout_uid/app/0.log.20260309-081530": {"k8s.namespace": "shop", "k8s.pod": "checkout",
			"k8s.pod_uid": "uid", "k8s.container": "app"},
		// The kubelet's podLogsDir elsewhere, or the host's directory mounted elsewhere.
		"/srv/pods/shop_checkout_uid/app/3.log": {"k8s.namespace": "shop", "k8s.pod": "checkout",
			"k8s.pod_uid": "uid", "k8s.container": "app"},
		"/var/log/pods/shop_checkout/app/0.log":       nil,
		"/var/log/containers/checkout_shop_app-1.log": nil,
		"/var/log/pods/Shop_checkout_uid/app/0.log":   nil, // not a namespace name
		"/srv/data/a_b_c/app/server.log":              nil, // not <n>.log
		"/srv/data/a_b_c/app/0.logs":                  nil,
		"/a_b_c/0.log":                                nil,
	}
	for path, want := range cases {
		if got := podFields(path); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
	s := spec{e: entry.Entry{Format: logformat.CRI, Fields: map[string]string{"k8s.pod": "mine", "env": "prod"}}}
	got := s.fields("/var/log/pods/shop_checkout_uid/app/0.log")
	if got["k8s.pod"] != "mine" || got["env"] != "prod" || got["k8s.namespace"] != "shop" {
		t.Errorf("the entry's fields must win: %v", got)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
