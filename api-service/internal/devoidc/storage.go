package devoidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

var (
	errRequestGone     = errors.New("sign-in request unknown or expired")
	errAlreadySignedIn = errors.New("sign-in request already completed")
	errBadCredentials  = errors.New("wrong username or password")
)

// storage is everything op asks of the provider, in memory: the
// directory, which never changes, and the sign-ins and tokens, which are
// lost on restart. Every method may be called from concurrent requests.
type storage struct {
	users   map[string]User
	clients map[string]*client
	key     *signingKey
	ttl     Lifetimes
	log     *slog.Logger

	mu       sync.Mutex
	requests map[string]*authRequest  // by id
	codes    map[string]string        // code → auth request id
	access   map[string]*accessToken  // by id
	refresh  map[string]*refreshToken // by token
}

// accessToken is what an opaque access token stands for; op hands out
// "id:subject" encrypted. grant is the auth request the chain of tokens
// started from, so a replayed code can revoke all of them.
type accessToken struct {
	id, clientID, subject, grant string
	scopes                       []string
	expires                      time.Time
}

type refreshToken struct {
	token, clientID, subject, grant string
	scopes, amr                     []string
	authTime, expires               time.Time
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

// CreateAuthRequest stores a validated /authorize request. op has checked
// the client, redirect URI, response type and scopes; PKCE is checked here
// because op accepts the plain method and no challenge at all.
func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired().WithDescription("there are no sign-in sessions: the login form is always shown")
	}
	c, ok := s.clients[req.ClientID]
	if !ok {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	var challenge *oidc.CodeChallenge
	switch {
	case req.CodeChallenge == "" && c.public():
		return nil, oidc.ErrInvalidRequest().WithDescription("a public client must send a PKCE code_challenge with code_challenge_method=S256")
	case req.CodeChallenge == "":
	case req.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	default:
		challenge = &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod}
	}
	now := time.Now()
	a := &authRequest{
		id:           rand.Text(),
		expires:      now.Add(s.ttl.SignIn),
		clientID:     c.ID,
		redirectURI:  req.RedirectURI,
		state:        req.State,
		nonce:        req.Nonce,
		scopes:       slices.Clone(req.Scopes),
		responseType: req.ResponseType,
		responseMode: req.ResponseMode,
		challenge:    challenge,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	s.requests[a.id] = a
	return a.copy(), nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.requestLocked(id)
	if err != nil {
		return nil, err
	}
	return a.copy(), nil
}

// AuthRequestByCode spends the code: op calls it once per token request,
// before it checks the verifier and the client, so a code is good for one
// attempt. A code presented again revokes the tokens issued for it (RFC
// 6749, 4.1.2): whoever replays it may have stolen it.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.requestLocked(s.codes[code])
	if err != nil {
		return nil, fmt.Errorf("code: %w", err)
	}
	if a.redeemed {
		s.revokeGrantLocked(a.id)
		return nil, errors.New("code already redeemed: the tokens issued for it are revoked")
	}
	a.redeemed = true
	return a.copy(), nil
}

// SaveAuthCode records the one code of a completed sign-in; a second
// visit to the callback gets no second code.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.requestLocked(id)
	switch {
	case err != nil:
		return err
	case !a.Done():
		return oidc.ErrInvalidRequest().WithDescription("sign-in not completed")
	case a.code != "":
		return oidc.ErrInvalidRequest().WithDescription("a code was already issued for this sign-in")
	}
	a.code = code
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest is called once the tokens for a code are issued. The
// request is kept until it expires, so that its code, presented again, is
// recognised as a replay rather than merely unknown.
func (s *storage) DeleteAuthRequest(context.Context, string) error { return nil }

// CreateAccessToken serves a code exchange without offline_access.
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	g, err := grantOf(req)
	if err != nil {
		return "", time.Time{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.newAccessLocked(g)
	return t.id, t.expires, nil
}

// CreateAccessAndRefreshTokens serves a code exchange with offline_access
// and every refresh. Refresh tokens rotate: the one presented is spent.
func (s *storage) CreateAccessAndRefreshTokens(_ context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	g, err := grantOf(req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if current != "" {
		old, ok := s.refresh[current]
		if !ok || old.clientID != g.clientID {
			// Two refreshes racing with one token: the second loses.
			return "", "", time.Time{}, errors.New("refresh token unknown or already used")
		}
		delete(s.refresh, current)
	}
	at := s.newAccessLocked(g)
	rt := &refreshToken{
		token: rand.Text(), clientID: g.clientID, subject: g.subject, grant: g.id,
		scopes: g.scopes, amr: g.amr, authTime: g.authTime, expires: time.Now().Add(s.ttl.Refresh),
	}
	s.refresh[rt.token] = rt
	return at.id, rt.token, at.expires, nil
}

func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refresh[token]
	if !ok || time.Now().After(rt.expires) {
		return nil, errors.New("refresh token unknown, expired or already used")
	}
	return &refreshRequest{
		token: rt.token, grant: rt.grant, clientID: rt.clientID, subject: rt.subject,
		scopes: slices.Clone(rt.scopes), amr: rt.amr, authTime: rt.authTime,
	}, nil
}

// TerminateSession ends a person's sign-in at one client: there is no
// browser session to end, so it revokes their tokens for that client.
func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.log.Info("sign-out", "username", userID, "client_id", clientID)
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.access {
		if t.subject == userID && t.clientID == clientID {
			delete(s.access, id)
		}
	}
	for tok, t := range s.refresh {
		if t.subject == userID && t.clientID == clientID {
			delete(s.refresh, tok)
		}
	}
	return nil
}

// RevokeToken gets an access token's id or a refresh token itself.
// Revoking an unknown token succeeds (RFC 7009, 2.2).
func (s *storage) RevokeToken(_ context.Context, tokenOrID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.access[tokenOrID]; ok {
		if t.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		delete(s.access, tokenOrID)
		return nil
	}
	if t, ok := s.refresh[tokenOrID]; ok {
		if t.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		delete(s.refresh, tokenOrID)
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(_ context.Context, clientID, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[token]
	if !ok || t.clientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return t.subject, t.token, nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.key, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.key}}, nil
}

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	c, ok := s.clients[id]
	if !ok {
		return nil, fmt.Errorf("unknown client %q", id)
	}
	return c, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	c, ok := s.clients[id]
	switch {
	case !ok:
		return fmt.Errorf("unknown client %q", id)
	case c.public():
		return fmt.Errorf("client %q is public: it has no secret", id)
	case !equalSecret(secret, c.Secret):
		return fmt.Errorf("wrong secret for client %q", id)
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in op; SetUserinfoFromRequest
// fills the ID token instead.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.setUserinfo(info, req.GetSubject(), scopes)
}

// SetUserinfoFromToken answers the userinfo endpoint, with the scopes the
// access token was issued for.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	t, err := s.liveAccess(tokenID, subject)
	if err != nil {
		return err
	}
	return s.setUserinfo(info, subject, t.scopes)
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, err := s.liveAccess(tokenID, subject)
	if err != nil {
		return err
	}
	if t.clientID != clientID {
		return errors.New("token was not issued to this client")
	}
	info := new(oidc.UserInfo)
	if err := s.setUserinfo(info, subject, t.scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Scope = t.scopes
	resp.ClientID = t.clientID
	resp.Expiration = oidc.FromTime(t.expires)
	return nil
}

// GetPrivateClaimsFromScopes is for JWT access tokens; ours are opaque.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT client authentication is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// pendingRequest returns the client of a sign-in waiting for its form.
func (s *storage) pendingRequest(id string) (clientID string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.waitingLocked(id)
	if a == nil {
		return "", err
	}
	return a.clientID, err
}

// waitingLocked returns sign-in request id, with errAlreadySignedIn when
// its form was already answered. The caller holds s.mu.
func (s *storage) waitingLocked(id string) (*authRequest, error) {
	a, err := s.requestLocked(id)
	switch {
	case err != nil:
		return nil, err
	case a.Done():
		return a, errAlreadySignedIn
	}
	return a, nil
}

// signIn completes a sign-in with a username and password. It returns the
// request's client even on failure, for the log line.
func (s *storage) signIn(id, username, password string) (clientID string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.waitingLocked(id)
	if err != nil {
		if a == nil {
			return "", err
		}
		return a.clientID, err
	}
	u, known := s.users[username]
	// Compared even for an unknown user, so the answer takes as long.
	if !equalSecret(password, u.Password) || !known {
		return a.clientID, errBadCredentials
	}
	a.subject, a.authTime = u.Username, time.Now()
	return a.clientID, nil
}

func (s *storage) requestLocked(id string) (*authRequest, error) {
	a, ok := s.requests[id]
	if !ok || time.Now().After(a.expires) {
		return nil, errRequestGone
	}
	return a, nil
}

func (s *storage) liveAccess(id, subject string) (*accessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.access[id]
	if !ok || t.subject != subject || time.Now().After(t.expires) {
		return nil, errors.New("access token unknown, expired or revoked")
	}
	return t, nil
}

func (s *storage) newAccessLocked(g grant) *accessToken {
	now := time.Now()
	s.pruneLocked(now)
	t := &accessToken{
		id: rand.Text(), clientID: g.clientID, subject: g.subject, grant: g.id,
		scopes: g.scopes, expires: now.Add(s.ttl.Access),
	}
	s.access[t.id] = t
	return t
}

func (s *storage) revokeGrantLocked(grantID string) {
	for id, t := range s.access {
		if t.grant == grantID {
			delete(s.access, id)
		}
	}
	for tok, t := range s.refresh {
		if t.grant == grantID {
			delete(s.refresh, tok)
		}
	}
}

// pruneLocked forgets what has expired; the maps stay as small as the
// sign-ins of the last few minutes and the live tokens.
func (s *storage) pruneLocked(now time.Time) {
	for id, a := range s.requests {
		if now.After(a.expires) {
			delete(s.requests, id)
			delete(s.codes, a.code)
		}
	}
	for id, t := range s.access {
		if now.After(t.expires) {
			delete(s.access, id)
		}
	}
	for tok, t := range s.refresh {
		if now.After(t.expires) {
			delete(s.refresh, tok)
		}
	}
}

// setUserinfo fills the standard claims the scopes allow, and groups,
// which relying parties map to roles, always.
func (s *storage) setUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	u, ok := s.users[subject]
	if !ok {
		return fmt.Errorf("user %q is not in the directory", subject)
	}
	info.Subject = u.Username
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email = u.Email
		info.EmailVerified = oidc.Bool(u.emailVerified())
		if !u.emailVerified() {
			// oidc.UserInfo omits a false email_verified; say it.
			info.AppendClaims("email_verified", false)
		}
	}
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = u.Name
		info.PreferredUsername = u.Username
	}
	info.AppendClaims(groupsScope, append([]string{}, u.Groups...))
	return nil
}

// grant is what tokens are issued for, from either kind of token request.
type grant struct {
	id, clientID, subject string
	scopes, amr           []string
	authTime              time.Time
}

func grantOf(req op.TokenRequest) (grant, error) {
	switch r := req.(type) {
	case *authRequest:
		return grant{id: r.id, clientID: r.clientID, subject: r.subject, scopes: r.scopes, amr: r.GetAMR(), authTime: r.authTime}, nil
	case *refreshRequest:
		return grant{id: r.grant, clientID: r.clientID, subject: r.subject, scopes: r.scopes, amr: r.amr, authTime: r.authTime}, nil
	}
	return grant{}, fmt.Errorf("unsupported token request %T", req)
}

// equalSecret compares in constant time, lengths included.
func equalSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
