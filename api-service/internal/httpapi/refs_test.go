package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestPhoneCodeCRUD(t *testing.T) {
	b := setup(t)
	pc := b.must(http.StatusCreated, "POST", "/api/phone_codes", map[string]any{"code": "916"})
	if pc["code"] != "916" {
		t.Fatalf("create: %v", pc)
	}
	path := "/api/phone_codes/" + itoa(id(t, pc))
	if got := b.must(http.StatusOK, "GET", path, nil); got["code"] != "916" || id(t, got) != id(t, pc) {
		t.Fatalf("get: %v", got)
	}
	if got := b.must(http.StatusOK, "PUT", path, map[string]any{"code": "917"}); got["code"] != "917" || id(t, got) != id(t, pc) {
		t.Fatalf("rename: %v", got)
	}
	if got := b.must(http.StatusOK, "PUT", path, map[string]any{"code": "917"}); got["code"] != "917" {
		t.Fatalf("rename to the same code must be a no-op: %v", got)
	}
	list := items(t, b.must(http.StatusOK, "GET", "/api/phone_codes", nil))
	if len(list) != 1 || list[0]["code"] != "917" {
		t.Fatalf("list: %v", list)
	}
	b.must(http.StatusNoContent, "DELETE", path, nil)
	for _, method := range []string{"GET", "DELETE"} {
		out := b.must(http.StatusNotFound, method, path, nil)
		wantError(t, out, "not_found")
	}
	b.must(http.StatusNotFound, "PUT", path, map[string]any{"code": "918"})
	wantRefLog(t, b, "phone code created", "phone_code_id", id(t, pc))
	wantRefLog(t, b, "phone code deleted", "phone_code_id", id(t, pc))
}

func TestPhoneCodeValidation(t *testing.T) {
	b := setup(t)
	existing := b.must(http.StatusCreated, "POST", "/api/phone_codes", map[string]any{"code": "900"})
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"two digits", map[string]any{"code": "91"}, "code"},
		{"four digits", map[string]any{"code": "9161"}, "code"},
		{"letters", map[string]any{"code": "9a1"}, "code"},
		{"padded", map[string]any{"code": " 916"}, "code"},
		{"empty", map[string]any{"code": ""}, "code"},
		{"missing", map[string]any{}, "code"},
		{"number", map[string]any{"code": 916}, "code"},
		{"unknown field", map[string]any{"code": "916", "name": "x"}, "name"},
		{"server-owned id", map[string]any{"code": "916", "id": 5}, "id"},
	}
	for _, tc := range cases {
		for _, req := range []struct{ method, path string }{
			{"POST", "/api/phone_codes"},
			{"PUT", "/api/phone_codes/" + itoa(id(t, existing))},
		} {
			t.Run(tc.name+" "+req.method, func(t *testing.T) {
				st, out := b.do(req.method, req.path, tc.body)
				if st != http.StatusBadRequest {
					t.Fatalf("status %d: %v", st, out)
				}
				if _, ok := wantError(t, out, "invalid")[tc.field]; !ok {
					t.Fatalf("no message for %s: %v", tc.field, out)
				}
			})
		}
	}
	if st, _ := b.do("GET", "/api/phone_codes/abc", nil); st != http.StatusBadRequest {
		t.Fatalf("non-numeric id: %d", st)
	}
	list := items(t, b.must(http.StatusOK, "GET", "/api/phone_codes", nil))
	if len(list) != 1 || list[0]["code"] != "900" {
		t.Fatalf("rejected requests changed the codes: %v", list)
	}
}

func TestPhoneCodeDuplicate(t *testing.T) {
	dup := wantDuplicateRefused(t, setup(t), "/api/phone_codes", "PUT", "code", "916", "903")
	wantErrorMentions(t, dup, "916", "already exists")
}

func TestPhoneCodeInUse(t *testing.T) {
	b := setup(t)
	// The customer registers 916 itself.
	b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79161234567"})
	byCustomer := findRefID(t, b, "/api/phone_codes", "code", "916")
	path := "/api/phone_codes/" + itoa(byCustomer)

	out := b.must(http.StatusConflict, "DELETE", path, nil)
	wantError(t, out, "conflict")
	wantErrorMentions(t, out, "916", "in use", "customers")
	out = b.must(http.StatusConflict, "PUT", path, map[string]any{"code": "917"})
	wantError(t, out, "conflict")
	wantErrorMentions(t, out, "916", "in use", "customers")

	// A mailout filter points at a code by id: deleting is refused,
	// renaming is allowed and the filter follows.
	byMailout := id(t, b.must(http.StatusCreated, "POST", "/api/phone_codes", map[string]any{"code": "903"}))
	mailout := insertBareMailout(t, b)
	execRefSQL(t, b, `INSERT INTO mailout_phone_codes (mailout_id, phone_code_id) VALUES ($1, $2)`, mailout, byMailout)
	mpath := "/api/phone_codes/" + itoa(byMailout)
	out = b.must(http.StatusConflict, "DELETE", mpath, nil)
	wantErrorMentions(t, out, "903", "in use", "mailouts")
	if got := b.must(http.StatusOK, "PUT", mpath, map[string]any{"code": "904"}); got["code"] != "904" {
		t.Fatalf("rename of a code only mailouts use: %v", got)
	}
	execRefSQL(t, b, `DELETE FROM mailout_phone_codes WHERE mailout_id = $1`, mailout)
	b.must(http.StatusNoContent, "DELETE", mpath, nil)

	// Once no customer carries it, the code can go.
	execRefSQL(t, b, `DELETE FROM customers`)
	b.must(http.StatusOK, "PUT", path, map[string]any{"code": "917"})
	b.must(http.StatusNoContent, "DELETE", path, nil)
}

func TestTimezoneCRUD(t *testing.T) {
	b := setup(t)
	tz := b.must(http.StatusCreated, "POST", "/api/timezones", map[string]any{"name": "Asia/Tokyo"})
	if tz["name"] != "Asia/Tokyo" {
		t.Fatalf("create: %v", tz)
	}
	path := "/api/timezones/" + itoa(id(t, tz))
	if got := b.must(http.StatusOK, "GET", path, nil); got["name"] != "Asia/Tokyo" {
		t.Fatalf("get: %v", got)
	}
	if got := b.must(http.StatusOK, "PUT", path, map[string]any{"name": "Asia/Seoul"}); got["name"] != "Asia/Seoul" {
		t.Fatalf("rename: %v", got)
	}
	list := items(t, b.must(http.StatusOK, "GET", "/api/timezones", nil))
	if len(list) != 1 || list[0]["name"] != "Asia/Seoul" {
		t.Fatalf("list: %v", list)
	}
	b.must(http.StatusNoContent, "DELETE", path, nil)
	out := b.must(http.StatusNotFound, "GET", path, nil)
	wantError(t, out, "not_found")
	if st, _ := b.do("DELETE", path, nil); st != http.StatusNotFound {
		t.Fatalf("second delete: %d", st)
	}
	wantRefLog(t, b, "time zone updated", "timezone_id", id(t, tz))
}

func TestTimezoneValidationAndDuplicate(t *testing.T) {
	b := setup(t)
	existing := b.must(http.StatusCreated, "POST", "/api/timezones", map[string]any{"name": "UTC"})
	for _, body := range []map[string]any{
		{"name": "Mars/Olympus"}, {"name": "Local"}, {"name": ""}, {"name": " UTC"},
		{"name": "europe/moscow"}, {}, {"name": strings.Repeat("A", 65)}, {"zone": "UTC"},
	} {
		for _, req := range []struct{ method, path string }{
			{"POST", "/api/timezones"},
			{"PUT", "/api/timezones/" + itoa(id(t, existing))},
		} {
			out := b.must(http.StatusBadRequest, req.method, req.path, body)
			wantError(t, out, "invalid")
		}
	}
	out := b.must(http.StatusConflict, "POST", "/api/timezones", map[string]any{"name": "UTC"})
	wantErrorMentions(t, out, "UTC", "already exists")
	other := b.must(http.StatusCreated, "POST", "/api/timezones", map[string]any{"name": "Europe/Paris"})
	out = b.must(http.StatusConflict, "PUT", "/api/timezones/"+itoa(id(t, other)), map[string]any{"name": "UTC"})
	wantError(t, out, "conflict")
}

func TestTimezoneInUse(t *testing.T) {
	b := setup(t)
	b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79161234567", "timezone": "Asia/Vladivostok"})
	tzID := findRefID(t, b, "/api/timezones", "name", "Asia/Vladivostok")
	path := "/api/timezones/" + itoa(tzID)
	out := b.must(http.StatusConflict, "DELETE", path, nil)
	wantErrorMentions(t, out, "Asia/Vladivostok", "in use", "customers")
	out = b.must(http.StatusConflict, "PUT", path, map[string]any{"name": "Asia/Magadan"})
	wantErrorMentions(t, out, "Asia/Vladivostok", "in use", "customers")
	if got := b.must(http.StatusOK, "GET", path, nil); got["name"] != "Asia/Vladivostok" {
		t.Fatalf("refused rename changed the zone: %v", got)
	}
}

func TestTags(t *testing.T) {
	b := setup(t)
	c := b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79161234567", "tags": []string{"vip", "new"}})
	vip := findRefID(t, b, "/api/tags", "name", "vip")
	newTag := findRefID(t, b, "/api/tags", "name", "new")
	if st, _ := b.do("POST", "/api/tags", map[string]any{"name": "x"}); st != http.StatusMethodNotAllowed {
		t.Fatalf("tags are not created directly, POST gave %d", st)
	}

	// Renaming a linked tag is fine: links are by id.
	got := b.must(http.StatusOK, "PUT", "/api/tags/"+itoa(vip), map[string]any{"name": "  gold  "})
	if got["name"] != "gold" {
		t.Fatalf("rename not normalised: %v", got)
	}
	cust := b.must(http.StatusOK, "GET", "/api/customers/"+itoa(id(t, c)), nil)
	if tags := cust["tags"].([]any); len(tags) != 2 || tags[0] != "gold" {
		t.Fatalf("customer does not follow the rename: %v", tags)
	}
	out := b.must(http.StatusConflict, "PUT", "/api/tags/"+itoa(vip), map[string]any{"name": "new"})
	wantErrorMentions(t, out, "new", "already exists")
	for _, name := range []string{"", "  ", "a,b", "a/b", strings.Repeat("x", 65)} {
		out := b.must(http.StatusBadRequest, "PUT", "/api/tags/"+itoa(vip), map[string]any{"name": name})
		if _, ok := wantError(t, out, "invalid")["name"]; !ok {
			t.Fatalf("name %q: no field message: %v", name, out)
		}
	}

	out = b.must(http.StatusConflict, "DELETE", "/api/tags/"+itoa(vip), nil)
	wantErrorMentions(t, out, "gold", "in use", "customers")

	// A tag only a mailout uses is also protected.
	b.must(http.StatusOK, "DELETE", "/api/customers/"+itoa(id(t, c))+"/tags/"+itoa(newTag), nil)
	mailout := insertBareMailout(t, b)
	execRefSQL(t, b, `INSERT INTO mailout_tags (mailout_id, tag_id) VALUES ($1, $2)`, mailout, newTag)
	out = b.must(http.StatusConflict, "DELETE", "/api/tags/"+itoa(newTag), nil)
	wantErrorMentions(t, out, "new", "in use", "mailouts")
	execRefSQL(t, b, `DELETE FROM mailout_tags`)
	b.must(http.StatusNoContent, "DELETE", "/api/tags/"+itoa(newTag), nil)
	out = b.must(http.StatusNotFound, "DELETE", "/api/tags/"+itoa(newTag), nil)
	wantError(t, out, "not_found")
	if st, _ := b.do("PUT", "/api/tags/999999", map[string]any{"name": "z"}); st != http.StatusNotFound {
		t.Fatalf("rename of a missing tag: %d", st)
	}
	wantRefLog(t, b, "tag updated", "tag_id", vip)
	wantRefLog(t, b, "tag deleted", "tag_id", newTag)
}

func TestRefPagination(t *testing.T) {
	b := setup(t)
	codes := []string{"901", "902", "903", "910", "911"}
	for _, code := range codes {
		b.must(http.StatusCreated, "POST", "/api/phone_codes", map[string]any{"code": code})
	}
	var seen []string
	path := "/api/phone_codes?limit=2"
	for pages := 0; ; pages++ {
		if pages > len(codes) {
			t.Fatal("pagination does not end")
		}
		out := b.must(http.StatusOK, "GET", path, nil)
		page := items(t, out)
		if len(page) > 2 {
			t.Fatalf("page larger than the limit: %v", page)
		}
		for _, it := range page {
			seen = append(seen, it["code"].(string))
		}
		next, ok := out["next"].(string)
		if !ok {
			if out["next"] != nil {
				t.Fatalf("next is neither a cursor nor null: %v", out)
			}
			break
		}
		path = "/api/phone_codes?limit=2&after=" + url.QueryEscape(next)
	}
	if strings.Join(seen, ",") != strings.Join(codes, ",") {
		t.Fatalf("pages gave %v, want %v in id order", seen, codes)
	}
	if got := items(t, b.must(http.StatusOK, "GET", "/api/phone_codes?q=91", nil)); len(got) != 2 {
		t.Fatalf("prefix filter: %v", got)
	}
	b.must(http.StatusCreated, "POST", "/api/timezones", map[string]any{"name": "Europe/Berlin"})
	b.must(http.StatusCreated, "POST", "/api/timezones", map[string]any{"name": "Asia/Tokyo"})
	if got := items(t, b.must(http.StatusOK, "GET", "/api/timezones?q=Europe/", nil)); len(got) != 1 || got[0]["name"] != "Europe/Berlin" {
		t.Fatalf("zone prefix filter: %v", got)
	}
	// A prefix is taken literally: LIKE wildcards match nothing.
	if got := items(t, b.must(http.StatusOK, "GET", "/api/timezones?q=%25", nil)); len(got) != 0 {
		t.Fatalf("wildcard prefix matched: %v", got)
	}
	for _, list := range []string{"/api/phone_codes", "/api/timezones", "/api/tags"} {
		for _, q := range []string{"limit=0", "limit=1001", "limit=x", "after=-1", "after=x"} {
			out := b.must(http.StatusBadRequest, "GET", list+"?"+q, nil)
			wantError(t, out, "invalid")
		}
	}
	if got := b.must(http.StatusOK, "GET", "/api/tags", nil); len(items(t, got)) != 0 || got["next"] != nil {
		t.Fatalf("empty tag list: %v", got)
	}
}

// wantDuplicateRefused creates taken and free at list, then checks that
// creating taken again and changing free to it with method are both
// conflicts; it returns the answer to the duplicate create.
func wantDuplicateRefused(t *testing.T, b *bundle, list, method, field, taken, free string) map[string]any {
	t.Helper()
	b.must(http.StatusCreated, "POST", list, map[string]any{field: taken})
	other := b.must(http.StatusCreated, "POST", list, map[string]any{field: free})
	dup := b.must(http.StatusConflict, "POST", list, map[string]any{field: taken})
	wantError(t, dup, "conflict")
	out := b.must(http.StatusConflict, method, list+"/"+itoa(id(t, other)), map[string]any{field: taken})
	wantError(t, out, "conflict")
	return dup
}

// findRefID looks a reference value up in its list and returns its id.
func findRefID(t *testing.T, b *bundle, list, field, value string) int64 {
	t.Helper()
	for _, it := range items(t, b.must(http.StatusOK, "GET", list+"?limit=1000", nil)) {
		if it[field] == value {
			return id(t, it)
		}
	}
	t.Fatalf("%s has no %s %q", list, field, value)
	return 0
}

// insertBareMailout stores a scheduled mailout directly and returns its id.
func insertBareMailout(t *testing.T, b *bundle) int64 {
	t.Helper()
	var mid int64
	err := b.db.SQL().QueryRow(`INSERT INTO mailouts (text, start_at, end_at)
		VALUES ('x', now() + interval '1 hour', now() + interval '2 hours') RETURNING id`).Scan(&mid)
	if err != nil {
		t.Fatalf("insert mailout: %v", err)
	}
	return mid
}

// execRefSQL runs a statement on the bundle's database.
func execRefSQL(t *testing.T, b *bundle, query string, args ...any) {
	t.Helper()
	if _, err := b.db.SQL().Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// wantErrorMentions checks that the error message mentions every part.
func wantErrorMentions(t *testing.T, out map[string]any, parts ...string) {
	t.Helper()
	e, _ := out["error"].(map[string]any)
	msg, _ := e["message"].(string)
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Fatalf("error message %q does not mention %q", msg, p)
		}
	}
}

// wantRefLog checks that an info line with msg carried the id under key.
func wantRefLog(t *testing.T, b *bundle, msg, key string, want int64) {
	t.Helper()
	for _, l := range b.logs.Lines(t) {
		if l["msg"] == msg && l["level"] == "INFO" {
			if got, _ := l[key].(float64); int64(got) == want {
				return
			}
		}
	}
	t.Fatalf("no info log %q with %s=%d", msg, key, want)
}
