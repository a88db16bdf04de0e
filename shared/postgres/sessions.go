package postgres

import (
	"context"
	"time"

	"gorm.io/gorm"

	"mailing/shared/domain"
)

// Sessions stores browsers' server-side sessions, found by the hash of
// their cookie's token.
type Sessions struct{ db *DB }

// NewSessions returns the store on db.
func NewSessions(db *DB) *Sessions { return &Sessions{db: db} }

type sessionRow struct {
	ID            string
	UserID        int64
	CSRFHash      string `gorm:"column:csrf_hash"`
	Generation    int64
	CreatedAt     time.Time
	LastSeenAt    time.Time
	IdleExpiresAt time.Time
	ExpiresAt     time.Time
	RevokedAt     *time.Time
}

const sessionColumns = `id, user_id, csrf_hash, generation, created_at, last_seen_at, idle_expires_at, expires_at, revoked_at`

func (r sessionRow) domain() domain.Session {
	return domain.Session{
		ID: r.ID, UserID: r.UserID, CSRFHash: r.CSRFHash, Generation: r.Generation,
		CreatedAt: r.CreatedAt.UTC(), LastSeenAt: r.LastSeenAt.UTC(), IdleExpiresAt: r.IdleExpiresAt.UTC(),
		ExpiresAt: r.ExpiresAt.UTC(), RevokedAt: utcPtr(r.RevokedAt),
	}
}

// Create stores a new session. Its audit event is the sign-in's, which
// the caller records.
func (s *Sessions) Create(ctx context.Context, in domain.Session) (domain.Session, error) {
	var rows []sessionRow
	err := s.db.q(ctx).Raw(`INSERT INTO sessions (id, user_id, csrf_hash, generation, created_at, last_seen_at, idle_expires_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+sessionColumns,
		in.ID, in.UserID, in.CSRFHash, in.Generation, in.CreatedAt, in.LastSeenAt, in.IdleExpiresAt, in.ExpiresAt).Scan(&rows).Error
	if err != nil {
		return domain.Session{}, translate(err, "session")
	}
	if len(rows) == 0 {
		return domain.Session{}, domain.Errorf(domain.CodeInternal, "session not stored")
	}
	return rows[0].domain(), nil
}

// Get returns the session whose id is id, or a not-found error.
func (s *Sessions) Get(ctx context.Context, id string) (domain.Session, error) {
	var rows []sessionRow
	if err := s.db.q(ctx).Raw(`SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id).Scan(&rows).Error; err != nil {
		return domain.Session{}, translate(err, "session")
	}
	if len(rows) == 0 {
		return domain.Session{}, domain.Errorf(domain.CodeNotFound, "no such session")
	}
	return rows[0].domain(), nil
}

// Touch records that session id was used at at and keeps it alive until
// idleUntil (never past its absolute expiry).
func (s *Sessions) Touch(ctx context.Context, id string, at, idleUntil time.Time) error {
	err := s.db.q(ctx).Exec(`UPDATE sessions SET last_seen_at = ?, idle_expires_at = LEAST(?, expires_at)
		WHERE id = ? AND revoked_at IS NULL`, at, idleUntil, id).Error
	return translate(err, "session")
}

// Revoke ends session id at at; revoking a revoked or unknown session
// does nothing. The user's sign-out is audited with it.
func (s *Sessions) Revoke(ctx context.Context, id string, at time.Time) error {
	return s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		var users []int64
		err := tx.Raw(`UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING user_id`, at, id).Scan(&users).Error
		if err != nil {
			return translate(err, "session")
		}
		if len(users) == 0 {
			return nil
		}
		return audit(ctx, tx, domain.AuditSignOut, domain.AuditObjectUser, users[0], nil)
	})
}

// DeleteEnded deletes up to limit sessions that ended (expired, idled
// out or were revoked) before cutoff, and says how many it deleted; a
// sweeper calls it until it deletes fewer than limit.
func (s *Sessions) DeleteEnded(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	// idle_expires_at never passes expires_at, so it alone says when an
	// unrevoked session ended.
	res := s.db.q(ctx).Exec(`DELETE FROM sessions WHERE id IN (
		SELECT id FROM sessions WHERE idle_expires_at < ? OR revoked_at < ? LIMIT ?)`,
		cutoff, cutoff, limit)
	return res.RowsAffected, translate(res.Error, "sessions")
}
