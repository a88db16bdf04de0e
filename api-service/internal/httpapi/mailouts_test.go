package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// at is an RFC 3339 time d from now, in UTC.
func at(d time.Duration) string {
	return time.Now().Add(d).UTC().Truncate(time.Second).Format(time.RFC3339)
}

// validMailout is a mailout body that passes validation, with extra fields
// set or (when nil) removed.
func validMailout(extra map[string]any) map[string]any {
	body := map[string]any{"text": "Sale starts now", "start_at": at(time.Hour), "end_at": at(48 * time.Hour)}
	for k, v := range extra {
		if v == nil {
			delete(body, k)
			continue
		}
		body[k] = v
	}
	return body
}

func (b *bundle) newMailout(extra map[string]any) map[string]any {
	b.t.Helper()
	return b.must(http.StatusCreated, "POST", "/api/mailouts", validMailout(extra))
}

func (b *bundle) exec(query string, args ...any) {
	b.t.Helper()
	if _, err := b.db.SQL().Exec(query, args...); err != nil {
		b.t.Fatalf("%s: %v", query, err)
	}
}

func (b *bundle) setMailoutStatus(id int64, status string) {
	b.t.Helper()
	b.exec(`UPDATE mailouts SET status = $1 WHERE id = $2`, status, id)
}

// insertMessage writes a message row as the sender would.
func (b *bundle) insertMessage(mailoutID, customerID int64, status string) int64 {
	b.t.Helper()
	var mid int64
	err := b.db.SQL().QueryRow(`INSERT INTO messages (mailout_id, customer_id, status) VALUES ($1, $2, $3) RETURNING id`,
		mailoutID, customerID, status).Scan(&mid)
	if err != nil {
		b.t.Fatal(err)
	}
	return mid
}

type outboxEvent struct {
	Topic   string
	Payload map[string]any
}

// mailoutEvents returns the outbox events of one mailout in order.
func (b *bundle) mailoutEvents(mailoutID int64) []outboxEvent {
	b.t.Helper()
	rows, err := b.db.SQL().Query(`SELECT topic, payload FROM outbox WHERE (payload->>'mailout_id')::bigint = $1 ORDER BY id`, mailoutID)
	if err != nil {
		b.t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxEvent
	for rows.Next() {
		var e outboxEvent
		var raw []byte
		if err := rows.Scan(&e.Topic, &raw); err != nil {
			b.t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &e.Payload); err != nil {
			b.t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		b.t.Fatal(err)
	}
	return out
}

func version(t *testing.T, m map[string]any) int {
	t.Helper()
	v, ok := m["version"].(float64)
	if !ok {
		t.Fatalf("no version in %v", m)
	}
	return int(v)
}

func strList(v any) []string {
	raw, _ := v.([]any)
	out := make([]string, len(raw))
	for i, s := range raw {
		out[i], _ = s.(string)
	}
	return out
}

func filterOf(m map[string]any) (tags, codes []string) {
	f, _ := m["filter"].(map[string]any)
	return strList(f["tags"]), strList(f["phone_codes"])
}

func TestMailoutCRUD(t *testing.T) {
	b := setup(t)
	start := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	end := start.Add(24 * time.Hour)
	msk := time.FixedZone("MSK", 3*3600)
	m := b.must(http.StatusCreated, "POST", "/api/mailouts", map[string]any{
		"text":        "Black Friday",
		"start_at":    start.In(msk).Format(time.RFC3339),
		"end_at":      end.In(msk).Format(time.RFC3339),
		"send_window": map[string]any{"start": "09:00", "end": "21:00"},
		"filter":      map[string]any{"tags": []string{"vip", " vip ", "new"}, "phone_codes": []string{"916"}},
	})
	if m["status"] != "scheduled" || version(t, m) != 1 || m["audience"] != float64(0) {
		t.Fatalf("create: %v", m)
	}
	if m["start_at"] != start.UTC().Format(time.RFC3339) || m["end_at"] != end.UTC().Format(time.RFC3339) {
		t.Fatalf("times not answered in UTC: %v %v", m["start_at"], m["end_at"])
	}
	if w, _ := m["send_window"].(map[string]any); w["start"] != "09:00" || w["end"] != "21:00" {
		t.Fatalf("send_window: %v", m["send_window"])
	}
	if tags, codes := filterOf(m); strings.Join(tags, ",") != "new,vip" || strings.Join(codes, ",") != "916" {
		t.Fatalf("filter: %v %v", tags, codes)
	}
	path := "/api/mailouts/" + itoa(id(t, m))

	got := b.must(http.StatusOK, "GET", path, nil)
	if got["text"] != "Black Friday" || got["created_at"] == nil || got["updated_at"] == nil {
		t.Fatalf("get: %v", got)
	}
	if list := items(t, b.must(http.StatusOK, "GET", "/api/mailouts", nil)); len(list) != 1 || id(t, list[0]) != id(t, m) {
		t.Fatalf("list: %v", list)
	}

	patched := b.must(http.StatusOK, "PATCH", path, map[string]any{"text": "Cyber Monday"})
	if patched["text"] != "Cyber Monday" || patched["send_window"] == nil || version(t, patched) != 2 {
		t.Fatalf("patch changed more or less than asked: %v", patched)
	}
	if tags, _ := filterOf(patched); len(tags) != 2 {
		t.Fatalf("patch lost the filter: %v", patched)
	}
	patched = b.must(http.StatusOK, "PATCH", path, map[string]any{"filter": map[string]any{"phone_codes": []string{"903", "925"}}})
	if tags, codes := filterOf(patched); len(tags) != 2 || strings.Join(codes, ",") != "903,925" {
		t.Fatalf("patch of phone_codes must keep tags and replace codes: %v", patched)
	}
	patched = b.must(http.StatusOK, "PATCH", path, map[string]any{"send_window": nil})
	if patched["send_window"] != nil || version(t, patched) != 4 {
		t.Fatalf("send_window: null must remove the window: %v", patched)
	}

	put := b.must(http.StatusOK, "PUT", path, map[string]any{"text": "Replaced", "start_at": at(time.Hour), "end_at": at(2 * time.Hour)})
	if tags, codes := filterOf(put); put["send_window"] != nil || len(tags) != 0 || len(codes) != 0 || version(t, put) != 5 {
		t.Fatalf("put must reset omitted fields: %v", put)
	}
	updated, _ := time.Parse(time.RFC3339Nano, put["updated_at"].(string))
	created, _ := time.Parse(time.RFC3339Nano, put["created_at"].(string))
	if !updated.After(created) {
		t.Fatalf("updated_at not moved: %v", put)
	}

	b.must(http.StatusNoContent, "DELETE", path, nil)
	_, out := b.do("GET", path, nil)
	wantError(t, out, "not_found")
	if st, _ := b.do("DELETE", path, nil); st != http.StatusNotFound {
		t.Fatalf("second delete: %d", st)
	}
}

func TestMailoutValidation(t *testing.T) {
	b := setup(t)
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"missing text", validMailout(map[string]any{"text": nil}), "text"},
		{"empty text", validMailout(map[string]any{"text": ""}), "text"},
		{"text of 1601 characters", validMailout(map[string]any{"text": strings.Repeat("я", 1601)}), "text"},
		{"missing start", validMailout(map[string]any{"start_at": nil}), "start_at"},
		{"missing end", validMailout(map[string]any{"end_at": nil}), "end_at"},
		{"end before start", validMailout(map[string]any{"start_at": at(3 * time.Hour), "end_at": at(2 * time.Hour)}), "end_at"},
		{"end equals start", validMailout(map[string]any{"start_at": at(3 * time.Hour), "end_at": at(3 * time.Hour)}), "end_at"},
		{"end in the past", validMailout(map[string]any{"start_at": at(-3 * time.Hour), "end_at": at(-time.Hour)}), "end_at"},
		{"time without offset", validMailout(map[string]any{"start_at": "2030-01-01T09:00:00"}), "start_at"},
		{"date only", validMailout(map[string]any{"end_at": "2030-01-02"}), "end_at"},
		{"time as number", validMailout(map[string]any{"start_at": 1767225600}), "start_at"},
		{"window hour 25", validMailout(map[string]any{"send_window": map[string]any{"start": "25:00", "end": "21:00"}}), "send_window.start"},
		{"window minute 60", validMailout(map[string]any{"send_window": map[string]any{"start": "09:00", "end": "21:60"}}), "send_window.end"},
		{"window start equals end", validMailout(map[string]any{"send_window": map[string]any{"start": "09:00", "end": "09:00"}}), "send_window"},
		{"window without end", validMailout(map[string]any{"send_window": map[string]any{"start": "09:00"}}), "send_window.end"},
		{"window as string", validMailout(map[string]any{"send_window": "09:00-21:00"}), "send_window"},
		{"window unknown field", validMailout(map[string]any{"send_window": map[string]any{"start": "09:00", "end": "21:00", "tz": "UTC"}}), "send_window"},
		{"bad phone code", validMailout(map[string]any{"filter": map[string]any{"phone_codes": []string{"91"}}}), "filter.phone_codes"},
		{"empty tag", validMailout(map[string]any{"filter": map[string]any{"tags": []string{""}}}), "filter.tags"},
		{"tags not a list", validMailout(map[string]any{"filter": map[string]any{"tags": "vip"}}), "filter.tags"},
		{"unknown field", validMailout(map[string]any{"priority": 1}), "priority"},
		{"unknown filter field", validMailout(map[string]any{"filter": map[string]any{"timezone": "UTC"}}), "timezone"},
		{"server-owned status", validMailout(map[string]any{"status": "running"}), "status"},
		{"server-owned audience", validMailout(map[string]any{"audience": 5}), "audience"},
		{"server-owned version", validMailout(map[string]any{"version": 3}), "version"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, out := b.do("POST", "/api/mailouts", tc.body)
			if st != http.StatusBadRequest {
				t.Fatalf("status %d: %v", st, out)
			}
			fields := wantError(t, out, "invalid")
			if msg, _ := fields[tc.field].(string); msg == "" {
				t.Fatalf("no message for %s: %v", tc.field, out)
			}
		})
	}
	if n := len(items(t, b.must(http.StatusOK, "GET", "/api/mailouts", nil))); n != 0 {
		t.Fatalf("rejected requests stored %d mailouts", n)
	}

	// Limits that are fine: 1600 characters (of two bytes each), a window
	// crossing midnight, a start in the past with an end in the future.
	m := b.newMailout(map[string]any{
		"text":        strings.Repeat("я", 1600),
		"send_window": map[string]any{"start": "21:00", "end": "09:00"},
		"start_at":    at(-time.Hour),
	})
	if w, _ := m["send_window"].(map[string]any); w["start"] != "21:00" || w["end"] != "09:00" {
		t.Fatalf("midnight-crossing window: %v", m["send_window"])
	}
	path := "/api/mailouts/" + itoa(id(t, m))
	for name, body := range map[string]any{
		"patch bad window": map[string]any{"send_window": map[string]any{"start": "9:00", "end": "21:00"}},
		"patch bad time":   map[string]any{"end_at": "tomorrow"},
		"patch empty text": map[string]any{"text": ""},
		"patch end past":   map[string]any{"end_at": at(-30 * time.Minute)},
		"patch server id":  map[string]any{"id": 5},
	} {
		st, out := b.do("PATCH", path, body)
		if st != http.StatusBadRequest {
			t.Fatalf("%s: %d %v", name, st, out)
		}
		if fields := wantError(t, out, "invalid"); len(fields) == 0 {
			t.Fatalf("%s: no field named: %v", name, out)
		}
	}
	st, out := b.do("PUT", path, map[string]any{"text": "only text"})
	if st != http.StatusBadRequest {
		t.Fatalf("put without times: %d %v", st, out)
	}
	if fields := wantError(t, out, "invalid"); fields["start_at"] == nil || fields["end_at"] == nil {
		t.Fatalf("put without times: %v", out)
	}
	if got := b.must(http.StatusOK, "GET", path, nil); version(t, got) != 1 {
		t.Fatalf("rejected edits changed the mailout: %v", got)
	}
}

func TestMailoutNotFound(t *testing.T) {
	b := setup(t)
	const path = "/api/mailouts/999999"
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"GET", path, nil},
		{"PUT", path, validMailout(nil)},
		{"PATCH", path, map[string]any{"text": "x"}},
		{"DELETE", path, nil},
		{"POST", path + "/cancel", nil},
		{"POST", path + "/tags", map[string]any{"tag": "vip"}},
		{"DELETE", path + "/tags/1", nil},
		{"POST", path + "/phone_codes", map[string]any{"phone_code": "916"}},
		{"DELETE", path + "/phone_codes/1", nil},
	} {
		st, out := b.do(r.method, r.path, r.body)
		if st != http.StatusNotFound {
			t.Fatalf("%s %s: %d %v", r.method, r.path, st, out)
		}
		wantError(t, out, "not_found")
	}
	for _, p := range []string{"/api/mailouts/abc", "/api/mailouts/0", "/api/mailouts/1/tags/x"} {
		method := "GET"
		if strings.Contains(p, "tags") {
			method = "DELETE"
		}
		if st, _ := b.do(method, p, nil); st != http.StatusBadRequest {
			t.Fatalf("%s %s: %d", method, p, st)
		}
	}
}

func TestMailoutEditRulesByStatus(t *testing.T) {
	b := setup(t)
	body := validMailout(map[string]any{"filter": map[string]any{"tags": []string{"vip"}}, "send_window": map[string]any{"start": "09:00", "end": "21:00"}})
	m := b.must(http.StatusCreated, "POST", "/api/mailouts", body)
	mid := id(t, m)
	path := "/api/mailouts/" + itoa(mid)

	b.setMailoutStatus(mid, "running")
	conflicts := []struct {
		method, path string
		body         any
	}{
		{"PATCH", path, map[string]any{"text": "changed"}},
		{"PATCH", path, map[string]any{"start_at": at(30 * time.Minute)}},
		{"PATCH", path, map[string]any{"send_window": nil}},
		{"PATCH", path, map[string]any{"filter": map[string]any{"tags": []string{"other"}}}},
		{"PUT", path, validMailout(map[string]any{"text": body["text"], "start_at": body["start_at"]})}, // drops window and filter
		{"POST", path + "/tags", map[string]any{"tag": "new"}},
		{"POST", path + "/tags", map[string]any{"tag": "vip"}},
		{"POST", path + "/phone_codes", map[string]any{"phone_code": "916"}},
	}
	for _, r := range conflicts {
		st, out := b.do(r.method, r.path, r.body)
		if st != http.StatusConflict {
			t.Fatalf("running: %s %s %v: %d %v", r.method, r.path, r.body, st, out)
		}
		wantError(t, out, "conflict")
	}
	// A running mailout's end may move; repeating the other values is fine.
	newEnd := at(72 * time.Hour)
	got := b.must(http.StatusOK, "PATCH", path, map[string]any{"end_at": newEnd})
	if got["end_at"] != newEnd || version(t, got) != 2 || got["status"] != "running" {
		t.Fatalf("running end_at change: %v", got)
	}
	same := validMailout(map[string]any{
		"start_at": body["start_at"], "end_at": newEnd,
		"send_window": body["send_window"], "filter": map[string]any{"tags": []string{" vip"}},
	})
	got = b.must(http.StatusOK, "PUT", path, same)
	if version(t, got) != 2 {
		t.Fatalf("a PUT repeating every value is not a change: %v", got)
	}
	later := at(96 * time.Hour)
	same["end_at"] = later
	if got = b.must(http.StatusOK, "PUT", path, same); got["end_at"] != later || version(t, got) != 3 {
		t.Fatalf("running PUT with a new end: %v", got)
	}
	if st, out := b.do("PATCH", path, map[string]any{"end_at": at(-time.Minute)}); st != http.StatusBadRequest {
		t.Fatalf("running end in the past: %d %v", st, out)
	}

	for _, status := range []string{"finished", "cancelled"} {
		b.setMailoutStatus(mid, status)
		for _, r := range append(conflicts,
			struct {
				method, path string
				body         any
			}{"PATCH", path, map[string]any{"end_at": at(100 * time.Hour)}},
			struct {
				method, path string
				body         any
			}{"POST", path + "/cancel", nil},
		) {
			st, out := b.do(r.method, r.path, r.body)
			if st != http.StatusConflict {
				t.Fatalf("%s: %s %s: %d %v", status, r.method, r.path, st, out)
			}
			wantError(t, out, "conflict")
		}
		if got := b.must(http.StatusOK, "GET", path, nil); version(t, got) != 3 || got["status"] != status {
			t.Fatalf("%s mailout changed: %v", status, got)
		}
	}
	// Without messages even a finished mailout may be deleted.
	b.must(http.StatusNoContent, "DELETE", path, nil)
}

func TestMailoutCancel(t *testing.T) {
	b := setup(t)
	m := b.newMailout(nil)
	mid := id(t, m)
	path := "/api/mailouts/" + itoa(mid)
	b.setMailoutStatus(mid, "running")
	pending := b.insertMessage(mid, 1, "pending")
	sent := b.insertMessage(mid, 2, "sent")
	failed := b.insertMessage(mid, 3, "failed")
	other := b.newMailout(nil)
	otherPending := b.insertMessage(id(t, other), 1, "pending")

	got := b.must(http.StatusOK, "POST", path+"/cancel", nil)
	if got["status"] != "cancelled" || version(t, got) != 2 {
		t.Fatalf("cancel: %v", got)
	}
	want := map[int64]string{pending: "cancelled", sent: "sent", failed: "failed", otherPending: "pending"}
	for msgID, status := range want {
		if msg := b.must(http.StatusOK, "GET", "/api/messages/"+itoa(msgID), nil); msg["status"] != status {
			t.Fatalf("message %d: %v, want %s", msgID, msg["status"], status)
		}
	}
	if msg := b.must(http.StatusOK, "GET", "/api/messages/"+itoa(pending), nil); msg["reason"] != "cancelled" {
		t.Fatalf("cancelled message's reason %v, want cancelled", msg["reason"])
	}
	_, out := b.do("POST", path+"/cancel", nil)
	wantError(t, out, "conflict")

	// A scheduled mailout can be cancelled too.
	got = b.must(http.StatusOK, "POST", "/api/mailouts/"+itoa(id(t, other))+"/cancel", nil)
	if got["status"] != "cancelled" {
		t.Fatalf("cancel scheduled: %v", got)
	}
}

func TestMailoutDeleteWithMessages(t *testing.T) {
	b := setup(t)
	m := b.newMailout(nil)
	mid := id(t, m)
	path := "/api/mailouts/" + itoa(mid)
	b.insertMessage(mid, 7, "sent")
	st, out := b.do("DELETE", path, nil)
	if st != http.StatusConflict {
		t.Fatalf("delete with messages: %d %v", st, out)
	}
	wantError(t, out, "conflict")
	if msg := out["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "cancel") {
		t.Fatalf("the conflict must tell the client to cancel: %q", msg)
	}
	b.must(http.StatusOK, "GET", path, nil)
	b.must(http.StatusOK, "POST", path+"/cancel", nil)
	if st, _ := b.do("DELETE", path, nil); st != http.StatusConflict {
		t.Fatalf("delete of a cancelled mailout with messages: %d", st)
	}
}

func TestMailoutAudience(t *testing.T) {
	b := setup(t)
	for _, c := range []map[string]any{
		{"phone": "79160000001", "tags": []string{"vip"}},
		{"phone": "79160000002", "tags": []string{"vip", "new"}},
		{"phone": "79030000003", "tags": []string{"new"}},
		{"phone": "79030000004"},
		{"phone": "79250000005", "tags": []string{"vip"}},
		{"phone": "79250000006", "phone_code": "916"},
	} {
		b.must(http.StatusCreated, "POST", "/api/customers", c)
	}
	lonely := b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79990000007", "tags": []string{"lonely"}})
	b.must(http.StatusNoContent, "DELETE", "/api/customers/"+itoa(id(t, lonely)), nil) // its tag stays, matching nobody

	cases := []struct {
		name   string
		filter map[string]any
		want   float64
	}{
		{"no filter", nil, 6},
		{"empty lists", map[string]any{"tags": []string{}, "phone_codes": []string{}}, 6},
		{"one tag", map[string]any{"tags": []string{"vip"}}, 3},
		{"any of two tags", map[string]any{"tags": []string{"vip", "new"}}, 4},
		{"one code", map[string]any{"phone_codes": []string{"916"}}, 3},
		{"two codes", map[string]any{"phone_codes": []string{"903", "925"}}, 3},
		{"tag and code", map[string]any{"tags": []string{"vip"}, "phone_codes": []string{"916"}}, 2},
		{"tags and codes", map[string]any{"tags": []string{"vip", "new"}, "phone_codes": []string{"903", "925"}}, 2},
		{"tag matching nobody", map[string]any{"tags": []string{"lonely"}}, 0},
		{"new tag", map[string]any{"tags": []string{"never-used"}}, 0},
		{"code nobody has", map[string]any{"phone_codes": []string{"999"}}, 0},
	}
	ids := map[int64]float64{}
	for _, tc := range cases {
		extra := map[string]any{}
		if tc.filter != nil {
			extra["filter"] = tc.filter
		}
		m := b.newMailout(extra)
		if m["audience"] != tc.want {
			t.Errorf("%s: audience %v, want %v", tc.name, m["audience"], tc.want)
		}
		ids[id(t, m)] = tc.want
	}
	// The list computes the same numbers, page by page.
	for _, it := range items(t, b.must(http.StatusOK, "GET", "/api/mailouts?limit=1000", nil)) {
		if it["audience"] != ids[id(t, it)] {
			t.Errorf("list: mailout %d audience %v, want %v", id(t, it), it["audience"], ids[id(t, it)])
		}
	}
	// The audience follows the customers: it is computed, not stored.
	m := b.newMailout(map[string]any{"filter": map[string]any{"tags": []string{"vip"}}})
	path := "/api/mailouts/" + itoa(id(t, m))
	b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79160000008", "tags": []string{"vip"}})
	if got := b.must(http.StatusOK, "GET", path, nil); got["audience"] != float64(4) {
		t.Fatalf("audience after a new customer: %v", got["audience"])
	}
	if got := b.must(http.StatusOK, "POST", path+"/phone_codes", map[string]any{"phone_code": "925"}); got["audience"] != float64(1) {
		t.Fatalf("audience after adding a code: %v", got["audience"])
	}
}

func TestMailoutListStatusAndPagination(t *testing.T) {
	b := setup(t)
	statuses := []string{"scheduled", "running", "finished", "cancelled", "running"}
	for _, st := range statuses {
		m := b.newMailout(nil)
		if st != "scheduled" {
			b.setMailoutStatus(id(t, m), st)
		}
	}
	count := func(query string) int {
		t.Helper()
		return len(items(t, b.must(http.StatusOK, "GET", "/api/mailouts?"+query, nil)))
	}
	for q, want := range map[string]int{
		"":                                5,
		"status=running":                  2,
		"status=scheduled":                1,
		"status=running&status=finished":  3,
		"status=cancelled&status=running": 3,
	} {
		if got := count(q); got != want {
			t.Errorf("?%s: %d mailouts, want %d", q, got, want)
		}
	}
	for _, it := range items(t, b.must(http.StatusOK, "GET", "/api/mailouts?status=running", nil)) {
		if it["status"] != "running" {
			t.Fatalf("status filter let through %v", it)
		}
	}
	for _, q := range []string{"status=sleeping", "status=", "status=running&status=RUNNING", "limit=0", "after=x"} {
		st, out := b.do("GET", "/api/mailouts?"+q, nil)
		if st != http.StatusBadRequest {
			t.Fatalf("?%s: %d", q, st)
		}
		wantError(t, out, "invalid")
	}

	seen := map[int64]bool{}
	after := ""
	var last int64
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		out := b.must(http.StatusOK, "GET", "/api/mailouts?limit=2"+after, nil)
		page := items(t, out)
		if len(page) > 2 {
			t.Fatalf("page of %d items", len(page))
		}
		for _, it := range page {
			if seen[id(t, it)] || id(t, it) <= last {
				t.Fatalf("mailout %d repeated or out of order", id(t, it))
			}
			seen[id(t, it)] = true
			last = id(t, it)
		}
		next, ok := out["next"].(string)
		if !ok {
			break
		}
		after = "&after=" + next
	}
	if len(seen) != 5 {
		t.Fatalf("pagination saw %d mailouts, want 5", len(seen))
	}
	if got := count("status=running&limit=1&after=" + itoa(last-1)); got != 1 {
		t.Fatalf("status filter with a cursor: %d", got)
	}
}

func TestMailoutTagAndCodeLinks(t *testing.T) {
	b := setup(t)
	m := b.newMailout(nil)
	path := "/api/mailouts/" + itoa(id(t, m))

	got := b.must(http.StatusOK, "POST", path+"/tags", map[string]any{"tag": " brand-new "})
	if tags, _ := filterOf(got); strings.Join(tags, ",") != "brand-new" || version(t, got) != 2 {
		t.Fatalf("add tag: %v", got)
	}
	if got = b.must(http.StatusOK, "POST", path+"/tags", map[string]any{"tag": "brand-new"}); version(t, got) != 2 {
		t.Fatalf("adding a linked tag again is not a change: %v", got)
	}
	var tagID, n int64
	if err := b.db.SQL().QueryRow(`SELECT id FROM tags WHERE name = 'brand-new'`).Scan(&tagID); err != nil {
		t.Fatalf("tag not registered: %v", err)
	}
	got = b.must(http.StatusOK, "POST", path+"/phone_codes", map[string]any{"phone_code": "977"})
	if _, codes := filterOf(got); strings.Join(codes, ",") != "977" || version(t, got) != 3 {
		t.Fatalf("add code: %v", got)
	}
	var codeID int64
	if err := b.db.SQL().QueryRow(`SELECT id FROM phone_codes WHERE code = '977'`).Scan(&codeID); err != nil {
		t.Fatalf("code not registered: %v", err)
	}
	for _, body := range []map[string]any{{"phone_code": "97"}, {"phone_code": "abc"}, {"code": "977"}} {
		st, out := b.do("POST", path+"/phone_codes", body)
		if st != http.StatusBadRequest {
			t.Fatalf("bad code %v: %d", body, st)
		}
		wantError(t, out, "invalid")
	}
	if st, _ := b.do("POST", path+"/tags", map[string]any{"tag": "a/b"}); st != http.StatusBadRequest {
		t.Fatalf("bad tag: %d", st)
	}

	got = b.must(http.StatusOK, "DELETE", path+"/tags/"+itoa(tagID), nil)
	if tags, _ := filterOf(got); len(tags) != 0 || version(t, got) != 4 {
		t.Fatalf("remove tag: %v", got)
	}
	_, out := b.do("DELETE", path+"/tags/"+itoa(tagID), nil)
	wantError(t, out, "not_found")
	_, out = b.do("DELETE", path+"/tags/999999", nil)
	wantError(t, out, "not_found")
	got = b.must(http.StatusOK, "DELETE", path+"/phone_codes/"+itoa(codeID), nil)
	if _, codes := filterOf(got); len(codes) != 0 || version(t, got) != 5 {
		t.Fatalf("remove code: %v", got)
	}
	_, out = b.do("DELETE", path+"/phone_codes/"+itoa(codeID), nil)
	wantError(t, out, "not_found")
	if err := b.db.SQL().QueryRow(`SELECT count(*) FROM mailout_tags`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("links left: %d %v", n, err)
	}
}

func TestMailoutOutbox(t *testing.T) {
	b := setup(t)
	start := at(time.Hour)
	m := b.newMailout(map[string]any{"start_at": start})
	mid := id(t, m)
	path := "/api/mailouts/" + itoa(mid)
	newStart := at(2 * time.Hour)
	b.must(http.StatusOK, "PATCH", path, map[string]any{"start_at": newStart})
	b.must(http.StatusOK, "POST", path+"/tags", map[string]any{"tag": "vip"})
	b.must(http.StatusOK, "PATCH", path, map[string]any{"start_at": newStart}) // no change, no event
	b.setMailoutStatus(mid, "running")
	newEnd := at(96 * time.Hour)
	b.must(http.StatusOK, "PATCH", path, map[string]any{"end_at": newEnd})
	b.must(http.StatusOK, "POST", path+"/cancel", nil)
	deleted := b.newMailout(nil)
	b.must(http.StatusNoContent, "DELETE", "/api/mailouts/"+itoa(id(t, deleted)), nil)

	want := []outboxEvent{
		{"mailout.start", map[string]any{"mailout_id": float64(mid), "version": float64(1), "start_at": start}},
		{"mailout.start", map[string]any{"mailout_id": float64(mid), "version": float64(2), "start_at": newStart}},
		{"mailout.start", map[string]any{"mailout_id": float64(mid), "version": float64(3), "start_at": newStart}},
		// A running mailout's new end time (version 4) and the cancel
		// (version 5) write no event: consumers re-read both when they
		// claim a message.
	}
	got := b.mailoutEvents(mid)
	if len(got) != len(want) {
		t.Fatalf("outbox: %v, want %v", got, want)
	}
	for i := range want {
		gotJSON, _ := json.Marshal(got[i])
		wantJSON, _ := json.Marshal(want[i])
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("event %d: %s, want %s", i, gotJSON, wantJSON)
		}
	}
	if final := b.must(http.StatusOK, "GET", path, nil); version(t, final) != 5 || final["end_at"] != newEnd {
		t.Fatalf("final version %d end %v, want 5 and %s", version(t, final), final["end_at"], newEnd)
	}
	// A rejected change leaves no event behind.
	b.do("PATCH", path, map[string]any{"end_at": at(100 * time.Hour)})
	if n := len(b.mailoutEvents(mid)); n != len(want) {
		t.Fatalf("a rejected change wrote an event: %d", n)
	}
}

func TestMailoutLogsCarryID(t *testing.T) {
	b := setup(t)
	m := b.newMailout(nil)
	mid := id(t, m)
	path := "/api/mailouts/" + itoa(mid)
	b.must(http.StatusOK, "PATCH", path, map[string]any{"text": "again"})
	b.must(http.StatusOK, "POST", path+"/cancel", nil)
	var msgs []string
	for _, l := range b.logs.Lines(t) {
		if v, ok := l["mailout_id"].(float64); ok && int64(v) == mid {
			msgs = append(msgs, l["msg"].(string))
		}
	}
	want := []string{"mailout created", "http request", "mailout updated", "http request", "mailout cancelled", "http request"}
	if strings.Join(msgs, ",") != strings.Join(want, ",") {
		t.Fatalf("log lines with mailout_id: %v, want %v", msgs, want)
	}
}
