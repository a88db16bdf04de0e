package accounts

import (
	"context"
	"errors"

	"mailing/shared/domain"
)

// SettingsStore keeps the deployment-wide settings.
type SettingsStore interface {
	Get(ctx context.Context) (domain.Settings, error)
	Update(ctx context.Context, ch domain.SettingsChange) (domain.Settings, error)
}

// AdminCounter counts the enabled admins an OpenID Provider signs in.
type AdminCounter interface {
	EnabledAdminsFrom(ctx context.Context, issuer string) (int64, error)
}

// ErrLocalSignInOff is a password sign-in while local sign-in is off.
var ErrLocalSignInOff = errors.New("signing in with a username and password is turned off here: sign in through the identity provider")

// Settings returns the deployment-wide settings.
func (s *Service) Settings(ctx context.Context) (domain.Settings, error) {
	if s.cfg.Settings == nil {
		return domain.Settings{LocalSignIn: true}, nil
	}
	return s.cfg.Settings.Get(ctx)
}

// UpdateSettings applies ch. Local sign-in may be turned off only while
// an OpenID Provider is configured and has signed in at least one
// enabled admin, so turning it off cannot lock every admin out.
func (s *Service) UpdateSettings(ctx context.Context, ch domain.SettingsChange) (domain.Settings, error) {
	if s.cfg.Settings == nil {
		return domain.Settings{}, domain.Errorf(domain.CodeInternal, "no settings store")
	}
	if ch.LocalSignIn != nil && !*ch.LocalSignIn {
		if err := s.canTurnOffLocal(ctx); err != nil {
			return domain.Settings{}, err
		}
	}
	out, err := s.cfg.Settings.Update(ctx, ch)
	if err != nil {
		return domain.Settings{}, err
	}
	s.log(ctx).Info("settings updated", "local_sign_in", out.LocalSignIn)
	return out, nil
}

func (s *Service) canTurnOffLocal(ctx context.Context) error {
	if s.cfg.OIDCIssuer == "" || s.cfg.Admins == nil {
		return domain.Errorf(domain.CodeConflict, "no OpenID Provider is configured (OIDC_ISSUER): with local sign-in off nobody could sign in")
	}
	n, err := s.cfg.Admins.EnabledAdminsFrom(ctx, s.cfg.OIDCIssuer)
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.Errorf(domain.CodeConflict, "no enabled admin signs in through %s yet: sign in there as an admin first, so turning local sign-in off locks no admin out", s.cfg.OIDCIssuer)
	}
	return nil
}

// localSignInAllowed reports whether passwords are accepted now. The
// setting is read at every password sign-in (a bcrypt comparison costs
// far more), so every replica obeys a change at once.
func (s *Service) localSignInAllowed(ctx context.Context) (bool, error) {
	if s.cfg.Settings == nil {
		return true, nil
	}
	st, err := s.cfg.Settings.Get(ctx)
	return st.LocalSignIn, err
}
