package domain

import (
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
	ID        int64     `json:"id" example:"42"`
	Phone     string    `json:"phone" example:"79161234567"`
	PhoneCode string    `json:"phone_code" example:"916"`
	Timezone  string    `json:"timezone" example:"Europe/Moscow"`
	Tags      []string  `json:"tags" example:"vip"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
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
	return c, errs.Err()
}

// CustomerFilter selects customers in lists and searches. Empty fields do
// not restrict.
type CustomerFilter struct {
	Tags        []string `json:"tags,omitempty"`
	PhoneCodes  []string `json:"phone_codes,omitempty"`
	Timezone    string   `json:"timezone,omitempty" example:"Europe/Moscow"`
	PhonePrefix string   `json:"phone_prefix,omitempty" example:"7916"`
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
	return errs.Err()
}
