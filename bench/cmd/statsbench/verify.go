package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"

	"mailing/shared/domain"
	"mailing/shared/postgres/statstruth"
)

// messageStats is the part of GET /api/messages/stats the checks read.
type messageStats struct {
	Mailouts domain.MailoutStatusCounts `json:"mailouts"`
	Messages domain.StatusCounts        `json:"messages"`
}

// check compares what the API answers with what the messages say.
type check struct {
	Name  string           `json:"name"`
	API   map[string]int64 `json:"api"`
	Truth map[string]int64 `json:"truth"`
	Equal bool             `json:"equal"`
}

// verify asks both endpoints once more, now that sending has stopped, and
// compares their numbers with GROUP BYs over the messages.
func verify(ctx context.Context, b *bench, s *server) ([]check, error) {
	var one domain.MailoutStats
	if err := s.getJSON(ctx, "/api/mailouts/"+strconv.FormatInt(b.runningID, 10)+"/stats", &one); err != nil {
		return nil, err
	}
	var all messageStats
	if err := s.getJSON(ctx, "/api/messages/stats?limit=1", &all); err != nil {
		return nil, err
	}
	var checks []check
	add := func(name string, api map[string]int64, query string, args ...any) error {
		truth, err := b.pairs(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		checks = append(checks, check{Name: name, API: api, Truth: truth, Equal: maps.Equal(statstruth.NonZero(api), statstruth.NonZero(truth))})
		return nil
	}
	var delivered int64
	for _, d := range one.Deliveries {
		delivered += d.Delivered
	}
	steps := []struct {
		name  string
		api   map[string]int64
		query string
		args  []any
	}{
		{"running mailout: messages by status", statstruth.Counts(one.Messages),
			`SELECT status, count(*) FROM messages WHERE mailout_id = $1 GROUP BY status`, []any{b.runningID}},
		{"running mailout: failures by reason", statstruth.Counts(one.Failures),
			`SELECT CASE WHEN status = 'failed' THEN reason ELSE 'expired' END, count(*) FROM messages
			 WHERE mailout_id = $1 AND status IN ('failed', 'expired') GROUP BY 1`, []any{b.runningID}},
		{"running mailout: deliveries", map[string]int64{"delivered": delivered},
			`SELECT 'delivered', count(*) FROM messages WHERE mailout_id = $1 AND status = 'sent'`, []any{b.runningID}},
		{"all mailouts: messages by status", statstruth.Counts(all.Messages), `SELECT status, count(*) FROM messages GROUP BY status`, nil},
		{"all mailouts: mailouts by status", statstruth.Counts(all.Mailouts), `SELECT status, count(*) FROM mailouts GROUP BY status`, nil},
	}
	for _, st := range steps {
		if err := add(st.name, st.api, st.query, st.args...); err != nil {
			return nil, err
		}
	}
	return checks, nil
}

func (s *server) getJSON(ctx context.Context, path string, out any) error {
	st, body, err := s.get(ctx, path)
	if err != nil {
		return err
	}
	if st != http.StatusOK {
		return fmt.Errorf("%s: status %d: %.200s", path, st, body)
	}
	return json.Unmarshal(body, out)
}

// pairs runs a (key, count) query.
func (b *bench) pairs(ctx context.Context, query string, args ...any) (map[string]int64, error) {
	rows, err := b.db.SQL().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}
