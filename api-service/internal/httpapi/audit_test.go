package httpapi_test

import (
	"net/http"
	"testing"
)

// Changes through the API land in the audit trail with their request,
// and the trail is listed with filters and keyset pages.
func TestAuditTrailOfAPIChanges(t *testing.T) {
	b := setup(t)
	cust := b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79160000001", "timezone": "UTC"})
	cid := id(t, cust)
	b.must(http.StatusOK, "PATCH", "/api/customers/"+itoa(cid), map[string]any{"timezone": "Europe/Moscow"})
	m := b.newMailout(nil)
	mid := id(t, m)
	b.must(http.StatusOK, "POST", "/api/mailouts/"+itoa(mid)+"/cancel", nil)
	b.do("POST", "/api/mailouts/"+itoa(mid)+"/cancel", nil) // refused: records nothing

	all := b.must(http.StatusOK, "GET", "/api/audit", nil)
	items := all["items"].([]any)
	want := []string{"customer.created", "customer.updated", "mailout.created", "mailout.cancelled"}
	if len(items) != len(want) {
		t.Fatalf("audit: %v, want %v", items, want)
	}
	for i, it := range items {
		e := it.(map[string]any)
		if e["action"] != want[i] || e["request_id"] == "" || e["client_ip"] == "" {
			t.Errorf("event %d: %v, want %s with its request", i, e, want[i])
		}
	}
	update := items[1].(map[string]any)
	if diff := update["diff"].(map[string]any); len(diff) != 1 || diff["timezone"] == nil {
		t.Errorf("update diff %v: want only timezone", update["diff"])
	}

	byMailout := b.must(http.StatusOK, "GET", "/api/audit?object_type=mailout&object_id="+itoa(mid), nil)
	if n := len(byMailout["items"].([]any)); n != 2 {
		t.Errorf("the mailout's events: %d, want 2", n)
	}
	page := b.must(http.StatusOK, "GET", "/api/audit?limit=3", nil)
	next, _ := page["next"].(string)
	if len(page["items"].([]any)) != 3 || next == "" {
		t.Fatalf("first page: %v", page)
	}
	rest := b.must(http.StatusOK, "GET", "/api/audit?limit=3&after="+next, nil)
	if items := rest["items"].([]any); len(items) != 1 || items[0].(map[string]any)["action"] != "mailout.cancelled" || rest["next"] != nil {
		t.Fatalf("second page: %v", rest)
	}
	for _, q := range []string{"actor=maria", "object_id=3", "from=yesterday", "from=2026-05-03T00:00:00Z&to=2026-05-02T00:00:00Z", "limit=0"} {
		code, out := b.do("GET", "/api/audit?"+q, nil)
		if code != http.StatusBadRequest {
			t.Errorf("?%s: %d %v, want 400", q, code, out)
		}
		wantError(t, out, "invalid")
	}
}
