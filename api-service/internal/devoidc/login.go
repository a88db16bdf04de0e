package devoidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"html/template"
	"log/slog"
	"net/http"

	"mailing/shared/logging"
)

const (
	// loginRequestField carries the auth request's id from op's redirect to
	// the form and back; the id is unguessable and valid for one sign-in.
	loginRequestField = "authRequestID"
	// The form also carries a token that must equal a cookie of the same
	// browser (double submit), so another site cannot post it.
	csrfField  = "csrf"
	csrfCookie = "dev_oidc_csrf"
	// badCredentials is the one answer to a refused sign-in: it does not
	// say whether the user exists.
	badCredentials = "Wrong username or password."
)

// login is the provider's sign-in page: op redirects /authorize here, and
// a successful sign-in goes back to op's callback, which issues the code.
type login struct {
	store *storage
	// callback is op's /authorize/callback URL for an auth request.
	callback   func(ctx context.Context, authRequestID string) string
	log        *slog.Logger
	cookiePath string
	secure     bool // the issuer is https: the cookie is Secure
}

type formPage struct {
	RequestID, CSRF, Client, Username, Error string
}

func (l *login) show(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get(loginRequestField)
	clientID, err := l.store.pendingRequest(id)
	if err != nil {
		l.refuse(w, err)
		return
	}
	l.form(w, r, formPage{RequestID: id, Client: clientID})
}

func (l *login) submit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		message(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	id, username := r.PostForm.Get(loginRequestField), r.PostForm.Get("username")
	if !l.csrfMatches(r) {
		l.log.Info("sign-in", slog.String(logging.Outcome, "failure"), slog.String("reason", "form token does not match the cookie"),
			slog.String("username", username))
		message(w, http.StatusForbidden, "This form has expired or was not sent from this page. Go back to the application and sign in again.")
		return
	}
	clientID, err := l.store.signIn(id, username, r.PostForm.Get("password"))
	attrs := []any{slog.String("username", username), slog.String("client_id", clientID)}
	switch {
	case errors.Is(err, errBadCredentials):
		l.log.Info("sign-in", append(attrs, slog.String(logging.Outcome, "failure"), slog.String("reason", err.Error()))...)
		l.form(w, r, formPage{RequestID: id, Client: clientID, Username: username, Error: badCredentials})
	case err != nil:
		l.log.Info("sign-in", append(attrs, slog.String(logging.Outcome, "failure"), slog.String("reason", err.Error()))...)
		l.refuse(w, err)
	default:
		l.log.Info("sign-in", append(attrs, slog.String(logging.Outcome, "success"))...)
		http.Redirect(w, r, l.callback(r.Context(), id), http.StatusSeeOther)
	}
}

// form renders the sign-in form, keeping the browser's form token if it
// has one, so two tabs signing in at once do not spoil each other.
func (l *login) form(w http.ResponseWriter, r *http.Request, p formPage) {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 26 {
		p.CSRF = c.Value
	} else {
		p.CSRF = rand.Text()
	}
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookie, Value: p.CSRF, Path: l.cookiePath,
		HttpOnly: true, Secure: l.secure, SameSite: http.SameSiteStrictMode,
	})
	render(w, http.StatusOK, "form", p)
}

func (l *login) csrfMatches(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostForm.Get(csrfField))) == 1
}

func (l *login) refuse(w http.ResponseWriter, err error) {
	if errors.Is(err, errAlreadySignedIn) {
		message(w, http.StatusConflict, "This sign-in is already complete. Go back to the application.")
		return
	}
	message(w, http.StatusBadRequest, "This sign-in request is unknown or has expired. Go back to the application and sign in again.")
}

// loggedOut is where the end-session endpoint sends a browser whose
// client registered no post-logout redirect URI, or did not name one.
func loggedOut(w http.ResponseWriter, _ *http.Request) {
	message(w, http.StatusOK, "You are signed out.")
}

func message(w http.ResponseWriter, status int, text string) {
	render(w, status, "message", struct{ Message string }{text})
}

func render(w http.ResponseWriter, status int, name string, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// No scripts, no framing (clickjacking the password form).
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	// A failed write means the browser has gone; there is no one to tell.
	_ = pages.ExecuteTemplate(w, name, data)
}

var pages = template.Must(template.New("pages").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in — development OpenID Provider</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem;color:#222}
.dev{background:#fff3cd;border:1px solid #e0c36b;padding:.5rem;font-size:.85rem}
label{display:block;margin-top:1rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:1.5rem;padding:.5rem 1.5rem}.error{color:#b00020;margin-top:1rem}
</style></head><body>
<p class="dev">Development OpenID Provider — public test accounts only, never for production.</p>
{{end}}
{{define "form"}}{{template "head"}}
<h1>Sign in</h1>
<p>to <strong>{{.Client}}</strong></p>
{{with .Error}}<p class="error" role="alert">{{.}}</p>{{end}}
<form method="post" action="login">
<input type="hidden" name="authRequestID" value="{{.RequestID}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label>Username <input name="username" value="{{.Username}}" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form></body></html>
{{end}}
{{define "message"}}{{template "head"}}
<p>{{.Message}}</p></body></html>
{{end}}`))
