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

	actor := "user:" + itoa(b.admin.ID)
	all := b.must(http.StatusOK, "GET", "/api/audit?actor="+actor, nil)
	items := all["items"].([]any)
	want := []string{"customer.created", "customer.updated", "mailout.created", "mailout.cancelled"}
	if len(items) != len(want) {
		t.Fatalf("audit: %v, want %v", items, want)
	}
	for i, it := range items {
		e := it.(map[string]any)
		if e["action"] != want[i] || e["request_id"] == "" || e["client_ip"] == "" ||
			e["actor"] != actor || e["actor_role"] != "admin" || e["via"] != "jwt" {
			t.Errorf("event %d: %v, want %s by %s with its request", i, e, want[i], actor)
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
	page := b.must(http.StatusOK, "GET", "/api/audit?limit=3&actor="+actor, nil)
	next, _ := page["next"].(string)
	if len(page["items"].([]any)) != 3 || next == "" {
		t.Fatalf("first page: %v", page)
	}
	rest := b.must(http.StatusOK, "GET", "/api/audit?limit=3&actor="+actor+"&after="+next, nil)
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

// User management and sign-ins are in the trail too; a failed sign-in
// records the name that was tried.
func TestAuditTrailOfUsersAndSignIns(t *testing.T) {
	b := setup(t)
	u := b.must(http.StatusCreated, "POST", "/api/users", map[string]any{"username": "maria", "password": "correct horse battery", "role": "viewer"})
	uid := itoa(id(t, u))
	b.must(http.StatusOK, "PATCH", "/api/users/"+uid, map[string]any{"role": "operator"})
	if resp, _ := postToken(t, b.srv.URL, "application/x-www-form-urlencoded", loginForm("maria", "wrong password!!")); resp.StatusCode == http.StatusOK {
		t.Fatal("a wrong password signed in")
	}
	if resp, _ := postToken(t, b.srv.URL, "application/x-www-form-urlencoded", loginForm("maria", "correct horse battery")); resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	events := b.must(http.StatusOK, "GET", "/api/audit?object_type=user", nil)["items"].([]any)
	var got []string
	for _, e := range events {
		got = append(got, e.(map[string]any)["action"].(string))
	}
	want := []string{"user.created", "user.created", "user.updated", "auth.sign_in_failed", "auth.signed_in"}
	if len(got) != len(want) {
		t.Fatalf("user events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("user events %v, want %v", got, want)
		}
	}
	updated := events[2].(map[string]any)
	if diff := updated["diff"].(map[string]any); len(diff) != 1 || diff["role"] == nil {
		t.Errorf("role change diff %v: want only role", updated["diff"])
	}
	failed := events[3].(map[string]any)
	if failed["actor"] != "" || failed["diff"].(map[string]any)["username"] != "maria" {
		t.Errorf("failed sign-in: %v", failed)
	}
	signedIn := events[4].(map[string]any)
	if signedIn["actor"] != "user:"+uid || signedIn["object_id"] != uid || signedIn["actor_role"] != "operator" {
		t.Errorf("sign-in: %v", signedIn)
	}
}
