package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

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
		Clients: []devoidc.Client{{ID: "mailing-api", Secret: "test-secret-mailing-api", RedirectURIs: []string{callback}}},
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
	if len(users) != 2 || users[1]["username"] != "olga@corp.example" || users[1]["role"] != "operator" {
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
