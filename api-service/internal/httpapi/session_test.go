package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailing/api-service/internal/auth"
	"mailing/shared/domain"
)

// browser is a client with a cookie jar, as a browser signs in.
type browser struct {
	t    *testing.T
	b    *bundle
	c    *http.Client
	csrf string
}

func newBrowser(t *testing.T, b *bundle) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, b: b, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// send sends a request with the jar's cookies; csrf is the X-CSRF-Token
// header ("" for none).
func (br *browser) send(method, path, contentType, body, csrf string) (*http.Response, map[string]any) {
	br.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, br.b.srv.URL+path, strings.NewReader(body))
	if err != nil {
		br.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := br.c.Do(req)
	if err != nil {
		br.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			br.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp, out
}

func (br *browser) login(user, password string) *http.Response {
	br.t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	resp, out := br.send("POST", "/auth/login", "application/json", string(body), "")
	if resp.StatusCode != http.StatusOK {
		br.t.Fatalf("login: %d %v\n%s", resp.StatusCode, out, br.b.logs.String())
	}
	br.csrf, _ = out["csrf_token"].(string)
	if br.csrf == "" || out["role"] != "viewer" {
		br.t.Fatalf("login answer %v", out)
	}
	return resp
}

func (br *browser) status(method, path, body, csrf string) int {
	br.t.Helper()
	resp, out := br.send(method, path, "application/json", body, csrf)
	if resp.StatusCode >= 400 {
		wantError(br.t, out, map[int]string{401: "unauthorized", 403: "forbidden", 400: "invalid", 404: "not_found", 422: "invalid"}[resp.StatusCode])
	}
	return resp.StatusCode
}

func cookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestSessionLoginUseLogout(t *testing.T) {
	b := setup(t)
	u := withUser(t, b)
	// The user may change something: an operator.
	op := domain.RoleOperator
	b.must(http.StatusOK, "PATCH", "/api/users/"+itoa(u.ID), domain.UserChange{Role: &op})
	br := newBrowser(t, b)
	body, _ := json.Marshal(map[string]string{"username": loginUser, "password": loginPassword})
	resp, out := br.send("POST", "/auth/login", "application/json", string(body), "")
	if resp.StatusCode != http.StatusOK || out["role"] != "operator" {
		t.Fatalf("login: %d %v", resp.StatusCode, out)
	}
	br.csrf = out["csrf_token"].(string)
	sc, cc := cookie(resp, "mailing_session"), cookie(resp, "mailing_csrf")
	if sc == nil || !sc.HttpOnly || sc.Secure || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.MaxAge <= 0 {
		t.Fatalf("session cookie %+v", sc)
	}
	if cc == nil || cc.HttpOnly || cc.Value != br.csrf || cc.SameSite != http.SameSiteLaxMode {
		t.Fatalf("csrf cookie %+v", cc)
	}

	if st := br.status("GET", "/api/customers", "", ""); st != http.StatusOK {
		t.Fatalf("read with the session: %d", st)
	}
	resp, out = br.send("GET", "/auth/session", "", "", "")
	if resp.StatusCode != http.StatusOK || out["via"] != "session" || out["id"] != float64(u.ID) || out["role"] != "operator" {
		t.Fatalf("session: %d %v", resp.StatusCode, out)
	}
	tag := `{"phone":"79001234567","timezone":"Europe/Moscow"}`
	// CSRF: refused without the header and with a wrong one, accepted with
	// the right one.
	if st := br.status("POST", "/api/customers", tag, ""); st != http.StatusForbidden {
		t.Fatalf("change without CSRF header: %d", st)
	}
	if st := br.status("POST", "/api/customers", tag, br.csrf+"x"); st != http.StatusForbidden {
		t.Fatalf("change with a wrong CSRF header: %d", st)
	}
	if st := br.status("POST", "/api/customers", tag, br.csrf); st != http.StatusCreated {
		t.Fatalf("change with the CSRF header: %d", st)
	}
	// Bearer requests need no CSRF token.
	b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79001234568", "timezone": "Europe/Moscow"})

	// The sign-in is audited as made through a session.
	ev := items(t, b.must(http.StatusOK, "GET", "/api/audit?action=auth.signed_in", nil))
	if len(ev) != 1 || ev[0]["via"] != "session" {
		t.Fatalf("sign-in events %v", ev)
	}

	// Logout needs the CSRF header too.
	if st := br.status("POST", "/auth/logout", "", ""); st != http.StatusForbidden {
		t.Fatalf("logout without CSRF: %d", st)
	}
	resp, _ = br.send("POST", "/auth/logout", "", "", br.csrf)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if c := cookie(resp, "mailing_session"); c == nil || c.MaxAge >= 0 {
		t.Fatalf("logout did not clear the cookie: %+v", c)
	}
	if st := br.status("GET", "/api/customers", "", ""); st != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", st)
	}
	// The old cookie itself is revoked, not only forgotten by the jar.
	req, _ := http.NewRequest("GET", b.srv.URL+"/api/customers", nil)
	req.AddCookie(sc)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked cookie: %d", r2.StatusCode)
	}
}

func TestSessionLoginForm(t *testing.T) {
	b := setup(t)
	withUser(t, b)
	br := newBrowser(t, b)
	form := url.Values{"username": {loginUser}, "password": {loginPassword}, "return_to": {"/admin/mailouts?x=1"}}.Encode()
	resp, _ := br.send("POST", "/auth/login", "application/x-www-form-urlencoded", form, "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/mailouts?x=1" {
		t.Fatalf("form login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if st := br.status("GET", "/api/customers", "", ""); st != http.StatusOK {
		t.Fatalf("after form login: %d", st)
	}
}

func TestSessionLoginRefusals(t *testing.T) {
	b := setup(t)
	withUser(t, b)
	br := newBrowser(t, b)
	for _, rt := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "evil", "javascript:alert(1)", "/ok\r\nX: y"} {
		body, _ := json.Marshal(map[string]string{"username": loginUser, "password": loginPassword, "return_to": rt})
		resp, out := br.send("POST", "/auth/login", "application/json", string(body), "")
		if resp.StatusCode != http.StatusBadRequest || cookie(resp, "mailing_session") != nil {
			t.Fatalf("return_to %q: %d %v", rt, resp.StatusCode, out)
		}
		wantError(t, out, "invalid")
	}
	// Unknown user and wrong password answer alike.
	var answers []string
	for _, creds := range [][2]string{{"nobody", loginPassword}, {loginUser, "wrong password!!"}} {
		body, _ := json.Marshal(map[string]string{"username": creds[0], "password": creds[1]})
		resp, out := br.send("POST", "/auth/login", "application/json", string(body), "")
		if resp.StatusCode != http.StatusUnauthorized || cookie(resp, "mailing_session") != nil {
			t.Fatalf("login %v: %d %v", creds, resp.StatusCode, out)
		}
		raw, _ := json.Marshal(out)
		answers = append(answers, string(raw))
	}
	if answers[0] != answers[1] {
		t.Fatalf("answers differ: %v", answers)
	}
}

func TestSessionRotation(t *testing.T) {
	b := setup(t)
	withUser(t, b)
	br := newBrowser(t, b)
	first := cookie(br.login(loginUser, loginPassword), "mailing_session")
	second := cookie(br.login(loginUser, loginPassword), "mailing_session")
	if first.Value == second.Value {
		t.Fatal("a new sign-in kept the session id")
	}
	req, _ := http.NewRequest("GET", b.srv.URL+"/api/customers", nil)
	req.AddCookie(first)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the session presented at sign-in still works: %d", resp.StatusCode)
	}
	if st := br.status("GET", "/api/customers", "", ""); st != http.StatusOK {
		t.Fatalf("new session: %d", st)
	}
	// The role table holds for sessions as for bearers: a viewer's change
	// is a 403 even with the right CSRF token.
	if st := br.status("POST", "/api/customers", `{"phone":"79001234567","timezone":"Europe/Moscow"}`, br.csrf); st != http.StatusForbidden {
		t.Fatalf("viewer's change with a session: %d", st)
	}
}

func TestSessionExpiry(t *testing.T) {
	b := setup(t)
	withUser(t, b)

	// Idle: used within the idle timeout it lives on, past it it ends.
	br := newBrowser(t, b)
	br.login(loginUser, loginPassword)
	for range 3 {
		b.skew.Add(int64(auth.DefaultSessionIdle - 5*time.Minute))
		if st := br.status("GET", "/api/customers", "", ""); st != http.StatusOK {
			t.Fatalf("used within the idle timeout: %d (skew %v)", st, time.Duration(b.skew.Load()))
		}
	}
	b.skew.Add(int64(auth.DefaultSessionIdle + time.Minute))
	if st := br.status("GET", "/api/customers", "", ""); st != http.StatusUnauthorized {
		t.Fatalf("idle too long: %d", st)
	}

	// Absolute: kept busy, it still ends SESSION_MAX after it began.
	b.skew.Store(0)
	br = newBrowser(t, b)
	br.login(loginUser, loginPassword)
	step := auth.DefaultSessionIdle / 2
	for elapsed := step; elapsed < auth.DefaultSessionMax; elapsed += step {
		b.skew.Store(int64(elapsed))
		if st := br.status("GET", "/api/customers", "", ""); st != http.StatusOK {
			t.Fatalf("busy session refused after %v: %d", elapsed, st)
		}
	}
	b.skew.Store(int64(auth.DefaultSessionMax + time.Second))
	if st := br.status("GET", "/api/customers", "", ""); st != http.StatusUnauthorized {
		t.Fatalf("past the absolute expiry: %d", st)
	}
}

func TestSessionEndsWhenUserDisabled(t *testing.T) {
	b := setup(t)
	u := withUser(t, b)
	br := newBrowser(t, b)
	br.login(loginUser, loginPassword)
	if st := br.status("GET", "/api/customers", "", ""); st != http.StatusOK {
		t.Fatalf("before: %d", st)
	}
	off, on := true, false
	b.must(http.StatusOK, "PATCH", "/api/users/"+itoa(u.ID), domain.UserChange{Disabled: &off})
	if st := br.status("GET", "/api/customers", "", ""); st != http.StatusUnauthorized {
		t.Fatalf("disabled user's session: %d", st)
	}
	// Enabling the user again does not bring the session back.
	b.must(http.StatusOK, "PATCH", "/api/users/"+itoa(u.ID), domain.UserChange{Disabled: &on})
	if st := br.status("GET", "/api/customers", "", ""); st != http.StatusUnauthorized {
		t.Fatalf("re-enabled user's old session: %d", st)
	}
}

func TestSessionCookieSecure(t *testing.T) {
	b := setup(t)
	withUser(t, b)
	// The bundle's server does not trust X-Forwarded-Proto.
	body, _ := json.Marshal(map[string]string{"username": loginUser, "password": loginPassword})
	req, _ := http.NewRequest("POST", b.srv.URL+"/auth/login", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := cookie(resp, "mailing_session"); c == nil || c.Secure {
		t.Fatalf("untrusted X-Forwarded-Proto made the cookie Secure: %+v", c)
	}
}
