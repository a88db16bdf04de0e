package devoidc

import (
	"log/slog"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// authRequest is one sign-in in progress: created by /authorize, completed
// by the login form, turned into a code and finally redeemed once.
type authRequest struct {
	id           string
	expires      time.Time
	clientID     string
	redirectURI  string
	state        string
	nonce        string
	scopes       []string
	responseType oidc.ResponseType
	responseMode oidc.ResponseMode
	challenge    *oidc.CodeChallenge

	subject  string // set by a successful sign-in
	authTime time.Time
	code     string // set once the code is issued
	redeemed bool   // the code was presented at the token endpoint
}

// copy is what op gets: it reads requests without our lock.
func (a *authRequest) copy() *authRequest {
	c := *a
	return &c
}

func (a *authRequest) GetID() string                      { return a.id }
func (a *authRequest) GetACR() string                     { return "" }
func (a *authRequest) GetAudience() []string              { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time             { return a.authTime }
func (a *authRequest) GetClientID() string                { return a.clientID }
func (a *authRequest) GetNonce() string                   { return a.nonce }
func (a *authRequest) GetRedirectURI() string             { return a.redirectURI }
func (a *authRequest) GetScopes() []string                { return a.scopes }
func (a *authRequest) GetState() string                   { return a.state }
func (a *authRequest) GetSubject() string                 { return a.subject }
func (a *authRequest) Done() bool                         { return a.subject != "" }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.responseMode }

func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.challenge }

// GetAMR says the person typed a password (RFC 8176).
func (a *authRequest) GetAMR() []string {
	if a.Done() {
		return []string{"pwd"}
	}
	return nil
}

// LogValue keeps state, nonce and the challenge out of op's log lines.
func (a *authRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", a.id), slog.String("client_id", a.clientID),
		slog.String("redirect_uri", a.redirectURI), slog.Any("scopes", a.scopes))
}

// refreshRequest is a refresh token presented at the token endpoint: a
// copy of what the token was issued for, which op may narrow to fewer
// scopes.
type refreshRequest struct {
	token    string
	grant    string
	clientID string
	subject  string
	scopes   []string
	amr      []string
	authTime time.Time
}

func (r *refreshRequest) GetAMR() []string            { return r.amr }
func (r *refreshRequest) GetAudience() []string       { return []string{r.clientID} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.authTime }
func (r *refreshRequest) GetClientID() string         { return r.clientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.subject }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = slices.Clone(s) }
