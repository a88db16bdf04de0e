package postgres

import (
	"context"
	"time"

	"gorm.io/gorm"

	"mailing/shared/domain"
)

// Users stores the local accounts. Every change that bears on
// authentication is announced on AccessChannel in its transaction.
type Users struct{ db *DB }

// NewUsers returns the store on db.
func NewUsers(db *DB) *Users { return &Users{db: db} }

type userRow struct {
	ID                int64
	Username          string
	DisplayName       string
	Role              string
	DisabledAt        *time.Time
	PasswordChangedAt time.Time
	Generation        int64
	CreatedAt         time.Time
	UpdatedAt         time.Time
	OIDCIssuer        *string `gorm:"column:oidc_issuer"`
}

const userColumns = `id, username, display_name, role, disabled_at, password_changed_at, generation, created_at, updated_at, oidc_issuer`

func (r userRow) domain() domain.User {
	u := domain.User{
		ID: r.ID, Username: r.Username, DisplayName: r.DisplayName, Role: domain.Role(r.Role),
		Disabled: r.DisabledAt != nil, PasswordChangedAt: r.PasswordChangedAt.UTC(), Generation: r.Generation,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.OIDCIssuer != nil {
		u.Issuer = *r.OIDCIssuer
	}
	if r.DisabledAt != nil {
		at := r.DisabledAt.UTC()
		u.DisabledAt = &at
	}
	return u
}

// oneUser returns the only row of rows, or a not-found error naming id.
func oneUser(rows []userRow, id any) (domain.User, error) {
	if len(rows) == 0 {
		return domain.User{}, domain.NotFound("user", id)
	}
	return rows[0].domain(), nil
}

// Create stores a new (validated) user with its password hash.
func (s *Users) Create(ctx context.Context, u domain.User, passwordHash string) (domain.User, error) {
	var out domain.User
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		var rows []userRow
		err := tx.Raw(`INSERT INTO users (username, password_hash, role, display_name) VALUES (?, ?, ?, ?)
			RETURNING `+userColumns, u.Username, passwordHash, string(u.Role), u.DisplayName).Scan(&rows).Error
		if err != nil {
			return translate(err, "user "+u.Username)
		}
		if out, err = oneUser(rows, u.Username); err != nil {
			return err
		}
		return audit(ctx, tx, domain.AuditUserCreated, domain.AuditObjectUser, out.ID, domain.Diff(nil, out, userServerFields...))
	})
	return out, err
}

// Get returns user id.
func (s *Users) Get(ctx context.Context, id int64) (domain.User, error) {
	var rows []userRow
	if err := s.db.q(ctx).Raw(`SELECT `+userColumns+` FROM users WHERE id = ?`, id).Scan(&rows).Error; err != nil {
		return domain.User{}, translate(err, "user")
	}
	return oneUser(rows, id)
}

// List returns one keyset page of users in id order.
func (s *Users) List(ctx context.Context, p domain.Page) ([]domain.User, error) {
	var rows []userRow
	err := s.db.q(ctx).Raw(`SELECT `+userColumns+` FROM users WHERE id > ? ORDER BY id LIMIT ?`, p.After, p.Rows()).Scan(&rows).Error
	if err != nil {
		return nil, translate(err, "users")
	}
	out := make([]domain.User, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// Credentials returns the user called username and its password hash, or
// a zero user and "" when there is no such user: sign-in then compares
// against a dummy hash, so both cases cost the same.
func (s *Users) Credentials(ctx context.Context, username string) (domain.User, string, error) {
	var rows []struct {
		User         userRow `gorm:"embedded"`
		PasswordHash string
	}
	err := s.db.q(ctx).Raw(`SELECT `+userColumns+`, password_hash FROM users WHERE username = ?`, username).Scan(&rows).Error
	if err != nil {
		return domain.User{}, "", translate(err, "user")
	}
	if len(rows) == 0 {
		return domain.User{}, "", nil
	}
	return rows[0].User.domain(), rows[0].PasswordHash, nil
}

// Update applies ch to user id under its row lock. A change that must
// refuse the user's tokens (domain.UserChange.Apply says which) increments
// its generation. The last enabled admin can be neither disabled nor
// demoted: nobody could manage users any more.
func (s *Users) Update(ctx context.Context, id int64, ch domain.UserChange) (domain.User, error) {
	var out domain.User
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		// Enabled admins are locked first, in id order, so two changes that
		// would each leave one admin cannot both pass.
		var admins []int64
		if err := tx.Raw(`SELECT id FROM users WHERE role = ? AND disabled_at IS NULL ORDER BY id FOR UPDATE`,
			string(domain.RoleAdmin)).Scan(&admins).Error; err != nil {
			return translate(err, "users")
		}
		var rows []userRow
		if err := tx.Raw(`SELECT `+userColumns+` FROM users WHERE id = ? FOR UPDATE`, id).Scan(&rows).Error; err != nil {
			return translate(err, "user")
		}
		cur, err := oneUser(rows, id)
		if err != nil {
			return err
		}
		next, refuse := ch.Apply(cur, time.Now().UTC())
		wasAdmin := cur.Role == domain.RoleAdmin && !cur.Disabled
		isAdmin := next.Role == domain.RoleAdmin && !next.Disabled
		if wasAdmin && !isAdmin && len(admins) <= 1 {
			return domain.Errorf(domain.CodeConflict, "user %d is the last enabled admin: make another admin first", id)
		}
		bump := 0
		if refuse {
			bump = 1
		}
		rows = nil
		err = tx.Raw(`UPDATE users SET role = ?, display_name = ?, disabled_at = ?, generation = generation + ?, updated_at = now()
			WHERE id = ? RETURNING `+userColumns, string(next.Role), next.DisplayName, next.DisabledAt, bump, id).Scan(&rows).Error
		if err != nil {
			return translate(err, "user")
		}
		if out, err = oneUser(rows, id); err != nil {
			return err
		}
		if diff := domain.Diff(cur, out, userServerFields...); len(diff) > 0 {
			if err := audit(ctx, tx, domain.AuditUserUpdated, domain.AuditObjectUser, id, diff); err != nil {
				return err
			}
		}
		return notifyAccess(tx, domain.PrincipalUser, id)
	})
	return out, err
}

// userServerFields are the user's fields the audit trail leaves out of
// diffs: the server sets them along with the ones that changed.
var userServerFields = []string{"disabled_at", "password_changed_at"}

// SetPassword replaces user id's password hash and refuses its tokens.
func (s *Users) SetPassword(ctx context.Context, id int64, passwordHash string) (domain.User, error) {
	var out domain.User
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		var rows []userRow
		err := tx.Raw(`UPDATE users SET password_hash = ?, password_changed_at = now(), generation = generation + 1, updated_at = now()
			WHERE id = ? RETURNING `+userColumns, passwordHash, id).Scan(&rows).Error
		if err != nil {
			return translate(err, "user")
		}
		if out, err = oneUser(rows, id); err != nil {
			return err
		}
		if err := audit(ctx, tx, domain.AuditUserPasswordReset, domain.AuditObjectUser, id, nil); err != nil {
			return err
		}
		return notifyAccess(tx, domain.PrincipalUser, id)
	})
	return out, err
}

// ExternalUser is a person as an OpenID Provider vouches for them, with the
// role their claims map to.
type ExternalUser struct {
	Issuer, Subject       string
	Username, DisplayName string
	Role                  domain.Role
}

// SignInExternal returns the user keyed by in's issuer and subject,
// created when missing, or given in's username, display name and role
// when they changed (a new role refuses its earlier sessions and tokens).
// A disabled user stays disabled: the caller refuses it.
func (s *Users) SignInExternal(ctx context.Context, in ExternalUser) (domain.User, error) {
	var out domain.User
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		var rows []userRow
		if err := tx.Raw(`SELECT `+userColumns+` FROM users WHERE oidc_issuer = ? AND oidc_subject = ? FOR UPDATE`,
			in.Issuer, in.Subject).Scan(&rows).Error; err != nil {
			return translate(err, "user")
		}
		if len(rows) == 0 {
			err := tx.Raw(`INSERT INTO users (username, password_hash, role, display_name, oidc_issuer, oidc_subject)
				VALUES (?, '!', ?, ?, ?, ?) RETURNING `+userColumns,
				in.Username, string(in.Role), in.DisplayName, in.Issuer, in.Subject).Scan(&rows).Error
			if err != nil {
				return translate(err, "user "+in.Username)
			}
			if out, err = oneUser(rows, in.Username); err != nil {
				return err
			}
			return audit(ctx, tx, domain.AuditUserCreated, domain.AuditObjectUser, out.ID, domain.Diff(nil, out, userServerFields...))
		}
		cur := rows[0].domain()
		if cur.Username == in.Username && cur.DisplayName == in.DisplayName && cur.Role == in.Role {
			out = cur
			return nil
		}
		bump := 0
		if cur.Role != in.Role {
			bump = 1
		}
		rows = nil
		err := tx.Raw(`UPDATE users SET username = ?, display_name = ?, role = ?, generation = generation + ?, updated_at = now()
			WHERE id = ? RETURNING `+userColumns, in.Username, in.DisplayName, string(in.Role), bump, cur.ID).Scan(&rows).Error
		if err != nil {
			return translate(err, "user "+in.Username)
		}
		if out, err = oneUser(rows, cur.ID); err != nil {
			return err
		}
		if err := audit(ctx, tx, domain.AuditUserUpdated, domain.AuditObjectUser, out.ID, domain.Diff(cur, out, userServerFields...)); err != nil {
			return err
		}
		return notifyAccess(tx, domain.PrincipalUser, out.ID)
	})
	return out, err
}

// EnabledAdminsFrom counts the enabled admins the OpenID Provider issuer
// signs in.
func (s *Users) EnabledAdminsFrom(ctx context.Context, issuer string) (int64, error) {
	var n int64
	err := s.db.q(ctx).Raw(`SELECT count(*) FROM users WHERE role = ? AND disabled_at IS NULL AND oidc_issuer = ?`,
		string(domain.RoleAdmin), issuer).Scan(&n).Error
	return n, translate(err, "users")
}
