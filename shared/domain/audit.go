package domain

import (
	"context"
	"encoding/json"
	"time"
)

// Audit actions: what a change did, "<object type>.<verb>".
const (
	AuditCustomerCreated   = "customer.created"
	AuditCustomerUpdated   = "customer.updated"
	AuditCustomerDeleted   = "customer.deleted"
	AuditCustomerTagged    = "customer.tag_added"
	AuditCustomerUntagged  = "customer.tag_removed"
	AuditCustomersImported = "import.batch_written"
	AuditMailoutCreated    = "mailout.created"
	AuditMailoutUpdated    = "mailout.updated"
	AuditMailoutCancelled  = "mailout.cancelled"
	AuditMailoutDeleted    = "mailout.deleted"
	AuditMailoutPaused     = "mailout.paused"
	AuditMailoutResumed    = "mailout.resumed"
	AuditMailoutRetried    = "mailout.retried"
	AuditMailoutTestSent   = "mailout.test_sent"
	AuditUserCreated       = "user.created"
	AuditUserUpdated       = "user.updated"
	AuditUserPasswordReset = "user.password_reset"
	AuditKeyCreated        = "key.created"
	AuditKeyRevoked        = "key.revoked"
	AuditSignIn            = "auth.signed_in"
	AuditSignInFailed      = "auth.sign_in_failed"
	AuditSignOut           = "auth.signed_out"
	AuditSettingsUpdated   = "settings.updated"
)

// Audited object types.
const (
	AuditObjectCustomer  = "customer"
	AuditObjectMailout   = "mailout"
	AuditObjectImport    = "import"
	AuditObjectPhoneCode = "phone_code"
	AuditObjectTimezone  = "timezone"
	AuditObjectTag       = "tag"
	AuditObjectUser      = "user"
	AuditObjectKey       = "key"
	AuditObjectSettings  = "settings"
)

// AuditAction names the action verb on objects of objectType:
// AuditAction("phone_code", "renamed") is "phone_code.renamed".
func AuditAction(objectType, verb string) string { return objectType + "." + verb }

// maxAuditValue bounds one value of a diff, in bytes of JSON.
const maxAuditValue = 200

// AuditEvent is one recorded change: who did what to which object, when,
// through which request.
type AuditEvent struct {
	ID         int64           `json:"id" example:"120"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor" example:"user:3"` // "" for the system
	ActorName  string          `json:"actor_name" example:"Maria Petrova"`
	ActorRole  Role            `json:"actor_role" swaggertype:"string" example:"operator"`
	Via        AuthMethod      `json:"via" swaggertype:"string" example:"jwt"`
	Action     string          `json:"action" example:"mailout.cancelled"`
	ObjectType string          `json:"object_type" example:"mailout"`
	ObjectID   string          `json:"object_id" example:"7"`
	Diff       json.RawMessage `json:"diff" swaggertype:"object"`
	RequestID  string          `json:"request_id" example:"3f9c2a61b0e84d07"`
	ClientIP   string          `json:"client_ip" example:"203.0.113.9"`
}

// AuditFilter selects audit events; zero fields select everything.
// From is inclusive, To exclusive.
type AuditFilter struct {
	Actor      string
	ObjectType string
	ObjectID   string
	Action     string
	From, To   *time.Time
}

// RequestInfo is what a change records about the request that made it.
type RequestInfo struct {
	ID       string
	ClientIP string
}

type requestKey struct{}

// WithRequest returns ctx carrying r.
func WithRequest(ctx context.Context, r RequestInfo) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the request ctx carries (zero without one).
func RequestFrom(ctx context.Context) RequestInfo {
	r, _ := ctx.Value(requestKey{}).(RequestInfo)
	return r
}

// Change is a field's value before and after a change.
type Change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// Diff compares the JSON forms of before and after and returns the fields
// that differ, leaving out the ones the server keeps (ids, versions,
// timestamps, counts). Long values are cut, so an event stays compact.
func Diff(before, after any, ignore ...string) map[string]Change {
	b, a := jsonFields(before), jsonFields(after)
	skip := map[string]bool{"id": true, "version": true, "created_at": true, "updated_at": true, "audience": true, "sms": true}
	for _, k := range ignore {
		skip[k] = true
	}
	out := map[string]Change{}
	for k, av := range a {
		if skip[k] {
			continue
		}
		if bv, ok := b[k]; !ok || string(bv) != string(av) {
			out[k] = Change{From: compact(b[k]), To: compact(av)}
		}
	}
	for k, bv := range b {
		if _, ok := a[k]; !ok && !skip[k] {
			out[k] = Change{From: compact(bv)}
		}
	}
	return out
}

func jsonFields(v any) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	if v == nil {
		return out
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return out
	}
	_ = json.Unmarshal(raw, &out)
	return out
}

// compact is a diff value: the JSON value itself, or its beginning when it
// is long.
func compact(raw json.RawMessage) any {
	if raw == nil {
		return nil
	}
	if len(raw) > maxAuditValue {
		return string(raw[:maxAuditValue]) + "…"
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	return v
}
