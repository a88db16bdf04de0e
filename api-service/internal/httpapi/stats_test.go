package httpapi_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/statstruth"
)

// runningMailout creates n customers and a mailout over all of them
// through the API, and starts it as the planner would: n pending
// messages.
func (b *bundle) runningMailout(n int) (int64, []int64) {
	b.t.Helper()
	ctx := context.Background()
	b.exec(`INSERT INTO phone_codes (code) VALUES ('926') ON CONFLICT DO NOTHING`)
	b.exec(`INSERT INTO timezones (name) VALUES ('Europe/Moscow') ON CONFLICT DO NOTHING`)
	b.exec(`INSERT INTO customers (phone, phone_code, timezone)
		SELECT '7926' || lpad(g::text, 7, '0'), '926', 'Europe/Moscow' FROM generate_series(1, $1::int) g
		ON CONFLICT DO NOTHING`, n)
	m := b.newMailout(nil)
	mid := id(b.t, m)
	b.exec(`UPDATE mailouts SET start_at = now() - interval '1 minute' WHERE id = $1`, mid)
	res, err := postgres.NewSending(b.db).Start(ctx, mid, int64(m["version"].(float64)), time.Now())
	if err != nil || res.Outcome != domain.StartStarted || res.Created != int64(n) {
		b.t.Fatalf("start: %+v %v", res, err)
	}
	ids, err := postgres.NewSending(b.db).PendingMessageIDs(ctx, mid, 0, n)
	if err != nil || len(ids) != n {
		b.t.Fatalf("pending: %d %v", len(ids), err)
	}
	return mid, ids
}

// work is one worker's turn: claim a random batch, then record a random
// mix of outcomes, through the store functions the sender uses.
func (b *bundle) work(rnd *rand.Rand, ids []int64) {
	ctx := context.Background()
	pick := make([]int64, 25)
	for i := range pick {
		pick[i] = ids[rnd.IntN(len(ids))]
	}
	now := time.Now().UTC()
	jobs, err := postgres.NewSending(b.db).Claim(ctx, pick, now)
	if err != nil {
		b.t.Error(err)
		return
	}
	reasons := []domain.Reason{"timeout", "http_5xx", "http_503", "bad_response", "code_nonzero", "rejected_4xx", "auth", "connection", "http_429", "window_wait"}
	var outs []domain.Outcome
	for _, j := range jobs {
		o := domain.Outcome{MessageID: j.MessageID, CountAttempt: true, At: now}
		switch r := rnd.IntN(20); {
		case r < 12:
			o.Status = domain.MessageSent
		case r < 15:
			o.Status, o.NextAttemptAt = domain.MessagePending, now.Add(time.Second)
		case r < 18:
			o.Status = domain.MessageFailed
		case r < 19:
			o.Status = domain.MessageExpired
		default:
			continue // left claimed
		}
		if o.Status != domain.MessageSent {
			o.Reason = reasons[rnd.IntN(len(reasons))]
			if o.Status == domain.MessageExpired && rnd.IntN(2) == 0 {
				o.Reason = domain.ReasonOutsideWindow
			}
			o.Error = string(o.Reason) + " (details)"
		}
		outs = append(outs, o)
	}
	if _, err := postgres.NewSending(b.db).Record(ctx, outs); err != nil {
		b.t.Error(err)
	}
}

// truthOf is the answer GET /api/mailouts/{id}/stats must give at time
// at, computed with plain GROUP BYs over the mailout's messages.
func (b *bundle) truthOf(mid int64, at time.Time) map[string]any {
	b.t.Helper()
	counts := b.countsBy
	byStatus := counts(`SELECT status, count(*) FROM messages WHERE mailout_id = $1 GROUP BY 1`, mid)
	failures := counts(`SELECT `+statstruth.ReasonGroupSQL+`, count(*) FROM messages WHERE mailout_id = $1 AND status IN ('failed', 'expired') GROUP BY 1`, mid)
	attempts := counts(`SELECT attempts::text, count(*) FROM messages WHERE mailout_id = $1
		AND status IN ('sent', 'failed', 'expired', 'cancelled') GROUP BY 1`, mid)
	delete(attempts, "total")
	series := counts(`SELECT to_char(date_trunc('minute', sent_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), count(*)
		FROM messages WHERE mailout_id = $1 AND status = 'sent' GROUP BY 1`, mid)
	delete(series, "total")
	sec := at.Truncate(time.Second)
	lastMinute := counts(`SELECT 'n', count(*) FROM messages WHERE mailout_id = $1 AND status = 'sent'
		AND sent_at >= $2 AND sent_at < $3`, mid, sec.Add(-59*time.Second), sec.Add(time.Second))
	return map[string]any{"messages": byStatus, "failures": failures, "attempts": attempts, "deliveries": series,
		"current": lastMinute["total"].(float64) / 60}
}

// checkMailoutStats compares one answer of GET /api/mailouts/{id}/stats
// with the ground truth at the answer's own time.
func (b *bundle) checkMailoutStats(mid int64) map[string]any {
	b.t.Helper()
	got := b.must(http.StatusOK, "GET", "/api/mailouts/"+itoa(mid)+"/stats", nil)
	at, err := time.Parse(time.RFC3339Nano, got["at"].(string))
	if err != nil {
		b.t.Fatal(err)
	}
	want := b.truthOf(mid, at)
	if g := nonZeroJSON(got["messages"]); !reflect.DeepEqual(g, nonZeroJSON(want["messages"])) {
		b.t.Fatalf("messages %v, want %v", g, want["messages"])
	}
	if g := nonZeroJSON(got["failures"]); !reflect.DeepEqual(g, nonZeroJSON(want["failures"])) {
		b.t.Fatalf("failures %v, want %v", g, want["failures"])
	}
	attempts := map[string]any{}
	for _, a := range got["attempts"].([]any) {
		a := a.(map[string]any)
		attempts[itoa(int64(a["attempts"].(float64)))] = a["messages"]
	}
	if !reflect.DeepEqual(attempts, want["attempts"]) {
		b.t.Fatalf("attempts %v, want %v", attempts, want["attempts"])
	}
	series := map[string]any{}
	for _, d := range got["deliveries"].([]any) {
		d := d.(map[string]any)
		series[d["minute"].(string)] = d["delivered"]
	}
	if !reflect.DeepEqual(series, want["deliveries"]) {
		b.t.Fatalf("deliveries %v, want %v", series, want["deliveries"])
	}
	if rate := got["rate"].(map[string]any); rate["current"] != want["current"] {
		b.t.Fatalf("current rate %v, want %v", rate["current"], want["current"])
	}
	msgs := got["messages"].(map[string]any)
	final := msgs["sent"].(float64) + msgs["failed"].(float64) + msgs["expired"].(float64) + msgs["cancelled"].(float64)
	if p := got["progress"].(map[string]any); p["final"] != final || p["total"] != msgs["total"] {
		b.t.Fatalf("progress %v, want %v of %v", p, final, msgs["total"])
	}
	return got
}

func nonZeroJSON(v any) map[string]any {
	out := map[string]any{}
	for k, n := range v.(map[string]any) {
		if n != float64(0) {
			out[k] = n
		}
	}
	return out
}

func TestMailoutStatsMatchGroundTruthWhileSending(t *testing.T) {
	b := setup(t)
	mid, ids := b.runningMailout(400)
	got := b.checkMailoutStats(mid)
	if got["status"] != "running" || got["started_at"] == nil || got["first_delivery_at"] != nil {
		t.Fatalf("before any delivery: %v", got)
	}
	// Rounds of three workers recording outcomes at the same time, while
	// a reader checks that each answer is one consistent snapshot; the
	// answers are compared with the truth between rounds.
	for round := range 6 {
		stop := make(chan struct{})
		var reads sync.WaitGroup
		reads.Add(1)
		go func() {
			defer reads.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				st, out := b.do("GET", "/api/mailouts/"+itoa(mid)+"/stats", nil)
				if st != http.StatusOK {
					t.Errorf("stats: %d %v", st, out)
					return
				}
				var delivered float64
				for _, d := range out["deliveries"].([]any) {
					delivered += d.(map[string]any)["delivered"].(float64)
				}
				msgs := out["messages"].(map[string]any)
				if msgs["total"] != float64(len(ids)) || delivered != msgs["sent"] {
					t.Errorf("inconsistent answer: %v, %v delivered", msgs, delivered)
					return
				}
			}
		}()
		var workers sync.WaitGroup
		for w := range 3 {
			workers.Add(1)
			go func() {
				defer workers.Done()
				rnd := rand.New(rand.NewPCG(uint64(round), uint64(w)))
				for range 4 {
					b.work(rnd, ids)
				}
			}()
		}
		workers.Wait()
		close(stop)
		reads.Wait()
		b.checkMailoutStats(mid)
	}
	got = b.checkMailoutStats(mid)
	if got["first_delivery_at"] == nil || got["last_delivery_at"] == nil {
		t.Fatalf("no delivery times: %v", got)
	}
	if f := got["failures"].(map[string]any); f["total"] == float64(0) || f["outside_window"] == float64(0) {
		t.Fatalf("the run produced no failures to group: %v", f)
	}
}

func TestMailoutStatsErrors(t *testing.T) {
	b := setup(t)
	mid := id(t, b.newMailout(nil))
	got := b.must(http.StatusOK, "GET", "/api/mailouts/"+itoa(mid)+"/stats", nil)
	if got["status"] != "scheduled" || nonZeroJSON(got["messages"])["total"] != nil || len(got["deliveries"].([]any)) != 0 {
		t.Fatalf("scheduled mailout: %v", got)
	}
	_, out := b.do("GET", "/api/mailouts/999999/stats", nil)
	wantError(t, out, "not_found")
	st, out := b.do("GET", "/api/mailouts/abc/stats", nil)
	if st != http.StatusBadRequest {
		t.Fatalf("bad id: %d", st)
	}
	wantError(t, out, "invalid")
}

// overallTruth counts straight from the tables for the mailouts matching
// where: mailouts by status, messages by status, and each mailout's
// messages by status.
func (b *bundle) overallTruth(where string, args ...any) (map[string]any, map[string]any, map[float64]map[string]any) {
	b.t.Helper()
	pairs := func(q string) map[string]any { return b.countsBy(q, args...) }
	mailouts := pairs(`SELECT status, count(*) FROM mailouts m WHERE ` + where + ` GROUP BY 1`)
	messages := pairs(`SELECT x.status, count(*) FROM messages x JOIN mailouts m ON m.id = x.mailout_id WHERE ` + where + ` GROUP BY 1`)
	per := map[float64]map[string]any{}
	rows, err := b.db.SQL().Query(`SELECT m.id, COALESCE(x.status, ''), count(x.id) FROM mailouts m
		LEFT JOIN messages x ON x.mailout_id = m.id WHERE `+where+` GROUP BY 1, 2`, args...)
	if err != nil {
		b.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var mid, n float64
		var status string
		if err := rows.Scan(&mid, &status, &n); err != nil {
			b.t.Fatal(err)
		}
		if per[mid] == nil {
			per[mid] = map[string]any{}
		}
		if status != "" {
			per[mid][status] = n
		}
	}
	return mailouts, messages, per
}

func TestMessageStatsTotalsFiltersAndPages(t *testing.T) {
	b := setup(t)
	day := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	statuses := []string{"scheduled", "running", "finished", "cancelled", "running", "finished", "finished"}
	for i, st := range statuses {
		mid := id(t, b.newMailout(nil))
		b.exec(`UPDATE mailouts SET status = $2, created_at = $3 WHERE id = $1`, mid, st, day.AddDate(0, 0, i))
		if st == "scheduled" {
			continue
		}
		b.exec(`INSERT INTO messages (mailout_id, customer_id, status, sent_at)
			SELECT $1, g, (ARRAY['pending','sending','sent','failed','expired','cancelled'])[1 + (g * $3) % 6],
			       CASE WHEN (g * $3) % 6 = 2 THEN now() END
			FROM generate_series(1, $2::int) g`, mid, 5+i*7, i+1)
	}
	from := day.AddDate(0, 0, 2).Format(time.RFC3339)
	to := day.AddDate(0, 0, 5).Add(3 * time.Hour).In(time.FixedZone("MSK", 3*3600)).Format(time.RFC3339)
	cases := []struct {
		query, where string
		args         []any
	}{
		{"", "TRUE", nil},
		{"status=running", "m.status = 'running'", nil},
		{"status=finished&status=cancelled", "m.status IN ('finished', 'cancelled')", nil},
		{"created_from=" + url.QueryEscape(from) + "&created_to=" + url.QueryEscape(to),
			"m.created_at >= $1 AND m.created_at < $2", []any{day.AddDate(0, 0, 2), day.AddDate(0, 0, 5).Add(3 * time.Hour)}},
		{"status=finished&created_from=" + url.QueryEscape(from), "m.status = 'finished' AND m.created_at >= $1", []any{day.AddDate(0, 0, 2)}},
	}
	for _, c := range cases {
		mailouts, messages, per := b.overallTruth(c.where, c.args...)
		seen := 0
		after := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatalf("?%s: pagination does not end", c.query)
			}
			out := b.must(http.StatusOK, "GET", "/api/messages/stats?limit=2&"+c.query+after, nil)
			if g := nonZeroJSON(out["mailouts"]); !reflect.DeepEqual(g, nonZeroJSON(mailouts)) {
				t.Fatalf("?%s: mailouts %v, want %v", c.query, g, mailouts)
			}
			if g := nonZeroJSON(out["messages"]); !reflect.DeepEqual(g, nonZeroJSON(messages)) {
				t.Fatalf("?%s: messages %v, want %v", c.query, g, messages)
			}
			for _, it := range items(t, out) {
				seen++
				want, ok := per[it["id"].(float64)]
				if !ok {
					t.Fatalf("?%s: mailout %v does not match the filter", c.query, it["id"])
				}
				g := nonZeroJSON(it["messages"])
				delete(g, "total")
				if !reflect.DeepEqual(g, want) || it["audience"] != it["messages"].(map[string]any)["total"] {
					t.Fatalf("?%s: mailout %v: %v, want %v", c.query, it["id"], it, want)
				}
			}
			next, ok := out["next"].(string)
			if !ok {
				break
			}
			after = "&after=" + next
		}
		if seen != len(per) {
			t.Fatalf("?%s: pages listed %d mailouts, want %d", c.query, seen, len(per))
		}
	}
	for _, q := range []string{"status=done", "created_from=yesterday", "created_to=2026-05-01",
		"created_from=2026-05-03T00:00:00Z&created_to=2026-05-02T00:00:00Z", "limit=0", "limit=1001", "after=x"} {
		st, out := b.do("GET", "/api/messages/stats?"+q, nil)
		if st != http.StatusBadRequest {
			t.Fatalf("?%s: %d %v", q, st, out)
		}
		if fields := wantError(t, out, "invalid"); len(fields) == 0 {
			t.Fatalf("?%s: no field named: %v", q, out)
		}
	}
}

func TestStatsRoutesNeedAToken(t *testing.T) {
	b := setup(t)
	mid := id(t, b.newMailout(nil))
	for _, path := range []string{"/api/messages/stats", "/api/mailouts/" + itoa(mid) + "/stats", "/api/mailouts/" + itoa(mid) + "/messages"} {
		for _, token := range []string{"", "not-a-token"} {
			resp, raw := b.raw("GET", path, nil, "", token)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s with token %q: %d %s", path, token, resp.StatusCode, raw)
			}
			var out map[string]any
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatal(err)
			}
			wantError(t, out, "unauthorized")
		}
	}
}

// countsBy runs a query of (key, count) rows and returns the counts by key
// with their sum under "total", as the statistics answers carry them.
func (b *bundle) countsBy(q string, args ...any) map[string]any {
	b.t.Helper()
	out := map[string]any{}
	var total float64
	rows, err := b.db.SQL().Query(q, args...)
	if err != nil {
		b.t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n float64
		if err := rows.Scan(&k, &n); err != nil {
			b.t.Fatal(err)
		}
		out[k], total = n, total+n
	}
	out["total"] = total
	return out
}
