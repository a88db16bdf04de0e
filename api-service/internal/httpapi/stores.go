package httpapi

import (
	"context"
	"time"

	"mailing/api-service/internal/accounts"
	"mailing/api-service/internal/auth"
	"mailing/shared/customers"
	"mailing/shared/domain"
	"mailing/shared/mailouts"
	"mailing/shared/postgres"
)

// CustomerStore is the customer directory: what the customer service
// needs, and the import engine's batch writers.
type CustomerStore interface {
	customers.Store
	StartImport(ctx context.Context, onConflict domain.ImportConflict) (*postgres.Importer, error)
	Analyze(ctx context.Context) error
}

// RefStore is what the handlers need of the reference data.
type RefStore interface {
	PhoneCodes(ctx context.Context, prefix string, p domain.Page) ([]domain.PhoneCode, error)
	PhoneCode(ctx context.Context, id int64) (domain.PhoneCode, error)
	CreatePhoneCode(ctx context.Context, code string) (domain.PhoneCode, error)
	UpdatePhoneCode(ctx context.Context, id int64, code string) (domain.PhoneCode, error)
	DeletePhoneCode(ctx context.Context, id int64) error
	Timezones(ctx context.Context, prefix string, p domain.Page) ([]domain.Timezone, error)
	Timezone(ctx context.Context, id int64) (domain.Timezone, error)
	CreateTimezone(ctx context.Context, name string) (domain.Timezone, error)
	UpdateTimezone(ctx context.Context, id int64, name string) (domain.Timezone, error)
	DeleteTimezone(ctx context.Context, id int64) error
	Tags(ctx context.Context, prefix string, p domain.Page) ([]domain.Tag, error)
	Tag(ctx context.Context, id int64) (domain.Tag, error)
	UpdateTag(ctx context.Context, id int64, name string) (domain.Tag, error)
	DeleteTag(ctx context.Context, id int64) error
}

// StatsStore is what the handlers need of messages and statistics.
type StatsStore interface {
	Message(ctx context.Context, id int64) (domain.Message, error)
	Messages(ctx context.Context, f domain.MessageFilter, p domain.Page) ([]domain.Message, error)
	MailoutMessages(ctx context.Context, id int64, status domain.MessageStatus, p domain.Page) ([]domain.Message, error)
	MessageStats(ctx context.Context, f domain.StatsFilter, p domain.Page) (domain.OverallStats, []domain.MailoutSummary, error)
	MailoutStats(ctx context.Context, id int64, now time.Time) (domain.MailoutStats, error)
}

// UserStore is what sign-in, authentication and user management need of
// the local users.
type UserStore interface {
	accounts.UserStore
	accounts.AdminCounter
}

// KeyStore is what authentication and key management need of the API
// keys.
type KeyStore interface {
	accounts.KeyStore
	auth.KeySource
}

// AuditStore reads the audit trail and records sign-ins in it.
type AuditStore interface {
	List(ctx context.Context, f domain.AuditFilter, p domain.Page) ([]domain.AuditEvent, error)
	Record(ctx context.Context, action, objectType string, objectID any, diff any) error
}

// Pinger checks that the database answers, for /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Stores are the server's data sources.
type Stores struct {
	Customers CustomerStore
	Refs      RefStore
	Mailouts  mailouts.Store
	Stats     StatsStore
	Users     UserStore
	Keys      KeyStore
	Sessions  auth.SessionStore
	External  ExternalUserStore
	Audit     AuditStore
	Settings  accounts.SettingsStore
	Tests     mailouts.TestStore
	Health    Pinger
	// Idempotency keeps the Idempotency-Key claims and their answers.
	Idempotency IdempotencyStore
}

// PostgresStores are the stores on one PostgreSQL database.
func PostgresStores(db *postgres.DB) Stores {
	return Stores{
		Customers: postgres.NewCustomers(db), Refs: postgres.NewRefs(db), Mailouts: postgres.NewMailouts(db),
		Stats: postgres.NewStats(db), Users: postgres.NewUsers(db), Keys: postgres.NewKeys(db), Sessions: postgres.NewSessions(db), External: postgres.NewUsers(db), Audit: postgres.NewAudit(db),
		Settings: postgres.NewSettings(db), Tests: postgres.NewTestMessages(db), Health: db, Idempotency: postgres.NewIdempotencyKeys(db),
	}
}
