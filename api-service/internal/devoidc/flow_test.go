package devoidc_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestCodeFlow drives a whole sign-in over HTTP as the API will, with
// go-oidc and x/oauth2, for an issuer with a trailing slash (Auth0's
// shape) and one with a path and none (Keycloak's).
func TestCodeFlow(t *testing.T) {
	for _, path := range []string{"/", "/realms/mailing"} {
		t.Run(strings.Trim(path, "/")+"/", func(t *testing.T) {
			b := setupAt(t, path)
			var disc struct {
				Issuer             string   `json:"issuer"`
				EndSession         string   `json:"end_session_endpoint"`
				ChallengeMethods   []string `json:"code_challenge_methods_supported"`
				TokenAuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
				SigningAlgorithms  []string `json:"id_token_signing_alg_values_supported"`
				ClaimsSupported    []string `json:"claims_supported"`
				GrantTypes         []string `json:"grant_types_supported"`
				UserinfoEndpoint   string   `json:"userinfo_endpoint"`
				RevocationEndpoint string   `json:"revocation_endpoint"`
			}
			if err := b.provider.Claims(&disc); err != nil {
				t.Fatal(err)
			}
			base := strings.TrimSuffix(b.issuer, "/")
			if disc.Issuer != b.issuer || disc.EndSession != base+"/end_session" || disc.UserinfoEndpoint != base+"/userinfo" {
				t.Errorf("discovery: %+v (issuer %s)", disc, b.issuer)
			}
			for _, want := range [][2]any{
				{disc.ChallengeMethods, "S256"}, {disc.TokenAuthMethods, "client_secret_basic"},
				{disc.TokenAuthMethods, "client_secret_post"}, {disc.SigningAlgorithms, "RS256"},
				{disc.ClaimsSupported, "groups"}, {disc.GrantTypes, "refresh_token"},
			} {
				if !slices.Contains(want[0].([]string), want[1].(string)) {
					t.Errorf("discovery lists %v, without %s", want[0], want[1])
				}
			}

			f := newFlow()
			br := newBrowser(t)
			form := br.openForm(f.authURL(b.web))
			if !strings.Contains(form.body, webID) {
				t.Errorf("the form does not name the client %s", webID)
			}
			// A wrong password and an unknown user get the same answer.
			var refusals []string
			for _, creds := range [][2]string{{"alice", "not-her-password"}, {"mallory", "alice-pass"}} {
				p := br.submit(form, creds[0], creds[1])
				if p.status != http.StatusOK || p.url.Path != form.url.Path || !strings.Contains(p.body, "Wrong username or password.") {
					t.Fatalf("sign-in as %s/%s: %d at %s:\n%s", creds[0], creds[1], p.status, p.url, p.body)
				}
				refusals = append(refusals, strings.ReplaceAll(p.body, creds[0], "USER"))
			}
			if refusals[0] != refusals[1] {
				t.Errorf("a wrong password and an unknown user are answered differently:\n%s\n---\n%s", refusals[0], refusals[1])
			}

			got := redirected(t, br.submit(form, "alice", "alice-pass"))
			if got.Get("state") != f.state || got.Get("code") == "" {
				t.Fatalf("redirect to the relying party: %v, want a code and state %s", got, f.state)
			}
			code := got.Get("code")

			tok, err := b.exchange(code, f)
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			rawID, _ := tok.Extra("id_token").(string)
			idt, err := b.verifier().Verify(b.ctx, rawID)
			if err != nil {
				t.Fatalf("verify the ID token: %v", err)
			}
			if idt.Issuer != b.issuer || !slices.Equal(idt.Audience, []string{webID}) || idt.Nonce != f.nonce || idt.Subject != "alice" {
				t.Errorf("ID token: iss %s aud %v nonce %s sub %s", idt.Issuer, idt.Audience, idt.Nonce, idt.Subject)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			var claims idClaims
			if err := idt.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if claims.Email != "alice@example.test" || claims.EmailVerified == nil || !*claims.EmailVerified ||
				claims.Name != "Alice Admin" || !slices.Equal(claims.Groups, []string{"mailing-admins", "staff"}) {
				t.Errorf("ID token claims: %+v", claims)
			}
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token for offline_access")
			}

			ui, err := b.provider.UserInfo(b.ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			var uiClaims idClaims
			if err := ui.Claims(&uiClaims); err != nil {
				t.Fatal(err)
			}
			if ui.Subject != "alice" || uiClaims.Email != "alice@example.test" || uiClaims.Name != "Alice Admin" ||
				!slices.Equal(uiClaims.Groups, []string{"mailing-admins", "staff"}) {
				t.Errorf("userinfo: sub %s %+v", ui.Subject, uiClaims)
			}

			// A refresh gives new tokens and a new refresh token; the one
			// spent is refused.
			refreshed, err := b.web.TokenSource(b.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if refreshed.AccessToken == "" || refreshed.AccessToken == tok.AccessToken ||
				refreshed.RefreshToken == "" || refreshed.RefreshToken == tok.RefreshToken {
				t.Errorf("refresh answered %+v", refreshed)
			}
			rawID, _ = refreshed.Extra("id_token").(string)
			if idt, err := b.verifier().Verify(b.ctx, rawID); err != nil || idt.Subject != "alice" {
				t.Errorf("ID token of the refresh: %v", err)
			}
			if _, err := b.web.TokenSource(b.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); !isOAuthError(err, "invalid_grant") {
				t.Errorf("a spent refresh token: %v, want invalid_grant", err)
			}

			// The code, presented again, is refused, and what it gave is
			// revoked: it may have been stolen.
			if _, err := b.exchange(code, f); !isOAuthError(err, "invalid_grant") {
				t.Errorf("second redemption of the code: %v, want invalid_grant", err)
			}
			if _, err := b.provider.UserInfo(b.ctx, oauth2.StaticTokenSource(refreshed)); err == nil {
				t.Error("userinfo still answers with tokens of a replayed code")
			}
			if _, err := b.web.TokenSource(b.ctx, &oauth2.Token{RefreshToken: refreshed.RefreshToken}).Token(); !isOAuthError(err, "invalid_grant") {
				t.Errorf("refresh token of a replayed code: %v, want invalid_grant", err)
			}
		})
	}
}

func TestWrongVerifierIsRefused(t *testing.T) {
	b := setup(t)
	f := newFlow()
	code := newBrowser(t).signIn(f.authURL(b.web), "alice", "alice-pass").Get("code")
	wrong := f
	wrong.verifier = oauth2.GenerateVerifier()
	if _, err := b.exchange(code, wrong); !isOAuthError(err, "invalid_grant") {
		t.Fatalf("exchange with another verifier: %v, want invalid_grant", err)
	}
	// The attempt spent the code.
	if _, err := b.exchange(code, f); err == nil {
		t.Error("the code still works after a failed attempt")
	}

	f = newFlow()
	code = newBrowser(t).signIn(f.authURL(b.web), "alice", "alice-pass").Get("code")
	if _, err := b.web.Exchange(b.ctx, code); !isOAuthError(err, "invalid_request") {
		t.Errorf("exchange without the verifier: %v, want invalid_request", err)
	}
}

func TestUnregisteredRedirectURIIsRefused(t *testing.T) {
	b := setup(t)
	conf := b.web
	conf.RedirectURL = "http://evil.example/callback"
	p := newBrowser(t).get(newFlow().authURL(conf))
	if p.status != http.StatusBadRequest || p.url.Host == "evil.example" || strings.Contains(p.header.Get("Location"), "evil.example") {
		t.Fatalf("authorize with an unregistered redirect URI: %d at %s, Location %q", p.status, p.url, p.header.Get("Location"))
	}

	// A registered redirect URI with something appended is another URI.
	conf.RedirectURL = webRedirect + "/../x"
	if p := newBrowser(t).get(newFlow().authURL(conf)); p.status != http.StatusBadRequest {
		t.Errorf("authorize with %s: %d, want 400", conf.RedirectURL, p.status)
	}

	// The code's redirect URI must be the one the sign-in used.
	f := newFlow()
	code := newBrowser(t).signIn(f.authURL(b.web), "alice", "alice-pass").Get("code")
	other := b.web
	other.RedirectURL = "http://localhost:8080/elsewhere"
	if _, err := other.Exchange(b.ctx, code, oauth2.VerifierOption(f.verifier)); !isOAuthError(err, "invalid_grant") {
		t.Errorf("exchange with another redirect_uri: %v, want invalid_grant", err)
	}
}

func TestNonceAndStatePassThrough(t *testing.T) {
	b := setup(t)
	// Characters that must survive the round trip escaped.
	f := flow{state: "st ate/+=&?", nonce: "n+nce/=", verifier: oauth2.GenerateVerifier()}
	got := newBrowser(t).signIn(f.authURL(b.web), "alice", "alice-pass")
	if got.Get("state") != f.state {
		t.Fatalf("state %q came back as %q", f.state, got.Get("state"))
	}
	tok, err := b.exchange(got.Get("code"), f)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := b.verifier().Verify(b.ctx, tok.Extra("id_token").(string))
	if err != nil || idt.Nonce != f.nonce {
		t.Fatalf("nonce %q came back as %q (%v)", f.nonce, idt.Nonce, err)
	}
}

func TestScopesDecideTheClaims(t *testing.T) {
	b := setup(t)
	conf := b.web
	conf.Scopes = []string{oidc.ScopeOpenID}
	f := newFlow()
	tok, err := conf.Exchange(b.ctx, newBrowser(t).signIn(f.authURL(conf), "alice", "alice-pass").Get("code"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" {
		t.Error("a refresh token without offline_access")
	}
	idt, err := b.verifier().Verify(b.ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]any
	if err := idt.Claims(&all); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"email", "email_verified", "name"} {
		if _, ok := all[absent]; ok {
			t.Errorf("claim %s without its scope: %v", absent, all)
		}
	}
	if g, _ := json.Marshal(all["groups"]); string(g) != `["mailing-admins","staff"]` {
		t.Errorf("groups: %s, want them whatever the scopes", g)
	}

	// An unverified address is said to be unverified, not left out.
	f = newFlow()
	tok, err = b.exchange(newBrowser(t).signIn(f.authURL(b.web), "victor", "victor-pass").Get("code"), f)
	if err != nil {
		t.Fatal(err)
	}
	idt, err = b.verifier().Verify(b.ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var claims idClaims
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.EmailVerified == nil || *claims.EmailVerified || claims.Groups == nil || len(claims.Groups) != 0 {
		t.Errorf("victor's claims: %+v, want email_verified false and groups []", claims)
	}
}

// isOAuthError reports whether err is the token endpoint's answer code.
func isOAuthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}
