package postgres

import (
	"context"
)

// Users stores the local accounts.
type Users struct{ db *DB }

// NewUsers returns the store on db.
func NewUsers(db *DB) *Users { return &Users{db: db} }

// UpsertUser creates the user or replaces its password hash.
func (s *Users) Upsert(ctx context.Context, username, passwordHash string) error {
	err := s.db.q(ctx).Exec(`INSERT INTO users (username, password_hash) VALUES (?, ?)
		ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash, updated_at = now()`,
		username, passwordHash).Error
	return translate(err, "user "+username)
}

// UserPasswordHash returns the hash for username, or "" when there is no
// such user.
func (s *Users) PasswordHash(ctx context.Context, username string) (string, error) {
	var hashes []string
	if err := s.db.q(ctx).Raw(`SELECT password_hash FROM users WHERE username = ?`, username).Scan(&hashes).Error; err != nil {
		return "", translate(err, "user")
	}
	if len(hashes) == 0 {
		return "", nil
	}
	return hashes[0], nil
}
