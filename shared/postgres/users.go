package postgres

import (
	"context"
)

// UpsertUser creates the user or replaces its password hash.
func (db *DB) UpsertUser(ctx context.Context, username, passwordHash string) error {
	err := db.q(ctx).Exec(`INSERT INTO users (username, password_hash) VALUES (?, ?)
		ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash, updated_at = now()`,
		username, passwordHash).Error
	return translate(err, "user "+username)
}

// UserPasswordHash returns the hash for username, or "" when there is no
// such user.
func (db *DB) UserPasswordHash(ctx context.Context, username string) (string, error) {
	var hashes []string
	if err := db.q(ctx).Raw(`SELECT password_hash FROM users WHERE username = ?`, username).Scan(&hashes).Error; err != nil {
		return "", translate(err, "user")
	}
	if len(hashes) == 0 {
		return "", nil
	}
	return hashes[0], nil
}
