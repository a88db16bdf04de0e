package httpapi_test

import (
	"net/http"
	"testing"
)

func TestMessagesListAndGet(t *testing.T) {
	b := setup(t)
	m1 := id(t, b.newMailout(nil))
	m2 := id(t, b.newMailout(nil))
	seed := []struct {
		mailout, customer int64
		status            string
	}{
		{m1, 1, "pending"}, {m1, 2, "sent"}, {m1, 3, "failed"}, {m1, 4, "sent"},
		{m2, 1, "sent"}, {m2, 2, "expired"},
	}
	ids := make([]int64, len(seed))
	for i, s := range seed {
		ids[i] = b.insertMessage(s.mailout, s.customer, s.status)
	}
	b.exec(`UPDATE messages SET attempts = 2, last_error = 'HTTP 503', sent_at = now() WHERE id = $1`, ids[1])

	count := func(query string) int {
		t.Helper()
		out := b.must(http.StatusOK, "GET", "/api/messages?"+query, nil)
		return len(items(t, out))
	}
	for q, want := range map[string]int{
		"":                       6,
		"mailout_id=" + itoa(m1): 4,
		"mailout_id=" + itoa(m2): 2,
		"customer_id=1":          2,
		"status=sent":            3,
		"mailout_id=" + itoa(m1) + "&status=sent":               2,
		"mailout_id=" + itoa(m2) + "&customer_id=2":             1,
		"mailout_id=" + itoa(m1) + "&customer_id=2&status=sent": 1,
		"mailout_id=999999":                                     0,
		"status=cancelled":                                      0,
	} {
		if got := count(q); got != want {
			t.Errorf("?%s: %d messages, want %d", q, got, want)
		}
	}
	for _, q := range []string{"mailout_id=x", "mailout_id=0", "customer_id=-1", "status=delivered", "status=", "limit=1001"} {
		st, out := b.do("GET", "/api/messages?"+q, nil)
		if st != http.StatusBadRequest {
			t.Fatalf("?%s: %d %v", q, st, out)
		}
		wantError(t, out, "invalid")
	}

	got := b.must(http.StatusOK, "GET", "/api/messages/"+itoa(ids[1]), nil)
	if got["mailout_id"] != float64(m1) || got["customer_id"] != float64(2) || got["status"] != "sent" ||
		got["attempts"] != float64(2) || got["last_error"] != "HTTP 503" || got["sent_at"] == nil {
		t.Fatalf("get: %v", got)
	}
	if got := b.must(http.StatusOK, "GET", "/api/messages/"+itoa(ids[0]), nil); got["sent_at"] != nil || got["status"] != "pending" {
		t.Fatalf("pending message: %v", got)
	}
	_, out := b.do("GET", "/api/messages/999999", nil)
	wantError(t, out, "not_found")
	if st, _ := b.do("GET", "/api/messages/abc", nil); st != http.StatusBadRequest {
		t.Fatalf("non-numeric id: %d", st)
	}

	seen := map[int64]bool{}
	after := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		out := b.must(http.StatusOK, "GET", "/api/messages?limit=4"+after, nil)
		for _, it := range items(t, out) {
			seen[id(t, it)] = true
		}
		next, ok := out["next"].(string)
		if !ok {
			break
		}
		after = "&after=" + next
	}
	if len(seen) != len(seed) {
		t.Fatalf("pagination saw %d messages, want %d", len(seen), len(seed))
	}
}

func TestMessagesAreReadOnly(t *testing.T) {
	b := setup(t)
	mid := b.insertMessage(id(t, b.newMailout(nil)), 1, "sent")
	for _, r := range []struct{ method, path string }{
		{"POST", "/api/messages"},
		{"PUT", "/api/messages/" + itoa(mid)},
		{"PATCH", "/api/messages/" + itoa(mid)},
		{"DELETE", "/api/messages/" + itoa(mid)},
	} {
		st, out := b.do(r.method, r.path, map[string]any{"status": "pending"})
		if st != http.StatusMethodNotAllowed {
			t.Fatalf("%s %s: %d %v", r.method, r.path, st, out)
		}
		wantError(t, out, "method_not_allowed")
	}
	if got := b.must(http.StatusOK, "GET", "/api/messages/"+itoa(mid), nil); got["status"] != "sent" {
		t.Fatalf("message changed: %v", got)
	}
}

func TestMessageLogsCarryIDs(t *testing.T) {
	b := setup(t)
	mailout := id(t, b.newMailout(nil))
	mid := b.insertMessage(mailout, 42, "sent")
	b.must(http.StatusOK, "GET", "/api/messages/"+itoa(mid), nil)
	b.must(http.StatusOK, "GET", "/api/messages?customer_id=42", nil)
	var summaries []map[string]any
	for _, l := range b.logs.Lines(t) {
		if l["msg"] == "http request" && l["route"] != "/api/mailouts" {
			summaries = append(summaries, l)
		}
	}
	if len(summaries) != 2 {
		t.Fatalf("want 2 request lines, got %v", summaries)
	}
	get, list := summaries[0], summaries[1]
	if get["message_id"] != float64(mid) || get["mailout_id"] != float64(mailout) || get["customer_id"] != float64(42) {
		t.Fatalf("get summary lacks ids: %v", get)
	}
	if list["customer_id"] != float64(42) || list["message_id"] != nil {
		t.Fatalf("list summary: %v", list)
	}
}
