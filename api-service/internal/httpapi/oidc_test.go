package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailing/api-service/internal/auth"
	"mailing/api-service/internal/devoidc"
	"mailing/api-service/internal/devoidc/devoidctest"
	"mailing/api-service/internal/httpapi"
	"mailing/api-service/internal/oidclogin"
	"mailing/shared/domain"
)

// oidcSite is the bundle's API with OpenID sign-in, at a provider of its
// own.
type oidcSite struct {
	b    *bundle
	base string
}

func withOIDC(t *testing.T, b *bundle) *oidcSite {
	t.Helper()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	callback := srv.URL + "/auth/oidc/callback"
	yes := true
	issuer := devoidctest.Start(t, "/", devoidc.Config{Directory: devoidc.Directory{
		Users: []devoidc.User{
			{Username: "olga", Password: "olga-password", Email: "olga@corp.example", Name: "Olga Operator", Groups: []string{"mailing-operators"}},
			{Username: "boss", Password: "boss-password", Email: "boss@corp.example", Name: "Boss", Groups: []string{"staff"}},
			{Username: "stranger", Password: "stranger-password", Email: "s@elsewhere.example", Groups: []string{"mailing-admins"}, EmailVerified: &yes},
			{Username: "nobody", Password: "nobody-password", Email: "nobody@corp.example", Groups: []string{"staff"}},
		},
		Clients: []devoidc.Client{{ID: "mailing-api", Secret: "test-secret-mailing-api", RedirectURIs: []string{callback}, PostLogoutRedirectURIs: []string{srv.URL + "/"}}},
	}})
	rp, err := oidclogin.New(context.Background(), oidclogin.Config{
		Issuer: issuer, ClientID: "mailing-api", ClientSecret: "test-secret-mailing-api", RedirectURL: callback,
		AdminEmails: []string{"boss@corp.example"}, AllowedDomains: []string{"corp.example"},
		RoleMap:  map[string]domain.Role{"mailing-admins": domain.RoleAdmin, "mailing-operators": domain.RoleOperator, "mailing-viewers": domain.RoleViewer},
		StateKey: []byte(testSecret),
	})
	if err != nil {
		t.Fatal(err)
	}
	h = httpapi.New(httpapi.Config{
		Stores: httpapi.PostgresStores(b.db), Log: slog.New(slog.NewJSONHandler(b.logs, nil)), Tokens: b.tokens, Authenticator: b.authn,
		DefaultTimezone: "Europe/Moscow", Version: "test", OIDC: rp,
	})
	return &oidcSite{b: b, base: srv.URL}
}

// person is a browser that stops at the API's callback, so a test can
// look at (or replay) what the provider sent.
type person struct {
	t  *testing.T
	hc *http.Client
}

func newPerson(t *testing.T) *person {
	jar, _ := cookiejar.New(nil)
	return &person{t: t, hc: &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/auth/oidc/callback" || req.URL.Path == "/admin/mailouts" {
			return http.ErrUseLastResponse
		}
		return nil
	}}}
}

func (p *person) get(u string) (*http.Response, string) {
	p.t.Helper()
	resp, err := p.hc.Get(u)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// signIn starts at GET /auth/oidc/login, fills in the provider's form, and
// returns the callback URL the provider redirects to.
func (p *person) signIn(site *oidcSite, user, password string) string {
	p.t.Helper()
	resp, body := p.get(site.base + "/auth/oidc/login?return_to=" + url.QueryEscape("/admin/mailouts"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
		p.t.Fatalf("not the login form: %d %s", resp.StatusCode, body)
	}
	form := url.Values{"username": {user}, "password": {password}}
	for _, name := range []string{"authRequestID", "csrf"} {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(body)
		if m == nil {
			p.t.Fatalf("no %s in the form", name)
		}
		form.Set(name, m[1])
	}
	m := regexp.MustCompile(`<form method="post" action="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		p.t.Fatalf("no form: %s", body)
	}
	action, _ := resp.Request.URL.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
	r, err := p.hc.PostForm(action.String(), form)
	if err != nil {
		p.t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusFound && r.StatusCode != http.StatusSeeOther {
		p.t.Fatalf("the provider did not redirect: %d", r.StatusCode)
	}
	return r.Header.Get("Location")
}

func (p *person) session(site *oidcSite) (int, string) {
	p.t.Helper()
	resp, body := p.get(site.base + "/auth/session")
	return resp.StatusCode, body
}

func TestOIDCSignIn(t *testing.T) {
	b := setup(t)
	site := withOIDC(t, b)
	p := newPerson(t)
	callback := p.signIn(site, "olga", "olga-password")
	resp, body := p.get(callback)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/mailouts" {
		t.Fatalf("callback: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if c := cookie(resp, "mailing_session"); c == nil || !c.HttpOnly {
		t.Fatalf("no session cookie: %+v", resp.Cookies())
	}
	st, body := p.session(site)
	if st != http.StatusOK || !strings.Contains(body, `"role":"operator"`) || !strings.Contains(body, `"via":"session"`) {
		t.Fatalf("session: %d %s", st, body)
	}
	// The user row is keyed by issuer and subject: signing in again finds it.
	users := items(t, b.must(http.StatusOK, "GET", "/api/users", nil))
	if len(users) != 2 || users[1]["username"] != "olga@corp.example" || users[1]["role"] != "operator" ||
		!strings.HasPrefix(fmt.Sprint(users[1]["issuer"]), "http://127.0.0.1:") || users[0]["issuer"] != nil {
		t.Fatalf("users %v", users)
	}
	p2 := newPerson(t)
	if resp, _ := p2.get(p2.signIn(site, "olga", "olga-password")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second sign-in: %d", resp.StatusCode)
	}
	if users := items(t, b.must(http.StatusOK, "GET", "/api/users", nil)); len(users) != 2 {
		t.Fatalf("a second sign-in made another user: %v", users)
	}

	// The code is spent: the same callback again is refused (its state
	// cookie is gone too).
	if resp, _ := p.get(callback); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed callback: %d", resp.StatusCode)
	}
}

// Signing out a person who came through the provider ends the session
// here and sends the browser to the provider's end-session endpoint, which
// brings it back to this site's root.
func TestOIDCLogoutSignsOutAtTheProvider(t *testing.T) {
	b := setup(t)
	site := withOIDC(t, b)
	p := newPerson(t)
	if resp, _ := p.get(p.signIn(site, "olga", "olga-password")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d", resp.StatusCode)
	}
	base, _ := url.Parse(site.base)
	csrf := ""
	for _, c := range p.hc.Jar.Cookies(base) {
		if c.Name == "mailing_csrf" {
			csrf = c.Value
		}
	}
	req, _ := http.NewRequest("POST", site.base+"/auth/logout", nil)
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := p.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		EndSessionURL string `json:"end_session_url"`
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || out.EndSessionURL == "" {
		t.Fatalf("logout: %d %+v %v", resp.StatusCode, out, err)
	}
	if st, _ := p.session(site); st != http.StatusUnauthorized {
		t.Fatalf("the session outlived the logout: %d", st)
	}
	// Follow the provider's redirects until they lead back to this site.
	back := &http.Client{Jar: p.hc.Jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == base.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err = back.Get(out.EndSessionURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || loc != site.base+"/" {
		t.Fatalf("the provider's sign-out answered %d to %s, want a redirect to %s/", resp.StatusCode, loc, site.base)
	}
}

func TestOIDCReplayedCodeAndWrongState(t *testing.T) {
	b := setup(t)
	site := withOIDC(t, b)

	// Wrong state: the callback's state is not the one in the cookie.
	p := newPerson(t)
	callback := p.signIn(site, "olga", "olga-password")
	u, _ := url.Parse(callback)
	q := u.Query()
	q.Set("state", "forged")
	u.RawQuery = q.Encode()
	if resp, body := p.get(u.String()); resp.StatusCode != http.StatusBadRequest || cookie(resp, "mailing_session") != nil {
		t.Fatalf("wrong state: %d %s", resp.StatusCode, body)
	}

	// Replayed code: a fresh sign-in's cookie with a code already spent.
	p = newPerson(t)
	first := p.signIn(site, "olga", "olga-password")
	if resp, _ := p.get(first); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first callback: %d", resp.StatusCode)
	}
	second := p.signIn(site, "olga", "olga-password")
	fu, _ := url.Parse(first)
	su, _ := url.Parse(second)
	q = su.Query()
	q.Set("code", fu.Query().Get("code"))
	su.RawQuery = q.Encode()
	if resp, body := p.get(su.String()); resp.StatusCode != http.StatusBadRequest || cookie(resp, "mailing_session") != nil {
		t.Fatalf("replayed code: %d %s", resp.StatusCode, body)
	}
}

func TestOIDCRoles(t *testing.T) {
	b := setup(t)
	site := withOIDC(t, b)
	for _, tc := range []struct {
		user, password string
		status         int
		role           string
	}{
		{"boss", "boss-password", http.StatusSeeOther, "admin"},     // OIDC_ADMIN_EMAILS
		{"nobody", "nobody-password", http.StatusForbidden, ""},     // no group maps to a role
		{"stranger", "stranger-password", http.StatusForbidden, ""}, // domain not allowed
	} {
		p := newPerson(t)
		resp, body := p.get(p.signIn(site, tc.user, tc.password))
		if resp.StatusCode != tc.status {
			t.Fatalf("%s: %d %s", tc.user, resp.StatusCode, body)
		}
		if tc.status == http.StatusForbidden {
			if !strings.Contains(body, "No access") || cookie(resp, "mailing_session") != nil {
				t.Fatalf("%s: refusal page %s", tc.user, body)
			}
			continue
		}
		if st, body := p.session(site); st != http.StatusOK || !strings.Contains(body, `"role":"`+tc.role+`"`) {
			t.Fatalf("%s: %d %s", tc.user, st, body)
		}
	}
}

func TestOIDCLoginRefusesOpenRedirect(t *testing.T) {
	b := setup(t)
	site := withOIDC(t, b)
	p := newPerson(t)
	resp, _ := p.get(site.base + "/auth/oidc/login?return_to=" + url.QueryEscape("//evil.example/"))
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("open redirect: %d", resp.StatusCode)
	}
}

// apiWithDeadProvider is the bundle's API configured with an OpenID
// Provider that cannot be reached.
func apiWithDeadProvider(t *testing.T, b *bundle, limiter *auth.Limiter) string {
	t.Helper()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	rp, err := oidclogin.New(context.Background(), oidclogin.Config{
		Issuer: dead.URL + "/", ClientID: "mailing-api", ClientSecret: "s", RedirectURL: "http://app.example/auth/oidc/callback",
		StateKey: []byte(testSecret),
	})
	if err != nil {
		t.Fatalf("New with the provider down: %v", err)
	}
	api := httptest.NewServer(httpapi.New(httpapi.Config{
		Stores: httpapi.PostgresStores(b.db), Log: slog.New(slog.NewJSONHandler(b.logs, nil)), Tokens: b.tokens, Authenticator: b.authn,
		DefaultTimezone: "Europe/Moscow", Version: "test", OIDC: rp, OIDCLimiter: limiter,
	}))
	t.Cleanup(api.Close)
	return api.URL
}

// With the provider unreachable the API still starts and serves; a sign-in
// gets a page saying so with Retry-After, not a 500.
func TestOIDCLoginWhileTheProviderIsDown(t *testing.T) {
	base := apiWithDeadProvider(t, setup(t), nil)
	resp, body := newPerson(t).get(base + "/auth/oidc/login")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "cannot be reached") {
		t.Fatalf("sign-in with the provider down: %d Retry-After %q\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if resp, _ := newPerson(t).get(base + "/healthz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz with the provider down: %d", resp.StatusCode)
	}
}

// A client address starting or finishing sign-ins faster than a person
// does is refused with 429 and Retry-After, before the provider or the
// database is asked anything.
func TestOIDCSignInsAreRateLimited(t *testing.T) {
	base := apiWithDeadProvider(t, setup(t), auth.NewLimiter(time.Hour, 3))
	p := newPerson(t)
	for i, path := range []string{"/auth/oidc/login", "/auth/oidc/callback?state=x&code=y", "/auth/oidc/login"} {
		if resp, _ := p.get(base + path); resp.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("attempt %d refused: %d", i+1, resp.StatusCode)
		}
	}
	for _, path := range []string{"/auth/oidc/login", "/auth/oidc/callback?state=x&code=y"} {
		resp, body := p.get(base + path)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"too_many_requests"`) {
			t.Errorf("%s past the limit: %d Retry-After %q %s", path, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
}
