package postgres

import (
	"context"
	"time"

	"gorm.io/gorm"

	"mailing/shared/domain"
)

// Keys stores integrators' API keys: their hashed secrets, found by their
// public prefix. A revocation is announced on AccessChannel in its
// transaction.
type Keys struct{ db *DB }

// NewKeys returns the store on db.
func NewKeys(db *DB) *Keys { return &Keys{db: db} }

type keyRow struct {
	ID         int64
	Name       string
	Role       string
	Prefix     string
	CreatedBy  *int64
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
}

const keyColumns = `id, name, role, prefix, created_by, created_at, last_used_at, expires_at, revoked_at`

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (r keyRow) domain() domain.APIKey {
	return domain.APIKey{
		ID: r.ID, Name: r.Name, Role: domain.Role(r.Role), Prefix: r.Prefix, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt.UTC(), LastUsedAt: utcPtr(r.LastUsedAt), ExpiresAt: utcPtr(r.ExpiresAt), RevokedAt: utcPtr(r.RevokedAt),
	}
}

// Create stores a new (validated) key with the hash of its secret.
func (s *Keys) Create(ctx context.Context, k domain.APIKey, secretHash []byte) (domain.APIKey, error) {
	var out domain.APIKey
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		var rows []keyRow
		err := tx.Raw(`INSERT INTO api_keys (name, role, prefix, secret_hash, created_by, expires_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING `+keyColumns,
			k.Name, string(k.Role), k.Prefix, secretHash, k.CreatedBy, k.ExpiresAt).Scan(&rows).Error
		if err != nil {
			return translate(err, "API key")
		}
		if len(rows) == 0 {
			return domain.Errorf(domain.CodeInternal, "API key not stored")
		}
		out = rows[0].domain()
		return audit(ctx, tx, domain.AuditKeyCreated, domain.AuditObjectKey, out.ID,
			map[string]any{"name": out.Name, "role": out.Role, "prefix": out.Prefix, "expires_at": out.ExpiresAt})
	})
	return out, err
}

// List returns one keyset page of keys in id order, revoked ones included.
func (s *Keys) List(ctx context.Context, p domain.Page) ([]domain.APIKey, error) {
	var rows []keyRow
	err := s.db.q(ctx).Raw(`SELECT `+keyColumns+` FROM api_keys WHERE id > ? ORDER BY id LIMIT ?`, p.After, p.Rows()).Scan(&rows).Error
	if err != nil {
		return nil, translate(err, "API keys")
	}
	out := make([]domain.APIKey, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// Revoke marks key id revoked (a revoked key stays so) and announces it.
func (s *Keys) Revoke(ctx context.Context, id int64) (domain.APIKey, error) {
	var out domain.APIKey
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		var rows []keyRow
		err := tx.Raw(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = ? RETURNING `+keyColumns, id).Scan(&rows).Error
		if err != nil {
			return translate(err, "API key")
		}
		if len(rows) == 0 {
			return domain.NotFound("API key", id)
		}
		out = rows[0].domain()
		if err := audit(ctx, tx, domain.AuditKeyRevoked, domain.AuditObjectKey, id, nil); err != nil {
			return err
		}
		return notifyAccess(tx, domain.PrincipalKey, id)
	})
	return out, err
}

// Credential returns the key whose secret starts with prefix and the hash
// of that secret; not found when there is none.
func (s *Keys) Credential(ctx context.Context, prefix string) (domain.APIKey, []byte, error) {
	var rows []struct {
		Key        keyRow `gorm:"embedded"`
		SecretHash []byte
	}
	err := s.db.q(ctx).Raw(`SELECT `+keyColumns+`, secret_hash FROM api_keys WHERE prefix = ?`, prefix).Scan(&rows).Error
	if err != nil {
		return domain.APIKey{}, nil, translate(err, "API key")
	}
	if len(rows) == 0 {
		return domain.APIKey{}, nil, domain.NotFound("API key", prefix)
	}
	return rows[0].Key.domain(), rows[0].SecretHash, nil
}

// Touch records when keys were last used (by key id), in one
// transaction; a later time already stored is kept.
func (s *Keys) Touch(ctx context.Context, used map[int64]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	return s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		for id, at := range used {
			err := tx.Exec(`UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, at, id, at).Error
			if err != nil {
				return translate(err, "API key")
			}
		}
		return nil
	})
}
