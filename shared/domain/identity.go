package domain

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Role is what a principal may do. Each role includes the ones below it:
// admin ⊃ operator ⊃ viewer.
type Role string

const (
	// RoleViewer reads everything.
	RoleViewer Role = "viewer"
	// RoleOperator also changes customers, mailouts, imports and reference data.
	RoleOperator Role = "operator"
	// RoleAdmin also manages users and API keys.
	RoleAdmin Role = "admin"
)

// Roles lists the roles from the least to the most powerful.
var Roles = []Role{RoleViewer, RoleOperator, RoleAdmin}

// rank is the role's place in Roles, -1 for an unknown role.
func (r Role) rank() int {
	for i, x := range Roles {
		if x == r {
			return i
		}
	}
	return -1
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r.rank() >= 0 }

// Includes reports whether a principal with role r may do what need
// allows. An unknown role includes nothing and is included by nothing.
func (r Role) Includes(need Role) bool {
	return r.Valid() && need.Valid() && r.rank() >= need.rank()
}

// roleProblem is the message for a role that is not one of Roles.
func roleProblem() string {
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = string(r)
	}
	return "must be one of " + strings.Join(names, ", ")
}

// PrincipalKind says what kind of principal acts.
type PrincipalKind string

const (
	PrincipalUser PrincipalKind = "user" // a local (or, later, OpenID) user
	PrincipalKey  PrincipalKind = "key"  // an integrator's API key
)

// AuthMethod says how a principal proved who it is.
type AuthMethod string

const (
	ViaJWT     AuthMethod = "jwt"     // a bearer token from POST /auth/token
	ViaKey     AuthMethod = "key"     // a bearer API key
	ViaSession AuthMethod = "session" // a browser session cookie from POST /auth/login
)

// Principal is who makes a request, as the request's context carries it
// down to services and stores so they can record who acted.
type Principal struct {
	Kind PrincipalKind
	ID   int64
	Name string // display name: the user's display name or username, the key's name
	Role Role
	Via  AuthMethod
}

// Actor is the principal's id as logs and change notifications write it:
// "user:3", "key:7".
func (p Principal) Actor() string { return ActorID(p.Kind, p.ID) }

// ActorID writes a principal's id: "user:3", "key:7".
func ActorID(kind PrincipalKind, id int64) string {
	return string(kind) + ":" + strconv.FormatInt(id, 10)
}

// ParseActorID reads what ActorID writes.
func ParseActorID(s string) (PrincipalKind, int64, bool) {
	kind, num, ok := strings.Cut(s, ":")
	if !ok || (PrincipalKind(kind) != PrincipalUser && PrincipalKind(kind) != PrincipalKey) {
		return "", 0, false
	}
	id, err := strconv.ParseInt(num, 10, 64)
	if err != nil || id <= 0 {
		return "", 0, false
	}
	return PrincipalKind(kind), id, true
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal ctx carries.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// User is a local account.
type User struct {
	ID          int64  `json:"id" example:"3"`
	Username    string `json:"username" example:"maria"`
	DisplayName string `json:"display_name" example:"Maria Petrova"`
	Role        Role   `json:"role" example:"operator"`
	// Disabled users cannot log in, and their tokens are refused.
	Disabled          bool       `json:"disabled" example:"false"`
	DisabledAt        *time.Time `json:"disabled_at"`
	PasswordChangedAt time.Time  `json:"password_changed_at"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	// Issuer is the OpenID Provider that signs this user in; empty for a
	// local user, who signs in with a password.
	Issuer string `json:"issuer,omitempty" example:"https://sso.example.com/realms/mailing"`
	// Generation is written into the user's tokens; a change that must
	// refuse them (disabling, a new role, a new password) increments it.
	Generation int64 `json:"-"`
}

// Principal is the user acting through a credential proved by via.
func (u User) Principal(via AuthMethod) Principal {
	name := u.DisplayName
	if name == "" {
		name = u.Username
	}
	return Principal{Kind: PrincipalUser, ID: u.ID, Name: name, Role: u.Role, Via: via}
}

// Password rules: bcrypt reads at most 72 bytes, and a password shorter
// than 12 characters is guessable offline from a leaked hash.
const (
	MinPasswordChars = 12
	MaxPasswordBytes = 72
)

// ValidatePassword checks a new password against the rules.
func ValidatePassword(pw string) string {
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordChars:
		return "must be at least 12 characters"
	case len(pw) > MaxPasswordBytes:
		return "must be at most 72 bytes"
	case !utf8.ValidString(pw):
		return "must be UTF-8 text"
	}
	return ""
}

// MaxUsernameChars and MaxDisplayNameChars bound names (the users table
// checks them too).
const (
	MaxUsernameChars    = 128
	MaxDisplayNameChars = 200
)

// ValidateUsername checks a new username: 1–128 characters, none of them
// a space or a control character, so a name reads the same everywhere it
// is shown.
func ValidateUsername(name string) string {
	if name == "" || utf8.RuneCountInString(name) > MaxUsernameChars || !utf8.ValidString(name) {
		return "must be 1 to 128 characters"
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "must not contain spaces or control characters"
		}
	}
	return ""
}

// validateLabel checks a display name or a key name: at most max
// characters of text without control characters.
func validateLabel(s string, max int) string {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return "must be at most " + strconv.Itoa(max) + " characters"
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "must not contain control characters"
		}
	}
	return ""
}

// UserInput is a new user.
type UserInput struct {
	Username    string `json:"username" example:"maria"`
	Password    string `json:"password" example:"a long pass phrase"`
	Role        Role   `json:"role" example:"operator"`
	DisplayName string `json:"display_name" example:"Maria Petrova"`
}

// Validate checks every field; DisplayName is trimmed.
func (in *UserInput) Validate() error {
	errs := FieldErrors{}
	if p := ValidateUsername(in.Username); p != "" {
		errs.Add("username", p)
	}
	if p := ValidatePassword(in.Password); p != "" {
		errs.Add("password", p)
	}
	if in.Role == "" {
		errs.Add("role", "is required")
	} else if !in.Role.Valid() {
		errs.Add("role", roleProblem())
	}
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	if p := validateLabel(in.DisplayName, MaxDisplayNameChars); p != "" {
		errs.Add("display_name", p)
	}
	return errs.Err()
}

// UserChange changes some of a user's fields; nil fields stay.
type UserChange struct {
	Role        *Role   `json:"role" example:"viewer"`
	DisplayName *string `json:"display_name" example:"Maria Petrova"`
	Disabled    *bool   `json:"disabled" example:"true"`
}

// Validate checks the given fields; DisplayName is trimmed.
func (ch *UserChange) Validate() error {
	errs := FieldErrors{}
	if ch.Role != nil && !ch.Role.Valid() {
		errs.Add("role", roleProblem())
	}
	if ch.DisplayName != nil {
		name := strings.TrimSpace(*ch.DisplayName)
		ch.DisplayName = &name
		if p := validateLabel(name, MaxDisplayNameChars); p != "" {
			errs.Add("display_name", p)
		}
	}
	return errs.Err()
}

// Apply returns u with the change made at now, and whether the change
// must refuse the user's existing tokens: a new role or disabling does
// (enabling does not: disabling already refused them).
func (ch UserChange) Apply(u User, now time.Time) (User, bool) {
	refuse := false
	if ch.Role != nil && *ch.Role != u.Role {
		u.Role, refuse = *ch.Role, true
	}
	if ch.DisplayName != nil {
		u.DisplayName = *ch.DisplayName
	}
	if ch.Disabled != nil && *ch.Disabled != u.Disabled {
		u.Disabled = *ch.Disabled
		if u.Disabled {
			at := now
			u.DisabledAt, refuse = &at, true
		} else {
			u.DisabledAt = nil
		}
	}
	return u, refuse
}

// Session is a browser's server-side session. Its cookie carries a random
// token; only the token's SHA-256 in hex (ID) is stored, and so is the
// CSRF token's.
type Session struct {
	ID       string
	UserID   int64
	CSRFHash string
	// Generation is the user's when the session began; the session is
	// refused once the user's differs.
	Generation    int64
	CreatedAt     time.Time
	LastSeenAt    time.Time
	IdleExpiresAt time.Time
	ExpiresAt     time.Time
	RevokedAt     *time.Time
}

// Usable reports whether the session authenticates at now: neither
// revoked, idle too long nor past its absolute expiry.
func (s Session) Usable(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.IdleExpiresAt) && now.Before(s.ExpiresAt)
}

// APIKey is an integrator's credential. Its secret is shown once, when
// the key is created, and stored only as a hash.
type APIKey struct {
	ID   int64  `json:"id" example:"7"`
	Name string `json:"name" example:"crm-sync"`
	Role Role   `json:"role" example:"operator"`
	// Prefix is the secret's public beginning: it tells keys apart in
	// lists and in a leaked secret, and authenticates nothing.
	Prefix string `json:"prefix" example:"mk_live_3f9a1c2b7d4e"`
	// CreatedBy is the id of the user who created the key.
	CreatedBy  *int64     `json:"created_by" example:"1"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// Usable reports whether the key authenticates at now: neither revoked
// nor expired.
func (k APIKey) Usable(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// Principal is the key acting.
func (k APIKey) Principal() Principal {
	return Principal{Kind: PrincipalKey, ID: k.ID, Name: k.Name, Role: k.Role, Via: ViaKey}
}

// MaxKeyNameChars bounds a key's name.
const MaxKeyNameChars = 200

// APIKeyInput is a new API key.
type APIKeyInput struct {
	Name      string     `json:"name" example:"crm-sync"`
	Role      Role       `json:"role" example:"operator"`
	ExpiresAt *time.Time `json:"expires_at" example:"2027-01-01T00:00:00Z"`
}

// Validate checks every field at now; Name is trimmed.
func (in *APIKeyInput) Validate(now time.Time) error {
	errs := FieldErrors{}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		errs.Add("name", "is required")
	} else if p := validateLabel(in.Name, MaxKeyNameChars); p != "" {
		errs.Add("name", p)
	}
	if in.Role == "" {
		errs.Add("role", "is required")
	} else if !in.Role.Valid() {
		errs.Add("role", roleProblem())
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		errs.Add("expires_at", "must be in the future")
	}
	return errs.Err()
}
