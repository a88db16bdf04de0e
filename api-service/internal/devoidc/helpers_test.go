package devoidc_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"mailing/api-service/internal/devoidc"
	"mailing/api-service/internal/devoidc/devoidctest"
	"mailing/shared/logging"
	"mailing/shared/testkit"
)

// The relying parties of the tests. Their redirect URIs are never served:
// the browser stops at them, as a relying party's callback would receive
// the request.
const (
	webID        = "mailing-api"
	webSecret    = "mailing-api-secret"
	webRedirect  = "http://localhost:8080/auth/oidc/callback"
	webLoggedOut = "http://localhost:8080/"
	cliID        = "mailing-cli"
	cliRedirect  = "http://127.0.0.1:53682/callback"
)

// sharedKey spares each test an RSA key generation.
var sharedKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := devoidc.GenerateKey()
	if err != nil {
		panic(err)
	}
	return k
})

func directory() devoidc.Directory {
	unverified := false
	return devoidc.Directory{
		Users: []devoidc.User{
			{Username: "alice", Password: "alice-pass", Email: "alice@example.test", Name: "Alice Admin",
				Groups: []string{"mailing-admins", "staff"}},
			{Username: "victor", Password: "victor-pass", Email: "victor@example.test", Name: "Victor Viewer",
				EmailVerified: &unverified},
		},
		Clients: []devoidc.Client{
			{ID: webID, Secret: webSecret, RedirectURIs: []string{webRedirect}, PostLogoutRedirectURIs: []string{webLoggedOut}},
			{ID: cliID, RedirectURIs: []string{cliRedirect}},
		},
	}
}

// bundle is one provider and what a test drives it with.
type bundle struct {
	t        *testing.T
	ctx      context.Context
	issuer   string
	log      *testkit.Log
	provider *oidc.Provider // go-oidc's view of it, from discovery
	web      oauth2.Config  // the confidential client
}

func setup(t *testing.T, configure ...func(*devoidc.Config)) *bundle {
	return setupAt(t, "/", configure...)
}

// setupAt starts a provider whose issuer has the given path and discovers
// it as a relying party does; configure may change the provider's
// configuration first.
func setupAt(t *testing.T, path string, configure ...func(*devoidc.Config)) *bundle {
	t.Helper()
	b := &bundle{t: t, ctx: context.Background(), log: &testkit.Log{}}
	log, err := logging.New(b.log, "debug", "json", "dev-oidc")
	if err != nil {
		t.Fatal(err)
	}
	cfg := devoidc.Config{Directory: directory(), Key: sharedKey(), Log: log}
	for _, c := range configure {
		c(&cfg)
	}
	b.issuer = devoidctest.Start(t, path, cfg)
	b.provider, err = oidc.NewProvider(b.ctx, b.issuer)
	if err != nil {
		t.Fatalf("discovery of %s: %v", b.issuer, err)
	}
	b.web = oauth2.Config{
		ClientID: webID, ClientSecret: webSecret, Endpoint: b.provider.Endpoint(), RedirectURL: webRedirect,
		Scopes: []string{oidc.ScopeOpenID, "email", "profile", oidc.ScopeOfflineAccess},
	}
	// Left to detect the style, x/oauth2 sends a refused request again
	// with the secret in the form, and the second answer hides the first.
	b.web.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	return b
}

// flow is one sign-in as a relying party starts it: its own state, nonce
// and PKCE verifier.
type flow struct {
	state, nonce, verifier string
}

func newFlow() flow {
	return flow{state: rand.Text(), nonce: rand.Text(), verifier: oauth2.GenerateVerifier()}
}

func (f flow) authURL(conf oauth2.Config) string {
	return conf.AuthCodeURL(f.state, oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier))
}

// browser follows redirects and keeps cookies, and stops at a relying
// party's redirect URI, where the answer's Location is what the relying
// party would receive.
type browser struct {
	t  *testing.T
	hc *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, hc: &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if u := req.URL.String(); strings.HasPrefix(u, webRedirect) || strings.HasPrefix(u, cliRedirect) ||
			strings.HasPrefix(u, webLoggedOut) || req.URL.Host == "evil.example" {
			return http.ErrUseLastResponse
		}
		return nil
	}}}
}

// page is an answer with its body read.
type page struct {
	status int
	url    *url.URL // where the browser ended
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, header: resp.Header, body: string(body)}
}

func (b *browser) get(u string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// openForm starts a sign-in and returns the login form's page.
func (b *browser) openForm(authURL string) page {
	b.t.Helper()
	p := b.get(authURL)
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="password"`) {
		b.t.Fatalf("GET %s ended at %s with %d, not the login form:\n%s", authURL, p.url, p.status, p.body)
	}
	return p
}

// submit posts the form of p with a username and password, as a browser
// sends it: the hidden fields as rendered, to the form's action.
func (b *browser) submit(p page, username, password string) page {
	b.t.Helper()
	form := url.Values{"username": {username}, "password": {password}}
	for _, name := range []string{"authRequestID", "csrf"} {
		form.Set(name, hidden(b.t, p.body, name))
	}
	return b.post(formAction(b.t, p), form)
}

// signIn runs the browser's part of a sign-in and returns the query the
// relying party's redirect URI receives.
func (b *browser) signIn(authURL, username, password string) url.Values {
	b.t.Helper()
	return redirected(b.t, b.submit(b.openForm(authURL), username, password))
}

// redirected is the query of the redirect p stopped at.
func redirected(t *testing.T, p page) url.Values {
	t.Helper()
	if p.status != http.StatusFound && p.status != http.StatusSeeOther {
		t.Fatalf("want a redirect to the relying party, got %d at %s:\n%s", p.status, p.url, p.body)
	}
	loc, err := url.Parse(p.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

func hidden(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no hidden field %q in the form:\n%s", name, body)
	}
	return m[1]
}

func formAction(t *testing.T, p page) string {
	t.Helper()
	m := regexp.MustCompile(`<form method="post" action="([^"]*)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no form in:\n%s", p.body)
	}
	action, err := p.url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return action.String()
}

// idClaims are the claims the relying party reads from the ID token.
type idClaims struct {
	Email         string   `json:"email"`
	EmailVerified *bool    `json:"email_verified"`
	Name          string   `json:"name"`
	Groups        []string `json:"groups"`
}

func (b *bundle) verifier() *oidc.IDTokenVerifier {
	return b.provider.Verifier(&oidc.Config{ClientID: webID})
}

// exchange redeems a code for the web client with the flow's verifier.
func (b *bundle) exchange(code string, f flow) (*oauth2.Token, error) {
	return b.web.Exchange(b.ctx, code, oauth2.VerifierOption(f.verifier))
}
