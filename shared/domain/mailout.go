package domain

import (
	"time"
	"unicode/utf8"
)

// MailoutStatus is the lifecycle state of a mailout.
type MailoutStatus string

const (
	MailoutScheduled MailoutStatus = "scheduled"
	MailoutRunning   MailoutStatus = "running"
	MailoutFinished  MailoutStatus = "finished"
	MailoutCancelled MailoutStatus = "cancelled"
)

// Valid reports whether s is a known status.
func (s MailoutStatus) Valid() bool {
	switch s {
	case MailoutScheduled, MailoutRunning, MailoutFinished, MailoutCancelled:
		return true
	}
	return false
}

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
	Status     MailoutStatus `json:"status" example:"scheduled" enums:"scheduled,running,finished,cancelled"`
	Audience   int64         `json:"audience" example:"1250"`
	Version    int64         `json:"version" example:"1"`
	CreatedAt  time.Time     `json:"created_at"`
	UpdatedAt  time.Time     `json:"updated_at"`
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
// rules of m's status and validating the result at time now.
func (in MailoutInput) Apply(m Mailout, now time.Time) (Mailout, error) {
	creating := m.ID == 0
	if !creating {
		if err := in.checkEditable(m); err != nil {
			return m, err
		}
	}
	errs := FieldErrors{}
	if in.Text != nil {
		m.Text = *in.Text
	}
	if creating && in.Text == nil {
		errs.Add("text", "is required")
	} else if m.Text == "" {
		errs.Add("text", "must not be empty")
	} else if n := utf8.RuneCountInString(m.Text); n > MaxTextLen {
		errs.Add("text", "must be at most 1600 characters")
	}
	if in.StartAt != nil {
		m.StartAt = in.StartAt.UTC().Truncate(time.Microsecond)
	} else if creating {
		errs.Add("start_at", "is required")
	}
	if in.EndAt != nil {
		m.EndAt = in.EndAt.UTC().Truncate(time.Microsecond)
	} else if creating {
		errs.Add("end_at", "is required")
	}
	if in.StartAt != nil || in.EndAt != nil {
		if !m.EndAt.After(m.StartAt) {
			errs.Add("end_at", "must be after start_at")
		} else if !m.EndAt.After(now) {
			errs.Add("end_at", "must be in the future")
		}
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
	if creating {
		m.Status = MailoutScheduled
	}
	return m, errs.Err()
}

// checkEditable applies the edit rules: a scheduled mailout is fully
// editable, a running one only lets end_at change, finished and cancelled
// ones are history.
func (in MailoutInput) checkEditable(m Mailout) error {
	switch m.Status {
	case MailoutScheduled:
		return nil
	case MailoutRunning:
		// A running mailout already chose its audience and text; a full PUT
		// that repeats them unchanged is fine.
		changed := (in.Text != nil && *in.Text != m.Text) ||
			(in.StartAt != nil && !in.StartAt.Equal(m.StartAt)) ||
			(in.SendWindowSet && !sameWindow(in.SendWindow, m.SendWindow)) ||
			(in.Tags != nil && !sameSet(*in.Tags, m.Filter.Tags)) ||
			(in.PhoneCodes != nil && !sameSet(*in.PhoneCodes, m.Filter.PhoneCodes))
		if changed {
			return Errorf(CodeConflict, "mailout %d is running: only end_at may change", m.ID)
		}
		return nil
	default:
		return Errorf(CodeConflict, "mailout %d is %s and can no longer be changed", m.ID, m.Status)
	}
}

// CheckFilterEditable reports whether the filter of m may change.
func CheckFilterEditable(m Mailout) error {
	if m.Status != MailoutScheduled {
		return Errorf(CodeConflict, "mailout %d is %s: its filter can no longer change", m.ID, m.Status)
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

func sameSet(a, b []string) bool {
	seen := make(map[string]bool, len(b))
	for _, v := range b {
		seen[v] = true
	}
	for _, v := range a {
		if !seen[v] {
			return false
		}
	}
	inA := make(map[string]bool, len(a))
	for _, v := range a {
		inA[v] = true
	}
	return len(inA) == len(seen)
}
