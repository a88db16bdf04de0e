package domain

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	// Zones must resolve in minimal containers that have no zoneinfo files.
	_ "time/tzdata"
)

// Customer is one entry of the directory.
type Customer struct {
	ID        int64    `json:"id" example:"42"`
	Phone     string   `json:"phone" example:"79161234567"`
	PhoneCode string   `json:"phone_code" example:"916"`
	Timezone  string   `json:"timezone" example:"Europe/Moscow"`
	Tags      []string `json:"tags" example:"vip"`
	// Free-form values by key: strings, numbers and booleans, e.g.
	// {"name": "Anna", "city": "Kazan"}; {} when there are none.
	Attributes Attributes `json:"attributes" swaggertype:"object"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

var (
	phoneRe     = regexp.MustCompile(`^7[0-9]{10}$`)
	phoneCodeRe = regexp.MustCompile(`^[0-9]{3}$`)
	prefixRe    = regexp.MustCompile(`^[0-9]{1,11}$`)
)

// MaxTagLen bounds tag names so they stay usable as labels and in URLs.
const MaxTagLen = 64

// ValidatePhone checks the 7XXXXXXXXXX format.
func ValidatePhone(p string) string {
	if !phoneRe.MatchString(p) {
		return "must match 7XXXXXXXXXX (11 digits starting with 7)"
	}
	return ""
}

// ValidatePhoneCode checks a mobile operator code: exactly 3 digits.
func ValidatePhoneCode(c string) string {
	if !phoneCodeRe.MatchString(c) {
		return "must be exactly 3 digits"
	}
	return ""
}

// PhoneCodeOf returns the operator code implied by a valid phone: digits 2–4.
func PhoneCodeOf(phone string) string {
	if len(phone) < 4 {
		return ""
	}
	return phone[1:4]
}

// ValidateTimezone checks that name is an IANA zone this binary knows.
// "Local" and the empty name are refused: they mean different things on
// different machines.
func ValidateTimezone(name string) string {
	if name == "" || name == "Local" || strings.TrimSpace(name) != name || len(name) > 64 {
		return "must be an IANA time zone name such as Europe/Moscow"
	}
	if _, err := time.LoadLocation(name); err != nil {
		return "must be an IANA time zone name such as Europe/Moscow"
	}
	return ""
}

// NormalizeTag trims a tag and checks it; it returns the tag and a problem.
func NormalizeTag(t string) (string, string) {
	t = strings.TrimSpace(t)
	switch {
	case t == "":
		return "", "must not be empty"
	case len(t) > MaxTagLen:
		return "", "must be at most 64 bytes"
	case !utf8.ValidString(t):
		// Query parameters are not checked for UTF-8 on the way in.
		return "", "must be valid UTF-8"
	case strings.ContainsAny(t, ";,/") || strings.IndexFunc(t, unicode.IsControl) >= 0:
		// Control characters include NUL, which PostgreSQL text cannot hold.
		return "", "must not contain ; , / or control characters"
	}
	return t, ""
}

// NormalizeTags trims, checks and de-duplicates tags, keeping first-seen order.
func NormalizeTags(field string, tags []string, errs FieldErrors) []string {
	out := make([]string, 0, len(tags))
	seen := make(map[string]bool, len(tags))
	for _, raw := range tags {
		t, problem := NormalizeTag(raw)
		if problem != "" {
			errs.Add(field, "each tag "+problem)
			continue
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// CustomerInput is what a client may set on a customer. Nil pointers mean
// "not given": defaults apply on create, the value is kept on patch.
type CustomerInput struct {
	Phone     *string   `json:"phone,omitempty" example:"79161234567"`
	PhoneCode *string   `json:"phone_code,omitempty" example:"916"`
	Timezone  *string   `json:"timezone,omitempty" example:"Europe/Moscow"`
	Tags      *[]string `json:"tags,omitempty"`
	// An object of strings, numbers and booleans: at most 32 keys and 2048
	// bytes of compact JSON; keys are 1–64 ASCII letters, digits and
	// underscores, starting with a letter. Create and PUT: the customer's
	// attributes (omitted or null: none). PATCH: merged key by key — a
	// value sets its key, null removes it, keys not named are kept;
	// "attributes": null removes them all.
	Attributes AttributesInput `json:"attributes,omitzero" swaggertype:"object"`
}

// Apply merges in onto c (a copy of the current state, or the zero Customer
// on create), fills defaults and validates the result.
func (in CustomerInput) Apply(c Customer, defaultTZ string) (Customer, error) {
	errs := FieldErrors{}
	if in.Phone != nil {
		c.Phone = *in.Phone
	}
	if p := ValidatePhone(c.Phone); p != "" {
		errs.Add("phone", p)
	}
	switch {
	case in.PhoneCode != nil:
		c.PhoneCode = *in.PhoneCode
	case c.PhoneCode == "" || (in.Phone != nil && c.ID == 0):
		c.PhoneCode = PhoneCodeOf(c.Phone)
	}
	if _, bad := errs["phone"]; !bad || in.PhoneCode != nil {
		if p := ValidatePhoneCode(c.PhoneCode); p != "" {
			errs.Add("phone_code", p)
		}
	}
	if in.Timezone != nil {
		c.Timezone = *in.Timezone
	} else if c.Timezone == "" {
		c.Timezone = defaultTZ
	}
	if p := ValidateTimezone(c.Timezone); p != "" {
		errs.Add("timezone", p)
	}
	if in.Tags != nil {
		c.Tags = NormalizeTags("tags", *in.Tags, errs)
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	c.Attributes = in.Attributes.merge(c.Attributes, "attributes", errs)
	return c, errs.Err()
}

// DiffCustomers is the audit diff of a change of a customer (before nil
// on create): Diff's, with the attributes compared key by key as
// "attributes.<key>", so that one changed value is recorded as itself
// rather than as the whole object, cut short.
func DiffCustomers(before *Customer, after Customer) map[string]Change {
	var b any
	var was Attributes
	if before != nil {
		b, was = *before, before.Attributes
	}
	out := Diff(b, after, "attributes")
	for k, v := range after.Attributes {
		to := attributeJSON(v)
		if old, ok := was[k]; !ok {
			out["attributes."+k] = Change{To: compact(to)}
		} else if from := attributeJSON(old); string(from) != string(to) {
			out["attributes."+k] = Change{From: compact(from), To: compact(to)}
		}
	}
	for k, old := range was {
		if _, ok := after.Attributes[k]; !ok {
			out["attributes."+k] = Change{From: compact(attributeJSON(old))}
		}
	}
	return out
}

func attributeJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// CustomerFilter selects customers in lists and searches. Empty fields do
// not restrict.
type CustomerFilter struct {
	Tags        []string `json:"tags,omitempty"`
	PhoneCodes  []string `json:"phone_codes,omitempty"`
	Timezone    string   `json:"timezone,omitempty" example:"Europe/Moscow"`
	PhonePrefix string   `json:"phone_prefix,omitempty" example:"7916"`
	// Attribute values the customers must have: each key maps to a value
	// or an array of values (any of them), compared as JSON values, e.g.
	// {"city": "Kazan", "age": [30, 31]}.
	Attributes AttributeFilter `json:"attributes,omitempty" swaggertype:"object"`
}

// Validate checks the filter's values.
func (f CustomerFilter) Validate() error {
	errs := FieldErrors{}
	for _, c := range f.PhoneCodes {
		if p := ValidatePhoneCode(c); p != "" {
			errs.Add("phone_codes", "each phone code "+p)
		}
	}
	for _, t := range f.Tags {
		if _, p := NormalizeTag(t); p != "" {
			errs.Add("tags", "each tag "+p)
		}
	}
	if f.Timezone != "" {
		if p := ValidateTimezone(f.Timezone); p != "" {
			errs.Add("timezone", p)
		}
	}
	if f.PhonePrefix != "" && !prefixRe.MatchString(f.PhonePrefix) {
		errs.Add("phone_prefix", "must be 1 to 11 digits")
	}
	f.Attributes.Validate("attributes", errs)
	return errs.Err()
}
