package postgres

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"mailing/shared/domain"
)

// Sending is the pipeline's store: starts and fan-out, claims and outcomes,
// and the reconciler's repairs. Its statements are set-based, one per
// batch.
type Sending struct{ db *DB }

// NewSending returns the store on db.
func NewSending(db *DB) *Sending { return &Sending{db: db} }

// claimSQL claims messages by id, and reaches messages only through the
// primary key whatever the statistics say. Written as one UPDATE ... FROM
// mailouts, the planner may instead read every pending message of the
// mailout through messages_mailout_status_idx and filter the ids out of
// them, because the statistics of a mailout that has just been fanned out
// (or of any new mailout id) say it has almost no pending messages: a scan
// of the whole remaining audience per batch. So each id is looked up on its
// own in a LATERAL subquery, whose LIMIT keeps the planner from merging it
// into a join, and the UPDATE matches the result as an array of ids, which
// only the primary key serves. FOR UPDATE OF m waits for a concurrent claim
// of the same row and re-checks the status afterwards, so the UPDATE, which
// only touches rows locked that way, claims each message once. Ids are
// locked in ascending order (the caller sorts them), so overlapping batches
// of two workers cannot deadlock.
//
// The ids that were not claimed and are due messages of a paused mailout
// are parked in the same statement: their jobs are being dropped, and the
// mailout's resume publishes one job per parked message. Only unclaimed
// ids are looked up again, so a batch of a running mailout pays nothing;
// a row another claim holds is skipped (that claim parks or claims it).
const claimSQL = `WITH due AS MATERIALIZED (
		SELECT d.id FROM unnest($1::bigint[]) AS u(id)
		CROSS JOIN LATERAL (
			SELECT m.id FROM messages m
			WHERE m.id = u.id AND m.status = $3
			  AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= $2::timestamptz + interval '1 second')
			  AND EXISTS (SELECT 1 FROM mailouts mo WHERE mo.id = m.mailout_id AND mo.status = $4 AND mo.end_at > $2)
			  AND EXISTS (SELECT 1 FROM customers c WHERE c.id = m.customer_id)
			LIMIT 1 FOR UPDATE OF m) d
	), claimed AS (
		UPDATE messages m SET status = $5, updated_at = $2::timestamptz
		WHERE m.id = ANY (ARRAY(SELECT id FROM due))
		RETURNING m.id, m.mailout_id, m.customer_id, m.attempts, m.attempts_base
	), parked AS (
		UPDATE messages m SET parked = true
		WHERE m.id = ANY (ARRAY(
			SELECT p.id FROM (SELECT u.id FROM unnest($1::bigint[]) AS u(id) EXCEPT SELECT id FROM due) x
			CROSS JOIN LATERAL (
				SELECT m.id FROM messages m
				WHERE m.id = x.id AND m.status = $3 AND NOT m.parked
				  AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= $2::timestamptz + interval '1 second')
				  AND EXISTS (SELECT 1 FROM mailouts mo WHERE mo.id = m.mailout_id AND mo.status = $6)
				LIMIT 1 FOR UPDATE OF m SKIP LOCKED) p))
	)
	SELECT cl.id, cl.mailout_id, cl.customer_id, cl.attempts, cl.attempts_base, c.phone, c.timezone,
	       mo.text, c.attributes, mo.end_at, mo.window_start, mo.window_end
	FROM claimed cl JOIN mailouts mo ON mo.id = cl.mailout_id JOIN customers c ON c.id = cl.customer_id`

// claimArgs are claimSQL's arguments: the ids, the time, and the statuses
// the claim reads and writes.
func claimArgs(ids []int64, now time.Time) []any {
	return []any{ids, now, domain.MessagePending, domain.MailoutRunning, domain.MessageSending, domain.MailoutPaused}
}

// Claim marks the given messages as sending and returns them as
// jobs, in one statement. Only a pending message of a running mailout whose
// end time is after now, whose customer exists and whose retry time has
// come is claimed; a message claimed by another worker, already final, or
// early is left alone, so a redelivered or duplicated job never sends twice.
func (s *Sending) Claim(ctx context.Context, ids []int64, now time.Time) ([]domain.ClaimedMessage, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var jobs []domain.ClaimedMessage
	sorted := slices.Sorted(slices.Values(ids))
	err := retryConflicts(ctx, func() error {
		return s.db.withPgx(ctx, func(pc *pgx.Conn) error {
			rows, err := pc.Query(ctx, claimSQL, claimArgs(sorted, now)...)
			if err != nil {
				return err
			}
			jobs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.ClaimedMessage, error) {
				var j domain.ClaimedMessage
				var ws, we *int16
				err := r.Scan(&j.MessageID, &j.MailoutID, &j.CustomerID, &j.Attempts, &j.AttemptsBase, &j.Phone, &j.Timezone,
					&j.Text, &j.Attributes, &j.EndAt, &ws, &we)
				j.EndAt = j.EndAt.UTC()
				if ws != nil && we != nil {
					j.Window = &domain.SendWindow{Start: domain.Clock(*ws), End: domain.Clock(*we)}
				}
				return j, err
			})
			return err
		})
	})
	if err != nil {
		return nil, translate(err, "message claims")
	}
	return jobs, nil
}

// RecordOutcomes writes a batch of outcomes in one statement. Only messages
// still in status sending change: an outcome for a claim the reconciler
// has already taken back is dropped. It returns how many rows changed.
func (s *Sending) Record(ctx context.Context, outs []domain.Outcome) (int64, error) {
	if len(outs) == 0 {
		return 0, nil
	}
	// Rows are locked in id order, as claims lock them, so that a claim
	// and an outcome batch touching the same rows do not deadlock.
	outs = slices.SortedFunc(slices.Values(outs), func(a, b domain.Outcome) int { return cmp.Compare(a.MessageID, b.MessageID) })
	n := len(outs)
	ids, statuses, incs, errs := make([]int64, n), make([]string, n), make([]int32, n), make([]string, n)
	nexts, ats, reasons := make([]pgtype.Timestamptz, n), make([]time.Time, n), make([]string, n)
	for i, o := range outs {
		ids[i], statuses[i], errs[i], ats[i] = o.MessageID, string(o.Status), truncate(o.Error, 500), o.At
		reasons[i] = truncate(string(o.Reason), 32)
		if o.CountAttempt {
			incs[i] = 1
		}
		if o.Status == domain.MessagePending {
			nexts[i] = pgtype.Timestamptz{Time: o.NextAttemptAt, Valid: true}
		}
	}
	var changed int64
	err := retryConflicts(ctx, func() error {
		return s.db.withPgx(ctx, func(pc *pgx.Conn) error {
			if warned := missingCounts(outs); warned != nil {
				// The warnings are counted by the same statement, only
				// for the rows it really changed.
				return pc.QueryRow(ctx, `WITH upd AS (`+recordSQL+` RETURNING m.id, m.mailout_id), w AS (
					INSERT INTO mailout_warnings AS t (mailout_id, kind, slot, n)
					SELECT upd.mailout_id, $11, pg_backend_pid() % 8, count(*)
					FROM upd JOIN unnest($1::bigint[], $10::int[]) AS x(id, missing) ON x.id = upd.id
					WHERE x.missing > 0 GROUP BY upd.mailout_id ORDER BY upd.mailout_id
					ON CONFLICT (mailout_id, kind, slot) DO UPDATE SET n = t.n + EXCLUDED.n)
				SELECT count(*) FROM upd`, ids, statuses, incs, errs, nexts, ats, reasons, domain.MessageSent, domain.MessageSending,
					warned, warningMissingAttribute).Scan(&changed)
			}
			tag, err := pc.Exec(ctx, recordSQL, ids, statuses, incs, errs, nexts, ats, reasons, domain.MessageSent, domain.MessageSending)
			changed = tag.RowsAffected()
			return err
		})
	})
	if err != nil {
		return 0, translate(err, "message outcomes")
	}
	return changed, nil
}

// recordSQL writes a batch of outcomes to the messages still sending. A
// message held back because its mailout was paused is parked, for the
// resume to publish (domain.ReasonPaused).
const recordSQL = `UPDATE messages m SET status = u.status, attempts = m.attempts + u.inc,
				last_error = u.err, reason = u.reason, next_attempt_at = u.next,
				sent_at = CASE WHEN u.status = $8 THEN u.at ELSE m.sent_at END,
				updated_at = u.at, parked = (u.reason = 'paused')
			FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[])
			     AS u(id, status, inc, err, next, at, reason)
			WHERE m.id = u.id AND m.status = $9`

// warningMissingAttribute is the kind of warning of a message sent with a
// placeholder that rendered empty.
const warningMissingAttribute = "missing_attribute"

// missingCounts is, per outcome, 1 when a sent message had a missing
// attribute; nil when none had.
func missingCounts(outs []domain.Outcome) []int32 {
	var out []int32
	for i, o := range outs {
		if o.Status == domain.MessageSent && o.MissingAttributes > 0 {
			if out == nil {
				out = make([]int32, len(outs))
			}
			out[i] = 1
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a character boundary: PostgreSQL rejects invalid UTF-8.
	return strings.ToValidUTF8(s[:n], "")
}
