// Package web holds the standalone web UI: plain ES modules, CSS and vendored libraries,
// embedded in the binary so that `go build` alone yields a binary that serves the UI offline.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
)

//go:embed static
var files embed.FS

// pagesFile is the one list of the UI's pages: app.js builds the nav and its routes from it,
// and Handler serves index.html at each page's path, so that a shared link or a reload of
// /search?q=... opens the page the URL names (the client reads the path).
const pagesFile = "js/pages.json"

// page is one entry of pagesFile: the page `name` is the module js/pages/<name>.js, shown
// at /<name> and titled in the nav by title. The first page is also served at "/".
type page struct {
	Name  string `json:"name"`
	Title string `json:"title"`
}

var pageName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// readPages reads and checks pagesFile from the UI's files (strictly: an unknown key is an error).
func readPages(static fs.FS) ([]page, error) {
	b, err := fs.ReadFile(static, pagesFile)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var pages []page
	if err := dec.Decode(&pages); err != nil {
		return nil, fmt.Errorf("%s: %w", pagesFile, err)
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("%s: no pages", pagesFile)
	}
	seen := map[string]bool{}
	for i, p := range pages {
		if !pageName.MatchString(p.Name) || p.Title == "" || seen[p.Name] {
			return nil, fmt.Errorf("%s: page %d: want a unique name of a-z, 0-9 and - and a title, got %+v", pagesFile, i, p)
		}
		seen[p.Name] = true
	}
	return pages, nil
}

// pagePaths is the set of paths that serve index.html: "/" and "/<name>" of each page.
func pagePaths(pages []page) map[string]bool {
	paths := map[string]bool{"/": true}
	for _, p := range pages {
		paths["/"+p.Name] = true
	}
	return paths
}

// Handler serves the UI. Mount it at "/" beside the API: paths not under /api are pages or
// assets. Assets carry a content-hash ETag so a browser revalidates them cheaply; nothing is
// cached without revalidation, so a new binary's UI is picked up on the next load.
func Handler() http.Handler {
	static, err := fs.Sub(files, "static")
	if err != nil {
		// The embed pattern above guarantees the directory; this cannot happen at run time.
		panic(err)
	}
	etags := hashFiles(static)
	index, err := fs.ReadFile(static, "index.html")
	if err != nil {
		panic(err)
	}
	// The embedded files are fixed at build time, and go test ./web/ reads them all.
	pages, err := readPages(static)
	if err != nil {
		panic(err)
	}
	isPage := pagePaths(pages)
	indexTag := etags["index.html"]
	files := http.FileServerFS(static)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		if isPage[r.URL.Path] {
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Content-Security-Policy", csp)
			h.Set("Referrer-Policy", "same-origin")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Etag", indexTag)
			if r.Header.Get("If-None-Match") == indexTag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			if r.Method == http.MethodGet {
				_, _ = w.Write(index)
			}
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/")
		tag, ok := etags[name]
		if !ok {
			// No directory listings, no index.html under another name.
			http.NotFound(w, r)
			return
		}
		h.Set("Etag", tag)
		files.ServeHTTP(w, r)
	})
}

// csp allows only this origin: the UI loads nothing from elsewhere. Inline styles are allowed
// because the chart library positions its elements with style attributes.
const csp = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// hashFiles returns a quoted ETag for every regular file, keyed by its path in fsys.
func hashFiles(fsys fs.FS) map[string]string {
	tags := map[string]string{}
	_ = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		tags[path] = `"` + hex.EncodeToString(sum[:12]) + `"`
		return nil
	})
	return tags
}
