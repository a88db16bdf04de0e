package httpapi

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"mailing/api-service/internal/accounts"
	"mailing/api-service/internal/auth"
	"mailing/shared/domain"
	"mailing/shared/logging"
)

// Browser sessions' cookies and header.
const (
	sessionCookie = "mailing_session" // HttpOnly: the session's token
	csrfCookie    = "mailing_csrf"    // readable by the page's script, sent back in csrfHeader
	csrfHeader    = "X-CSRF-Token"
)

// SessionResponse is who a browser session signs in as.
type SessionResponse struct {
	User      domain.User `json:"user"`
	Role      domain.Role `json:"role" swaggertype:"string" example:"operator"`
	CSRFToken string      `json:"csrf_token" example:"q3Zy..."`
	ReturnTo  string      `json:"return_to,omitempty" example:"/admin/"`
}

// PrincipalResponse is who makes the request.
type PrincipalResponse struct {
	Kind string      `json:"kind" example:"user"`
	ID   int64       `json:"id" example:"3"`
	Name string      `json:"name" example:"Maria Petrova"`
	Role domain.Role `json:"role" swaggertype:"string" example:"operator"`
	Via  string      `json:"via" example:"session"`
}

// stateChanging reports whether method changes state, so that a request
// authenticated by the session cookie needs the CSRF header.
func stateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// secure reports whether the request reached us over TLS, as the
// cookies' Secure flag needs.
func (s *Server) secure(c *gin.Context) bool {
	return c.Request.TLS != nil || (s.forwardedProto && strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https"))
}

func (s *Server) setSessionCookies(c *gin.Context, ns auth.NewSession) {
	maxAge := int(time.Until(ns.Session.ExpiresAt).Seconds())
	secure := s.secure(c)
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: ns.Token, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	http.SetCookie(c.Writer, &http.Cookie{Name: csrfCookie, Value: ns.CSRF, Path: "/", MaxAge: maxAge, Secure: secure, SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearSessionCookies(c *gin.Context) {
	secure := s.secure(c)
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	http.SetCookie(c.Writer, &http.Cookie{Name: csrfCookie, Path: "/", MaxAge: -1, Secure: secure, SameSite: http.SameSiteLaxMode})
}

func sessionToken(c *gin.Context) string {
	v, err := c.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	return v
}

// localPath reports whether return_to is a path on this site: it starts
// with one slash, names no scheme or host ("//evil", "/\evil") and holds
// no control characters, so a redirect to it cannot leave the site.
func localPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return false
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

// login godoc
//
//	@Summary		Sign in a browser (session cookie)
//	@Description	Checks a local user's username and password and begins a server-side session: an HttpOnly cookie mailing_session (Secure over HTTPS, SameSite=Lax) authenticates /api requests, and a readable cookie mailing_csrf holds the CSRF token, also in the answer, that POST, PUT, PATCH and DELETE requests made with the session must send in X-CSRF-Token. A session cookie sent along is revoked first. Form fields or a JSON object with the same names; return_to, when given, must be a local path (/...): a form is then answered with 303 See Other to it. An unknown user, a wrong password and a disabled user get the same answer; attempts are rate-limited like POST /auth/token. Sessions end after SESSION_IDLE unused or SESSION_MAX in all, on POST /auth/logout, and as soon as the user is disabled, given another role or a new password.
//	@Tags			auth
//	@Accept			x-www-form-urlencoded,json
//	@Produce		json
//	@Param			username	formData	string	true	"user name"
//	@Param			password	formData	string	true	"password"
//	@Param			return_to	formData	string	false	"local path to go to after signing in"
//	@Success		200			{object}	SessionResponse
//	@Success		303			"signed in; see Location"
//	@Failure		400			{object}	ErrorBody	"missing fields, a return_to that is not a local path"
//	@Failure		401			{object}	ErrorBody	"wrong username or password"
//	@Failure		403			{object}	ErrorBody	"local sign-in is turned off: sign in through the identity provider"
//	@Failure		429			{object}	ErrorBody	"too many attempts; see Retry-After"
//	@Router			/auth/login [post]
func (s *Server) login(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	req, err := readTokenRequest(c)
	if err != nil {
		writeError(c, domain.Errorf(domain.CodeInvalid, "%s", err.Error()))
		return
	}
	if req.Username == "" || req.Password == "" {
		writeError(c, domain.Errorf(domain.CodeInvalid, "username and password are required"))
		return
	}
	if req.ReturnTo != "" && !localPath(req.ReturnTo) {
		writeError(c, domain.Invalid(map[string]string{"return_to": "must be a local path starting with a single /"}))
		return
	}
	if ok, wait := s.limiter.Allow(c.ClientIP() + "\x00" + req.Username); !ok {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		logger(c).Warn("login rate limited", "username", req.Username, "client_ip", c.ClientIP())
		writeError(c, domain.Errorf(domain.CodeTooManyRequests, "too many login attempts; retry later"))
		return
	}
	ctx := c.Request.Context()
	u, err := s.accounts.SignIn(ctx, req.Username, req.Password, domain.ViaSession)
	if errors.Is(err, accounts.ErrSignIn) {
		logger(c).Warn("login failed", "username", req.Username)
		writeError(c, domain.Errorf(domain.CodeUnauthorized, "wrong username or password"))
		return
	}
	if errors.Is(err, accounts.ErrLocalSignInOff) {
		writeError(c, domain.Errorf(domain.CodeForbidden, "%s", err.Error()))
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	// Rotation: whatever session the browser had ends here, so a session
	// id planted before signing in is worth nothing after.
	if err := s.auth.EndSession(ctx, sessionToken(c)); err != nil {
		writeError(c, err)
		return
	}
	ns, err := s.auth.StartSession(ctx, u)
	if err != nil {
		writeError(c, err)
		return
	}
	logID(c, logging.UserID, u.ID)
	s.setSessionCookies(c, ns)
	if req.form && req.ReturnTo != "" {
		c.Redirect(http.StatusSeeOther, req.ReturnTo)
		return
	}
	c.JSON(http.StatusOK, SessionResponse{User: u, Role: u.Role, CSRFToken: ns.CSRF, ReturnTo: req.ReturnTo})
}

// logout godoc
//
//	@Summary		Sign out a browser
//	@Description	Revokes the session the cookie carries and clears the session cookies. Needs the session's X-CSRF-Token. Without a session it only clears the cookies. A person signed in through the OpenID Provider gets 200 with the provider's end-session URL to send the browser to, so they are signed out there too; everyone else gets 204.
//	@Tags			auth
//	@Produce		json
//	@Param			X-CSRF-Token	header	string	true	"the session's CSRF token"
//	@Success		200	{object}	LogoutResponse	"signed out here; sign out at the provider too"
//	@Success		204	"signed out"
//	@Failure		403	{object}	ErrorBody	"missing or wrong CSRF token"
//	@Router			/auth/logout [post]
func (s *Server) logout(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	ctx := c.Request.Context()
	token := sessionToken(c)
	_, sess, err := s.auth.Session(ctx, token)
	endSession := ""
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
	case err != nil:
		writeError(c, err)
		return
	case !auth.CheckCSRF(sess, c.GetHeader(csrfHeader)):
		writeError(c, domain.Errorf(domain.CodeForbidden, "missing or wrong %s header", csrfHeader))
		return
	default:
		endSession = s.providerSignOut(c, sess.UserID)
		if err := s.auth.EndSession(ctx, token); err != nil {
			writeError(c, err)
			return
		}
	}
	s.clearSessionCookies(c)
	if endSession != "" {
		c.JSON(http.StatusOK, LogoutResponse{EndSessionURL: endSession})
		return
	}
	c.Status(http.StatusNoContent)
}

// LogoutResponse sends the browser on to the OpenID Provider's sign-out.
type LogoutResponse struct {
	EndSessionURL string `json:"end_session_url" example:"https://sso.example.com/realms/mailing/protocol/openid-connect/logout?client_id=mailing-api&post_logout_redirect_uri=https%3A%2F%2Fmailing.example.com%2F"`
}

// providerSignOut is the provider's end-session URL when userID signed in
// through it and it has one, else "".
func (s *Server) providerSignOut(c *gin.Context, userID int64) string {
	if s.oidc == nil {
		return ""
	}
	u, err := s.accounts.User(c.Request.Context(), userID)
	if err != nil || u.Issuer != s.oidc.Issuer() {
		return ""
	}
	return s.oidc.EndSessionURL(c.Request.Context())
}

// currentSession godoc
//
//	@Summary		Who is signed in
//	@Description	The principal the session cookie (or a bearer credential) proves, for a UI to show.
//	@Tags			auth
//	@Produce		json
//	@Success		200	{object}	PrincipalResponse
//	@Failure		401	{object}	ErrorBody
//	@Router			/auth/session [get]
func (s *Server) currentSession(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	p, ok := s.authenticate(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, PrincipalResponse{Kind: string(p.Kind), ID: p.ID, Name: p.Name, Role: p.Role, Via: string(p.Via)})
}
