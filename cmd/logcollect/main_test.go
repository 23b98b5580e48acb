package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"slices"
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
		{[]string{"version"}, 0, program + " dev"},
		{[]string{"nope"}, 2, "unknown command"},
		{[]string{"--help"}, 0, "Commands:"},
		{[]string{"check", "--help"}, 0, "Usage: " + program + " check"},
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

// TestCommandSet: logcollect has every command, logcollect-agent (`go test -tags agentonly`)
// only the host's, and answers another with the usage error.
func TestCommandSet(t *testing.T) {
	want := map[string][]string{
		"logcollect":       {"agent", "sysagent", "transfer", "ctl", "standalone", "server", "check", "version"},
		"logcollect-agent": {"agent", "sysagent", "check", "version"},
	}[program]
	var got []string
	for _, c := range commands() {
		got = append(got, c.name)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s commands %v, want %v", program, got, want)
	}
	for _, name := range []string{"transfer", "ctl", "standalone", "server"} {
		if slices.Contains(want, name) {
			continue
		}
		var out, errb bytes.Buffer
		if code := run([]string{name}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
			t.Errorf("%s %s: exit %d, %q; want 2 and unknown command", program, name, code, errb.String())
		}
	}
}

// TestAgentOnlyLinks: logcollect-agent's memory is what it does not link. A package of
// the cluster's side imported from the agent's would bring its code and start-up back.
func TestAgentOnlyLinks(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "agentonly", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/logcollect/logcollect/internal/agent") {
		t.Fatalf("go list -deps does not list the agent:\n%s", out)
	}
	for _, dep := range deps {
		for _, heavy := range []string{
			"go.etcd.io/etcd/server/", "modernc.org/sqlite", "github.com/opensearch-project/",
			"github.com/logcollect/logcollect/internal/standalone", "github.com/logcollect/logcollect/internal/server",
			"github.com/logcollect/logcollect/internal/search/", "github.com/logcollect/logcollect/web",
		} {
			if strings.HasPrefix(dep, heavy) {
				t.Errorf("logcollect-agent links %s", dep)
			}
		}
	}
}
