// Package oidclogin signs people in through an OpenID Provider: the API is
// a confidential client running the authorization code flow with PKCE
// (S256), state and nonce, verifies the ID token with go-oidc, and maps
// the person's email and groups to a role. Nobody who matches no rule gets
// a role.
package oidclogin

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"mailing/shared/domain"
)

// Config is the relying party's settings (OIDC_*).
type Config struct {
	Issuer, ClientID, ClientSecret, RedirectURL string
	// ProviderURL, when set, is where this service reaches the provider
	// when that differs from the issuer the browser sees (containers
	// reaching the provider by its service name): requests to the
	// issuer's host go there instead.
	ProviderURL string
	// PostLogoutRedirectURL is where the provider sends the browser after
	// signing it out; empty means the root of RedirectURL's site.
	PostLogoutRedirectURL string
	// Scopes default to openid, email, profile.
	Scopes []string
	// Audience the ID token must name; empty means ClientID.
	Audience string
	// AdminEmails are made admins whatever their groups.
	AdminEmails []string
	// AllowedDomains, when given, are the only email domains let in.
	AllowedDomains []string
	// RoleClaim names the claim holding the groups; empty means "groups".
	RoleClaim string
	// RoleMap maps a group to a role; the most powerful match wins.
	RoleMap map[string]domain.Role
	// StateKey signs the cookie that carries a sign-in's state, nonce and
	// PKCE verifier; every replica must share it.
	StateKey []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HTTPClient talks to the provider; nil means one with a 10 s timeout.
	HTTPClient *http.Client
}

// RelyingParty runs sign-ins at one provider. It discovers the provider
// when first needed and again after a failure, so the API starts (and
// keeps serving everything else) while the provider is unreachable.
type RelyingParty struct {
	cfg    Config
	client *http.Client

	mu        sync.Mutex
	found     *discovered
	lastTry   time.Time
	lastError error
}

// discovered is what the provider's discovery document gave.
type discovered struct {
	provider   *oidc.Provider
	verifier   *oidc.IDTokenVerifier
	oauth      oauth2.Config
	endSession string
}

// StateTTL bounds a sign-in from GET /auth/oidc/login to the callback.
const StateTTL = 10 * time.Minute

// retryDiscovery spaces discovery attempts while the provider is down, so
// a burst of sign-ins does not become a burst of requests to it.
const retryDiscovery = 2 * time.Second

// ErrUnavailable is a provider that cannot be reached or discovered now.
var ErrUnavailable = errors.New("the identity provider cannot be reached")

// New checks cfg and tries discovery once; a provider that is not up yet
// is discovered later, on the first sign-in.
func New(ctx context.Context, cfg Config) (*RelyingParty, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "groups"
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	if len(cfg.StateKey) < 32 {
		return nil, errors.New("oidclogin: the state key must be at least 32 bytes")
	}
	issuer, err := url.Parse(cfg.Issuer)
	if err != nil || issuer.Host == "" {
		return nil, fmt.Errorf("oidclogin: the issuer %q is not an absolute URL", cfg.Issuer)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.ProviderURL != "" {
		to, err := url.Parse(cfg.ProviderURL)
		if err != nil || to.Host == "" {
			return nil, fmt.Errorf("oidclogin: the provider URL %q is not an absolute URL", cfg.ProviderURL)
		}
		c := *client
		c.Transport = rewriteHost{from: issuer.Host, to: to, next: transportOf(client)}
		client = &c
	}
	rp := &RelyingParty{cfg: cfg, client: client}
	_, _ = rp.discover(ctx)
	return rp, nil
}

// rewriteHost sends requests for the issuer's host to the provider URL.
type rewriteHost struct {
	from string
	to   *url.URL
	next http.RoundTripper
}

func (r rewriteHost) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == r.from {
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host = r.to.Scheme, r.to.Host
		req.Host = ""
	}
	return r.next.RoundTrip(req)
}

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

// ctx carries the HTTP client to go-oidc and x/oauth2.
func (rp *RelyingParty) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, rp.client)
}

// discover returns the provider's endpoints, fetching the discovery
// document if it has not been fetched yet.
func (rp *RelyingParty) discover(ctx context.Context) (*discovered, error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.found != nil {
		return rp.found, nil
	}
	if now := rp.cfg.Now(); now.Sub(rp.lastTry) < retryDiscovery && rp.lastError != nil {
		return nil, rp.lastError
	}
	rp.lastTry = rp.cfg.Now()
	// The key set keeps this context for its later fetches of the JWKS:
	// it must outlive the request that happened to discover.
	p, err := oidc.NewProvider(rp.ctx(context.WithoutCancel(ctx)), rp.cfg.Issuer)
	if err != nil {
		rp.lastError = fmt.Errorf("%w: discovery at %s: %v", ErrUnavailable, rp.cfg.Issuer, err)
		return nil, rp.lastError
	}
	aud := rp.cfg.Audience
	if aud == "" {
		aud = rp.cfg.ClientID
	}
	d := &discovered{provider: p, verifier: p.Verifier(&oidc.Config{ClientID: aud, Now: rp.cfg.Now})}
	d.oauth = oauth2.Config{ClientID: rp.cfg.ClientID, ClientSecret: rp.cfg.ClientSecret, Endpoint: p.Endpoint(), RedirectURL: rp.cfg.RedirectURL, Scopes: rp.cfg.Scopes}
	// Auto-detection would send a refused exchange again, spending the code.
	d.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if p.Claims(&meta) == nil {
		d.endSession = meta.EndSession
	}
	rp.found, rp.lastError = d, nil
	return d, nil
}

// Issuer is the provider's issuer.
func (rp *RelyingParty) Issuer() string { return rp.cfg.Issuer }

// EndSessionURL is where to send a browser to sign it out at the provider
// too (OpenID Connect RP-Initiated Logout, identified by client_id), or ""
// when the provider has no end-session endpoint or cannot be reached.
func (rp *RelyingParty) EndSessionURL(ctx context.Context) string {
	d, err := rp.discover(ctx)
	if err != nil || d.endSession == "" {
		return ""
	}
	u, err := url.Parse(d.endSession)
	if err != nil {
		return ""
	}
	back := rp.cfg.PostLogoutRedirectURL
	if back == "" {
		if r, err := url.Parse(rp.cfg.RedirectURL); err == nil {
			back = (&url.URL{Scheme: r.Scheme, Host: r.Host, Path: "/"}).String()
		}
	}
	q := u.Query()
	q.Set("client_id", rp.cfg.ClientID)
	if back != "" {
		q.Set("post_logout_redirect_uri", back)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Pending is one sign-in between the redirect to the provider and the
// callback, kept in a signed cookie.
type Pending struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r"`
	Expires  int64  `json:"e"`
}

// Start begins a sign-in that returns to returnTo: the provider's URL to
// send the browser to, and the signed cookie value to keep meanwhile. It
// fails with ErrUnavailable while the provider cannot be discovered.
func (rp *RelyingParty) Start(ctx context.Context, returnTo string) (authURL, cookie string, err error) {
	d, err := rp.discover(ctx)
	if err != nil {
		return "", "", err
	}
	p := Pending{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(), ReturnTo: returnTo,
		Expires: rp.cfg.Now().Add(StateTTL).Unix()}
	body, _ := json.Marshal(p)
	payload := base64.RawURLEncoding.EncodeToString(body)
	authURL = d.oauth.AuthCodeURL(p.State, oidc.Nonce(p.Nonce), oauth2.S256ChallengeOption(p.Verifier))
	return authURL, payload + "." + rp.sign(payload), nil
}

func (rp *RelyingParty) sign(payload string) string {
	m := hmac.New(sha256.New, rp.cfg.StateKey)
	m.Write([]byte("oidc-state\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ErrState is a callback that does not belong to a sign-in started here.
var ErrState = errors.New("the sign-in is unknown, expired or was tampered with: start again")

// Resume checks a callback's state against the cookie and returns the
// pending sign-in.
func (rp *RelyingParty) Resume(cookie, state string) (Pending, error) {
	payload, sig, ok := strings.Cut(cookie, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(rp.sign(payload))) {
		return Pending{}, ErrState
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	var p Pending
	if err != nil || json.Unmarshal(body, &p) != nil {
		return Pending{}, ErrState
	}
	if rp.cfg.Now().Unix() > p.Expires || state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(p.State)) != 1 {
		return Pending{}, ErrState
	}
	return p, nil
}

// Identity is who the provider vouches for.
type Identity struct {
	Subject, Email, Name string
	EmailVerified        bool
	Groups               []string
}

// Finish exchanges code (with the pending sign-in's verifier), verifies
// the ID token (issuer, audience, expiry, nonce) and reads the person's
// email and groups, from the ID token or else from userinfo.
func (rp *RelyingParty) Finish(ctx context.Context, p Pending, code string) (Identity, error) {
	d, err := rp.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	ctx = rp.ctx(ctx)
	tok, err := d.oauth.Exchange(ctx, code, oauth2.VerifierOption(p.Verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("exchange the code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, errors.New("the provider sent no ID token")
	}
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("verify the ID token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(p.Nonce)) != 1 {
		return Identity{}, errors.New("the ID token's nonce is not this sign-in's")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("read the ID token's claims: %w", err)
	}
	id := identityOf(idt.Subject, claims, rp.cfg.RoleClaim)
	if id.Email == "" || claims[rp.cfg.RoleClaim] == nil {
		if ui, err := d.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
			var more map[string]any
			if ui.Claims(&more) == nil {
				for k, v := range more {
					if _, ok := claims[k]; !ok {
						claims[k] = v
					}
				}
				id = identityOf(idt.Subject, claims, rp.cfg.RoleClaim)
			}
		}
	}
	return id, nil
}

func identityOf(sub string, c map[string]any, roleClaim string) Identity {
	id := Identity{Subject: sub}
	id.Email, _ = c["email"].(string)
	id.Email = strings.ToLower(strings.TrimSpace(id.Email))
	id.Name, _ = c["name"].(string)
	id.EmailVerified = true
	if v, ok := c["email_verified"].(bool); ok {
		id.EmailVerified = v
	}
	switch g := c[roleClaim].(type) {
	case []any:
		for _, x := range g {
			if s, ok := x.(string); ok {
				id.Groups = append(id.Groups, s)
			}
		}
	case string:
		id.Groups = strings.Fields(strings.ReplaceAll(g, ",", " "))
	}
	return id
}

// Role maps a person to a role: an admin email is an admin; otherwise,
// when the email's domain is allowed (or no domains are configured), the
// most powerful role any of their groups maps to. ok is false when
// nothing matches: such a person gets no role at all.
func (rp *RelyingParty) Role(id Identity) (domain.Role, bool) {
	if id.Email != "" && id.EmailVerified {
		for _, e := range rp.cfg.AdminEmails {
			if strings.EqualFold(e, id.Email) {
				return domain.RoleAdmin, true
			}
		}
	}
	if len(rp.cfg.AllowedDomains) > 0 {
		_, domainPart, _ := strings.Cut(id.Email, "@")
		allowed := false
		for _, d := range rp.cfg.AllowedDomains {
			allowed = allowed || (id.EmailVerified && strings.EqualFold(d, domainPart))
		}
		if !allowed {
			return "", false
		}
	}
	var best domain.Role
	for _, g := range id.Groups {
		if r, ok := rp.cfg.RoleMap[g]; ok && (best == "" || r.Includes(best)) {
			best = r
		}
	}
	return best, best != ""
}

// ParseRoleMap reads OIDC_ROLE_MAP: "group=role,group=role".
func ParseRoleMap(s string) (map[string]domain.Role, error) {
	out := map[string]domain.Role{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		g, r, ok := strings.Cut(pair, "=")
		role := domain.Role(strings.TrimSpace(r))
		if !ok || strings.TrimSpace(g) == "" || !role.Valid() {
			return nil, fmt.Errorf("%q is not group=role with a role of viewer, operator or admin", pair)
		}
		out[strings.TrimSpace(g)] = role
	}
	return out, nil
}
