// Package webui serves the admin web UI, the single-page application Vite
// builds into api-service/web/dist, under one path prefix (/admin/):
//
//   - every path that names no file serves index.html, so the
//     application's own routes (/admin/mailouts?status=running) work as
//     deep links and on reload; a missing file under assets/ is a 404
//     instead, so a stale script is never answered with a page;
//   - assets/ holds Vite's content-hashed files: they are cached for a
//     year, immutable; index.html and the other files are revalidated on
//     every use (no-cache, with an ETag);
//   - a client that accepts br or gzip gets the precompressed .br or .gz
//     file the build wrote beside each asset (text files without one are
//     gzipped once, when the handler is built);
//   - every answer carries a strict Content-Security-Policy: scripts,
//     styles and connections from this origin only, no inline script or
//     style element, no framing;
//   - without a build (only the committed placeholder) every path answers
//     a short page saying how to build the UI.
//
// Everything is read into memory once by New: the UI is a few hundred
// kilobytes.
package webui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// ContentSecurityPolicy is sent with every answer. The UI loads its own
// scripts and style sheets and talks only to this origin's API; its
// component kit (Mantine) is used without runtime <style> elements (see
// docs/admin-ui.md), so no 'unsafe-inline' is needed. Styles a script sets
// through the CSSOM (element.style), as React does, are not inline styles
// in CSP's sense and stay allowed.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// Cache-Control values: hashed assets never change under their name;
// everything else is checked with the server on every use.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// assetsDir holds the build's content-hashed files.
const assetsDir = "assets/"

// minCompress is the smallest file worth gzipping when the build wrote no
// .gz for it.
const minCompress = 1024

// Handler serves the UI. Build it with New.
type Handler struct {
	prefix string
	files  map[string]*file // by path below the prefix: "index.html", "assets/index-3f9a.js"
	index  *file            // nil when the UI is not built
}

// file is one file of the build in each encoding it can be sent in.
type file struct {
	contentType, cacheControl string
	identity                  variant
	gzip, br                  *variant
}

type variant struct {
	data     []byte
	etag     string
	encoding string // Content-Encoding; "" for the file as built
}

// New reads the build in dist (the root of Vite's outDir) and serves it
// below prefix, which starts and ends with a slash ("/admin/").
func New(dist fs.FS, prefix string) (*Handler, error) {
	if !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") {
		return nil, fmt.Errorf("webui: prefix %q must start and end with /", prefix)
	}
	h := &Handler{prefix: prefix, files: map[string]*file{}}
	raw := map[string][]byte{}
	err := fs.WalkDir(dist, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != "." {
			// The committed placeholder (.gitkeep) and any other dotfile
			// are not part of the UI.
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		b, err := fs.ReadFile(dist, p)
		if err != nil {
			return err
		}
		raw[p] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("webui: read the build: %w", err)
	}
	for p, b := range raw {
		if strings.HasSuffix(p, ".gz") || strings.HasSuffix(p, ".br") {
			if _, ok := raw[p[:len(p)-3]]; ok {
				continue // an encoding of another file
			}
		}
		f := &file{contentType: contentType(p), cacheControl: cacheRevalidate, identity: newVariant(b, "")}
		if strings.HasPrefix(p, assetsDir) {
			f.cacheControl = cacheImmutable
		}
		if gz, ok := raw[p+".gz"]; ok {
			v := newVariant(gz, "gzip")
			f.gzip = &v
		} else if compressible(f.contentType) && len(b) >= minCompress {
			gz, err := gzipBytes(b)
			if err != nil {
				return nil, fmt.Errorf("webui: gzip %s: %w", p, err)
			}
			v := newVariant(gz, "gzip")
			f.gzip = &v
		}
		if br, ok := raw[p+".br"]; ok {
			v := newVariant(br, "br")
			f.br = &v
		}
		h.files[p] = f
	}
	h.index = h.files["index.html"]
	return h, nil
}

// Built reports whether the handler has a UI to serve, rather than the
// page saying how to build one.
func (h *Handler) Built() bool { return h.index != nil }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "same-origin")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rel, ok := strings.CutPrefix(r.URL.Path, h.prefix)
	if !ok {
		if r.URL.Path+"/" == h.prefix {
			http.Redirect(w, r, h.prefix, http.StatusMovedPermanently)
			return
		}
		http.NotFound(w, r)
		return
	}
	if h.index == nil {
		h.servePlaceholder(w, r)
		return
	}
	f := h.files[rel]
	switch {
	case rel == "" || rel == "index.html":
		f = h.index
	case f != nil:
	case strings.HasPrefix(rel, assetsDir):
		hdr.Set("Cache-Control", "no-store")
		http.NotFound(w, r)
		return
	default:
		// A route of the application: the page loads and routes itself.
		f = h.index
	}
	h.serveFile(w, r, f)
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, f *file) {
	hdr := w.Header()
	v := &f.identity
	ae := r.Header.Get("Accept-Encoding")
	switch {
	case f.br != nil && accepts(ae, "br"):
		v = f.br
	case f.gzip != nil && accepts(ae, "gzip"):
		v = f.gzip
	}
	if f.br != nil || f.gzip != nil {
		hdr.Add("Vary", "Accept-Encoding")
	}
	if v.encoding != "" {
		hdr.Set("Content-Encoding", v.encoding)
	}
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("Cache-Control", f.cacheControl)
	hdr.Set("ETag", v.etag)
	// ServeContent answers If-None-Match (304), HEAD and ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(v.data))
}

var placeholder = template.Must(template.New("placeholder").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Admin UI not built</title></head>
<body><h1>The admin UI is not built into this binary</h1>
<p>The API works as usual: its reference is at <a href="/docs/">/docs/</a>.</p>
<p>To serve the admin UI at <code>{{.}}</code>, build it (Node.js 20.19 or later) and then the API:</p>
<pre>make build</pre>
<p>or by hand: <code>cd api-service/web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then
<code>go build ./api-service/cmd/api</code>. The Docker image builds it by itself.</p>
</body></html>
`))

// servePlaceholder answers every path with the page saying how to build
// the UI, as a 404: there is no UI here to find.
func (h *Handler) servePlaceholder(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	if r.Method == http.MethodHead {
		return
	}
	_ = placeholder.Execute(w, h.prefix)
}

func newVariant(b []byte, encoding string) variant {
	sum := sha256.Sum256(b)
	tag := base64.RawURLEncoding.EncodeToString(sum[:12])
	if encoding != "" {
		tag += "-" + encoding
	}
	return variant{data: b, etag: strconv.Quote(tag), encoding: encoding}
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// contentTypes are the types of the files a Vite build holds; a fixed
// table, so that the answer does not depend on the host's mime.types.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".ico":         "image/x-icon",
	".webp":        "image/webp",
	".woff2":       "font/woff2",
	".txt":         "text/plain; charset=utf-8",
}

func contentType(p string) string {
	if t, ok := contentTypes[path.Ext(p)]; ok {
		return t
	}
	return "application/octet-stream"
}

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") || strings.HasPrefix(contentType, "application/json") ||
		strings.HasPrefix(contentType, "application/manifest+json") || strings.HasPrefix(contentType, "image/svg+xml")
}

// accepts reports whether an Accept-Encoding header admits coding: named
// (or "*") with a q-value above zero.
func accepts(header, coding string) bool {
	star := false
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != coding && name != "*" {
			continue
		}
		q := 1.0
		for param := range strings.SplitSeq(params, ";") {
			k, val, ok := strings.Cut(strings.TrimSpace(param), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
					q = f
				}
			}
		}
		if name == coding {
			return q > 0 // the coding's own entry wins over "*"
		}
		star = q > 0
	}
	return star
}
