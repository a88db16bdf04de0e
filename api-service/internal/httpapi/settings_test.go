package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"mailing/shared/domain"
)

// Local sign-in can be turned off only once the provider has signed in an
// admin; off, no password signs anybody in (token or session) on any
// replica, while what was issued before and API keys keep working; on
// again, passwords work again. Each change is audited.
func TestLocalSignInSwitch(t *testing.T) {
	b := setup(t)
	b.must(http.StatusCreated, "POST", "/api/users", map[string]any{"username": "maria", "password": "maria's long pass phrase", "role": "operator"})
	off, on := map[string]any{"local_sign_in": false}, map[string]any{"local_sign_in": true}
	passwordsWork := func(base string) (token, login int) {
		t.Helper()
		resp, _ := postToken(t, base, "application/x-www-form-urlencoded", loginForm("maria", "maria's long pass phrase"))
		token = resp.StatusCode
		resp2, err := http.Post(base+"/auth/login", "application/json", strings.NewReader(`{"username":"maria","password":"maria's long pass phrase"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp2.Body.Close()
		return token, resp2.StatusCode
	}

	if got := b.must(http.StatusOK, "GET", "/api/settings", nil); got["local_sign_in"] != true {
		t.Fatalf("default settings: %v", got)
	}
	// No provider configured: turning local sign-in off would lock
	// everybody out.
	wantError(t, b.must(http.StatusConflict, "PATCH", "/api/settings", off), "conflict")

	site := withOIDC(t, b)
	// A provider, but no admin of it yet.
	st, out := b.call(site.base, b.token, "PATCH", "/api/settings", off)
	if st != http.StatusConflict || !strings.Contains(out["error"].(map[string]any)["message"].(string), "sign in there as an admin first") {
		t.Fatalf("off with no provider admin: %d %v", st, out)
	}
	viewerKey := b.newKey("reader", domain.RoleViewer, nil)["secret"].(string)
	oldToken, _ := postToken(t, site.base, "application/x-www-form-urlencoded", loginForm("maria", "maria's long pass phrase"))
	if oldToken.StatusCode != http.StatusOK {
		t.Fatalf("token before: %d", oldToken.StatusCode)
	}

	// The boss signs in through the provider (an admin by email).
	p := newPerson(t)
	if resp, _ := p.get(p.signIn(site, "boss", "boss-password")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("boss callback: %d", resp.StatusCode)
	}
	if st, out := b.call(site.base, b.token, "PATCH", "/api/settings", off); st != http.StatusOK || out["local_sign_in"] != false {
		t.Fatalf("off: %d %v", st, out)
	}
	// Every server on the database obeys, not only the one changed.
	for _, base := range []string{site.base, b.srv.URL} {
		if tok, login := passwordsWork(base); tok != http.StatusBadRequest || login != http.StatusForbidden {
			t.Errorf("%s with local sign-in off: token %d, login %d; want 400 and 403", base, tok, login)
		}
	}
	resp, body := postToken(t, site.base, "application/x-www-form-urlencoded", loginForm("maria", "maria's long pass phrase"))
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "unauthorized_client" {
		t.Errorf("token with local sign-in off: %d %v", resp.StatusCode, body)
	}
	b.as(viewerKey, http.StatusOK, "GET", "/api/customers", nil)
	if st, _ := p.session(site); st != http.StatusOK {
		t.Errorf("the provider's session after turning local sign-in off: %d", st)
	}
	var providers map[string]any
	if st, out := b.call(site.base, "", "GET", "/auth/providers", nil); st != http.StatusOK {
		t.Fatalf("providers: %d", st)
	} else {
		providers = out
	}
	if oidc, _ := providers["oidc"].(map[string]any); providers["local_sign_in"] != false || oidc == nil || oidc["login_url"] != "/auth/oidc/login" ||
		!strings.HasPrefix(oidc["issuer"].(string), "http://127.0.0.1:") {
		t.Errorf("providers with local sign-in off: %v", providers)
	}

	if st, out := b.call(site.base, b.token, "PATCH", "/api/settings", on); st != http.StatusOK || out["local_sign_in"] != true {
		t.Fatalf("on: %d %v", st, out)
	}
	if tok, login := passwordsWork(b.srv.URL); tok != http.StatusOK || login != http.StatusOK {
		t.Errorf("local sign-in on again: token %d, login %d", tok, login)
	}
	b.must(http.StatusOK, "PATCH", "/api/settings", on) // no change, no event

	events := items(t, b.must(http.StatusOK, "GET", "/api/audit?action="+url.QueryEscape(domain.AuditSettingsUpdated), nil))
	if len(events) != 2 {
		t.Fatalf("settings events: %v", events)
	}
	for i, want := range []bool{false, true} { // oldest first
		diff := events[i]["diff"].(map[string]any)["local_sign_in"].(map[string]any)
		if diff["to"] != want || events[i]["object_type"] != "settings" {
			t.Errorf("event %d: %v", i, events[i])
		}
	}
	if st, out := b.call("", "", "GET", "/auth/providers", nil); st != http.StatusOK || out["local_sign_in"] != true || out["oidc"] != nil {
		t.Errorf("providers without OpenID: %d %v", st, out)
	}
}
