package devoidc

import (
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// groupsScope may be asked for by relying parties used to providers that
// gate the groups claim on it (Dex, some Keycloak set-ups); the claim is
// sent either way.
const groupsScope = "groups"

// client is a registered Client as op sees it: the authorization code flow
// only, with refresh tokens.
type client struct {
	Client
	loginURL   string // the login form, absolute
	idTokenTTL time.Duration
}

func (c *client) public() bool { return c.Secret == "" }

func (c *client) GetID() string                    { return c.ID }
func (c *client) RedirectURIs() []string           { return c.Client.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.Client.PostLogoutRedirectURIs }

// ApplicationType is web for a confidential client. A public one is
// native: op then accepts its loopback redirect URIs on any port (RFC 8252,
// 7.3) and custom schemes.
func (c *client) ApplicationType() op.ApplicationType {
	if c.public() {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

// AuthMethod is basic for a confidential client; op also takes the secret
// from the form (client_secret_post) because the provider enables it.
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.public() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}

func (c *client) LoginURL(authRequestID string) string {
	return c.loginURL + "?" + url.Values{loginRequestField: {authRequestID}}.Encode()
}

func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return c.idTokenTTL }
func (c *client) DevMode() bool                       { return false }
func (c *client) ClockSkew() time.Duration            { return 0 }
func (c *client) IsScopeAllowed(scope string) bool    { return scope == groupsScope }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

// IDTokenUserinfoClaimsAssertion puts the profile and email claims in the
// ID token even though an access token is issued beside it, as Auth0 and
// Keycloak do: relying parties read them there without calling userinfo.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
