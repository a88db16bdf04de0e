package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
)

// getSettings godoc
//
//	@Summary		Read the deployment-wide settings
//	@Description	local_sign_in: whether usernames and passwords are accepted (POST /auth/login and /auth/token).
//	@Tags			settings
//	@Produce		json
//	@Success		200	{object}	domain.Settings
//	@Failure		401	{object}	ErrorBody
//	@Failure		403	{object}	ErrorBody	"needs the admin role"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/settings [get]
func (s *Server) getSettings(c *gin.Context) {
	st, err := s.accounts.Settings(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

// patchSettings godoc
//
//	@Summary		Change the deployment-wide settings
//	@Description	Omitted fields stay as they are; a change is an audit event (settings.updated). Turning local_sign_in off refuses every username and password sign-in at once, on every replica — sessions, tokens and API keys already issued keep working until they expire or are revoked. It is refused (409) unless an OpenID Provider is configured and has signed in at least one enabled admin, so nobody is locked out; `api local-sign-in on` on the server turns it back on.
//	@Tags			settings
//	@Accept			json
//	@Produce		json
//	@Param			settings	body		domain.SettingsChange	true	"the settings to change"
//	@Success		200			{object}	domain.Settings
//	@Failure		400			{object}	ErrorBody
//	@Failure		401			{object}	ErrorBody
//	@Failure		403			{object}	ErrorBody	"needs the admin role"
//	@Failure		409			{object}	ErrorBody	"turning local sign-in off would lock every admin out"
//	@Security		OAuth2Password
//	@Security		Bearer
//	@Router			/api/settings [patch]
func (s *Server) patchSettings(c *gin.Context) {
	var ch domain.SettingsChange
	if err := decodeJSON(c, &ch); err != nil {
		writeError(c, err)
		return
	}
	st, err := s.accounts.UpdateSettings(c.Request.Context(), ch)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

// ProvidersResponse says how people can sign in here.
type ProvidersResponse struct {
	// LocalSignIn: POST /auth/login with a username and password works.
	LocalSignIn bool `json:"local_sign_in" example:"true"`
	// OIDC is the OpenID Provider, when one is configured.
	OIDC *OIDCProvider `json:"oidc"`
}

// OIDCProvider is the configured OpenID Provider.
type OIDCProvider struct {
	Issuer   string `json:"issuer" example:"https://sso.example.com/realms/mailing"`
	LoginURL string `json:"login_url" example:"/auth/oidc/login"`
}

// signInProviders godoc
//
//	@Summary		How to sign in here
//	@Description	For a sign-in page: whether username and password sign-in is on, and the OpenID Provider to offer, if any. Needs no credentials.
//	@Tags			auth
//	@Produce		json
//	@Success		200	{object}	ProvidersResponse
//	@Router			/auth/providers [get]
func (s *Server) signInProviders(c *gin.Context) {
	st, err := s.accounts.Settings(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	out := ProvidersResponse{LocalSignIn: st.LocalSignIn}
	if s.oidc != nil {
		out.OIDC = &OIDCProvider{Issuer: s.oidc.Issuer(), LoginURL: "/auth/oidc/login"}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}
