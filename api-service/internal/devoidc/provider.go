// Package devoidc is a small but real OpenID Provider for development and
// tests, built on zitadel's op: discovery, a JWKS, the authorization code
// flow with PKCE, refresh tokens, userinfo and end-session, with a plain
// login form and the users and clients of a Directory. Everything issued
// lives in memory and is lost on restart.
//
// It stands in for the production providers (Auth0, Keycloak) where none
// can be reached; the dev-oidc command serves it, and tests start it
// in-process.
package devoidc

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"mailing/shared/logging"
)

// Config is what New needs.
type Config struct {
	// Issuer is the provider's identifier, exactly as relying parties
	// configure it: "http://localhost:8091/" and "http://localhost:8091"
	// are two different issuers. A path ("https://sso.example/realms/x")
	// prefixes every endpoint.
	Issuer    string
	Directory Directory
	// Key signs the tokens; nil generates one.
	Key *rsa.PrivateKey
	// Insecure allows a plain http issuer on a host other than localhost
	// or a loopback address (one reached as a container's name, say).
	Insecure  bool
	Lifetimes Lifetimes
	// Log gets a line per request (debug) and per sign-in (info); nil
	// discards them.
	Log *slog.Logger
}

// Lifetimes of what the provider issues; a zero field takes its default.
type Lifetimes struct {
	// SignIn is from /authorize to redeeming the code (default 10m).
	SignIn  time.Duration
	IDToken time.Duration // default 1h
	Access  time.Duration // default 1h
	Refresh time.Duration // default 24h
}

func (l Lifetimes) withDefaults() Lifetimes {
	or := func(d, def time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return def
	}
	return Lifetimes{
		SignIn: or(l.SignIn, 10*time.Minute), IDToken: or(l.IDToken, time.Hour),
		Access: or(l.Access, time.Hour), Refresh: or(l.Refresh, 24*time.Hour),
	}
}

// Provider is the OpenID Provider as an http.Handler: the op endpoints,
// the login form and the signed-out page, under the issuer's path.
type Provider struct {
	issuer  string
	handler http.Handler
}

// Paths under the issuer, beside op's own (authorize, oauth/token,
// userinfo, keys, end_session, revoke, oauth/introspect).
const (
	loginPath     = "/login"
	loggedOutPath = "/logged-out"
)

// New checks cfg and builds the provider.
func New(cfg Config) (*Provider, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	iss, err := checkIssuer(cfg.Issuer, cfg.Insecure)
	if err != nil {
		return nil, err
	}
	if err := cfg.Directory.Validate(); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	key := cfg.Key
	if key == nil {
		if key, err = GenerateKey(); err != nil {
			return nil, err
		}
	}
	sk, err := newSigningKey(key)
	if err != nil {
		return nil, err
	}
	ttl := cfg.Lifetimes.withDefaults()
	// Endpoints are the issuer without its trailing slash plus a path, as
	// op builds them.
	base := strings.TrimSuffix(cfg.Issuer, "/")
	prefix := strings.TrimSuffix(iss.Path, "/")
	store := &storage{
		users:    make(map[string]User, len(cfg.Directory.Users)),
		clients:  make(map[string]*client, len(cfg.Directory.Clients)),
		key:      sk,
		ttl:      ttl,
		log:      log,
		requests: make(map[string]*authRequest),
		codes:    make(map[string]string),
		access:   make(map[string]*accessToken),
		refresh:  make(map[string]*refreshToken),
	}
	for _, u := range cfg.Directory.Users {
		store.users[u.Username] = u
	}
	for _, c := range cfg.Directory.Clients {
		store.clients[c.ID] = &client{Client: c, loginURL: base + loginPath, idTokenTTL: ttl.IDToken}
	}

	var opts []op.Option
	if iss.Scheme == "http" {
		// op refuses an http issuer unless told it is for development.
		opts = append(opts, op.WithAllowInsecure())
		log.Warn("the issuer is plain http: tokens and passwords cross the network in clear; development only",
			"issuer", cfg.Issuer)
	}
	// Encrypts the opaque access tokens; they die with the process
	// anyway, so a fresh key per start costs nothing.
	var tokenKey [32]byte
	rand.Read(tokenKey[:])
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:                tokenKey,
		DefaultLogoutRedirectURI: base + loggedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedScopes: []string{
			oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess, groupsScope,
		},
		SupportedClaims:    append(slices.Clone(op.DefaultSupportedClaims), groupsScope),
		SupportedUILocales: []language.Tag{language.English},
	}, store, op.StaticIssuer(cfg.Issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("openid provider: %w", err)
	}

	l := &login{
		store: store, callback: op.AuthCallbackURL(provider), log: log,
		cookiePath: prefix + loginPath, secure: iss.Scheme == "https",
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+loginPath, l.show)
	// op's callback URL is built from the issuer it finds in the context.
	mux.Handle("POST "+prefix+loginPath, op.NewIssuerInterceptor(provider.IssuerFromRequest).HandlerFunc(l.submit))
	mux.HandleFunc("GET "+prefix+loggedOutPath, loggedOut)
	mux.Handle(prefix+"/", http.StripPrefix(prefix, provider))
	return &Provider{issuer: cfg.Issuer, handler: logRequests(mux, log)}, nil
}

// Issuer is the issuer the provider was built with.
func (p *Provider) Issuer() string { return p.issuer }

func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.handler.ServeHTTP(w, r) }

// checkIssuer allows plain http only on this machine unless insecure.
func checkIssuer(raw string, insecure bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return nil, fmt.Errorf("issuer %q: want an absolute http or https URL", raw)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return nil, fmt.Errorf("issuer %q: no query, fragment or user info allowed", raw)
	case u.Scheme == "http" && !insecure && !loopback(u.Hostname()):
		return nil, fmt.Errorf("issuer %q: plain http is only allowed for localhost and loopback addresses unless allowed explicitly (DEV_OIDC_INSECURE=true)", raw)
	}
	return u, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// logRequests writes one debug line per request. The path only: queries
// carry codes, and bodies passwords and tokens.
func logRequests(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.LogAttrs(r.Context(), slog.LevelDebug, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int(logging.HTTPStatus, rec.status),
			slog.Float64(logging.LatencyMS, float64(time.Since(start).Microseconds())/1000))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
