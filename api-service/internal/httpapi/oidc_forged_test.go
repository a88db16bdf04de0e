package httpapi_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"mailing/api-service/internal/httpapi"
	"mailing/api-service/internal/oidclogin"
	"mailing/shared/domain"
)

// forgingProvider is an OpenID Provider that answers every sign-in at
// once and hands out the ID token its forge function makes: the way to
// test that the callback refuses tokens a real provider would never send.
type forgingProvider struct {
	srv   *httptest.Server
	key   *rsa.PrivateKey // the key its JWKS publishes
	mu    sync.Mutex
	nonce string
	forge func(p *forgingProvider, nonce string) string
}

func newForgingProvider(t *testing.T) *forgingProvider {
	t.Helper()
	p := &forgingProvider{key: rsaKey(t)}
	mux := http.NewServeMux()
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize", "token_endpoint": p.srv.URL + "/token",
			"jwks_uri": p.srv.URL + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		pub := p.key.PublicKey
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p.mu.Lock()
		p.nonce = q.Get("nonce")
		p.mu.Unlock()
		back, _ := url.Parse(q.Get("redirect_uri"))
		back.RawQuery = url.Values{"code": {"the-code"}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, _ *http.Request) {
		p.mu.Lock()
		nonce := p.nonce
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": p.forge(p, nonce),
		})
	})
	return p
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// idToken signs claims with key under kid k1.
func idToken(t *testing.T, key *rsa.PrivateKey, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The callback signs nobody in with an ID token from another issuer, for
// another audience, with another nonce, expired, or signed by a key the
// provider does not publish — while the same flow with a proper token
// does sign in, so each refusal is the token's doing.
func TestOIDCCallbackRefusesForgedIDTokens(t *testing.T) {
	b := setup(t)
	prov := newForgingProvider(t)
	var h http.Handler
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(api.Close)
	rp, err := oidclogin.New(context.Background(), oidclogin.Config{
		Issuer: prov.srv.URL, ClientID: "mailing-api", ClientSecret: "s3cret", RedirectURL: api.URL + "/auth/oidc/callback",
		RoleMap:  map[string]domain.Role{"mailing-viewers": domain.RoleViewer},
		StateKey: []byte(testSecret),
	})
	if err != nil {
		t.Fatal(err)
	}
	h = httpapi.New(httpapi.Config{
		Stores: httpapi.PostgresStores(b.db), Log: slog.New(slog.NewJSONHandler(b.logs, nil)), Tokens: b.tokens, Authenticator: b.authn,
		DefaultTimezone: "Europe/Moscow", Version: "test", OIDC: rp,
	})
	claims := func(nonce string) jwt.MapClaims {
		now := time.Now()
		return jwt.MapClaims{"iss": prov.srv.URL, "aud": "mailing-api", "sub": "u1", "nonce": nonce,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"email": "vera@corp.example", "email_verified": true, "groups": []string{"mailing-viewers"}}
	}
	stranger := rsaKey(t)
	for _, c := range []struct {
		name   string
		forge  func(p *forgingProvider, nonce string) string
		signIn bool
	}{
		{"proper", func(p *forgingProvider, n string) string { return idToken(t, p.key, claims(n)) }, true},
		{"unknown key", func(_ *forgingProvider, n string) string { return idToken(t, stranger, claims(n)) }, false},
		{"other issuer", func(p *forgingProvider, n string) string {
			c := claims(n)
			c["iss"] = "https://elsewhere.example/"
			return idToken(t, p.key, c)
		}, false},
		{"other audience", func(p *forgingProvider, n string) string {
			c := claims(n)
			c["aud"] = "another-app"
			return idToken(t, p.key, c)
		}, false},
		{"wrong nonce", func(p *forgingProvider, _ string) string { return idToken(t, p.key, claims("not-the-nonce")) }, false},
		{"expired", func(p *forgingProvider, n string) string {
			c := claims(n)
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			return idToken(t, p.key, c)
		}, false},
	} {
		prov.forge = c.forge
		p := newPerson(t)
		resp, _ := p.get(api.URL + "/auth/oidc/login?return_to=/admin/mailouts")
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("%s: the provider did not send the browser back: %d", c.name, resp.StatusCode)
		}
		callback := resp.Header.Get("Location")
		resp, body := p.get(callback)
		st, _ := p.get(api.URL + "/auth/session")
		got := st.StatusCode == http.StatusOK
		if got != c.signIn {
			t.Errorf("%s: signed in %v (status %d), want %v: %s", c.name, got, resp.StatusCode, c.signIn, body)
		}
		if !c.signIn && resp.StatusCode < 400 {
			t.Errorf("%s: callback answered %d, want a refusal", c.name, resp.StatusCode)
		}
	}
}
