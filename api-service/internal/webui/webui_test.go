package webui_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"mailing/api-service/internal/webui"
	"mailing/api-service/web"
)

const (
	indexHTML = `<!doctype html><html><head><script type="module" src="/admin/assets/index-3f9a1c.js"></script>` +
		`<link rel="stylesheet" href="/admin/assets/index-77b2e0.css"></head><body><div id="root"></div></body></html>`
	appJS = "console.log('the app')"
)

// appCSS is big enough to be worth compressing and has no .gz beside it.
var appCSS = strings.Repeat(".mantine-Button-root { color: red; }\n", 100)

// built is a Vite build as it lands in dist/: hashed assets with the
// precompressed files the build writes, a public file, and the committed
// placeholder.
func built() fstest.MapFS {
	return fstest.MapFS{
		".gitkeep":                  {Data: []byte("placeholder")},
		"index.html":                {Data: []byte(indexHTML)},
		"favicon.svg":               {Data: []byte("<svg/>")},
		"assets/index-3f9a1c.js":    {Data: []byte(appJS)},
		"assets/index-3f9a1c.js.gz": {Data: []byte("gzip of the app")},
		"assets/index-3f9a1c.js.br": {Data: []byte("brotli of the app")},
		"assets/index-77b2e0.css":   {Data: []byte(appCSS)},
	}
}

func newHandler(t *testing.T, dist fstest.MapFS) *webui.Handler {
	t.Helper()
	h, err := webui.New(dist, "/admin/")
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(t *testing.T, h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestDeepLinksServeTheIndexRevalidated(t *testing.T) {
	h := newHandler(t, built())
	for _, target := range []string{"/admin/", "/admin/index.html", "/admin/mailouts", "/admin/mailouts/7?tab=stats", "/admin/signin?redirect=%2Fadmin%2Fmailouts", "/admin/audit/mailout.cancelled"} {
		w := get(t, h, "GET", target)
		if w.Code != http.StatusOK || w.Body.String() != indexHTML {
			t.Errorf("GET %s: %d %q; want 200 and index.html", target, w.Code, w.Body)
		}
		if got := w.Header().Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q; want no-cache", target, got)
		}
		if got := w.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", target, got)
		}
	}
	if !h.Built() {
		t.Error("Built() is false for a build")
	}
}

func TestPrefixWithoutSlashRedirects(t *testing.T) {
	w := get(t, newHandler(t, built()), "GET", "/admin")
	if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/admin/" {
		t.Fatalf("GET /admin: %d, Location %q; want 301 to /admin/", w.Code, w.Header().Get("Location"))
	}
}

func TestHashedAssetsAreImmutableAndOtherFilesRevalidated(t *testing.T) {
	h := newHandler(t, built())
	w := get(t, h, "GET", "/admin/assets/index-3f9a1c.js")
	if w.Code != http.StatusOK || w.Body.String() != appJS {
		t.Fatalf("GET the script: %d %q", w.Code, w.Body)
	}
	if got := w.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("script Cache-Control %q", got)
	}
	if got := w.Header().Get("Content-Type"); got != "text/javascript; charset=utf-8" {
		t.Errorf("script Content-Type %q", got)
	}
	w = get(t, h, "GET", "/admin/favicon.svg")
	if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-cache" || w.Header().Get("Content-Type") != "image/svg+xml" {
		t.Errorf("GET /admin/favicon.svg: %d, Cache-Control %q, Content-Type %q; want 200, no-cache, image/svg+xml",
			w.Code, w.Header().Get("Cache-Control"), w.Header().Get("Content-Type"))
	}
}

// A page still open from an older build asks for assets a newer binary
// does not have: it must get a 404, not the index as a script.
func TestMissingAssetIsNotFound(t *testing.T) {
	w := get(t, newHandler(t, built()), "GET", "/admin/assets/index-000000.js")
	if w.Code != http.StatusNotFound || strings.Contains(w.Body.String(), "<html") {
		t.Fatalf("GET a missing asset: %d %q; want a 404", w.Code, w.Body)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q; want no-store, so the 404 is not cached for a year", got)
	}
}

func TestPlaceholderFilesAreNotServed(t *testing.T) {
	w := get(t, newHandler(t, built()), "GET", "/admin/.gitkeep")
	if w.Body.String() != indexHTML {
		t.Fatalf("GET /admin/.gitkeep: %d %q; want the index (no such file in the UI)", w.Code, w.Body)
	}
}

func TestEveryAnswerHasAStrictContentSecurityPolicy(t *testing.T) {
	h := newHandler(t, built())
	unbuilt := newHandler(t, fstest.MapFS{".gitkeep": {Data: []byte("placeholder")}})
	for _, c := range []struct {
		h      http.Handler
		method string
		target string
	}{
		{h, "GET", "/admin/"}, {h, "GET", "/admin/mailouts"}, {h, "GET", "/admin/assets/index-3f9a1c.js"},
		{h, "GET", "/admin/assets/missing.js"}, {h, "POST", "/admin/"}, {h, "GET", "/admin"},
		{unbuilt, "GET", "/admin/"},
	} {
		w := get(t, c.h, c.method, c.target)
		csp := parseCSP(w.Header().Get("Content-Security-Policy"))
		for directive, want := range map[string]string{
			"default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "connect-src": "'self'",
			"object-src": "'none'", "frame-ancestors": "'none'", "base-uri": "'self'",
		} {
			if got := strings.Join(csp[directive], " "); got != want {
				t.Errorf("%s %s: %s %q; want %q", c.method, c.target, directive, got, want)
			}
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: no X-Content-Type-Options: nosniff", c.method, c.target)
		}
	}
}

func parseCSP(policy string) map[string][]string {
	out := map[string][]string{}
	for d := range strings.SplitSeq(policy, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			out[f[0]] = f[1:]
		}
	}
	return out
}

func TestPrecompressedFilesServedToClientsThatAcceptThem(t *testing.T) {
	h := newHandler(t, built())
	for _, c := range []struct {
		acceptEncoding, wantEncoding, wantBody string
	}{
		{"gzip, deflate, br, zstd", "br", "brotli of the app"},
		{"gzip", "gzip", "gzip of the app"},
		{"br;q=0, gzip;q=0.5", "gzip", "gzip of the app"},
		{"*", "br", "brotli of the app"},
		{"*, br;q=0", "gzip", "gzip of the app"},
		{"identity", "", appJS},
		{"", "", appJS},
		{"gzip;q=0", "", appJS},
	} {
		w := get(t, h, "GET", "/admin/assets/index-3f9a1c.js", "Accept-Encoding", c.acceptEncoding)
		if w.Code != http.StatusOK || w.Header().Get("Content-Encoding") != c.wantEncoding || w.Body.String() != c.wantBody {
			t.Errorf("Accept-Encoding %q: %d, Content-Encoding %q, body %q; want %q, %q",
				c.acceptEncoding, w.Code, w.Header().Get("Content-Encoding"), w.Body, c.wantEncoding, c.wantBody)
		}
		if w.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: Vary %q; want Accept-Encoding", c.acceptEncoding, w.Header().Get("Vary"))
		}
		if w.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
			t.Errorf("Accept-Encoding %q: Content-Type %q", c.acceptEncoding, w.Header().Get("Content-Type"))
		}
	}
}

func TestTextWithoutPrecompressedFileIsGzipped(t *testing.T) {
	w := get(t, newHandler(t, built()), "GET", "/admin/assets/index-77b2e0.css", "Accept-Encoding", "gzip, br")
	if w.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q; want gzip", w.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || string(got) != appCSS {
		t.Fatalf("gunzipped body: %v, %d bytes; want the style sheet", err, len(got))
	}
	if w.Body.Len() >= len(appCSS) {
		t.Errorf("gzipped %d bytes into %d", len(appCSS), w.Body.Len())
	}
}

func TestETagRevalidationAnswersNotModifiedPerEncoding(t *testing.T) {
	h := newHandler(t, built())
	// A deep link revalidates the index it was given under another path.
	tag := get(t, h, "GET", "/admin/").Header().Get("ETag")
	again := get(t, h, "GET", "/admin/mailouts", "If-None-Match", tag)
	if tag == "" || again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Fatalf("revalidating the index with ETag %q: %d %q; want 304", tag, again.Code, again.Body)
	}
	// Each encoding is its own representation with its own tag.
	first := get(t, h, "GET", "/admin/assets/index-3f9a1c.js", "Accept-Encoding", "gzip")
	gzTag := first.Header().Get("ETag")
	if gzTag == "" || first.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("first answer: ETag %q, Content-Encoding %q", gzTag, first.Header().Get("Content-Encoding"))
	}
	if w := get(t, h, "GET", "/admin/assets/index-3f9a1c.js", "Accept-Encoding", "gzip", "If-None-Match", gzTag); w.Code != http.StatusNotModified {
		t.Fatalf("revalidating the gzip answer: %d; want 304", w.Code)
	}
	plain := get(t, h, "GET", "/admin/assets/index-3f9a1c.js", "If-None-Match", gzTag)
	if plain.Code != http.StatusOK || plain.Header().Get("ETag") == gzTag || plain.Body.String() != appJS {
		t.Fatalf("the gzip ETag from a client without gzip: %d, ETag %q; want 200 with the plain file and another ETag", plain.Code, plain.Header().Get("ETag"))
	}
}

func TestHeadAndOtherMethods(t *testing.T) {
	h := newHandler(t, built())
	w := get(t, h, "HEAD", "/admin/mailouts")
	if w.Code != http.StatusOK || w.Body.Len() != 0 || w.Header().Get("Content-Length") != strconv.Itoa(len(indexHTML)) {
		t.Errorf("HEAD: %d, %d bytes, Content-Length %q", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
	}
	w = get(t, h, "POST", "/admin/mailouts")
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q; want 405 and GET, HEAD", w.Code, w.Header().Get("Allow"))
	}
}

func TestWithoutABuildEveryPathSaysHowToBuild(t *testing.T) {
	h := newHandler(t, fstest.MapFS{".gitkeep": {Data: []byte("placeholder")}})
	if h.Built() {
		t.Fatal("Built() is true with only the placeholder")
	}
	for _, target := range []string{"/admin/", "/admin/mailouts/7", "/admin/assets/index-3f9a1c.js"} {
		w := get(t, h, "GET", target)
		body := w.Body.String()
		if w.Code != http.StatusNotFound || !strings.Contains(body, "make build") || !strings.Contains(body, "npm ci") {
			t.Errorf("GET %s without a build: %d %q; want 404 and how to build", target, w.Code, body)
		}
		if strings.Contains(body, "<script") || strings.Contains(body, "<style") || strings.Contains(body, "style=") {
			t.Errorf("GET %s: the placeholder has inline script or style, which the policy refuses", target)
		}
		if w.Header().Get("Content-Type") != "text/html; charset=utf-8" || w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Content-Type %q, Cache-Control %q", target, w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"))
		}
	}
}

// The embedded folder is whatever the working tree holds: the committed
// placeholder alone, or a build. Either must load.
func TestEmbeddedDistLoads(t *testing.T) {
	h, err := webui.New(web.Dist(), "/admin/")
	if err != nil {
		t.Fatal(err)
	}
	w := get(t, h, "GET", "/admin/")
	if h.Built() != (w.Code == http.StatusOK) {
		t.Fatalf("Built() %v, GET /admin/ %d", h.Built(), w.Code)
	}
}

func TestPrefixMustBeAFolder(t *testing.T) {
	for _, p := range []string{"admin/", "/admin", ""} {
		if _, err := webui.New(built(), p); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
}
