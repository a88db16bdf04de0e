package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestCustomerCRUD(t *testing.T) {
	b := setup(t)
	c := b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79161234567", "tags": []string{"vip", " new ", "vip"}})
	if c["phone_code"] != "916" || c["timezone"] != "Europe/Moscow" {
		t.Fatalf("defaults not applied: %v", c)
	}
	if tags := c["tags"].([]any); len(tags) != 2 {
		t.Fatalf("tags not normalised: %v", tags)
	}
	cid := id(t, c)
	path := "/api/customers/" + itoa(cid)

	got := b.must(http.StatusOK, "GET", path, nil)
	if got["phone"] != "79161234567" {
		t.Fatalf("get: %v", got)
	}
	patched := b.must(http.StatusOK, "PATCH", path, map[string]any{"timezone": "Asia/Yekaterinburg"})
	if patched["timezone"] != "Asia/Yekaterinburg" || len(patched["tags"].([]any)) != 2 {
		t.Fatalf("patch changed more than asked: %v", patched)
	}
	put := b.must(http.StatusOK, "PUT", path, map[string]any{"phone": "79031234567"})
	if put["phone_code"] != "903" || put["timezone"] != "Europe/Moscow" || len(put["tags"].([]any)) != 0 {
		t.Fatalf("put must reset omitted fields to defaults: %v", put)
	}
	b.must(http.StatusNoContent, "DELETE", path, nil)
	_, out := b.do("GET", path, nil)
	wantError(t, out, "not_found")
	if st, _ := b.do("DELETE", path, nil); st != http.StatusNotFound {
		t.Fatalf("second delete: %d", st)
	}
}

func TestCustomerValidation(t *testing.T) {
	b := setup(t)
	cases := []struct {
		name  string
		body  any
		field string
		code  string
	}{
		{"short phone", map[string]any{"phone": "7916"}, "phone", "invalid"},
		{"phone not starting with 7", map[string]any{"phone": "89161234567"}, "phone", "invalid"},
		{"missing phone", map[string]any{"timezone": "UTC"}, "phone", "invalid"},
		{"bad code", map[string]any{"phone": "79161234567", "phone_code": "91"}, "phone_code", "invalid"},
		{"bad zone", map[string]any{"phone": "79161234567", "timezone": "Mars/Olympus"}, "timezone", "invalid"},
		{"empty tag", map[string]any{"phone": "79161234567", "tags": []string{""}}, "tags", "invalid"},
		{"phone as number", map[string]any{"phone": 79161234567}, "phone", "invalid"},
		{"unknown field", map[string]any{"phone": "79161234567", "nick": "x"}, "nick", "invalid"},
		{"server-owned", map[string]any{"phone": "79161234567", "created_at": "2020-01-01T00:00:00Z"}, "created_at", "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, out := b.do("POST", "/api/customers", tc.body)
			if st != http.StatusBadRequest {
				t.Fatalf("status %d: %v", st, out)
			}
			fields := wantError(t, out, tc.code)
			if _, ok := fields[tc.field]; !ok {
				t.Fatalf("no message for %s: %v", tc.field, out)
			}
		})
	}
	for _, body := range []string{"", "[]", "{", `{"phone":"79161234567"} {}`} {
		st, out := b.do("POST", "/api/customers", body)
		if st != http.StatusBadRequest {
			t.Fatalf("body %q: status %d %v", body, st, out)
		}
		wantError(t, out, "invalid")
	}
	big := `{"phone":"79161234567","tags":["` + strings.Repeat("a", 2<<20) + `"]}`
	out := b.must(http.StatusRequestEntityTooLarge, "POST", "/api/customers", big)
	wantError(t, out, "too_large")
	if st, _ := b.do("GET", "/api/customers/abc", nil); st != http.StatusBadRequest {
		t.Fatalf("non-numeric id: %d", st)
	}
	// Nothing of the rejected requests was stored.
	list := b.must(http.StatusOK, "GET", "/api/customers", nil)
	if n := len(items(t, list)); n != 0 {
		t.Fatalf("rejected requests stored %d customers", n)
	}
}

func TestCustomerDuplicatePhone(t *testing.T) {
	wantDuplicateRefused(t, setup(t), "/api/customers", "PATCH", "phone", "79161234567", "79161234568")
}

func TestCustomerTags(t *testing.T) {
	b := setup(t)
	c := b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79161234567"})
	path := "/api/customers/" + itoa(id(t, c))
	got := b.must(http.StatusOK, "POST", path+"/tags", map[string]any{"tag": "vip"})
	if tags := got["tags"].([]any); len(tags) != 1 || tags[0] != "vip" {
		t.Fatalf("tag not added: %v", got)
	}
	b.must(http.StatusOK, "POST", path+"/tags", map[string]any{"tag": "vip"}) // idempotent
	_, out := b.do("POST", path+"/tags", map[string]any{"tag": ""})
	wantError(t, out, "invalid")
	_, out = b.do("POST", "/api/customers/999999/tags", map[string]any{"tag": "x"})
	wantError(t, out, "not_found")

	var tagID int64
	if err := b.db.SQL().QueryRow(`SELECT id FROM tags WHERE name = 'vip'`).Scan(&tagID); err != nil {
		t.Fatal(err)
	}
	got = b.must(http.StatusOK, "DELETE", path+"/tags/"+itoa(tagID), nil)
	if len(got["tags"].([]any)) != 0 {
		t.Fatalf("tag not removed: %v", got)
	}
	_, out = b.do("DELETE", path+"/tags/"+itoa(tagID), nil)
	wantError(t, out, "not_found")
}

func TestCustomerFiltersAndPagination(t *testing.T) {
	b := setup(t)
	seed := []map[string]any{
		{"phone": "79160000001", "tags": []string{"vip"}},
		{"phone": "79160000002", "tags": []string{"vip", "new"}, "timezone": "Asia/Tokyo"},
		{"phone": "79030000003", "tags": []string{"new"}},
		{"phone": "79030000004"},
		{"phone": "79250000005", "phone_code": "916"},
	}
	for _, c := range seed {
		b.must(http.StatusCreated, "POST", "/api/customers", c)
	}
	count := func(query string) int {
		t.Helper()
		return len(items(t, b.must(http.StatusOK, "GET", "/api/customers?"+query, nil)))
	}
	checks := map[string]int{
		"":                                 5,
		"tag=vip":                          2,
		"tag=vip&tag=new":                  3, // any of the tags
		"phone_code=916":                   3, // includes the explicit code
		"phone_code=903&tag=new":           1,
		"phone_code=903&phone_code=925":    2,
		"timezone=Asia/Tokyo":              1,
		"phone_prefix=7916":                2,
		"tag=nosuchtag":                    0,
		"phone_prefix=7925&phone_code=916": 1,
	}
	for q, want := range checks {
		if got := count(q); got != want {
			t.Errorf("?%s: %d customers, want %d", q, got, want)
		}
	}
	search := b.must(http.StatusOK, "POST", "/api/search", map[string]any{"tags": []string{"new"}, "phone_codes": []string{"916"}})
	if n := len(items(t, search)); n != 1 {
		t.Errorf("search: %d, want 1", n)
	}
	_, out := b.do("POST", "/api/search", map[string]any{"phone_codes": []string{"9"}})
	wantError(t, out, "invalid")
	_, out = b.do("GET", "/api/customers?timezone=Nowhere/Else", nil)
	wantError(t, out, "invalid")

	// Walk all pages of two: every customer once, in id order.
	seen := map[int64]bool{}
	after := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		out := b.must(http.StatusOK, "GET", "/api/customers?limit=2"+after, nil)
		for _, it := range items(t, out) {
			if seen[id(t, it)] {
				t.Fatalf("customer %d on two pages", id(t, it))
			}
			seen[id(t, it)] = true
		}
		next, ok := out["next"].(string)
		if !ok {
			break
		}
		after = "&after=" + next
	}
	if len(seen) != 5 {
		t.Fatalf("pagination saw %d customers, want 5", len(seen))
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "after=-1"} {
		out := b.must(http.StatusBadRequest, "GET", "/api/customers?"+q, nil)
		wantError(t, out, "invalid")
	}
}

func TestCustomerLogsCarryID(t *testing.T) {
	b := setup(t)
	c := b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79161234567"})
	cid := id(t, c)
	b.must(http.StatusOK, "PATCH", "/api/customers/"+itoa(cid), map[string]any{"tags": []string{"x"}})
	var msgs []string
	for _, l := range b.logs.Lines(t) {
		if v, ok := l["customer_id"].(float64); ok && int64(v) == cid {
			msgs = append(msgs, l["msg"].(string))
		}
	}
	want := []string{"customer created", "http request", "customer updated", "http request"}
	if strings.Join(msgs, ",") != strings.Join(want, ",") {
		t.Fatalf("log lines with customer_id: %v, want %v", msgs, want)
	}
}
