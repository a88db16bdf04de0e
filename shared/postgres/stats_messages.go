package postgres

import (
	"context"
	"fmt"
	"strings"

	"mailing/shared/domain"
)

// MailoutMessages lists mailout id's messages in id order, one keyset
// page, only those in status when it is set; not found when the mailout
// does not exist.
//
// With a status, messages(mailout_id, status, id) serves the page
// directly. Without one, no index orders a mailout's messages by id: a
// scan of the primary key filtered by mailout walks every other mailout's
// messages first, and a sort reads the whole mailout (a million rows for a
// big one). But a fan-out writes a mailout's messages as one block of ids,
// kept in mailout_message_ids, so the page is a range of the primary key.
// Should a mailout's ids be spread thin (messages written one by one
// among other mailouts'), the page is merged instead from one ordered
// scan of messages(mailout_id, status, id) per status.
func (s *Stats) MailoutMessages(ctx context.Context, id int64, status domain.MessageStatus, p domain.Page) ([]domain.Message, error) {
	var ranges []struct {
		MinID *int64
		MaxID *int64
		Total int64
	}
	err := s.db.q(ctx).Raw(`SELECT i.min_id, i.max_id,
			(SELECT COALESCE(sum(c.n), 0) FROM mailout_message_counts c WHERE c.mailout_id = mo.id)::bigint AS total
		FROM mailouts mo LEFT JOIN mailout_message_ids i ON i.mailout_id = mo.id WHERE mo.id = ?`, id).Scan(&ranges).Error
	if err != nil {
		return nil, translate(err, "mailout")
	}
	if len(ranges) == 0 {
		return nil, domain.NotFound("mailout", id)
	}
	r := ranges[0]
	switch {
	case status != "":
		return s.Messages(ctx, domain.MessageFilter{MailoutID: id, Status: status}, p)
	case r.MinID == nil || r.MaxID == nil:
		return []domain.Message{}, nil
	case *r.MaxID-*r.MinID < 4*max(r.Total, 1):
		return s.scanMessages(ctx, messageSelect+fmt.Sprintf(` WHERE m.id > ? AND m.id <= ? AND m.mailout_id = ?
			ORDER BY m.id LIMIT %d`, p.Rows()), max(p.After, *r.MinID-1), *r.MaxID, id)
	}
	return s.mergedMessages(ctx, id, p)
}

// mergedMessages merges one ordered, limited scan per status: at most six
// pages read whatever the mailout's size.
func (s *Stats) mergedMessages(ctx context.Context, id int64, p domain.Page) ([]domain.Message, error) {
	limit := p.Rows()
	statuses := []domain.MessageStatus{domain.MessagePending, domain.MessageSending, domain.MessageSent,
		domain.MessageFailed, domain.MessageExpired, domain.MessageCancelled}
	parts := make([]string, len(statuses))
	var args []any
	for i, s := range statuses {
		parts[i] = fmt.Sprintf(`(%s WHERE m.mailout_id = ? AND m.status = ? AND m.id > ? ORDER BY m.id LIMIT %d)`, messageSelect, limit)
		args = append(args, id, string(s), p.After)
	}
	return s.scanMessages(ctx, `SELECT * FROM (`+strings.Join(parts, " UNION ALL ")+fmt.Sprintf(`) m ORDER BY m.id LIMIT %d`, limit), args...)
}
