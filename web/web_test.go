package web

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
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

// uiFiles is the embedded static directory, as Handler serves it.
func uiFiles(t *testing.T) fs.FS {
	t.Helper()
	static, err := fs.Sub(files, "static")
	if err != nil {
		t.Fatal(err)
	}
	return static
}

func TestPagesServeIndex(t *testing.T) {
	h := Handler()
	pages, err := readPages(uiFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	targets := []string{"/", "/search?q=error&from=now-1h", "/entries?key=x"}
	for _, p := range pages {
		targets = append(targets, "/"+p.Name)
	}
	for _, p := range targets {
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

// TestPageListAgrees checks that the one list of pages (js/pages.json), the modules the
// router loads from it, the links of index.html and the paths Handler serves agree.
func TestPageListAgrees(t *testing.T) {
	static := uiFiles(t)
	pages, err := readPages(static)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) < 5 || pages[0].Name != "search" {
		t.Fatalf("pages %+v: want search first (the page at /) and the others after it", pages)
	}
	served := pagePaths(pages)

	// Every page has its module, which exports mount; every module in js/pages/ is a page.
	mount := regexp.MustCompile(`(?m)^export function mount\(`)
	listed := map[string]bool{}
	for _, p := range pages {
		name := "js/pages/" + p.Name + ".js"
		listed[name] = true
		b, err := fs.ReadFile(static, name)
		if err != nil {
			t.Errorf("page %s: its module %s is not embedded", p.Name, name)
			continue
		}
		if !mount.Match(b) {
			t.Errorf("page %s: %s does not export function mount", p.Name, name)
		}
	}
	modules, err := fs.Glob(static, "js/pages/*.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range modules {
		if !listed[m] {
			t.Errorf("%s is not in %s: the router never shows it", m, pagesFile)
		}
	}

	// The router reads the list and has none of its own: app.js imports no page module by
	// name (it imports ./pages/<name>.js for each name in the list).
	app, err := fs.ReadFile(static, "js/app.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(app, []byte("./pages.json")) || !bytes.Contains(app, []byte("import(`./pages/${p.name}.js`)")) {
		t.Error("app.js no longer builds its routes from pages.json")
	}
	if m := regexp.MustCompile(`from '\./pages/[^']*'`).Find(app); m != nil {
		t.Errorf("app.js imports a page by name (%s): add pages to %s only", m, pagesFile)
	}

	// The nav is rendered from the list: index.html holds no page links of its own, and
	// every link it does hold (the brand) is to a page.
	index, err := fs.ReadFile(static, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`(?s)<nav class="tabs"[^>]*>\s*(<!--.*?-->)?\s*</nav>`).Find(index) == nil {
		t.Error("index.html's nav.tabs is not empty: app.js fills it in from the list")
	}
	links := regexp.MustCompile(`<a [^>]*href="([^"]*)"`).FindAllSubmatch(index, -1)
	for _, l := range links {
		if !served[string(l[1])] {
			t.Errorf("index.html links to %s, which is not a page", l[1])
		}
	}
	if len(links) == 0 {
		t.Error("no links found in index.html: the pattern no longer matches it")
	}
}

func TestReadPagesRefusesABadList(t *testing.T) {
	cases := map[string]string{
		"not JSON":       `[{"name": "search",`,
		"unknown key":    `[{"name": "search", "title": "Search", "path": "/s"}]`,
		"empty":          `[]`,
		"no title":       `[{"name": "search"}]`,
		"a path as name": `[{"name": "/search", "title": "Search"}]`,
		"twice":          `[{"name": "a", "title": "A"}, {"name": "a", "title": "A again"}]`,
	}
	for name, list := range cases {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{pagesFile: {Data: []byte(list)}}
			if pages, err := readPages(fsys); err == nil {
				t.Fatalf("accepted: %+v", pages)
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
		{"/js/pages.json", "application/json"},
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
	static := uiFiles(t)
	importRe := regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'`)
	n := 0
	err := fs.WalkDir(static, "js", func(p string, d fs.DirEntry, err error) error {
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
