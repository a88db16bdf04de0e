package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

// attrs returns the attributes of a customer answer.
func attrs(t *testing.T, c map[string]any) map[string]any {
	t.Helper()
	a, ok := c["attributes"].(map[string]any)
	if !ok {
		t.Fatalf("no attributes object in %v", c)
	}
	return a
}

func wantAttrs(t *testing.T, c map[string]any, want map[string]any) {
	t.Helper()
	if got := attrs(t, c); !reflect.DeepEqual(got, want) {
		t.Fatalf("attributes %v, want %v", got, want)
	}
}

func TestCustomerAttributesRoundTrip(t *testing.T) {
	b := setup(t)
	c := b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79161234567",
		"attributes": map[string]any{"name": "Anna", "city": "Kazan", "age": 30, "vip": true, "gone": nil}})
	want := map[string]any{"name": "Anna", "city": "Kazan", "age": 30.0, "vip": true}
	wantAttrs(t, c, want)
	path := "/api/customers/" + itoa(id(t, c))
	wantAttrs(t, b.must(http.StatusOK, "GET", path, nil), want)
	wantAttrs(t, items(t, b.must(http.StatusOK, "GET", "/api/customers", nil))[0], want)

	// Numbers come back with their digits, not through a float.
	_, raw := b.raw("PATCH", path, `{"attributes": {"id": 12345678901234567890, "ratio": 0.5}}`, "application/json", b.token)
	if !strings.Contains(string(raw), `"id":12345678901234567890`) || !strings.Contains(string(raw), `"ratio":0.5`) {
		t.Fatalf("numbers changed on the way: %s", raw)
	}

	// PATCH merges: a value sets, null removes, the rest stays.
	patched := b.must(http.StatusOK, "PATCH", path, map[string]any{"attributes": map[string]any{"city": "Moscow", "age": nil, "id": nil, "ratio": nil}})
	wantAttrs(t, patched, map[string]any{"name": "Anna", "city": "Moscow", "vip": true})
	// Other fields leave the attributes alone; {} changes nothing.
	wantAttrs(t, b.must(http.StatusOK, "PATCH", path, map[string]any{"timezone": "Asia/Tokyo"}), attrs(t, patched))
	wantAttrs(t, b.must(http.StatusOK, "PATCH", path, map[string]any{"attributes": map[string]any{}}), attrs(t, patched))
	// null removes them all.
	wantAttrs(t, b.must(http.StatusOK, "PATCH", path, `{"attributes": null}`), map[string]any{})

	// PUT sets the whole object; without attributes there are none.
	put := b.must(http.StatusOK, "PUT", path, map[string]any{"phone": "79161234567", "attributes": map[string]any{"name": "Olga"}})
	wantAttrs(t, put, map[string]any{"name": "Olga"})
	wantAttrs(t, b.must(http.StatusOK, "PUT", path, map[string]any{"phone": "79161234567"}), map[string]any{})

	// A customer without attributes has {} everywhere.
	plain := b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79031234567"})
	wantAttrs(t, plain, map[string]any{})
	for _, c := range items(t, b.must(http.StatusOK, "GET", "/api/customers", nil)) {
		wantAttrs(t, c, map[string]any{})
	}
	_, raw = b.raw("GET", "/api/customers/"+itoa(id(t, plain)), nil, "", b.token)
	if !strings.Contains(string(raw), `"attributes":{}`) {
		t.Fatalf("attributes must be {} when there are none: %s", raw)
	}
}

// Patches of different attributes sent at once all land: each is merged
// into the customer as it is under the row's lock.
func TestCustomerAttributePatchesCompose(t *testing.T) {
	b := setup(t)
	path := "/api/customers/" + itoa(id(t, b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79161234567"})))
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			b.must(http.StatusOK, "PATCH", path, map[string]any{"attributes": map[string]any{fmt.Sprintf("k%d", i): i}})
		})
	}
	wg.Wait()
	if got := attrs(t, b.must(http.StatusOK, "GET", path, nil)); len(got) != n {
		t.Fatalf("attributes %v: want all %d patches", got, n)
	}
}

func TestCustomerAttributesValidation(t *testing.T) {
	b := setup(t)
	many := map[string]any{}
	for i := range 33 {
		many[fmt.Sprintf("k%d", i)] = i
	}
	full := map[string]any{}
	for i := range 32 {
		full[fmt.Sprintf("k%d", i)] = i
	}
	cases := []struct {
		name   string
		attrs  any
		fields []string
	}{
		{"33 keys", many, []string{"attributes"}},
		{"over 2048 bytes", map[string]any{"note": strings.Repeat("x", 2040)}, []string{"attributes"}},
		{"bad keys", map[string]any{"first-name": "a", "2nd": "b", "_x": 1, "имя": "c", "ok": 1}, []string{"attributes.first-name", "attributes.2nd", "attributes._x", "attributes.имя"}},
		{"65-character key", map[string]any{strings.Repeat("k", 65): 1}, []string{"attributes." + strings.Repeat("k", 64) + "…"}},
		{"nested object", map[string]any{"city": map[string]any{"name": "Kazan"}}, []string{"attributes.city"}},
		{"array", map[string]any{"kids": []string{"a"}}, []string{"attributes.kids"}},
		{"NUL", map[string]any{"name": "a\x00b"}, []string{"attributes.name"}},
		{"not an object", "Kazan", []string{"attributes"}},
		{"an array", []any{1}, []string{"attributes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, out := b.do("POST", "/api/customers", map[string]any{"phone": "79161234567", "attributes": tc.attrs})
			if st != http.StatusBadRequest {
				t.Fatalf("status %d: %v", st, out)
			}
			fields := wantError(t, out, "invalid")
			got := make([]string, 0, len(fields))
			for f := range fields {
				got = append(got, f)
			}
			sort.Strings(got)
			sort.Strings(tc.fields)
			if !reflect.DeepEqual(got, tc.fields) {
				t.Fatalf("fields %v, want %v", fields, tc.fields)
			}
		})
	}
	// Numbers past float64 are refused, not stored as something else.
	st, out := b.do("POST", "/api/customers", `{"phone": "79161234567", "attributes": {"big": 1e400}}`)
	if st != http.StatusBadRequest || wantError(t, out, "invalid")["attributes.big"] == nil {
		t.Fatalf("1e400: %d %v", st, out)
	}

	// The limits hold for the result of a patch.
	c := b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79161234567", "attributes": full})
	path := "/api/customers/" + itoa(id(t, c))
	st, out = b.do("PATCH", path, map[string]any{"attributes": map[string]any{"one_more": 1}})
	if st != http.StatusBadRequest || wantError(t, out, "invalid")["attributes"] == nil {
		t.Fatalf("33rd key by patch: %d %v", st, out)
	}
	b.must(http.StatusOK, "PATCH", path, map[string]any{"attributes": map[string]any{"one_more": 1, "k0": nil}})
	st, out = b.do("PATCH", path, map[string]any{"attributes": map[string]any{"k1": map[string]any{}}})
	if st != http.StatusBadRequest || wantError(t, out, "invalid")["attributes.k1"] == nil {
		t.Fatalf("nested value by patch: %d %v", st, out)
	}
	if got := attrs(t, b.must(http.StatusOK, "GET", path, nil)); len(got) != 32 || got["one_more"] != 1.0 || got["k0"] != nil {
		t.Fatalf("after the refused patches: %v", got)
	}
}

func TestCustomerAttributeFilters(t *testing.T) {
	b := setup(t)
	ids := map[string]int64{}
	for _, c := range []struct {
		name string
		body map[string]any
	}{ // in id order
		{"anna", map[string]any{"phone": "79160000001", "tags": []string{"vip"}, "attributes": map[string]any{"name": "Anna", "city": "Kazan", "age": 30}}},
		{"boris", map[string]any{"phone": "79160000002", "attributes": map[string]any{"name": "Boris", "city": "Kazan", "age": "30"}}},
		{"vera", map[string]any{"phone": "79160000003", "tags": []string{"vip"}, "attributes": map[string]any{"name": "Vera", "city": "Omsk", "age": 31, "vip": true}}},
		{"gleb", map[string]any{"phone": "79160000004", "attributes": map[string]any{"name": "Gleb", "vip": "true"}}},
		{"none", map[string]any{"phone": "79160000005"}},
	} {
		ids[c.name] = id(t, b.must(http.StatusCreated, "POST", "/api/customers", c.body))
	}
	names := func(out map[string]any) string {
		var got []string
		for _, c := range items(t, out) {
			for name, cid := range ids {
				if id(t, c) == cid {
					got = append(got, name)
				}
			}
		}
		sort.Strings(got)
		return strings.Join(got, ",")
	}
	for query, want := range map[string]string{
		"attr.city=Kazan":                      "anna,boris",
		"attr.city=Kazan&attr.city=Omsk":       "anna,boris,vera",
		"attr.city=Kazan&attr.name=Anna":       "anna",
		"attr.age=30":                          "anna,boris", // the number and the string
		"attr.vip=true":                        "gleb,vera",
		"attr.city=Kazan&tag=vip":              "anna",
		"attr.city=Omsk&phone_prefix=7916":     "vera",
		"attr.city=Perm":                       "",
		"attr.city=kazan":                      "",
		"attr.name=" + url.QueryEscape("Anna"): "anna",
	} {
		if got := names(b.must(http.StatusOK, "GET", "/api/customers?"+query, nil)); got != want {
			t.Errorf("?%s: %q, want %q", query, got, want)
		}
	}
	// Keyset pages of a filtered list.
	first := b.must(http.StatusOK, "GET", "/api/customers?attr.city=Kazan&attr.city=Omsk&limit=2", nil)
	next, _ := first["next"].(string)
	rest := b.must(http.StatusOK, "GET", "/api/customers?attr.city=Kazan&attr.city=Omsk&limit=2&after="+next, nil)
	if names(first) != "anna,boris" || names(rest) != "vera" || rest["next"] != nil {
		t.Fatalf("pages %v then %v", first, rest)
	}

	// The search body compares typed values exactly.
	for body, want := range map[string]string{
		`{"attributes": {"age": 30}}`:                        "anna",
		`{"attributes": {"age": "30"}}`:                      "boris",
		`{"attributes": {"age": [30, "30", 31]}}`:            "anna,boris,vera",
		`{"attributes": {"age": 30.0}}`:                      "anna",
		`{"attributes": {"vip": true}}`:                      "vera",
		`{"attributes": {"city": "Kazan"}, "tags": ["vip"]}`: "anna",
		`{"attributes": {}}`:                                 "anna,boris,gleb,none,vera",
	} {
		if got := names(b.must(http.StatusOK, "POST", "/api/search", body)); got != want {
			t.Errorf("search %s: %q, want %q", body, got, want)
		}
	}

	// Bad filters are 400s naming what the client wrote.
	for query, field := range map[string]string{
		"attr.first-name=x":                      "attr.first-name",
		"attr.=x":                                "attr.",
		"attr.name=" + url.QueryEscape("a\x00b"): "attr.name",
	} {
		st, out := b.do("GET", "/api/customers?"+query, nil)
		if st != http.StatusBadRequest || wantError(t, out, "invalid")[field] == nil {
			t.Errorf("?%s: %d %v, want a problem with %s", query, st, out, field)
		}
	}
	for body, field := range map[string]string{
		`{"attributes": {"first-name": "x"}}`: "attributes.first-name",
		`{"attributes": {"city": null}}`:      "attributes.city",
		`{"attributes": {"city": []}}`:        "attributes.city",
		`{"attributes": {"city": {"a": 1}}}`:  "attributes.city",
		`{"attributes": "Kazan"}`:             "attributes",
	} {
		st, out := b.do("POST", "/api/search", body)
		if st != http.StatusBadRequest || wantError(t, out, "invalid")[field] == nil {
			t.Errorf("search %s: %d %v, want a problem with %s", body, st, out, field)
		}
	}
}

// The audit trail of a customer update names each attribute that changed.
func TestCustomerAttributesAudit(t *testing.T) {
	b := setup(t)
	c := b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79161234567",
		"attributes": map[string]any{"name": "Anna", "city": "Kazan", "age": 30}})
	cid := itoa(id(t, c))
	b.must(http.StatusOK, "PATCH", "/api/customers/"+cid, map[string]any{"attributes": map[string]any{"city": "Moscow", "age": nil, "vip": true}})
	events := items(t, b.must(http.StatusOK, "GET", "/api/audit?object_type=customer&object_id="+cid, nil))
	diffs := map[string]map[string]any{}
	for _, e := range events {
		diffs[e["action"].(string)] = e["diff"].(map[string]any)
	}
	created, updated := diffs["customer.created"], diffs["customer.updated"]
	if created["attributes.city"] == nil || created["attributes"] != nil {
		t.Errorf("create diff %v: want each attribute on its own", created)
	}
	want := map[string]any{
		"attributes.city": map[string]any{"from": "Kazan", "to": "Moscow"},
		"attributes.age":  map[string]any{"from": 30.0, "to": nil},
		"attributes.vip":  map[string]any{"from": nil, "to": true},
	}
	if !reflect.DeepEqual(updated, want) {
		raw, _ := json.Marshal(updated)
		t.Errorf("update diff %s, want the three attribute changes", raw)
	}
}

func TestImportCSVAttributes(t *testing.T) {
	b := setup(t)
	body := "phone,City,age,tags, first_name \n" +
		"79160000001,Kazan,30,vip,Anna\n" + // 2
		"79160000002,,007,,\n" + // 3: empty cells left out, digits kept as written
		"79160000003,,,,\n" + // 4: no attributes
		"79160000004,Omsk,1e3,,\"Ива\x00н\"\n" + // 5: NUL
		"79160000005,\"" + strings.Repeat("x", 2100) + "\",,,\n" + // 6: too large
		"79160000006,\"Kazan, center\",,,\n" // 7
	got := b.importBody("", "text/csv", body)
	if got.Inserted != 4 {
		t.Fatalf("counts: %+v", got)
	}
	wantRejected(t, got, map[int64]string{
		5: "attributes.first_name must not contain NUL characters",
		6: "attributes must take at most 2048 bytes",
	})
	want := map[string]map[string]any{
		"79160000001": {"City": "Kazan", "age": "30", "first_name": "Anna"},
		"79160000002": {"age": "007"},
		"79160000003": {},
		"79160000006": {"City": "Kazan, center"},
	}
	if got := b.storedAttributes(); !reflect.DeepEqual(got, want) {
		t.Fatalf("stored attributes %v,\nwant %v", got, want)
	}
	if n := len(items(t, b.must(http.StatusOK, "GET", "/api/customers?attr.City=Kazan", nil))); n != 1 {
		t.Fatalf("%d customers in Kazan", n)
	}

	// update describes the whole customer: its attributes are the row's.
	again := b.importBody("?on_conflict=update", "text/csv", "phone,age\n79160000001,31\n79160000002,\n")
	if again.Updated != 2 {
		t.Fatalf("update: %+v", again)
	}
	if got := b.storedAttributes(); !reflect.DeepEqual(got["79160000001"], map[string]any{"age": "31"}) || len(got["79160000002"]) != 0 {
		t.Fatalf("after update: %v", got)
	}

	for header, what := range map[string]string{
		"phone,first-name\n":            `column "first-name" is neither a known column nor an attribute name`,
		"phone,city,city\n":             `column "city" appears twice`,
		"phone,,tags\n":                 `column "" is neither`,
		"phone,1st\n":                   `column "1st" is neither`,
		"phone,Phone_Code,PHONE_CODE\n": `column "PHONE_CODE" appears twice`,
	} {
		msg := b.importFailure(http.StatusBadRequest, "", "text/csv", header+"79160000009,x\n", "invalid")
		if !strings.Contains(msg, what) {
			t.Errorf("%q: message %q, want %q", header, msg, what)
		}
	}
}

func TestImportNDJSONAttributes(t *testing.T) {
	b := setup(t)
	body := strings.Join([]string{
		`{"phone":"79160000001","attributes":{"name":"Anna","age":30,"vip":true}}`,
		`{"phone":"79160000002","attributes":{"city":{"name":"Kazan"}}}`,
		`{"phone":"79160000003","attributes":{"first-name":"x"}}`,
		`{"phone":"79160000004","attributes":"Kazan"}`,
		`{"phone":"79160000005","attributes":` + manyJSON(33) + `}`,
		`{"phone":"79160000006","attributes":{"gone":null,"kept":""}}`,
		`{"phone":"79160000007","attributes":null}`,
		`{"phone":"79160000008","attributes":{"n":1e400}}`,
	}, "\n")
	got := b.importBody("", "application/x-ndjson", body)
	if got.Inserted != 3 {
		t.Fatalf("counts: %+v", got)
	}
	wantRejected(t, got, map[int64]string{
		2: "attributes.city must be a string, a number or a boolean",
		3: "attributes.first-name must be 1 to 64 ASCII letters",
		4: "attributes must be an object",
		5: "attributes must have at most 32 keys",
		8: "attributes.n must be a number within the range",
	})
	want := map[string]map[string]any{
		"79160000001": {"name": "Anna", "age": 30.0, "vip": true},
		"79160000006": {"kept": ""},
		"79160000007": {},
	}
	if got := b.storedAttributes(); !reflect.DeepEqual(got, want) {
		t.Fatalf("stored attributes %v,\nwant %v", got, want)
	}
}

func manyJSON(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"k%d":%d`, i, i)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// storedAttributes returns every customer's attributes by phone, as stored.
func (b *bundle) storedAttributes() map[string]map[string]any {
	b.t.Helper()
	rows, err := b.db.SQL().Query(`SELECT phone, attributes FROM customers`)
	if err != nil {
		b.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[string]any{}
	for rows.Next() {
		var phone string
		var raw []byte
		if err := rows.Scan(&phone, &raw); err != nil {
			b.t.Fatal(err)
		}
		var a map[string]any
		if err := json.Unmarshal(raw, &a); err != nil {
			b.t.Fatal(err)
		}
		out[phone] = a
	}
	if err := rows.Err(); err != nil {
		b.t.Fatal(err)
	}
	return out
}
