package httpapi

import (
	"context"
	"html/template"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"mailing/api-service/internal/oidclogin"
	"mailing/shared/domain"
	"mailing/shared/logging"
	"mailing/shared/postgres"
)

// ExternalUserStore keeps the users an OpenID Provider vouches for.
type ExternalUserStore interface {
	SignInExternal(ctx context.Context, in postgres.ExternalUser) (domain.User, error)
}

// oidcCookie carries a sign-in's state, nonce and PKCE verifier, signed,
// from the redirect to the provider to the callback.
const oidcCookie = "mailing_oidc"

var oidcPage = template.Must(template.New("p").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p><p><a href="/auth/oidc/login">Sign in again</a></p></body></html>
`))

// oidcRefuse answers a browser with a page saying why it is not signed in.
func oidcRefuse(c *gin.Context, status int, title, message string) {
	c.Header("Cache-Control", "no-store")
	c.Status(status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	_ = oidcPage.Execute(c.Writer, map[string]string{"Title": title, "Message": message})
	c.Abort()
}

// limitOIDC refuses a client address that starts or finishes sign-ins
// faster than a person does, so neither the provider nor the database
// behind the callback can be flooded through this API.
func (s *Server) limitOIDC(c *gin.Context) {
	ok, wait := s.oidcLimit.Allow("oidc\x00" + c.ClientIP())
	if ok {
		return
	}
	c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	logger(c).Warn("OpenID sign-in rate limited", "client_ip", c.ClientIP())
	writeError(c, domain.Errorf(domain.CodeTooManyRequests, "too many sign-ins from this address; retry later"))
	c.Abort()
}

// oidcLogin godoc
//
//	@Summary		Sign in through the OpenID Provider
//	@Description	Redirects the browser to the provider (authorization code flow with PKCE S256); state, nonce and the PKCE verifier wait in a short-lived signed HttpOnly cookie. return_to must be a local path; the callback redirects there once signed in.
//	@Tags			auth
//	@Param			return_to	query	string	false	"local path to go to after signing in"	default(/)
//	@Success		302	"to the provider"
//	@Failure		400	{object}	ErrorBody	"return_to is not a local path"
//	@Failure		429	{object}	ErrorBody	"too many sign-ins from this address; see Retry-After"
//	@Failure		503	"the provider cannot be reached; see Retry-After"
//	@Router			/auth/oidc/login [get]
func (s *Server) oidcLogin(c *gin.Context) {
	returnTo := c.DefaultQuery("return_to", "/")
	if !localPath(returnTo) {
		writeError(c, domain.Invalid(map[string]string{"return_to": "must be a local path starting with a single /"}))
		return
	}
	authURL, state, err := s.oidc.Start(c.Request.Context(), returnTo)
	if err != nil {
		logger(c).Warn("OpenID Provider unavailable", "issuer", s.oidc.Issuer(), "error", err.Error())
		c.Header("Retry-After", "5")
		oidcRefuse(c, http.StatusServiceUnavailable, "Sign-in unavailable", "The identity provider cannot be reached just now; try again in a moment.")
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: oidcCookie, Value: state, Path: "/auth/oidc", MaxAge: int(oidclogin.StateTTL.Seconds()),
		HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteLaxMode})
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusFound, authURL)
}

// oidcCallback godoc
//
//	@Summary		Finish signing in through the OpenID Provider
//	@Description	The provider's redirect: checks state against the sign-in's cookie, exchanges the code, verifies the ID token (issuer, audience, nonce) and maps the person's email and groups to a role (OIDC_ADMIN_EMAILS, OIDC_ALLOWED_DOMAINS, OIDC_ROLE_CLAIM, OIDC_ROLE_MAP). A person matching nothing is refused with a 403 page, never given a default role. A matched person gets (or has updated) a user keyed by issuer and subject, and a session as from POST /auth/login; the browser goes on to return_to.
//	@Tags			auth
//	@Produce		html
//	@Param			state	query	string	true	"the sign-in's state"
//	@Param			code	query	string	true	"authorization code"
//	@Success		303	"signed in; see Location"
//	@Failure		400	"unknown or expired sign-in"
//	@Failure		403	"refused by the provider, or no role for this person"
//	@Failure		429	{object}	ErrorBody	"too many sign-ins from this address; see Retry-After"
//	@Router			/auth/oidc/callback [get]
func (s *Server) oidcCallback(c *gin.Context) {
	ctx := c.Request.Context()
	cookie, _ := c.Cookie(oidcCookie)
	// The cookie is good for one callback.
	http.SetCookie(c.Writer, &http.Cookie{Name: oidcCookie, Path: "/auth/oidc", MaxAge: -1, HttpOnly: true, Secure: s.secure(c), SameSite: http.SameSiteLaxMode})
	pending, err := s.oidc.Resume(cookie, c.Query("state"))
	if err != nil {
		logger(c).Warn("OpenID sign-in refused", "reason", err.Error())
		oidcRefuse(c, http.StatusBadRequest, "Sign-in failed", err.Error())
		return
	}
	if e := c.Query("error"); e != "" {
		logger(c).Warn("OpenID Provider refused the sign-in", "error", e, "description", c.Query("error_description"))
		oidcRefuse(c, http.StatusForbidden, "Sign-in refused", "The identity provider did not sign you in.")
		return
	}
	id, err := s.oidc.Finish(ctx, pending, c.Query("code"))
	if err != nil {
		logger(c).Warn("OpenID sign-in failed", "reason", err.Error())
		oidcRefuse(c, http.StatusBadRequest, "Sign-in failed", "The sign-in could not be completed; start again.")
		return
	}
	role, ok := s.oidc.Role(id)
	if !ok {
		logger(c).Warn("OpenID sign-in without a role", "subject", id.Subject, "email", id.Email, "groups", id.Groups)
		oidcRefuse(c, http.StatusForbidden, "No access", "You are signed in at the identity provider, but none of your groups or addresses gives access to this service. Ask an administrator.")
		return
	}
	username := id.Email
	if username == "" {
		username = id.Subject
	}
	u, err := s.external.SignInExternal(ctx, postgres.ExternalUser{Issuer: s.oidc.Issuer(), Subject: id.Subject, Username: username, DisplayName: id.Name, Role: role})
	if err != nil {
		logger(c).Warn("OpenID user not stored", "subject", id.Subject, "error", err.Error())
		oidcRefuse(c, http.StatusConflict, "Sign-in failed", "Your account could not be set up; ask an administrator.")
		return
	}
	if u.Disabled {
		oidcRefuse(c, http.StatusForbidden, "No access", "Your account is disabled.")
		return
	}
	// The store announced the change to every replica; this one forgets
	// the user now, so the new session matches its generation at once.
	s.auth.Notified(domain.ActorID(domain.PrincipalUser, u.ID))
	if err := s.auth.EndSession(ctx, sessionToken(c)); err != nil {
		writeError(c, err)
		return
	}
	ns, err := s.auth.StartSession(ctx, u)
	if err != nil {
		writeError(c, err)
		return
	}
	if s.audit != nil {
		if err := s.audit.Record(domain.WithPrincipal(ctx, u.Principal(domain.ViaSession)), domain.AuditSignIn, domain.AuditObjectUser, u.ID,
			map[string]string{"issuer": s.oidc.Issuer()}); err != nil {
			logger(c).Error("audit event not recorded", "action", domain.AuditSignIn, "error", err.Error())
		}
	}
	logID(c, logging.UserID, u.ID)
	s.setSessionCookies(c, ns)
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, pending.ReturnTo)
}
