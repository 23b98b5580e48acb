package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, target string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPagesServeIndex(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/", "/search", "/search?q=error&from=now-1h", "/tail", "/hosts", "/agents", "/entries?key=x"} {
		t.Run(p, func(t *testing.T) {
			rec := get(t, h, p, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Fatalf("content type %q", ct)
			}
			if !strings.Contains(rec.Body.String(), `<script type="module" src="/js/app.js">`) {
				t.Fatalf("not the index page: %.200s", rec.Body.String())
			}
			if rec.Header().Get("Content-Security-Policy") == "" {
				t.Fatal("no Content-Security-Policy on the page")
			}
		})
	}
}

func TestAssets(t *testing.T) {
	h := Handler()
	cases := []struct {
		path, contentType string
	}{
		{"/js/app.js", "text/javascript"},
		{"/css/app.css", "text/css"},
		{"/vendor/uplot/uPlot.esm.js", "text/javascript"},
		{"/favicon.svg", "image/svg+xml"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			rec := get(t, h, c.path, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, c.contentType) {
				t.Fatalf("content type %q, want %s", ct, c.contentType)
			}
			tag := rec.Header().Get("Etag")
			if tag == "" {
				t.Fatal("no ETag")
			}
			again := get(t, h, c.path, map[string]string{"If-None-Match": tag})
			if again.Code != http.StatusNotModified {
				t.Fatalf("revalidation with the ETag: status %d, want 304", again.Code)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/js/", "/vendor/", "/nope.js", "/index.html/x", "/searchx"} {
		if rec := get(t, h, p, nil); rec.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, rec.Code)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/search", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", rec.Code)
	}
}

// TestModuleImportsResolve guards against a module importing a file that is not embedded
// (a typo or a file left out), which would break the page only in a browser.
func TestModuleImportsResolve(t *testing.T) {
	static, err := fs.Sub(files, "static")
	if err != nil {
		t.Fatal(err)
	}
	importRe := regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'`)
	n := 0
	err = fs.WalkDir(static, "js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		for _, m := range importRe.FindAllStringSubmatch(string(b), -1) {
			spec := m[1] + m[2]
			target := path.Clean(path.Join(path.Dir(p), spec))
			if _, err := fs.Stat(static, target); err != nil {
				t.Errorf("%s imports %s: %s is not embedded", p, spec, target)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("found only %d imports: the pattern no longer matches the sources", n)
	}
}
