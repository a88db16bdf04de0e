package oidclogin_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailing/api-service/internal/devoidc"
	"mailing/api-service/internal/devoidc/devoidctest"
	"mailing/api-service/internal/oidclogin"
	"mailing/shared/domain"
)

// gate stands between the relying party and the provider: down, it
// answers 503 to everything; up, it passes requests through. It counts
// what reached it.
type gate struct {
	up    atomic.Bool
	hits  atomic.Int64
	paths sync.Map
	srv   *httptest.Server
}

func newGate(t *testing.T, to string) *gate {
	target, _ := url.Parse(to)
	g := &gate{}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hits.Add(1)
		g.paths.Store(r.URL.Path, true)
		if !g.up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// The API starts while its provider is down and signs people in once it
// is up, without a restart; retries are spaced so a burst of sign-ins is
// not a burst at the provider. The provider is reached at ProviderURL
// while the browser is sent to the issuer's own address.
func TestDiscoveryWaitsForTheProviderThroughProviderURL(t *testing.T) {
	issuer := devoidctest.Start(t, "/", devoidc.Config{Directory: devoidc.Directory{
		Users:   []devoidc.User{{Username: "olga", Password: "pw-olga-1234", Email: "olga@corp.example"}},
		Clients: []devoidc.Client{{ID: "mailing-api", Secret: "s3cret", RedirectURIs: []string{"http://app.example/auth/oidc/callback"}}},
	}})
	g := newGate(t, issuer)
	clk := &clock{now: time.Now()}
	rp, err := oidclogin.New(context.Background(), oidclogin.Config{
		Issuer: issuer, ProviderURL: g.srv.URL, ClientID: "mailing-api", ClientSecret: "s3cret",
		RedirectURL: "http://app.example/auth/oidc/callback", RoleMap: map[string]domain.Role{"x": domain.RoleViewer},
		StateKey: []byte(strings.Repeat("k", 32)), Now: clk.Now,
	})
	if err != nil {
		t.Fatalf("New with the provider down: %v", err)
	}
	if g.hits.Load() == 0 {
		t.Fatal("New did not try the provider at ProviderURL")
	}
	if _, _, err := rp.Start(context.Background(), "/"); !errors.Is(err, oidclogin.ErrUnavailable) {
		t.Fatalf("Start with the provider down: %v", err)
	}
	before := g.hits.Load()
	for range 5 {
		_, _, _ = rp.Start(context.Background(), "/")
	}
	if rp.EndSessionURL(context.Background()) != "" {
		t.Fatal("an end-session URL with the provider down")
	}
	if g.hits.Load() != before {
		t.Fatalf("%d more requests to a provider that was just found down", g.hits.Load()-before)
	}

	g.up.Store(true)
	clk.Add(3 * time.Second)
	authURL, cookie, err := rp.Start(context.Background(), "/admin/")
	if err != nil || cookie == "" {
		t.Fatalf("Start with the provider up: %v", err)
	}
	if !strings.HasPrefix(authURL, strings.TrimSuffix(issuer, "/")+"/") {
		t.Fatalf("the browser is sent to %s, not to the issuer %s", authURL, issuer)
	}
	if _, ok := g.paths.Load("/.well-known/openid-configuration"); !ok {
		t.Fatal("discovery did not go through ProviderURL")
	}
	end, err := url.Parse(rp.EndSessionURL(context.Background()))
	if err != nil || end.Query().Get("client_id") != "mailing-api" || end.Query().Get("post_logout_redirect_uri") != "http://app.example/" ||
		!strings.HasPrefix(end.String(), strings.TrimSuffix(issuer, "/")) {
		t.Fatalf("end-session URL %v (%v)", end, err)
	}
}

func TestNewRefusesBadURLs(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	for _, cfg := range []oidclogin.Config{
		{Issuer: "not a url", StateKey: key},
		{Issuer: "http://idp.example/", ProviderURL: "idp:8091", StateKey: key},
		{Issuer: "http://idp.example/", StateKey: key[:8]},
	} {
		if _, err := oidclogin.New(context.Background(), cfg); err == nil {
			t.Errorf("%+v: accepted", cfg)
		}
	}
}
