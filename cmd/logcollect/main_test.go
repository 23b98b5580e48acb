package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckExamples(t *testing.T) {
	good, err := filepath.Glob("../../examples/*.*")
	if err != nil || len(good) < 5 {
		t.Fatalf("examples: %v %v", good, err)
	}
	for _, f := range good {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run([]string{"check", "--config", f}, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			if !strings.Contains(out.String(), "effective configuration") || !strings.Contains(out.String(), "kafka:") {
				t.Errorf("no effective configuration printed:\n%s", out.String())
			}
		})
	}
	bad := map[string]string{
		"bad-acks.yaml":    "kafka.acks: must be one of all, leader, none",
		"unknown-key.yaml": "agent.colect: unknown key",
		"typo.ini":         "[kafka] adress: unknown key",
	}
	for name, want := range bad {
		t.Run("bad/"+name, func(t *testing.T) {
			f := filepath.Join("../../examples/bad", name)
			var out, errb bytes.Buffer
			if code := run([]string{"check", "--config", f}, &out, &errb); code != 1 {
				t.Fatalf("exit %d, want 1", code)
			}
			if !strings.Contains(errb.String(), want) || !strings.Contains(errb.String(), f) {
				t.Errorf("error %q must name the file and contain %q", errb.String(), want)
			}
		})
	}
}

func TestCheckMasksSecrets(t *testing.T) {
	f := filepath.Join(t.TempDir(), "c.yaml")
	writeFile(t, f, "kafka:\n  sasl: {mechanism: PLAIN, username: u, password: topsecret}\n")
	var out, errb bytes.Buffer
	if code := run([]string{"check", "--config", f}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.Contains(out.String(), "topsecret") || !strings.Contains(out.String(), "***") {
		t.Errorf("password not masked:\n%s", out.String())
	}
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"version"}, 0, "logcollect dev"},
		{[]string{"nope"}, 2, "unknown command"},
		{[]string{"--help"}, 0, "Commands:"},
		{[]string{"check", "--help"}, 0, "Usage: logcollect check"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tt.args, &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (%s)", code, tt.code, errb.String())
			}
			if !strings.Contains(out.String()+errb.String(), tt.contains) {
				t.Errorf("output does not contain %q:\n%s%s", tt.contains, out.String(), errb.String())
			}
		})
	}
}
