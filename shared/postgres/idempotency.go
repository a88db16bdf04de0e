package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"mailing/shared/domain"
)

// IdempotencyKeys stores the Idempotency-Key claims of API requests and
// the answers they are replayed with.
type IdempotencyKeys struct{ db *DB }

// NewIdempotencyKeys returns the store on db.
func NewIdempotencyKeys(db *DB) *IdempotencyKeys { return &IdempotencyKeys{db: db} }

// IdempotencyState says whether a key's first request is still running.
type IdempotencyState string

const (
	IdempotencyInProgress IdempotencyState = "in_progress"
	IdempotencyCompleted  IdempotencyState = "completed"
)

// IdempotencyClaim is a request claiming its caller's key. Hash is empty
// when the request's body is streamed and its hash known only once read.
type IdempotencyClaim struct {
	Actor, Key   string
	Method, Path string
	Hash         string
	Now          time.Time
	// LockedUntil is when the claim may be taken over unless renewed
	// (Extend); ExpiresAt is when the key is forgotten.
	LockedUntil, ExpiresAt time.Time
}

// IdempotentResponse is a stored answer: its status, the headers worth
// replaying and its body.
type IdempotentResponse struct {
	Status int
	Header map[string]string
	Body   []byte
}

// IdempotencyKey is the stored state of a key: Token is the claim's, set
// only for the request that holds it; Response only once completed.
type IdempotencyKey struct {
	Actor, Key  string
	Token       string
	State       IdempotencyState
	Hash        string
	Response    *IdempotentResponse
	LockedUntil *time.Time
	ExpiresAt   time.Time
}

type idempotencyRow struct {
	State           string
	RequestHash     *string
	ResponseStatus  *int
	ResponseHeaders []byte
	ResponseBody    []byte
	LockedUntil     *time.Time
	ExpiresAt       time.Time
}

func (r idempotencyRow) domain(actor, key string) (IdempotencyKey, error) {
	k := IdempotencyKey{Actor: actor, Key: key, State: IdempotencyState(r.State), LockedUntil: utcPtr(r.LockedUntil), ExpiresAt: r.ExpiresAt.UTC()}
	if r.RequestHash != nil {
		k.Hash = *r.RequestHash
	}
	if k.State == IdempotencyCompleted && r.ResponseStatus != nil {
		resp := &IdempotentResponse{Status: *r.ResponseStatus, Body: r.ResponseBody}
		if resp.Body == nil {
			resp.Body = []byte{}
		}
		if err := json.Unmarshal(r.ResponseHeaders, &resp.Header); err != nil {
			return k, fmt.Errorf("idempotency key: decode the stored headers: %w", err)
		}
		k.Response = resp
	}
	return k, nil
}

// claimAttempts bounds Claim's loop: the row it lost to can vanish (its
// request failed and released it) before it is read.
const claimAttempts = 3

// Claim claims in.Key for in.Actor, race-safely: of concurrent claims of
// one key exactly one inserts the row. It returns the new claim (with its
// Token) and true, or the key as another request left it and false. A key
// past its expiry, or left in progress past its LockedUntil (its request's
// process died), is claimed anew in the same statement.
func (s *IdempotencyKeys) Claim(ctx context.Context, in IdempotencyClaim) (IdempotencyKey, bool, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return IdempotencyKey{}, false, fmt.Errorf("idempotency key: claim token: %w", err)
	}
	token := hex.EncodeToString(b)
	var hash *string
	if in.Hash != "" {
		hash = &in.Hash
	}
	for range claimAttempts {
		var won []string
		err := s.db.q(ctx).Raw(`INSERT INTO idempotency_keys AS k
			(actor, key, claim, state, method, path, request_hash, created_at, locked_until, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (actor, key) DO UPDATE SET
				claim = EXCLUDED.claim, state = EXCLUDED.state, method = EXCLUDED.method, path = EXCLUDED.path,
				request_hash = EXCLUDED.request_hash, response_status = NULL, response_headers = NULL, response_body = NULL,
				created_at = EXCLUDED.created_at, locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at
			WHERE k.expires_at <= EXCLUDED.created_at OR (k.state = ? AND k.locked_until <= EXCLUDED.created_at)
			RETURNING claim`,
			in.Actor, in.Key, token, string(IdempotencyInProgress), in.Method, in.Path, hash, in.Now, in.LockedUntil, in.ExpiresAt,
			string(IdempotencyInProgress)).Scan(&won).Error
		if err != nil {
			return IdempotencyKey{}, false, translate(err, "idempotency key")
		}
		if len(won) == 1 && won[0] == token {
			lu := in.LockedUntil.UTC()
			return IdempotencyKey{Actor: in.Actor, Key: in.Key, Token: token, State: IdempotencyInProgress, Hash: in.Hash,
				LockedUntil: &lu, ExpiresAt: in.ExpiresAt.UTC()}, true, nil
		}
		var rows []idempotencyRow
		err = s.db.q(ctx).Raw(`SELECT state, request_hash, response_status, response_headers, response_body, locked_until, expires_at
			FROM idempotency_keys WHERE actor = ? AND key = ?`, in.Actor, in.Key).Scan(&rows).Error
		if err != nil {
			return IdempotencyKey{}, false, translate(err, "idempotency key")
		}
		if len(rows) == 1 {
			k, err := rows[0].domain(in.Actor, in.Key)
			return k, false, err
		}
	}
	return IdempotencyKey{}, false, domain.Errorf(domain.CodeConflict, "Idempotency-Key is being claimed and released by other requests: try again")
}

// Extend keeps claim k from being taken over until lockedUntil; it says
// false when k's claim was lost.
func (s *IdempotencyKeys) Extend(ctx context.Context, k IdempotencyKey, lockedUntil time.Time) (bool, error) {
	res := s.db.q(ctx).Exec(`UPDATE idempotency_keys SET locked_until = ?
		WHERE actor = ? AND key = ? AND claim = ? AND state = ?`,
		lockedUntil, k.Actor, k.Key, k.Token, string(IdempotencyInProgress))
	return res.RowsAffected == 1, translate(res.Error, "idempotency key")
}

// Complete stores the answer of claim k's request, whose hash is hash;
// it says false when k's claim was lost meanwhile (taken over or swept).
func (s *IdempotencyKeys) Complete(ctx context.Context, k IdempotencyKey, hash string, resp IdempotentResponse) (bool, error) {
	header := resp.Header
	if header == nil {
		header = map[string]string{}
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return false, fmt.Errorf("idempotency key: encode the headers: %w", err)
	}
	body := resp.Body
	if body == nil {
		body = []byte{}
	}
	res := s.db.q(ctx).Exec(`UPDATE idempotency_keys
		SET state = ?, request_hash = ?, response_status = ?, response_headers = ?::jsonb, response_body = ?, locked_until = NULL
		WHERE actor = ? AND key = ? AND claim = ? AND state = ?`,
		string(IdempotencyCompleted), hash, resp.Status, string(hj), body,
		k.Actor, k.Key, k.Token, string(IdempotencyInProgress))
	return res.RowsAffected == 1, translate(res.Error, "idempotency key")
}

// Release deletes claim k while it is in progress, so that a retry runs
// the request again; a claim lost meanwhile is left alone.
func (s *IdempotencyKeys) Release(ctx context.Context, k IdempotencyKey) error {
	err := s.db.q(ctx).Exec(`DELETE FROM idempotency_keys WHERE actor = ? AND key = ? AND claim = ? AND state = ?`,
		k.Actor, k.Key, k.Token, string(IdempotencyInProgress)).Error
	return translate(err, "idempotency key")
}

// DeleteExpired deletes up to limit keys that expired by now and says how
// many it deleted; a sweeper calls it until it deletes fewer than limit.
// Rows another sweeper is deleting are skipped, not waited for.
func (s *IdempotencyKeys) DeleteExpired(ctx context.Context, now time.Time, limit int) (int64, error) {
	res := s.db.q(ctx).Exec(`DELETE FROM idempotency_keys WHERE (actor, key) IN (
		SELECT actor, key FROM idempotency_keys WHERE expires_at <= ? LIMIT ? FOR UPDATE SKIP LOCKED)`, now, limit)
	return res.RowsAffected, translate(res.Error, "idempotency keys")
}
