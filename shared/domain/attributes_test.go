package domain_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"mailing/shared/domain"
)

// decodeInput reads a customer's JSON the way the API does.
func decodeInput(t *testing.T, body string) domain.CustomerInput {
	t.Helper()
	var in domain.CustomerInput
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return in
}

// manyAttributes is an object of n keys k0…k(n-1) with value v.
func manyAttributes(n int, v any) string {
	parts := make([]string, n)
	for i := range parts {
		b, _ := json.Marshal(v)
		parts[i] = fmt.Sprintf(`"k%d":%s`, i, b)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func TestAttributesApply(t *testing.T) {
	existing := domain.Customer{ID: 7, Phone: "79161234567", PhoneCode: "916", Timezone: "UTC", Tags: []string{},
		Attributes: domain.Attributes{"name": "Anna", "city": "Kazan", "age": json.Number("30")}}
	full := make(domain.Attributes, domain.MaxAttributes)
	for i := range domain.MaxAttributes {
		full[fmt.Sprintf("k%d", i)] = "v"
	}
	atLimit := `"` + strings.Repeat("x", 2048-len(`{"k":""}`)) + `"`
	cases := []struct {
		name string
		base domain.Customer // zero: create
		body string          // the attributes member, or "" for none
		want domain.Attributes
		bad  []string // fields with a problem; want is not checked
	}{
		{name: "create without attributes", want: domain.Attributes{}},
		{name: "create with every kind of value", body: `{"name": "Anna", "age": 30, "ratio": -1.5e-3, "vip": true, "note": ""}`,
			want: domain.Attributes{"name": "Anna", "age": json.Number("30"), "ratio": json.Number("-1.5e-3"), "vip": true, "note": ""}},
		{name: "numbers keep their digits", body: `{"id": 12345678901234567890}`,
			want: domain.Attributes{"id": json.Number("12345678901234567890")}},
		{name: "create: null leaves a key out", body: `{"name": "Anna", "city": null}`, want: domain.Attributes{"name": "Anna"}},
		{name: "create: null attributes are none", body: `null`, want: domain.Attributes{}},
		{name: "32 keys", body: manyAttributes(32, "v"), want: full},
		{name: "33 keys", body: manyAttributes(33, "v"), bad: []string{"attributes"}},
		{name: "2048 bytes", body: `{"k":` + atLimit + `}`, want: domain.Attributes{"k": strings.Repeat("x", 2048-len(`{"k":""}`))}},
		{name: "2049 bytes", body: `{"k":"x` + atLimit[1:] + `}`, bad: []string{"attributes"}},
		{name: "size counts escapes", body: `{"k":"` + strings.Repeat(`\"`, 1021) + `"}`, bad: []string{"attributes"}},
		{name: "nested object", body: `{"city": {"name": "Kazan"}}`, bad: []string{"attributes.city"}},
		{name: "array", body: `{"tags": ["a"]}`, bad: []string{"attributes.tags"}},
		{name: "number out of range", body: `{"big": 1e400}`, bad: []string{"attributes.big"}},
		{name: "NUL in a string", body: `{"name": "An\u0000na"}`, bad: []string{"attributes.name"}},
		{name: "bad keys, each named", body: `{"": 1, "1st": 1, "first-name": 1, "имя": 1, "_x": 1, "ok_Key9": 1}`,
			bad: []string{"attributes.", "attributes.1st", "attributes.first-name", "attributes.имя", "attributes._x"}},
		{name: "64-character key", body: `{"` + "k" + strings.Repeat("_", 63) + `": 1}`,
			want: domain.Attributes{"k" + strings.Repeat("_", 63): json.Number("1")}},
		{name: "65-character key is cut in the field name", body: `{"` + strings.Repeat("k", 65) + `": 1}`,
			bad: []string{"attributes." + strings.Repeat("k", 64) + "…"}},
		{name: "a flood of bad keys is listed in part", body: manyAttributes(40, []int{1}),
			bad: append(listedKeys(10), "attributes")},

		{name: "patch without attributes keeps them", base: existing, want: existing.Attributes},
		{name: "patch merges: set, change, remove, keep", base: existing, body: `{"city": "Moscow", "age": null, "vip": false}`,
			want: domain.Attributes{"name": "Anna", "city": "Moscow", "vip": false}},
		{name: "patch: removing a missing key is no change", base: existing, body: `{"zip": null}`, want: existing.Attributes},
		{name: "patch: {} is no change", base: existing, body: `{}`, want: existing.Attributes},
		{name: "patch: null removes every key", base: existing, body: `null`, want: domain.Attributes{}},
		{name: "patch: the merged object is limited", base: domain.Customer{ID: 7, Phone: "79161234567", Attributes: full},
			body: `{"one_more": 1}`, bad: []string{"attributes"}},
		{name: "patch: a removal makes room", base: domain.Customer{ID: 7, Phone: "79161234567", Attributes: full},
			body: `{"one_more": 1, "k0": null}`, want: func() domain.Attributes {
				a := domain.Attributes{"one_more": json.Number("1")}
				for k, v := range full {
					if k != "k0" {
						a[k] = v
					}
				}
				return a
			}()},
		{name: "patch: bad values are refused even beside removals", base: existing, body: `{"age": null, "city": [1]}`,
			bad: []string{"attributes.city"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"phone": "79161234567"}`
			if tc.body != "" {
				body = `{"phone": "79161234567", "attributes": ` + tc.body + `}`
			}
			in := decodeInput(t, body)
			if tc.base.ID != 0 {
				in.Phone = nil
			}
			before := fmt.Sprint(tc.base.Attributes)
			got, err := in.Apply(tc.base, "UTC")
			if fmt.Sprint(tc.base.Attributes) != before {
				t.Fatalf("Apply changed the current attributes: %v", tc.base.Attributes)
			}
			if len(tc.bad) > 0 {
				wantFields(t, err, tc.bad...)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !reflect.DeepEqual(got.Attributes, tc.want) {
				t.Fatalf("attributes %#v, want %#v", got.Attributes, tc.want)
			}
		})
	}
}

// listedKeys are the fields of the first n keys of manyAttributes, in the
// order they are checked (sorted).
func listedKeys(n int) []string {
	keys := make([]string, 40)
	for i := range keys {
		keys[i] = fmt.Sprintf("attributes.k%d", i)
	}
	slices.Sort(keys)
	return keys[:n]
}

func TestAttributesApplyGoValues(t *testing.T) {
	in := domain.CustomerInput{Phone: ptr("79161234567"),
		Attributes: domain.SetAttributes(domain.Attributes{"i": 3, "f": 2.5, "big": int64(1) << 60, "s": "x"})}
	got, err := in.Apply(domain.Customer{}, "UTC")
	if err != nil {
		t.Fatal(err)
	}
	want := domain.Attributes{"i": json.Number("3"), "f": json.Number("2.5"), "big": json.Number("1152921504606846976"), "s": "x"}
	if !reflect.DeepEqual(got.Attributes, want) {
		t.Fatalf("got %#v, want %#v", got.Attributes, want)
	}
	for name, v := range map[string]any{"invalid UTF-8": "a\xffb", "not a JSON number": json.Number("0x10"), "struct": struct{}{}} {
		in := domain.CustomerInput{Phone: ptr("79161234567"), Attributes: domain.SetAttributes(domain.Attributes{"k": v})}
		if _, err := in.Apply(domain.Customer{}, "UTC"); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			wantFields(t, err, "attributes.k")
		}
	}
}

// "attributes" that is no object is a type error naming the field, which
// the HTTP layer turns into {"attributes": "must be an object"}.
func TestAttributesMustBeAnObject(t *testing.T) {
	for _, v := range []string{`"Kazan"`, `[]`, `3`, `true`} {
		var in domain.CustomerInput
		err := json.Unmarshal([]byte(`{"attributes": `+v+`}`), &in)
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) || te.Field != "attributes" || te.Type != reflect.TypeFor[domain.Attributes]() {
			t.Errorf("%s: error %v, want a type error on attributes", v, err)
		}
	}
}

func TestAttributesJSON(t *testing.T) {
	b, err := json.Marshal(domain.Customer{})
	if err != nil || !strings.Contains(string(b), `"attributes":{}`) {
		t.Fatalf("a customer without attributes encodes as %s (%v), want attributes {}", b, err)
	}
	for in, want := range map[string]string{
		`{}`:                                  `{}`,
		`{"attributes": null}`:                `{"attributes":null}`,
		`{"attributes": {"a": null, "b": 1}}`: `{"attributes":{"a":null,"b":1}}`,
	} {
		var ci domain.CustomerInput
		if err := json.Unmarshal([]byte(in), &ci); err != nil {
			t.Fatal(err)
		}
		if b, err := json.Marshal(ci); err != nil || string(b) != want {
			t.Errorf("%s encodes back as %s (%v), want %s", in, b, err, want)
		}
	}
}

// MarshalJSON writes what encoding/json writes without HTML escaping, and
// CompactSize counts it.
func TestAttributesEncoding(t *testing.T) {
	values := []any{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr\bbs\fff", "\x01\x1f\x7f control", "<b>&amp;</b>",
		"Привет, 😀", "line\u2028sep\u2029", "bad \xff\xfe utf-8", json.Number("-1.5e10"), true, false, 3, 2.5}
	a := domain.Attributes{}
	for i, v := range values {
		one := domain.Attributes{"k": v}
		want := encoded(t, one)
		if got, err := one.MarshalJSON(); err != nil || string(got) != want {
			t.Errorf("%q: MarshalJSON %s (%v), encoding/json %s", v, got, err, want)
		}
		if got := domain.CompactSize(one); got != len(want) {
			t.Errorf("%q: CompactSize %d, encoded %d", v, got, len(want))
		}
		a[fmt.Sprintf("key_%d", i)] = v
	}
	want := encoded(t, a)
	if got, err := a.MarshalJSON(); err != nil || string(got) != want {
		t.Errorf("all: MarshalJSON %s (%v), encoding/json %s", got, err, want)
	}
	if got := domain.CompactSize(a); got != len(want) {
		t.Errorf("all: CompactSize %d, encoded %d", got, len(want))
	}
	if got, _ := domain.Attributes(nil).MarshalJSON(); string(got) != "{}" || domain.CompactSize(nil) != 2 {
		t.Errorf("no attributes: %s, size %d", got, domain.CompactSize(nil))
	}
	if _, err := (domain.Attributes{"k": json.Number("0x10")}).MarshalJSON(); err == nil {
		t.Error("a json.Number that is no number was encoded")
	}
}

func encoded(t *testing.T, a domain.Attributes) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any(a)); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func TestAttributeFilter(t *testing.T) {
	var f domain.CustomerFilter
	if err := json.Unmarshal([]byte(`{"attributes": {"city": "Kazan", "age": [30, "30"], "vip": true}}`), &f); err != nil {
		t.Fatal(err)
	}
	want := domain.AttributeFilter{"city": {"Kazan"}, "age": {json.Number("30"), "30"}, "vip": {true}}
	if !reflect.DeepEqual(f.Attributes, want) {
		t.Fatalf("decoded %#v, want %#v", f.Attributes, want)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		`{"first-name": "x"}`:   "attributes.first-name",
		`{"city": null}`:        "attributes.city",
		`{"city": []}`:          "attributes.city",
		`{"city": [null]}`:      "attributes.city",
		`{"city": {"a": 1}}`:    "attributes.city",
		`{"city": [["Kazan"]]}`: "attributes.city",
		`{"city": "a\u0000b"}`:  "attributes.city",
		manyAttributes(33, 1):   "attributes",
		`{"n": [` + strings.TrimSuffix(strings.Repeat("1,", 101), ",") + `]}`: "attributes.n",
	}
	for body, field := range bad {
		var f domain.CustomerFilter
		if err := json.Unmarshal([]byte(`{"attributes": `+body+`}`), &f); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		wantFields(t, f.Validate(), field)
	}
	errs := domain.FieldErrors{}
	domain.AttributeFilter{"ok": {"x"}, "no way": {"x"}}.Validate("attr", errs)
	if len(errs) != 1 || errs["attr.no way"] == "" {
		t.Fatalf("errors under another name: %v", errs)
	}
}

func TestLooseAttributeValues(t *testing.T) {
	for in, want := range map[string][]any{
		"Kazan":  {"Kazan"},
		"30":     {"30", json.Number("30")},
		"-1.5e3": {"-1.5e3", json.Number("-1.5e3")},
		"true":   {"true", true},
		"false":  {"false", false},
		"True":   {"True"},
		"030":    {"030"},
		"1e400":  {"1e400"},
		"0x10":   {"0x10"},
		"":       {""},
		" 1":     {" 1"},
	} {
		if got := domain.LooseAttributeValues(in); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %#v, want %#v", in, got, want)
		}
	}
}

// The audit diff of a customer names each changed attribute.
func TestDiffCustomers(t *testing.T) {
	before := domain.Customer{ID: 1, Phone: "79161234567", Timezone: "UTC", Tags: []string{},
		Attributes: domain.Attributes{"name": "Anna", "city": "Kazan", "age": json.Number("30")}}
	after := before
	after.Timezone = "Europe/Moscow"
	after.Attributes = domain.Attributes{"name": "Anna", "city": "Moscow", "vip": true}
	got := domain.DiffCustomers(&before, after)
	want := map[string]domain.Change{
		"timezone":        {From: "UTC", To: "Europe/Moscow"},
		"attributes.city": {From: "Kazan", To: "Moscow"},
		"attributes.age":  {From: 30.0},
		"attributes.vip":  {To: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("diff %v,\nwant %v", got, want)
	}
	created := domain.DiffCustomers(nil, after)
	if created["attributes.city"] != (domain.Change{To: "Moscow"}) || created["phone"] != (domain.Change{To: "79161234567"}) {
		t.Fatalf("create diff %v", created)
	}
	if _, whole := created["attributes"]; whole {
		t.Fatalf("create diff holds the whole object: %v", created)
	}
	long := after
	long.Attributes = domain.Attributes{"note": strings.Repeat("x", 1000)}
	if to, _ := domain.DiffCustomers(&after, long)["attributes.note"].To.(string); len(to) > 210 {
		t.Fatalf("a long value is kept whole in the diff: %d bytes", len(to))
	}
}
