// Package web holds the standalone web UI: plain ES modules, CSS and vendored libraries,
// embedded in the binary so that `go build` alone yields a binary that serves the UI offline.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var files embed.FS

// isPage reports whether path is one of the UI's pages: each is served index.html, so that
// a shared link or a reload of /search?q=... opens the page the URL names (the client reads
// the path). Keep in step with the routes in static/js/app.js.
func isPage(path string) bool {
	switch path {
	case "/", "/search", "/tail", "/hosts", "/agents", "/entries":
		return true
	}
	return false
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
		if isPage(r.URL.Path) {
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
