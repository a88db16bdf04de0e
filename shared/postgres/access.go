package postgres

import (
	"gorm.io/gorm"

	"mailing/shared/domain"
)

// AccessChannel is the notification channel on which the stores announce
// changes to users and API keys, in the transactions that make them, with
// the changed principal's id as payload ("user:3", "key:7"): every API
// process listens (Listener) and drops what it cached about that principal.
const AccessChannel = "mailing_access"

// notifyAccess announces, inside tx, a change to principal kind/id.
// PostgreSQL delivers the notification when tx commits, and only then.
func notifyAccess(tx *gorm.DB, kind domain.PrincipalKind, id int64) error {
	return translate(tx.Exec(`SELECT pg_notify(?, ?)`, AccessChannel, domain.ActorID(kind, id)).Error, "change notification")
}
