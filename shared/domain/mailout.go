package domain

import (
	"strings"
	"time"
	"unicode/utf8"

	"mailing/shared/msgtemplate"
	"mailing/shared/smstext"
)

// MaxTextLen is the longest message text, in characters.
const MaxTextLen = 1600

// Filter selects a mailout's audience: a customer matches when (no tags OR
// the customer has any of them) AND (no codes OR its code is one of them).
type Filter struct {
	Tags       []string `json:"tags" example:"vip"`
	PhoneCodes []string `json:"phone_codes" example:"916"`
}

// Mailout is a campaign: one message per matching customer between StartAt
// and EndAt.
type Mailout struct {
	ID         int64         `json:"id" example:"7"`
	Text       string        `json:"text" example:"Black Friday: 30% off until Sunday"`
	StartAt    time.Time     `json:"start_at"`
	EndAt      time.Time     `json:"end_at"`
	SendWindow *SendWindow   `json:"send_window" swaggertype:"object,string" example:"start:09:00,end:21:00"`
	Filter     Filter        `json:"filter"`
	Status     MailoutStatus `json:"status" example:"scheduled"`
	Audience   int64         `json:"audience" example:"1250"`
	// SMS is the encoding and segment count of the text as written
	// (placeholders included); POST /api/mailouts/preview gives them for
	// rendered texts.
	SMS       smstext.Segments `json:"sms"`
	Version   int64            `json:"version" example:"1"`
	CreatedAt time.Time        `json:"created_at"`
	UpdatedAt time.Time        `json:"updated_at"`
}

// MailoutInput is what a client may set. Nil means "not given"; for
// send_window, SendWindowSet distinguishes an explicit null (remove the
// window) from absence.
type MailoutInput struct {
	Text          *string
	StartAt       *time.Time
	EndAt         *time.Time
	SendWindow    *SendWindow
	SendWindowSet bool
	Tags          *[]string
	PhoneCodes    *[]string
}

// Apply merges in onto m (the zero Mailout on create), enforcing the edit
// rules of m's status and validating the result at time now. A scheduled
// mailout is fully editable; a running one already chose its audience and
// text, so only end_at may change (a full PUT repeating the other values
// unchanged is fine); finished and cancelled ones are history.
func (in MailoutInput) Apply(m Mailout, now time.Time) (Mailout, error) {
	cur := m
	creating := m.ID == 0
	if !creating && !m.Status.Allows(ActionEditEnd) {
		return cur, refusal(m.ID, m.Status, ActionEditEnd)
	}
	errs := FieldErrors{}
	m = in.merge(m, creating, errs)
	if in.StartAt != nil || in.EndAt != nil {
		if !m.EndAt.After(m.StartAt) {
			errs.Add("end_at", "must be after start_at")
		} else if !m.EndAt.After(now) {
			errs.Add("end_at", "must be in the future")
		}
	}
	if creating {
		m.Status = MailoutScheduled
	}
	// Values are compared after normalisation, so " vip" repeating "vip"
	// is not a change.
	if !creating && !cur.sameExceptEndAt(m) {
		if _, err := m.Status.Next(m.ID, ActionEdit); err != nil {
			return cur, err
		}
	}
	return m, errs.Err()
}

// Replacing makes in describe a whole mailout, as POST and PUT do: text
// and times are required, an absent send window means none and an absent
// filter means everyone.
func (in MailoutInput) Replacing(errs FieldErrors) MailoutInput {
	in.requireAll(errs)
	in.SendWindowSet = true
	if in.Tags == nil {
		in.Tags = &[]string{}
	}
	if in.PhoneCodes == nil {
		in.PhoneCodes = &[]string{}
	}
	return in
}

// requireAll reports the fields a whole mailout must have.
func (in MailoutInput) requireAll(errs FieldErrors) {
	if in.Text == nil {
		errs.Add("text", "is required")
	}
	if in.StartAt == nil {
		errs.Add("start_at", "is required")
	}
	if in.EndAt == nil {
		errs.Add("end_at", "is required")
	}
}

// merge copies the given fields onto m, normalising and checking each.
func (in MailoutInput) merge(m Mailout, creating bool, errs FieldErrors) Mailout {
	if creating {
		in.requireAll(errs)
	}
	if in.Text != nil {
		m.Text = *in.Text
	}
	if in.Text != nil || !creating {
		checkText(m.Text, errs)
	}
	if in.StartAt != nil {
		m.StartAt = in.StartAt.UTC().Truncate(time.Microsecond)
	}
	if in.EndAt != nil {
		m.EndAt = in.EndAt.UTC().Truncate(time.Microsecond)
	}
	if in.SendWindowSet {
		m.SendWindow = in.SendWindow
	}
	if in.Tags != nil {
		m.Filter.Tags = NormalizeTags("filter.tags", *in.Tags, errs)
	}
	if in.PhoneCodes != nil {
		m.Filter.PhoneCodes = normalizeCodes("filter.phone_codes", *in.PhoneCodes, errs)
	}
	if m.Filter.Tags == nil {
		m.Filter.Tags = []string{}
	}
	if m.Filter.PhoneCodes == nil {
		m.Filter.PhoneCodes = []string{}
	}
	return m
}

// SameContent reports whether o carries the same client-set values as m:
// text, times, send window and filter (compared as sets). An edit that
// leaves them all unchanged is not a change.
func (m Mailout) SameContent(o Mailout) bool {
	return m.Text == o.Text && m.StartAt.Equal(o.StartAt) && m.EndAt.Equal(o.EndAt) &&
		sameWindow(m.SendWindow, o.SendWindow) &&
		SameSet(m.Filter.Tags, o.Filter.Tags) && SameSet(m.Filter.PhoneCodes, o.Filter.PhoneCodes)
}

func (m Mailout) sameExceptEndAt(o Mailout) bool {
	o.EndAt = m.EndAt
	return m.SameContent(o)
}

// checkText validates a mailout's text and returns it parsed as a
// template; nil when it is not valid, with the problem in errs (a syntax
// error names its line and column).
func checkText(text string, errs FieldErrors) *msgtemplate.Template {
	switch {
	case text == "":
		errs.Add("text", "must not be empty")
	case strings.ContainsRune(text, 0):
		errs.Add("text", "must not contain NUL characters")
	case utf8.RuneCountInString(text) > MaxTextLen:
		errs.Add("text", "must be at most 1600 characters")
	default:
		tmpl, err := msgtemplate.Parse(text)
		if err != nil {
			errs.Add("text", "is not a valid template: "+err.Error())
			return nil
		}
		return tmpl
	}
	return nil
}

func normalizeCodes(field string, codes []string, errs FieldErrors) []string {
	out := make([]string, 0, len(codes))
	seen := make(map[string]bool, len(codes))
	for _, c := range codes {
		if p := ValidatePhoneCode(c); p != "" {
			errs.Add(field, "each phone code "+p)
			continue
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

func sameWindow(a, b *SendWindow) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// SameSet reports whether a and b hold the same values, ignoring order
// and repeats.
func SameSet(a, b []string) bool {
	inA := make(map[string]bool, len(a))
	for _, v := range a {
		inA[v] = true
	}
	inB := make(map[string]bool, len(b))
	for _, v := range b {
		if !inA[v] {
			return false
		}
		inB[v] = true
	}
	return len(inA) == len(inB)
}

// MailoutFilter selects mailouts in lists; no statuses means all.
type MailoutFilter struct {
	Statuses []MailoutStatus
}
