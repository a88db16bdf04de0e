package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"time"

	"mailing/shared/domain"
)

// SessionStore is what the Authenticator needs of the browsers' sessions.
type SessionStore interface {
	Create(ctx context.Context, s domain.Session) (domain.Session, error)
	// Get returns the session with this id, a not-found domain error when
	// there is none.
	Get(ctx context.Context, id string) (domain.Session, error)
	Touch(ctx context.Context, id string, at, idleUntil time.Time) error
	Revoke(ctx context.Context, id string, at time.Time) error
}

// Session lifetimes when the configuration gives none.
const (
	DefaultSessionIdle = 30 * time.Minute
	DefaultSessionMax  = 12 * time.Hour
	// sessionTouchEvery bounds how often a session's last use is written.
	sessionTouchEvery = time.Minute
)

// NewSession is a session just begun: its cookie's token and its CSRF
// token, both shown to the browser once and stored only hashed.
type NewSession struct {
	Token, CSRF string
	Session     domain.Session
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// StartSession begins a session for u, at u's current generation.
func (a *Authenticator) StartSession(ctx context.Context, u domain.User) (NewSession, error) {
	if a.cfg.Sessions == nil {
		return NewSession{}, domain.Errorf(domain.CodeInternal, "no session store")
	}
	now := a.cfg.Now().UTC()
	token, csrf := randomToken(), randomToken()
	s, err := a.cfg.Sessions.Create(ctx, domain.Session{
		ID: hashToken(token), UserID: u.ID, CSRFHash: hashToken(csrf), Generation: u.Generation,
		CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(a.cfg.SessionIdle), ExpiresAt: now.Add(a.cfg.SessionMax),
	})
	if err != nil {
		return NewSession{}, err
	}
	return NewSession{Token: token, CSRF: csrf, Session: s}, nil
}

// Session returns the principal a session cookie's token proves, and the
// session. The session is good while it is usable (not revoked, neither
// idle for longer than the idle timeout nor older than the absolute one)
// and its user is enabled and at the session's generation; the user is
// looked up through the same cache as for tokens, so disabling a user ends
// its sessions at once. A use is written at most once a minute.
func (a *Authenticator) Session(ctx context.Context, token string) (domain.Principal, domain.Session, error) {
	if token == "" || a.cfg.Sessions == nil {
		return domain.Principal{}, domain.Session{}, refused("no session")
	}
	s, err := a.cfg.Sessions.Get(ctx, hashToken(token))
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return domain.Principal{}, domain.Session{}, refused("unknown session")
	}
	if err != nil {
		return domain.Principal{}, domain.Session{}, err
	}
	now := a.cfg.Now().UTC()
	if !s.Usable(now) {
		return domain.Principal{}, domain.Session{}, refused("session revoked or expired")
	}
	l, err := lookup(ctx, a, a.users, s.UserID, func(ctx context.Context) (userLookup, error) {
		u, err := a.cfg.Users.Get(ctx, s.UserID)
		return userLookup{user: u, found: err == nil}, err
	})
	switch {
	case err != nil:
		return domain.Principal{}, domain.Session{}, err
	case !l.found:
		return domain.Principal{}, domain.Session{}, refused("no such user")
	case l.user.Disabled:
		return domain.Principal{}, domain.Session{}, refused("user disabled")
	case l.user.Generation != s.Generation:
		return domain.Principal{}, domain.Session{}, refused("session of an earlier generation")
	}
	if now.Sub(s.LastSeenAt) >= sessionTouchEvery {
		if err := a.cfg.Sessions.Touch(ctx, s.ID, now, now.Add(a.cfg.SessionIdle)); err != nil {
			a.cfg.Log.Warn("could not record a session's use", "error", err.Error())
		}
	}
	return l.user.Principal(domain.ViaSession), s, nil
}

// CheckCSRF reports whether header is session s's CSRF token.
func CheckCSRF(s domain.Session, header string) bool {
	return header != "" && subtle.ConstantTimeCompare([]byte(hashToken(header)), []byte(s.CSRFHash)) == 1
}

// EndSession revokes the session whose cookie's token this is, if any.
func (a *Authenticator) EndSession(ctx context.Context, token string) error {
	if token == "" || a.cfg.Sessions == nil {
		return nil
	}
	return a.cfg.Sessions.Revoke(ctx, hashToken(token), a.cfg.Now().UTC())
}
