package domain_test

import (
	"reflect"
	"strings"
	"testing"

	"mailing/shared/domain"
)

func TestValidatePhone(t *testing.T) {
	cases := []struct {
		phone string
		ok    bool
	}{
		{"79161234567", true},
		{"70000000000", true},
		{"79999999999", true},
		{"89161234567", false},  // national prefix 8
		{"+79161234567", false}, // no plus
		{"7916123456", false},   // 10 digits
		{"791612345678", false}, // 12 digits
		{"7916123456a", false},
		{"7 9161234567", false},
		{"79161234567\n", false}, // $ must not match before a final newline
		{" 79161234567", false},
		{"７9161234567", false}, // full-width digit
		{"", false},
	}
	for _, tc := range cases {
		got := domain.ValidatePhone(tc.phone)
		if (got == "") != tc.ok {
			t.Errorf("ValidatePhone(%q) = %q, want ok=%v", tc.phone, got, tc.ok)
		}
	}
}

func TestValidatePhoneCode(t *testing.T) {
	cases := []struct {
		code string
		ok   bool
	}{
		{"916", true},
		{"000", true},
		{"91", false},
		{"9161", false},
		{"9a6", false},
		{" 916", false},
		{"916\n", false},
		{"", false},
		{"-91", false},
	}
	for _, tc := range cases {
		got := domain.ValidatePhoneCode(tc.code)
		if (got == "") != tc.ok {
			t.Errorf("ValidatePhoneCode(%q) = %q, want ok=%v", tc.code, got, tc.ok)
		}
	}
}

func TestPhoneCodeOf(t *testing.T) {
	cases := map[string]string{
		"79161234567": "916",
		"79031234567": "903",
		"70001234567": "000",
		"7916":        "916",
		"791":         "",
		"":            "",
	}
	for phone, want := range cases {
		if got := domain.PhoneCodeOf(phone); got != want {
			t.Errorf("PhoneCodeOf(%q) = %q, want %q", phone, got, want)
		}
	}
}

func TestValidateTimezone(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"Europe/Moscow", true},
		{"Asia/Vladivostok", true},
		{"America/Argentina/Buenos_Aires", true},
		{"UTC", true},
		{"Etc/GMT+3", true},
		{"", false},
		{"Local", false}, // means a different zone on every machine
		{"Mars/Olympus", false},
		{" Europe/Moscow", false},
		{"Europe/Moscow ", false},
		{"Europe/", false},
		{"../etc/passwd", false},
		{"/usr/share/zoneinfo/UTC", false},
		{strings.Repeat("A", 65), false},
	}
	for _, tc := range cases {
		got := domain.ValidateTimezone(tc.name)
		if (got == "") != tc.ok {
			t.Errorf("ValidateTimezone(%q) = %q, want ok=%v", tc.name, got, tc.ok)
		}
	}
}

func TestNormalizeTag(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"vip", "vip", true},
		{"  vip  ", "vip", true},
		{"Black Friday", "Black Friday", true},
		{"клиент", "клиент", true},
		{strings.Repeat("x", 64), strings.Repeat("x", 64), true},
		{strings.Repeat("я", 32), strings.Repeat("я", 32), true}, // 64 bytes
		{"", "", false},
		{"   ", "", false},
		{strings.Repeat("x", 65), "", false},
		{strings.Repeat("я", 33), "", false}, // 66 bytes: the limit is in bytes
		{"a,b", "", false},
		{"a;b", "", false},
		{"a/b", "", false},
		{"a\tb", "", false},
		{"a\nb", "", false},
		{"a\x00b", "", false}, // PostgreSQL text cannot hold NUL
		{"a\x7fb", "", false},
		{"a\xffb", "", false}, // not UTF-8
	}
	for _, tc := range cases {
		got, problem := domain.NormalizeTag(tc.in)
		if (problem == "") != tc.ok || got != tc.want {
			t.Errorf("NormalizeTag(%q) = %q, %q; want %q ok=%v", tc.in, got, problem, tc.want, tc.ok)
		}
	}
}

func TestNormalizeTags(t *testing.T) {
	cases := []struct {
		name string
		in   []string
		want []string
		bad  bool
	}{
		{"empty", []string{}, []string{}, false},
		{"nil", nil, []string{}, false},
		{"dedup keeps first order", []string{"b", " a", "b ", "a", "c"}, []string{"b", "a", "c"}, false},
		{"bad one reported, good kept", []string{"ok", "", "x,y"}, []string{"ok"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := domain.FieldErrors{}
			got := domain.NormalizeTags("tags", tc.in, errs)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if _, bad := errs["tags"]; bad != tc.bad {
				t.Fatalf("field errors %v, want bad=%v", errs, tc.bad)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestCustomerInputApply(t *testing.T) {
	existing := domain.Customer{ID: 7, Phone: "79161234567", PhoneCode: "916", Timezone: "Asia/Tokyo", Tags: []string{"vip"}}
	cases := []struct {
		name      string
		in        domain.CustomerInput
		base      domain.Customer
		want      domain.Customer // checked when badFields is empty
		badFields []string
	}{
		{
			name: "create: defaults from phone and service zone",
			in:   domain.CustomerInput{Phone: ptr("79031234567")},
			want: domain.Customer{Phone: "79031234567", PhoneCode: "903", Timezone: "Europe/Moscow", Tags: []string{}, Attributes: domain.Attributes{}},
		},
		{
			name: "create: explicit code, zone and tags",
			in: domain.CustomerInput{Phone: ptr("79031234567"), PhoneCode: ptr("916"), Timezone: ptr("Asia/Tokyo"),
				Tags: &[]string{" a", "a", "b"}},
			want: domain.Customer{Phone: "79031234567", PhoneCode: "916", Timezone: "Asia/Tokyo", Tags: []string{"a", "b"}, Attributes: domain.Attributes{}},
		},
		{
			name:      "create: bad phone only blames the phone",
			in:        domain.CustomerInput{Phone: ptr("8903")},
			badFields: []string{"phone"},
		},
		{
			name:      "create: bad phone and bad explicit code",
			in:        domain.CustomerInput{Phone: ptr("8903"), PhoneCode: ptr("12")},
			badFields: []string{"phone", "phone_code"},
		},
		{
			name:      "create: every field wrong",
			in:        domain.CustomerInput{Phone: ptr("x"), PhoneCode: ptr("x"), Timezone: ptr("Nowhere/Land"), Tags: &[]string{""}},
			badFields: []string{"phone", "phone_code", "timezone", "tags"},
		},
		{
			name:      "create: no phone",
			in:        domain.CustomerInput{},
			badFields: []string{"phone"},
		},
		{
			name: "patch: only the zone changes",
			in:   domain.CustomerInput{Timezone: ptr("Europe/Berlin")},
			base: existing,
			want: domain.Customer{ID: 7, Phone: "79161234567", PhoneCode: "916", Timezone: "Europe/Berlin", Tags: []string{"vip"}, Attributes: domain.Attributes{}},
		},
		{
			name: "patch: a new phone keeps the stored code",
			in:   domain.CustomerInput{Phone: ptr("79031234567")},
			base: existing,
			want: domain.Customer{ID: 7, Phone: "79031234567", PhoneCode: "916", Timezone: "Asia/Tokyo", Tags: []string{"vip"}, Attributes: domain.Attributes{}},
		},
		{
			name: "patch: empty tag list clears tags",
			in:   domain.CustomerInput{Tags: &[]string{}},
			base: existing,
			want: domain.Customer{ID: 7, Phone: "79161234567", PhoneCode: "916", Timezone: "Asia/Tokyo", Tags: []string{}, Attributes: domain.Attributes{}},
		},
		{
			name: "patch: stored record without zone gets the default",
			in:   domain.CustomerInput{},
			base: domain.Customer{ID: 7, Phone: "79161234567", PhoneCode: "916"},
			want: domain.Customer{ID: 7, Phone: "79161234567", PhoneCode: "916", Timezone: "Europe/Moscow", Tags: []string{}, Attributes: domain.Attributes{}},
		},
		{
			name:      "patch: explicit bad zone",
			in:        domain.CustomerInput{Timezone: ptr("Local")},
			base:      existing,
			badFields: []string{"timezone"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.Apply(tc.base, "Europe/Moscow")
			if len(tc.badFields) == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
				return
			}
			wantFields(t, err, tc.badFields...)
		})
	}
}

// wantFields checks that err is an Invalid error naming exactly fields.
func wantFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	de, ok := err.(*domain.Error)
	if !ok || de.Code != domain.CodeInvalid {
		t.Fatalf("want an invalid error, got %v", err)
	}
	if len(de.Fields) != len(fields) {
		t.Fatalf("fields %v, want exactly %v", de.Fields, fields)
	}
	for _, f := range fields {
		if de.Fields[f] == "" {
			t.Fatalf("no message for %s in %v", f, de.Fields)
		}
	}
}

func TestCustomerFilterValidate(t *testing.T) {
	good := []domain.CustomerFilter{
		{},
		{Tags: []string{"vip"}, PhoneCodes: []string{"916"}, Timezone: "UTC", PhonePrefix: "7916"},
		{PhonePrefix: "79161234567"},
	}
	for _, f := range good {
		if err := f.Validate(); err != nil {
			t.Errorf("%+v: %v", f, err)
		}
	}
	bad := map[string]domain.CustomerFilter{
		"phone_codes":  {PhoneCodes: []string{"916", "91"}},
		"tags":         {Tags: []string{"a,b"}},
		"timezone":     {Timezone: "Local"},
		"phone_prefix": {PhonePrefix: "79%"},
	}
	for field, f := range bad {
		wantFields(t, f.Validate(), field)
	}
	wantFields(t, domain.CustomerFilter{PhonePrefix: "791612345678"}.Validate(), "phone_prefix")
}
