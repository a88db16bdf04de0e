package devoidc_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// cli is the public client: no secret, so PKCE with S256 is its proof.
func (b *bundle) cli() oauth2.Config {
	conf := b.web
	conf.ClientID, conf.ClientSecret, conf.RedirectURL = cliID, "", cliRedirect
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	return conf
}

func TestPublicClientNeedsS256(t *testing.T) {
	b := setup(t)
	cli := b.cli()

	f := newFlow()
	tok, err := cli.Exchange(b.ctx, newBrowser(t).signIn(f.authURL(cli), "alice", "alice-pass").Get("code"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatalf("public client exchange with S256: %v", err)
	}
	idt, err := b.provider.Verifier(&oidc.Config{ClientID: cliID}).Verify(b.ctx, tok.Extra("id_token").(string))
	if err != nil || !slices.Equal(idt.Audience, []string{cliID}) {
		t.Fatalf("public client's ID token: %v", err)
	}

	// Without a challenge, or with the plain method, the sign-in is
	// refused before the form, back at the relying party.
	for name, authURL := range map[string]string{
		"no challenge": cli.AuthCodeURL("s1"),
		"plain":        cli.AuthCodeURL("s2", oauth2.SetAuthURLParam("code_challenge", f.verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain")),
	} {
		got := redirected(t, newBrowser(t).get(authURL))
		if got.Get("error") != "invalid_request" || got.Get("code") != "" {
			t.Errorf("%s: the relying party got %v, want error=invalid_request", name, got)
		}
	}
}

func TestConfidentialClient(t *testing.T) {
	b := setup(t)

	// PKCE is optional for a client with a secret, but plain is refused.
	f := newFlow()
	code := newBrowser(t).signIn(b.web.AuthCodeURL(f.state, oidc.Nonce(f.nonce)), "alice", "alice-pass").Get("code")
	if _, err := b.web.Exchange(b.ctx, code); err != nil {
		t.Errorf("exchange without PKCE: %v", err)
	}
	plain := b.web.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", f.verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain"))
	if got := redirected(t, newBrowser(t).get(plain)); got.Get("error") != "invalid_request" {
		t.Errorf("plain challenge: the relying party got %v, want error=invalid_request", got)
	}

	// The secret is taken from the Authorization header (the default of
	// setup) or from the form.
	post := b.web
	post.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	f = newFlow()
	if _, err := post.Exchange(b.ctx, newBrowser(t).signIn(f.authURL(post), "alice", "alice-pass").Get("code"), oauth2.VerifierOption(f.verifier)); err != nil {
		t.Errorf("client_secret_post: %v", err)
	}

	for style, name := range map[oauth2.AuthStyle]string{oauth2.AuthStyleInHeader: "basic", oauth2.AuthStyleInParams: "post"} {
		wrong := b.web
		wrong.ClientSecret = "guessed"
		wrong.Endpoint.AuthStyle = style
		f := newFlow()
		code := newBrowser(t).signIn(f.authURL(b.web), "alice", "alice-pass").Get("code")
		if _, err := wrong.Exchange(b.ctx, code, oauth2.VerifierOption(f.verifier)); !isOAuthError(err, "invalid_client") {
			t.Errorf("wrong secret (%s): %v, want invalid_client", name, err)
		}
	}

	// A code is bound to the client it was issued to.
	f = newFlow()
	code = newBrowser(t).signIn(f.authURL(b.web), "alice", "alice-pass").Get("code")
	cli := b.cli()
	cli.RedirectURL = webRedirect
	if _, err := cli.Exchange(b.ctx, code, oauth2.VerifierOption(f.verifier)); !isOAuthError(err, "invalid_grant") {
		t.Errorf("another client redeeming the code: %v, want invalid_grant", err)
	}
}

func TestPromptNoneNeedsALogin(t *testing.T) {
	b := setup(t)
	f := newFlow()
	got := redirected(t, newBrowser(t).get(f.authURL(b.web)+"&"+url.Values{"prompt": {"none"}}.Encode()))
	if got.Get("error") != "login_required" || got.Get("state") != f.state {
		t.Errorf("prompt=none: the relying party got %v, want error=login_required with the state", got)
	}
}
