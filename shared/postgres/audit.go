package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"mailing/shared/domain"
)

// Audit reads the audit trail. The other stores write it: every change
// records its event with audit, in the change's own transaction.
type Audit struct{ db *DB }

// NewAudit returns the store on db.
func NewAudit(db *DB) *Audit { return &Audit{db: db} }

// auditInsert writes one event; auditValues gives its arguments.
const auditInsert = `INSERT INTO audit_events
	(actor, actor_name, actor_role, via, action, object_type, object_id, diff, request_id, client_ip)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?)`

// auditValues are the columns of an event of action on an object, by the
// principal and the request ctx carries; diff is encoded as JSON (nil: {}).
func auditValues(ctx context.Context, action, objectType string, objectID any, diff any) ([]any, error) {
	p, _ := domain.PrincipalFrom(ctx)
	req := domain.RequestFrom(ctx)
	body := []byte("{}")
	if diff != nil {
		var err error
		if body, err = json.Marshal(diff); err != nil {
			return nil, fmt.Errorf("encode the %s audit diff: %w", action, err)
		}
	}
	actor := ""
	if p.ID != 0 {
		actor = p.Actor()
	}
	id := ""
	if objectID != nil {
		id = fmt.Sprint(objectID)
	}
	return []any{actor, p.Name, string(p.Role), string(p.Via), action, objectType, id, string(body), req.ID, req.ClientIP}, nil
}

// audit records, inside tx, that action happened to an object.
func audit(ctx context.Context, tx *gorm.DB, action, objectType string, objectID any, diff any) error {
	vals, err := auditValues(ctx, action, objectType, objectID, diff)
	if err != nil {
		return err
	}
	return translate(tx.Exec(auditInsert, vals...).Error, "audit event")
}

// Record writes an event that no other change carries, such as a
// sign-in, in a transaction of its own.
func (s *Audit) Record(ctx context.Context, action, objectType string, objectID any, diff any) error {
	return s.db.tx(ctx, nil, func(tx *gorm.DB) error {
		return audit(ctx, tx, action, objectType, objectID, diff)
	})
}

type auditRow struct {
	ID         int64
	At         time.Time
	Actor      string
	ActorName  string
	ActorRole  string
	Via        string
	Action     string
	ObjectType string
	ObjectID   string
	Diff       []byte
	RequestID  string
	ClientIP   string
}

// List returns one keyset page of the events matching f, in id order.
func (s *Audit) List(ctx context.Context, f domain.AuditFilter, p domain.Page) ([]domain.AuditEvent, error) {
	conds, args := []string{"id > ?"}, []any{p.After}
	add := func(cond string, v any) {
		conds = append(conds, cond)
		args = append(args, v)
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.ObjectType != "" {
		add("object_type = ?", f.ObjectType)
	}
	if f.ObjectID != "" {
		add("object_id = ?", f.ObjectID)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.From != nil {
		add("at >= ?", *f.From)
	}
	if f.To != nil {
		add("at < ?", *f.To)
	}
	var rows []auditRow
	q := `SELECT id, at, actor, actor_name, actor_role, via, action, object_type, object_id, diff::text AS diff,
		request_id, client_ip FROM audit_events WHERE ` + strings.Join(conds, " AND ") + fmt.Sprintf(` ORDER BY id LIMIT %d`, p.Rows())
	if err := s.db.q(ctx).Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, translate(err, "audit events")
	}
	out := make([]domain.AuditEvent, len(rows))
	for i, r := range rows {
		out[i] = domain.AuditEvent{
			ID: r.ID, At: r.At.UTC(), Actor: r.Actor, ActorName: r.ActorName, ActorRole: domain.Role(r.ActorRole),
			Via: domain.AuthMethod(r.Via), Action: r.Action, ObjectType: r.ObjectType, ObjectID: r.ObjectID,
			Diff: json.RawMessage(r.Diff), RequestID: r.RequestID, ClientIP: r.ClientIP,
		}
	}
	return out, nil
}
