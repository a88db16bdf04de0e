// Package accounts manages who may call the API, for every transport (the
// JSON API, an admin UI's backend, the binary's start-up): local users —
// create, change role, display name or disabling, reset the password, sign
// in — and integrators' API keys — create, list, revoke. It applies
// domain's rules, hashes secrets, stores, makes sure a change that must
// refuse credentials has reached the authenticator's caches before it
// returns (Sync), and logs; so each of these exists once.
package accounts

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"mailing/api-service/internal/auth"
	"mailing/shared/domain"
	"mailing/shared/logging"
)

// UserStore is what the service needs of the local users.
type UserStore interface {
	Create(ctx context.Context, u domain.User, passwordHash string) (domain.User, error)
	Get(ctx context.Context, id int64) (domain.User, error)
	List(ctx context.Context, p domain.Page) ([]domain.User, error)
	Credentials(ctx context.Context, username string) (domain.User, string, error)
	Update(ctx context.Context, id int64, ch domain.UserChange) (domain.User, error)
	SetPassword(ctx context.Context, id int64, passwordHash string) (domain.User, error)
}

// KeyStore is what the service needs of the API keys.
type KeyStore interface {
	Create(ctx context.Context, k domain.APIKey, secretHash []byte) (domain.APIKey, error)
	List(ctx context.Context, p domain.Page) ([]domain.APIKey, error)
	Revoke(ctx context.Context, id int64) (domain.APIKey, error)
}

// Syncer runs a change to a principal (named by its actor id) and returns
// once cached credentials of that principal are no longer trusted; the
// auth.Authenticator is one.
type Syncer interface {
	Sync(ctx context.Context, subject string, change func() error) error
}

// Recorder writes audit events that no change carries: sign-ins.
type Recorder interface {
	Record(ctx context.Context, action, objectType string, objectID any, diff any) error
}

// Config holds the service's dependencies.
type Config struct {
	Users UserStore
	Keys  KeyStore
	// Audit records sign-ins and failed sign-ins; nil records nothing.
	Audit Recorder
	// Settings holds whether local sign-in is on; nil means always on.
	Settings SettingsStore
	// Admins and OIDCIssuer (the configured OpenID Provider, if any) say
	// whether local sign-in may be turned off.
	Admins     AdminCounter
	OIDCIssuer string
	// Sync is told about changes that refuse credentials; nil runs them
	// as they are (nothing is cached).
	Sync Syncer
	// Log is used when the context carries no logger.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service runs changes to users and keys.
type Service struct{ cfg Config }

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

func (s *Service) log(ctx context.Context) *slog.Logger { return logging.FromContext(ctx, s.cfg.Log) }

func (s *Service) sync(ctx context.Context, kind domain.PrincipalKind, id int64, change func() error) error {
	if s.cfg.Sync == nil {
		return change()
	}
	return s.cfg.Sync.Sync(ctx, domain.ActorID(kind, id), change)
}

// CreateUser validates in and stores the new user.
func (s *Service) CreateUser(ctx context.Context, in domain.UserInput) (domain.User, error) {
	if err := in.Validate(); err != nil {
		return domain.User{}, err
	}
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return domain.User{}, err
	}
	u, err := s.cfg.Users.Create(ctx, domain.User{Username: in.Username, Role: in.Role, DisplayName: in.DisplayName}, hash)
	if err != nil {
		return domain.User{}, err
	}
	s.log(ctx).Info("user created", logging.UserID, u.ID, "username", u.Username, "role", string(u.Role))
	return u, nil
}

// User returns user id.
func (s *Service) User(ctx context.Context, id int64) (domain.User, error) {
	return s.cfg.Users.Get(ctx, id)
}

// Users returns one keyset page of users.
func (s *Service) Users(ctx context.Context, p domain.Page) ([]domain.User, error) {
	return s.cfg.Users.List(ctx, p)
}

// UpdateUser changes user id's role, display name or disabling. A new
// role or disabling refuses the user's tokens before this returns.
func (s *Service) UpdateUser(ctx context.Context, id int64, ch domain.UserChange) (domain.User, error) {
	if err := ch.Validate(); err != nil {
		return domain.User{}, err
	}
	var before, after domain.User
	err := s.sync(ctx, domain.PrincipalUser, id, func() error {
		var err error
		if before, err = s.cfg.Users.Get(ctx, id); err != nil {
			return err
		}
		after, err = s.cfg.Users.Update(ctx, id, ch)
		return err
	})
	if err != nil {
		return domain.User{}, err
	}
	s.log(ctx).Info("user updated", logging.UserID, id, "role", string(after.Role), "disabled", after.Disabled,
		"display_name", after.DisplayName, "tokens_refused", after.Generation != before.Generation)
	return after, nil
}

// ResetPassword sets user id's password and refuses its tokens.
func (s *Service) ResetPassword(ctx context.Context, id int64, password string) (domain.User, error) {
	if p := domain.ValidatePassword(password); p != "" {
		return domain.User{}, domain.Invalid(map[string]string{"password": p})
	}
	if _, err := s.cfg.Users.Get(ctx, id); err != nil {
		return domain.User{}, err // before hashing, which takes a while
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return domain.User{}, err
	}
	var u domain.User
	err = s.sync(ctx, domain.PrincipalUser, id, func() error {
		var err error
		u, err = s.cfg.Users.SetPassword(ctx, id, hash)
		return err
	})
	if err != nil {
		return domain.User{}, err
	}
	s.log(ctx).Info("user password reset", logging.UserID, id, "tokens_refused", true)
	return u, nil
}

// ErrSignIn is the one answer to a failed sign-in, whatever failed.
var ErrSignIn = errors.New("wrong username or password")

// SignIn returns the enabled user whose username and password these are,
// signing in for a credential of kind via (a token or a session).
// An unknown user, a wrong password and a disabled user fail alike, after
// the same bcrypt comparison, so the answer says nothing about which
// usernames exist.
//
// While local sign-in is turned off every attempt fails with
// ErrLocalSignInOff, before any password is looked at.
func (s *Service) SignIn(ctx context.Context, username, password string, via domain.AuthMethod) (domain.User, error) {
	on, err := s.localSignInAllowed(ctx)
	if err != nil {
		return domain.User{}, err
	}
	if !on {
		return domain.User{}, ErrLocalSignInOff
	}
	u, hash, err := s.cfg.Users.Credentials(ctx, username)
	if err != nil {
		return domain.User{}, err
	}
	if !auth.CheckPasswordOrDummy(hash, password) || u.Disabled {
		s.record(ctx, domain.AuditSignInFailed, nil, map[string]string{"username": username})
		return domain.User{}, ErrSignIn
	}
	s.record(domain.WithPrincipal(ctx, u.Principal(via)), domain.AuditSignIn, u.ID, nil)
	return u, nil
}

// record writes a sign-in's audit event. A failure to write it is logged,
// not returned: it must not decide whether someone may sign in.
func (s *Service) record(ctx context.Context, action string, userID any, diff any) {
	if s.cfg.Audit == nil {
		return
	}
	if err := s.cfg.Audit.Record(ctx, action, domain.AuditObjectUser, userID, diff); err != nil {
		s.log(ctx).Error("audit event not recorded", "action", action, "error", err.Error())
	}
}

// EnsureAdmin makes username an enabled admin signing in with password
// (ADMIN_USERNAME and ADMIN_PASSWORD at start): created when missing; its
// password replaced only when it no longer matches, so a restart does not
// refuse the admin's tokens; made admin and enabled again when it was
// changed. It reports what it did.
func (s *Service) EnsureAdmin(ctx context.Context, username, password string) (string, error) {
	if p := domain.ValidatePassword(password); p != "" {
		return "", domain.Invalid(map[string]string{"password": p})
	}
	for attempt := 0; ; attempt++ {
		u, hash, err := s.cfg.Users.Credentials(ctx, username)
		if err != nil {
			return "", err
		}
		if u.ID == 0 {
			hash, err := auth.HashPassword(password)
			if err != nil {
				return "", err
			}
			_, err = s.cfg.Users.Create(ctx, domain.User{Username: username, Role: domain.RoleAdmin}, hash)
			if domain.ErrorCode(err) == domain.CodeConflict && attempt == 0 {
				continue // another replica created it meanwhile
			}
			if err != nil {
				return "", err
			}
			return "created", nil
		}
		done := "unchanged"
		if !auth.CheckPassword(hash, password) {
			if _, err := s.ResetPassword(ctx, u.ID, password); err != nil {
				return "", err
			}
			done = "password updated"
		}
		if u.Role != domain.RoleAdmin || u.Disabled {
			admin, enabled := domain.RoleAdmin, false
			if _, err := s.UpdateUser(ctx, u.ID, domain.UserChange{Role: &admin, Disabled: &enabled}); err != nil {
				return "", err
			}
			done = "made an enabled admin"
		}
		return done, nil
	}
}

// CreateKey validates in and stores a new key, created by the principal
// ctx carries. It returns the key and its secret, which is never
// available again.
func (s *Service) CreateKey(ctx context.Context, in domain.APIKeyInput) (domain.APIKey, string, error) {
	if err := in.Validate(s.cfg.Now()); err != nil {
		return domain.APIKey{}, "", err
	}
	secret, prefix := auth.NewKeySecret()
	k := domain.APIKey{Name: in.Name, Role: in.Role, Prefix: prefix, ExpiresAt: in.ExpiresAt}
	if p, ok := domain.PrincipalFrom(ctx); ok && p.Kind == domain.PrincipalUser {
		k.CreatedBy = &p.ID
	}
	k, err := s.cfg.Keys.Create(ctx, k, auth.HashKey(secret))
	if err != nil {
		return domain.APIKey{}, "", err
	}
	s.log(ctx).Info("API key created", logging.KeyID, k.ID, "name", k.Name, "role", string(k.Role), "prefix", k.Prefix, "expires_at", k.ExpiresAt)
	return k, secret, nil
}

// Keys returns one keyset page of keys, revoked ones included.
func (s *Service) Keys(ctx context.Context, p domain.Page) ([]domain.APIKey, error) {
	return s.cfg.Keys.List(ctx, p)
}

// RevokeKey revokes key id; it is refused before this returns.
func (s *Service) RevokeKey(ctx context.Context, id int64) (domain.APIKey, error) {
	var k domain.APIKey
	err := s.sync(ctx, domain.PrincipalKey, id, func() error {
		var err error
		k, err = s.cfg.Keys.Revoke(ctx, id)
		return err
	})
	if err != nil {
		return domain.APIKey{}, err
	}
	s.log(ctx).Info("API key revoked", logging.KeyID, id, "name", k.Name, "prefix", k.Prefix)
	return k, nil
}
