package postgres

import (
	"context"
	"time"

	"gorm.io/gorm"

	"mailing/shared/domain"
)

// Settings stores the deployment-wide settings, one row.
type Settings struct{ db *DB }

// NewSettings returns the store on db.
func NewSettings(db *DB) *Settings { return &Settings{db: db} }

type settingsRow struct {
	LocalSignIn bool
	UpdatedAt   time.Time
}

func (r settingsRow) domain() domain.Settings {
	return domain.Settings{LocalSignIn: r.LocalSignIn, UpdatedAt: r.UpdatedAt.UTC()}
}

// Get reads the settings.
func (s *Settings) Get(ctx context.Context) (domain.Settings, error) {
	var rows []settingsRow
	if err := s.db.q(ctx).Raw(`SELECT local_sign_in, updated_at FROM settings`).Scan(&rows).Error; err != nil {
		return domain.Settings{}, translate(err, "settings")
	}
	if len(rows) == 0 {
		return domain.Settings{}, domain.Errorf(domain.CodeInternal, "the settings row is missing: run the migrations")
	}
	return rows[0].domain(), nil
}

// Update applies ch and audits what changed.
func (s *Settings) Update(ctx context.Context, ch domain.SettingsChange) (domain.Settings, error) {
	var out domain.Settings
	err := s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		var rows []settingsRow
		if err := tx.Raw(`SELECT local_sign_in, updated_at FROM settings FOR UPDATE`).Scan(&rows).Error; err != nil {
			return translate(err, "settings")
		}
		if len(rows) == 0 {
			return domain.Errorf(domain.CodeInternal, "the settings row is missing: run the migrations")
		}
		cur := rows[0].domain()
		next := cur
		if ch.LocalSignIn != nil {
			next.LocalSignIn = *ch.LocalSignIn
		}
		if next == cur {
			out = cur
			return nil
		}
		rows = nil
		if err := tx.Raw(`UPDATE settings SET local_sign_in = ?, updated_at = now() RETURNING local_sign_in, updated_at`,
			next.LocalSignIn).Scan(&rows).Error; err != nil {
			return translate(err, "settings")
		}
		out = rows[0].domain()
		return audit(ctx, tx, domain.AuditSettingsUpdated, domain.AuditObjectSettings, nil, domain.Diff(cur, out))
	})
	return out, err
}
