// Package kubernetes_test decodes the manifests of this folder with the official Kubernetes
// API types (strictly: an unknown or misspelt field fails) and checks what the deployment
// relies on. It is its own module so k8s.io/api stays out of logcollect's go.mod; `make
// k8s-test` runs it with LOGCOLLECT_BIN and LOGCOLLECT_AGENT_BIN set, to check the ConfigMap's
// configs too.
package kubernetes_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// objects are the decoded manifests by kind and name.
type objects struct {
	daemonSets  map[string]*appsv1.DaemonSet
	deployments map[string]*appsv1.Deployment
	configMaps  map[string]*corev1.ConfigMap
	namespaces  map[string]*corev1.Namespace
}

type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images"`
}

// load decodes every resource of kustomization.yaml, and fails on a YAML file of the
// folder that it does not list.
func load(t *testing.T) objects {
	t.Helper()
	var k kustomization
	readStrict(t, "kustomization.yaml", &k)
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f != "kustomization.yaml" && !slices.Contains(k.Resources, f) {
			t.Errorf("%s is not listed in kustomization.yaml", f)
		}
	}
	o := objects{daemonSets: map[string]*appsv1.DaemonSet{}, deployments: map[string]*appsv1.Deployment{},
		configMaps: map[string]*corev1.ConfigMap{}, namespaces: map[string]*corev1.Namespace{}}
	for _, f := range k.Resources {
		for i, doc := range documents(t, f) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			// obj is what the document decodes into; keep files it under its name.
			var obj interface{ GetName() string }
			var keep func()
			switch tm.APIVersion + "/" + tm.Kind {
			case "apps/v1/DaemonSet":
				ds := &appsv1.DaemonSet{}
				obj = ds
				keep = func() { o.daemonSets[ds.Name] = ds }
			case "apps/v1/Deployment":
				d := &appsv1.Deployment{}
				obj = d
				keep = func() { o.deployments[d.Name] = d }
			case "v1/ConfigMap":
				cm := &corev1.ConfigMap{}
				obj = cm
				keep = func() { o.configMaps[cm.Name] = cm }
			case "v1/Namespace":
				ns := &corev1.Namespace{}
				obj = ns
				keep = func() { o.namespaces[ns.Name] = ns }
			default:
				t.Fatalf("%s document %d: unexpected %s %s", f, i, tm.APIVersion, tm.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Fatalf("%s document %d (%s): %v", f, i, tm.Kind, err)
			}
			if obj.GetName() == "" {
				t.Fatalf("%s document %d: no metadata.name", f, i)
			}
			keep()
		}
	}
	return o
}

func readStrict(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func documents(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := utilyaml.NewYAMLReader(bufioReader(b))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
}

func TestManifestsDecode(t *testing.T) {
	o := load(t)
	if len(o.daemonSets) != 1 || len(o.deployments) != 1 || len(o.configMaps) != 1 || len(o.namespaces) != 1 {
		t.Fatalf("decoded %d DaemonSets, %d Deployments, %d ConfigMaps, %d Namespaces; want 1 of each",
			len(o.daemonSets), len(o.deployments), len(o.configMaps), len(o.namespaces))
	}
	for name, ds := range o.daemonSets {
		requireSelectorMatches(t, name, ds.Spec.Selector, ds.Spec.Template.Labels)
		requireConfigMounted(t, name, ds.Spec.Template.Spec, o.configMaps)
	}
	for name, d := range o.deployments {
		requireSelectorMatches(t, name, d.Spec.Selector, d.Spec.Template.Labels)
		requireConfigMounted(t, name, d.Spec.Template.Spec, o.configMaps)
	}
}

func TestAgentDaemonSet(t *testing.T) {
	ds := load(t).daemonSets["logcollect-agent"]
	if ds == nil {
		t.Fatal("no DaemonSet logcollect-agent")
	}
	spec := ds.Spec.Template.Spec
	c := onlyContainer(t, spec)
	// The image's entry point is logcollect; the agent runs the smaller logcollect-agent.
	if !slices.Equal(c.Command, []string{"/usr/bin/logcollect-agent"}) || len(c.Args) == 0 || c.Args[0] != "agent" {
		t.Errorf("the agent runs %v %v, want /usr/bin/logcollect-agent agent …", c.Command, c.Args)
	}
	vols := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		vols[v.Name] = v
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	for _, path := range []string{"/var/log/pods", "/var/log/containers"} {
		m, ok := mounts[path]
		if !ok {
			t.Fatalf("%s is not mounted", path)
		}
		if !m.ReadOnly {
			t.Errorf("%s is mounted read-write", path)
		}
		if hp := vols[m.Name].HostPath; hp == nil || hp.Path != path {
			t.Errorf("%s: volume %q is not the node's %s", path, m.Name, path)
		}
	}
	data, ok := mounts["/data"]
	if !ok || data.ReadOnly || vols[data.Name].HostPath == nil {
		t.Errorf("/data must be a writable hostPath (checkpoints survive the pod): %+v", data)
	}

	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if e := env["NODE_NAME"]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
		t.Errorf("NODE_NAME is not the downward API's spec.nodeName: %+v", e)
	}
	if e := env["LOGCOLLECT_AGENT_ID"]; e.Value != "$(NODE_NAME)" {
		t.Errorf("LOGCOLLECT_AGENT_ID = %q, want $(NODE_NAME)", e.Value)
	}

	req, lim := c.Resources.Requests, c.Resources.Limits
	if req.Cpu().IsZero() || req.Memory().IsZero() || lim.Memory().IsZero() {
		t.Errorf("resources need cpu and memory requests and a memory limit: %+v", c.Resources)
	}
	if lim.Memory().Cmp(*req.Memory()) < 0 {
		t.Errorf("memory limit %v below the request %v", lim.Memory(), req.Memory())
	}

	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil {
		t.Fatal("the agent has no securityContext with capabilities")
	}
	if !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || !slices.Equal(sc.Capabilities.Add, []corev1.Capability{"DAC_READ_SEARCH"}) {
		t.Errorf("capabilities: drop %v add %v, want drop [ALL] add [DAC_READ_SEARCH]", sc.Capabilities.Drop, sc.Capabilities.Add)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("the agent must have allowPrivilegeEscalation: false and readOnlyRootFilesystem: true")
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/healthz" {
		t.Error("no /healthz readiness probe")
	}
}

func TestTransferDeployment(t *testing.T) {
	d := load(t).deployments["logcollect-transfer"]
	if d == nil {
		t.Fatal("no Deployment logcollect-transfer")
	}
	spec := d.Spec.Template.Spec
	c := onlyContainer(t, spec)
	nonRoot := spec.SecurityContext != nil && spec.SecurityContext.RunAsNonRoot != nil && *spec.SecurityContext.RunAsNonRoot
	if c.SecurityContext != nil && c.SecurityContext.RunAsNonRoot != nil {
		nonRoot = *c.SecurityContext.RunAsNonRoot
	}
	if !nonRoot {
		t.Error("the transfer must run with runAsNonRoot: true")
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.Capabilities == nil ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
		t.Errorf("the transfer needs a read-only root and no capability: %+v", sc)
	}
}

// TestAgentEntryFollowsKubeletRotation checks the agent's entry against the file names
// the kubelet gives a container's log over its life: <n>.log (n: the restart count),
// renamed to <n>.log.<timestamp> at rotation, compressed later through a .tmp file into
// .gz. The renamed file must stay matched (the agent then knows it by its inode and
// reads it to its end, also after a restart); the compressed ones never are. Matching
// follows the agent's: the glob on the path, each exclude on the path and on the name.
// test/e2e's TestKubeletLogs runs this entry against a kubelet-like tree.
func TestAgentEntryFollowsKubeletRotation(t *testing.T) {
	cm := load(t).configMaps["logcollect-config"]
	if cm == nil {
		t.Fatal("no ConfigMap logcollect-config")
	}
	var cfg struct {
		Agent struct {
			Collect []struct {
				Path    string   `json:"path"`
				Format  string   `json:"format"`
				Exclude []string `json:"exclude"`
			} `json:"collect"`
		} `json:"agent"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["agent.yaml"]), &cfg); err != nil {
		t.Fatalf("agent.yaml: %v", err)
	}
	if len(cfg.Agent.Collect) != 1 {
		t.Fatalf("agent.yaml has %d collect entries, want 1", len(cfg.Agent.Collect))
	}
	e := cfg.Agent.Collect[0]
	if e.Format != "cri" {
		t.Errorf("format %q, want cri (the kubelet's container log format)", e.Format)
	}
	dir := "/var/log/pods/shop_checkout-7d9f8_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/app/"
	for name, want := range map[string]bool{
		"0.log":                         true,
		"3.log":                         true,
		"0.log.20260309-081530":         true,
		"0.log.20260309-081530.tmp":     false,
		"0.log.20260309-081530.gz":      false,
		"../../../containers/x_y_z.log": false,
	} {
		path := filepath.Clean(dir + name)
		matched, err := filepath.Match(e.Path, path)
		if err != nil {
			t.Fatalf("path %q: %v", e.Path, err)
		}
		got := matched && !excluded(e.Exclude, path)
		if got != want {
			t.Errorf("%s: collected %v, want %v (path %q, exclude %q)", path, got, want, e.Path, e.Exclude)
		}
	}
}

func excluded(globs []string, path string) bool {
	for _, g := range globs {
		full, _ := filepath.Match(g, path)
		base, _ := filepath.Match(g, filepath.Base(path))
		if full || base {
			return true
		}
	}
	return false
}

// TestConfigMapConfigsAreValid runs `logcollect check` and `logcollect-agent check` on
// every config of the ConfigMaps.
func TestConfigMapConfigsAreValid(t *testing.T) {
	bins := []string{os.Getenv("LOGCOLLECT_BIN"), os.Getenv("LOGCOLLECT_AGENT_BIN")}
	if slices.Contains(bins, "") {
		t.Fatal("LOGCOLLECT_BIN or LOGCOLLECT_AGENT_BIN is not set: run `make k8s-test` (it builds both and sets them)")
	}
	dir := t.TempDir()
	n := 0
	for name, cm := range load(t).configMaps {
		for key, val := range cm.Data {
			if !strings.HasSuffix(key, ".yaml") {
				continue
			}
			path := filepath.Join(dir, name+"-"+key)
			if err := os.WriteFile(path, []byte(val), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, bin := range bins {
				if out, err := exec.Command(bin, "check", "--quiet", "--config", path).CombinedOutput(); err != nil {
					t.Errorf("ConfigMap %s, %s: %s check: %v\n%s", name, key, filepath.Base(bin), err, out)
				}
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no config found in the ConfigMaps")
	}
}

func onlyContainer(t *testing.T, spec corev1.PodSpec) corev1.Container {
	t.Helper()
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	return spec.Containers[0]
}

func requireSelectorMatches(t *testing.T, name string, sel *metav1.LabelSelector, podLabels map[string]string) {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("%s: selector: %v", name, err)
	}
	if s.Empty() || !s.Matches(labels.Set(podLabels)) {
		t.Errorf("%s: selector %v does not select its pod template's labels %v", name, s, podLabels)
	}
}

// requireConfigMounted checks that the --config file of each container is a key of the
// ConfigMap mounted at its folder.
func requireConfigMounted(t *testing.T, name string, spec corev1.PodSpec, cms map[string]*corev1.ConfigMap) {
	t.Helper()
	for _, c := range spec.Containers {
		i := slices.Index(c.Args, "--config")
		if i < 0 || i+1 >= len(c.Args) {
			t.Errorf("%s/%s: no --config argument", name, c.Name)
			continue
		}
		cfgDir, file := filepath.Split(c.Args[i+1])
		found := false
		for _, m := range c.VolumeMounts {
			if filepath.Clean(m.MountPath) != filepath.Clean(cfgDir) {
				continue
			}
			for _, v := range spec.Volumes {
				if v.Name == m.Name && v.ConfigMap != nil {
					cm := cms[v.ConfigMap.Name]
					_, found = cm.Data[file]
				}
			}
		}
		if !found {
			t.Errorf("%s/%s: %s is not a key of a ConfigMap mounted at %s", name, c.Name, file, cfgDir)
		}
	}
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
