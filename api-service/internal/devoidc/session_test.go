package devoidc_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"mailing/api-service/internal/devoidc"
	"mailing/shared/testkit"
)

// signedIn runs a whole sign-in of alice at the web client.
func (b *bundle) signedIn() *oauth2.Token {
	b.t.Helper()
	f := newFlow()
	tok, err := b.exchange(newBrowser(b.t).signIn(f.authURL(b.web), "alice", "alice-pass").Get("code"), f)
	if err != nil {
		b.t.Fatal(err)
	}
	return tok
}

func (b *bundle) endSessionURL(q url.Values) string {
	var disc struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := b.provider.Claims(&disc); err != nil {
		b.t.Fatal(err)
	}
	return disc.EndSession + "?" + q.Encode()
}

func TestEndSession(t *testing.T) {
	b := setup(t)
	tok := b.signedIn()
	other := b.signedIn() // another sign-in of the same person at the same client
	br := newBrowser(t)

	p := br.get(b.endSessionURL(url.Values{
		"id_token_hint": {tok.Extra("id_token").(string)}, "post_logout_redirect_uri": {"http://evil.example/"},
	}))
	if p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
		t.Errorf("unregistered post_logout_redirect_uri: %d, Location %q", p.status, p.header.Get("Location"))
	}

	got := redirected(t, br.get(b.endSessionURL(url.Values{
		"id_token_hint": {tok.Extra("id_token").(string)}, "post_logout_redirect_uri": {webLoggedOut}, "state": {"bye"},
	})))
	if got.Get("state") != "bye" {
		t.Errorf("end session: back at the relying party with %v, want state=bye", got)
	}
	// Signing out ends the person's tokens at that client.
	for _, tk := range []*oauth2.Token{tok, other} {
		if _, err := b.web.TokenSource(b.ctx, &oauth2.Token{RefreshToken: tk.RefreshToken}).Token(); !isOAuthError(err, "invalid_grant") {
			t.Errorf("refresh after sign-out: %v, want invalid_grant", err)
		}
		if _, err := b.provider.UserInfo(b.ctx, oauth2.StaticTokenSource(tk)); err == nil {
			t.Error("userinfo answers after sign-out")
		}
	}

	// Without a redirect URI the browser lands on the provider's page.
	p = br.get(b.endSessionURL(url.Values{"client_id": {webID}}))
	if p.status != http.StatusOK || !strings.Contains(p.body, "You are signed out.") {
		t.Errorf("end session without a redirect: %d at %s:\n%s", p.status, p.url, p.body)
	}
}

func TestLoginForm(t *testing.T) {
	b := setup(t)

	br := newBrowser(t)
	form := br.openForm(newFlow().authURL(b.web))
	if csp := form.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("the form may be framed: CSP %q", csp)
	}
	if cc := form.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}

	// Posted from elsewhere: without the browser's cookie, or with a form
	// token that is not the cookie's.
	stranger := newBrowser(t)
	if p := stranger.submit(form, "alice", "alice-pass"); p.status != http.StatusForbidden {
		t.Errorf("form posted without the cookie: %d, want 403", p.status)
	}
	forged := strings.Replace(form.body, hidden(t, form.body, "csrf"), "AAAAAAAAAAAAAAAAAAAAAAAAAA", 1)
	if p := br.submit(page{url: form.url, body: forged}, "alice", "alice-pass"); p.status != http.StatusForbidden {
		t.Errorf("form posted with another token: %d, want 403", p.status)
	}

	// The genuine post signs in, once, and gets one code.
	signedIn := br.submit(form, "alice", "alice-pass")
	if redirected(t, signedIn).Get("code") == "" {
		t.Fatal("no code")
	}
	if got := redirected(t, br.get(signedIn.url.String())); got.Get("code") != "" || got.Get("error") == "" {
		t.Errorf("op's callback visited again: the relying party got %v, want an error and no second code", got)
	}
	if p := br.submit(form, "alice", "alice-pass"); p.status != http.StatusConflict {
		t.Errorf("the same form posted again: %d, want 409", p.status)
	}

	for name, u := range map[string]string{
		"unknown": strings.TrimSuffix(b.issuer, "/") + "/login?authRequestID=nope",
		"missing": strings.TrimSuffix(b.issuer, "/") + "/login",
	} {
		if p := br.get(u); p.status != http.StatusBadRequest || !strings.Contains(p.body, "unknown or has expired") {
			t.Errorf("form of an %s request: %d\n%s", name, p.status, p.body)
		}
	}
}

func TestLogLines(t *testing.T) {
	b := setup(t)
	f := newFlow()
	br := newBrowser(t)
	form := br.openForm(f.authURL(b.web))
	br.submit(form, "alice", "wrong-pass")
	code := redirected(t, br.submit(form, "alice", "alice-pass")).Get("code")
	if _, err := b.exchange(code, f); err != nil {
		t.Fatal(err)
	}

	var signIns []string
	paths := make(map[string]int)
	for _, l := range b.log.Lines(t) {
		switch l["msg"] {
		case "sign-in":
			if l["level"] != "INFO" || l["username"] != "alice" || l["client_id"] != webID {
				t.Errorf("sign-in line: %v", l)
			}
			signIns = append(signIns, l["outcome"].(string))
		case "request":
			path, _ := l["path"].(string)
			paths[path]++
			if l["level"] != "DEBUG" || l["method"] == nil || l["path"] == nil || l["http_status"] == nil {
				t.Errorf("request line: %v", l)
			}
		}
	}
	if strings.Join(signIns, ",") != "failure,success" {
		t.Errorf("sign-in outcomes %v, want failure then success", signIns)
	}
	for path, n := range map[string]int{
		"/.well-known/openid-configuration": 1, "/authorize": 1, "/login": 3, "/authorize/callback": 1, "/oauth/token": 1,
	} {
		if paths[path] != n {
			t.Errorf("%d request lines for %s, want %d (all: %v)", paths[path], path, n, paths)
		}
	}
	for _, secret := range []string{"alice-pass", "wrong-pass", code, webSecret, f.verifier} {
		if strings.Contains(b.log.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

// postForm calls an endpoint of discovery's field name as the web client.
func (b *bundle) postForm(field string, form url.Values) (int, map[string]any) {
	b.t.Helper()
	disc := map[string]any{}
	if err := b.provider.Claims(&disc); err != nil {
		b.t.Fatal(err)
	}
	endpoint, _ := disc[field].(string)
	resp, raw, err := testkit.Do(b.ctx, http.DefaultClient, http.MethodPost, endpoint, form.Encode(),
		"Content-Type", "application/x-www-form-urlencoded",
		"Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(webID+":"+webSecret)))
	if err != nil {
		b.t.Fatal(err)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func TestIntrospectAndRevoke(t *testing.T) {
	b := setup(t)
	tok := b.signedIn()
	status, got := b.postForm("introspection_endpoint", url.Values{"token": {tok.AccessToken}})
	if status != http.StatusOK || got["active"] != true || got["sub"] != "alice" || got["client_id"] != webID {
		t.Errorf("introspection of a live token: %d %v", status, got)
	}

	// Revoking the refresh token ends it, and only it.
	if status, _ := b.postForm("revocation_endpoint", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}); status != http.StatusOK {
		t.Fatalf("revoke: %d", status)
	}
	if _, err := b.web.TokenSource(b.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); !isOAuthError(err, "invalid_grant") {
		t.Errorf("refresh with a revoked token: %v, want invalid_grant", err)
	}
	if _, err := b.provider.UserInfo(b.ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Errorf("the access token died with its refresh token: %v", err)
	}

	if status, _ := b.postForm("revocation_endpoint", url.Values{"token": {tok.AccessToken}}); status != http.StatusOK {
		t.Fatalf("revoke: %d", status)
	}
	if _, err := b.provider.UserInfo(b.ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("userinfo answers with a revoked access token")
	}
	if _, got := b.postForm("introspection_endpoint", url.Values{"token": {tok.AccessToken}}); got["active"] != false {
		t.Errorf("introspection of a revoked token: %v", got)
	}
}

func TestLifetimes(t *testing.T) {
	const short = 300 * time.Millisecond
	b := setup(t, func(c *devoidc.Config) { c.Lifetimes = devoidc.Lifetimes{SignIn: short, Access: short} })

	br := newBrowser(t)
	form := br.openForm(newFlow().authURL(b.web))
	tok := b.signedIn()
	if _, err := b.provider.UserInfo(b.ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("userinfo with a fresh token: %v", err)
	}
	time.Sleep(short + 100*time.Millisecond)

	if p := br.submit(form, "alice", "alice-pass"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "has expired") {
		t.Errorf("form posted after the sign-in expired: %d\n%s", p.status, p.body)
	}
	if _, err := b.provider.UserInfo(b.ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("userinfo answers with an expired access token")
	}
	// The refresh token outlives the access token.
	if _, err := b.web.TokenSource(b.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Errorf("refresh after the access token expired: %v", err)
	}
}
