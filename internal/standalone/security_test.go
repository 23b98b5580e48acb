package standalone

import (
	"slices"
	"strings"
	"testing"

	"github.com/logcollect/logcollect/internal/control/entry"
)

func TestDefaultAllowed(t *testing.T) {
	got := defaultAllowed([]entry.Entry{
		{Path: "/home/me/logcollect/data/demo/app.log"},
		{Path: "/var/log/*.log"},       // already inside /var/log/**
		{Path: "/var/log/nginx/*.log"}, // so is this
		{Path: "/srv/app/*.log"},
		{Path: "/srv/app/x.log"}, // same directory, listed once
	})
	want := []string{"/var/log/**", "/home/me/logcollect/data/demo/**", "/srv/app/**"}
	if !slices.Equal(got, want) {
		t.Fatalf("defaultAllowed = %v, want %v", got, want)
	}
	for path, ok := range map[string]bool{
		"/home/me/logcollect/data/demo/app.log": true,
		"/var/log/syslog":                       true,
		"/etc/shadow":                           false,
		"/home/me/.ssh/id_ed25519":              false,
	} {
		if entry.Allowed(path, got) != ok {
			t.Errorf("Allowed(%s) = %v under the default", path, !ok)
		}
	}
}

func TestCheckEtcdListen(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:2379": true,
		"[::1]:2379":     true,
		"localhost:2379": true,
		"0.0.0.0:0":      false,
		"10.0.0.7:2379":  false,
		":2379":          false,
		"2379":           false,
	} {
		err := checkEtcdListen(addr)
		if (err == nil) != ok {
			t.Errorf("checkEtcdListen(%q) = %v, want ok=%v", addr, err, ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--etcd-listen") {
			t.Errorf("error %q does not name --etcd-listen", err)
		}
	}
}
